using System.Net;
using System.Text;
using Amazon.S3.Model;
using ChittyConnect.Storage;
using ChittyConnect.Tests.Infrastructure;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>The single PUT against s3rver: content, metadata, retries, errors, verification.</summary>
[Collection(S3rverCollection.Name)]
public sealed class ObjectPutTests
{
    private readonly S3rverProcess _s3rver;

    public ObjectPutTests(S3rverProcess s3rver) => _s3rver = s3rver;

    [Theory]
    [InlineData("dir one/naïve café €.txt", 4096)]
    [InlineData("a+b=c&d;e,f@g:h$i~*(x)!'[y].bin", 1000)]
    [InlineData("日本語/ファイル #1 100%.bin", 70_000)]
    [InlineData("empty.bin", 0)]
    public async Task Small_files_arrive_whole_under_their_exact_key_with_the_module_metadata(string name, int size)
    {
        using var ctx = new SyncTestContext(_s3rver);
        var content = SyncTestContext.RandomBytes(size, size + 1);
        var path = ctx.Write("f.bin", content);
        var modified = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123);
        long progress = 0;

        var result = await ctx.Store.UploadFileAsync(path, ctx.Prefix + name, SyncTestContext.Sha256(content), null, modified,
            n => Interlocked.Add(ref progress, n), null, CancellationToken.None);

        Assert.Equal(1, ctx.Store.Requests.Put);
        Assert.Equal(1, ctx.Wire.Count("PUT"));
        Assert.Equal(size, progress);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(content)), result.ETag);
        using var get = await ctx.Raw.GetObjectAsync(_s3rver.Bucket, ctx.Prefix + name);
        using var copy = new MemoryStream();
        await get.ResponseStream.CopyToAsync(copy);
        Assert.Equal(content, copy.ToArray());
        Assert.Equal(SyncTestContext.Sha256(content), get.Metadata["sha256"]);
        // rclone's form: seconds, a dot and nanoseconds.
        Assert.Equal("1700000000.123000000", get.Metadata["mtime"]);
        Assert.Equal("application/octet-stream", get.Headers.ContentType);
        var info = await ctx.Store.HeadAsync(ctx.Prefix + name, CancellationToken.None);
        Assert.Equal(modified, info!.FileModified);
    }

    [Fact]
    public async Task A_throttled_put_is_retried_and_succeeds()
    {
        var faults = new PutFaults { Status = HttpStatusCode.ServiceUnavailable, Code = "SlowDown", Times = 2 };
        using var ctx = new SyncTestContext(_s3rver, o => o.MaxRetries = 3, h => new FaultHandler(faults, h));
        var content = Encoding.UTF8.GetBytes("retry me");
        var path = ctx.Write("r.txt", content);

        await ctx.Store.UploadFileAsync(path, ctx.Prefix + "r.txt", SyncTestContext.Sha256(content), null, DateTimeOffset.UtcNow, null, null, CancellationToken.None);

        Assert.Equal(3, faults.Puts);
        Assert.Equal(1, ctx.Store.Requests.Put);
        Assert.Equal(content, (await ctx.RemoteContentAsync())["r.txt"]);
    }

    [Fact]
    public async Task A_refused_put_is_not_retried_and_carries_the_s3_error_code()
    {
        var faults = new PutFaults { Status = HttpStatusCode.Forbidden, Code = "AccessDenied", Times = int.MaxValue };
        using var ctx = new SyncTestContext(_s3rver, o => o.MaxRetries = 3, h => new FaultHandler(faults, h));
        var path = ctx.Write("d.txt", "denied");

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(path, ctx.Prefix + "d.txt",
            SyncTestContext.Sha256(Encoding.UTF8.GetBytes("denied")), null, DateTimeOffset.UtcNow, null, null, CancellationToken.None));

        Assert.Equal("AccessDenied", ex.Code);
        Assert.Equal(403, ex.StatusCode);
        Assert.Contains("Access Denied & more", ex.Message);
        Assert.Equal(1, faults.Puts);
    }

    [Fact]
    public async Task Server_errors_past_the_retry_budget_fail_with_the_last_code()
    {
        var faults = new PutFaults { Status = HttpStatusCode.InternalServerError, Code = "InternalError", Times = int.MaxValue };
        using var ctx = new SyncTestContext(_s3rver, o =>
        {
            o.MaxRetries = 2;
            o.RetryTimeout = TimeSpan.Zero;
        }, h => new FaultHandler(faults, h));
        var path = ctx.Write("e.txt", "error");

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(path, ctx.Prefix + "e.txt",
            SyncTestContext.Sha256(Encoding.UTF8.GetBytes("error")), null, DateTimeOffset.UtcNow, null, null, CancellationToken.None));

        Assert.Equal("InternalError", ex.Code);
        Assert.Equal(500, ex.StatusCode);
        Assert.Equal(3, faults.Puts);
    }

    [Fact]
    public async Task Server_errors_are_retried_with_backoff_until_the_outage_lasted_the_retry_timeout()
    {
        var faults = new PutFaults { Status = HttpStatusCode.ServiceUnavailable, Code = "ServiceUnavailable", Times = int.MaxValue };
        using var ctx = new SyncTestContext(_s3rver, o =>
        {
            o.MaxRetries = 0;
            o.RetryTimeout = TimeSpan.FromSeconds(2);
        }, h => new FaultHandler(faults, h));
        var path = ctx.Write("u.txt", "unavailable");
        var watch = System.Diagnostics.Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(path, ctx.Prefix + "u.txt",
            SyncTestContext.Sha256(Encoding.UTF8.GetBytes("unavailable")), null, DateTimeOffset.UtcNow, null, null, CancellationToken.None));

        // Tried again for the 2 s, then given up, with the store's last word. The exact schedule is StoreOutageScheduleTests';
        // here a busy machine may fit fewer tries in the 2 s, never more than the shortest waits allow (5), and never give up sooner.
        Assert.Equal("ServiceUnavailable", ex.Code);
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(2), $"gave up after {watch.Elapsed}");
        Assert.InRange(faults.Puts, 2, 5);

        // The outage is the store's: once it lasted the timeout, the next request fails at its first failure.
        faults.Restart(int.MaxValue);
        await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(path, ctx.Prefix + "u.txt",
            SyncTestContext.Sha256(Encoding.UTF8.GetBytes("unavailable")), null, DateTimeOffset.UtcNow, null, null, CancellationToken.None));
        Assert.Equal(1, faults.Puts);

        // And an answer ends it: the store answers again, the same request goes through.
        faults.Restart(0);
        var result = await ctx.Store.UploadFileAsync(path, ctx.Prefix + "u.txt",
            SyncTestContext.Sha256(Encoding.UTF8.GetBytes("unavailable")), null, DateTimeOffset.UtcNow, null, null, CancellationToken.None);
        Assert.Equal("unavailable".Length, result.Size);
    }

    [Fact]
    public async Task An_etag_that_is_not_the_md5_sent_fails_and_the_object_is_removed()
    {
        var faults = new PutFaults { RewriteETag = true };
        using var ctx = new SyncTestContext(_s3rver, null, h => new FaultHandler(faults, h));
        var path = ctx.Write("m.txt", "mismatch");

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(path, ctx.Prefix + "m.txt",
            SyncTestContext.Sha256(Encoding.UTF8.GetBytes("mismatch")), null, DateTimeOffset.UtcNow, null, null, CancellationToken.None));

        Assert.Equal("ETagMismatch", ex.Code);
        Assert.Null(await ctx.Store.HeadAsync(ctx.Prefix + "m.txt", CancellationToken.None));
    }

    [Fact]
    public async Task Files_below_the_multipart_threshold_are_streamed_signed_and_verified()
    {
        using var ctx = new SyncTestContext(_s3rver, o => { o.MultipartThreshold = 64L * 1024 * 1024; o.PartSize = 16L * 1024 * 1024; });
        var content = SyncTestContext.RandomBytes(4 * 1024 * 1024 + 17, 7);
        var path = ctx.Write("big.bin", content);
        long progress = 0;

        var result = await ctx.Store.UploadFileAsync(path, ctx.Prefix + "big.bin", SyncTestContext.Sha256(content),
            Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(content)), DateTimeOffset.UtcNow, n => Interlocked.Add(ref progress, n), null, CancellationToken.None);

        Assert.Equal(1, ctx.Wire.Count("PUT"));
        Assert.Equal(content.Length, progress);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(content)), result.ETag);
        Assert.Equal(content, (await ctx.RemoteContentAsync())["big.bin"]);
        var head = await ctx.Raw.GetObjectMetadataAsync(_s3rver.Bucket, ctx.Prefix + "big.bin");
        Assert.Equal(SyncTestContext.Sha256(content), head.Metadata["sha256"]);
    }

    [Fact]
    public async Task A_streamed_file_that_is_not_what_was_hashed_fails_and_leaves_no_object()
    {
        using var ctx = new SyncTestContext(_s3rver, o => { o.MultipartThreshold = 64L * 1024 * 1024; o.PartSize = 16L * 1024 * 1024; });
        var content = SyncTestContext.RandomBytes(4 * 1024 * 1024 + 1, 8);
        var path = ctx.Write("changed.bin", content);
        var hashed = (byte[])content.Clone();
        hashed[^1] ^= 0x01;

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(path, ctx.Prefix + "changed.bin", SyncTestContext.Sha256(hashed),
            Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(hashed)), DateTimeOffset.UtcNow, null, null, CancellationToken.None));

        Assert.Equal("ETagMismatch", ex.Code);
        Assert.Null(await ctx.Store.HeadAsync(ctx.Prefix + "changed.bin", CancellationToken.None));
    }

    [Fact]
    public async Task The_put_is_signed_with_the_sha256_the_caller_hashed_and_the_body_is_not_hashed_again()
    {
        string? signed = null;
        string? contentMd5 = null;
        using var ctx = new SyncTestContext(_s3rver, null, h => new PeekHandler(h, r =>
        {
            if (r.Method == HttpMethod.Put)
            {
                signed = r.Headers.TryGetValues("x-amz-content-sha256", out var v) ? v.Single() : null;
                contentMd5 = r.Content?.Headers.ContentMD5 is { } m ? Convert.ToBase64String(m) : null;
            }
        }));
        var content = SyncTestContext.RandomBytes(200_000, 9);
        var path = ctx.Write("s.bin", content);
        // A hash the body does not have: only a signer that reads the body itself would sign anything else.
        var claimed = SyncTestContext.Sha256(SyncTestContext.RandomBytes(200_000, 10));

        await ctx.Store.UploadFileAsync(path, ctx.Prefix + "s.bin", claimed, Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(content)),
            DateTimeOffset.UtcNow, null, null, CancellationToken.None);

        Assert.Equal(claimed, signed);
        Assert.Equal(Convert.ToBase64String(System.Security.Cryptography.MD5.HashData(content)), contentMd5);
    }

    [Fact]
    public async Task Uploads_send_their_body_without_waiting_for_a_100_continue()
    {
        // Waiting for "100 Continue" costs every PUT and every part one more round trip to the store.
        var puts = new System.Collections.Concurrent.ConcurrentQueue<(string Query, bool? ExpectContinue)>();
        using var ctx = new SyncTestContext(_s3rver, o => { o.MultipartThreshold = 8L * 1024 * 1024; o.PartSize = 5L * 1024 * 1024; }, h => new PeekHandler(h, r =>
        {
            if (r.Method == HttpMethod.Put)
            {
                puts.Enqueue((r.RequestUri!.Query, r.Headers.ExpectContinue));
            }
        }));
        foreach (var (name, size) in new[] { ("small.bin", 200_000), ("large.bin", 11 * 1024 * 1024) })
        {
            var content = SyncTestContext.RandomBytes(size, 11);
            var path = ctx.Write(name, content);
            await ctx.Store.UploadFileAsync(path, ctx.Prefix + name, SyncTestContext.Sha256(content),
                Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(content)), DateTimeOffset.UtcNow, null, null, CancellationToken.None);
        }

        Assert.Contains(puts, p => !p.Query.Contains("partNumber", StringComparison.Ordinal));
        Assert.Equal(3, puts.Count(p => p.Query.Contains("partNumber", StringComparison.Ordinal)));
        Assert.All(puts, p => Assert.NotEqual(true, p.ExpectContinue));
    }

    [Theory]
    [InlineData("a/./b.txt")]
    [InlineData("a/../b.txt")]
    [InlineData("./b.txt")]
    public async Task A_key_with_a_dot_segment_is_refused_before_anything_is_sent(string name)
    {
        using var ctx = new SyncTestContext(_s3rver);
        var path = ctx.Write("d.txt", "dots");

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(path, ctx.Prefix + name,
            SyncTestContext.Sha256(Encoding.UTF8.GetBytes("dots")), null, DateTimeOffset.UtcNow, null, null, CancellationToken.None));

        Assert.Equal("UnsafeKey", ex.Code);
        Assert.Equal(0, ctx.Wire.Total);
    }

    /// <summary>What to do to object PUTs: answer with an S3 XML error a number of times, or rewrite their ETag.</summary>
    private sealed class PutFaults
    {
        private int _puts;

        public HttpStatusCode Status { get; init; }
        public string Code { get; init; } = string.Empty;
        public int Times { get; set; }
        public bool RewriteETag { get; init; }
        public int Puts => _puts;

        // Counts afresh, and answers the next `times` PUTs with the fault.
        public void Restart(int times)
        {
            Times = times;
            _puts = 0;
        }

        public int Next() => Interlocked.Increment(ref _puts);
    }

    private sealed class FaultHandler : DelegatingHandler
    {
        private readonly PutFaults _faults;

        public FaultHandler(PutFaults faults, HttpMessageHandler inner) : base(inner) => _faults = faults;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method != HttpMethod.Put || request.RequestUri!.Query.Length > 0)
            {
                return await base.SendAsync(request, cancellationToken);
            }

            if (_faults.Next() <= _faults.Times)
            {
                var xml = $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{_faults.Code}</Code><Message>Access Denied &amp; more</Message></Error>";
                return new HttpResponseMessage(_faults.Status) { Content = new StringContent(xml, Encoding.UTF8, "application/xml") };
            }

            var response = await base.SendAsync(request, cancellationToken);
            if (_faults.RewriteETag)
            {
                response.Headers.Remove("ETag");
                response.Headers.TryAddWithoutValidation("ETag", "\"00000000000000000000000000000000\"");
            }

            return response;
        }
    }

    private sealed class PeekHandler(HttpMessageHandler inner, Action<HttpRequestMessage> peek) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            peek(request);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
