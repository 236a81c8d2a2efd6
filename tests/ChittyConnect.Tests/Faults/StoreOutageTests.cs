using System.Security.Cryptography;
using Amazon.S3.Model;
using ChittyConnect.Api;
using ChittyConnect.Storage;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ChittyConnect.Tests.Faults;

/// <summary>
/// The store goes away in the middle of a run and comes back: s3rver is killed (connections refused and reset) and
/// started again five seconds later on the same port over the same data directory, as a restarted R2 front end or
/// a network blip would look. One run, no rerun: it must end complete, every object as the files are.
/// </summary>
public sealed class StoreOutageTests : IAsyncLifetime
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(5);

    // Its own server: the test kills it, which a shared fixture's other tests must not see.
    private readonly S3rverProcess _s3rver = new();
    private readonly ITestOutputHelper _output;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "chitty-outage-" + Guid.NewGuid().ToString("N")[..8]);
    private EmulatorHost _emulator = null!;

    public StoreOutageTests(ITestOutputHelper output) => _output = output;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        await _s3rver.InitializeAsync();
        _emulator = await EmulatorHost.StartAsync(o => o.RateLimitPerMinute = 100_000);
    }

    public async Task DisposeAsync()
    {
        await _emulator.DisposeAsync();
        await _s3rver.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public async Task A_2000_file_sync_rides_out_a_five_second_store_outage_in_one_run()
    {
        var local = Path.Combine(_root, "many");
        var random = new Random(20);
        for (var i = 0; i < 2000; i++)
        {
            var path = Path.Combine(local, $"d{i % 20}", $"f{i:D4}.txt");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var bytes = new byte[random.Next(1, 512)];
            random.NextBytes(bytes);
            File.WriteAllBytes(path, bytes);
        }

        var uploaded = 0;
        var midway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (summary, uploadedAtStop) = await SyncThroughOutageAsync(local, "files/outage-many/", 8,
            r =>
            {
                if (r.Action == SyncAction.Failed)
                {
                    _output.WriteLine($"failed: {r.RelativePath}: {r.Error}");
                }

                if (r.Action == SyncAction.Uploaded && Interlocked.Increment(ref uploaded) == 400)
                {
                    midway.TrySetResult();
                }
            },
            null, midway.Task, () => Volatile.Read(ref uploaded));

        Assert.True(uploadedAtStop < 2000, $"the outage began after the sync had uploaded everything ({uploadedAtStop})");
        Assert.Equal(0, summary.Errors);
        Assert.Equal(2000, summary.FilesUploaded);
        Assert.Null(summary.ReportError);

        // What landed, listed straight from s3rver: every file once, with its MD5 as the ETag of a single PUT.
        using var raw = _s3rver.CreateRawClient();
        var remote = new Dictionary<string, string>(StringComparer.Ordinal);
        var request = new ListObjectsV2Request { BucketName = _s3rver.Bucket, Prefix = "files/outage-many/" };
        ListObjectsV2Response listing;
        do
        {
            listing = await raw.ListObjectsV2Async(request);
            foreach (var o in listing.S3Objects ?? new List<S3Object>())
            {
                remote[o.Key["files/outage-many/".Length..]] = o.ETag.Trim('"');
            }

            request.ContinuationToken = listing.NextContinuationToken;
        }
        while (listing.IsTruncated == true);

        Assert.Equal(2000, remote.Count);
        foreach (var file in Directory.EnumerateFiles(local, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(local, file).Replace('\\', '/');
            Assert.Equal(Convert.ToHexStringLower(MD5.HashData(File.ReadAllBytes(file))), remote[relative]);
        }
    }

    [Fact]
    public async Task A_200_MB_upload_rides_out_a_five_second_store_outage_in_one_run()
    {
        var local = Path.Combine(_root, "big");
        Directory.CreateDirectory(local);
        var path = Path.Combine(local, "video.bin");
        var bytes = new byte[200 * 1000 * 1000];
        new Random(21).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(bytes));
        bytes = null;

        long sent = 0;
        var midway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var progress = new InlineProgress(p =>
        {
            Volatile.Write(ref sent, p.BytesDone);
            if (p.BytesDone >= 60_000_000)
            {
                midway.TrySetResult();
            }
        });
        var (summary, sentAtStop) = await SyncThroughOutageAsync(local, "files/outage-big/", 4, null, progress, midway.Task, () => (int)(Volatile.Read(ref sent) / 1_000_000));

        Assert.True(sentAtStop < 200, $"the outage began after the upload had sent everything ({sentAtStop} MB)");
        Assert.Equal(0, summary.Errors);
        Assert.Equal(1, summary.FilesUploaded);

        // Read back straight from s3rver: the whole file, and no multipart upload left open.
        using var raw = _s3rver.CreateRawClient();
        using (var get = await raw.GetObjectAsync(_s3rver.Bucket, "files/outage-big/video.bin"))
        {
            Assert.Equal(sha256, Convert.ToHexStringLower(await SHA256.HashDataAsync(get.ResponseStream)));
        }

        var open = await raw.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = _s3rver.Bucket, Prefix = "files/outage-big/" });
        Assert.Empty(open.MultipartUploads ?? new List<MultipartUpload>());
    }

    // Runs one sync of local to prefix; when midway completes, kills s3rver, checks that it refuses connections,
    // and starts it again after the outage. Returns the summary and what progress() said when the store went away.
    private async Task<(ChittySyncSummary Summary, int ProgressAtStop)> SyncThroughOutageAsync(string local, string prefix, int transfers,
        Action<ChittySyncResult>? onResult, IProgress<SyncProgress>? progress, Task midway, Func<int> progressNow)
    {
        var settings = FaultStack.SettingsFor(_emulator.BaseUri, _s3rver.Endpoint, _s3rver.Bucket);

        // The module's defaults but the part size, so that a 200 MB file has parts in flight when the store goes.
        using var store = S3rverStores.Create(settings, new R2StoreOptions { MaxConcurrentRequests = transfers, PartSize = 8L * 1024 * 1024, MultipartThreshold = 64L * 1024 * 1024 }, minimumPartSize: 5L * 1024 * 1024);
        using var api = new ChittyApiClient(settings);
        var engine = new SyncEngine(store, api);
        var options = new SyncOptions { LocalPath = local, Prefix = prefix, StateDirectory = Path.Combine(_root, "state"), Transfers = transfers };
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var run = Task.Run(() => engine.RunAsync(options, onResult, progress, CancellationToken.None));

        Assert.Same(midway, await Task.WhenAny(midway, run, Task.Delay(TimeSpan.FromSeconds(60))));
        _s3rver.Stop();
        var atStop = progressNow();
        var stoppedAt = watch.Elapsed;
        using (var raw = _s3rver.CreateRawClient())
        {
            var refused = await Assert.ThrowsAnyAsync<Exception>(() => raw.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _s3rver.Bucket, MaxKeys = 1 }));
            _output.WriteLine($"store down at {stoppedAt.TotalSeconds:0.0} s ({atStop} done): {refused.GetType().Name}: {refused.Message}");
        }

        var downFor = watch.Elapsed - stoppedAt;
        await Task.Delay(downFor < Outage ? Outage - downFor : TimeSpan.Zero);
        await _s3rver.StartAgainAsync();
        _output.WriteLine($"store back at {watch.Elapsed.TotalSeconds:0.0} s");
        var summary = await run;
        _output.WriteLine($"done at {watch.Elapsed.TotalSeconds:0.0} s: {summary.FilesUploaded} uploaded, {summary.Errors} errors");
        return (summary, atStop);
    }

    // Progress<T> posts to the thread pool; this reports on the caller's thread, so the outage starts where asked.
    private sealed class InlineProgress(Action<SyncProgress> report) : IProgress<SyncProgress>
    {
        public void Report(SyncProgress value) => report(value);
    }
}
