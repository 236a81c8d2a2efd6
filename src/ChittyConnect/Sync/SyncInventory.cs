using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Diagnostics;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>What is on both sides now: the local scan and the remote listing, filtered alike.</summary>
internal sealed class SyncInventory
{
    /// <summary>The name the case-sensitivity probe (an empty file made and removed at once) starts with.</summary>
    public const string CaseProbePrefix = ".chitty-case-";

    private SyncInventory(LocalScan scan, Dictionary<string, LocalFile> local, Dictionary<string, RemoteObject> remote, bool folderExists, HashSet<string>? scope = null)
    {
        _scan = scan;
        Local = local;
        Remote = remote;
        FolderExists = folderExists;
        _scope = scope;
    }

    /// <summary>
    /// The files and objects of one window of a whole run (<see cref="SyncWindows"/>); what the scan skipped
    /// and could not read is the whole scan's (<paramref name="scan"/>), so far as it went.
    /// </summary>
    public static SyncInventory OfWindow(LocalScan scan, Dictionary<string, LocalFile> local, Dictionary<string, RemoteObject> remote, bool folderExists) =>
        new(scan, local, remote, folderExists);

    /// <summary>What the scan skipped and could not read (its files are <see cref="Local"/>).</summary>
    public LocalScan Scan => _scan;

    /// <summary>
    /// Above this many changed paths a run over them is no cheaper than a whole one: a HEAD per path against
    /// a LIST per 1,000 keys, and a whole run also finds what a file-system watcher missed.
    /// </summary>
    public const int MaxPaths = 256;

    private readonly LocalScan _scan;

    private readonly HashSet<string>? _scope;

    /// <summary>True when both sides were taken whole; false for an inventory of some paths only.</summary>
    public bool IsWhole => _scope is null;

    /// <summary>Whether <paramref name="relativePath"/> is one of the paths this inventory looked at (every path, when whole).</summary>
    public bool Covers(string relativePath) => _scope is null || _scope.Contains(relativePath);

    /// <summary>Selected local files by '/'-separated relative path (ordinal).</summary>
    public Dictionary<string, LocalFile> Local { get; }

    /// <summary>Selected objects by path relative to the prefix (ordinal); folder markers left out.</summary>
    public Dictionary<string, RemoteObject> Remote { get; }

    public bool FolderExists { get; }

    /// <summary>Folders the scan could not read: their files are unknown, so nothing may be deleted on the strength of this scan.</summary>
    public int ScanErrors => _scan.Errors.Count;

    /// <summary>
    /// Whether the scan skipped <paramref name="relativePath"/> or a folder above it (a link, a pipe): what
    /// the other side and the state hold there is unknown locally, so it is neither transferred nor deleted.
    /// </summary>
    public bool IsSkippedLocally(string relativePath) => _scan.IsSkipped(relativePath);

    /// <summary>
    /// Scans the folder while the listing runs on the thread pool, so a sync of unchanged files costs the
    /// longer of the two, not their sum. A failed listing ends the sync before any scan warning is counted.
    /// </summary>
    public static async Task<SyncInventory> TakeAsync(SyncRun run)
    {
        var folderExists = Directory.Exists(run.Root);
        LocalScan local;
        Dictionary<string, RemoteObject> remote;
        using (var listingCancel = CancellationTokenSource.CreateLinkedTokenSource(run.Token))
        {
            var listing = Task.Run(() => ListAsync(run, listingCancel.Token), listingCancel.Token);
            local = folderExists ? ScanDuring(run, listing, listingCancel) : new LocalScan();
            if (!listing.IsCompleted)
            {
                run.Progress.Phase(SyncPhase.Listing);
            }

            remote = await listing.ConfigureAwait(false);
        }

        WarnScanErrors(run, local, 0);
        return new SyncInventory(local, local.Files, remote, folderExists);
    }

    /// <summary>
    /// Both sides at <paramref name="relativePaths"/> only: each path's stat and its object by HEAD (one request
    /// a path, no listing). HEAD, not the last listing: that may be a poll interval old, and an object changed
    /// since would be taken for the agreed version and overwritten, where a whole run would keep both. Returns
    /// null when only a whole inventory can decide (the caller takes one): a path that is a folder or was
    /// one (entries under it), a link, special file or refused name on the way, a path whose object is gone
    /// while the state remembers it (a remote delete, or a wiped prefix: the whole run's guards judge that),
    /// or a path gone locally from a folder left with no file (the empty-side guard is the whole run's); and
    /// always where a download could write into a folder that ignores case.
    /// </summary>
    public static async Task<SyncInventory?> TakePathsAsync(SyncRun run, IReadOnlyCollection<string> relativePaths)
    {
        if (relativePaths.Count == 0 || relativePaths.Count > MaxPaths || !Directory.Exists(run.Root))
        {
            return null;
        }

        if (run.Options.Direction != SyncDirection.Upload && run.IgnoresCase())
        {
            // Where one file answers to names differing only in case (Windows, macOS), a local name pairs with
            // a key spelled otherwise: only the whole listing shows which.
            return null;
        }

        var filters = run.Options.Filters;
        var scan = new LocalScan();
        var scope = new HashSet<string>(StringComparer.Ordinal);
        var entries = run.State.Entries();
        foreach (var rel in relativePaths)
        {
            if (!LocalScanner.ScanPath(run.Root, rel, filters, scan) || entries.Any(e => e.RelativePath.StartsWith(rel + "/", StringComparison.Ordinal)))
            {
                return null;
            }

            if (filters.IncludeFileAndParents(rel))
            {
                scope.Add(rel);
            }
        }

        var remote = new Dictionary<string, RemoteObject>(StringComparer.Ordinal);
        run.Progress.Phase(SyncPhase.Listing);
        await run.ForEachAsync(scope.ToList(), run.Options.Transfers, async rel =>
        {
            var key = run.Prefix + rel;
            if (await run.Store.HeadAsync(key, run.Token).ConfigureAwait(false) is { } info)
            {
                lock (remote)
                {
                    remote[rel] = new RemoteObject(key, info.Size, info.ETag, info.LastModified);
                }
            }
        }).ConfigureAwait(false);

        if (scope.Any(rel => !remote.ContainsKey(rel) && run.State.EntryFor(rel) is not null)
            || (scope.Any(rel => !scan.Files.ContainsKey(rel)) && !LocalScanner.HasFile(run.Root, filters, run.Token)))
        {
            return null;
        }

        return new SyncInventory(scan, scan.Files, remote, folderExists: true, scope);
    }

    // Should the scan fail, the listing is cancelled and awaited (so no request outlives the run, and its
    // failure is not left unobserved) before the scan's error is rethrown.
    private static LocalScan ScanDuring(SyncRun run, Task listing, CancellationTokenSource listingCancel)
    {
        try
        {
            run.Progress.Phase(SyncPhase.Scanning);
            return LocalScanner.Scan(run.Root, run.Options.Filters, run.Token);
        }
        catch
        {
            listingCancel.Cancel();
            try
            {
                listing.GetAwaiter().GetResult();
            }
            catch (Exception)
            {
                // Whatever the listing did, the scan's error is the one to report.
            }

            throw;
        }
    }

    private static async Task<Dictionary<string, RemoteObject>> ListAsync(SyncRun run, CancellationToken cancellationToken)
    {
        // The keys the last run left are where the listing is split (ranges listed at once), where the last
        // listing of the prefix came in key order; what this one shows decides for the next.
        var known = run.State.Files.Keys.Select(rel => run.Prefix + rel).ToList();
        var listing = await RangedListing.ListKnownAsync(run.Store, run.Prefix, known, run.State.ListedInKeyOrder, cancellationToken).ConfigureAwait(false);
        run.State.ListedInKeyOrder = listing.InKeyOrder;
        var result = new Dictionary<string, RemoteObject>(StringComparer.Ordinal);
        foreach (var o in listing)
        {
            if (Selected(run, o) is { } selected)
            {
                result[selected.RelativeKey!] = selected;
            }
        }

        return result;
    }

    /// <summary>Warns of the scan's errors from the <paramref name="from"/>-th on, each counted as an error of the run; returns how many it has.</summary>
    public static int WarnScanErrors(SyncRun run, LocalScan scan, int from)
    {
        for (var i = from; i < scan.Errors.Count; i++)
        {
            ChittyLog.Warning(scan.Errors[i]);
            run.Count(s => s.Errors++);
        }

        return scan.Errors.Count;
    }

    /// <summary>
    /// The listed object <paramref name="listed"/> as the run holds it (the key as prefix and relative path,
    /// the latter shared with the run's maps), or null when it is not a file of the run: a folder marker made by
    /// another tool, or a path the filters leave out.
    /// </summary>
    public static RemoteObject? Selected(SyncRun run, RemoteObject listed) => Selected(run, listed, listed.Key.Substring(run.Prefix.Length));

    /// <summary>As the other overload, with the key's part after the prefix already cut.</summary>
    public static RemoteObject? Selected(SyncRun run, RemoteObject listed, string rel)
    {
        if (rel.Length == 0 || rel.EndsWith("/", StringComparison.Ordinal) || !run.Options.Filters.IncludeFileAndParents(rel))
        {
            return null;
        }

        return new RemoteObject(run.Prefix, rel, listed);
    }

    /// <summary>
    /// Whether the folder's file system takes names differing only in case for one file (Windows, macOS,
    /// but a folder can be case-sensitive on Windows, or not on Linux: the file system itself is asked).
    /// </summary>
    public static bool IgnoresCase(SyncRun run)
    {
        var platformDefault = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) || RuntimeInformation.IsOSPlatform(OSPlatform.OSX);
        if (run.Options.PlanOnly || !Directory.Exists(run.Root))
        {
            // -WhatIf writes nothing, not even a probe; a folder yet to be made is the platform's.
            return platformDefault;
        }

        var probe = Path.Combine(run.Root, CaseProbePrefix + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            File.WriteAllBytes(probe, Array.Empty<byte>());
            return File.Exists(probe.Substring(0, probe.Length - 4) + ".TMP");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return platformDefault;
        }
        finally
        {
            try
            {
                File.Delete(probe);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ChittyLog.Verbose($"Could not remove '{probe}': {ex.Message}");
            }
        }
    }

    /// <summary>
    /// Removes the temporary files of downloads killed mid-file; the scan ignores such files, so without this
    /// they would pile up. Safe under the sync lock: no other sync of this target is writing them.
    /// </summary>
    public static void RemoveLeftoverPartials(string root)
    {
        if (!Directory.Exists(root))
        {
            return;
        }

        IEnumerable<string> partials;
        try
        {
            partials = Directory.EnumerateFiles(root, "." + "*" + LocalScanner.PartialSuffix, SearchOption.AllDirectories).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ChittyLog.Verbose($"Could not look for leftover partial downloads: {ex.Message}");
            return;
        }

        foreach (var partial in partials)
        {
            try
            {
                File.Delete(partial);
                ChittyLog.Verbose($"Removed '{partial}', left by an interrupted download.");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ChittyLog.Verbose($"Could not remove '{partial}': {ex.Message}");
            }
        }
    }
}
