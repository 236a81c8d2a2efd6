using ChittyConnect.Storage;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

public sealed class PartSizeTests
{
    [Theory]
    [InlineData(100L * 1024 * 1024, 16L * 1024 * 1024)]
    [InlineData(1024L * 1024 * 1024 * 1024, 105L * 1024 * 1024)]
    public void Parts_are_equal_at_least_5_MiB_and_at_most_10000(long length, long expected)
    {
        var options = new R2StoreOptions();
        var size = options.PartSizeFor(length);
        Assert.Equal(expected, size);
        Assert.True(size >= R2StoreOptions.MinimumPartSize);
        Assert.True((length + size - 1) / size <= R2StoreOptions.MaximumParts);
    }

    [Fact]
    public void The_part_size_cannot_go_below_5_MiB_without_the_test_override()
    {
        Assert.Throws<ArgumentException>(() => new R2StoreOptions { PartSize = 1024 * 1024 }.Validate());
    }

    [Fact]
    public void The_multipart_etag_is_the_md5_of_the_part_md5s()
    {
        // md5(bytes of md5("a") + md5("b")) computed independently.
        var a = Convert.ToHexString(System.Security.Cryptography.MD5.HashData("a"u8.ToArray())).ToLowerInvariant();
        var b = Convert.ToHexString(System.Security.Cryptography.MD5.HashData("b"u8.ToArray())).ToLowerInvariant();
        var expected = Convert.ToHexString(System.Security.Cryptography.MD5.HashData(Convert.FromHexString(a + b))).ToLowerInvariant() + "-2";
        Assert.Equal(expected, R2ObjectStore.MultipartETag(new[] { a, b }));
    }
}

[Collection(S3rverCollection.Name)]
public sealed class R2ObjectStoreTests
{
    private readonly S3rverProcess _s3rver;

    public R2ObjectStoreTests(S3rverProcess s3rver) => _s3rver = s3rver;

    [Fact]
    public async Task Listing_follows_every_page_and_delete_removes_in_batch()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var keys = Enumerable.Range(0, 1005).Select(i => $"{ctx.Prefix}k{i:0000}").ToList();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (k, _) => await ctx.PutRawAsync(k, "x"));

        var listed = await ctx.Store.ListAsync(ctx.Prefix, CancellationToken.None);
        Assert.Equal(keys, listed.Select(o => o.Key).OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(2, ctx.Store.Requests.List);

        var failures = await ctx.Store.DeleteAsync(keys, CancellationToken.None);
        Assert.Empty(failures);
        Assert.Empty(await ctx.Store.ListAsync(ctx.Prefix, CancellationToken.None));
    }

    [Fact]
    public async Task A_download_that_does_not_match_its_sha256_metadata_fails()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var request = new Amazon.S3.Model.PutObjectRequest { BucketName = ctx.Store.Bucket, Key = ctx.Prefix + "x.txt", ContentBody = "content", UseChunkEncoding = false };
        request.Metadata.Add("sha256", new string('0', 64));
        await ctx.Raw.PutObjectAsync(request);

        using var sink = new MemoryStream();
        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.DownloadAsync(ctx.Prefix + "x.txt", sink, null, CancellationToken.None));
        Assert.Equal("Sha256Mismatch", ex.Code);
    }

    [Fact]
    public async Task Head_returns_null_for_a_missing_object_and_the_metadata_otherwise()
    {
        using var ctx = new SyncTestContext(_s3rver);
        Assert.Null(await ctx.Store.HeadAsync(ctx.Prefix + "missing", CancellationToken.None));
        var path = ctx.Write("f.txt", "abc");
        var sha = SyncTestContext.Sha256("abc"u8.ToArray());
        var modified = DateTimeOffset.FromUnixTimeMilliseconds(1_600_000_000_123);
        await ctx.Store.UploadFileAsync(path, ctx.Prefix + "f.txt", sha, null, modified, null, null, CancellationToken.None);

        var info = await ctx.Store.HeadAsync(ctx.Prefix + "f.txt", CancellationToken.None);
        Assert.NotNull(info);
        Assert.Equal(sha, info!.Sha256);
        Assert.Equal(modified, info.FileModified);
        Assert.Equal(3, info.Size);
    }

    [Fact]
    public async Task Sending_content_that_is_not_the_hashed_content_fails_and_leaves_no_object()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var path = ctx.Write("f.txt", "abc");
        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() =>
            ctx.Store.UploadFileAsync(path, ctx.Prefix + "f.txt", new string('1', 64), null, DateTimeOffset.UtcNow, null, null, CancellationToken.None));
        Assert.Equal("ContentChanged", ex.Code);
        Assert.Null(await ctx.Store.HeadAsync(ctx.Prefix + "f.txt", CancellationToken.None));
    }
}
