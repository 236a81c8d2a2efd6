using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>Joins what the inventory found on each side, and the state's baseline, into one path per name.</summary>
internal sealed class SyncPairing
{
    private readonly SyncRun _run;

    public SyncPairing(SyncRun run) => _run = run;

    private SyncOptions Options => _run.Options;

    // Joins the two sides (and the baseline, two-way) by name, and gives the names conflict copies must not
    // take. Where the file system ignores case (Windows, macOS), "Report.txt" and "report.txt" are one file:
    // a local "Report.txt" stands for a remote "report.txt" (else a mirror would delete it), and two keys
    // differing only by case cannot both be written, so both are refused.
    public (List<PlannedPath> Paths, ConflictNames Names) Pair(SyncInventory inventory, List<(string RelativePath, SyncStateEntry Entry)>? baseline)
    {
        var writesLocally = Options.Direction != SyncDirection.Upload;
        var names = writesLocally && _run.IgnoresCase() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
        var byName = new Dictionary<string, PlannedPath>(names);
        var refused = new HashSet<string>(names);
        // Keys differ ordinally, so only where case is ignored can two of them collide.
        var colliding = names == StringComparer.Ordinal
            ? new HashSet<string>(StringComparer.Ordinal)
            : new HashSet<string>(inventory.Remote.Keys.GroupBy(k => k, names).Where(g => g.Count() > 1).SelectMany(g => g), StringComparer.Ordinal);
        foreach (var pair in inventory.Remote.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            if (inventory.IsSkippedLocally(pair.Key))
            {
                // The scan warned of the link or special file once; what lies there is unknown locally.
                continue;
            }

            var item = new SyncPlanItem(pair.Key, _run.Prefix, _run.Root) { Remote = pair.Value };
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

                if (resolved != item.FullPath)
                {
                    item.FullPath = resolved;
                }
            }

            byName[pair.Key] = new PlannedPath(item);
        }

        foreach (var file in inventory.Local.Values.OrderBy(f => f.RelativePath, StringComparer.Ordinal))
        {
            if (byName.TryGetValue(file.RelativePath, out var path))
            {
                // A second local name that differs only by case cannot exist where case is ignored.
                if (path.Item.Local is null)
                {
                    path.Item.Local = file;
                    if (!writesLocally && !path.Item.IsAt(file))
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

            byName[file.RelativePath] = new PlannedPath(new SyncPlanItem(file.RelativePath, _run.Prefix, _run.Root) { Local = file });
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
                byName[rel] = new PlannedPath(new SyncPlanItem(rel, _run.Prefix, _run.Root) { Baseline = entry });
            }
        }

        var paths = byName.Values.ToList();
        foreach (var path in paths.Where(p => p.Item.Local is not null))
        {
            path.Item.Hashes = Options.Rehash ? null : _run.State.CachedHashes(path.Item.Local!);
        }

        return (paths, new ConflictNames(byName.Keys, names));
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
}
