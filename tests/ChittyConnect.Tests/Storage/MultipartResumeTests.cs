using System.Security.Cryptography;
using System.Text.Json;
using ChittyConnect.Storage;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>
/// A multipart upload interrupted by a lost network or a stop is resumed from its upload id: the parts the store
/// holds whose ETag is the MD5 of the file's bytes at their place are kept, only the others are sent.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class MultipartResumeTests
{
    private const int MiB = 1024 * 1024;
    private readonly S3rverProcess _s3rver;

    public MultipartResumeTests(S3rverProcess s3rver) => _s3rver = s3rver;

    private string UploadFolder(string uploadId) => Path.Combine(_s3rver.DataDirectory, _s3rver.Bucket, "._S3rver_uploads", uploadId);

    private static string Md5Hex(byte[] bytes) => Convert.ToHexStringLower(MD5.HashData(bytes));

    // Parts go one at a time, and part 3 cannot get through while the network is "down".
    private SyncTestContext PartThreeBreaks(Func<bool> down) => new(_s3rver, o =>
    {
        o.MaxConcurrentRequests = 1;
        o.MaxRetries = 0;
        o.RetryTimeout = TimeSpan.Zero;
    }, inner => new BreakPart(inner, 3, down));

    [Fact]
    public async Task An_upload_cut_off_by_the_network_is_kept_and_resumed_sending_only_the_missing_parts()
    {
        var down = true;
        using var ctx = PartThreeBreaks(() => down);
        var content = SyncTestContext.RandomBytes(5 * MiB + 100, 31);
        var path = ctx.Write("r.bin", content);
        string? uploadId = null;

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(path, ctx.Prefix + "r.bin", SyncTestContext.Sha256(content),
            Md5Hex(content), DateTimeOffset.UtcNow, null, id => uploadId = id, CancellationToken.None));
        Assert.Equal("NetworkError", ex.Code);
        Assert.NotNull(uploadId);
        Assert.True(Directory.Exists(UploadFolder(uploadId!)), "the interrupted upload was aborted instead of kept");

        down = false;
        ctx.Wire.Clear();
        long progress = 0;
        var result = await ctx.Store.UploadFileAsync(path, ctx.Prefix + "r.bin", SyncTestContext.Sha256(content), Md5Hex(content), DateTimeOffset.UtcNow,
            n => Interlocked.Add(ref progress, n), _ => Assert.Fail("a new upload was created"), CancellationToken.None, uploadId);

        Assert.Equal(6, result.Parts);
        Assert.Equal(4, ctx.Wire.Count("PART"));
        Assert.Equal(1, ctx.Wire.Count("MULTIPART"));
        Assert.Equal(content.Length, progress);
        Assert.Equal(content, (await ctx.RemoteContentAsync())["r.bin"]);
    }

    [Fact]
    public async Task A_stored_part_that_is_not_the_files_bytes_at_its_place_is_sent_again()
    {
        var down = true;
        using var ctx = PartThreeBreaks(() => down);
        var content = SyncTestContext.RandomBytes(4 * MiB, 32);
        var path = ctx.Write("m.bin", content);
        string? uploadId = null;
        await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.UploadFileAsync(path, ctx.Prefix + "m.bin", SyncTestContext.Sha256(content),
            Md5Hex(content), DateTimeOffset.UtcNow, null, id => uploadId = id, CancellationToken.None));
        // Part 1 as the store holds it no longer matches the file.
        File.WriteAllText(Path.Combine(UploadFolder(uploadId!), "1.md5"), "00000000000000000000000000000000");

        down = false;
        ctx.Wire.Clear();
        await ctx.Store.UploadFileAsync(path, ctx.Prefix + "m.bin", SyncTestContext.Sha256(content), Md5Hex(content), DateTimeOffset.UtcNow,
            null, null, CancellationToken.None, uploadId);

        Assert.Equal(3, ctx.Wire.Count("PART"));
        Assert.Equal(content, (await ctx.RemoteContentAsync())["m.bin"]);
    }

    [Fact]
    public async Task An_upload_that_no_longer_exists_starts_afresh()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var content = SyncTestContext.RandomBytes(3 * MiB, 33);
        var path = ctx.Write("g.bin", content);
        string? created = null;

        await ctx.Store.UploadFileAsync(path, ctx.Prefix + "g.bin", SyncTestContext.Sha256(content), Md5Hex(content), DateTimeOffset.UtcNow,
            null, id => created = id, CancellationToken.None, "no-such-upload");

        Assert.NotNull(created);
        Assert.Equal(3, ctx.Wire.Count("PART"));
        Assert.Equal(content, (await ctx.RemoteContentAsync())["g.bin"]);
    }

    [Fact]
    public async Task A_sync_stopped_mid_upload_keeps_the_upload_and_the_next_run_resumes_it()
    {
        using var stop = new CancellationTokenSource();
        using var ctx = new SyncTestContext(_s3rver, o => o.MaxConcurrentRequests = 1, inner => new StopAtPart(inner, 3, stop));
        var content = SyncTestContext.RandomBytes(6 * MiB, 34);
        ctx.Write("big.bin", content);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ctx.SyncAsync(o => o.Transfers = 1, stop.Token));
        var statePath = SyncStateLocation.PathFor(ctx.StateDirectory, ctx.Local, ctx.Store.Endpoint, _s3rver.Bucket, ctx.Prefix, out _);
        var pending = StateFileLines.Records(statePath, "P").Single();
        Assert.True(Directory.Exists(UploadFolder(pending[2])), "the stop aborted the upload");

        var (summary, _) = await ctx.SyncAsync(o => o.Transfers = 1);

        Assert.Equal(0, summary.Errors);
        Assert.Equal(1, summary.FilesUploaded);
        Assert.Equal(0, summary.StaleUploadsAborted);
        Assert.Equal(4, ctx.Wire.Count("PART"));
        Assert.Equal(1, ctx.Wire.Count("MULTIPART"));
        Assert.Equal(content, (await ctx.RemoteContentAsync())["big.bin"]);
        Assert.Empty(StateFileLines.Records(statePath, "P"));
    }

    [Fact]
    public async Task An_interrupted_upload_of_a_file_that_changed_since_is_aborted_and_the_new_content_sent_whole()
    {
        using var stop = new CancellationTokenSource();
        using var ctx = new SyncTestContext(_s3rver, o => o.MaxConcurrentRequests = 1, inner => new StopAtPart(inner, 3, stop));
        ctx.Write("big.bin", SyncTestContext.RandomBytes(5 * MiB, 35));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ctx.SyncAsync(o => o.Transfers = 1, stop.Token));
        var changed = SyncTestContext.RandomBytes(5 * MiB, 36);
        var path = ctx.Write("big.bin", changed);
        File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddMinutes(1));

        var (summary, _) = await ctx.SyncAsync(o => o.Transfers = 1);

        Assert.Equal(0, summary.Errors);
        Assert.Equal(1, summary.StaleUploadsAborted);
        Assert.Equal(5, ctx.Wire.Count("PART"));
        Assert.Equal(changed, (await ctx.RemoteContentAsync())["big.bin"]);
        Assert.DoesNotContain(Directory.GetDirectories(Path.Combine(_s3rver.DataDirectory, _s3rver.Bucket, "._S3rver_uploads")),
            d => File.ReadAllText(Path.Combine(d, "key")).StartsWith(ctx.Prefix, StringComparison.Ordinal));
    }

    private static bool IsPart(HttpRequestMessage request, int number) =>
        request.Method == HttpMethod.Put && request.RequestUri!.Query.Contains($"partNumber={number}&", StringComparison.Ordinal);

    // Part N fails like a lost connection while down() says so.
    private sealed class BreakPart(HttpMessageHandler inner, int number, Func<bool> down) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            IsPart(request, number) && down()
                ? throw new HttpRequestException("The response ended prematurely.", new IOException("connection reset"))
                : base.SendAsync(request, cancellationToken);
    }

    // Ctrl+C as part N starts: the stop arrives with the part on its way.
    private sealed class StopAtPart(HttpMessageHandler inner, int number, CancellationTokenSource stop) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (IsPart(request, number) && !stop.IsCancellationRequested)
            {
                stop.Cancel();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
