using System;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Diagnostics;
using ChittyConnect.Events;
using ChittyConnect.Sync;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>Sync-ChittyFolder -Watch: the folder and its prefix kept in step until stopped (see <see cref="SyncWatch"/>).</summary>
public sealed partial class SyncChittyFolderCommand
{
    // How long a stop by SIGTERM (ProcessExit) waits for the run in progress to save its state.
    private static readonly TimeSpan s_stopGrace = TimeSpan.FromSeconds(5);

    /// <summary>After the first run, keep running: sync again on each local change, remote change event and poll, until stopped.</summary>
    [Parameter]
    public SwitchParameter Watch { get; set; }

    /// <summary>With -Watch, the most seconds between two runs when no change is signalled (default 30; one LIST per 1,000 keys each).</summary>
    [Parameter]
    [ValidateRange(1, 86400)]
    public int PollInterval { get; set; } = (int)SyncWatchOptions.DefaultPollInterval.TotalSeconds;

    /// <summary>
    /// With -Watch, how many seconds the folder must be quiet after a local change before it is synced (default
    /// 1): a file still being written is not sent half-done, and a burst of changes goes in one run.
    /// </summary>
    [Parameter]
    [ValidateRange(0.0, 3600.0)]
    public double QuietPeriodSec { get; set; } = SyncWatchOptions.DefaultQuiet.TotalSeconds;

    private async Task WatchAsync(SyncEngine engine, SyncOptions options, ChittyConnection connection, string target, CancellationToken stopToken)
    {
        var watch = new SyncWatch(engine, new SyncWatchOptions { PollInterval = TimeSpan.FromSeconds(PollInterval), Quiet = TimeSpan.FromSeconds(QuietPeriodSec) });
        // A one-off sync of the same target that holds the lock is waited for, not failed on (unless
        // -LockTimeoutSec says how long).
        if (options.LockTimeout == TimeSpan.Zero)
        {
            options.LockTimeout = TimeSpan.FromSeconds(Math.Max(30, PollInterval));
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stopToken);
        using var ended = new ManualResetEventSlim(false);
        // SIGTERM (systemd's stop, docker stop) ends the process through ProcessExit: end the watch and give the
        // run in progress a moment to save its state.
        EventHandler onExit = (_, _) =>
        {
            stop.Cancel();
            ended.Wait(s_stopGrace);
        };
        AppDomain.CurrentDomain.ProcessExit += onExit;
        Task? events = null;
        try
        {
            events = WatchRemoteEvents(connection, watch, options.Direction, stop.Token);
            await watch.RunAsync(
                options,
                r => Post(() => OnResult(r)),
                s =>
                {
                    if (s.Errors > 0 || s.FilesUploaded + s.FilesDownloaded + s.FilesDeleted + s.Conflicts + s.DeletesWithheld > 0 || s.ReportError is not null)
                    {
                        Post(() => Finish(s, target));
                    }
                },
                status => Post(() => ShowStatus(status)),
                stop.Token).ConfigureAwait(false);
        }
        finally
        {
            stop.Cancel();
            if (events is not null)
            {
                await events.ContinueWith(_ => { }, TaskScheduler.Default).ConfigureAwait(false);
            }

            AppDomain.CurrentDomain.ProcessExit -= onExit;
            ended.Set();
        }

        // Ctrl+C and Stop-Job end the pipeline as stopped, as a one-off sync does.
        stopToken.ThrowIfCancellationRequested();
    }

    // context.files.* events of the session start a run at once. They help only where the remote side can
    // change the folder (Download, Both); where the service delivers none, the polls find the changes.
    private Task? WatchRemoteEvents(ChittyConnection connection, SyncWatch watch, SyncDirection direction, CancellationToken token)
    {
        var sessionId = string.IsNullOrWhiteSpace(SessionId) ? connection.SessionId : SessionId;
        if (direction == SyncDirection.Upload || string.IsNullOrWhiteSpace(sessionId))
        {
            return null;
        }

        var stream = new ChittyEventStream(connection.Endpoint, new ChittyEventStreamOptions
        {
            SessionId = sessionId,
            TypePatterns = new[] { "context.files.*" },
            Verbose = m => ChittyLog.Verbose(m),
        });
        return Task.Run(async () =>
        {
            try
            {
                await stream.RunAsync(e => watch.NotifyRemoteChange(ReportEventId(e)), token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                ChittyLog.Verbose($"No change events from {connection.Endpoint} ({ex.Message}); changes there are found by polling every {PollInterval} s.");
            }
        });
    }

    // The sync report a context.files.synced event announces (its payload's eventId), so that the watch knows
    // the events of its own reports.
    private static string? ReportEventId(ChittyEvent e) =>
        e.Json.ValueKind == System.Text.Json.JsonValueKind.Object && e.Json.TryGetProperty("eventId", out var id) && id.ValueKind == System.Text.Json.JsonValueKind.String
            ? id.GetString()
            : null;

    // A status line, not a bar: a watch has no end to measure against.
    private void ShowStatus(SyncWatchStatus status)
    {
        if (_activityId == 0)
        {
            return;
        }

        WriteProgress(new ProgressRecord(_activityId, Activity + " -Watch", status.ToString()));
        if (status.State == SyncWatchState.Waiting)
        {
            WriteWarning(status.ToString());
        }
        else if (VerboseEnabled)
        {
            WriteVerbose(status.ToString());
        }
    }
}
