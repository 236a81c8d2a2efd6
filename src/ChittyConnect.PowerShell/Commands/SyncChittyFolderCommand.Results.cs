using System;
using System.Management.Automation;
using ChittyConnect.Sync;

namespace ChittyConnect.PowerShell.Commands;

// What a run writes: each file's result (and, for a planned one, its "What if:" line), a failed file's error,
// the summary and what it reports, and the errors that end a run.
public sealed partial class SyncChittyFolderCommand
{
    private int _results;
    private bool _saidNothingThere;

    private void OnResult(ChittySyncResult result)
    {
        _log?.Write(result);
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
        _log?.Write(summary, completed: true);
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

    // A sync that cannot start or must stop: its id names the reason, the category and the advice follow it.
    private static ErrorRecord SyncError(SyncException ex, string folder)
    {
        var record = new ErrorRecord(ex, "Chitty" + ex.ErrorId, ex.ErrorId switch
        {
            "SyncLocked" or "SyncWatchRunning" or "SyncPrefixInUse" => ErrorCategory.ResourceBusy,
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
            "SyncPrefixInUse" => "Run again with -Prefix naming a prefix of this folder's own, for example files/<session>/sync/<parent>-<folder>/.",
            _ => null,
        };
        if (recommended is not null)
        {
            record.ErrorDetails = new ErrorDetails(ex.Message) { RecommendedAction = recommended };
        }

        return record;
    }
}
