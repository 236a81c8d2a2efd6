using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using ChittyConnect.Storage;
using ChittyConnect.Tests.Infrastructure;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>Multipart uploads: signed parts the store can verify, S3's quirks, exact content.</summary>
[Collection(S3rverCollection.Name)]
public sealed class MultipartUploadTests
{
    private readonly S3rverProcess _s3rver;

    public MultipartUploadTests(S3rverProcess s3rver) => _s3rver = s3rver;

    [Fact]
    public async Task Every_part_carries_its_md5_and_is_signed_with_its_sha256_so_the_store_can_check_it()
    {
        var seen = new Recorder();
        using var ctx = new SyncTestContext(_s3rver, null, h => new RecordingHandler(seen, h));
        var content = SyncTestContext.RandomBytes(3 * 1024 * 1024 + 123, 11);
        var path = ctx.Write("big.bin", content);

        var result = await ctx.Store.UploadFileAsync(path, ctx.Prefix + "naïve big+file.bin", SyncTestContext.Sha256(content),
            Convert.ToHexStringLower(MD5.HashData(content)), DateTimeOffset.UtcNow, null, null, CancellationToken.None);

        Assert.Equal(4, result.Parts);
        var parts = seen.Requests.Where(r => r.Query.Contains("partNumber=")).OrderBy(r => r.Query, StringComparer.Ordinal).ToList();
        Assert.Equal(4, parts.Count);
        for (var i = 0; i < parts.Count; i++)
        {
            var slice = content.AsSpan(i * 1024 * 1024, Math.Min(1024 * 1024, content.Length - i * 1024 * 1024)).ToArray();
            var part = parts.Single(p => p.Query.StartsWith($"?partNumber={i + 1}&", StringComparison.Ordinal));
            Assert.Equal(Convert.ToBase64String(MD5.HashData(slice)), part.ContentMd5);
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(slice)), part.PayloadSha256);
            Assert.Contains("content-md5;", part.Authorization);
            Assert.Contains("x-amz-content-sha256", part.Authorization);
        }

        Assert.Equal(content, (await ctx.RemoteContentAsync())["naïve big+file.bin"]);
        var head = await ctx.Raw.GetObjectMetadataAsync(_s3rver.Bucket, ctx.Prefix + "naïve big+file.bin");
        Assert.Equal(SyncTestContext.Sha256(content), head.Metadata["sha256"]);
    }

    [Fact]
    public async Task A_completion_answered_200_with_an_error_body_is_retried_as_s3_requires()
    {
        var seen = new Recorder { FailCompletions = 1 };
        using var ctx = new SyncTestContext(_s3rver, null, h => new RecordingHandler(seen, h));
        var content = SyncTestContext.RandomBytes(2 * 1024 * 1024 + 5, 12);
        var path = ctx.Write("c.bin", content);

        var result = await ctx.Store.UploadFileAsync(path, ctx.Prefix + "c.bin", SyncTestContext.Sha256(content),
            Convert.ToHexStringLower(MD5.HashData(content)), DateTimeOffset.UtcNow, null, null, CancellationToken.None);

        Assert.Equal(3, result.Parts);
        Assert.Equal(2, seen.Requests.Count(r => r.Method == "POST" && r.Query.StartsWith("?uploadId=", StringComparison.Ordinal)));
        Assert.Equal(content, (await ctx.RemoteContentAsync())["c.bin"]);
    }

    [Fact]
    public async Task A_file_that_changes_between_hashing_and_sending_never_completes()
    {
        var seen = new Recorder();
        using var ctx = new SyncTestContext(_s3rver, null, h => new RecordingHandler(seen, h));
        var content = SyncTestContext.RandomBytes(2 * 1024 * 1024 + 5, 13);
        var path = ctx.Write("m.bin", content);
        // What the caller hashed is not what is on disk now (same size and time, as after a rewrite in place):
        // every part goes with the MD5 of the bytes sent, and the SHA-256 of all the bytes sent is checked
        // against the caller's before the upload completes, so it never completes and nothing is left behind.
        var stale = (byte[])content.Clone();
        stale[10] ^= 0xFF;

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(path, ctx.Prefix + "m.bin", SyncTestContext.Sha256(stale),
            Convert.ToHexStringLower(MD5.HashData(stale)), DateTimeOffset.UtcNow, null, null, CancellationToken.None));

        Assert.Equal("ContentChanged", ex.Code);
        Assert.Null(await ctx.Store.HeadAsync(ctx.Prefix + "m.bin", CancellationToken.None));
        var left = await ctx.Raw.ListMultipartUploadsAsync(new Amazon.S3.Model.ListMultipartUploadsRequest { BucketName = _s3rver.Bucket, Prefix = ctx.Prefix });
        Assert.Empty(left.MultipartUploads ?? []);
    }

    private sealed record Seen(string Method, string Query, string? ContentMd5, string? PayloadSha256, string Authorization);

    private sealed class Recorder
    {
        public ConcurrentQueue<Seen> Requests { get; } = new();

        public int FailCompletions;
    }

    private sealed class RecordingHandler : DelegatingHandler
    {
        private readonly Recorder _recorder;

        public RecordingHandler(Recorder recorder, HttpMessageHandler inner) : base(inner) => _recorder = recorder;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var md5 = request.Content?.Headers.ContentMD5 is { } m ? Convert.ToBase64String(m) : null;
            var sha = request.Headers.TryGetValues("x-amz-content-sha256", out var v) ? v.Single() : null;
            var query = request.RequestUri!.Query;
            _recorder.Requests.Enqueue(new Seen(request.Method.Method, query, md5, sha, (request.Headers.TryGetValues("Authorization", out var auth) ? auth.Single() : string.Empty)));
            if (request.Method == HttpMethod.Post && query.StartsWith("?uploadId=", StringComparison.Ordinal)
                && Interlocked.Decrement(ref _recorder.FailCompletions) >= 0)
            {
                // What S3 documents: the completion can fail after its 200 status line went out.
                var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message></Error>";
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(xml, Encoding.UTF8, "application/xml") };
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
