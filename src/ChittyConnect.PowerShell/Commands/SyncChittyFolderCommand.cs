using System;
using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
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
    private SyncLogFile? _log;

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

        // Compiles the SDK's request code beside this call's scan and listing, when no Connect-Chitty of this
        // process has started it already.
        S3Warmup.Start();
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
                _log = SyncLogFile.Open(logPath);
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
            ThrowTerminatingError(SyncError(ex, folder));
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
                _log?.Write(partial, completed: false);
            }

            _log?.Dispose();
            _log = null;
            CompleteProgress();
        }
    }

    private string Deletes() => NoDelete ? string.Empty
        : Mirror ? ", delete every other file on the destination"
        : ", delete the files it synced that the source no longer has";
}
