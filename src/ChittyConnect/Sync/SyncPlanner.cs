using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using ChittyConnect.Diagnostics;
using ChittyConnect.Hashing;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>
/// Turns what is on both sides now (and what the state remembers) into a plan. Every direction goes through
/// one decision table over how each side stands against the version both last agreed on: a one-way sync
/// is the case where the source side always counts as changed and the destination as unchanged, so the
/// source wins and nothing conflicts.
/// </summary>
internal sealed class SyncPlanner
{
    private readonly SyncRun _run;
    private readonly object _decideAgainGate = new();
    private HashSet<string> _taken = new(StringComparer.Ordinal);
    private string? _notOwnedExample;

    public SyncPlanner(SyncRun run) => _run = run;

    private SyncOptions Options => _run.Options;

    /// <summary>Plans the run; refused names are reported (and counted as errors) here.</summary>
    public async Task<SyncPlan> PlanAsync(SyncInventory inventory)
    {
        _run.Summary.SourceFiles = Options.Direction == SyncDirection.Download ? inventory.Remote.Count : inventory.Local.Count;
        var twoWay = Options.Direction == SyncDirection.Both;
        // An entry at or under a skipped link or special file is unknown locally, not deleted: kept, not decided on.
        var selected = _run.State.Entries().Where(e => Options.Filters.IncludeFileAndParents(e.RelativePath) && !inventory.IsSkippedLocally(e.RelativePath)).ToList();
        // A run over some paths decides those paths only; the guards still weigh its deletes against every file synced.
        var entries = inventory.IsWhole ? selected : selected.Where(e => inventory.Covers(e.RelativePath)).ToList();
        var baseline = twoWay ? entries : null;
        if (twoWay)
        {
            RefuseEmptySide(inventory, selected.Count);
        }

        _run.Progress.Phase(SyncPhase.Comparing);
        var items = Pair(inventory, baseline);
        foreach (var item in items)
        {
            if (twoWay)
            {
                ClassifyAgainstBaseline(item);
            }
            else
            {
                Classify(item);
            }
        }

        await ExamineAsync(items.Where(p => p.LocalUnsettled || p.RemoteUnsettled || NeedsContentCompare(p)).ToList()).ConfigureAwait(false);
        var plan = new SyncPlan();
        foreach (var item in items.Where(i => !i.Failed))
        {
            Decide(item, plan);
        }

        plan.Transfers.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        plan.Deletes.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        WarnNotOwned(plan);
        if (twoWay)
        {
            GuardTwoWayDeletes(plan, inventory.ScanErrors, selected.Count);
        }
        else
        {
            var download = Options.Direction == SyncDirection.Download;
            var sourceEmpty = download ? inventory.RemoteEmpty : inventory.LocalEmpty;
            // The files the destination had at its last sync; an exact mirror may also delete the others there now.
            var destinationFiles = Math.Max(selected.Count, Options.Mirror ? (download ? inventory.Local.Count : inventory.Remote.Count) : 0);
            GuardDeletes(plan, sourceEmpty, inventory.ScanErrors, destinationFiles);
        }

        return plan;
    }

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
        var item = new SyncPlanItem(planned.RelativePath, planned.Key, planned.FullPath)
        {
            Local = planned.Local,
            Baseline = planned.Baseline,
            Hashes = planned.Hashes,
            Remote = info is null ? null : new RemoteObject(planned.Key, info.Size, info.ETag, info.LastModified),
            DecidedAgain = true,
        };
        var path = new PlannedPath(item);
        if (Options.Direction == SyncDirection.Both)
        {
            ClassifyAgainstBaseline(path);
        }
        else
        {
            Classify(path);
        }

        if (path.LocalUnsettled || path.RemoteUnsettled || NeedsContentCompare(path))
        {
            await ExamineAsync(new List<PlannedPath> { path }).ConfigureAwait(false);
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

    // An unmounted drive, an emptied folder or a wrong bucket looks like "every file deleted" on that side;
    // propagating it would wipe the other side, so such a run needs -Force.
    private void RefuseEmptySide(SyncInventory inventory, int baselineCount)
    {
        if (baselineCount == 0)
        {
            return;
        }

        if (Options.Force && inventory.FolderExists)
        {
            return;
        }

        if (!inventory.FolderExists)
        {
            // A typo or a drive not mounted: no -Force turns that into deleting everything it synced.
            throw new SyncException($"The folder '{_run.Root}' does not exist, but {baselineCount} file(s) were synced from it: check the path (a typo, or a drive not mounted?). Nothing was changed.", "SyncSourceMissing");
        }

        if (inventory.LocalEmpty && inventory.Remote.Count > 0)
        {
            throw new SyncException($"The folder '{_run.Root}' has no files, but {baselineCount} file(s) were synced before: a two-way sync would delete them from '{_run.Store.Bucket}/{_run.Prefix}'. (An emptied drive must not wipe the remote copy; -Force allows it.)", "SyncSideEmpty");
        }

        if (inventory.RemoteEmpty && inventory.Local.Count > 0)
        {
            throw new SyncException($"The prefix '{_run.Store.Bucket}/{_run.Prefix}' has no objects, but {baselineCount} file(s) were synced before: a two-way sync would delete them from '{_run.Root}'. (A wrong bucket or prefix must not wipe the folder; -Force allows it.)", "SyncSideEmpty");
        }
    }

    // Joins the two sides by name. Where the file system ignores case (Windows, macOS), "Report.txt" and
    // "report.txt" are one file: a local "Report.txt" stands for a remote "report.txt" (else a mirror would
    // delete it), and two keys differing only by case cannot both be written, so both are refused.
    private List<PlannedPath> Pair(SyncInventory inventory, List<(string RelativePath, SyncStateEntry Entry)>? baseline)
    {
        var writesLocally = Options.Direction != SyncDirection.Upload;
        var names = writesLocally && _run.IgnoresCase() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        var byName = new Dictionary<string, PlannedPath>(names);
        var refused = new HashSet<string>(names);
        var colliding = new HashSet<string>(inventory.Remote.Keys.GroupBy(k => k, names).Where(g => g.Count() > 1).SelectMany(g => g), StringComparer.Ordinal);
        foreach (var pair in inventory.Remote.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (inventory.IsSkippedLocally(pair.Key))
            {
                // The scan warned of the link or special file once; what lies there is unknown locally.
                continue;
            }

            var full = Path.Combine(_run.Root, pair.Key);
            if (writesLocally)
            {
                string? problem = null;
                var resolved = colliding.Contains(pair.Key) ? null : LocalScanner.ResolveInside(_run.Root, pair.Key, out problem);
                if (colliding.Contains(pair.Key))
                {
                    problem = "another key differs from it only by case, and this file system does not tell such names apart; rename one of them";
                }

                if (resolved is null)
                {
                    Refuse(pair.Value, problem);
                    refused.Add(pair.Key);
                    continue;
                }

                full = resolved;
            }

            byName[pair.Key] = new PlannedPath(new SyncPlanItem(pair.Key, pair.Value.Key, full) { Remote = pair.Value });
        }

        foreach (var file in inventory.Local.Values.OrderBy(f => f.RelativePath, StringComparer.Ordinal))
        {
            if (byName.TryGetValue(file.RelativePath, out var path))
            {
                // A second local name that differs only by case cannot exist where case is ignored.
                if (path.Item.Local is null)
                {
                    path.Item.Local = file;
                    if (!writesLocally)
                    {
                        path.Item.FullPath = file.FullPath;
                    }
                }

                continue;
            }

            if (refused.Contains(file.RelativePath))
            {
                // Its remote counterpart was refused: deleting the local file would lose it.
                continue;
            }

            byName[file.RelativePath] = new PlannedPath(new SyncPlanItem(file.RelativePath, _run.Prefix + file.RelativePath, file.FullPath) { Local = file });
        }

        foreach (var (rel, entry) in baseline ?? new List<(string, SyncStateEntry)>())
        {
            if (byName.TryGetValue(rel, out var path))
            {
                path.Item.Baseline ??= entry;
            }
            else if (!refused.Contains(rel))
            {
                // On neither side any more: the entry is forgotten.
                byName[rel] = new PlannedPath(new SyncPlanItem(rel, _run.Prefix + rel, Path.Combine(_run.Root, rel)) { Baseline = entry });
            }
        }

        _taken = new HashSet<string>(byName.Keys, names);
        var paths = byName.Values.ToList();
        foreach (var path in paths.Where(p => p.Item.Local is not null))
        {
            path.Item.Hashes = Options.Rehash ? null : _run.State.CachedHashes(path.Item.Local!);
        }

        return paths;
    }

    private void Refuse(RemoteObject remote, string? problem)
    {
        _run.Count(s => s.Errors++);
        var message = $"Refused to download '{remote.Key}': {problem}.";
        _run.Emit(new ChittySyncResult
        {
            Action = SyncAction.Failed,
            Operation = SyncOperation.Download,
            FailureReason = SyncFailureReason.Refused,
            RelativePath = remote.Key.Substring(_run.Prefix.Length),
            R2Key = remote.Key,
            Size = remote.Size,
            Error = message,
            Exception = new ObjectStoreException(message, remote.Key, "UnsafeKey"),
        });
    }

    // How each side stands. One-way: the source side counts as changed whenever it has the file, the
    // destination as unchanged, so the source wins.
    private void Classify(PlannedPath path)
    {
        var item = path.Item;
        var hasLocal = item.Local is not null;
        var hasRemote = item.Remote is not null;
        if (Options.Direction == SyncDirection.Upload)
        {
            item.LocalChange = hasLocal ? SideChange.Changed : hasRemote ? SideChange.Deleted : SideChange.Absent;
            item.RemoteChange = hasRemote ? SideChange.Unchanged : SideChange.Absent;
        }
        else
        {
            item.RemoteChange = hasRemote ? SideChange.Changed : hasLocal ? SideChange.Deleted : SideChange.Absent;
            item.LocalChange = hasLocal ? SideChange.Unchanged : SideChange.Absent;
        }
    }

    // Two-way: each side against the baseline, from what costs nothing (the stat, the listed ETag); a side
    // that cannot be settled so is settled by ExamineAsync (the file's hashes, the object's sha256 metadata).
    private void ClassifyAgainstBaseline(PlannedPath path)
    {
        var item = path.Item;
        var baseline = item.Baseline;
        if (item.Local is null)
        {
            item.LocalChange = baseline is null ? SideChange.Absent : SideChange.Deleted;
        }
        else if (baseline is null)
        {
            item.LocalChange = SideChange.Created;
        }
        else if (!Options.Rehash && baseline.Version == item.Local.Version)
        {
            item.LocalChange = SideChange.Unchanged;
            item.Hashes = baseline;
        }
        else if (baseline.Size != item.Local.Size)
        {
            item.LocalChange = SideChange.Changed;
        }
        else
        {
            path.LocalUnsettled = true;
        }

        if (item.Remote is null)
        {
            item.RemoteChange = baseline is null ? SideChange.Absent : SideChange.Deleted;
        }
        else if (baseline is null)
        {
            item.RemoteChange = SideChange.Created;
        }
        else if (StillRecorded(item.Remote, baseline))
        {
            item.RemoteChange = SideChange.Unchanged;
        }
        else if (item.Remote.Size != baseline.Size || !item.Remote.IsMultipartETag)
        {
            item.RemoteChange = SideChange.Changed;
        }
        else
        {
            path.RemoteUnsettled = true;
        }

        item.SameContent = item.LocalChange == SideChange.Unchanged && item.RemoteChange == SideChange.Unchanged;
    }

    // The object is still the version the entry recorded: its ETag, or (single part) the MD5 the entry holds.
    private static bool StillRecorded(RemoteObject remote, SyncStateEntry entry) =>
        remote.ETag == entry.RemoteETag || (!remote.IsMultipartETag && entry.Md5.Length > 0 && remote.ETag == entry.Md5);

    // Content decides only between two versions of the same size that the table would otherwise move.
    private static bool NeedsContentCompare(PlannedPath path)
    {
        var item = path.Item;
        return !path.LocalUnsettled && !path.RemoteUnsettled && item.Local is not null && item.Remote is not null && item.Local.Size == item.Remote.Size
            && (IsNew(item.LocalChange) || IsNew(item.RemoteChange));
    }

    private static bool IsNew(SideChange change) => change is SideChange.Changed or SideChange.Created;

    // Reads what the listing and the stat could not tell, in parallel: the sides still unsettled against
    // the baseline, then, for two versions of the same size the table would otherwise move, whether their
    // content is the same.
    private async Task ExamineAsync(List<PlannedPath> paths)
    {
        await _run.ForEachAsync(paths, Options.Transfers, async path =>
        {
            var item = path.Item;
            try
            {
                if (path.LocalUnsettled)
                {
                    item.Hashes ??= await _run.HashAsync(item.Local!).ConfigureAwait(false);
                    item.LocalChange = item.Hashes.Sha256 == item.Baseline!.Sha256 ? SideChange.Unchanged : SideChange.Changed;
                }

                if (path.RemoteUnsettled)
                {
                    // A multipart ETag is not the MD5 of the content: the uploader's sha256 (the module's) or
                    // md5chksum (rclone's) metadata decides.
                    var info = await _run.Store.HeadAsync(item.Remote!.Key, _run.Token).ConfigureAwait(false);
                    var baseline = item.Baseline!;
                    var same = info?.Sha256 is not null ? info.Sha256 == baseline.Sha256 : info?.ContentMd5 is not null && info.ContentMd5 == baseline.Md5;
                    item.RemoteChange = same ? SideChange.Unchanged : SideChange.Changed;
                }

                if (item.LocalChange == SideChange.Unchanged && item.RemoteChange == SideChange.Unchanged)
                {
                    item.SameContent = true;
                }
                else if (NeedsContentCompare(path))
                {
                    item.Hashes ??= await _run.HashAsync(item.Local!).ConfigureAwait(false);
                    item.SameContent = await SameContentAsync(item.Remote!, item.Local!.FullPath, item.Hashes).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                path.Failed = true;
                item.Step = Options.Direction == SyncDirection.Download ? SyncStep.Download : SyncStep.Upload;
                _run.Fail(item, SyncFailureReason.ReadFailed, ex, TimeSpan.Zero);
            }
            catch (ObjectStoreException ex)
            {
                // The remote object's details could not be read (a failed HEAD): this path cannot be decided
                // now, the others can.
                path.Failed = true;
                item.Step = Options.Direction == SyncDirection.Download ? SyncStep.Download : SyncStep.Upload;
                _run.Fail(item, SyncFailureReason.CompareFailed, ex, TimeSpan.Zero);
            }
        }).ConfigureAwait(false);
    }

    // The ETag this content was last seen with settles it for free; else the store decides from the object's
    // hashes, or (an object with none) from its content, and what that read is counted in the summary.
    private async Task<bool> SameContentAsync(RemoteObject remote, string path, SyncStateEntry hashes)
    {
        if (hashes.RemoteETag is not null && remote.ETag == hashes.RemoteETag)
        {
            return true;
        }

        var compared = await _run.Store.CompareAsync(remote, path, new ContentHashes(hashes.Sha256, hashes.Md5, hashes.Size), _run.Token).ConfigureAwait(false);
        if (compared.RemoteBytesRead > 0 || compared.LocalBytesRead > 0)
        {
            _run.Count(s =>
            {
                s.FilesCompared += compared.By == ComparedBy.Content ? 1 : 0;
                s.BytesCompared += compared.RemoteBytesRead;
                s.BytesHashed += compared.LocalBytesRead;
            });
        }

        return compared.Same;
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
                item.ConflictPath = ConflictName(item.RelativePath, "local", item.Local!.LastWriteUtc);
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
                    _run.State.Forget(item.RelativePath);
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
            ? StillRecorded(remote, entry)
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
    private void WarnNotOwned(SyncPlan plan)
    {
        var count = _run.Summary.NotOwned;
        if (count == 0)
        {
            return;
        }

        var where = Options.Direction == SyncDirection.Download ? $"in '{_run.Root}'" : $"under '{_run.Store.Bucket}/{_run.Prefix}'";
        var changes = plan.Transfers.Count + plan.Deletes.Count > 0;
        (changes ? (Action<string>)ChittyLog.Warning : ChittyLog.Verbose)($"Kept {count} file(s) {where} that the source does not have (e.g. '{_notOwnedExample}'): this sync did not put them there (they belong to other folders, devices or uploads) or they changed since it did. They stay; only -Mirror would delete them.");
    }

    // "notes.txt" -> "notes.conflict-local-20261127T115900Z.txt": which side's version it is and when it was
    // last written (UTC); the extension stays last, so filters and file associations still apply. A name
    // taken on either side gets a counter.
    private string ConflictName(string relativePath, string side, DateTime modifiedUtc)
    {
        var slash = relativePath.LastIndexOf('/');
        var folder = relativePath.Substring(0, slash + 1);
        var name = relativePath.Substring(slash + 1);
        var dot = name.LastIndexOf('.');
        var (stem, extension) = dot > 0 ? (name.Substring(0, dot), name.Substring(dot)) : (name, string.Empty);
        var stamp = ".conflict-" + side + "-" + modifiedUtc.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        for (var n = 1; ; n++)
        {
            var candidate = folder + stem + stamp + (n == 1 ? string.Empty : "-" + n.ToString(System.Globalization.CultureInfo.InvariantCulture)) + extension;
            if (_taken.Add(candidate))
            {
                return candidate;
            }
        }
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
        _run.MarkInAgreement(item.RelativePath);
        if (!Options.PlanOnly)
        {
            _run.State.Remember(item.RelativePath, item.Hashes!, item.Remote!.ETag, transferred: false);
        }
    }

    private void GuardDeletes(SyncPlan plan, bool sourceEmpty, int scanErrors, int destinationFiles)
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
            RefuseMassDeletion(deletes.Count, destinationFiles, Options.Direction == SyncDirection.Upload ? $"'{_run.Store.Bucket}/{_run.Prefix}'" : $"'{_run.Root}'");
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
    private void RefuseMassDeletion(int deletes, int sideFiles, string side)
    {
        if (Options.Force || Options.MaxDeletePercent >= 100 || deletes == 0 || sideFiles == 0 || deletes * 100L <= (long)Options.MaxDeletePercent * sideFiles)
        {
            return;
        }

        var percent = deletes * 100L / sideFiles;
        throw new SyncException($"This run would delete {deletes} of the {sideFiles} file(s) {side} had at its last sync ({percent}%), more than -MaxDeletePercent {Options.MaxDeletePercent}%. Nothing was changed. If these deletions are meant, run again with -Force (or a larger -MaxDeletePercent).", "SyncTooManyDeletes");
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

    // A path on its way through the planner; Failed once its content could not be read.
    private sealed class PlannedPath
    {
        public PlannedPath(SyncPlanItem item) => Item = item;

        public SyncPlanItem Item { get; }

        public bool Failed { get; set; }

        /// <summary>The local file's stat differs from the baseline's at the same size: its hashes decide.</summary>
        public bool LocalUnsettled { get; set; }

        /// <summary>The object's multipart ETag differs from the baseline's at the same size: its sha256 metadata decides.</summary>
        public bool RemoteUnsettled { get; set; }
    }
}
