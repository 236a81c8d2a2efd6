using System.Text.Json.Nodes;
using ChittyConnect.Emulator;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Emulator;

/// <summary>Where the emulator once differed from the service (shared/chittyconnect-api.md), it now answers as the service does.</summary>
public sealed class EmulatorFidelityTests
{
    [Fact]
    public async Task Connected_is_stamped_in_epoch_milliseconds_and_says_streaming_active()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2031, 2, 3, 4, 5, 6, 789, TimeSpan.Zero));
        await using var host = await EmulatorHost.StartAsync(o =>
        {
            o.TimeProvider = clock;
            o.SseHeartbeatInterval = TimeSpan.FromMilliseconds(200);
        });
        using var client = host.CreateClient(apiKey: null);
        await using var sse = await SseReader.OpenAsync(client, "s1");

        var connected = (await sse.NextAsync())!;
        var heartbeat = (await sse.NextAsync())!;

        Assert.Equal(1927857906789L, connected["timestamp"]!.GetValue<long>());
        Assert.Equal("ChittyConnect streaming active", (string?)connected["message"]);
        Assert.Equal(1927857906789L, heartbeat["timestamp"]!.GetValue<long>());
    }

    [Fact]
    public async Task Sse_answers_carry_the_services_cors_headers_and_health_is_available()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient(apiKey: null);
        await using var sse = await SseReader.OpenAsync(client, "s1");
        using var health = await client.GetAsync("sse/health");

        foreach (var response in new[] { sse.Response, health })
        {
            Assert.Equal("https://connect.chitty.cc", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
            Assert.Equal("Origin", Assert.Single(response.Headers.Vary));
        }

        Assert.Equal(200, (int)health.StatusCode);
        var body = JsonNode.Parse(await health.Content.ReadAsStringAsync())!;
        Assert.Equal("available", (string?)body["status"]);
        Assert.InRange(DateTimeOffset.FromUnixTimeMilliseconds(body["timestamp"]!.GetValue<long>()), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
    }

    [Fact]
    public async Task Status_answers_without_a_key_while_every_other_api_route_still_needs_one()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var anonymous = host.CreateClient(apiKey: null);

        using var status = await anonymous.GetAsync("api/v1/status");
        using var sessions = await anonymous.GetAsync("api/v1/sessions");
        using var postStatus = await anonymous.PostAsync("api/v1/status", new StringContent("{}"));

        Assert.Equal(200, (int)status.StatusCode);
        var body = JsonNode.Parse(await status.Content.ReadAsStringAsync())!;
        Assert.Equal(("ok", "chittyconnect", "2.2.0"), ((string?)body["status"], (string?)body["service"], (string?)body["version"]));
        Assert.True(DateTimeOffset.TryParse((string?)body["timestamp"], out _));
        Assert.Equal(401, (int)sessions.StatusCode);
        Assert.Equal(401, (int)postStatus.StatusCode);
    }

    [Theory]
    [InlineData(false, "api/registry/whoami")]
    [InlineData(true, "api/registry/whoami")]
    [InlineData(true, "api/no/such/route")]
    [InlineData(false, "api/v1/status")]
    public async Task Api_answers_carry_the_routers_cors_headers_whatever_their_status(bool withKey, string path)
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = withKey ? host.CreateClient() : host.CreateClient(apiKey: null);

        using var response = await client.GetAsync(path);

        Assert.Equal("true", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Credentials")));
        Assert.Equal("Content-Length,X-Request-ID,Mcp-Session-Id", Assert.Single(response.Headers.GetValues("Access-Control-Expose-Headers")));
        Assert.Equal("Origin", Assert.Single(response.Headers.Vary));
    }

    [Fact]
    public async Task Whoami_reports_the_name_and_scopes_of_the_keys_record()
    {
        await using var host = await EmulatorHost.StartAsync(o =>
            o.Keys.Add(EmulatorApiKey.Parse("named-key=CT-01-1-CHI-1234:desk,name=Ada Lovelace,scopes=files:read+files:write+context:admin")));
        using var named = host.CreateClient("named-key");
        using var plain = host.CreateClient();

        var data = JsonNode.Parse(await named.GetStringAsync("api/registry/whoami"))!["data"]!;
        var plainData = JsonNode.Parse(await plain.GetStringAsync("api/registry/whoami"))!["data"]!;

        Assert.Equal("Ada Lovelace", (string?)data["tenant"]!["name"]);
        Assert.Equal(new[] { "files:read", "files:write", "context:admin" }, data["scopes"]!.AsArray().Select(s => (string?)s));
        Assert.Equal(EmulatorHost.ChittyId, (string?)plainData["tenant"]!["name"]);
        Assert.Equal(new[] { "read", "write" }, plainData["scopes"]!.AsArray().Select(s => (string?)s));
    }

    [Fact]
    public void A_key_with_a_name_and_scopes_reads_back_as_written_and_a_bad_field_is_refused()
    {
        var key = EmulatorApiKey.Parse("k=id:s:inactive,name=Team Laptop,scopes=a+b");

        Assert.Equal(("k", "id", "s", false, "Team Laptop"), (key.Key, key.ChittyId, key.SessionId, key.IsActive, key.Name));
        Assert.Equal(new[] { "a", "b" }, key.Scopes);
        Assert.Equal("k=id:s:inactive,name=Team Laptop,scopes=a+b", key.ToString());
        Assert.Throws<FormatException>(() => EmulatorApiKey.Parse("k=id:s,colour=blue"));
        Assert.Contains("name=", Assert.Throws<ArgumentException>(() => EmulatorOptions.Parse(new[] { "--key", "k=id:s,x" }, null)).Message);
    }

    [Theory]
    [InlineData("api/files/upload", """{"name":"a","session_id":"s1"}""")]
    [InlineData("api/files/commit", """{"session_id":"s1"}""")]
    [InlineData("api/context/files/set-active", """{"files":[]}""")]
    [InlineData("api/context/files/sync-report", """{"items":{}}""")]
    public async Task A_missing_field_is_invalid_request_without_a_message_where_the_service_gives_none(string path, string json)
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostRawAsync(path, json);

        Assert.Equal(400, status);
        Assert.Equal("""{"error":"invalid_request"}""", body!.ToJsonString());
    }

    [Fact]
    public async Task Presign_still_explains_its_missing_fields()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostRawAsync("api/files/presign", """{"size":3,"session_id":"s1"}""");

        Assert.Equal(400, status);
        Assert.Equal("name, session_id, and size required", (string?)body!["message"]);
    }

    [Fact]
    public async Task A_session_store_restart_loses_every_session()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();
        await client.PostAsync("api/v1/sessions", new { chittyId = EmulatorHost.ChittyId, sessionId = "desk" });
        var get = new Func<Task<int>>(async () =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "api/v1/sessions/desk");
            request.Headers.Add("X-ChittyID", EmulatorHost.ChittyId);
            using var response = await client.SendAsync(request);
            return (int)response.StatusCode;
        });
        Assert.Equal(200, await get());

        using var anonymous = host.CreateClient(apiKey: null);
        using var restart = await anonymous.PostAsync("_emulator/sessions/restart", null);

        Assert.Equal("""{"ok":true,"removed":1}""", await restart.Content.ReadAsStringAsync());
        Assert.Equal(404, await get());
    }
}
