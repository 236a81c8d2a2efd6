using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using ChittyConnect.Hashing;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>
/// How each side of a path stands against the version both last agreed on (<see cref="SideChange"/>): from
/// what costs nothing first (the stat, the listed ETag), then, for what that cannot settle, from the file's
/// hashes, the object's hash metadata or its content.
/// </summary>
internal sealed class SideChangeDetector
{
    private readonly SyncRun _run;

    public SideChangeDetector(SyncRun run) => _run = run;

    private SyncOptions Options => _run.Options;

    /// <summary>How each side of <paramref name="path"/> stands, as far as the listing and the stat tell.</summary>
    public void Classify(PlannedPath path)
    {
        if (Options.Direction == SyncDirection.Both)
        {
            ClassifyAgainstBaseline(path);
        }
        else
        {
            ClassifyOneWay(path);
        }
    }

    /// <summary>True when the listing and the stat left <paramref name="path"/> undecided: <see cref="ExamineAsync"/> settles it.</summary>
    public static bool NeedsExamining(PlannedPath path) => path.LocalUnsettled || path.RemoteUnsettled || NeedsContentCompare(path);

    /// <summary>The object is still the version the entry recorded: its ETag, or (single part) the MD5 the entry holds.</summary>
    public static bool StillRecorded(RemoteObject remote, SyncStateEntry entry) =>
        entry.RemoteETagIs(remote) || (!remote.IsMultipartETag && entry.Md5Length > 0 && entry.Md5Is(remote));

    // One-way: the source side counts as changed whenever it has the file, the destination as unchanged, so
    // the source wins.
    private void ClassifyOneWay(PlannedPath path)
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

    // Content decides only between two versions of the same size that the table would otherwise move.
    private static bool NeedsContentCompare(PlannedPath path)
    {
        var item = path.Item;
        return !path.LocalUnsettled && !path.RemoteUnsettled && item.Local is not null && item.Remote is not null && item.Local.Size == item.Remote.Size
            && (IsNew(item.LocalChange) || IsNew(item.RemoteChange));
    }

    private static bool IsNew(SideChange change) => change is SideChange.Changed or SideChange.Created;

    /// <summary>
    /// Reads what the listing and the stat could not tell, in parallel: the sides still unsettled against
    /// the baseline, then, for two versions of the same size the table would otherwise move, whether their
    /// content is the same. A path whose file or object could not be read is reported and marked failed.
    /// </summary>
    public async Task ExamineAsync(List<PlannedPath> paths)
    {
        await _run.ForEachAsync(paths, Options.Transfers, async path =>
        {
            var item = path.Item;
            try
            {
                if (path.LocalUnsettled)
                {
                    item.Hashes ??= await _run.HashAsync(item.Local!).ConfigureAwait(false);
                    item.LocalChange = item.Hashes.SameContentAs(item.Baseline!) ? SideChange.Unchanged : SideChange.Changed;
                }

                if (path.RemoteUnsettled)
                {
                    // A multipart ETag is not the MD5 of the content: the uploader's sha256 (the module's) or
                    // md5chksum (rclone's) metadata decides.
                    var info = await _run.Store.HeadAsync(item.Remote!.Key, _run.Token).ConfigureAwait(false);
                    var baseline = item.Baseline!;
                    var same = info?.Sha256 is not null ? baseline.Sha256Is(info.Sha256) : info?.ContentMd5 is not null && baseline.Md5Is(info.ContentMd5);
                    item.RemoteChange = same ? SideChange.Unchanged : SideChange.Changed;
                }

                if (item.LocalChange == SideChange.Unchanged && item.RemoteChange == SideChange.Unchanged)
                {
                    item.SameContent = true;
                }
                else if (NeedsContentCompare(path))
                {
                    item.Hashes ??= await _run.HashAsync(item.Local!).ConfigureAwait(false);
                    item.SameContent = await SameContentAsync(item.Remote!, item.Local!, item.Hashes).ConfigureAwait(false);
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
    private async Task<bool> SameContentAsync(RemoteObject remote, LocalFile local, SyncStateEntry hashes)
    {
        if (hashes.RemoteETagIs(remote))
        {
            return true;
        }

        var compared = await _run.Store.CompareAsync(remote, local.FullPath, new ContentHashes(hashes.Sha256, hashes.Md5, hashes.Size), _run.Token).ConfigureAwait(false);
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
}
