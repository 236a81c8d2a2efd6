using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Management.Automation;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Threading.Tasks;
using System.Security;
using ChittyConnect.Configuration;
using ChittyConnect.Crypt;
using ChittyConnect.Filters;
using ChittyConnect.Storage;
using ChittyConnect.Sync;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>
/// Mirrors a folder to the session's R2 prefix (or the prefix to a folder) by content, then sends the
/// sync report. Writes one ChittyConnect.Sync.ChittySyncResult per file acted on; the summary goes to the
/// information stream (tag ChittySyncSummary), and with -Summary it is the only output object instead.
/// </summary>
[Cmdlet(VerbsData.Sync, "ChittyFolder", SupportsShouldProcess = true, ConfirmImpact = ConfirmImpact.Medium)]
[OutputType(typeof(ChittySyncResult))]
[OutputType(typeof(ChittySyncSummary))]
public sealed partial class SyncChittyFolderCommand : ChittyCmdletBase
{
    private const string Activity = "Sync-ChittyFolder";
    private readonly Dictionary<int, string> _openChildren = new();
    private int _activityId;
    private int _results;
    private bool _saidNothingThere;
    private StreamWriter? _log;

    /// <summary>The local folder.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "FullName", "LiteralPath")]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = string.Empty;

    /// <summary>The session whose prefix (files/&lt;session&gt;/sync/&lt;folder name&gt;/) is synced; default: the connection's.</summary>
    [Parameter(Position = 1)]
    [ValidateNotNullOrEmpty]
    [Internal.ValidateSessionId]
    public string? SessionId { get; set; }

    /// <summary>The key prefix, instead of files/&lt;session&gt;/sync/&lt;folder name&gt;/.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Prefix { get; set; }

    /// <summary>Upload (folder to R2, default), Download (R2 to folder) or Both (changes each way, conflicts keep both versions).</summary>
    [Parameter]
    public SyncDirection Direction { get => (SyncDirection)_direction; set => _direction = (int)value; }

    // An int, not the enum: a field of a library type would make PowerShell need the library while it
    // lists the module's types, before ModuleInitializer can resolve it (ModuleLoadContext).
    private int _direction = (int)SyncDirection.Upload;

    /// <summary>Keep files on the destination that the source no longer has.</summary>
    [Parameter]
    public SwitchParameter NoDelete { get; set; }

    /// <summary>Read and hash every file instead of trusting the cached hashes.</summary>
    [Parameter]
    public SwitchParameter Rehash { get; set; }

    /// <summary>rclone filter files of exclude patterns (the guide's ~/.rcloneignore).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ExcludeFrom { get; set; }

    /// <summary>rclone exclude patterns.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Exclude { get; set; }

    /// <summary>rclone include patterns: only matching files take part.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Include { get; set; }

    /// <summary>
    /// Requests in flight (and files transferred in parallel), fixed. Not given: chosen by how the link answers,
    /// from 4 up to 64, parts of large files bounded to 256 MiB in flight, halved when the store says slow down.
    /// </summary>
    [Parameter]
    [ValidateRange(1, 64)]
    public int Transfers { get; set; }

    private bool TransfersFixed => MyInvocation.BoundParameters.ContainsKey(nameof(Transfers));

    /// <summary>Bytes per second across all transfers, as rclone's --bwlimit takes it (1M, 512K, 10MiB, plain bytes); 0 or off is unlimited.</summary>
    [Parameter]
    [Internal.ByteSizeTransformation]
    [ValidateRange(0, long.MaxValue)]
    public long BandwidthLimit { get; set; }

    /// <summary>Seconds to wait for another sync of the same folder and prefix to finish (default 0: fail at once with ChittySyncLocked).</summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int LockTimeoutSec { get; set; }

    /// <summary>Most deletions one run may make; when more are due, none is made. -1 for no limit.</summary>
    [Parameter]
    [ValidateRange(-1, int.MaxValue)]
    public int MaxDelete { get; set; } = SyncOptions.DefaultMaxDelete;

    /// <summary>
    /// Most deletions one run may make on a side, as a percentage of the files it had at its last sync; more
    /// stops the run before anything changes (as rclone bisync's --max-delete). 100 for no limit.
    /// </summary>
    [Parameter]
    [ValidateRange(0, 100)]
    public int MaxDeletePercent { get; set; } = SyncOptions.DefaultMaxDeletePercent;

    /// <summary>
    /// One-way: make the destination an exact copy, deleting also what this sync did not put there. Without
    /// it only files this sync put there (or found in agreement), still unchanged, are deleted.
    /// </summary>
    [Parameter]
    public SwitchParameter Mirror { get; set; }

    /// <summary>Allow the deletions when the source has no files, or more than -MaxDeletePercent of them are due.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Do not send the sync report.</summary>
    [Parameter]
    public SwitchParameter NoReport { get; set; }

    /// <summary>The report's source field.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string Source { get; set; } = SyncOptions.DefaultSource;

    /// <summary>Appends one JSON line per action and one for the summary.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? LogFile { get; set; }

    /// <summary>
    /// Write the run's ChittySyncSummary to the output instead of the file results (which then reach only
    /// -LogFile, -Verbose and, for failures, the error stream), so the output holds one type.
    /// </summary>
    [Parameter]
    public SwitchParameter Summary { get; set; }

    /// <summary>The folder of the state files (default: sync-state in this machine's local data folder; CHITTY_STATE_DIR).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? StateDirectory { get; set; }

    /// <summary>
    /// Seconds an outage of the store (connection refused or reset, timeouts, 5xx, throttling) is waited out
    /// within the run, failed requests retried with backoff, before its files fail; 0 waits for nothing.
    /// </summary>
    [Parameter]
    [ValidateRange(0, 86400)]
    public int RetryTimeoutSec { get; set; } = (int)R2StoreOptions.DefaultRetryTimeout.TotalSeconds;

    /// <summary>
    /// -Direction Download or Both: moves the local files a download would replace or delete into this folder,
    /// at their relative paths (as rclone's --backup-dir), instead of losing them. Outside the synced folder.
    /// </summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? BackupDirectory { get; set; }

    /// <summary>
    /// Encrypts as an rclone crypt remote with this password would (instead of, or in the absence of, the
    /// connection's Connect-Chitty -CryptPassword or CHITTY_CRYPT_PASSWORD).
    /// </summary>
    [Parameter]
    [ValidateNotNull]
    public SecureString? CryptPassword { get; set; }

    /// <summary>The rclone crypt salt (password2) that goes with -CryptPassword.</summary>
    [Parameter]
    [ValidateNotNull]
    public SecureString? CryptSalt { get; set; }

    /// <summary>Standard (encrypted names, the default) or Off (clear names with .bin), as rclone's filename_encryption.</summary>
    [Parameter]
    [ValidateSet("Standard", "Off")]
    public string? CryptNameEncryption { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        if (BandwidthLimit > 0)
        {
            WriteVerbose($"Bandwidth limit: {ByteSize.Format(BandwidthLimit)}/s across all transfers.");
        }

        var connection = ResolveConnection();
        if (!connection.HasR2)
        {
            ThrowTerminatingError(new ErrorRecord(
                new InvalidOperationException("R2 is not configured for this connection: Sync-ChittyFolder needs an R2 endpoint, bucket, access key id and secret."),
                "ChittyR2NotConfigured", ErrorCategory.InvalidOperation, connection)
            {
                ErrorDetails = new ErrorDetails(string.Empty) { RecommendedAction = "Connect-Chitty ... -AccountId <cloudflare-account-id> (or -R2Endpoint <url>) -Bucket <bucket> -R2Credential (Get-Credential), or set CHITTY_R2_ENDPOINT, CHITTY_R2_BUCKET, CHITTY_R2_ACCESS_KEY_ID and CHITTY_R2_SECRET_ACCESS_KEY." },
            });
        }

        var folder = SessionState.Path.GetUnresolvedProviderPathFromPSPath(Path);
        string prefix = string.Empty;
        try
        {
            prefix = Prefix is not null ? SyncEngine.NormalizePrefix(Prefix) : SyncEngine.DefaultPrefix(ResolveSessionId(SessionId, connection), folder);
        }
        catch (SyncException ex)
        {
            ThrowTerminatingError(new ErrorRecord(ex, "Chitty" + ex.ErrorId, ErrorCategory.InvalidArgument, folder));
        }

        var options = new SyncOptions
        {
            LocalPath = folder,
            Prefix = prefix,
            Direction = Direction,
            NoDelete = NoDelete,
            Rehash = Rehash,
            Filters = BuildFilters(),
            // Chosen by the link: as many files in parallel as the store's window may ever admit, so the window decides.
            Transfers = TransfersFixed ? Transfers : RequestWindow.Cap,
            MaxDelete = MaxDelete,
            MaxDeletePercent = MaxDeletePercent,
            Mirror = Mirror,
            Force = Force,
            NoReport = NoReport,
            Source = Source,
            LockTimeout = TimeSpan.FromSeconds(LockTimeoutSec),
            StateDirectory = StateDirectory is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(StateDirectory),
            BackupDirectory = BackupDirectory is null ? null : SessionState.Path.GetUnresolvedProviderPathFromPSPath(BackupDirectory),
        };

        (ChittySecret Password, ChittySecret? Salt, RcloneNameEncryption Names)? crypt = null;
        try
        {
            crypt = CryptSettings(connection);
        }
        catch (ArgumentException ex)
        {
            ThrowTerminatingError(ErrorFor(ex, null));
        }

        var remote = $"r2://{connection.Bucket}/{prefix}" + (crypt is null ? string.Empty : " (rclone crypt)");
        var target = Direction switch
        {
            SyncDirection.Upload => $"{folder} -> {remote}",
            SyncDirection.Download => $"{remote} -> {folder}",
            _ => $"{folder} <-> {remote}",
        };
        var action = Direction switch
        {
            SyncDirection.Upload => "Upload new and changed files" + Deletes(),
            SyncDirection.Download => "Download new and changed files" + Deletes(),
            _ => "Copy changes both ways" + (NoDelete ? string.Empty : ", delete what was deleted on the other side") + ", keep both versions of conflicting changes",
        };
        if (!ShouldProcess($"Performing the operation \"{action}\" on target \"{target}\".", $"{action} for {target}?", "Sync-ChittyFolder", out var reason))
        {
            if (reason != ShouldProcessReason.WhatIf)
            {
                return;
            }

            options.PlanOnly = true;
        }

        if (LogFile is not null && !options.PlanOnly)
        {
            var logPath = SessionState.Path.GetUnresolvedProviderPathFromPSPath(LogFile);
            try
            {
                _log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ThrowTerminatingError(ErrorFor(ex, logPath));
            }
        }

        _activityId = Math.Abs(GetHashCode() % 100000) + 1;
        ChittySyncSummary? summary = null;
        SyncEngine? engine = null;
        var storeOptions = new R2StoreOptions { MaxConcurrentRequests = TransfersFixed ? Transfers : null, BandwidthLimit = BandwidthLimit, MaxRetries = Math.Max(connection.Settings.MaxRetries, 3), RetryTimeout = TimeSpan.FromSeconds(RetryTimeoutSec) };
        try
        {
            RunAndPump(async ct =>
            {
                using var store = Internal.StoreTransports.Open(connection, storeOptions);
                using var encrypted = crypt is null ? null : new EncryptedObjectStore(store, prefix, RcloneCryptKey.Derive(crypt.Value.Password, crypt.Value.Salt),
                    crypt.Value.Names, System.IO.Path.Combine(ConfigDirectory.Root, "crypt-staging"));
                engine = new SyncEngine((IObjectStore?)encrypted ?? store, connection.Api);
                if (Watch && !options.PlanOnly)
                {
                    await WatchAsync(engine, options, connection, target, ct).ConfigureAwait(false);
                    return;
                }

                summary = await engine.RunAsync(options, r => Post(() => OnResult(r)), new Progress(this), ct).ConfigureAwait(false);
            });
            CompleteProgress();
            if (summary is not null)
            {
                Finish(summary, target);
            }
        }
        catch (SyncException ex)
        {
            var record = new ErrorRecord(ex, "Chitty" + ex.ErrorId, ex.ErrorId switch
            {
                "SyncLocked" or "SyncWatchRunning" => ErrorCategory.ResourceBusy,
                "SyncInvalidOptions" or "SyncPathNotFolder" => ErrorCategory.InvalidArgument,
                "SyncSourceMissing" => ErrorCategory.ObjectNotFound,
                "SyncTooManyDeletes" => ErrorCategory.LimitsExceeded,
                _ => ErrorCategory.InvalidOperation,
            }, folder);
            var recommended = ex.ErrorId switch
            {
                "SyncPathNotFolder" => "Give the path of the folder to sync, not of a file in it.",
                "SyncSourceMissing" => "Check the path for a typo, or mount the drive it is on, and run the sync again.",
                "SyncTooManyDeletes" => "See what would be deleted with -WhatIf -Force; if it is meant, run again with -Force.",
                _ => null,
            };
            if (recommended is not null)
            {
                record.ErrorDetails = new ErrorDetails(ex.Message) { RecommendedAction = recommended };
            }

            ThrowTerminatingError(record);
        }
        catch (ObjectStoreException ex)
        {
            ThrowTerminatingError(Internal.ChittyErrors.ToErrorRecord(ex, target, "ChittyStorageError"));
        }
        catch (Exception ex) when (Internal.ChittyErrors.IsReportable(ex))
        {
            ThrowTerminatingError(ErrorFor(ex, folder));
        }
        finally
        {
            // The log first: on a stop (Ctrl+C), writing the progress records throws.
            if (summary is null && !Watch && engine?.LastSummary is { } partial)
            {
                // Stopped or failed mid-run: the log still ends with what the run did.
                WriteLog(partial, completed: false);
            }

            _log?.Dispose();
            _log = null;
            CompleteProgress();
        }
    }

    private string Deletes() => NoDelete ? string.Empty
        : Mirror ? ", delete every other file on the destination"
        : ", delete the files it synced that the source no longer has";

    // The parameters win over the connection (Connect-Chitty -CryptPassword, a profile, CHITTY_CRYPT_*).
    private (ChittySecret Password, ChittySecret? Salt, RcloneNameEncryption Names)? CryptSettings(ChittyConnection connection)
    {
        var settings = connection.Settings;
        var password = CryptPassword is not null ? ChittySecret.FromSecureString(CryptPassword) : settings.CryptPassword;
        if (password is null)
        {
            if (CryptSalt is not null || CryptNameEncryption is not null)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentException("-CryptSalt and -CryptNameEncryption need a crypt password: -CryptPassword, Connect-Chitty -CryptPassword or CHITTY_CRYPT_PASSWORD."),
                    "ChittyCryptPasswordMissing", ErrorCategory.InvalidArgument, null));
            }

            return null;
        }

        var salt = CryptSalt is not null ? ChittySecret.FromSecureString(CryptSalt) : CryptPassword is not null ? null : settings.CryptSalt;
        return (password, salt, CryptNameEncryption is null ? settings.CryptNameEncryption : ChittyConnectionSettings.ParseNameEncryption(CryptNameEncryption, "-CryptNameEncryption"));
    }

    private FilterRules BuildFilters()
    {
        if (ExcludeFrom is null && Exclude is null && Include is null)
        {
            return FilterRules.Empty;
        }

        try
        {
            var builder = new FilterRulesBuilder();
            foreach (var file in ExcludeFrom ?? Array.Empty<string>())
            {
                var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(file);
                if (!File.Exists(path))
                {
                    ThrowTerminatingError(new ErrorRecord(
                        new FileNotFoundException($"-ExcludeFrom '{file}': no such file ('{path}'). Give the path of an rclone filter file, such as ~/.rcloneignore.", path),
                        "ChittyPathNotFound", ErrorCategory.ObjectNotFound, file));
                }

                builder.AddExcludeFrom(path);
            }

            foreach (var pattern in Exclude ?? Array.Empty<string>())
            {
                builder.AddExclude(pattern);
            }

            foreach (var pattern in Include ?? Array.Empty<string>())
            {
                builder.AddInclude(pattern);
            }

            return builder.Build();
        }
        catch (Exception ex) when (ex is FilterSyntaxException or IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(ErrorFor(ex, ExcludeFrom));
            return null!;
        }
    }

    private void OnResult(ChittySyncResult result)
    {
        WriteLog(result);
        switch (result.Action)
        {
            case SyncAction.PlannedUpload:
            case SyncAction.PlannedDownload:
            case SyncAction.PlannedDelete:
            case SyncAction.PlannedDeleteLocal:
            case SyncAction.PlannedDeleteRemote:
            case SyncAction.PlannedConflict:
                // Prints "What if: ..." for each planned action (and returns false under -WhatIf).
                // A local change names the local file; a delete says which side it is on.
                var local = result.Action is SyncAction.PlannedDownload or SyncAction.PlannedDeleteLocal
                    || (result.Action == SyncAction.PlannedDelete && Direction == SyncDirection.Download);
                var operation = result.Action switch
                {
                    SyncAction.PlannedDelete => local ? "Delete local file" : "Delete remote object",
                    SyncAction.PlannedDeleteLocal => "Delete local file",
                    SyncAction.PlannedDeleteRemote => "Delete remote object",
                    _ => result.Operation.ToString(),
                };
                ShouldProcess(
                    local ? result.LocalPath : result.R2Key,
                    result.Conflict == SyncConflict.None ? operation : $"{operation} ({result.Conflict})");
                _results++;
                WriteResult(result);
                break;
            case SyncAction.Failed:
                _results++;
                WriteResult(result);
                WriteError(FileError(result));
                break;
            default:
                _results++;
                if (VerboseEnabled)
                {
                    WriteVerbose($"{result.Action} {result.RelativePath} ({result.Size:N0} bytes, {result.Duration.TotalMilliseconds:0} ms)"
                        + (result.BackupPath is null ? string.Empty : $"; the local version was moved to '{result.BackupPath}'"));
                }

                WriteResult(result);
                break;
        }
    }

    // With -Summary the output is the summary alone: one type, which Format-Table and Export-Csv take whole.
    private void WriteResult(ChittySyncResult result)
    {
        if (!Summary)
        {
            WriteObject(result);
        }
    }

    private void Finish(ChittySyncSummary summary, string target)
    {
        WriteLog(summary);
        WriteVerbose(summary.ToString());
        WriteInformation(new InformationRecord(summary, MyInvocation.MyCommand.Name) { Tags = { "ChittySyncSummary" } });
        if (summary.DeletesWithheld > 0 && summary.DeletesWithheldReason is not null)
        {
            WriteError(new ErrorRecord(
                new InvalidOperationException($"{summary.DeletesWithheld} file(s) were not deleted: {summary.DeletesWithheldReason}."),
                "ChittySyncDeletesWithheld", ErrorCategory.LimitsExceeded, target));
        }

        if (summary.ReportError is not null)
        {
            WriteError(new ErrorRecord(
                new InvalidOperationException($"The sync report failed ({summary.ReportError}); the next sync sends it again."),
                "ChittySyncReportFailed", ErrorCategory.ConnectionError, target));
        }

        WarnIfNothingThere(summary);
        if (Summary)
        {
            WriteObject(summary);
        }
    }

    // A misspelled or new folder name downloads from a prefix nothing is under: say so rather than succeed
    // silently. Two-way, both sides empty is the same mistake. Once per call: a watch's passes say it once.
    private void WarnIfNothingThere(ChittySyncSummary summary)
    {
        if (_saidNothingThere)
        {
            return;
        }

        var empty = Direction switch
        {
            SyncDirection.Download => summary.SourceFiles == 0,
            SyncDirection.Both => summary.SourceFiles == 0 && _results == 0 && summary.DeletesWithheld == 0,
            _ => false,
        };
        if (empty)
        {
            _saidNothingThere = true;
            WriteWarning($"Nothing under '{summary.Bucket}/{summary.Prefix}'"
                + (Direction == SyncDirection.Both ? " and nothing in '" + summary.LocalPath + "'" : string.Empty)
                + " - check the folder name or pass -Prefix"
                + (Prefix is null ? " (the default prefix is derived from the folder name)." : "."));
        }
    }

    private static ErrorRecord FileError(ChittySyncResult result)
    {
        var ex = result.Exception ?? new InvalidOperationException(result.Error);
        var id = $"ChittySync{result.Operation}Failed";
        var target = result.Operation is SyncOperation.Download or SyncOperation.DeleteRemote ? (object)result.R2Key : result.LocalPath;
        return ErrorFor(ex, target, id);
    }

    private void WriteLog(object entry, bool completed = true)
    {
        if (_log is null)
        {
            return;
        }

        using var buffer = new MemoryStream();
        // Relaxed escaping keeps non-ASCII file names and '+' in times readable in the log.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("time", DateTimeOffset.Now.ToString("o", CultureInfo.InvariantCulture));
            if (entry is ChittySyncResult r)
            {
                w.WriteString("type", "action");
                w.WriteString("action", r.Action.ToString());
                w.WriteString("relativePath", r.RelativePath);
                w.WriteString("r2Key", r.R2Key);
                w.WriteNumber("size", r.Size);
                if (r.Sha256 is not null) { w.WriteString("sha256", r.Sha256); }
                w.WriteNumber("durationMs", Math.Round(r.Duration.TotalMilliseconds));
                if (r.Conflict != SyncConflict.None) { w.WriteString("conflict", r.Conflict.ToString()); }
                if (r.ConflictPath is not null) { w.WriteString("conflictPath", r.ConflictPath); }
                if (r.BackupPath is not null) { w.WriteString("backupPath", r.BackupPath); }
                if (r.Error is not null) { w.WriteString("error", r.Error); }
            }
            else if (entry is ChittySyncSummary s)
            {
                w.WriteString("type", "summary");
                w.WriteBoolean("completed", completed);
                w.WriteString("direction", s.Direction.ToString());
                w.WriteString("localPath", s.LocalPath);
                w.WriteString("bucket", s.Bucket);
                w.WriteString("prefix", s.Prefix);
                w.WriteNumber("filesUploaded", s.FilesUploaded);
                w.WriteNumber("bytesUploaded", s.BytesUploaded);
                w.WriteNumber("filesDownloaded", s.FilesDownloaded);
                w.WriteNumber("bytesDownloaded", s.BytesDownloaded);
                w.WriteNumber("filesDeleted", s.FilesDeleted);
                w.WriteNumber("filesSkipped", s.FilesSkipped);
                w.WriteNumber("conflicts", s.Conflicts);
                w.WriteNumber("errors", s.Errors);
                w.WriteNumber("deletesWithheld", s.DeletesWithheld);
                w.WriteNumber("notOwned", s.NotOwned);
                if (s.FilesBackedUp > 0) { w.WriteNumber("filesBackedUp", s.FilesBackedUp); }
                if (s.RemoteChangedDuringRun > 0) { w.WriteNumber("remoteChangedDuringRun", s.RemoteChangedDuringRun); }
                w.WriteNumber("elapsedMs", Math.Round(s.Elapsed.TotalMilliseconds));
                w.WriteNumber("bytesPerSecond", Math.Round(s.BytesPerSecond));
                w.WriteNumber("bytesHashed", s.BytesHashed);
                w.WriteNumber("filesCompared", s.FilesCompared);
                w.WriteNumber("bytesCompared", s.BytesCompared);
                w.WriteStartObject("requests");
                w.WriteNumber("list", s.Requests.List);
                w.WriteNumber("put", s.Requests.Put);
                w.WriteNumber("get", s.Requests.Get);
                w.WriteNumber("head", s.Requests.Head);
                w.WriteNumber("delete", s.Requests.Delete);
                w.WriteNumber("multipart", s.Requests.Multipart);
                w.WriteEndObject();
                w.WriteNumber("reportedItems", s.ReportedItems);
                if (s.ReportEventId is not null) { w.WriteString("reportEventId", s.ReportEventId); }
                if (s.ReportError is not null) { w.WriteString("reportError", s.ReportError); }
            }

            w.WriteEndObject();
        }

        _log.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
        _log.Flush();
    }

    private void OnProgress(SyncProgress p)
    {
        var status = p.Phase switch
        {
            SyncPhase.Transferring => $"{p.FilesDone} of {p.FilesTotal} files, {Bytes(p.BytesDone)} of {Bytes(p.BytesTotal)}" + (p.BytesPerSecond > 0 ? $", {Bytes((long)p.BytesPerSecond)}/s" : string.Empty),
            _ => p.Phase.ToString(),
        };
        var record = new ProgressRecord(_activityId, Activity, status);
        if (p.Phase == SyncPhase.Transferring && p.BytesTotal > 0)
        {
            record.PercentComplete = (int)Math.Min(100, p.BytesDone * 100 / p.BytesTotal);
            if (p.Eta is { } eta)
            {
                record.SecondsRemaining = (int)Math.Min(int.MaxValue, eta.TotalSeconds);
            }
        }

        if (p.Phase == SyncPhase.Done)
        {
            return;
        }

        WriteProgress(record);
        foreach (var t in p.Transfers)
        {
            var childId = _activityId + t.Id;
            var child = new ProgressRecord(childId, t.RelativePath, $"{Bytes(t.BytesDone)} of {Bytes(t.BytesTotal)}") { ParentActivityId = _activityId };
            if (t.Completed)
            {
                child.RecordType = ProgressRecordType.Completed;
                _openChildren.Remove(childId);
            }
            else
            {
                child.PercentComplete = t.BytesTotal > 0 ? (int)Math.Min(100, t.BytesDone * 100 / t.BytesTotal) : 0;
                _openChildren[childId] = t.RelativePath;
            }

            WriteProgress(child);
        }
    }

    // Always ends the records, also after an error or a stop; a second call writes nothing.
    private void CompleteProgress()
    {
        if (_activityId == 0)
        {
            return;
        }

        foreach (var pair in _openChildren)
        {
            WriteProgress(new ProgressRecord(pair.Key, pair.Value, "Done") { ParentActivityId = _activityId, RecordType = ProgressRecordType.Completed });
        }

        _openChildren.Clear();
        var id = _activityId;
        _activityId = 0;
        WriteProgress(new ProgressRecord(id, Activity, "Done") { RecordType = ProgressRecordType.Completed });
    }

    private static string Bytes(long n) => ByteSize.Format(n);

    // Posts each snapshot to the pipeline thread; the engine already throttles them.
    private sealed class Progress : IProgress<SyncProgress>
    {
        private readonly SyncChittyFolderCommand _cmdlet;

        public Progress(SyncChittyFolderCommand cmdlet) => _cmdlet = cmdlet;

        public void Report(SyncProgress value) => _cmdlet.Post(() => _cmdlet.OnProgress(value));
    }
}
