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

    private SyncInventory(LocalScan scan, Dictionary<string, RemoteObject> remote, bool folderExists)
    {
        _scan = scan;
        Remote = remote;
        FolderExists = folderExists;
    }

    private readonly LocalScan _scan;

    /// <summary>Selected local files by '/'-separated relative path (ordinal).</summary>
    public Dictionary<string, LocalFile> Local => _scan.Files;

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

        foreach (var error in local.Errors)
        {
            ChittyLog.Warning(error);
            run.Count(s => s.Errors++);
        }

        return new SyncInventory(local, remote, folderExists);
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
        // The keys the last run left are where the listing is split: ranges of about equal size, listed at once.
        var known = run.State.Files;
        var splitAfter = RangedListing.SplitPoints(known.Keys.Select(rel => run.Prefix + rel), known.Count);
        var listing = await run.Store.ListAsync(run.Prefix, splitAfter, cancellationToken).ConfigureAwait(false);
        var result = new Dictionary<string, RemoteObject>(StringComparer.Ordinal);
        foreach (var o in listing)
        {
            var rel = o.Key.Substring(run.Prefix.Length);
            // Folder markers made by other tools are not files.
            if (rel.Length == 0 || rel.EndsWith("/", StringComparison.Ordinal))
            {
                continue;
            }

            if (run.Options.Filters.IncludeFileAndParents(rel))
            {
                result[rel] = o;
            }
        }

        return result;
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
