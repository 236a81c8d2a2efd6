using System;
using System.Collections.Generic;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>What the plan does to one path.</summary>
internal enum SyncStep
{
    /// <summary>The local version goes to the bucket.</summary>
    Upload,

    /// <summary>The remote version goes to the folder.</summary>
    Download,

    /// <summary>The local file is removed.</summary>
    DeleteLocal,

    /// <summary>The object is removed.</summary>
    DeleteRemote,

    /// <summary>Both changed: the local version moves to a conflict name and is uploaded, the remote one is downloaded to the name.</summary>
    KeepBoth,
}

/// <summary>How one side of a path stands against the version both sides last agreed on.</summary>
internal enum SideChange
{
    /// <summary>Not there, and not there last time either (or never synced).</summary>
    Absent,

    /// <summary>Still the agreed version.</summary>
    Unchanged,

    /// <summary>A different version from the agreed one.</summary>
    Changed,

    /// <summary>There, with no agreed version to compare with.</summary>
    Created,

    /// <summary>Gone since it was agreed.</summary>
    Deleted,
}

/// <summary>One path of the plan, with what is known of both sides.</summary>
/// <remarks>
/// A plan pairs every path of the folder, so the key and the full path are made from the run's prefix and
/// folder (one string each for all items) when asked for, not kept.
/// </remarks>
internal sealed class SyncPlanItem
{
    private readonly string _prefix;
    private readonly string _root;
    private string? _fullPath;

    /// <summary>The path <paramref name="relativePath"/> under the key prefix <paramref name="prefix"/> and the folder <paramref name="root"/>.</summary>
    public SyncPlanItem(string relativePath, string prefix, string root)
    {
        RelativePath = relativePath;
        _prefix = prefix;
        _root = root;
    }

    /// <summary>'/'-separated, relative to the folder and the prefix.</summary>
    public string RelativePath { get; }

    public string Key => _prefix + RelativePath;

    /// <summary>The local file's full path (where a download is written): the relative path in the folder unless set otherwise.</summary>
    public string FullPath
    {
        get => _fullPath ?? LocalScanner.FullPathOf(_root, RelativePath);
        set => _fullPath = value;
    }

    /// <summary>Whether <see cref="FullPath"/> is where <paramref name="file"/> is, compared without making either path.</summary>
    public bool IsAt(LocalFile file) =>
        _fullPath is null ? string.Equals(_root, file.Root, System.StringComparison.Ordinal) && string.Equals(RelativePath, file.RelativePath, System.StringComparison.Ordinal)
        : string.Equals(_fullPath, file.FullPath, System.StringComparison.Ordinal);

    /// <summary>The size of the version the step moves (or removes).</summary>
    public long Size { get; set; }

    public LocalFile? Local { get; set; }

    public RemoteObject? Remote { get; set; }

    /// <summary>The version both sides had after the last sync of this path, when there is one.</summary>
    public SyncStateEntry? Baseline { get; set; }

    /// <summary>Hashes of the local file known before the transfer (from the cache or the compare step), keyed to the stat they belong to.</summary>
    public SyncStateEntry? Hashes { get; set; }

    public SideChange LocalChange { get; set; }

    public SideChange RemoteChange { get; set; }

    /// <summary>True when both sides hold the same content (checked only when it decides something).</summary>
    public bool SameContent { get; set; }

    public SyncStep Step { get; set; }

    public SyncConflict Conflict { get; set; }

    /// <summary>For <see cref="SyncStep.KeepBoth"/>: the relative path the local version is saved under.</summary>
    public string? ConflictPath { get; set; }

    /// <summary>Where the local version the step replaced or removed was moved (-BackupDirectory), once it was.</summary>
    public string? BackupPath { get; set; }

    /// <summary>
    /// True once the path was decided again because its upload found the object changed since the listing; it is
    /// not decided a third time (a key written again meanwhile is synced by the next run).
    /// </summary>
    public bool DecidedAgain { get; set; }
}

/// <summary>What a run will do: transfers first, then deletes, each sorted by path.</summary>
internal sealed class SyncPlan
{
    public List<SyncPlanItem> Transfers { get; } = new();

    public List<SyncPlanItem> Deletes { get; } = new();

    /// <summary>Paths gone from both sides, whose entries the state forgets once the plan is final.</summary>
    public List<string> Forgets { get; } = new();

    /// <summary>True when a guard (-MaxDelete, an empty source, scan errors) held deletes back: an error of the run.</summary>
    public bool DeletesWithheld { get; set; }
}
