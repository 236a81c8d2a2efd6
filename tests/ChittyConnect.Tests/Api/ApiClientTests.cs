using System.Net;
using System.Net.Http;
using ChittyConnect.Api;
using ChittyConnect.Configuration;
using Xunit;
using ChittyConnect.Retry;

namespace ChittyConnect.Tests.Api;

public sealed class ApiClientTests
{
    private const string Key = "sk-test-0123456789abcdef";

    private static ChittyApiClient Client(StubHandler handler, Action<ChittyConnectionSettings>? configure = null)
    {
        var settings = new ChittyConnectionSettings
        {
            Endpoint = new Uri("http://127.0.0.1:9/"),
            ApiKey = new ChittySecret(Key),
            ChittyId = "chitty-1",
            RequestTimeout = TimeSpan.FromSeconds(5),
        };
        configure?.Invoke(settings);
        return new ChittyApiClient(settings, handler, RetryPolicy.ForApi(settings.MaxRetries, TimeSpan.FromMilliseconds(1)));
    }

    [Fact]
    public async Task Each_error_shape_of_the_contract_becomes_one_exception_with_status_code_and_message()
    {
        var answers = new Queue<HttpResponseMessage>(new[]
        {
            StubHandler.Json(HttpStatusCode.BadRequest, """{"error":"invalid_request","message":"name is required"}"""),
            StubHandler.Json(HttpStatusCode.NotFound, """{"success":false,"error":{"code":"SESSION_NOT_FOUND","message":"Session not found"}}"""),
            StubHandler.Json(HttpStatusCode.Unauthorized, """{"error":"Invalid API key"}"""),
            StubHandler.Text(HttpStatusCode.NotFound, "Not Found"),
        });
        using var client = Client(new StubHandler((_, _) => answers.Dequeue()));

        var badRequest = await Assert.ThrowsAsync<ChittyApiException>(() => client.WhoAmIAsync(default));
        Assert.Equal((400, "invalid_request", ChittyErrorKind.InvalidRequest), (badRequest.StatusCode, badRequest.Code, badRequest.Kind));
        Assert.Contains("name is required", badRequest.Message);

        var notFound = await Assert.ThrowsAsync<ChittyApiException>(() => client.GetSessionAsync("nope", default));
        Assert.Equal((404, "SESSION_NOT_FOUND", ChittyErrorKind.NotFound), (notFound.StatusCode, notFound.Code, notFound.Kind));

        var auth = await Assert.ThrowsAsync<ChittyApiException>(() => client.WhoAmIAsync(default));
        Assert.Equal((401, ChittyErrorKind.Authentication), (auth.StatusCode, auth.Kind));
        Assert.Contains("Invalid API key", auth.Message);

        var plain = await Assert.ThrowsAsync<ChittyApiException>(() => client.WhoAmIAsync(default));
        Assert.Equal((404, "not_found"), (plain.StatusCode, plain.Code));
        Assert.Contains("Check the endpoint", plain.Message);
    }

    [Theory]
    [InlineData("<html><body>Gateway</body></html>", "text/html")]
    [InlineData("", "text/plain")]
    public async Task A_success_that_is_not_json_is_an_invalid_response_naming_what_came(string body, string mediaType)
    {
        using var client = Client(new StubHandler((_, _) => StubHandler.Text(HttpStatusCode.OK, body, mediaType)));
        var ex = await Assert.ThrowsAsync<ChittyApiException>(() => client.WhoAmIAsync(default));
        Assert.Equal(ChittyErrorKind.InvalidResponse, ex.Kind);
        Assert.Contains(mediaType, ex.Message);
    }

    [Fact]
    public async Task A_gigantic_response_is_refused_without_buffering_it_all()
    {
        var huge = new string('x', ChittyApiClient.MaxResponseBytes + 10);
        using var client = Client(new StubHandler((_, _) => StubHandler.Json(HttpStatusCode.OK, "{\"data\":\"" + huge + "\"}")));
        var ex = await Assert.ThrowsAsync<ChittyApiException>(() => client.WhoAmIAsync(default));
        Assert.Equal(ChittyErrorKind.InvalidResponse, ex.Kind);
    }

    [Fact]
    public async Task A_503_with_Retry_After_and_a_429_are_retried_then_succeed()
    {
        var handler = new StubHandler((_, n) => n switch
        {
            1 => With(StubHandler.Json(HttpStatusCode.ServiceUnavailable, "{}"), TimeSpan.Zero),
            2 => StubHandler.Json((HttpStatusCode)429, """{"error":"rate_limited"}"""),
            _ => StubHandler.Json(HttpStatusCode.OK, """{"success":true,"data":{"tenant":{"chitty_id":"chitty-1"},"session":{"session_id":"s1","active_files":[]}}}"""),
        });
        using var client = Client(handler);
        var whoami = await client.WhoAmIAsync(default);
        Assert.Equal("s1", whoami.SessionId);
        Assert.Equal(3, handler.Calls);
    }

    [Fact]
    public async Task Retries_stop_after_the_limit_with_the_last_error()
    {
        var handler = new StubHandler((_, _) => StubHandler.Json(HttpStatusCode.InternalServerError, """{"error":"internal_error","message":"boom"}"""));
        using var client = Client(handler, s => s.MaxRetries = 2);
        var ex = await Assert.ThrowsAsync<ChittyApiException>(() => client.WhoAmIAsync(default));
        Assert.Equal(ChittyErrorKind.ServerError, ex.Kind);
        Assert.Equal(3, handler.Calls);
    }

    [Fact]
    public async Task A_presigned_put_is_never_repeated_on_a_500_because_its_token_is_single_use()
    {
        var handler = new StubHandler((_, _) => StubHandler.Json(HttpStatusCode.InternalServerError, """{"error":"upload_failed"}"""));
        using var client = Client(handler);
        var presign = new PresignResult { UploadUrl = new Uri("https://api.chitty.cc/api/files/upload/tok"), R2Key = "k" };
        await Assert.ThrowsAsync<ChittyApiException>(() => client.PutPresignedAsync(presign, new MemoryStream(new byte[] { 1 }), 1, "text/plain", default));
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task A_request_without_an_answer_fails_with_a_timeout_within_the_limit()
    {
        var handler = new StubHandler(async (_, _, ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), ct);
            return StubHandler.Json(HttpStatusCode.OK, "{}");
        });
        using var client = Client(handler, s =>
        {
            s.RequestTimeout = TimeSpan.FromMilliseconds(200);
            s.MaxRetries = 1;
        });
        var started = DateTime.UtcNow;
        var ex = await Assert.ThrowsAsync<ChittyApiException>(() => client.WhoAmIAsync(default));
        Assert.Equal(ChittyErrorKind.Timeout, ex.Kind);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task The_presigned_put_goes_to_the_configured_origin_whatever_host_the_service_names()
    {
        var handler = new StubHandler((_, _) => StubHandler.Json(HttpStatusCode.OK, """{"ok":true,"r2_key":"files/s/k","size":3}"""));
        using var client = Client(handler);
        var presign = new PresignResult { UploadUrl = new Uri("https://api.chitty.cc/api/files/upload/tok123"), R2Key = "files/s/k" };
        var (key, size) = await client.PutPresignedAsync(presign, new MemoryStream(new byte[] { 1, 2, 3 }), 3, "text/plain", default);
        Assert.Equal(("files/s/k", 3L), (key, size));
        var request = Assert.Single(handler.Requests);
        Assert.Equal("http://127.0.0.1:9/api/files/upload/tok123", request.Uri.ToString());
        Assert.Equal("Bearer " + Key, request.Authorization);
    }

    [Fact]
    public async Task An_error_message_that_echoes_the_key_is_scrubbed()
    {
        using var client = Client(new StubHandler((_, _) => StubHandler.Json(HttpStatusCode.BadRequest, "{\"error\":\"invalid_request\",\"message\":\"bad key " + Key + "\"}")));
        var ex = await Assert.ThrowsAsync<ChittyApiException>(() => client.WhoAmIAsync(default));
        Assert.DoesNotContain(Key, ex.Message);
        Assert.Contains(ChittySecret.Mask, ex.Message);
    }

    [Fact]
    public async Task Set_active_refuses_a_file_without_uri_before_sending_anything()
    {
        var handler = new StubHandler((_, _) => StubHandler.Json(HttpStatusCode.OK, """{"ok":true,"count":1}"""));
        using var client = Client(handler);
        await Assert.ThrowsAsync<ArgumentException>(() => client.SetActiveAsync("s", new[] { new ActiveFileSpec { Uri = "", Name = "a.txt" } }, default));
        Assert.Equal(0, handler.Calls);
    }

    [Fact]
    public async Task A_large_sync_report_goes_in_batches_and_adds_up()
    {
        var handler = new StubHandler((r, n) => StubHandler.Json(HttpStatusCode.OK, $$"""{"ok":true,"count":{{(n < 3 ? 2 : 1)}},"eventId":"e{{n}}"}"""));
        using var client = Client(handler);
        var items = Enumerable.Range(0, 5).Select(i => new SyncReportItem { R2Key = $"files/s/{i}", Size = 10 }).ToList();
        var result = await client.SendSyncReportAsync("files/s", null, items, default, batchSize: 2);
        Assert.Equal((5, 50L, 3, "e3"), (result.Count, result.Bytes, result.Batches, result.EventId));
        Assert.Equal(3, handler.Requests.Count);
        Assert.Contains("\"source\":\"rclone\"", handler.Requests[0].Body);
    }

    private static HttpResponseMessage With(HttpResponseMessage response, TimeSpan retryAfter)
    {
        response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(retryAfter);
        return response;
    }
}
