using System.Collections.Concurrent;
using ChittyConnect.Api;
using ChittyConnect.Events;
using Xunit;

namespace ChittyConnect.Tests.Events;

public sealed class ChittyEventStreamTests : IDisposable
{
    private const string Session = "sess-1";
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(20);

    private readonly HttpClient _http = new();
    private readonly ConcurrentQueue<string> _verbose = new();
    private readonly ConcurrentQueue<string> _warnings = new();

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task ThreeStreamEndsInARowLoseNoEventAndSurfaceConnectedOnce()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendEventAsync(Connected(Session));
            for (var j = 0; j < 3; j++)
            {
                await c.SendEventAsync(Uploaded(Session, $"{c.Index}-{j}"));
            }

            if (c.Index == 3)
            {
                await c.HoldAsync();
            }
        });
        using var subscription = CreateStream(server).Subscribe();

        var received = Take(subscription, e => e.Type == "context.files.uploaded" && Name(e) == "3-2");

        // The stream's own "connected" events stay out (they go to Verbose) however often it reconnects.
        var expected = new List<string>();
        for (var i = 0; i <= 3; i++)
        {
            for (var j = 0; j < 3; j++)
            {
                expected.Add($"context.files.uploaded {i}-{j}");
            }
        }

        Assert.Equal(expected, received.Select(e => $"{e.Type} {Name(e)}"));
        Assert.Equal(1, _verbose.Count(m => m.StartsWith("The stream sent 'connected'", StringComparison.Ordinal)));
        Assert.Equal(4, server.Requests.Count);
        Assert.All(server.Requests, r => Assert.Equal($"/sse?sessionId={Session}", r.Target));
        Assert.Equal(3, _verbose.Count(m => m.Contains("The server ended the stream", StringComparison.Ordinal)));
        Assert.Empty(_warnings);
    }

    [Fact]
    public async Task EventsOfOtherSessionsAreFilteredOutUnlessAllSessions()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendEventAsync(Connected(Session));
            await c.SendEventAsync(Uploaded("other", "theirs"));
            await c.SendEventAsync("""{"type":"context.files.synced","pathPrefix":"p","count":1}""");
            await c.SendEventAsync(Uploaded(Session, "mine"));
            await c.HoldAsync();
        });

        using (var subscription = CreateStream(server).Subscribe())
        {
            var mine = Take(subscription, e => Name(e) == "mine");

            Assert.Equal(
                new[] { "context.files.synced", "context.files.uploaded" },
                mine.Select(e => e.Type));
            Assert.Equal(new string?[] { null, Session }, mine.Select(e => e.SessionId));
        }

        using (var subscription = CreateStream(server, o => o.AllSessions = true).Subscribe())
        {
            var all = Take(subscription, e => Name(e) == "mine");

            Assert.Equal(new string?[] { "other", null, Session }, all.Select(e => e.SessionId));
        }
    }

    [Fact]
    public async Task TypeWildcardsAndHeartbeatsFilterEvents()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendEventAsync(Connected(Session));
            await c.SendEventAsync("""{"type":"heartbeat","timestamp":1700000000000,"uptime":3}""");
            await c.SendEventAsync(Uploaded(Session, "u"));
            await c.SendEventAsync($$$"""{"type":"context.files.committed","sessionId":"{{{Session}}}","file":{"name":"c"}}""");
            await c.SendEventAsync($$"""{"type":"Context.Files.Synced","sessionId":"{{Session}}","pathPrefix":"last"}""");
            await c.HoldAsync();
        });

        using (var subscription = CreateStream(server, o => o.TypePatterns = new[] { "context.files.s*", "*.COMMIT?ED" }).Subscribe())
        {
            var received = Take(subscription, e => e.Type == "Context.Files.Synced");

            Assert.Equal(new[] { "context.files.committed", "Context.Files.Synced" }, received.Select(e => e.Type));
        }

        using (var subscription = CreateStream(server, o =>
        {
            o.TypePatterns = new[] { "context.files.synced" };
            o.IncludeTransportEvents = true;
        }).Subscribe())
        {
            var received = Take(subscription, e => e.Type == "Context.Files.Synced");

            var heartbeat = received[1];
            Assert.Equal(new[] { "connected", "heartbeat", "Context.Files.Synced" }, received.Select(e => e.Type));
            Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1700000000000), heartbeat.Timestamp);
            Assert.Equal(3, heartbeat.Json.GetProperty("uptime").GetInt32());
        }
    }

    [Fact]
    public async Task GarbageIsSurvivedWithWarningsForMalformedPayloads()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendAsync("this line has no colon at all\n");
            await c.SendAsync("data: {not json\n\n");
            await c.SendAsync(new byte[] { 0xFF, 0xFE, 0x00, (byte)'\n', (byte)'\r', (byte)'\n' });
            await c.SendAsync(":comment\r\nevent: odd\r\nbogus: 1\r\ndata: [1,2\r\n\r\n");
            await c.SendAsync("data: {\"type\":\"conte");
            await c.SendAsync($"xt.files.uploaded\",\"sessionId\":\"{Session}\",\"file\":{{\"name\":\"ok\"}}}}\r\n\r\n");
            await c.HoldAsync();
        });
        using var subscription = CreateStream(server).Subscribe();

        var received = Take(subscription, e => Name(e) == "ok");

        Assert.Equal("context.files.uploaded", Assert.Single(received).Type);
        Assert.Equal(2, _warnings.Count);
        Assert.All(_warnings, w => Assert.Contains("not valid JSON", w, StringComparison.Ordinal));
    }

    [Fact]
    public async Task LastEventIdIsSentOnReconnectWhenTheServerSentIds()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            if (c.Index == 0)
            {
                await c.SendAsync($"id: 7\ndata: {Uploaded(Session, "first")}\n\n");
                return;
            }

            await c.SendEventAsync(Uploaded(Session, "second"));
            await c.HoldAsync();
        });
        using var subscription = CreateStream(server).Subscribe();

        var received = Take(subscription, e => Name(e) == "second");

        var requests = server.Requests.ToArray();
        Assert.False(requests[0].Headers.ContainsKey("Last-Event-ID"));
        Assert.Equal("7", requests[1].Headers["Last-Event-ID"]);
        Assert.Equal("text/event-stream", requests[0].Headers["Accept"]);
        Assert.Equal(new string?[] { "7", "7" }, received.Select(e => e.EventId));
    }

    [Fact]
    public async Task ServerErrorsAndSilentStreamsAreRetried()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            switch (c.Index)
            {
                case 0:
                    await c.StartAsync(503, "text/plain");
                    await c.SendAsync("restarting");
                    break;
                case 1:
                    // Headers, then nothing: only the idle timeout gets the client out.
                    await c.StartAsync();
                    await c.HoldAsync();
                    break;
                default:
                    await c.StartAsync();
                    await c.SendEventAsync(Uploaded(Session, "through"));
                    await c.HoldAsync();
                    break;
            }
        });
        using var subscription = CreateStream(server, o => o.IdleTimeout = TimeSpan.FromMilliseconds(300)).Subscribe();

        Take(subscription, e => Name(e) == "through");

        Assert.Contains(_verbose, m => m.Contains("HTTP 503", StringComparison.Ordinal));
        Assert.Contains(_verbose, m => m.StartsWith("Nothing received", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AClientErrorOnTheFirstConnectionEndsTheWatch()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync(404, "text/plain");
            await c.SendAsync("Not Found");
        });
        using var subscription = CreateStream(server).Subscribe();

        var ex = Assert.Throws<ChittyApiException>(() => subscription.TryTake(out _, s_wait, CancellationToken.None));

        Assert.Equal(404, ex.StatusCode);
        Assert.Equal(ChittyErrorKind.NotFound, ex.Kind);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task CancellationEndsAWatchBlockedInARead()
    {
        var connected = new TaskCompletionSource();
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendEventAsync(Connected(Session));
            await c.HoldAsync();
        });
        using var cts = new CancellationTokenSource();
        var stream = CreateStream(server, o => o.IncludeTransportEvents = true);

        var run = stream.RunAsync(_ => connected.TrySetResult(), cts.Token);
        await connected.Task.WaitAsync(s_wait);
        cts.Cancel();

        // Far less than the idle timeout (60 s), so only the cancellation can have ended it; completes, no exception.
        await run.WaitAsync(TimeSpan.FromSeconds(2));
        Assert.True(run.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task ATakeWaitingForEventsIsCancelledAndDisposeEndsTheWatch()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendEventAsync(Connected(Session));
            await c.HoldAsync();
        });
        var subscription = CreateStream(server, o => o.IncludeTransportEvents = true).Subscribe();
        Assert.True(subscription.TryTake(out _, s_wait, CancellationToken.None));
        using var cts = new CancellationTokenSource();

        var take = Task.Run(() => subscription.TryTake(out _, Timeout.InfiniteTimeSpan, cts.Token));
        cts.CancelAfter(50);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => take.WaitAsync(s_wait));
        subscription.Dispose();

        Assert.True(subscription.Completion.IsCompletedSuccessfully);
        Assert.False(subscription.TryTake(out _, TimeSpan.Zero, CancellationToken.None));
    }

    [Fact]
    public async Task AWatchWithoutItsOwnClientConnectsThroughTheSharedOne()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendEventAsync(Uploaded(Session, "shared"));
            await c.HoldAsync();
        });
        using var subscription = new ChittyEventStream(server.BaseUri, new ChittyEventStreamOptions { SessionId = Session }).Subscribe();

        Assert.Equal("shared", Name(Assert.Single(Take(subscription, e => Name(e) == "shared"))));
    }

    [Fact]
    public async Task NoEventIsDeliveredAfterTheConsumerCancelled()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendAsync(string.Concat(Enumerable.Range(0, 5).Select(i => $"data: {Uploaded(Session, $"n{i}")}\n\n")));
            await c.HoldAsync();
        });
        using var cts = new CancellationTokenSource();
        var received = new List<string?>();

        await CreateStream(server).RunAsync(
            e =>
            {
                received.Add(Name(e));
                if (received.Count == 2)
                {
                    cts.Cancel();
                }
            },
            cts.Token).WaitAsync(s_wait);

        Assert.Equal(new[] { "n0", "n1" }, received);
    }

    [Fact]
    public async Task AnExceptionOfTheConsumerEndsTheWatchWithIt()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendEventAsync(Connected(Session));
            await c.SendEventAsync(Uploaded(Session, "one"));
            await c.HoldAsync();
        });

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            CreateStream(server).RunAsync(_ => throw new InvalidOperationException("consumer"), CancellationToken.None).WaitAsync(s_wait));

        Assert.Equal("consumer", ex.Message);
    }

    [Theory]
    [InlineData("http://h:1", null, "http://h:1/sse")]
    [InlineData("http://h:1/", "a b/c", "http://h:1/sse?sessionId=a%20b%2Fc")]
    [InlineData("https://h/prefix", "s", "https://h/prefix/sse?sessionId=s")]
    [InlineData("https://h/prefix/?x=1", "s", "https://h/prefix/sse?sessionId=s")]
    public void TheRequestUriIsResolvedUnderTheBase(string baseUri, string? session, string expected)
    {
        Assert.Equal(expected, ChittyEventStream.BuildRequestUri(new Uri(baseUri), session).AbsoluteUri);
    }

    private ChittyEventStream CreateStream(LoopbackSseServer server, Action<ChittyEventStreamOptions>? configure = null)
    {
        var options = new ChittyEventStreamOptions
        {
            SessionId = Session,
            InitialReconnectDelay = TimeSpan.FromMilliseconds(20),
            MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
            Verbose = _verbose.Enqueue,
            Warning = _warnings.Enqueue,
        };
        configure?.Invoke(options);
        return new ChittyEventStream(_http, server.BaseUri, options);
    }

    // Takes events up to and including the first that matches; fails rather than hangs if it never comes.
    private static List<ChittyEvent> Take(ChittyEventSubscription subscription, Func<ChittyEvent, bool> last)
    {
        var received = new List<ChittyEvent>();
        while (true)
        {
            Assert.True(subscription.TryTake(out var chittyEvent, s_wait, CancellationToken.None), "No event arrived in time.");
            received.Add(chittyEvent!);
            if (last(chittyEvent!))
            {
                return received;
            }
        }
    }

    private static string? Name(ChittyEvent e) =>
        e.Json.ValueKind == System.Text.Json.JsonValueKind.Object && e.Json.TryGetProperty("file", out var file)
            ? file.GetProperty("name").GetString()
            : null;

    private static string Connected(string session) =>
        $$"""{"type":"connected","sessionId":"{{session}}","timestamp":"2025-01-02T03:04:05.678Z","message":"hi"}""";

    private static string Uploaded(string session, string name) =>
        $$$"""{"type":"context.files.uploaded","sessionId":"{{{session}}}","timestamp":1735787045678,"file":{"r2_key":"files/{{{session}}}/{{{name}}}","sha256":"00","size":1,"name":"{{{name}}}"}}""";
}
