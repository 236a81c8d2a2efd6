using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using ChittyConnect.Events;
using ChittyConnect.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ChittyConnect.Tests.Faults;

/// <summary>The event watch (what Watch-ChittyEvents runs) through a proxy that breaks its streams.</summary>
public sealed class EventFaultTests
{
    private readonly ITestOutputHelper _output;

    public EventFaultTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public async Task A_watch_through_broken_streams_reconnects_loses_no_relayed_event_and_surfaces_connected_once()
    {
        // Streams end every 0.6 s (as the service's do every 15-30 s), with heartbeats so that cuts land anywhere.
        await using var emulator = await EmulatorHost.StartAsync(o =>
        {
            o.SseMaxDuration = TimeSpan.FromMilliseconds(600);
            o.SseHeartbeatInterval = TimeSpan.FromMilliseconds(150);
            o.RateLimitPerMinute = 100_000;
        });
        await using var proxy = new FaultProxy(emulator.BaseUri, FaultStyle.Json, seed: 66)
        {
            // One stream in four is faulted: there are few streams, and each must be hit for the test to mean something.
            Rate = 0.25,
            SlowDelay = TimeSpan.FromSeconds(2),
        };
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
        var watch = new ChittyEventStream(http, proxy.Uri, new ChittyEventStreamOptions
        {
            SessionId = EmulatorHost.SessionId,
            IncludeTransportEvents = true,
            InitialReconnectDelay = TimeSpan.FromMilliseconds(20),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
            IdleTimeout = TimeSpan.FromSeconds(1),
        });
        var received = new ConcurrentQueue<ChittyEvent>();
        using var stop = new CancellationTokenSource();
        var running = watch.RunAsync(received.Enqueue, stop.Token);

        // Sent straight to the emulator, so only the stream is faulted.
        using var api = emulator.CreateClient();
        for (var i = 0; i < 60; i++)
        {
            using var response = await api.PostAsJsonAsync("api/files/commit", new { r2_key = $"ev/{i:D3}", session_id = EmulatorHost.SessionId });
            response.EnsureSuccessStatusCode();
            await Task.Delay(70);
        }

        await Task.Delay(1000);
        stop.Cancel();
        await running.WaitAsync(TimeSpan.FromSeconds(5));

        // What reached the client on the wire: every complete "data:" event of every stream the proxy relayed.
        var relayed = proxy.StreamTranscripts.SelectMany(t =>
        {
            lock (t)
            {
                return Regex.Matches(t.ToString(), "^data: (.*)\n\n", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();
            }
        }).Select(j => JsonDocument.Parse(j).RootElement).ToList();
        var relayedKeys = relayed.Where(e => e.GetProperty("type").GetString() == "context.files.committed")
            .Select(e => e.GetProperty("file").GetProperty("r2_key").GetString()!).ToList();
        var relayedConnected = relayed.Count(e => e.GetProperty("type").GetString() == "connected");
        var receivedKeys = received.Where(e => e.Type == "context.files.committed")
            .Select(e => e.Json.GetProperty("file").GetProperty("r2_key").GetString()!).ToList();

        _output.WriteLine($"{proxy.StreamTranscripts.Count} streams, {watch.Connections} connections, {relayedConnected} connected relayed, "
            + $"{relayedKeys.Count} events relayed, {receivedKeys.Count} received; faults: " + string.Join(", ", proxy.FaultCounts().Select(p => $"{p.Key}={p.Value}")));
        Assert.True(proxy.FaultCounts().Values.Sum() >= 3, "too few faults were injected to prove anything");
        Assert.True(relayedConnected >= 3, "the watch did not reconnect");
        // Nothing the wire delivered is lost, nothing is delivered twice, connected is surfaced once.
        Assert.Empty(relayedKeys.Except(receivedKeys));
        Assert.Equal(receivedKeys.Count, receivedKeys.Distinct().Count());
        Assert.Single(received, e => e.Type == ChittyEvent.ConnectedType);
        // And the watch was listening most of the time: most events got through despite the faults.
        Assert.True(receivedKeys.Count >= 30, $"only {receivedKeys.Count} of 60 events arrived");
    }
}
