using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using ChittyConnect.Storage;
using ChittyConnect.Tests.BadInput;
using ChittyConnect.Tests.Infrastructure;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>
/// Answers R2 and S3 can give that s3rver never does (a failed completion behind a 200, keep-alive whitespace,
/// a lost answer, a refused digest, a skewed clock, a silent or slow connection), made by disturbing the
/// store's HTTP handler in front of s3rver or by a loopback stub: what the store then does.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class StoreAnswerTests
{
    private readonly S3rverProcess _s3rver;

    public StoreAnswerTests(S3rverProcess s3rver) => _s3rver = s3rver;

    private static string Md5Hex(byte[] bytes) => Convert.ToHexStringLower(MD5.HashData(bytes));

    private static HttpResponseMessage S3Error(HttpStatusCode status, string code, string message = "refused") => new(status)
    {
        Content = new StringContent($"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{message}</Message></Error>", Encoding.UTF8, "application/xml"),
    };

    private static bool IsCompletion(HttpRequestMessage r) => r.Method == HttpMethod.Post && r.RequestUri!.Query.StartsWith("?uploadId=", StringComparison.Ordinal);

    private static bool IsCreate(HttpRequestMessage r) => r.Method == HttpMethod.Post && r.RequestUri!.Query.StartsWith("?uploads", StringComparison.Ordinal);

    [Theory]
    [InlineData("InvalidPart")]
    [InlineData("EntityTooSmall")]
    public async Task A_completion_that_fails_behind_a_200_keeps_the_s3_code_and_is_not_sent_again(string code)
    {
        var completions = 0;
        using var ctx = new SyncTestContext(_s3rver, o => o.MaxRetries = 3, inner => new Disturb(inner, async (r, next, ct) =>
        {
            if (!IsCompletion(r))
            {
                return await next(r, ct);
            }

            Interlocked.Increment(ref completions);
            var answer = S3Error(HttpStatusCode.OK, code, "One or more of the specified parts could not be found.");
            return answer;
        }));
        var content = SyncTestContext.RandomBytes(2 * 1024 * 1024 + 9, 21);
        var path = ctx.Write("p.bin", content);

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(path, ctx.Prefix + "p.bin",
            SyncTestContext.Sha256(content), Md5Hex(content), DateTimeOffset.UtcNow, null, null, CancellationToken.None));

        Assert.Equal(code, ex.Code);
        Assert.Contains(code, ex.Message);
        Assert.Equal(1, completions);
        Assert.Null(await ctx.Store.HeadAsync(ctx.Prefix + "p.bin", CancellationToken.None));
    }

    [Fact]
    public async Task A_completion_answer_led_by_keep_alive_whitespace_is_read_as_the_success_it_is()
    {
        using var ctx = new SyncTestContext(_s3rver, null, inner => new Disturb(inner, async (r, next, ct) =>
        {
            var response = await next(r, ct);
            if (IsCompletion(r))
            {
                // S3 sends spaces and newlines while it assembles a large object, before the XML declaration.
                var body = await response.Content.ReadAsStringAsync(ct);
                response.Content = new StringContent("\n \n  \n" + body, Encoding.UTF8, "application/xml");
            }

            return response;
        }));
        var content = SyncTestContext.RandomBytes(2 * 1024 * 1024 + 3, 22);
        var path = ctx.Write("w.bin", content);

        var result = await ctx.Store.UploadFileAsync(path, ctx.Prefix + "w.bin", SyncTestContext.Sha256(content), Md5Hex(content),
            DateTimeOffset.UtcNow, null, null, CancellationToken.None);

        Assert.Equal(3, result.Parts);
        Assert.Equal(2, ctx.Wire.Count("MULTIPART"));
        Assert.Equal(content, (await ctx.RemoteContentAsync())["w.bin"]);
    }

    private bool HasOpenUpload(string key) =>
        Directory.GetDirectories(Path.Combine(_s3rver.DataDirectory, _s3rver.Bucket, "._S3rver_uploads")).Any(d => File.ReadAllText(Path.Combine(d, "key")) == key);

    [Fact]
    public async Task A_create_whose_answer_is_lost_has_its_upload_aborted_and_is_sent_once_more()
    {
        var creates = 0;
        using var ctx = new SyncTestContext(_s3rver, o => o.MaxRetries = 3, inner => new Disturb(inner, async (r, next, ct) =>
        {
            var response = await next(r, ct);
            if (IsCreate(r) && Interlocked.Increment(ref creates) == 1)
            {
                // The store created the upload; the connection died before its answer arrived.
                response.Dispose();
                throw new HttpRequestException("The response ended prematurely.", new IOException("connection reset"));
            }

            return response;
        }));
        var content = SyncTestContext.RandomBytes(2 * 1024 * 1024 + 1, 23);
        var path = ctx.Write("c.bin", content);

        var result = await ctx.Store.UploadFileAsync(path, ctx.Prefix + "c.bin", SyncTestContext.Sha256(content), Md5Hex(content),
            DateTimeOffset.UtcNow, null, null, CancellationToken.None);

        Assert.Equal(2, creates);
        // The upload the lost answer would have named is found by its key and aborted before the second create.
        Assert.Equal(1, ctx.Wire.Count("ABORT"));
        Assert.Equal(content, (await ctx.RemoteContentAsync())["c.bin"]);
        Assert.Equal(result.ETag, (await ctx.Store.HeadAsync(ctx.Prefix + "c.bin", CancellationToken.None))!.ETag);
        Assert.False(HasOpenUpload(ctx.Prefix + "c.bin"));
    }

    [Fact]
    public async Task A_create_whose_answer_is_lost_twice_fails_clearly_and_leaves_no_open_upload()
    {
        var creates = 0;
        using var ctx = new SyncTestContext(_s3rver, o => o.MaxRetries = 3, inner => new Disturb(inner, async (r, next, ct) =>
        {
            var response = await next(r, ct);
            if (IsCreate(r))
            {
                Interlocked.Increment(ref creates);
                response.Dispose();
                throw new HttpRequestException("The response ended prematurely.", new IOException("connection reset"));
            }

            return response;
        }));
        var content = SyncTestContext.RandomBytes(2 * 1024 * 1024 + 1, 24);
        var path = ctx.Write("c.bin", content);

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(path, ctx.Prefix + "c.bin",
            SyncTestContext.Sha256(content), Md5Hex(content), DateTimeOffset.UtcNow, null, null, CancellationToken.None));

        Assert.Equal("AnswerLost", ex.Code);
        Assert.Equal(2, creates);
        Assert.Equal(0, ctx.Wire.Count("PART"));
        Assert.Equal(2, ctx.Wire.Count("ABORT"));
        Assert.False(HasOpenUpload(ctx.Prefix + "c.bin"));
    }

    [Fact]
    public async Task A_completion_whose_answer_is_lost_is_recognised_by_the_object_in_place_when_sent_again()
    {
        var completions = 0;
        using var ctx = new SyncTestContext(_s3rver, o => o.MaxRetries = 3, inner => new Disturb(inner, async (r, next, ct) =>
        {
            var response = await next(r, ct);
            if (IsCompletion(r) && Interlocked.Increment(ref completions) == 1)
            {
                // The store completed the upload; the answer never arrived, and the upload is gone for the retry.
                response.Dispose();
                throw new HttpRequestException("The response ended prematurely.", new IOException("connection reset"));
            }

            return response;
        }));
        var content = SyncTestContext.RandomBytes(2 * 1024 * 1024 + 5, 25);
        var path = ctx.Write("k.bin", content);

        var result = await ctx.Store.UploadFileAsync(path, ctx.Prefix + "k.bin", SyncTestContext.Sha256(content), Md5Hex(content),
            DateTimeOffset.UtcNow, null, null, CancellationToken.None);

        Assert.Equal(2, completions);
        Assert.Equal(content, (await ctx.RemoteContentAsync())["k.bin"]);
        Assert.Equal(result.ETag, (await ctx.Store.HeadAsync(ctx.Prefix + "k.bin", CancellationToken.None))!.ETag);
    }

    [Fact]
    public async Task A_completion_refused_NoSuchUpload_without_the_object_in_place_fails_the_file()
    {
        using var ctx = new SyncTestContext(_s3rver, o => o.MaxRetries = 3, inner => new Disturb(inner, async (r, next, ct) =>
            IsCompletion(r) ? S3Error(HttpStatusCode.NotFound, "NoSuchUpload", "The specified upload does not exist.") : await next(r, ct)));
        var content = SyncTestContext.RandomBytes(2 * 1024 * 1024 + 7, 26);
        var path = ctx.Write("n.bin", content);

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(path, ctx.Prefix + "n.bin",
            SyncTestContext.Sha256(content), Md5Hex(content), DateTimeOffset.UtcNow, null, null, CancellationToken.None));

        Assert.Equal("NoSuchUpload", ex.Code);
        Assert.False((await ctx.RemoteContentAsync()).ContainsKey("n.bin"));
    }

    [Fact]
    public async Task A_create_whose_connection_was_refused_is_sent_again_and_the_upload_completes()
    {
        var creates = 0;
        using var ctx = new SyncTestContext(_s3rver, o =>
        {
            o.MaxRetries = 0;
            o.RetryTimeout = TimeSpan.FromSeconds(30);
        }, inner => new Disturb(inner, (r, next, ct) =>
        {
            // The store is down: nothing reached it, so nothing was created.
            return IsCreate(r) && Interlocked.Increment(ref creates) <= 2
                ? throw new HttpRequestException("Connection refused (127.0.0.1)", new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused))
                : next(r, ct);
        }));
        var content = SyncTestContext.RandomBytes(2 * 1024 * 1024 + 1, 29);
        var path = ctx.Write("refused.bin", content);

        var result = await ctx.Store.UploadFileAsync(path, ctx.Prefix + "refused.bin", SyncTestContext.Sha256(content), Md5Hex(content),
            DateTimeOffset.UtcNow, null, null, CancellationToken.None);

        Assert.Equal(3, creates);
        Assert.Equal(3, result.Parts);
        Assert.Equal(0, ctx.Wire.Count("ABORT"));
        Assert.Equal(content, (await ctx.RemoteContentAsync())["refused.bin"]);
    }

    [Theory]
    [InlineData("BadDigest")]
    [InlineData("XAmzContentSHA256Mismatch")]
    public async Task A_body_the_store_refuses_as_not_matching_its_digest_is_a_clear_integrity_error(string code)
    {
        using var ctx = new SyncTestContext(_s3rver, o => o.MaxRetries = 3, inner => new Disturb(inner, (r, next, ct) =>
            r.Method == HttpMethod.Put ? Task.FromResult(S3Error(HttpStatusCode.BadRequest, code, "The Content-MD5 you specified did not match what we received.")) : next(r, ct)));
        var path = ctx.Write("d.txt", "digest");

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(path, ctx.Prefix + "d.txt",
            SyncTestContext.Sha256(Encoding.UTF8.GetBytes("digest")), null, DateTimeOffset.UtcNow, null, null, CancellationToken.None));

        Assert.Equal("IntegrityError", ex.Code);
        Assert.Contains("not the bytes that were hashed", ex.Message);
        Assert.Contains(code, ex.Message);
        Assert.Equal(1, ctx.Wire.Count("PUT"));
    }

    [Fact]
    public async Task A_transfer_slower_than_the_idle_timeout_but_always_moving_completes_both_ways()
    {
        // 400 KiB at 64 KiB/s takes about six seconds, twice the idle timeout in force (2 s, plus the 1 s one
        // transfer can wait for the limiter): only a stall may end it.
        using var ctx = new SyncTestContext(_s3rver, o =>
        {
            o.IdleTimeout = TimeSpan.FromSeconds(2);
            o.BandwidthLimit = 64 * 1024;
            o.MaxConcurrentRequests = 1;
            o.MaxRetries = 0;
        });
        var content = SyncTestContext.RandomBytes(400 * 1024, 24);
        var path = ctx.Write("slow.bin", content);

        await ctx.Store.UploadFileAsync(path, ctx.Prefix + "slow.bin", SyncTestContext.Sha256(content), Md5Hex(content), DateTimeOffset.UtcNow, null, null, CancellationToken.None);
        using var copy = new MemoryStream();
        var download = await ctx.Store.DownloadAsync(ctx.Prefix + "slow.bin", copy, null, CancellationToken.None);

        Assert.Equal(content, copy.ToArray());
        Assert.Equal(SyncTestContext.Sha256(content), download.Sha256);
        Assert.Equal(1, ctx.Wire.Count("PUT"));
        Assert.Equal(1, ctx.Wire.Count("GET"));
    }

    [Fact]
    public async Task A_connection_on_which_nothing_moves_for_the_idle_timeout_fails_as_a_timeout()
    {
        using var ctx = new SyncTestContext(_s3rver, o =>
        {
            o.IdleTimeout = TimeSpan.FromSeconds(1);
            o.MaxRetries = 1;
            o.RetryTimeout = TimeSpan.Zero;
        }, inner => new Disturb(inner, async (r, next, ct) =>
        {
            await Task.Delay(TimeSpan.FromSeconds(30), ct);
            return await next(r, ct);
        }));

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.ListAsync(ctx.Prefix, CancellationToken.None));

        Assert.Equal("Timeout", ex.Code);
        Assert.Contains("idle", ex.Message);
        Assert.Equal(2, ctx.Wire.Count("LIST"));
    }

    [Fact]
    public async Task A_stop_under_a_low_bandwidth_limit_ends_the_upload_at_once()
    {
        // At 4 KiB/s one 64 KiB read is booked 16 s ahead: the stop must not wait for it.
        using var ctx = new SyncTestContext(_s3rver, o => o.BandwidthLimit = 4096);
        var content = SyncTestContext.RandomBytes(1024 * 1024, 25);
        var path = ctx.Write("limited.bin", content);
        using var stop = new CancellationTokenSource();
        long sent = 0;

        var upload = ctx.Store.UploadFileAsync(path, ctx.Prefix + "limited.bin", SyncTestContext.Sha256(content), Md5Hex(content), DateTimeOffset.UtcNow,
            n => Interlocked.Add(ref sent, n), null, stop.Token);
        await Task.Delay(500);
        stop.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => upload.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.True(Interlocked.Read(ref sent) < content.Length);
    }

    [Fact]
    public async Task A_clock_twenty_minutes_off_is_corrected_from_the_store_answer_and_the_request_goes_through()
    {
        var storeClock = DateTimeOffset.UtcNow.AddMinutes(20);
        var answered = 0;
        await using var stub = new LoopbackHttpStub(r =>
        {
            if (Interlocked.Increment(ref answered) == 1)
            {
                return new StubResponse(403,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message></Error>",
                    "application/xml", new Dictionary<string, string> { ["Date"] = storeClock.ToString("r", CultureInfo.InvariantCulture) });
            }

            return new StubResponse(200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>b</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>", "application/xml");
        });
        var settings = _s3rver.Settings();
        settings.R2Endpoint = stub.BaseUri;
        using var store = new R2ObjectStore(settings, new R2StoreOptions { MaxRetries = 2 });

        await store.ProbeAsync(CancellationToken.None);

        var requests = stub.Requests.ToList();
        Assert.Equal(2, requests.Count);
        var signedAt = DateTime.ParseExact(requests[1].Header("x-amz-date")!, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        Assert.InRange(signedAt, storeClock.UtcDateTime.AddMinutes(-2), storeClock.UtcDateTime.AddMinutes(2));
    }

    [Fact]
    public async Task A_head_that_fails_fails_that_file_and_the_rest_of_the_sync_goes_on()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.bin", SyncTestContext.RandomBytes(1000, 26));
        ctx.Write("b.bin", SyncTestContext.RandomBytes(1000, 27));
        var (first, _) = await ctx.SyncAsync();
        Assert.Equal(2, first.FilesUploaded);

        // A second device (no state of its own): R2 lists multipart ETags, so each file needs a HEAD, and b.bin's fails.
        using var again = new SyncTestContext(_s3rver, o => o.MaxRetries = 0, inner => new Disturb(inner, async (r, next, ct) =>
        {
            if (r.Method == HttpMethod.Head && r.RequestUri!.AbsolutePath.EndsWith("/b.bin", StringComparison.Ordinal))
            {
                return new HttpResponseMessage(HttpStatusCode.Forbidden);
            }

            var response = await next(r, ct);
            if (r.Method == HttpMethod.Get && r.RequestUri!.Query.Contains("list-type=2", StringComparison.Ordinal))
            {
                var xml = await response.Content.ReadAsStringAsync(ct);
                xml = System.Text.RegularExpressions.Regex.Replace(xml, "<ETag>&quot;([0-9a-f]+)&quot;</ETag>|<ETag>\"([0-9a-f]+)\"</ETag>", "<ETag>\"$1$2-2\"</ETag>");
                response.Content = new StringContent(xml, Encoding.UTF8, "application/xml");
            }

            return response;
        }));
        var results = new List<ChittyConnect.Sync.ChittySyncResult>();
        var summary = await again.Engine.RunAsync(again.Options(o =>
        {
            o.LocalPath = ctx.Local;
            o.Prefix = ctx.Prefix;
        }), results.Add, null, CancellationToken.None);

        Assert.Equal(1, summary.Errors);
        Assert.Equal(1, summary.FilesSkipped);
        var failed = Assert.Single(results, r => r.Action == ChittyConnect.Sync.SyncAction.Failed);
        Assert.Equal("b.bin", failed.RelativePath);
        Assert.Equal(2, again.Wire.Count("HEAD"));
    }

    [Theory]
    [InlineData(null, 2)]
    [InlineData(8, 8)]
    public async Task A_slow_down_answer_halves_the_requests_in_flight_unless_their_number_is_fixed_and_the_file_still_arrives(int? transfers, int limitAfter)
    {
        var slowDowns = 0;
        using var ctx = new SyncTestContext(_s3rver, o =>
        {
            o.MaxConcurrentRequests = transfers;
            o.MaxRetries = 3;
        }, inner => new Disturb(inner, async (r, next, ct) =>
            r.Method == HttpMethod.Put && Interlocked.Increment(ref slowDowns) == 1
                ? S3Error(HttpStatusCode.ServiceUnavailable, "SlowDown", "Please reduce your request rate.")
                : await next(r, ct)));
        var content = SyncTestContext.RandomBytes(4096, 31);
        var path = ctx.Write("s.bin", content);
        Assert.Equal(transfers ?? RequestWindow.Initial, ctx.Store.RequestLimit);

        await ctx.Store.UploadFileAsync(path, ctx.Prefix + "s.bin", SyncTestContext.Sha256(content), Md5Hex(content), DateTimeOffset.UtcNow, null, null, CancellationToken.None);

        Assert.Equal(limitAfter, ctx.Store.RequestLimit);
        Assert.Equal(2, ctx.Wire.Count("PUT"));
        Assert.Equal(Md5Hex(content), (await ctx.Raw.GetObjectMetadataAsync(ctx.Store.Bucket, ctx.Prefix + "s.bin")).ETag.Trim('"'));
    }

    /// <summary>Lets a test answer, delay or break any request before or after s3rver sees it.</summary>
    [Fact]
    public async Task A_listing_answered_with_url_encoded_keys_as_R2_and_S3_answer_encoding_type_url_gives_the_keys_themselves()
    {
        // s3rver ignores encoding-type=url; R2 and S3 honour it and say so in the answer.
        using var ctx = new SyncTestContext(_s3rver, wrapHandler: inner => new Disturb(inner, (r, next, ct) =>
        {
            if (r.Method != HttpMethod.Get || !r.RequestUri!.Query.Contains("list-type=2", StringComparison.Ordinal))
            {
                return next(r, ct);
            }

            var prefix = Uri.EscapeDataString(System.Web.HttpUtility.ParseQueryString(r.RequestUri.Query)["prefix"]!);
            var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + $"<Name>bucket</Name><Prefix>{prefix}</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
                + $"<Contents><Key>{prefix}notes%2Fcaf%C3%A9%20menu%2Bplus.txt</Key><LastModified>2026-12-07T10:00:00.000Z</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>"
                + $"<Contents><Key>{prefix}bell%07.txt</Key><LastModified>2026-12-07T10:00:00.000Z</LastModified><ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>"
                + "</ListBucketResult>";
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(xml, Encoding.UTF8, "application/xml") });
        }));

        var listed = await ctx.Store.ListAsync(ctx.Prefix, CancellationToken.None);

        Assert.Equal(new[] { ctx.Prefix + "notes/café menu+plus.txt", ctx.Prefix + "bell\a.txt" }, listed.Select(o => o.Key));
    }

    private sealed class Disturb : DelegatingHandler
    {
        private readonly Func<HttpRequestMessage, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>, CancellationToken, Task<HttpResponseMessage>> _handle;

        public Disturb(HttpMessageHandler inner, Func<HttpRequestMessage, Func<HttpRequestMessage, CancellationToken, Task<HttpResponseMessage>>, CancellationToken, Task<HttpResponseMessage>> handle)
            : base(inner) => _handle = handle;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            _handle(request, (r, ct) => base.SendAsync(r, ct), cancellationToken);
    }
}
