using System.Net;
using System.Text.Json.Nodes;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Emulator;

public sealed class EmulatorInspectionTests
{
    [Fact]
    public async Task An_armed_fault_answers_the_next_matching_requests_with_its_status_and_Retry_After()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();
        await host.ArmFaultAsync(503, count: 2, pathPrefix: "/api/registry", retryAfterSeconds: 1);

        using var first = await client.GetAsync("api/registry/whoami");
        using var unrelated = await client.GetAsync("api/v1/sessions");
        using var second = await client.GetAsync("api/registry/whoami");
        using var third = await client.GetAsync("api/registry/whoami");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, first.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), first.Headers.RetryAfter!.Delta);
        Assert.Equal(HttpStatusCode.BadRequest, unrelated.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
    }

    [Fact]
    public async Task A_fault_can_answer_a_non_json_body()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();
        await host.ArmFaultAsync(502, count: 1, pathPrefix: "/api/", body: "<html>Bad gateway</html>", contentType: "text/html");

        using var response = await client.GetAsync("api/registry/whoami");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("<html>Bad gateway</html>", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Requests_are_recorded_with_their_status_and_can_be_cleared()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();
        using var anonymous = host.CreateClient(apiKey: null);
        await client.GetAsync("api/registry/whoami");
        await anonymous.GetAsync("api/registry/whoami?x=1");
        await client.GetAsync("_emulator/context-files");

        var recorded = (await host.InspectAsync("_emulator/requests")).AsArray();
        await client.DeleteAsync("_emulator/requests");
        var cleared = (await host.InspectAsync("_emulator/requests")).AsArray();

        Assert.Equal(
            """[{"method":"GET","path":"/api/registry/whoami","status":200},{"method":"GET","path":"/api/registry/whoami","status":401}]""",
            recorded.ToJsonString());
        Assert.Empty(cleared);
    }

    [Fact]
    public async Task A_blob_that_was_never_stored_is_404()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient(apiKey: null);

        using var response = await client.GetAsync("_emulator/blobs/files/none/x.bin");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Blobs_land_in_the_blob_folder_under_their_key()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (_, body, _) = await client.PostAsync("api/files/upload", new { name = "f.txt", session_id = "s1", content_base64 = "aGVsbG8=", sha256 = "h" });

        var path = Path.Combine(new[] { host.BlobDirectory }.Concat(((string)body!["r2_key"]!).Split('/')).ToArray());
        Assert.Equal("hello", await File.ReadAllTextAsync(path));
    }
}
