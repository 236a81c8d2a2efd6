using System.Net;
using System.Security.Cryptography;
using System.Text;
using Amazon.S3;
using Amazon.S3.Model;
using ChittyConnect.Storage;
using ChittyConnect.Tests.Infrastructure;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>
/// R2's conditional writes (If-Match, If-None-Match on PutObject, CreateMultipartUpload and
/// CompleteMultipartUpload) as the stack's s3rver answers them to the AWS SDK directly, and as the store sends them.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class ConditionalWriteTests
{
    private readonly S3rverProcess _s3rver;

    public ConditionalWriteTests(S3rverProcess s3rver) => _s3rver = s3rver;

    [Fact]
    public async Task PutObject_with_If_None_Match_star_creates_a_new_key_and_is_refused_over_an_existing_one()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var key = ctx.Prefix + "new.txt";

        await ctx.Raw.PutObjectAsync(Put(ctx, key, "first", r => r.IfNoneMatch = "*"));
        var refused = await Assert.ThrowsAsync<AmazonS3Exception>(() => ctx.Raw.PutObjectAsync(Put(ctx, key, "second", r => r.IfNoneMatch = "*")));

        Assert.Equal(HttpStatusCode.PreconditionFailed, refused.StatusCode);
        Assert.Equal("PreconditionFailed", refused.ErrorCode);
        Assert.Equal("first", await ReadAsync(ctx, key));
    }

    [Fact]
    public async Task PutObject_with_If_Match_replaces_only_the_version_it_names()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var key = ctx.Prefix + "doc.txt";
        var v1 = (await ctx.Raw.PutObjectAsync(Put(ctx, key, "v1"))).ETag;

        var stale = await Assert.ThrowsAsync<AmazonS3Exception>(() => ctx.Raw.PutObjectAsync(Put(ctx, key, "not v1", r => r.IfMatch = "\"" + Md5Hex("other") + "\"")));
        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Equal("v1", await ReadAsync(ctx, key));

        // Quoted as the listing gives it, or bare: the same ETag.
        var v2 = (await ctx.Raw.PutObjectAsync(Put(ctx, key, "v2", r => r.IfMatch = v1))).ETag;
        await ctx.Raw.PutObjectAsync(Put(ctx, key, "v3", r => r.IfMatch = v2.Trim('"')));
        await ctx.Raw.PutObjectAsync(Put(ctx, key, "v4", r => r.IfMatch = "*"));
        Assert.Equal("v4", await ReadAsync(ctx, key));

        var missing = await Assert.ThrowsAsync<AmazonS3Exception>(() => ctx.Raw.PutObjectAsync(Put(ctx, ctx.Prefix + "none.txt", "x", r => r.IfMatch = "*")));
        Assert.Equal(HttpStatusCode.PreconditionFailed, missing.StatusCode);
        Assert.DoesNotContain("none.txt", (await ctx.RemoteContentAsync()).Keys);
    }

    [Fact]
    public async Task PutObject_with_If_Unmodified_Since_before_the_last_write_is_refused()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var key = ctx.Prefix + "dated.txt";
        await ctx.Raw.PutObjectAsync(Put(ctx, key, "v1"));

        var refused = await Assert.ThrowsAsync<AmazonS3Exception>(() => ctx.Raw.PutObjectAsync(Put(ctx, key, "v2", r => r.Headers["If-Unmodified-Since"] = DateTime.UtcNow.AddHours(-1).ToString("R"))));
        await ctx.Raw.PutObjectAsync(Put(ctx, key, "v3", r => r.Headers["If-Unmodified-Since"] = DateTime.UtcNow.AddHours(1).ToString("R")));

        Assert.Equal(HttpStatusCode.PreconditionFailed, refused.StatusCode);
        Assert.Equal("v3", await ReadAsync(ctx, key));
    }

    [Fact]
    public async Task CompleteMultipartUpload_checks_its_condition_against_the_object_there_when_it_completes()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var key = ctx.Prefix + "big.bin";
        var before = (await ctx.Raw.PutObjectAsync(Put(ctx, key, "listed"))).ETag;
        var upload = await StartWithOnePartAsync(ctx, key, "multipart content");
        // Another writer comes between the listing and the completion.
        await ctx.Raw.PutObjectAsync(Put(ctx, key, "the other writer's"));

        var stale = await Assert.ThrowsAsync<AmazonS3Exception>(() => ctx.Raw.CompleteMultipartUploadAsync(Complete(upload, r => r.IfMatch = before)));
        var existing = await Assert.ThrowsAsync<AmazonS3Exception>(() => ctx.Raw.CompleteMultipartUploadAsync(Complete(upload, r => r.IfNoneMatch = "*")));

        Assert.Equal(HttpStatusCode.PreconditionFailed, stale.StatusCode);
        Assert.Equal(HttpStatusCode.PreconditionFailed, existing.StatusCode);
        Assert.Equal("the other writer's", await ReadAsync(ctx, key));

        var now = (await ctx.Raw.GetObjectMetadataAsync(ctx.Store.Bucket, key)).ETag;
        var completed = await ctx.Raw.CompleteMultipartUploadAsync(Complete(upload, r => r.IfMatch = now));
        Assert.Equal("multipart content", await ReadAsync(ctx, key));

        // The multipart ETag (md5-of-md5s-N) is the one a later condition names.
        Assert.EndsWith("-1\"", completed.ETag);
        var refused = await Assert.ThrowsAsync<AmazonS3Exception>(() => ctx.Raw.PutObjectAsync(Put(ctx, key, "x", r => r.IfMatch = now)));
        Assert.Equal(HttpStatusCode.PreconditionFailed, refused.StatusCode);
        await ctx.Raw.PutObjectAsync(Put(ctx, key, "after the multipart", r => r.IfMatch = completed.ETag));
        Assert.Equal("after the multipart", await ReadAsync(ctx, key));
    }

    [Fact]
    public async Task CreateMultipartUpload_with_If_None_Match_star_is_refused_over_an_existing_key()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var key = ctx.Prefix + "taken.bin";
        await ctx.Raw.PutObjectAsync(Put(ctx, key, "there"));

        var initiate = new InitiateMultipartUploadRequest { BucketName = ctx.Store.Bucket, Key = key };
        initiate.Headers["If-None-Match"] = "*";
        var refused = await Assert.ThrowsAsync<AmazonS3Exception>(() => ctx.Raw.InitiateMultipartUploadAsync(initiate));

        Assert.Equal(HttpStatusCode.PreconditionFailed, refused.StatusCode);
        var uploads = await ctx.Raw.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = ctx.Store.Bucket, Prefix = key });
        Assert.Empty(uploads.MultipartUploads ?? new List<MultipartUpload>());
    }

    [Fact]
    public async Task The_store_refuses_to_replace_a_version_other_than_the_one_named_and_sends_no_part_for_it()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var small = Encoding.UTF8.GetBytes("mine");
        var big = SyncTestContext.RandomBytes(3 * 1024 * 1024, 31);
        var smallPath = ctx.Write("small.txt", small);
        var bigPath = ctx.Write("big.bin", big);
        foreach (var name in new[] { "small.txt", "big.bin" })
        {
            await ctx.PutRawAsync(ctx.Prefix + name, "someone else's " + name);
        }

        ctx.Wire.Clear();
        var put = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(smallPath, ctx.Prefix + "small.txt", SyncTestContext.Sha256(small),
            null, DateTimeOffset.UtcNow, null, null, CancellationToken.None, condition: WriteCondition.Matches(Md5Hex("what was listed"))));
        var multipart = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(bigPath, ctx.Prefix + "big.bin", SyncTestContext.Sha256(big),
            null, DateTimeOffset.UtcNow, null, null, CancellationToken.None, condition: WriteCondition.Absent));

        Assert.Equal(ObjectStoreException.RemoteChanged, put.Code);
        Assert.Equal(412, put.StatusCode);
        Assert.Equal(ObjectStoreException.RemoteChanged, multipart.Code);
        Assert.Equal(0, ctx.Wire.Count("PART"));
        var remote = await ctx.RemoteContentAsync();
        Assert.Equal("someone else's small.txt", Encoding.UTF8.GetString(remote["small.txt"]));
        Assert.Equal("someone else's big.bin", Encoding.UTF8.GetString(remote["big.bin"]));
    }

    private static PutObjectRequest Put(SyncTestContext ctx, string key, string content, Action<PutObjectRequest>? condition = null)
    {
        var request = new PutObjectRequest { BucketName = ctx.Store.Bucket, Key = key, ContentBody = content, UseChunkEncoding = false };
        condition?.Invoke(request);
        return request;
    }

    private static CompleteMultipartUploadRequest Complete((string Bucket, string Key, string UploadId, string PartETag) upload, Action<CompleteMultipartUploadRequest> condition)
    {
        var request = new CompleteMultipartUploadRequest
        {
            BucketName = upload.Bucket,
            Key = upload.Key,
            UploadId = upload.UploadId,
            PartETags = new List<PartETag> { new(1, upload.PartETag) },
        };
        condition(request);
        return request;
    }

    private static async Task<(string Bucket, string Key, string UploadId, string PartETag)> StartWithOnePartAsync(SyncTestContext ctx, string key, string content)
    {
        var created = await ctx.Raw.InitiateMultipartUploadAsync(ctx.Store.Bucket, key);
        using var body = new MemoryStream(Encoding.UTF8.GetBytes(content));
        var part = await ctx.Raw.UploadPartAsync(new UploadPartRequest
        {
            BucketName = ctx.Store.Bucket,
            Key = key,
            UploadId = created.UploadId,
            PartNumber = 1,
            InputStream = body,
            UseChunkEncoding = false,
        });
        return (ctx.Store.Bucket, key, created.UploadId, part.ETag);
    }

    private static async Task<string> ReadAsync(SyncTestContext ctx, string key)
    {
        using var get = await ctx.Raw.GetObjectAsync(ctx.Store.Bucket, key);
        using var reader = new StreamReader(get.ResponseStream);
        return await reader.ReadToEndAsync();
    }

    private static string Md5Hex(string content) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(content)));
}
