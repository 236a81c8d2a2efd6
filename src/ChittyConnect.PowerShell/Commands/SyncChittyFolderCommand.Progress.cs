using System;
using System.Collections.Generic;
using System.Management.Automation;
using ChittyConnect.Storage;
using ChittyConnect.Sync;

namespace ChittyConnect.PowerShell.Commands;

// Progress: a parent record for the run (files, bytes, rate, ETA) and a child record per large transfer,
// written on the pipeline thread, and always completed.
public sealed partial class SyncChittyFolderCommand
{
    private const string Activity = "Sync-ChittyFolder";
    private readonly Dictionary<int, string> _openChildren = new();
    private int _activityId;

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
