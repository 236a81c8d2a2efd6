using System.Net;
using System.Text.Json.Nodes;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Emulator;

public sealed class EmulatorAuthTests
{
    [Theory]
    [InlineData(null, "Missing API key")]
    [InlineData("no-such-key", "Invalid API key")]
    [InlineData(EmulatorHost.InactiveApiKey, "API key is inactive")]
    public async Task Api_calls_without_a_usable_key_get_the_services_401_bodies(string? key, string error)
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient(key);

        using var response = await client.GetAsync("api/registry/whoami");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal($$"""{"error":"{{error}}"}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_key_is_accepted_as_bearer_token_or_as_X_ChittyOS_API_Key_header()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var bearer = host.CreateClient();
        using var header = host.CreateClient(apiKey: null);
        header.DefaultRequestHeaders.Add("X-ChittyOS-API-Key", EmulatorHost.OtherApiKey);

        var viaBearer = JsonNode.Parse(await bearer.GetStringAsync("api/registry/whoami"))!;
        var viaHeader = JsonNode.Parse(await header.GetStringAsync("api/registry/whoami"))!;

        Assert.Equal(EmulatorHost.ChittyId, (string?)viaBearer["data"]!["tenant"]!["chitty_id"]);
        Assert.Equal(EmulatorHost.OtherChittyId, (string?)viaHeader["data"]!["tenant"]!["chitty_id"]);
    }

    [Fact]
    public async Task Authenticated_responses_carry_rate_limit_headers_counting_down()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        using var first = await client.GetAsync("api/registry/whoami");
        using var second = await client.GetAsync("api/registry/whoami");

        Assert.Equal("200", first.Headers.GetValues("X-RateLimit-Limit").Single());
        var remainingFirst = int.Parse(first.Headers.GetValues("X-RateLimit-Remaining").Single());
        var remainingSecond = int.Parse(second.Headers.GetValues("X-RateLimit-Remaining").Single());
        Assert.Equal(remainingFirst - 1, remainingSecond);
        // Epoch milliseconds, as the service gives it: within the next minute, not 1970 + a few weeks.
        var reset = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(first.Headers.GetValues("X-RateLimit-Reset").Single()));
        Assert.InRange(reset, DateTimeOffset.UtcNow.AddSeconds(-1), DateTimeOffset.UtcNow.AddMinutes(1).AddSeconds(1));
    }

    [Theory]
    [InlineData("GET", "api/no/such/route")]
    [InlineData("GET", "api/files/upload")]
    [InlineData("DELETE", "api/v1/sessions")]
    [InlineData("GET", "nothing-here")]
    public async Task Unknown_routes_and_methods_are_404_with_a_plain_text_body(string method, string path)
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("404 Not Found", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Unknown_api_routes_still_ask_for_the_key_first()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient(apiKey: null);

        using var response = await client.GetAsync("api/no/such/route");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
