using System;
using System.Collections.Generic;
using ChittyConnect.Filters;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>Which side is the source.</summary>
public enum SyncDirection
{
    /// <summary>The local folder is mirrored to the prefix.</summary>
    Upload,

    /// <summary>The prefix is mirrored to the local folder.</summary>
    Download,

    /// <summary>
    /// Two-way: a change on either side goes to the other, decided against the version both sides had after
    /// they were last synced; a change on both sides keeps both versions.
    /// </summary>
    Both,
}

/// <summary>What a result did (or would do) to which side.</summary>
public enum SyncOperation
{
    /// <summary>Copy the local file to the bucket.</summary>
    Upload,

    /// <summary>Copy the object to the folder.</summary>
    Download,

    /// <summary>Remove from the destination of a one-way sync (the bucket for Upload, the folder for Download).</summary>
    Delete,

    /// <summary>Two-way: remove the local file, deleted on the remote side.</summary>
    DeleteLocal,

    /// <summary>Two-way: remove the object, deleted on the local side.</summary>
    DeleteRemote,

    /// <summary>Two-way: both sides changed; the remote version keeps the name, the local one is saved beside it.</summary>
    KeepBoth,
}

/// <summary>Why a file failed.</summary>
public enum SyncFailureReason
{
    /// <summary>No failure.</summary>
    None,

    /// <summary>The name cannot be written safely here (it leaves the folder, or only its case tells it from another).</summary>
    Refused,

    /// <summary>The local file could not be read (or changed while it was read).</summary>
    ReadFailed,

    /// <summary>The upload or download failed.</summary>
    TransferFailed,

    /// <summary>The delete failed.</summary>
    DeleteFailed,

    /// <summary>The remote object's details, needed to compare it with the local file, could not be read.</summary>
    CompareFailed,
}

/// <summary>Why the deletions of a run were withheld.</summary>
public enum SyncWithholdReason
{
    /// <summary>Nothing was withheld.</summary>
    None,

    /// <summary>Some transfer failed: a delete then could lose the only copy.</summary>
    TransferFailed,

    /// <summary>Some folders could not be read, so their files would look deleted.</summary>
    ScanErrors,

    /// <summary>The source side has no files and -Force was not given.</summary>
    SourceEmpty,

    /// <summary>More deletions were due than -MaxDelete allows.</summary>
    MaxDelete,
}

/// <summary>Why a two-way sync kept both versions of a file.</summary>
public enum SyncConflict
{
    /// <summary>No conflict.</summary>
    None,

    /// <summary>Both sides changed the file differently since the last two-way run.</summary>
    BothChanged,

    /// <summary>The first two-way run found different files under one name on the two sides.</summary>
    FirstRunDiffers,

    /// <summary>Changed locally and deleted on the remote side: the local version is uploaded again.</summary>
    ChangedLocallyDeletedRemotely,

    /// <summary>Deleted locally and changed on the remote side: the remote version is downloaded again.</summary>
    DeletedLocallyChangedRemotely,
}

/// <summary>What happened to one file.</summary>
public enum SyncAction
{
    /// <summary>Copied to the bucket.</summary>
    Uploaded,

    /// <summary>Copied to the folder.</summary>
    Downloaded,

    /// <summary>Removed from the destination because the source no longer has it.</summary>
    Deleted,

    /// <summary>The operation failed; see Error.</summary>
    Failed,

    /// <summary>Plan only: would be uploaded.</summary>
    PlannedUpload,

    /// <summary>Plan only: would be downloaded.</summary>
    PlannedDownload,

    /// <summary>Plan only: would be deleted.</summary>
    PlannedDelete,

    /// <summary>Two-way: the local file was removed (deleted on the remote side).</summary>
    DeletedLocal,

    /// <summary>Two-way: the object was removed (deleted locally).</summary>
    DeletedRemote,

    /// <summary>Two-way: both sides changed; both versions are kept (see Conflict and ConflictPath).</summary>
    Conflict,

    /// <summary>Plan only: the local file would be removed.</summary>
    PlannedDeleteLocal,

    /// <summary>Plan only: the object would be removed.</summary>
    PlannedDeleteRemote,

    /// <summary>Plan only: both versions would be kept.</summary>
    PlannedConflict,
}

/// <summary>What a sync does and how.</summary>
public sealed class SyncOptions
{
    /// <summary>Default of <see cref="MaxDelete"/>: a mass deletion beyond it needs an explicit larger value.</summary>
    public const int DefaultMaxDelete = 100;

    /// <summary>Default of <see cref="MaxDeletePercent"/>: rclone bisync's --max-delete.</summary>
    public const int DefaultMaxDeletePercent = 50;

    /// <summary>Default of <see cref="Transfers"/>.</summary>
    public const int DefaultTransfers = 4;

    /// <summary>Default of <see cref="Source"/>.</summary>
    public const string DefaultSource = "chittyconnect-powershell";

    /// <summary>The local folder (absolute).</summary>
    public string LocalPath { get; set; } = string.Empty;

    /// <summary>The key prefix, e.g. files/&lt;session&gt;; a trailing '/' is added when missing.</summary>
    public string Prefix { get; set; } = string.Empty;

    /// <summary>Upload (default), download or both ways.</summary>
    public SyncDirection Direction { get; set; }

    /// <summary>Leave extra files on the destination alone.</summary>
    public bool NoDelete { get; set; }

    /// <summary>Ignore the cached hashes and read every file.</summary>
    public bool Rehash { get; set; }

    /// <summary>Which relative paths take part; excluded ones are neither copied nor deleted.</summary>
    public FilterRules Filters { get; set; } = FilterRules.Empty;

    /// <summary>Files transferred in parallel.</summary>
    public int Transfers { get; set; } = DefaultTransfers;

    /// <summary>Most deletions one run may make (per side, two-way); when more are planned none is made. -1: no limit.</summary>
    public int MaxDelete { get; set; } = DefaultMaxDelete;

    /// <summary>
    /// Most deletions one run may make on a side, as a percentage of the files that side had at its last sync
    /// (the state's entries); more stops the run before anything changes unless <see cref="Force"/>. 100: no limit.
    /// </summary>
    public int MaxDeletePercent { get; set; } = DefaultMaxDeletePercent;

    /// <summary>
    /// One-way: the destination becomes an exact copy, deleting also what this sync did not put there (or that
    /// changed since). Without it a sync deletes only the files it owns: those its state recorded on both sides
    /// at its last run, still as they were then.
    /// </summary>
    public bool Mirror { get; set; }

    /// <summary>Allow deleting when a side has no files, or more than <see cref="MaxDeletePercent"/> of them (two-way: when either side is empty though files were synced before).</summary>
    public bool Force { get; set; }

    /// <summary>Do not send the sync report.</summary>
    public bool NoReport { get; set; }

    /// <summary>The report's source field.</summary>
    public string Source { get; set; } = DefaultSource;

    /// <summary>Only plan: return the planned actions, change nothing (no transfer, delete, report or state).</summary>
    public bool PlanOnly { get; set; }

    /// <summary>Where the state files live; default: sync-state in the machine's local data folder (<see cref="Configuration.ConfigDirectory.LocalRoot"/>).</summary>
    public string? StateDirectory { get; set; }

    /// <summary>
    /// Download and two-way: the folder the local files a download would replace or a delete would remove are
    /// moved to instead, at their relative paths (as rclone's --backup-dir); a name already taken there gets
    /// ".backup-2" (3, ...) before its extension. Outside the synced folder. Null: they are replaced or deleted.
    /// </summary>
    public string? BackupDirectory { get; set; }

    /// <summary>How long to wait for another sync of the same folder and prefix to finish; zero fails at once.</summary>
    public TimeSpan LockTimeout { get; set; } = TimeSpan.Zero;

    /// <summary>Items per sync-report request.</summary>
    public int ReportBatchSize { get; set; } = 500;

    /// <summary>Files at least this large get their own progress record.</summary>
    public long LargeTransferThreshold { get; set; } = 8L * 1024 * 1024;

    /// <summary>
    /// Default of <see cref="WindowKeys"/>: a window's files, objects and state entries are about a MB, and die
    /// before the collector has promoted many of them to the generation it collects least often (larger windows
    /// leave more garbage there between its collections, which is what a long run's peak memory is made of);
    /// a window still fills the transfers in flight many times over.
    /// </summary>
    internal const int DefaultWindowKeys = 1000;

    /// <summary>
    /// How many keys of each side a window of a windowed run plans at once (<see cref="SyncWindows"/>): the
    /// environment variable <see cref="Configuration.EnvironmentNames.SyncWindowKeys"/>, read once (so that the tests can plan in windows of 2
    /// keys), else <see cref="DefaultWindowKeys"/>. 0 plans every run whole, in one window (the tests' reference).
    /// </summary>
    internal int WindowKeys { get; set; } = WindowKeysOfEnvironment;

    private static readonly int WindowKeysOfEnvironment =
        int.TryParse(Environment.GetEnvironmentVariable(Configuration.EnvironmentNames.SyncWindowKeys), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var keys) && keys > 0
            ? keys
            : DefaultWindowKeys;
}

/// <summary>One file acted on (or planned).</summary>
public sealed class ChittySyncResult
{
    /// <summary>What happened.</summary>
    public SyncAction Action { get; set; }

    /// <summary>Path relative to the folder, '/'-separated.</summary>
    public string RelativePath { get; set; } = string.Empty;

    /// <summary>The object key.</summary>
    public string R2Key { get; set; } = string.Empty;

    /// <summary>Size in bytes.</summary>
    public long Size { get; set; }

    /// <summary>Content SHA-256, when known.</summary>
    public string? Sha256 { get; set; }

    /// <summary>Time the operation took.</summary>
    public TimeSpan Duration { get; set; }

    /// <summary>Why it failed.</summary>
    public string? Error { get; set; }

    /// <summary>The operation done, planned or failed.</summary>
    public SyncOperation Operation { get; set; }

    /// <summary>Why it failed (None when it did not).</summary>
    public SyncFailureReason FailureReason { get; set; }

    /// <summary>Two-way: why both versions were kept (None when they were not).</summary>
    public SyncConflict Conflict { get; set; }

    /// <summary>
    /// Two-way, two edits: the relative path the local version was saved under, beside the remote version
    /// that keeps the name (on both sides after the run).
    /// </summary>
    public string? ConflictPath { get; set; }

    /// <summary>The local file.</summary>
    public string LocalPath { get; set; } = string.Empty;

    /// <summary>Where the local version this download replaced or this delete removed was moved (-BackupDirectory).</summary>
    public string? BackupPath { get; set; }

    /// <summary>The file's last-write time.</summary>
    public DateTimeOffset? Modified { get; set; }

    /// <summary>The bucket the object is in (<see cref="Uri"/> leaves it out, as the service's URIs do).</summary>
    public string Bucket { get; set; } = string.Empty;

    /// <summary>
    /// r2://&lt;key&gt;: the service's URI for the object (what sync reports record and Set-ChittyActiveFile
    /// takes), which names no bucket because the service has one; <see cref="Bucket"/> says which.
    /// </summary>
    public string Uri => "r2://" + R2Key;

    /// <summary>The failure itself.</summary>
    public Exception? Exception { get; set; }

    /// <inheritdoc />
    public override string ToString() => $"{Action} {RelativePath}";
}

/// <summary>What a sync did, in totals.</summary>
public sealed class ChittySyncSummary
{
    public SyncDirection Direction { get; set; }
    public string LocalPath { get; set; } = string.Empty;
    public string Bucket { get; set; } = string.Empty;
    public string Prefix { get; set; } = string.Empty;

    /// <summary>True for a plan (-WhatIf): nothing was changed.</summary>
    public bool PlanOnly { get; set; }

    /// <summary>Files the filters and the scan selected on the source side.</summary>
    public int SourceFiles { get; set; }

    public int FilesUploaded { get; set; }
    public long BytesUploaded { get; set; }
    public int FilesDownloaded { get; set; }
    public long BytesDownloaded { get; set; }
    public int FilesDeleted { get; set; }
    public long BytesDeleted { get; set; }

    /// <summary>Files already identical on both sides.</summary>
    public int FilesSkipped { get; set; }

    /// <summary>Local files moved to -BackupDirectory instead of being replaced or deleted.</summary>
    public int FilesBackedUp { get; set; }
    public long BytesSkipped { get; set; }

    public int PlannedUploads { get; set; }
    public int PlannedDownloads { get; set; }
    public int PlannedDeletes { get; set; }
    public long PlannedBytes { get; set; }

    /// <summary>Failed files, refused keys, scan errors, withheld deletions and a failed report.</summary>
    public int Errors { get; set; }

    /// <summary>Deletions that were due but not made, and why.</summary>
    public int DeletesWithheld { get; set; }
    public string? DeletesWithheldReason { get; set; }

    /// <summary>Why the deletions were withheld, as a value scripts can test.</summary>
    public SyncWithholdReason DeletesWithheldBecause { get; set; }

    /// <summary>
    /// One-way: files on the destination the source does not have that this sync did not put there (or that
    /// changed since it did): left in place. -Mirror deletes them.
    /// </summary>
    public int NotOwned { get; set; }

    /// <summary>Two-way: files whose two versions were both kept.</summary>
    public int Conflicts { get; set; }

    /// <summary>Two-way plan: conflicts the run would keep both versions of.</summary>
    public int PlannedConflicts { get; set; }

    /// <summary>
    /// Uploads the store refused because another writer changed the object after the listing (a conditional
    /// write); each such path was decided again from the object as it is now, and neither version was lost.
    /// </summary>
    public int RemoteChangedDuringRun { get; set; }

    /// <summary>
    /// Uploads not sent because the store refused an earlier one's conditional write (it does not support
    /// conditional writes, so it would refuse each alike): that refusal is the run's one error for them all.
    /// </summary>
    public int UploadsNotSent { get; set; }

    public TimeSpan Elapsed { get; set; }

    /// <summary>When the run began (local time with its offset, as a scheduled task's log shows it).</summary>
    public DateTimeOffset StartTime { get; set; }

    /// <summary>When the run ended, finished or stopped: <see cref="StartTime"/> plus <see cref="Elapsed"/>.</summary>
    public DateTimeOffset EndTime { get; set; }

    /// <summary>Bytes transferred per second of elapsed time.</summary>
    public double BytesPerSecond { get; set; }

    /// <summary>Bytes read to compute hashes (0 on a no-op re-sync).</summary>
    public long BytesHashed { get; set; }

    /// <summary>Files whose content was read to hash them.</summary>
    public int FilesHashed { get; set; }

    /// <summary>
    /// Objects with no usable hash (no single-PUT ETag, sha256 or md5chksum metadata: another tool's upload
    /// in parts) whose content was read to compare it with the local file of the same size.
    /// </summary>
    public int FilesCompared { get; set; }

    /// <summary>Bytes of objects read to compare content: those objects, and the 32-byte headers of encrypted ones.</summary>
    public long BytesCompared { get; set; }

    /// <summary>Storage requests made, by kind.</summary>
    public StoreRequestCounts Requests { get; set; } = new();

    /// <summary>Items the sync report sent and the service confirmed.</summary>
    public int ReportedItems { get; set; }

    /// <summary>The (last) event id the service gave the report.</summary>
    public string? ReportEventId { get; set; }

    /// <summary>The event ids the service gave each batch of the report, in order.</summary>
    public IReadOnlyList<string> ReportEventIds { get; set; } = Array.Empty<string>();

    /// <summary>
    /// True when the run looked at the paths a watch saw change only (their stat and a HEAD each, no listing);
    /// false for a whole run.
    /// </summary>
    public bool PathsOnly { get; set; }

    /// <summary>Why the report failed (it is retried on the next run).</summary>
    public string? ReportError { get; set; }

    /// <summary>Multipart uploads of earlier, interrupted runs that were aborted.</summary>
    public int StaleUploadsAborted { get; set; }

    /// <summary>The state file.</summary>
    public string StatePath { get; set; } = string.Empty;

    /// <summary>Why the cached state was not used, when it was not.</summary>
    public string? StateWarning { get; set; }

    /// <summary>True when nothing went wrong.</summary>
    public bool Success => Errors == 0;

    /// <inheritdoc />
    public override string ToString() => PlanOnly
        ? $"Plan: {PlannedUploads} to upload, {PlannedDownloads} to download, {PlannedDeletes} to delete, " + (Direction == SyncDirection.Both ? $"{PlannedConflicts} conflicts, " : string.Empty) + $"{FilesSkipped} identical"
        : $"{FilesUploaded} uploaded, {FilesDownloaded} downloaded, {FilesDeleted} deleted, " + (Direction == SyncDirection.Both ? $"{Conflicts} conflicts, " : string.Empty) + $"{FilesSkipped} identical, {Errors} errors in {Elapsed.TotalSeconds:0.0} s"
            + (FilesCompared > 0 ? $" ({FilesCompared} objects without a usable hash compared by content: {BytesCompared} bytes read)" : string.Empty);
}

/// <summary>Where a sync is.</summary>
public enum SyncPhase
{
    Scanning,
    Listing,
    Comparing,
    Transferring,
    Deleting,
    Reporting,
    Done,
}

/// <summary>A progress snapshot.</summary>
public sealed class SyncProgress
{
    public SyncPhase Phase { get; set; }
    public int FilesDone { get; set; }
    public int FilesTotal { get; set; }
    public long BytesDone { get; set; }
    public long BytesTotal { get; set; }
    public double BytesPerSecond { get; set; }
    public TimeSpan? Eta { get; set; }

    /// <summary>Large transfers under way (and those just finished, with Completed set).</summary>
    public IReadOnlyList<SyncTransferProgress> Transfers { get; set; } = Array.Empty<SyncTransferProgress>();
}

/// <summary>Progress of one large transfer.</summary>
public sealed class SyncTransferProgress
{
    /// <summary>A number stable for the transfer's life (for progress record ids).</summary>
    public int Id { get; set; }
    public string RelativePath { get; set; } = string.Empty;
    public long BytesDone { get; set; }
    public long BytesTotal { get; set; }
    public bool Completed { get; set; }
}

/// <summary>A sync that cannot start or go on (folder missing, locked, bad options).</summary>
public sealed class SyncException : Exception
{
    public SyncException(string message, string errorId, Exception? inner = null)
        : base(message, inner) => ErrorId = errorId;

    /// <summary>
    /// A stable id: SyncSourceMissing, SyncPathNotFolder, SyncSideEmpty, SyncTooManyDeletes, SyncLocked,
    /// SyncPrefixInUse (another folder of this machine writes to the prefix), SyncInvalidOptions (a bad option or prefix).
    /// </summary>
    public string ErrorId { get; }
}
