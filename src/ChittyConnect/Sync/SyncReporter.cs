using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using ChittyConnect.Api;
using ChittyConnect.Crypt;
using ChittyConnect.Diagnostics;

namespace ChittyConnect.Sync;

/// <summary>
/// Tells ChittyConnect what the run moved: every path it uploaded or downloaded, and every path still in
/// agreement whose report an earlier run owes (it failed). Files both sides already had are not reported: the
/// service heard of them from whoever put them there. A run that moved nothing and owes nothing sends nothing.
/// Each batch the service confirms is marked in the state at once, so a report that fails part-way is resumed,
/// not repeated, by the next run. The paths in agreement are taken as windows finish (<see cref="Collect"/>):
/// only those a report is due for are held, and a run that executes window by window sends each full batch as
/// it fills.
/// </summary>
internal sealed class SyncReporter
{
    private readonly SyncRun _run;
    private readonly ChittyApiClient? _api;
    private readonly object _gate = new();
    private readonly List<(string RelativePath, SyncStateEntry Entry)> _due = new();
    private bool _failed;

    public SyncReporter(SyncRun run, ChittyApiClient? api)
    {
        _run = run;
        _api = api;
    }

    private bool Sends => !_run.Options.NoReport && _api is not null && !_failed;

    /// <summary>Takes the paths found or made in agreement since the last call and keeps those a report is due for.</summary>
    public void Collect()
    {
        var agreed = _run.TakeInAgreement();
        lock (_gate)
        {
            if (Sends && agreed.Count > 0)
            {
                // A path decided again in the same run (a key the store listed twice, planned again after the
                // windows) is reported once, with what was decided last.
                var unreported = _run.State.Unreported(agreed).ToList();
                var again = new HashSet<string>(unreported.Select(u => u.RelativePath), System.StringComparer.Ordinal);
                _due.RemoveAll(d => again.Contains(d.RelativePath));
                _due.AddRange(unreported);
            }
        }
    }

    /// <summary>The paths whose report is due and not yet sent (their entries are needed until it is confirmed).</summary>
    public IReadOnlyList<string> DuePaths()
    {
        lock (_gate)
        {
            return _due.Select(d => d.RelativePath).ToList();
        }
    }

    /// <summary>Sends the batches that are full (a batch of <see cref="SyncOptions.ReportBatchSize"/> items); a failure is counted, not thrown.</summary>
    public Task SendFullBatchesAsync()
    {
        var batch = _run.Options.ReportBatchSize;
        lock (_gate)
        {
            return SendAsync(_due.Count / batch * batch);
        }
    }

    /// <summary>Sends what is due (all of it: the run is over); a failure is counted and kept in the summary, not thrown.</summary>
    public async Task ReportAsync()
    {
        if (_run.Options.NoReport)
        {
            return;
        }

        if (_api is null)
        {
            ChittyLog.Verbose("No API client: the sync report is not sent.");
            return;
        }

        Collect();
        if (_due.Count > 0 && Sends)
        {
            _run.Progress.Phase(SyncPhase.Reporting);
        }

        await SendAsync(_due.Count).ConfigureAwait(false);
    }

    private async Task SendAsync(int count)
    {
        if (count == 0 || !Sends)
        {
            return;
        }

        List<(string RelativePath, SyncStateEntry Entry)> unreported;
        lock (_gate)
        {
            unreported = _due.GetRange(0, count);
            _due.RemoveRange(0, count);
        }

        // For an encrypted prefix the service learns what R2 itself holds: the encrypted key and the
        // ciphertext's size, never the clear name or the content's hash.
        var crypt = _run.Crypt;
        var items = unreported.Select(u => new SyncReportItem
        {
            R2Key = crypt?.ObjectKeyFor(_run.Prefix + u.RelativePath) ?? _run.Prefix + u.RelativePath,
            Sha256 = crypt is null ? u.Entry.Sha256 : null,
            Size = crypt is null ? u.Entry.Size : RcloneCryptFormat.EncryptedSize(u.Entry.Size),
            Modified = new System.DateTimeOffset(new System.DateTime(u.Entry.ModifiedTicks, System.DateTimeKind.Utc)),
        }).ToList();
        var confirmed = 0;
        void MarkReported(int upTo)
        {
            _run.State.MarkReported(unreported.Skip(confirmed).Take(upTo - confirmed).Select(u => u.RelativePath));
            confirmed = upTo;
        }

        var summary = _run.Summary;
        try
        {
            var result = await _api!.SendSyncReportAsync(_run.Prefix, _run.Options.Source, items, _run.Token, _run.Options.ReportBatchSize, MarkReported).ConfigureAwait(false);
            summary.ReportedItems += result.Count;
            summary.ReportEventIds = summary.ReportEventIds.Concat(result.EventIds).ToList();
            summary.ReportEventId = result.EventId ?? summary.ReportEventId;
        }
        catch (ChittyApiException ex)
        {
            // The rest of this run's report waits for the next run, which finds it still owed in the state.
            summary.ReportedItems += confirmed;
            summary.ReportError = ex.Message;
            _run.Count(s => s.Errors++);
            lock (_gate)
            {
                _failed = true;
                _due.Clear();
            }

            ChittyLog.Warning($"The sync report failed after {summary.ReportedItems} item(s) were confirmed; the rest is sent by the next sync: {ex.Message}");
        }
    }
}
