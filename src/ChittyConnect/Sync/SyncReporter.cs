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
/// not repeated, by the next run.
/// </summary>
internal sealed class SyncReporter
{
    private readonly SyncRun _run;
    private readonly ChittyApiClient? _api;

    public SyncReporter(SyncRun run, ChittyApiClient? api)
    {
        _run = run;
        _api = api;
    }

    /// <summary>Sends the report; a failure is counted and kept in the summary, not thrown.</summary>
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

        var unreported = _run.State.Unreported(_run.InAgreement());
        if (unreported.Count == 0)
        {
            return;
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
        _run.Progress.Phase(SyncPhase.Reporting);
        var confirmed = 0;
        void MarkReported(int upTo)
        {
            _run.State.MarkReported(unreported.Skip(confirmed).Take(upTo - confirmed).Select(u => u.RelativePath));
            confirmed = upTo;
        }

        try
        {
            var result = await _api.SendSyncReportAsync(_run.Prefix, _run.Options.Source, items, _run.Token, _run.Options.ReportBatchSize, MarkReported).ConfigureAwait(false);
            _run.Summary.ReportedItems = result.Count;
            _run.Summary.ReportEventId = result.EventId;
            _run.Summary.ReportEventIds = result.EventIds;
        }
        catch (ChittyApiException ex)
        {
            _run.Summary.ReportedItems = confirmed;
            _run.Summary.ReportError = ex.Message;
            _run.Count(s => s.Errors++);
            ChittyLog.Warning($"The sync report failed after {confirmed} of {items.Count} items; the rest is sent by the next sync: {ex.Message}");
        }
    }
}
