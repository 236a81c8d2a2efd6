using System.Net;
using System.Text.Json.Nodes;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Emulator;

public sealed class EmulatorSessionTests
{
    private static readonly DateTimeOffset s_start = new(2030, 5, 6, 7, 8, 9, TimeSpan.Zero);

    [Fact]
    public async Task Creating_a_session_answers_the_session_with_a_24_hour_expiry()
    {
        var clock = new ManualTimeProvider(s_start);
        await using var host = await EmulatorHost.StartAsync(o => o.TimeProvider = clock);
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostAsync("api/v1/sessions", new { chittyId = "c1", sessionId = "s1", metadata = new { project = "p" } });

        Assert.Equal(200, status);
        Assert.True((bool)body!["success"]!);
        var data = body["data"]!;
        var created = s_start.ToUnixTimeMilliseconds();
        Assert.Equal("s1", (string?)data["id"]);
        Assert.Equal("c1", (string?)data["chittyId"]);
        Assert.Equal(created, (long)data["created"]!);
        Assert.Equal(created, (long)data["updated"]!);
        Assert.Equal(created + (24 * 3600 * 1000), (long)data["expires"]!);
        Assert.Equal("p", (string?)data["metadata"]!["project"]);
        Assert.Equal("active", (string?)data["state"]);
        Assert.Empty(data["decisions"]!.AsArray());
        Assert.Equal(0, (int)data["interactions"]!);
        Assert.True(Guid.TryParse((string?)body["metadata"]!["requestId"], out _));
        Assert.Equal(s_start, DateTimeOffset.Parse((string)body["metadata"]!["timestamp"]!));
    }

    [Fact]
    public async Task Posting_an_existing_id_overwrites_it()
    {
        var clock = new ManualTimeProvider(s_start);
        await using var host = await EmulatorHost.StartAsync(o => o.TimeProvider = clock);
        using var client = host.CreateClient();
        await client.PostAsync("api/v1/sessions", new { chittyId = "c1", sessionId = "s1", metadata = new { v = 1 } });
        clock.Advance(TimeSpan.FromMinutes(5));

        await client.PostAsync("api/v1/sessions", new { chittyId = "c1", sessionId = "s1", metadata = new { v = 2 } });
        var (_, list, _) = await client.SendJsonAsync(WithChittyId(HttpMethod.Get, "api/v1/sessions", "c1"));

        var session = Assert.Single(list!["data"]!["sessions"]!.AsArray())!;
        Assert.Equal(2, (int)session["metadata"]!["v"]!);
        Assert.Equal(clock.GetUtcNow().ToUnixTimeMilliseconds(), (long)session["created"]!);
    }

    [Theory]
    [InlineData("""{"chittyId":"c1"}""")]
    [InlineData("""{"sessionId":"s1"}""")]
    [InlineData("""{"chittyId":"","sessionId":"s1"}""")]
    public async Task A_missing_field_is_400_MISSING_REQUIRED_FIELDS(string json)
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostRawAsync("api/v1/sessions", json);

        Assert.Equal(400, status);
        Assert.False((bool)body!["success"]!);
        Assert.Equal("MISSING_REQUIRED_FIELDS", (string?)body["error"]!["code"]);
        Assert.False(string.IsNullOrEmpty((string?)body["error"]!["message"]));
    }

    [Fact]
    public async Task Malformed_json_is_a_500_in_the_sessions_shape()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostRawAsync("api/v1/sessions", "{not json");

        Assert.Equal(500, status);
        Assert.False((bool)body!["success"]!);
        Assert.Equal("SESSION_CREATE_FAILED", (string?)body["error"]!["code"]);
    }

    [Theory]
    [InlineData("GET", "api/v1/sessions")]
    [InlineData("GET", "api/v1/sessions/s1")]
    [InlineData("PATCH", "api/v1/sessions/s1")]
    public async Task Reading_or_patching_without_X_ChittyID_is_400_MISSING_CHITTYID(string method, string path)
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();
        await client.PostAsync("api/v1/sessions", new { chittyId = "c1", sessionId = "s1" });

        var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = method == "PATCH" ? JsonContent("{}") : null };
        var (status, body, _) = await client.SendJsonAsync(request);

        Assert.Equal(400, status);
        Assert.Equal("MISSING_CHITTYID", (string?)body!["error"]!["code"]);
    }

    [Fact]
    public async Task An_unknown_session_is_404_SESSION_NOT_FOUND_and_sessions_are_per_ChittyID()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();
        await client.PostAsync("api/v1/sessions", new { chittyId = "c1", sessionId = "s1" });

        var (unknown, unknownBody, _) = await client.SendJsonAsync(WithChittyId(HttpMethod.Get, "api/v1/sessions/nope", "c1"));
        var (otherTenant, _, _) = await client.SendJsonAsync(WithChittyId(HttpMethod.Get, "api/v1/sessions/s1", "c2"));
        var (found, foundBody, _) = await client.SendJsonAsync(WithChittyId(HttpMethod.Get, "api/v1/sessions/s1", "c1"));

        Assert.Equal(404, unknown);
        Assert.Equal("SESSION_NOT_FOUND", (string?)unknownBody!["error"]!["code"]);
        Assert.Equal(404, otherTenant);
        Assert.Equal(200, found);
        Assert.Equal("s1", (string?)foundBody!["data"]!["id"]);
    }

    [Fact]
    public async Task The_list_holds_only_unexpired_sessions_newest_update_first()
    {
        var clock = new ManualTimeProvider(s_start);
        await using var host = await EmulatorHost.StartAsync(o => o.TimeProvider = clock);
        using var client = host.CreateClient();
        foreach (var id in new[] { "old", "middle", "expired" })
        {
            await client.PostAsync("api/v1/sessions", new { chittyId = "c1", sessionId = id });
            clock.Advance(TimeSpan.FromMinutes(1));
        }

        // Touching "old" makes it the most recently updated; "expired" is pushed into the past.
        var touch = WithChittyId(HttpMethod.Patch, "api/v1/sessions/old", "c1");
        touch.Content = JsonContent("""{"note":"touched"}""");
        await client.SendJsonAsync(touch);
        var expire = WithChittyId(HttpMethod.Patch, "api/v1/sessions/expired", "c1");
        expire.Content = JsonContent($$"""{"expires":{{s_start.ToUnixTimeMilliseconds()}}}""");
        await client.SendJsonAsync(expire);

        var (_, list, _) = await client.SendJsonAsync(WithChittyId(HttpMethod.Get, "api/v1/sessions", "c1"));

        Assert.Equal(2, (int)list!["data"]!["count"]!);
        Assert.Equal(new[] { "old", "middle" }, list["data"]!["sessions"]!.AsArray().Select(s => (string?)s!["id"]));
    }

    [Fact]
    public async Task Patch_merges_the_updates_into_the_session()
    {
        var clock = new ManualTimeProvider(s_start);
        await using var host = await EmulatorHost.StartAsync(o => o.TimeProvider = clock);
        using var client = host.CreateClient();
        await client.PostAsync("api/v1/sessions", new { chittyId = "c1", sessionId = "s1", metadata = new { a = 1 } });
        clock.Advance(TimeSpan.FromSeconds(30));

        var patch = WithChittyId(HttpMethod.Patch, "api/v1/sessions/s1", "c1");
        patch.Content = JsonContent("""{"state":"paused","interactions":3}""");
        var (status, body, _) = await client.SendJsonAsync(patch);
        var (_, read, _) = await client.SendJsonAsync(WithChittyId(HttpMethod.Get, "api/v1/sessions/s1", "c1"));

        Assert.Equal(200, status);
        Assert.Equal("paused", (string?)body!["data"]!["state"]);
        var session = read!["data"]!;
        Assert.Equal("paused", (string?)session["state"]);
        Assert.Equal(3, (int)session["interactions"]!);
        Assert.Equal(1, (int)session["metadata"]!["a"]!);
        Assert.Equal(clock.GetUtcNow().ToUnixTimeMilliseconds(), (long)session["updated"]!);
        Assert.Equal(s_start.ToUnixTimeMilliseconds(), (long)session["created"]!);
    }

    private static HttpRequestMessage WithChittyId(HttpMethod method, string path, string chittyId)
    {
        var request = new HttpRequestMessage(method, path);
        request.Headers.Add("X-ChittyID", chittyId);
        return request;
    }

    private static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");
}
