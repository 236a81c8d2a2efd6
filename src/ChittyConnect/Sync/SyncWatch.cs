using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>
/// Keeps a folder and its prefix in step until cancelled: a whole run first, then another run whenever
/// something may have changed. Local changes come from a file-system watcher, debounced (a run starts only
/// once the folder has been quiet for <see cref="SyncWatchOptions.Quiet"/>, so a file still being written is not
/// sent half-done); remote changes from <see cref="NotifyRemoteChange"/> (the service's <c>context.files.*</c>
/// events) and from a run every <see cref="SyncWatchOptions.PollInterval"/>, which also stands in for the events a
/// watcher drops (overflow, network drives, sleep).
/// </summary>
/// <remarks>
/// A run after local changes looks at the paths the watcher named only: their stat, their state entries and
/// their objects by HEAD (<see cref="SyncInventory.TakePathsAsync"/>), so an edit in a large folder costs a HEAD
/// and a PUT, not a scan and a listing. The same planner decides, so conflicts keep both versions, the guards
/// (-MaxDelete, -MaxDeletePercent against every file synced) hold, the baseline is saved after each run and the
/// sync report goes out once per run, in batches. What paths cannot settle (a folder, a remote delete, an
/// emptied folder, a watcher overflow, more than <see cref="SyncInventory.MaxPaths"/> paths) makes a whole run, and
/// so does every other reason to run: the start, a remote change, a poll, a retry.
/// A run that fails as a whole (the store or the folder unreachable, another sync holding the lock) is tried
/// again, whole, with a doubling delay up to <see cref="SyncWatchOptions.MaxBackoff"/>; as a whole run compares
/// both sides in full, nothing changed meanwhile is lost.
/// </remarks>
public sealed class SyncWatch
{
    // How many of its own reports' event ids the watch remembers, to know their events when they come late.
    private const int OwnEventsKept = 64;

    private readonly SyncEngine _engine;
    private readonly SyncWatchOptions _watchOptions;
    private readonly SemaphoreSlim _signal = new(0, int.MaxValue);
    private readonly object _gate = new();
    private readonly HashSet<string> _touched = new(StringComparer.Ordinal);
    private readonly HashSet<string> _remoteEvents = new(StringComparer.Ordinal);
    private readonly Queue<string> _ownEvents = new();
    private bool _wholeLocal;
    private bool _remoteUnnamed;
    private long _lastLocalChangeTicks;
    private long _localChanges;
    private int _localPending;
    private int _remotePending;

    /// <summary>Creates a watch that runs <paramref name="engine"/>.</summary>
    public SyncWatch(SyncEngine engine, SyncWatchOptions? watchOptions = null)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _watchOptions = watchOptions ?? new SyncWatchOptions();
        if (_watchOptions.PollInterval <= TimeSpan.Zero)
        {
            throw new SyncException("The poll interval must be positive.", "SyncInvalidOptions");
        }

        if (_watchOptions.Quiet < TimeSpan.Zero)
        {
            throw new SyncException("The quiet period cannot be negative.", "SyncInvalidOptions");
        }
    }

    /// <summary>The runs made so far (the first, whole one included).</summary>
    public int Runs { get; private set; }

    /// <summary>
    /// Says that the remote side changed (a <c>context.files.*</c> event): a whole run follows at once. An event
    /// that names the report of one of this watch's own runs (<paramref name="eventId"/>) is no change.
    /// </summary>
    public void NotifyRemoteChange(string? eventId = null)
    {
        lock (_gate)
        {
            if (eventId is not null && _ownEvents.Contains(eventId))
            {
                return;
            }

            if (eventId is null)
            {
                _remoteUnnamed = true;
            }
            else
            {
                _remoteEvents.Add(eventId);
            }
        }

        Interlocked.Exchange(ref _remotePending, 1);
        _signal.Release();
    }

    /// <summary>
    /// Says that the local folder changed at <paramref name="relativePath"/> ('/'-separated; null when what
    /// changed is unknown): a run follows once it has been quiet for <see cref="SyncWatchOptions.Quiet"/>.
    /// </summary>
    public void NotifyLocalChange(string? relativePath = null)
    {
        lock (_gate)
        {
            if (relativePath is null || _touched.Count >= SyncInventory.MaxPaths)
            {
                _wholeLocal = true;
                _touched.Clear();
            }
            else if (!_wholeLocal)
            {
                _touched.Add(relativePath);
            }
        }

        Interlocked.Increment(ref _localChanges);
        Interlocked.Exchange(ref _lastLocalChangeTicks, DateTime.UtcNow.Ticks);
        Interlocked.Exchange(ref _localPending, 1);
        _signal.Release();
    }

    /// <summary>
    /// Runs until <paramref name="cancellationToken"/> is cancelled, then returns (the state of the run in
    /// progress saved). <paramref name="onResult"/> gets each action as it happens, <paramref name="onRun"/> each
    /// run's summary, <paramref name="onStatus"/> each change of what the watch is doing. Throws
    /// <see cref="SyncException"/> when the watch cannot start (bad options, another watch of the folder), and what
    /// the first run throws: a watch that cannot run once would only repeat the same error.
    /// </summary>
    public async Task RunAsync(SyncOptions options, Action<ChittySyncResult>? onResult, Action<ChittySyncSummary>? onRun, Action<SyncWatchStatus>? onStatus, CancellationToken cancellationToken)
    {
        if (options is null)
        {
            throw new ArgumentNullException(nameof(options));
        }

        if (options.PlanOnly)
        {
            throw new SyncException("A watch cannot be a plan: run the sync once with -WhatIf instead.", "SyncInvalidOptions");
        }

        var root = Path.GetFullPath(options.LocalPath);
        using var watchLock = AcquireWatchLock(options, root, cancellationToken);
        using var watcher = options.Direction == SyncDirection.Download ? null : StartWatcher(root);
        var failures = 0;
        var reason = "start";
        while (true)
        {
            Interlocked.Exchange(ref _localPending, 0);
            Interlocked.Exchange(ref _remotePending, 0);
            var paths = TakeChanges(reason == LocalChange && failures == 0);
            var localChangesAtStart = Interlocked.Read(ref _localChanges);
            var what = paths is null ? reason : $"{reason}: {paths.Count} path(s)";
            onStatus?.Invoke(new SyncWatchStatus(SyncWatchState.Syncing, what, Runs, failures, null, null));
            try
            {
                var summary = await _engine.RunAsync(options, paths, onResult, null, cancellationToken).ConfigureAwait(false);
                Runs++;
                ForgetOwnEvents(summary.ReportEventIds);
                onRun?.Invoke(summary);
                // Files that failed (in use, changed while read) are tried again soon, not only at the next poll.
                failures = summary.Errors > 0 ? failures + 1 : 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                onStatus?.Invoke(new SyncWatchStatus(SyncWatchState.Stopped, "stop", Runs, failures, null, null));
                return;
            }
            catch (SyncException ex) when (Runs > 0 && ex.ErrorId == "SyncSideEmpty" && Interlocked.Read(ref _localChanges) != localChangesAtStart)
            {
                // The folder looked empty while files in it were changing (a save that replaces the file, a
                // copy in progress): a file in flux is not an absent file. Once quiet, a whole run decides.
                NotifyLocalChange();
            }
            catch (Exception ex) when (Runs > 0 && IsPassing(ex))
            {
                failures++;
                onStatus?.Invoke(new SyncWatchStatus(SyncWatchState.Waiting, what, Runs, failures, ex.Message, DateTime.UtcNow + Backoff(failures)));
            }

            var waitFor = failures > 0 ? Backoff(failures) : _watchOptions.PollInterval;
            if (failures == 0)
            {
                onStatus?.Invoke(new SyncWatchStatus(SyncWatchState.Idle, what, Runs, 0, null, DateTime.UtcNow + waitFor));
            }

            try
            {
                reason = await WaitForChangeAsync(waitFor, failures > 0, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                onStatus?.Invoke(new SyncWatchStatus(SyncWatchState.Stopped, "stop", Runs, failures, null, null));
                return;
            }
        }
    }

    private const string LocalChange = "local change";

    // What the run about to start covers: the changed paths, when only local changes named by the watcher
    // are waiting (and the last run did not fail: a retry is whole); else null, a whole run. Either way the
    // changes are taken: the run covers them, and what changes during it is noted for the next.
    private IReadOnlyCollection<string>? TakeChanges(bool pathsWanted)
    {
        lock (_gate)
        {
            var paths = pathsWanted && !_wholeLocal && _touched.Count > 0 ? _touched.ToList() : null;
            _touched.Clear();
            _wholeLocal = false;
            _remoteEvents.Clear();
            _remoteUnnamed = false;
            return paths;
        }
    }

    // A run's own report raises a context.files.synced event that may come before or after the run ends: it
    // is no remote change, whenever it comes.
    private void ForgetOwnEvents(IReadOnlyList<string> eventIds)
    {
        lock (_gate)
        {
            foreach (var id in eventIds)
            {
                _remoteEvents.Remove(id);
                _ownEvents.Enqueue(id);
                if (_ownEvents.Count > OwnEventsKept)
                {
                    _ownEvents.Dequeue();
                }
            }

            if (eventIds.Count > 0 && _remoteEvents.Count == 0 && !_remoteUnnamed)
            {
                Interlocked.Exchange(ref _remotePending, 0);
            }
        }
    }

    // Waits for the next reason to run: a remote change at once, a local one once quiet, else the deadline.
    // While backing off after a failure only the deadline counts: changes are noted and the next run finds them.
    private async Task<string> WaitForChangeAsync(TimeSpan waitFor, bool backingOff, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + waitFor;
        while (true)
        {
            var now = DateTime.UtcNow;
            if (now >= deadline)
            {
                return backingOff ? "retry" : "poll";
            }

            var until = deadline;
            if (!backingOff)
            {
                if (Volatile.Read(ref _remotePending) != 0)
                {
                    return "remote change";
                }

                if (Volatile.Read(ref _localPending) != 0)
                {
                    var quietAt = new DateTime(Interlocked.Read(ref _lastLocalChangeTicks), DateTimeKind.Utc) + _watchOptions.Quiet;
                    if (now >= quietAt)
                    {
                        return LocalChange;
                    }

                    until = quietAt < deadline ? quietAt : deadline;
                }
            }

            await _signal.WaitAsync(until - now, cancellationToken).ConfigureAwait(false);
        }
    }

    private TimeSpan Backoff(int failures)
    {
        var seconds = _watchOptions.MinBackoff.TotalSeconds * Math.Pow(2, Math.Min(failures - 1, 16));
        return TimeSpan.FromSeconds(Math.Min(seconds, _watchOptions.MaxBackoff.TotalSeconds));
    }

    // What a later run may not meet again: an unreachable or failing store, a folder that is not there for the
    // moment (an unmounted drive), another sync holding the lock. A guard that stops a run (too many deletes,
    // a side found empty) holds the same way: nothing is changed, the warning repeats with each try, and the
    // watch goes on until the user resolves it (or the folder comes back). Bad options and bad credentials
    // are not passing, but they fail the first run, which ends the watch.
    private static bool IsPassing(Exception ex) => ex switch
    {
        SyncException s => s.ErrorId is "SyncLocked" or "SyncSourceMissing" or "SyncTooManyDeletes" or "SyncSideEmpty",
        ObjectStoreException => true,
        IOException or UnauthorizedAccessException => true,
        System.Net.Http.HttpRequestException => true,
        TimeoutException => true,
        OperationCanceledException => true,
        _ => false,
    };

    // One watch per folder, whatever it is synced to: two would race each other's downloads and deletes. The
    // lock lives beside the sync state and is held while the watch runs; each run still takes the sync lock of
    // its target, so a one-off Sync-ChittyFolder of the same folder waits for the run in progress.
    private SyncLock AcquireWatchLock(SyncOptions options, string root, CancellationToken cancellationToken)
    {
        var path = SyncStateLocation.PathFor(options.StateDirectory, root, new Uri("watch:folder"), string.Empty, string.Empty, out _);
        try
        {
            return SyncLock.Acquire(path + ".watch", $"'{root}'", TimeSpan.Zero, cancellationToken);
        }
        catch (SyncException ex) when (ex.ErrorId == "SyncLocked")
        {
            throw new SyncException($"'{root}' is already being watched (lock file '{path}.watch.lock'). Stop that watch first (Stop-Job, or stop its service).", "SyncWatchRunning", ex);
        }
    }

    // The files a run makes and removes itself (the case probe, a download before it is renamed into place)
    // are no change: noticing them would start a run after every run.
    private void OnLocalEvent(string? relativePath)
    {
        var name = Path.GetFileName(relativePath ?? string.Empty);
        if (name.StartsWith(SyncInventory.CaseProbePrefix, StringComparison.Ordinal) || name.EndsWith(LocalScanner.PartialSuffix, StringComparison.Ordinal))
        {
            return;
        }

        NotifyLocalChange(string.IsNullOrEmpty(relativePath) ? null : relativePath!.Replace(Path.DirectorySeparatorChar, '/'));
    }

    private FileSystemWatcher? StartWatcher(string root)
    {
        if (!Directory.Exists(root))
        {
            // The first run fails or (with -Force) syncs the folder as empty; the polls cover it from then on.
            return null;
        }

        var watcher = new FileSystemWatcher(root)
        {
            IncludeSubdirectories = true,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size,
            InternalBufferSize = 64 * 1024,
        };
        FileSystemEventHandler changed = (_, e) => OnLocalEvent(e.Name);
        watcher.Changed += changed;
        watcher.Created += changed;
        watcher.Deleted += changed;
        watcher.Renamed += (_, e) =>
        {
            // A rename is a delete of the old name and a new file under the new one.
            OnLocalEvent(e.OldName);
            OnLocalEvent(e.Name);
        };
        // An overflow loses events: a whole run compares the whole folder, so one run makes up for all of them.
        watcher.Error += (_, _) => NotifyLocalChange();
        watcher.EnableRaisingEvents = true;
        return watcher;
    }
}

/// <summary>How a <see cref="SyncWatch"/> waits between runs.</summary>
public sealed class SyncWatchOptions
{
    /// <summary>The default poll interval: 30 s, one LIST per 1,000 keys each time (86,400 a month per 1,000 keys).</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(30);

    /// <summary>The longest time between two runs when nothing signals a change.</summary>
    public TimeSpan PollInterval { get; set; } = DefaultPollInterval;

    /// <summary>The default quiet period: 1 s, long enough for most saves to finish, short enough to feel immediate.</summary>
    public static readonly TimeSpan DefaultQuiet = TimeSpan.FromSeconds(1);

    /// <summary>How long the folder must be quiet after a local change before a run starts.</summary>
    public TimeSpan Quiet { get; set; } = DefaultQuiet;

    /// <summary>The first delay after a failed run; it doubles with each failure in a row.</summary>
    public TimeSpan MinBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest delay between two tries after failures.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(60);
}

/// <summary>What a watch is doing.</summary>
public enum SyncWatchState
{
    /// <summary>A run is in progress.</summary>
    Syncing,

    /// <summary>Waiting for a change or the next poll.</summary>
    Idle,

    /// <summary>The last run failed as a whole; waiting to try again.</summary>
    Waiting,

    /// <summary>Stopped.</summary>
    Stopped,
}

/// <summary>One change of what a watch is doing.</summary>
public sealed class SyncWatchStatus
{
    /// <summary>Creates a status.</summary>
    public SyncWatchStatus(SyncWatchState state, string reason, int runs, int failures, string? error, DateTime? nextRunUtc)
    {
        State = state;
        Reason = reason;
        Runs = runs;
        Failures = failures;
        Error = error;
        NextRunUtc = nextRunUtc;
    }

    /// <summary>What the watch is doing.</summary>
    public SyncWatchState State { get; }

    /// <summary>Why the current or last run started: start, local change, remote change, poll, retry.</summary>
    public string Reason { get; }

    /// <summary>Runs completed.</summary>
    public int Runs { get; }

    /// <summary>Failed runs in a row.</summary>
    public int Failures { get; }

    /// <summary>Why the last run failed, when it did.</summary>
    public string? Error { get; }

    /// <summary>When the next run starts at the latest.</summary>
    public DateTime? NextRunUtc { get; }

    /// <inheritdoc />
    public override string ToString() => State switch
    {
        SyncWatchState.Syncing => $"Syncing ({Reason})",
        SyncWatchState.Idle => $"Watching: {Runs} run(s), next poll {NextRunUtc?.ToLocalTime():HH:mm:ss}",
        SyncWatchState.Waiting => $"Run failed ({Error}); trying again at {NextRunUtc?.ToLocalTime():HH:mm:ss}",
        _ => "Stopped",
    };
}
