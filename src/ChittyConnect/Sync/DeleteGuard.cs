using System;
using System.Collections.Generic;
using System.Linq;
using ChittyConnect.Diagnostics;

namespace ChittyConnect.Sync;

/// <summary>
/// Keeps a plan from deleting what an accident made look deleted: an empty or missing side, unreadable
/// folders, more deletions than -MaxDelete or -MaxDeletePercent allow. It refuses the whole run (a
/// SyncException before anything changes) or withholds the plan's deletes (counted and warned of).
/// </summary>
internal sealed class DeleteGuard
{
    private readonly SyncRun _run;

    public DeleteGuard(SyncRun run) => _run = run;

    private SyncOptions Options => _run.Options;

    // An unmounted drive, an emptied folder or a wrong bucket looks like "every file deleted" on that side;
    // propagating it would wipe the other side, so such a run needs -Force.
    public void RefuseEmptySide(SyncTotals totals)
    {
        var baselineCount = totals.BaselineFiles;
        if (baselineCount == 0)
        {
            return;
        }

        if (Options.Force && totals.FolderExists)
        {
            return;
        }

        if (!totals.FolderExists)
        {
            // A typo or a drive not mounted: no -Force turns that into deleting everything it synced.
            throw new SyncException($"The folder '{_run.Root}' does not exist, but {baselineCount} file(s) were synced from it: check the path (a typo, or a drive not mounted?). Nothing was changed.", "SyncSourceMissing");
        }

        if (totals.LocalEmpty && totals.RemoteObjects > 0)
        {
            throw new SyncException($"The folder '{_run.Root}' has no files, but {baselineCount} file(s) were synced before: a two-way sync would delete them from '{_run.Store.Bucket}/{_run.Prefix}'. (An emptied drive must not wipe the remote copy; -Force allows it.)", "SyncSideEmpty");
        }

        if (totals.RemoteEmpty && totals.LocalFiles > 0)
        {
            throw new SyncException($"The prefix '{_run.Store.Bucket}/{_run.Prefix}' has no objects, but {baselineCount} file(s) were synced before: a two-way sync would delete them from '{_run.Root}'. (A wrong bucket or prefix must not wipe the folder; -Force allows it.)", "SyncSideEmpty");
        }
    }

    /// <summary>Withholds the plan's deletes, or refuses the run, where they look like an accident.</summary>
    public void Guard(SyncPlan plan, SyncTotals totals)
    {
        var baselineFiles = totals.BaselineFiles;
        if (Options.Direction == SyncDirection.Both)
        {
            GuardTwoWayDeletes(plan, totals.ScanErrors, baselineFiles);
            return;
        }

        var download = Options.Direction == SyncDirection.Download;
        var sourceEmpty = download ? totals.RemoteEmpty : totals.LocalEmpty;
        // The files the destination had at its last sync; an exact mirror may also delete the others there now,
        // so its share is of what the destination has now when that is more (always, on a first run).
        var destinationNow = Options.Mirror ? (download ? totals.LocalFiles : totals.RemoteObjects) : 0;
        var destination = destinationNow > baselineFiles ? (destinationNow, "has") : (baselineFiles, "had at its last sync");
        GuardDeletes(plan, sourceEmpty, totals.ScanErrors, destination);
    }

    private void GuardDeletes(SyncPlan plan, bool sourceEmpty, int scanErrors, (int Files, string Counted) destination)
    {
        var deletes = plan.Deletes;
        if (Options.NoDelete || deletes.Count == 0)
        {
            deletes.Clear();
            return;
        }

        var because = SyncWithholdReason.None;
        string? reason = null;
        if (scanErrors > 0)
        {
            because = SyncWithholdReason.ScanErrors;
            reason = "some folders could not be read, so their files would look deleted";
        }
        else if (sourceEmpty && !Options.Force)
        {
            because = SyncWithholdReason.SourceEmpty;
            reason = Options.Direction == SyncDirection.Upload
                ? $"the folder '{_run.Root}' has no files (an unmounted or emptied drive must not wipe the remote copy; use -Force to allow it)"
                : $"the prefix '{_run.Prefix}' has no objects (use -Force to allow emptying the folder)";
        }
        else if (sourceEmpty)
        {
            // Said in words, so that -WhatIf -Force shows what the listed deletions add up to.
            ChittyLog.Warning(Options.Direction == SyncDirection.Upload
                ? $"The folder '{_run.Root}' has no files: with -Force this run deletes {(Options.Mirror ? "everything" : "every file it synced")} under '{_run.Store.Bucket}/{_run.Prefix}' ({deletes.Count} file(s))."
                : $"The prefix '{_run.Store.Bucket}/{_run.Prefix}' has no objects: with -Force this run deletes {(Options.Mirror ? "every file" : "every file it downloaded")} in '{_run.Root}' ({deletes.Count} file(s)).");
        }
        else
        {
            RefuseMassDeletion(deletes.Count, destination.Files, Options.Direction == SyncDirection.Upload ? $"'{_run.Store.Bucket}/{_run.Prefix}'" : $"'{_run.Root}'", destination.Counted);
        }

        if (reason is null && Options.MaxDelete >= 0 && deletes.Count > Options.MaxDelete)
        {
            because = SyncWithholdReason.MaxDelete;
            reason = $"{deletes.Count} deletions exceed -MaxDelete {Options.MaxDelete}";
        }

        if (reason is not null)
        {
            Withhold(plan, deletes, because, reason);
        }
    }

    // Two-way: -MaxDelete and -MaxDeletePercent hold per side, so a mass deletion on one side cannot ride on
    // everyday ones on the other.
    private void GuardTwoWayDeletes(SyncPlan plan, int scanErrors, int baselineFiles)
    {
        if (Options.NoDelete || plan.Deletes.Count == 0)
        {
            plan.Deletes.Clear();
            return;
        }

        if (scanErrors > 0)
        {
            Withhold(plan, plan.Deletes, SyncWithholdReason.ScanErrors, "some folders could not be read, so their files would look deleted");
            return;
        }

        foreach (var (step, side, where) in new[] { (SyncStep.DeleteRemote, "remote", $"'{_run.Store.Bucket}/{_run.Prefix}'"), (SyncStep.DeleteLocal, "local", $"'{_run.Root}'") })
        {
            var deletes = plan.Deletes.Where(d => d.Step == step).ToList();
            RefuseMassDeletion(deletes.Count, baselineFiles, where);
            if (Options.MaxDelete >= 0 && deletes.Count > Options.MaxDelete)
            {
                Withhold(plan, deletes, SyncWithholdReason.MaxDelete, $"{deletes.Count} {side} deletions exceed -MaxDelete {Options.MaxDelete}");
                plan.Deletes.RemoveAll(d => d.Step == step);
            }
        }
    }

    // Deleting more than a share of what a side had is more often an accident (a folder emptied or moved, a
    // wrong path) than intent: as rclone bisync's --max-delete, the whole run stops before anything changes.
    private void RefuseMassDeletion(int deletes, int sideFiles, string side, string counted = "had at its last sync")
    {
        if (Options.Force || Options.MaxDeletePercent >= 100 || deletes == 0 || sideFiles == 0 || deletes * 100L <= (long)Options.MaxDeletePercent * sideFiles)
        {
            return;
        }

        var percent = deletes * 100L / sideFiles;
        throw new SyncException($"This run would delete {deletes} of the {sideFiles} file(s) {side} {counted} ({percent}%), more than -MaxDeletePercent {Options.MaxDeletePercent}%. Nothing was changed. If these deletions are meant, run again with -Force (or a larger -MaxDeletePercent).", "SyncTooManyDeletes");
    }

    // Counted as an error of the run, but only once the plan is carried out: the deletes the guard let
    // through still go ahead.
    private void Withhold(SyncPlan plan, List<SyncPlanItem> deletes, SyncWithholdReason because, string reason)
    {
        plan.DeletesWithheld = true;
        _run.Count(s =>
        {
            s.DeletesWithheld += deletes.Count;
            s.DeletesWithheldReason = reason;
            s.DeletesWithheldBecause = because;
        });
        ChittyLog.Warning($"Not deleting {deletes.Count} file(s): {reason}.");
        deletes.Clear();
    }
}
