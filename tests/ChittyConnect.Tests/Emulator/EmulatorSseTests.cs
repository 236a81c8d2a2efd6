using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Emulator;

public sealed class EmulatorSseTests
{
    [Fact]
    public async Task A_stream_opens_with_connected_needs_no_key_and_uses_only_data_lines()
    {
        await using var host = await EmulatorHost.StartAsync(o => o.SseHeartbeatInterval = TimeSpan.FromMilliseconds(200));
        using var client = host.CreateClient(apiKey: null);
        await using var sse = await SseReader.OpenAsync(client, "s1");

        var connected = await sse.NextAsync();
        var heartbeat = await sse.NextAsync();

        Assert.Equal(200, (int)sse.Response.StatusCode);
        Assert.Equal("text/event-stream", sse.Response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("connected", (string?)connected!["type"]);
        Assert.Equal("s1", (string?)connected["sessionId"]);
        Assert.NotNull(connected["message"]);
        Assert.True(connected["timestamp"]!.GetValue<long>() > 0);
        Assert.Equal("heartbeat", (string?)heartbeat!["type"]);
        Assert.True(heartbeat["timestamp"]!.GetValue<long>() > 0);
        Assert.True((long)heartbeat["uptime"]! >= 0);
        Assert.All(sse.Lines, line => Assert.True(line.Length == 0 || line.StartsWith("data: {", StringComparison.Ordinal), line));
    }

    [Fact]
    public async Task Every_event_reaches_every_open_stream_whatever_its_session()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var anonymous = host.CreateClient(apiKey: null);
        using var client = host.CreateClient();
        await using var mine = await SseReader.OpenAsync(anonymous, "s1");
        await using var theirs = await SseReader.OpenAsync(anonymous, "someone-else");
        await mine.NextAsync();
        await theirs.NextAsync();

        await client.PostAsync("api/files/commit", new { r2_key = "files/s1/k", session_id = "s1", sha256 = "h", size = 5, task_id = "t1" });

        foreach (var stream in new[] { mine, theirs })
        {
            var committed = await stream.NextNonHeartbeatAsync();
            Assert.Equal(
                """{"type":"context.files.committed","sessionId":"s1","file":{"r2_key":"files/s1/k","sha256":"h","size":5,"task_id":"t1"}}""",
                committed!.ToJsonString());
        }
    }

    [Fact]
    public async Task Uploads_set_active_and_sync_reports_broadcast_their_events_with_the_contracts_payloads()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2032, 7, 8, 9, 10, 11, TimeSpan.Zero));
        await using var host = await EmulatorHost.StartAsync(o => o.TimeProvider = clock);
        using var anonymous = host.CreateClient(apiKey: null);
        using var client = host.CreateClient();
        await using var sse = await SseReader.OpenAsync(anonymous, EmulatorHost.SessionId);
        await sse.NextAsync();

        var (_, direct, _) = await client.PostAsync("api/files/upload", new { name = "d.txt", session_id = "s1", content_base64 = "aGk=", sha256 = "hd", mime = "text/plain" });
        var uploaded = await sse.NextNonHeartbeatAsync();
        Assert.Equal(
            $$$"""{"type":"context.files.uploaded","sessionId":"s1","file":{"r2_key":"{{{(string)direct!["r2_key"]!}}}","sha256":"hd","size":2,"name":"d.txt"}}""",
            uploaded!.ToJsonString());

        var (_, presign, _) = await client.PostAsync("api/files/presign", new { name = "p.bin", size = 3, session_id = "s2", mime = "application/octet-stream", sha256 = "hp" });
        var put = new HttpRequestMessage(HttpMethod.Put, new Uri((string)presign!["upload_url"]!).AbsolutePath.TrimStart('/'))
        {
            Content = new ByteArrayContent(new byte[] { 1, 2, 3 }),
        };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        (await client.SendAsync(put)).EnsureSuccessStatusCode();
        var putEvent = await sse.NextNonHeartbeatAsync();
        Assert.Equal(
            $$$"""{"type":"context.files.uploaded","sessionId":"s2","file":{"r2_key":"{{{(string)presign["r2_key"]!}}}","sha256":"hp","size":3,"name":"p.bin"}}""",
            putEvent!.ToJsonString());

        await client.PostAsync("api/context/files/set-active", new { session_id = "s3", files = new object[] { new { uri = "r2://x", name = "x" } } });
        var updated = await sse.NextNonHeartbeatAsync();
        Assert.Equal("""{"type":"context.files.updated","sessionId":"s3","files":[{"uri":"r2://x","name":"x"}]}""", updated!.ToJsonString());

        var (_, report, _) = await client.PostAsync("api/context/files/sync-report", new { path_prefix = "files/session-test/docs", items = new object[] { new { r2_key = "files/session-test/docs/a", size = 1 } } });
        var synced = await sse.NextNonHeartbeatAsync();
        Assert.Equal(
            $$"""{"type":"context.files.synced","sessionId":"{{EmulatorHost.SessionId}}","pathPrefix":"files/session-test/docs","count":1,"eventId":"{{(string)report!["eventId"]!}}"}""",
            synced!.ToJsonString());
    }

    [Fact]
    public async Task With_a_maximum_duration_each_stream_ends_and_a_reconnect_gets_a_new_connected()
    {
        await using var host = await EmulatorHost.StartAsync(o => o.SseMaxDuration = TimeSpan.FromMilliseconds(300));
        using var client = host.CreateClient(apiKey: null);

        for (var attempt = 0; attempt < 2; attempt++)
        {
            await using var sse = await SseReader.OpenAsync(client, "s1");
            Assert.Equal("connected", (string?)(await sse.NextAsync())!["type"]);
            Assert.Null(await sse.NextNonHeartbeatAsync());
        }
    }

    [Fact]
    public async Task Without_a_maximum_duration_a_stream_stays_open_and_stopping_the_emulator_ends_it()
    {
        var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient(apiKey: null);
        await using var sse = await SseReader.OpenAsync(client, "s1");
        await sse.NextAsync();
        Assert.Equal(1, host.App.OpenEventStreams);

        await host.DisposeAsync();

        Assert.Null(await sse.NextNonHeartbeatAsync());
    }
}
