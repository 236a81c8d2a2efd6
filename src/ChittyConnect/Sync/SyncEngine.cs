using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Api;
using ChittyConnect.Diagnostics;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>
/// Mirrors a local folder to a key prefix (or back), by content. Local hashes are cached in a state file
/// keyed by size and last-write time, so a re-sync of unchanged files makes one listing and reads nothing.
/// A run takes an inventory of both sides (<see cref="SyncInventory"/>), plans (<see cref="SyncPlanner"/>),
/// carries the plan out (<see cref="SyncExecutor"/>: deletes last, only of what the sync owns and only after
/// every transfer succeeded) and sends the sync report of what it moved (<see cref="SyncReporter"/>).
/// </summary>
public sealed class SyncEngine
{
    private readonly IObjectStore _store;
    private readonly ChittyApiClient? _api;
    private readonly Func<SyncRun, bool> _ignoresCase;

    /// <summary>Creates an engine over a store and (for the sync report) an API client.</summary>
    public SyncEngine(IObjectStore store, ChittyApiClient? api)
        : this(store, api, SyncInventory.IgnoresCase)
    {
    }

    /// <summary>
    /// An engine that asks <paramref name="ignoresCase"/> whether a run's folder takes names differing only in
    /// case for one file, instead of probing the folder (so that the case-collision rules of Windows and macOS
    /// can be exercised on any file system).
    /// </summary>
    internal SyncEngine(IObjectStore store, ChittyApiClient? api, Func<SyncRun, bool> ignoresCase)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _api = api;
        _ignoresCase = ignoresCase;
    }

    /// <summary>The longest object key R2 (and S3) accept, in UTF-8 bytes.</summary>
    public const int MaxKeyBytes = 1024;

    /// <summary>
    /// The key prefix a sync of the folder <paramref name="localPath"/> in <paramref name="sessionId"/> uses by
    /// default: files/&lt;session&gt;/sync/&lt;folder name&gt;/. Each folder has its own, apart from the
    /// session's uploads (files/&lt;session&gt;/&lt;yyyy&gt;/...) and from other folders, so a sync never lists,
    /// downloads or mirrors what another folder or device put in the session; the same folder name on
    /// another device names the same prefix.
    /// </summary>
    public static string DefaultPrefix(string sessionId, string localPath)
    {
        var name = Path.GetFileName(Path.GetFullPath(localPath).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        if (name.Length == 0)
        {
            throw new SyncException($"'{localPath}' is the root of a drive, which has no folder name to make the default prefix of: name one with -Prefix.", "SyncInvalidOptions");
        }

        return "files/" + sessionId + "/" + SyncFolder + name + "/";
    }

    /// <summary>The level under a session's prefix that holds the default prefixes of synced folders.</summary>
    public const string SyncFolder = "sync/";

    /// <summary>A prefix without a leading '/' and with a trailing '/' (unless empty).</summary>
    public static string NormalizePrefix(string? prefix)
    {
        var p = (prefix ?? string.Empty).Replace('\\', '/').TrimStart('/');
        return p.Length == 0 || p.EndsWith("/", StringComparison.Ordinal) ? p : p + "/";
    }

    /// <summary>
    /// Runs the sync. <paramref name="onResult"/> receives one result per file acted on (or planned),
    /// from worker threads. Throws <see cref="SyncException"/> when the sync cannot start,
    /// <see cref="ObjectStoreException"/> when the prefix cannot be listed, and
    /// <see cref="OperationCanceledException"/> when cancelled (the state is saved first, so the next run
    /// resumes where this one stopped).
    /// </summary>
    public Task<ChittySyncSummary> RunAsync(SyncOptions options, Action<ChittySyncResult>? onResult, IProgress<SyncProgress>? progress, CancellationToken cancellationToken) =>
        RunAsync(options, null, onResult, progress, cancellationToken);

    /// <summary>
    /// Runs the sync over <paramref name="relativePaths"/> only (all paths when null), by the same rules: what a
    /// watch does when the file-system watcher names what changed. Both sides of each path are looked at
    /// (<see cref="SyncInventory.TakePathsAsync"/>), no listing is made and no other file is read; when some
    /// path can only be decided by a whole run (a folder, a remote delete, an emptied folder), the run is whole.
    /// </summary>
    internal async Task<ChittySyncSummary> RunAsync(SyncOptions options, IReadOnlyCollection<string>? relativePaths, Action<ChittySyncResult>? onResult, IProgress<SyncProgress>? progress, CancellationToken cancellationToken)
    {
        if (options is null)
        {
            throw new ArgumentNullException(nameof(options));
        }

        if (string.IsNullOrWhiteSpace(options.LocalPath))
        {
            throw new SyncException("A local folder is required.", "SyncInvalidOptions");
        }

        if (options.Transfers < 1)
        {
            throw new SyncException("Transfers must be at least 1.", "SyncInvalidOptions");
        }

        if (options.Mirror && options.Direction == SyncDirection.Both)
        {
            throw new SyncException("-Mirror is for one-way runs (-Direction Upload or Download): it makes the destination an exact copy of the source, and -Direction Both has no single source. Leave out -Mirror, or choose the one direction to mirror.", "SyncInvalidOptions");
        }

        if (ObjectKeys.HasDotSegment(NormalizePrefix(options.Prefix)))
        {
            // An S3 URL cannot carry such a key: the path would be folded into another one on the way.
            throw new SyncException($"The prefix '{options.Prefix}' has a '.' or '..' segment, which no object key can carry; name the folder it means instead.", "SyncInvalidOptions");
        }

        var run = new SyncRun(_store, options, onResult, progress, cancellationToken, _ignoresCase);
        CheckBackupDirectory(options, run.Root);
        var requestsAtStart = _store.Requests.Snapshot();
        // An encrypted prefix keeps its own state: its ETags are the ciphertext's, its keys not the clear ones.
        var stateTarget = run.Crypt is { } crypt ? run.Prefix + "\nrclone-crypt:" + crypt.NameEncryption : run.Prefix;
        var statePath = SyncStateLocation.PathFor(options.StateDirectory, run.Root, _store.Endpoint, _store.Bucket, stateTarget, out var identity);
        run.Summary.StatePath = statePath;
        var what = $"'{run.Root}' and '{_store.Bucket}/{run.Prefix}'";
        using var syncLock = options.PlanOnly ? null : SyncLock.Acquire(statePath, what, options.LockTimeout, cancellationToken);
        // Read a window at a time where the run may be streamed (the header and the journal now), else whole.
        void LoadState(bool streamed)
        {
            // A state read a window at a time holds its file open: closed before the file is read again (a run
            // planned again whole), so that its save can replace the file on Windows too.
            run.State?.Dispose();
            run.State = SyncState.Load(statePath, identity, out var warning, md5Optional: run.Crypt is not null, streamed: streamed);
            run.StateStreamed = streamed;
            if (warning is not null && warning != run.Summary.StateWarning)
            {
                run.Summary.StateWarning = warning;
                ChittyLog.Warning(warning);
            }
        }

        LoadState(streamed: relativePaths is null && MayStream(run));

        var completed = false;
        try
        {
            await ExecuteAsync(run, relativePaths, LoadState).ConfigureAwait(false);
            completed = true;
        }
        finally
        {
            // Also after a cancellation or a failure: what was done is remembered, so the next run
            // does not redo it.
            if (!options.PlanOnly)
            {
                try
                {
                    run.State.Save();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    ChittyLog.Warning($"Could not save the sync state '{statePath}': {ex.Message}");
                    if (completed)
                    {
                        run.Summary.Errors++;
                    }
                }
            }

            run.Progress.Finish();
            var summary = run.Summary;
            // A state read a window at a time finds damage as it reads (and has warned of it).
            summary.StateWarning ??= run.State.WindowWarning;
            summary.Elapsed = run.Watch.Elapsed;
            summary.StartTime = run.Started;
            summary.EndTime = run.Started + summary.Elapsed;
            summary.Requests = _store.Requests.Since(requestsAtStart);
            var moved = summary.BytesUploaded + summary.BytesDownloaded;
            summary.BytesPerSecond = summary.Elapsed.TotalSeconds > 0 ? moved / summary.Elapsed.TotalSeconds : 0;
            LastSummary = summary;
            run.State.Dispose();
            // What the run's threads freed goes back to the system, not kept for the session's next run.
            NativeHeap.ReturnFreed();
        }

        return run.Summary;
    }

    /// <summary>
    /// The summary of the last run that got past its start, also when it was cancelled or failed (what it
    /// did until then), so a stopped run can still be logged.
    /// </summary>
    public ChittySyncSummary? LastSummary { get; private set; }

    // -BackupDirectory keeps what a download would replace or delete: it has nothing to keep in an upload, and
    // inside the folder (or around it) its files would be synced as the folder's own.
    private static void CheckBackupDirectory(SyncOptions options, string root)
    {
        if (options.BackupDirectory is null)
        {
            return;
        }

        if (options.Direction == SyncDirection.Upload)
        {
            throw new SyncException("-BackupDirectory keeps the local files a download would replace or delete; -Direction Upload changes no local file. Use it with -Direction Download or Both.", "SyncInvalidOptions");
        }

        var backup = Path.GetFullPath(options.BackupDirectory).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var folder = root.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar) + Path.DirectorySeparatorChar;
        // Case is ignored here on every system: a backup folder that differs from the synced one only by case
        // is refused even where the two are distinct, which costs nothing and is never wrong where they are not.
        if (backup.StartsWith(folder, StringComparison.OrdinalIgnoreCase) || folder.StartsWith(backup, StringComparison.OrdinalIgnoreCase))
        {
            throw new SyncException($"-BackupDirectory '{options.BackupDirectory}' overlaps the synced folder '{root}': its files would be synced as the folder's own. Choose a folder outside it.", "SyncInvalidOptions");
        }
    }

    private async Task ExecuteAsync(SyncRun run, IReadOnlyCollection<string>? relativePaths, Action<bool> loadState)
    {
        var options = run.Options;
        if (File.Exists(run.Root))
        {
            throw new SyncException($"'{run.Root}' is a file, not a folder: name the folder to sync. Nothing was changed.", "SyncPathNotFolder");
        }

        if (options.Direction == SyncDirection.Upload && !Directory.Exists(run.Root))
        {
            // A typo or a drive not mounted: never "sync an empty folder", which would delete the remote copy.
            throw new SyncException($"The folder '{run.Root}' does not exist: check the path (a typo, or a drive not mounted?). Nothing was changed.", "SyncSourceMissing");
        }

        var writesRemote = options.Direction != SyncDirection.Download;
        var stateDirectory = Path.GetDirectoryName(run.State.Path)!;
        if (writesRemote)
        {
            PrefixClaim.Check(stateDirectory, run.Root, _store.Endpoint, _store.Bucket, run.Prefix);
        }

        // Decided before the listing, which records how this one came for the next run.
        var streamed = run.StateStreamed && PlansInWindows(run);
        if (run.StateStreamed && !streamed)
        {
            loadState(false);
        }
        var inventory = relativePaths is null || options.PlanOnly ? null : await SyncInventory.TakePathsAsync(run, relativePaths).ConfigureAwait(false);
        if (inventory is null && relativePaths is not null)
        {
            ChittyLog.Verbose($"The {relativePaths.Count} changed path(s) need a whole run (a folder, a remote delete or an emptied folder among them, or too many).");
        }

        if (inventory is null && streamed)
        {
            if (writesRemote && !options.PlanOnly && Directory.Exists(run.Root) && LocalScanner.HasFile(run.Root, options.Filters, run.Token))
            {
                PrefixClaim.Claim(stateDirectory, run.Root, _store.Endpoint, _store.Bucket, run.Prefix);
            }

            try
            {
                await CarryOutAsync(run, StreamedWindows.Open(run, options.WindowKeys), whole: true).ConfigureAwait(false);
                if (options.Direction != SyncDirection.Upload)
                {
                    // Once the listing worked: a download that could not list changes nothing locally.
                    SyncInventory.RemoveLeftoverPartials(run.Root);
                }

                return;
            }
            catch (StreamedWindows.ListAgainException ex)
            {
                // The state's windows read so far are gone from memory: it is read again whole (what pass 1
                // recorded of files found in agreement is found again).
                ChittyLog.Verbose(ex.Message);
                loadState(false);
                run.State.ListedInKeyOrder = false;
                run.PlanAgain();
            }
        }

        inventory ??= await SyncInventory.TakeAsync(run).ConfigureAwait(false);
        run.Summary.PathsOnly = !inventory.IsWhole;
        if (writesRemote && !options.PlanOnly && inventory.Local.Count > 0)
        {
            PrefixClaim.Claim(stateDirectory, run.Root, _store.Endpoint, _store.Bucket, run.Prefix);
        }

        // Leftovers and the state's other paths are a whole run's to clean: a run over some paths saw no more.
        if (options.Direction != SyncDirection.Upload && inventory.IsWhole)
        {
            SyncInventory.RemoveLeftoverPartials(run.Root);
        }

        await CarryOutAsync(run, new WholeWindow(run, inventory), inventory.IsWhole).ConfigureAwait(false);
    }

    // Plans the windows, carries the plan out, and (unless only planned) cleans up and sends the report.
    private async Task CarryOutAsync(SyncRun run, ISyncWindowSource windows, bool whole)
    {
        var planner = new SyncPlanner(run);
        var reporter = new SyncReporter(run, _api);
        await new SyncWindows(run, planner, new SyncExecutor(run, planner), reporter).RunAsync(windows).ConfigureAwait(false);
        if (run.Options.PlanOnly)
        {
            return;
        }

        if (whole)
        {
            await AbortUnwantedUploadsAsync(run).ConfigureAwait(false);
            await AbortUnnamedUploadsAsync(run).ConfigureAwait(false);
        }

        await reporter.ReportAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Whether a whole run (not one over some paths) is planned in windows of keys (<see cref="SyncOptions.WindowKeys"/>)
    /// read from both sides as streams (<see cref="StreamedWindows"/>) rather than in one: a run of a plain prefix
    /// on a store that lists page by page (an encrypted prefix's names do not list in key order), not
    /// downloading into a folder that ignores case (a local name pairs with a key spelled otherwise, which may
    /// sort into another window); a first run, or one whose last listing came in key order (it holds its plan
    /// until every window is planned: <see cref="SyncWindows.HoldsChanges"/>): a key its listing gives out of
    /// order, after its window was planned, then has it planned again whole before anything changed or was
    /// written as -WhatIf's plan.
    /// </summary>
    internal static bool PlansInWindows(SyncRun run) =>
        MayStream(run)
        && (run.State.EntryCount == 0 || run.State.ListedInKeyOrder)
        && !(run.Options.Direction != SyncDirection.Upload && run.IgnoresCase());

    // What PlansInWindows asks of the run before its state is read.
    private static bool MayStream(SyncRun run) => run.Options.WindowKeys > 0 && run.Store is R2ObjectStore && run.Crypt is null;

    // A CreateMultipartUpload whose upload id no state recorded (a crash right after the store answered, or an
    // answer that was lost) may have left an upload only its key and date can find: the uploads of that key
    // begun since it was sent that no state names are aborted; one that cannot be known gone is looked for again
    // by the next whole run.
    private static async Task AbortUnnamedUploadsAsync(SyncRun run)
    {
        foreach (var creating in run.State.CreatingToSweep())
        {
            var known = run.State.PendingUploads.Values.Select(u => u.UploadId).ToList();
            if (await run.Store.AbortUploadsBegunSinceAsync(creating.Key, creating.Value, known, run.Token).ConfigureAwait(false) is { } aborted)
            {
                run.Count(s => s.StaleUploadsAborted += aborted);
                run.State.SweptCreating(creating.Key);
            }
        }
    }

    // A multipart upload an earlier run left behind that this run neither resumed nor began (its file is gone,
    // changed or no longer selected) costs storage until aborted. Uploads this run is resuming stay, also
    // after a failure, for the next run to resume.
    private static async Task AbortUnwantedUploadsAsync(SyncRun run)
    {
        foreach (var upload in run.State.UnclaimedPending())
        {
            try
            {
                if (await run.Store.AbortUploadAsync(upload.Key, upload.UploadId, run.Token).ConfigureAwait(false))
                {
                    run.Count(s => s.StaleUploadsAborted++);
                }
            }
            catch (ObjectStoreException ex)
            {
                ChittyLog.Verbose($"Could not abort the interrupted upload of '{upload.Key}': {ex.Message}");
            }

            run.State.RemovePending(upload.UploadId);
        }
    }
}
