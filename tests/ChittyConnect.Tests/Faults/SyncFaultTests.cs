using ChittyConnect.Api;
using ChittyConnect.Configuration;
using ChittyConnect.Retry;
using ChittyConnect.Storage;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ChittyConnect.Tests.Faults;

/// <summary>
/// Sync through proxies that fault one request in ten, on both the S3 and the API side. Each test reruns the sync
/// only as often as a working retry needs and counts the errors of every run: a broken retry path fails
/// dozens of requests per run at these rates, so it cannot pass by rerunning until clean.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class SyncFaultTests : IAsyncLifetime
{
    private readonly S3rverProcess _s3rver;
    private readonly ITestOutputHelper _output;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "chitty-faults-" + Guid.NewGuid().ToString("N")[..8]);
    private FaultStack _stack = null!;

    public SyncFaultTests(S3rverProcess s3rver, ITestOutputHelper output)
    {
        _s3rver = s3rver;
        _output = output;
    }

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _stack = await FaultStack.StartAsync(_s3rver, seed: 6);
    }

    public async Task DisposeAsync()
    {
        await _stack.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    private void LogError(ChittySyncResult result)
    {
        if (result.Error is not null)
        {
            _output.WriteLine($"  {result.RelativePath}: {result.Error}");
        }
    }

    // The store and the API client of one faulted run, the API's retries without their usual back-off.
    private sealed class ProxiedClients(ChittyConnectionSettings settings, R2StoreOptions storeOptions) : IDisposable
    {
        private readonly R2ObjectStore _store = S3rverStores.Create(settings, storeOptions);
        private readonly ChittyApiClient _api = new(settings, retry: RetryPolicy.ForApi(settings.MaxRetries, TimeSpan.FromMilliseconds(20)));

        public SyncEngine Engine => new(_store, _api);

        public void Dispose()
        {
            _api.Dispose();
            _store.Dispose();
        }
    }

    internal static R2StoreOptions SmallParts(TimeSpan timeout) => new()
    {
        PartSize = 256 * 1024,
        MultipartThreshold = 512 * 1024,
        MaxRetries = 4,
        IdleTimeout = timeout,
    };

    internal static void WriteTree(string folder, int smallFiles, int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < smallFiles; i++)
        {
            var path = Path.Combine(folder, $"d{i % 7}", $"file-{i:D3}.bin");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var bytes = new byte[random.Next(0, 4096)];
            random.NextBytes(bytes);
            File.WriteAllBytes(path, bytes);
        }

        foreach (var (name, size) in new[] { ("big/one.bin", 1_300_000), ("big/two.bin", 900_001) })
        {
            var path = Path.Combine(folder, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var bytes = new byte[size];
            random.NextBytes(bytes);
            File.WriteAllBytes(path, bytes);
        }
    }

    [Fact]
    public async Task A_sync_through_ten_percent_faults_converges_to_an_exact_mirror_with_a_complete_report()
    {
        var local = Path.Combine(_root, "folder");
        WriteTree(local, smallFiles: 300, seed: 11);
        var prefix = "files/faults-" + Guid.NewGuid().ToString("N")[..8] + "/";
        _stack.S3Proxy.Rate = 0.10;
        _stack.ApiProxy.Rate = 0.10;
        _stack.S3Proxy.SlowDelay = _stack.ApiProxy.SlowDelay = TimeSpan.FromSeconds(3);
        var settings = _stack.Settings(TimeSpan.FromSeconds(1.5));
        using var clients = new ProxiedClients(settings, SmallParts(TimeSpan.FromSeconds(1.5)));
        var engine = clients.Engine;
        var options = new SyncOptions { LocalPath = local, Prefix = prefix, StateDirectory = Path.Combine(_root, "state"), Transfers = 6, ReportBatchSize = 50 };
        var uploadedSomewhere = new HashSet<string>(StringComparer.Ordinal);
        var failedFirst = new HashSet<string>(StringComparer.Ordinal);
        async Task<ChittySyncSummary> RunAsync(int run)
        {
            var summary = await engine.RunAsync(options, r =>
            {
                lock (uploadedSomewhere)
                {
                    if (r.Action == SyncAction.Uploaded)
                    {
                        uploadedSomewhere.Add(r.RelativePath);
                    }
                    else if (r.Action == SyncAction.Failed && run == 1)
                    {
                        failedFirst.Add(r.RelativePath);
                    }

                    LogError(r);
                }
            }, null, CancellationToken.None);
            _output.WriteLine($"run {run}: {summary.FilesUploaded} uploaded, {summary.FilesSkipped} skipped, {summary.Errors} errors, report {summary.ReportedItems} ({summary.ReportError})");
            return summary;
        }

        var first = await RunAsync(1);
        var faults = _stack.S3Proxy.FaultCounts().Concat(_stack.ApiProxy.FaultCounts()).GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Sum(p => p.Value));
        _output.WriteLine(string.Join(", ", faults.Select(p => $"{p.Key}={p.Value}")));
        // The service answers again: a report batch whose answer was lost is not sent again within a run (the
        // service may have taken it), so the second run reports what the first could not confirm. The store
        // stays faulty: its requests are retried.
        _stack.ApiProxy.Rate = 0;
        var second = await RunAsync(2);

        // Retried requests survive one fault in ten: the first run fails at most the two multipart files (a complete
        // retried after the store did it), and the second run is clean.
        Assert.True(first.Errors <= 2, $"run 1 had {first.Errors} errors; a working retry leaves at most 2");
        Assert.Equal(0, second.Errors);
        Assert.Null(second.ReportError);
        // The faults really happened, of most kinds, and yet every file went up.
        Assert.True(faults.Values.Sum() >= 20, "too few faults were injected to prove anything");
        Assert.True(faults.Count >= 8, "too few kinds of fault were injected: " + string.Join(",", faults.Keys));
        // Every file went up, or failed visibly in run 1 after the store had completed it, and run 2 found it
        // already identical (its bytes are checked below).
        Assert.Equal(302, uploadedSomewhere.Union(failedFirst).Count());
        Assert.True(uploadedSomewhere.Count >= 300, $"only {uploadedSomewhere.Count} files were seen going up");

        // Checked without the proxies: bytes in the bucket, rows in the service, no unfinished upload.
        _stack.S3Proxy.Rate = 0;
        _stack.ApiProxy.Rate = 0;
        await _stack.AssertMirroredAndReportedAsync(local, prefix);

        // And the state agrees: a clean re-run has nothing to do.
        var again = await engine.RunAsync(options, null, null, CancellationToken.None);
        Assert.Equal(0, again.FilesUploaded + again.Errors + again.ReportedItems);
        Assert.Equal(302, again.FilesSkipped);
    }

    [Fact]
    public async Task Multipart_uploads_through_heavy_faults_complete_or_are_aborted_and_leave_no_open_upload()
    {
        var local = Path.Combine(_root, "multi");
        var random = new Random(5);
        for (var i = 0; i < 5; i++)
        {
            var bytes = new byte[700_000 + random.Next(600_000)];
            random.NextBytes(bytes);
            Directory.CreateDirectory(local);
            File.WriteAllBytes(Path.Combine(local, $"m{i}.bin"), bytes);
        }

        var prefix = "files/multi-" + Guid.NewGuid().ToString("N")[..8] + "/";
        // Only the multipart requests (create, parts, complete, abort) are faulted, and often.
        _stack.S3Proxy.Faultable = r => r.PathAndQuery.Contains("uploads", StringComparison.Ordinal) || r.PathAndQuery.Contains("uploadId=", StringComparison.Ordinal);
        _stack.S3Proxy.Rate = 0.25;
        _stack.S3Proxy.SlowDelay = TimeSpan.FromSeconds(3);
        var settings = _stack.Settings(TimeSpan.FromSeconds(1.5));
        var storeOptions = SmallParts(TimeSpan.FromSeconds(1.5));
        storeOptions.MaxRetries = 2;
        using var clients = new ProxiedClients(settings, storeOptions);
        var engine = clients.Engine;
        var options = new SyncOptions { LocalPath = local, Prefix = prefix, StateDirectory = Path.Combine(_root, "state"), Transfers = 3 };
        var errorsPerRun = new List<int>();
        ChittySyncSummary summary;
        do
        {
            summary = await engine.RunAsync(options, LogError, null, CancellationToken.None);
            errorsPerRun.Add(summary.Errors);
            _output.WriteLine($"run {errorsPerRun.Count}: {summary.FilesUploaded} uploaded, {summary.FilesSkipped} skipped, {summary.Errors} errors");
        }
        while (summary.Errors > 0 && errorsPerRun.Count < 4);

        _output.WriteLine(string.Join(", ", _stack.S3Proxy.FaultCounts().Select(p => $"{p.Key}={p.Value}")));
        // With three tries per request a file of about six multipart requests fails a run about one time in ten at
        // one fault in four; without working retries most of the five files would fail every run.
        Assert.Equal(0, summary.Errors);
        Assert.True(errorsPerRun.Sum() <= 4, $"errors per run: {string.Join(", ", errorsPerRun)}; a working retry leaves at most 4 in all");
        Assert.True(_stack.S3Proxy.FaultCounts().Values.Sum() >= 5, "too few faults were injected to prove anything");
        _stack.S3Proxy.Rate = 0;
        await _stack.AssertMirroredAndReportedAsync(local, prefix);
    }

    [Fact]
    public async Task Answers_held_past_the_client_timeout_are_retried_and_the_sync_converges()
    {
        var local = Path.Combine(_root, "slow");
        WriteTree(local, smallFiles: 30, seed: 12);
        var prefix = "files/slow-" + Guid.NewGuid().ToString("N")[..8] + "/";
        // Only slow answers: the server did the work, the client gave up waiting and must try again.
        _stack.S3Proxy.Kinds = _stack.ApiProxy.Kinds = new[] { FaultKind.Slow };
        _stack.S3Proxy.Rate = _stack.ApiProxy.Rate = 0.15;
        _stack.S3Proxy.SlowDelay = _stack.ApiProxy.SlowDelay = TimeSpan.FromSeconds(2.5);
        var settings = _stack.Settings(TimeSpan.FromSeconds(1));
        using var clients = new ProxiedClients(settings, SmallParts(TimeSpan.FromSeconds(1)));
        var engine = clients.Engine;
        var options = new SyncOptions { LocalPath = local, Prefix = prefix, StateDirectory = Path.Combine(_root, "state"), Transfers = 8, ReportBatchSize = 8 };
        var fileErrors = new List<string>();
        async Task<ChittySyncSummary> RunAsync(int run)
        {
            var summary = await engine.RunAsync(options, r => { LogError(r); if (r.Error is not null) { fileErrors.Add($"run {run} {r.RelativePath}: {r.Error}"); } }, null, CancellationToken.None);
            _output.WriteLine($"run {run}: {summary.FilesUploaded} uploaded, {summary.Errors} errors, report {summary.ReportedItems} ({summary.ReportError})");
            return summary;
        }

        var first = await RunAsync(1);
        var slow = _stack.S3Proxy.FaultCounts().GetValueOrDefault(FaultKind.Slow) + _stack.ApiProxy.FaultCounts().GetValueOrDefault(FaultKind.Slow);
        _output.WriteLine($"{slow} slow answers");
        // The service answers in time again: the next run reports what the first could not confirm.
        _stack.ApiProxy.Rate = 0;
        var second = await RunAsync(2);

        Assert.True(slow >= 3, "too few slow answers to prove anything");
        // Every file gets through the first run: a timed-out S3 request is tried again, a lost completion is
        // recognised by the object in place and a lost CreateMultipartUpload is sent again once its orphans are
        // aborted. Only the sync report may fail the first run: a batch whose body was sent is not sent again
        // (the service may have taken it), and the second run reports what the first could not confirm.
        Assert.Empty(fileErrors);
        Assert.Equal(32, first.FilesUploaded);
        Assert.Equal(first.ReportError is null ? 0 : 1, first.Errors);
        Assert.Equal((0, 0, (string?)null), (second.FilesUploaded, second.Errors, second.ReportError));
        Assert.Equal(32, first.ReportedItems + second.ReportedItems);
        _stack.S3Proxy.Rate = _stack.ApiProxy.Rate = 0;
        await _stack.AssertMirroredAndReportedAsync(local, prefix);
    }
}
