using System.Collections.Concurrent;
using System.Text;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ChittyConnect.Tests.Sync;

/// <summary>
/// SyncWatch against s3rver with the real file-system watcher: what a local edit costs once the watch is
/// running, and that its memory stays flat over many change cycles. In a collection of its own that runs alone
/// (with its own s3rver), so that the managed heap it measures is its own.
/// </summary>
[Collection(SyncWatchCollection.Name)]
public sealed class SyncWatchTests
{
    private readonly S3rverProcess _s3rver;
    private readonly ITestOutputHelper _output;

    public SyncWatchTests(S3rverProcess s3rver, ITestOutputHelper output)
    {
        _s3rver = s3rver;
        _output = output;
    }

    // A running watch over ctx, its results and run summaries collected; disposing stops it.
    private sealed class RunningWatch : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _task;
        private readonly SemaphoreSlim _runs = new(0);

        public RunningWatch(SyncTestContext ctx, SyncWatchOptions watchOptions)
        {
            var watch = new SyncWatch(ctx.Engine, watchOptions);
            _task = watch.RunAsync(ctx.Options(o => o.Direction = SyncDirection.Both), Results.Enqueue, s =>
            {
                Summaries.Enqueue(s);
                _runs.Release();
            }, null, _stop.Token);
        }

        public ConcurrentQueue<ChittySyncResult> Results { get; } = new();

        public ConcurrentQueue<ChittySyncSummary> Summaries { get; } = new();

        // The summary of the next run to end; fails after 20 s (or when the watch ended).
        public async Task<ChittySyncSummary> NextRunAsync()
        {
            var waited = await Task.WhenAny(_runs.WaitAsync(TimeSpan.FromSeconds(20)), _task);
            if (waited == _task)
            {
                await _task;
                throw new InvalidOperationException("The watch ended.");
            }

            Assert.True(await (Task<bool>)waited, "no run ended within 20 s");
            return Summaries.Last();
        }

        // Waits for the run that uploads relativePath and returns its summary.
        public async Task<ChittySyncSummary> RunThatUploadsAsync(string relativePath)
        {
            while (true)
            {
                var summary = await NextRunAsync();
                if (Results.Any(r => r.RelativePath == relativePath && r.Action == SyncAction.Uploaded))
                {
                    return summary;
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            await _task;
            _stop.Dispose();
        }
    }

    [Fact]
    public async Task A_local_edit_once_watched_costs_a_HEAD_and_a_PUT_and_no_listing()
    {
        using var ctx = new SyncTestContext(_s3rver);
        for (var i = 0; i < 50; i++)
        {
            ctx.Write($"d{i % 5}/f{i:D2}.txt", "file " + i);
        }

        await using var watch = new RunningWatch(ctx, new SyncWatchOptions { PollInterval = TimeSpan.FromHours(1), Quiet = TimeSpan.FromMilliseconds(100) });
        var first = await watch.NextRunAsync();
        Assert.Equal(50, first.FilesUploaded);
        Assert.False(first.PathsOnly);

        ctx.Write("d2/f07.txt", "edited while watched");
        var edit = await watch.RunThatUploadsAsync("d2/f07.txt");

        Assert.True(edit.PathsOnly);
        Assert.Equal((0, 1, 1), (edit.Requests.List, edit.Requests.Head, edit.Requests.Put));
        Assert.Equal("edited while watched", Encoding.UTF8.GetString((await ctx.RemoteContentAsync())["d2/f07.txt"]));
    }

    [Fact]
    public async Task Memory_stays_flat_over_200_change_cycles()
    {
        using var ctx = new SyncTestContext(_s3rver);
        for (var i = 0; i < 20; i++)
        {
            ctx.Write($"f{i:D2}.txt", "file " + i);
        }

        // A poll every second as well: the cycles include whole runs, not only runs over the changed path.
        await using var watch = new RunningWatch(ctx, new SyncWatchOptions { PollInterval = TimeSpan.FromSeconds(1), Quiet = TimeSpan.FromMilliseconds(20) });
        await watch.NextRunAsync();
        long early = 0;
        const int Cycles = 200, Warmup = 50;
        for (var cycle = 1; cycle <= Cycles; cycle++)
        {
            var rel = $"f{cycle % 20:D2}.txt";
            ctx.Write(rel, $"cycle {cycle} of {rel}");
            await watch.RunThatUploadsAsync(rel);
            if (cycle == Warmup)
            {
                early = SettledHeap();
            }

            // What the test's own recorders keep is let go: only what the watch keeps counts.
            watch.Results.Clear();
            watch.Summaries.Clear();
            ctx.Wire.Clear();
            lock (ctx.Reports.Reports)
            {
                ctx.Reports.Reports.Clear();
            }
        }

        var late = SettledHeap();
        _output.WriteLine($"managed heap after cycle {Warmup}: {early:N0} B, after cycle {Cycles}: {late:N0} B ({(late - early) / (double)(Cycles - Warmup):N0} B a cycle)");
        Assert.Equal(20, (await ctx.RemoteContentAsync()).Count);
        // 150 cycles apart: a leak of 2 KB a cycle adds 300 KB and fails this; the heap after a full,
        // compacting collection moves by tens of KB between such samples (pooled buffers, the SDK's caches).
        Assert.True(late - early < 256 * 1024, $"the managed heap grew by {late - early:N0} bytes over {Cycles - Warmup} change cycles");
    }

    // The managed heap after full, compacting collections. RSS is not used: the GC keeps the segments it grew
    // into, the JIT and native buffers move it by megabytes, so no bound tight enough to catch a few KB a cycle
    // would hold on it.
    private static long SettledHeap()
    {
        System.Runtime.GCSettings.LargeObjectHeapCompactionMode = System.Runtime.GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}

/// <summary>The watch tests, run alone with their own s3rver (the heap they measure is the whole process's).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SyncWatchCollection : ICollectionFixture<S3rverProcess>
{
    public const string Name = "sync-watch";
}
