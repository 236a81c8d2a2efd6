using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Diagnostics;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>
/// Turns what is on both sides now (and what the state remembers) into a plan. Every direction goes through
/// one decision table over how each side stands against the version both last agreed on: a one-way sync
/// is the case where the source side always counts as changed and the destination as unchanged, so the
/// source wins and nothing conflicts. The sides are joined by <see cref="SyncPairing"/>, how each stands is
/// found by <see cref="SideChangeDetector"/>, and <see cref="DeleteGuard"/> has the last word on deletes.
/// </summary>
internal sealed class SyncPlanner
{
    private readonly SyncRun _run;
    private readonly SyncPairing _pairing;
    private readonly SideChangeDetector _changes;
    private readonly DeleteGuard _guard;
    private readonly object _decideAgainGate = new();
    private ConflictNames _conflictNames = new();
    private string? _notOwnedExample;
    private bool _compared;
    private long _planned;

    public SyncPlanner(SyncRun run)
    {
        _run = run;
        _pairing = new SyncPairing(run);
        _changes = new SideChangeDetector(run);
        _guard = new DeleteGuard(run);
    }

    private SyncOptions Options => _run.Options;

    /// <summary>What the guards weigh the deletes against, summed over the windows planned so far.</summary>
    public SyncTotals Totals { get; } = new();

    /// <summary>
    /// Plans one window of the run (the whole run is one window): its transfers and deletes, each sorted by
    /// path. Refused names are reported (and counted as errors) here; the guards have their say once every
    /// window is planned (<see cref="Conclude"/>).
    /// </summary>
    public async Task<SyncPlan> PlanWindowAsync(SyncWindow window)
    {
        var inventory = window.Inventory;
        var twoWay = Options.Direction == SyncDirection.Both;
        // An entry at or under a skipped link or special file is unknown locally, not deleted: kept, not decided on.
        var selected = window.Entries.Where(e => Options.Filters.IncludeFileAndParents(e.RelativePath) && !inventory.IsSkippedLocally(e.RelativePath)).ToList();
        // A run over some paths decides those paths only; the guards still weigh its deletes against every file synced.
        var entries = inventory.IsWhole ? selected : selected.Where(e => inventory.Covers(e.RelativePath)).ToList();
        Count(window, selected.Count);
        if (!_compared)
        {
            // Later windows are planned while the transfers of the one before run: the phase stays theirs.
            _compared = true;
            _run.Progress.Phase(SyncPhase.Comparing);
        }

        var (items, names) = _pairing.Pair(inventory, twoWay ? entries : null);
        foreach (var item in items)
        {
            _changes.Classify(item);
        }

        await _changes.ExamineAsync(items.Where(SideChangeDetector.NeedsExamining).ToList()).ConfigureAwait(false);
        lock (_decideAgainGate)
        {
            _conflictNames = _conflictNames.ForWindow(names);
        }

        if (window.IsPart)
        {
            await NameConflictsAsync(window, items).ConfigureAwait(false);
        }

        var plan = new SyncPlan();
        lock (_decideAgainGate)
        {
            foreach (var item in items.Where(i => !i.Failed))
            {
                Decide(item, plan);
            }
        }

        plan.Transfers.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        plan.Deletes.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        Interlocked.Add(ref _planned, plan.Transfers.Count + plan.Deletes.Count);
        return plan;
    }

    /// <summary>
    /// Once every window is planned: refuses a run whose deletes look like an accident (a SyncException, before
    /// any of them is made), warns of what was kept for not being the sync's, and withholds the deletes
    /// (<paramref name="plan"/>'s, all the run's) that the guards do not let through.
    /// </summary>
    public void Conclude(SyncPlan plan)
    {
        if (Options.Direction == SyncDirection.Both)
        {
            _guard.RefuseEmptySide(Totals);
        }

        WarnNotOwned(Interlocked.Read(ref _planned) > 0);
        _guard.Guard(plan, Totals);
    }

    // The local files of the late window were counted in their places.
    private void Count(SyncWindow window, int baselineFiles)
    {
        var inventory = window.Inventory;
        var localFiles = window.IsLate ? 0 : inventory.Local.Count;
        _run.Count(s => s.SourceFiles += Options.Direction == SyncDirection.Download ? inventory.Remote.Count : localFiles);
        Totals.LocalFiles += localFiles;
        Totals.RemoteObjects += inventory.Remote.Count;
        Totals.BaselineFiles += window.IsLate ? 0 : baselineFiles;
        Totals.ScanErrors = inventory.ScanErrors;
        Totals.FolderExists = inventory.FolderExists;
        Totals.IsWhole = inventory.IsWhole;
    }

    // A window knows the names of its own keys only; a conflict copy's name can sort into another window
    // ("notes.conflict-local-...txt" before "notes.txt"), so one outside it is taken where either side has it.
    private async Task NameConflictsAsync(SyncWindow window, List<PlannedPath> items)
    {
        foreach (var item in items.Where(p => !p.Failed && KeepsBoth(p.Item)).Select(p => p.Item))
        {
            item.ConflictPath = await _conflictNames.NextAsync(item.RelativePath, "local", item.Local!.LastWriteUtc, async name =>
                !window.Holds(name) && (ExistsLocally(name) || await _run.Store.HeadAsync(_run.Prefix + name, _run.Token).ConfigureAwait(false) is not null)).ConfigureAwait(false);
        }
    }

    private bool ExistsLocally(string relativePath)
    {
        var full = LocalScanner.FullPathOf(_run.Root, relativePath);
        return File.Exists(full) || Directory.Exists(full);
    }

    // The decision table's row that keeps both versions (Decide).
    private static bool KeepsBoth(SyncPlanItem item) =>
        !(item.Local is not null && item.Remote is not null && item.SameContent)
        && item.LocalChange is SideChange.Changed or SideChange.Created
        && item.RemoteChange is SideChange.Changed or SideChange.Created;

    /// <summary>
    /// Decides a path again whose upload the store refused because the key no longer holds the version the
    /// plan saw (another writer came between the listing and the upload): from the object as a HEAD finds it
    /// now, by the same table. Returns the transfer to make instead, or null when nothing is left to do (both
    /// sides hold the same content now: recorded as agreed) or the path failed (reported). Never a delete:
    /// the local file is still there.
    /// </summary>
    public async Task<SyncPlanItem?> DecideAgainAsync(SyncPlanItem planned)
    {
        var info = await _run.Store.HeadAsync(planned.Key, _run.Token).ConfigureAwait(false);
        var item = new SyncPlanItem(planned.RelativePath, _run.Prefix, _run.Root)
        {
            FullPath = planned.FullPath,
            Local = planned.Local,
            Baseline = planned.Baseline,
            Hashes = planned.Hashes,
            Remote = info is null ? null : new RemoteObject(planned.Key, info.Size, info.ETag, info.LastModified),
            DecidedAgain = true,
        };
        var path = new PlannedPath(item);
        _changes.Classify(path);
        if (SideChangeDetector.NeedsExamining(path))
        {
            await _changes.ExamineAsync(new List<PlannedPath> { path }).ConfigureAwait(false);
        }

        if (path.Failed)
        {
            return null;
        }

        var plan = new SyncPlan();
        lock (_decideAgainGate)
        {
            // Conflict names are taken from one set for the whole run.
            Decide(path, plan);
        }

        return plan.Transfers.FirstOrDefault();
    }

    // The decision table. Both sides holding the same content needs nothing whatever led there.
    private void Decide(PlannedPath path, SyncPlan plan)
    {
        var item = path.Item;
        var (local, remote) = (item.LocalChange, item.RemoteChange);
        if (item.Local is not null && item.Remote is not null && item.SameContent)
        {
            Identical(item);
            return;
        }

        switch (local, remote)
        {
            case (SideChange.Changed or SideChange.Created, SideChange.Unchanged or SideChange.Absent):
                Transfer(plan, item, SyncStep.Upload, SyncConflict.None);
                break;
            case (SideChange.Changed, SideChange.Deleted):
                // An edit wins over a delete: the local version goes back.
                Transfer(plan, item, SyncStep.Upload, SyncConflict.ChangedLocallyDeletedRemotely);
                break;
            case (SideChange.Unchanged or SideChange.Absent, SideChange.Changed or SideChange.Created):
                Transfer(plan, item, SyncStep.Download, SyncConflict.None);
                break;
            case (SideChange.Deleted, SideChange.Changed):
                Transfer(plan, item, SyncStep.Download, SyncConflict.DeletedLocallyChangedRemotely);
                break;
            case (SideChange.Changed or SideChange.Created, SideChange.Changed or SideChange.Created):
                item.ConflictPath ??= _conflictNames.Next(item.RelativePath, "local", item.Local!.LastWriteUtc);
                Transfer(plan, item, SyncStep.KeepBoth, item.Baseline is null ? SyncConflict.FirstRunDiffers : SyncConflict.BothChanged);
                break;
            case (SideChange.Deleted, SideChange.Unchanged) when !Owned(item):
            case (SideChange.Unchanged, SideChange.Deleted) when !Owned(item):
                LeaveNotOwned(item);
                break;
            case (SideChange.Deleted, SideChange.Unchanged):
                item.Step = SyncStep.DeleteRemote;
                item.Size = item.Remote!.Size;
                plan.Deletes.Add(item);
                break;
            case (SideChange.Unchanged, SideChange.Deleted):
                item.Step = SyncStep.DeleteLocal;
                item.Size = item.Local!.Size;
                plan.Deletes.Add(item);
                break;
            case (SideChange.Deleted or SideChange.Absent, SideChange.Deleted or SideChange.Absent):
                // Gone from both sides: nothing to keep.
                if (!Options.PlanOnly)
                {
                    plan.Forgets.Add(item.RelativePath);
                }

                break;
        }
    }

    // A sync deletes only what it owns: a path its state recorded on both sides at its last run, still as it
    // was then (the object's ETag, the local file's size and time). Two-way, the baseline already means that;
    // one-way, anything else on the destination is left unless an exact mirror was asked for.
    private bool Owned(SyncPlanItem item)
    {
        if (Options.Direction == SyncDirection.Both || Options.Mirror)
        {
            return true;
        }

        var entry = _run.State.EntryFor(item.RelativePath);
        return entry is not null && (item.Remote is { } remote
            ? SideChangeDetector.StillRecorded(remote, entry)
            : entry.Version == item.Local!.Version);
    }

    private void LeaveNotOwned(SyncPlanItem item)
    {
        if (Options.NoDelete)
        {
            return;
        }

        _run.Count(s => s.NotOwned++);
        _notOwnedExample ??= item.RelativePath;
        ChittyLog.Verbose($"Left '{item.RelativePath}': this sync did not put it on the {(item.Remote is not null ? "remote" : "local")} side, or it changed since.");
    }

    // One warning for all of them: the count says how many, the example what kind. A run that changes
    // nothing says it verbosely only, so a sync repeated over a shared prefix does not warn every time.
    private void WarnNotOwned(bool changes)
    {
        var count = _run.Summary.NotOwned;
        if (count == 0)
        {
            return;
        }

        var where = Options.Direction == SyncDirection.Download ? $"in '{_run.Root}'" : $"under '{_run.Store.Bucket}/{_run.Prefix}'";
        (changes ? (Action<string>)ChittyLog.Warning : ChittyLog.Verbose)($"Kept {count} file(s) {where} that the source does not have (e.g. '{_notOwnedExample}'): this sync did not put them there (they belong to other folders, devices or uploads) or they changed since it did. They stay; only -Mirror would delete them.");
    }

    private void Transfer(SyncPlan plan, SyncPlanItem item, SyncStep step, SyncConflict conflict)
    {
        item.Step = step;
        item.Conflict = conflict;
        item.Size = step == SyncStep.Upload ? item.Local!.Size : item.Remote!.Size;
        plan.Transfers.Add(item);
        if (conflict != SyncConflict.None && Options.PlanOnly)
        {
            _run.Summary.PlannedConflicts++;
        }
    }

    private void Identical(SyncPlanItem item)
    {
        _run.Count(s =>
        {
            s.FilesSkipped++;
            s.BytesSkipped += item.Remote!.Size;
        });
        if (!Options.PlanOnly)
        {
            _run.State.Remember(item.RelativePath, item.Hashes!, item.Remote!, transferred: false);
        }

        // Recorded first: the report takes the paths in agreement as they come (SyncReporter.Collect).
        _run.MarkInAgreement(item.RelativePath);
    }
}
