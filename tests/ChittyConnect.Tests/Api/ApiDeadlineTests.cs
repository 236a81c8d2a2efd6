using System.Diagnostics;
using System.Net;
using ChittyConnect.Api;
using ChittyConnect.Configuration;
using ChittyConnect.Retry;
using ChittyConnect.Tests.BadInput;
using Xunit;

namespace ChittyConnect.Tests.Api;

/// <summary>
/// One deadline per call, retries included, and no repeat of a request that is not safe to repeat once its body
/// reached the server: against a real socket server that never answers, or that reads the body and hangs up.
/// </summary>
public sealed class ApiDeadlineTests
{
    private static ChittyApiClient Client(Uri endpoint, TimeSpan timeout, int retries) => new(
        new ChittyConnectionSettings
        {
            Endpoint = endpoint,
            ApiKey = new ChittySecret("sk-test-0123456789abcdef"),
            ChittyId = "chitty-1",
            RequestTimeout = timeout,
            MaxRetries = retries,
        },
        retry: RetryPolicy.ForApi(retries, TimeSpan.FromMilliseconds(1)));

    [Fact]
    public async Task A_server_that_never_answers_costs_the_deadline_once_and_the_error_says_how_long()
    {
        await using var server = new LoopbackHttpStub(_ => StubResponse.Never);
        using var client = Client(server.BaseUri, TimeSpan.FromSeconds(1), retries: 4);

        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<ChittyApiException>(() => client.WhoAmIAsync(default));
        clock.Stop();

        Assert.Equal(ChittyErrorKind.Timeout, ex.Kind);
        Assert.Contains("within 1 s", ex.Message);
        Assert.Contains("-TimeoutSec", ex.Message);
        // Five tries of the whole timeout each took five times the deadline before.
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(4.5));
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task A_safe_request_is_retried_within_its_deadline_after_the_server_hangs_up()
    {
        await using var server = new LoopbackHttpStub(_ => StubResponse.Drop);
        using var client = Client(server.BaseUri, TimeSpan.FromSeconds(10), retries: 2);

        var ex = await Assert.ThrowsAsync<ChittyApiException>(() =>
            client.SetActiveAsync("s1", new[] { new ActiveFileSpec { Uri = "r2://files/s1/a.txt" } }, default));

        Assert.Equal(ChittyErrorKind.Network, ex.Kind);
        Assert.Equal(3, server.Requests.Count);
    }

    public static TheoryData<string, Func<ChittyApiClient, Task>> UnsafeCalls => new()
    {
        { "/api/files/upload", c => c.UploadDirectAsync("a.txt", "s1", new ArraySegment<byte>(new byte[] { 1, 2, 3 }), new string('0', 64), "text/plain", default) },
        { "/api/files/commit", c => c.CommitAsync("files/s1/a.txt", "s1", null, 3, null, default) },
        { "/api/context/files/sync-report", c => c.SendSyncReportAsync("files/s1", null, new[] { new SyncReportItem { R2Key = "files/s1/a.txt", Size = 3 } }, default) },
    };

    [Theory]
    [MemberData(nameof(UnsafeCalls))]
    public async Task A_request_not_safe_to_repeat_is_sent_once_when_the_server_fails_after_receiving_its_body(string path, Func<ChittyApiClient, Task> call)
    {
        await using var server = new LoopbackHttpStub(_ => StubResponse.Drop);
        using var client = Client(server.BaseUri, TimeSpan.FromSeconds(10), retries: 4);

        var ex = await Assert.ThrowsAsync<ChittyApiException>(() => call(client));

        Assert.Equal(ChittyErrorKind.Network, ex.Kind);
        var request = Assert.Single(server.Requests);
        Assert.Equal(("POST", path), (request.Method, request.Target));
        Assert.NotEmpty(request.Body);
    }

    [Fact]
    public async Task A_request_not_safe_to_repeat_is_still_retried_on_a_503_which_says_it_was_not_processed()
    {
        var answers = 0;
        await using var server = new LoopbackHttpStub(_ => Interlocked.Increment(ref answers) == 1
            ? new StubResponse(503, """{"error":"unavailable"}""", Headers: new Dictionary<string, string> { ["Retry-After"] = "0" })
            : new StubResponse(200, """{"ok":true,"r2_key":"files/s1/2031/01/01/abc-a.txt"}"""));
        using var client = Client(server.BaseUri, TimeSpan.FromSeconds(10), retries: 4);

        var key = await client.UploadDirectAsync("a.txt", "s1", new ArraySegment<byte>(new byte[] { 1 }), new string('0', 64), "text/plain", default);

        Assert.Equal("files/s1/2031/01/01/abc-a.txt", key);
        Assert.Equal(2, server.Requests.Count);
    }

    [Fact]
    public async Task A_retry_that_would_outlast_the_deadline_is_not_started()
    {
        // The server asks for 20 s; the call has 2 s in all: it ends with the 503 now instead of sleeping past its deadline.
        await using var server = new LoopbackHttpStub(_ => new StubResponse(503, """{"error":"unavailable"}""", Headers: new Dictionary<string, string> { ["Retry-After"] = "20" }));
        using var client = Client(server.BaseUri, TimeSpan.FromSeconds(2), retries: 4);

        var clock = Stopwatch.StartNew();
        var ex = await Assert.ThrowsAsync<ChittyApiException>(() => client.WhoAmIAsync(default));

        Assert.Equal((ChittyErrorKind.ServerError, 503), (ex.Kind, ex.StatusCode));
        Assert.Single(server.Requests);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2));
    }
}
