using System.Text.Json.Nodes;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Emulator;

public sealed class EmulatorContextTests
{
    private static readonly DateTimeOffset s_start = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Set_active_upserts_active_rows_and_never_deactivates_others()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();
        await client.PostAsync("api/context/files/set-active", new { session_id = "s1", files = new object[] { new { uri = "r2://a", name = "a" } } });

        var (status, body, _) = await client.PostAsync("api/context/files/set-active", new
        {
            session_id = "s1",
            files = new object[]
            {
                new { uri = "r2://b", name = "b", size = 12, sha256 = "hb", mime = "text/plain", metadata = new { tag = "x" } },
                new { uri = "r2://a", name = "a2" },
            },
        });

        Assert.Equal(200, status);
        Assert.Equal("""{"ok":true,"count":2}""", body!.ToJsonString());
        var rows = (await host.InspectAsync("_emulator/context-files?session_id=s1")).AsArray();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, r => Assert.Equal(1, (int)r!["is_active"]!));
        var b = rows.Single(r => (string?)r!["file_uri"] == "r2://b")!;
        Assert.Equal(12, (long)b["file_size"]!);
        Assert.Equal("hb", (string?)b["sha256"]);
        Assert.Equal("text/plain", (string?)b["mime_type"]);
        Assert.Equal("x", (string?)b["metadata"]!["tag"]);
        Assert.Equal(EmulatorHost.ChittyId, (string?)b["chitty_id"]);
        Assert.Equal("a2", (string?)rows.Single(r => (string?)r!["file_uri"] == "r2://a")!["file_name"]);
    }

    [Fact]
    public async Task Quirk_a_file_without_uri_makes_set_active_write_nothing_while_answering_200()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostAsync("api/context/files/set-active", new
        {
            session_id = "s1",
            files = new object[] { new { uri = "r2://fine" }, new { name = "no-uri" } },
        });

        Assert.Equal(200, status);
        Assert.Equal(2, (int)body!["count"]!);
        Assert.Empty((await host.InspectAsync("_emulator/context-files?session_id=s1")).AsArray());
    }

    [Theory]
    [InlineData("""{"files":[]}""", "invalid_request")]
    [InlineData("""{"session_id":"s1","files":{}}""", "invalid_request")]
    [InlineData("{oops", "bad_json")]
    public async Task Set_active_input_errors_are_400_in_the_files_shape(string json, string error)
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostRawAsync("api/context/files/set-active", json);

        Assert.Equal(400, status);
        Assert.Equal(error, (string?)body!["error"]);
    }

    [Fact]
    public async Task Sync_report_uses_the_keys_session_records_an_event_and_indexes_each_item()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostAsync("api/context/files/sync-report", new
        {
            path_prefix = "files/whatever/docs",
            session_id = "ignored-session",
            items = new object[]
            {
                new { r2_key = "files/x/docs/a.txt", sha256 = "ha", size = 10, modified = "2030-01-01T00:00:00Z" },
                new { r2_key = "files/x/docs/sub/b.bin", sha256 = "hb", size = 32 },
            },
        });

        Assert.Equal(200, status);
        Assert.True((bool)body!["ok"]!);
        Assert.Equal(2, (int)body["count"]!);
        var eventId = (string)body["eventId"]!;
        Assert.True(Guid.TryParse(eventId, out _));

        var syncEvent = Assert.Single((await host.InspectAsync("_emulator/sync-events")).AsArray())!;
        Assert.Equal(eventId, (string?)syncEvent["event_id"]);
        Assert.Equal(EmulatorHost.SessionId, (string?)syncEvent["session_id"]);
        Assert.Equal("file_sync", (string?)syncEvent["event_type"]);
        Assert.Equal("rclone", (string?)syncEvent["source"]);
        Assert.Equal(2, (int)syncEvent["items_count"]!);
        Assert.Equal(42, (long)syncEvent["bytes_synced"]!);
        Assert.Equal("success", (string?)syncEvent["status"]);
        Assert.Equal("files/x/docs/sub/b.bin", (string?)syncEvent["items"]![1]!["r2_key"]);

        var rows = (await host.InspectAsync("_emulator/context-files?session_id=" + EmulatorHost.SessionId)).AsArray();
        var a = rows.Single(r => (string?)r!["file_uri"] == "r2://files/x/docs/a.txt")!;
        Assert.Equal("a.txt", (string?)a["file_name"]);
        Assert.Equal(10, (long)a["file_size"]!);
        Assert.Equal("ha", (string?)a["sha256"]);
        Assert.Equal("b.bin", (string?)rows.Single(r => (string?)r!["file_uri"] == "r2://files/x/docs/sub/b.bin")!["file_name"]);
        Assert.Empty((await host.InspectAsync("_emulator/context-files?session_id=ignored-session")).AsArray());
    }

    [Fact]
    public async Task Sync_report_takes_the_source_given()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient(EmulatorHost.OtherApiKey);

        await client.PostAsync("api/context/files/sync-report", new { source = "ChittyConnect.PowerShell", items = Array.Empty<object>() });

        var syncEvent = Assert.Single((await host.InspectAsync("_emulator/sync-events")).AsArray())!;
        Assert.Equal("ChittyConnect.PowerShell", (string?)syncEvent["source"]);
        Assert.Equal(EmulatorHost.OtherSessionId, (string?)syncEvent["session_id"]);
        Assert.Equal(0, (int)syncEvent["items_count"]!);
    }

    [Fact]
    public async Task Whoami_lists_the_keys_session_active_files_newest_first_at_most_ten()
    {
        var clock = new ManualTimeProvider(s_start);
        await using var host = await EmulatorHost.StartAsync(o => o.TimeProvider = clock);
        using var client = host.CreateClient();
        using var other = host.CreateClient(EmulatorHost.OtherApiKey);
        for (var i = 0; i < 12; i++)
        {
            await client.PostAsync("api/context/files/set-active", new
            {
                session_id = EmulatorHost.SessionId,
                files = new object[] { new { uri = $"r2://f{i}", name = $"f{i}", size = i + 1, sha256 = $"h{i}", mime = "text/plain" } },
            });
            clock.Advance(TimeSpan.FromSeconds(2));
        }

        await other.PostAsync("api/context/files/set-active", new { session_id = EmulatorHost.OtherSessionId, files = new object[] { new { uri = "r2://theirs" } } });

        var whoami = JsonNode.Parse(await client.GetStringAsync("api/registry/whoami"))!;

        Assert.True((bool)whoami["success"]!);
        var data = whoami["data"]!;
        Assert.Equal(EmulatorHost.ChittyId, (string?)data["tenant"]!["chitty_id"]);
        Assert.NotNull(data["tenant"]!["name"]);
        Assert.NotNull(data["tenant"]!["account_type"]);
        Assert.Equal(EmulatorHost.SessionId, (string?)data["session"]!["session_id"]);
        var files = data["session"]!["active_files"]!.AsArray();
        Assert.Equal(Enumerable.Range(2, 10).Reverse().Select(i => $"r2://f{i}"), files.Select(f => (string?)f!["uri"]));
        var newest = files[0]!;
        Assert.Equal("f11", (string?)newest["name"]);
        Assert.Equal(12, (long)newest["size"]!);
        Assert.Equal("h11", (string?)newest["sha256"]);
        Assert.Equal("text/plain", (string?)newest["mime"]);
        Assert.Equal(s_start.AddSeconds(22), DateTimeOffset.Parse((string)newest["last_accessed"]!));
        Assert.Empty(data["session"]!["active_tasks"]!.AsArray());
        Assert.Contains("write", data["scopes"]!.AsArray().Select(s => (string?)s));
        Assert.True((long)data["quota"]!["storage_bytes"]! > 0);
        Assert.True((long)data["quota"]!["api_calls_remaining"]! > 0);
    }
}
