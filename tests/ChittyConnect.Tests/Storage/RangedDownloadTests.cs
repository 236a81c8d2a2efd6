using System.Net;
using System.Security.Cryptography;
using ChittyConnect.Storage;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>
/// A large object downloaded into a file as ranges side by side (the threshold lowered to 4 MiB, the ranges to
/// 2 MiB and the rate one stream must reach put out of reach, so an object of 20 MiB takes its own answer's
/// first 2 MiB and 10 ranges, 4 at a time): the file holds the object's bytes, its
/// hashes are those of one GET and verified as one GET's are, a range that breaks is fetched again, and an
/// object replaced between ranges is downloaded again from the start or fails leaving no file.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class RangedDownloadTests
{
    private const int Chunk = 2 * 1024 * 1024;
    private const int Size = 10 * Chunk + 123;
    private const int Ranges = 11;

    private readonly S3rverProcess _s3rver;

    public RangedDownloadTests(S3rverProcess s3rver) => _s3rver = s3rver;

    private static void InRanges(R2StoreOptions options)
    {
        options.RangedDownloadThreshold = 4 * 1024 * 1024;
        options.RangedDownloadChunk = Chunk;
        options.RangedDownloadStreams = 4;
        options.RangedDownloadMinimumRate = double.PositiveInfinity;
    }

    [Fact]
    public async Task An_object_rclone_sent_in_parts_lands_whole_with_the_hashes_of_one_get_and_rclone_check_agrees()
    {
        using var ctx = new SyncTestContext(_s3rver, InRanges);
        var content = SyncTestContext.RandomBytes(Size, 41);
        RcloneCopy(ctx, content);
        var file = Path.Combine(ctx.Root, "direct.bin");

        ctx.Wire.Clear();
        DownloadResult result;
        using (var stream = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
        {
            result = await ctx.Store.DownloadAsync(ctx.Prefix + "big.bin", stream, null, CancellationToken.None);
        }

        Assert.Equal(Ranges, ctx.Wire.Count("GET"));
        Assert.Equal("md5chksum", result.VerifiedBy);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(content)), result.Md5);
        Assert.Equal(SyncTestContext.Sha256(content), result.Sha256);
        Assert.Equal(content, File.ReadAllBytes(file));

        var (summary, results) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Download);
        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(Ranges, ctx.Wire.Count("GET"));
        Assert.Equal(content, File.ReadAllBytes(Path.Combine(ctx.Local, "big.bin")));
        using var rclone = RcloneMetadataInteropTests.Rclone(ctx);
        var (exit, _, error) = rclone.TryRun("check", ctx.Local, RcloneMetadataInteropTests.Remote(ctx));
        Assert.True(exit == 0, error);
    }

    [Fact]
    public async Task An_object_whose_own_answer_is_fast_enough_comes_by_that_one_get()
    {
        using var ctx = new SyncTestContext(_s3rver, o =>
        {
            InRanges(o);
            o.RangedDownloadMinimumRate = 0;
        });
        var content = SyncTestContext.RandomBytes(Size, 48);
        RcloneCopy(ctx, content);

        var (summary, results) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Download);

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(1, ctx.Wire.Count("GET"));
        Assert.Equal(content, File.ReadAllBytes(Path.Combine(ctx.Local, "big.bin")));
    }

    [Fact]
    public async Task A_range_whose_connection_breaks_is_fetched_again_and_the_file_is_whole()
    {
        var breaker = new BreakOneRange();
        using var ctx = new SyncTestContext(_s3rver, InRanges, inner => breaker.Wrap(inner));
        var content = SyncTestContext.RandomBytes(Size, 42);
        RcloneCopy(ctx, content);

        var (summary, results) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Download);

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(1, breaker.Broken);
        Assert.Equal(Ranges + 1, ctx.Wire.Count("GET"));
        Assert.Equal(content, File.ReadAllBytes(Path.Combine(ctx.Local, "big.bin")));
        Assert.Equal(SyncTestContext.Sha256(content), results.Single().Sha256);
    }

    [Fact]
    public async Task An_object_replaced_between_its_ranges_is_downloaded_again_from_the_start()
    {
        var replaced = SyncTestContext.RandomBytes(Size - Chunk, 44);
        using var replacer = new ReplaceAtRange(_s3rver, times: 1, _ => replaced);
        using var ctx = new SyncTestContext(_s3rver, InRanges, inner => replacer.Wrap(inner));
        replacer.Key = ctx.Prefix + "big.bin";
        RcloneCopy(ctx, SyncTestContext.RandomBytes(Size, 43));
        var file = Path.Combine(ctx.Root, "direct.bin");

        DownloadResult result;
        using (var stream = new FileStream(file, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
        {
            result = await ctx.Store.DownloadAsync(replacer.Key, stream, null, CancellationToken.None);
        }

        Assert.Equal(1, replacer.Replaced);
        Assert.Equal(replaced, File.ReadAllBytes(file));
        Assert.Equal(SyncTestContext.Sha256(replaced), result.Sha256);
        Assert.Equal(replaced.Length, result.Size);
    }

    [Fact]
    public async Task An_object_replaced_at_every_range_fails_the_download_and_leaves_no_file()
    {
        using var replacer = new ReplaceAtRange(_s3rver, times: int.MaxValue, n => SyncTestContext.RandomBytes(Size, 100 + n));
        using var ctx = new SyncTestContext(_s3rver, InRanges, inner => replacer.Wrap(inner));
        replacer.Key = ctx.Prefix + "big.bin";
        RcloneCopy(ctx, SyncTestContext.RandomBytes(Size, 45));

        var (summary, results) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Download);

        Assert.False(summary.Success);
        var failed = Assert.Single(results);
        Assert.Equal(R2ObjectStore.ObjectChangedCode, Assert.IsType<ObjectStoreException>(failed.Exception).Code);
        Assert.Equal(3, replacer.Replaced);
        Assert.Empty(Directory.EnumerateFileSystemEntries(ctx.Local, "*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task An_object_whose_bytes_are_not_its_sha256_metadata_fails_in_ranges_as_in_one_get_and_leaves_no_file()
    {
        using var ctx = new SyncTestContext(_s3rver, InRanges);
        var content = SyncTestContext.RandomBytes(Size, 46);
        var put = new Amazon.S3.Model.PutObjectRequest { BucketName = _s3rver.Bucket, Key = ctx.Prefix + "big.bin", InputStream = new MemoryStream(content), UseChunkEncoding = false };
        put.Metadata.Add("sha256", SyncTestContext.Sha256(SyncTestContext.RandomBytes(16, 47)));
        await ctx.Raw.PutObjectAsync(put);

        var (summary, results) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Download);

        Assert.False(summary.Success);
        var failed = Assert.Single(results);
        var ex = Assert.IsType<ObjectStoreException>(failed.Exception);
        Assert.Equal("Sha256Mismatch", ex.Code);
        Assert.Contains(SyncTestContext.Sha256(content), ex.Message);
        Assert.Equal(Ranges, ctx.Wire.Count("GET"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(ctx.Local, "*", SearchOption.AllDirectories));
    }

    // The object as rclone writes a large file: in parts of 5 MiB, with md5chksum and mtime metadata.
    private static void RcloneCopy(SyncTestContext ctx, byte[] content)
    {
        var source = Path.Combine(ctx.Root, "rclone");
        Directory.CreateDirectory(source);
        File.WriteAllBytes(Path.Combine(source, "big.bin"), content);
        using var rclone = RcloneMetadataInteropTests.Rclone(ctx);
        rclone.Run("copy", "--s3-upload-cutoff", "100k", "--s3-chunk-size", "5M", source, RcloneMetadataInteropTests.Remote(ctx));
    }

    private static bool IsRangeAfterTheFirst(HttpRequestMessage request) =>
        request.Method == HttpMethod.Get && request.Headers.Range is { } range && range.Ranges.First().From > 0;

    // Cuts the connection of the first range after the object's first chunk, 100 KiB into its body.
    private sealed class BreakOneRange
    {
        private int _broken;

        public int Broken => _broken;

        public HttpMessageHandler Wrap(HttpMessageHandler inner) => new Handler(inner, this);

        private sealed class Handler(HttpMessageHandler inner, BreakOneRange owner) : DelegatingHandler(inner)
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                var response = await base.SendAsync(request, cancellationToken);
                if (IsRangeAfterTheFirst(request) && Interlocked.CompareExchange(ref owner._broken, 1, 0) == 0)
                {
                    var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
                    var cut = new StreamContent(new CutStream(body, 100 * 1024));
                    foreach (var header in response.Content.Headers)
                    {
                        cut.Headers.TryAddWithoutValidation(header.Key, header.Value);
                    }

                    response.Content = cut;
                }

                return response;
            }
        }

        // The first bytes of a body, then the failure of a connection reset.
        private sealed class CutStream(byte[] body, int cutAt) : MemoryStream(body, 0, cutAt)
        {
            public override int Read(byte[] buffer, int offset, int count)
            {
                var read = base.Read(buffer, offset, count);
                return read > 0 ? read : throw new IOException("Connection reset by peer (the test's cut)");
            }

            public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
                Task.FromResult(Read(buffer, offset, count));

            public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
            {
                var read = base.Read(buffer.Span);
                return read > 0 ? new ValueTask<int>(read) : throw new IOException("Connection reset by peer (the test's cut)");
            }
        }
    }

    // Puts a new version of the key (made by next(n) for the n-th time) just before a range after the first
    // goes out, the first <paramref name="times"/> times such a range is asked for.
    private sealed class ReplaceAtRange(S3rverProcess s3rver, int times, Func<int, byte[]> next) : IDisposable
    {
        private readonly Amazon.S3.AmazonS3Client _raw = s3rver.CreateRawClient();
        private readonly SemaphoreSlim _one = new(1, 1);
        private string? _lastETag;
        private int _replaced;

        public string Key { get; set; } = string.Empty;

        public int Replaced => _replaced;

        public HttpMessageHandler Wrap(HttpMessageHandler inner) => new Handler(inner, this);

        public void Dispose()
        {
            _raw.Dispose();
            _one.Dispose();
        }

        private async Task ReplaceOnceAsync(HttpRequestMessage request)
        {
            await _one.WaitAsync();
            try
            {
                // One replacement per attempt: the ranges of one attempt all ask for the same version.
                var asked = request.Headers.IfMatch.FirstOrDefault()?.Tag;
                if (_replaced >= times || asked == _lastETag)
                {
                    return;
                }

                var put = new Amazon.S3.Model.PutObjectRequest { BucketName = s3rver.Bucket, Key = Key, InputStream = new MemoryStream(next(_replaced)), UseChunkEncoding = false };
                await _raw.PutObjectAsync(put);
                _lastETag = asked;
                _replaced++;
            }
            finally
            {
                _one.Release();
            }
        }

        private sealed class Handler(HttpMessageHandler inner, ReplaceAtRange owner) : DelegatingHandler(inner)
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                if (IsRangeAfterTheFirst(request))
                {
                    await owner.ReplaceOnceAsync(request);
                }

                return await base.SendAsync(request, cancellationToken);
            }
        }
    }
}
