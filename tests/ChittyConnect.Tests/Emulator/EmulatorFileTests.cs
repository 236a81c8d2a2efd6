using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ChittyConnect.Emulator;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Emulator;

public sealed class EmulatorFileTests
{
    // Late in the UTC day: a local-time date would already be the next day in eastern time zones.
    private static readonly DateTimeOffset s_lateUtc = new(2031, 2, 3, 23, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task Direct_upload_stores_the_bytes_under_a_dated_key_with_the_sha256_and_a_safe_name()
    {
        var clock = new ManualTimeProvider(s_lateUtc);
        await using var host = await EmulatorHost.StartAsync(o => o.TimeProvider = clock);
        using var client = host.CreateClient();
        var bytes = Encoding.UTF8.GetBytes("hello emulator");
        var sha = HttpJson.Sha256Hex(bytes);

        var (status, body, _) = await client.PostAsync("api/files/upload", new
        {
            name = "my report (v2)ü.txt",
            session_id = "s1",
            content_base64 = Convert.ToBase64String(bytes),
            sha256 = sha,
            size = bytes.Length,
            mime = "text/plain",
        });

        Assert.Equal(200, status);
        Assert.True((bool)body!["ok"]!);
        var key = $"files/s1/2031/02/03/{sha}-my_report__v2__.txt";
        Assert.Equal(key, (string?)body["r2_key"]);
        Assert.Equal(bytes, await client.GetByteArrayAsync("_emulator/blobs/" + key));
    }

    [Fact]
    public async Task Direct_upload_without_sha256_prefixes_the_name_with_epoch_milliseconds_and_indexes_nothing()
    {
        var clock = new ManualTimeProvider(s_lateUtc);
        await using var host = await EmulatorHost.StartAsync(o => o.TimeProvider = clock);
        using var client = host.CreateClient();

        var (_, body, _) = await client.PostAsync("api/files/upload", new { name = "a.bin", session_id = "s1", content_base64 = "AAEC" });

        Assert.Equal($"files/s1/2031/02/03/{s_lateUtc.ToUnixTimeMilliseconds()}-a.bin", (string?)body!["r2_key"]);
        Assert.Empty((await host.InspectAsync("_emulator/context-files")).AsArray());
    }

    [Theory]
    [InlineData("""{"session_id":"s1","content_base64":"AAEC"}""")]
    [InlineData("""{"name":"a","content_base64":"AAEC"}""")]
    [InlineData("""{"name":"a","session_id":"s1"}""")]
    public async Task Direct_upload_with_a_missing_field_is_400_invalid_request(string json)
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostRawAsync("api/files/upload", json);

        Assert.Equal(400, status);
        Assert.Equal("invalid_request", (string?)body!["error"]);
    }

    [Theory]
    [InlineData("""{"name":"a","session_id":"s1","content_base64":"not base64!"}""")]
    [InlineData("{broken")]
    public async Task Direct_upload_with_bad_base64_or_bad_json_is_500_upload_failed(string json)
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostRawAsync("api/files/upload", json);

        Assert.Equal(500, status);
        Assert.Equal("upload_failed", (string?)body!["error"]);
        Assert.False(string.IsNullOrEmpty((string?)body["message"]));
    }

    [Fact]
    public async Task Presign_answers_an_upload_url_on_the_called_host_with_a_one_hour_expiry()
    {
        var clock = new ManualTimeProvider(s_lateUtc);
        await using var host = await EmulatorHost.StartAsync(o =>
        {
            o.TimeProvider = clock;
            o.ProductionUploadUrls = false;
        });
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostAsync("api/files/presign", new { name = "big file.bin", size = 10, session_id = "s1", mime = "application/octet-stream", sha256 = "abc" });

        Assert.Equal(200, status);
        Assert.True((bool)body!["ok"]!);
        Assert.Equal("files/s1/2031/02/03/abc-big_file.bin", (string?)body["r2_key"]);
        Assert.Equal(3600, (int)body["expires_in"]!);
        Assert.Equal(s_lateUtc.AddHours(1), DateTimeOffset.Parse((string)body["expires_at"]!));
        var url = new Uri((string)body["upload_url"]!);
        Assert.Equal(host.BaseUri.GetLeftPart(UriPartial.Authority), url.GetLeftPart(UriPartial.Authority));
        Assert.Matches("^/api/files/upload/[0-9a-f-]{36}$", url.AbsolutePath);
    }

    [Fact]
    public async Task With_production_upload_urls_the_upload_url_names_api_chitty_cc()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (_, body, _) = await client.PostAsync("api/files/presign", Presign("x.bin"));

        Assert.StartsWith("https://api.chitty.cc/api/files/upload/", (string?)body!["upload_url"]);
    }

    [Theory]
    [InlineData("""{"name":"a","size":0,"session_id":"s1","mime":"m","sha256":"h"}""")]
    [InlineData("""{"size":3,"session_id":"s1","mime":"m","sha256":"h"}""")]
    [InlineData("""{"name":"a","size":3,"mime":"m","sha256":"h"}""")]
    public async Task Presign_with_size_0_or_without_name_or_session_is_400(string json)
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostRawAsync("api/files/presign", json);

        Assert.Equal(400, status);
        Assert.Equal("invalid_request", (string?)body!["error"]);
        Assert.False(string.IsNullOrEmpty((string?)body["message"]));
    }

    [Fact]
    public async Task Presign_with_malformed_json_is_500()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostRawAsync("api/files/presign", "{");

        Assert.Equal(500, status);
        Assert.Equal("presign_failed", (string?)body!["error"]);
    }

    [Fact]
    public async Task The_presigned_put_stores_the_raw_body_reports_its_size_and_indexes_the_file_as_active()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();
        var bytes = Enumerable.Range(0, 300_000).Select(i => (byte)(i * 7)).ToArray();
        var sha = HttpJson.Sha256Hex(bytes);
        var (_, presign, _) = await client.PostAsync("api/files/presign", new { name = "data.bin", size = bytes.Length, session_id = "s9", mime = "application/x-test", sha256 = sha });

        var (status, body, _) = await Put(client, (string)presign!["upload_url"]!, bytes);

        Assert.Equal(200, status);
        Assert.True((bool)body!["ok"]!);
        Assert.Equal((string?)presign["r2_key"], (string?)body["r2_key"]);
        Assert.Equal(bytes.Length, (long)body["size"]!);
        var key = (string)presign["r2_key"]!;
        using var blob = await client.GetAsync("_emulator/blobs/" + key);
        Assert.Equal(bytes, await blob.Content.ReadAsByteArrayAsync());
        Assert.Equal("application/x-test", blob.Content.Headers.ContentType!.MediaType);
        var row = Assert.Single((await host.InspectAsync("_emulator/context-files?session_id=s9")).AsArray())!;
        Assert.Equal("r2://" + key, (string?)row["file_uri"]);
        Assert.Equal("data.bin", (string?)row["file_name"]);
        Assert.Equal(bytes.Length, (long)row["file_size"]!);
        Assert.Equal(sha, (string?)row["sha256"]);
        Assert.Equal("application/x-test", (string?)row["mime_type"]);
        Assert.Equal(1, (int)row["is_active"]!);
        Assert.Equal(EmulatorHost.ChittyId, (string?)row["chitty_id"]);
    }

    [Fact]
    public async Task The_put_reports_the_bytes_received_whatever_size_was_presigned()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();
        var (_, presign, _) = await client.PostAsync("api/files/presign", Presign("short.bin", size: 1000));

        var (status, body, _) = await Put(client, (string)presign!["upload_url"]!, new byte[] { 1, 2, 3 });

        Assert.Equal(200, status);
        Assert.Equal(3, (long)body!["size"]!);
    }

    [Fact]
    public async Task An_upload_token_is_single_use()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();
        var (_, presign, _) = await client.PostAsync("api/files/presign", Presign("once.bin"));
        var url = (string)presign!["upload_url"]!;

        var (first, _, _) = await Put(client, url, new byte[] { 1 });
        var (second, body, _) = await Put(client, url, new byte[] { 2 });

        Assert.Equal(200, first);
        Assert.Equal(401, second);
        Assert.Equal("""{"error":"invalid_or_expired_token"}""", body!.ToJsonString());
    }

    [Fact]
    public async Task An_upload_token_expires_after_its_lifetime()
    {
        var clock = new ManualTimeProvider(s_lateUtc);
        await using var host = await EmulatorHost.StartAsync(o =>
        {
            o.TimeProvider = clock;
            o.UploadTokenLifetime = TimeSpan.FromMinutes(10);
        });
        using var client = host.CreateClient();
        var (_, presign, _) = await client.PostAsync("api/files/presign", Presign("late.bin"));
        Assert.Equal(600, (int)presign!["expires_in"]!);
        clock.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        var (status, body, _) = await Put(client, (string)presign["upload_url"]!, new byte[] { 1 });

        Assert.Equal(401, status);
        Assert.Equal("invalid_or_expired_token", (string?)body!["error"]);
    }

    [Fact]
    public async Task An_unknown_token_is_401_invalid_or_expired_token()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (status, body, _) = await Put(client, "api/files/upload/" + Guid.NewGuid(), new byte[] { 1 });

        Assert.Equal(401, status);
        Assert.Equal("invalid_or_expired_token", (string?)body!["error"]);
    }

    [Fact]
    public async Task The_presigned_put_still_needs_the_api_key()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();
        using var anonymous = host.CreateClient(apiKey: null);
        var (_, presign, _) = await client.PostAsync("api/files/presign", Presign("k.bin"));

        var (status, body, _) = await Put(anonymous, new Uri((string)presign!["upload_url"]!).AbsolutePath, new byte[] { 1 });

        Assert.Equal(401, status);
        Assert.Equal("Missing API key", (string?)body!["error"]);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, true)]
    public async Task Quirk_a_put_for_a_token_presigned_without_sha256_or_mime_stores_the_object_then_answers_500(bool withSha, bool withMime)
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();
        var request = new JsonObject { ["name"] = "q.bin", ["size"] = 2, ["session_id"] = "sq" };
        if (withSha)
        {
            request["sha256"] = "abcd";
        }

        if (withMime)
        {
            request["mime"] = "application/octet-stream";
        }

        var (_, presign, _) = await client.PostRawAsync("api/files/presign", request.ToJsonString());
        var (status, body, _) = await Put(client, (string)presign!["upload_url"]!, new byte[] { 9, 8 });

        Assert.Equal(500, status);
        Assert.Equal("upload_failed", (string?)body!["error"]);
        Assert.Equal(new byte[] { 9, 8 }, await client.GetByteArrayAsync("_emulator/blobs/" + (string)presign["r2_key"]!));
        Assert.Empty((await host.InspectAsync("_emulator/context-files?session_id=sq")).AsArray());
    }

    [Fact]
    public async Task Commit_answers_ok_and_stores_nothing()
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostAsync("api/files/commit", new { r2_key = "files/s1/x", session_id = "s1", sha256 = "h", size = 3 });

        Assert.Equal(200, status);
        Assert.Equal("""{"ok":true}""", body!.ToJsonString());
        Assert.Empty((await host.InspectAsync("_emulator/context-files")).AsArray());
    }

    [Theory]
    [InlineData("""{"session_id":"s1"}""", "invalid_request")]
    [InlineData("""{"r2_key":"k"}""", "invalid_request")]
    [InlineData("{x", "bad_json")]
    public async Task Commit_without_key_or_session_or_with_bad_json_is_400(string json, string error)
    {
        await using var host = await EmulatorHost.StartAsync();
        using var client = host.CreateClient();

        var (status, body, _) = await client.PostRawAsync("api/files/commit", json);

        Assert.Equal(400, status);
        Assert.Equal(error, (string?)body!["error"]);
    }

    private static object Presign(string name, int size = 3) =>
        new { name, size, session_id = "s1", mime = "application/octet-stream", sha256 = "0123" };

    private static async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> Put(HttpClient client, string url, byte[] bytes)
    {
        // The emulator's URL may be absolute; the path is what a client sends to its configured origin.
        var path = Uri.TryCreate(url, UriKind.Absolute, out var absolute) ? absolute.AbsolutePath.TrimStart('/') : url.TrimStart('/');
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return await client.SendJsonAsync(new HttpRequestMessage(HttpMethod.Put, path) { Content = content });
    }
}
