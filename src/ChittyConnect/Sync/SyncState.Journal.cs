using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using ChittyConnect.Configuration;

namespace ChittyConnect.Sync;

// The journal beside the state file: what changed since the state was last written whole, appended at each
// checkpoint of a run (SyncExecutor, every 5 seconds and after each multipart upload is begun) and flushed to
// disk, so a crash loses nothing a checkpoint had and a checkpoint costs what changed, not the whole folder.
// Its lines are the state's (SyncStateFormat) after a header naming the target and machine, plus "D path" (a
// path forgotten), "Q upload-id" (a pending upload gone) and "J key" (an upload being created swept), replayed in order over the state by Load (in
// streamed mode into the changes the windows and the save apply). A save writes them into the state and
// removes the journal. A kill mid-append leaves a torn last line:
// replay stops at the first line it cannot read.
internal sealed partial class SyncState
{
    // Lines of the changes not yet in the journal or the state file; guarded by _gate.
    private readonly List<string> _unjournaled = new();

    // Saves and checkpoints, one at a time (the executor's workers call for checkpoints).
    private readonly object _fileGate = new();

    // Whether anything changed since the state file was read or written whole; guarded by _gate.
    private bool _changed;

    /// <summary>The journal of <see cref="Path"/>.</summary>
    public string JournalPath => Path + ".journal";

    // Notes a change (called under _gate).
    private void Journal(string line)
    {
        _unjournaled.Add(line);
        _changed = true;
    }

    // Notes the change of one path's entry (null: forgotten), called under _gate.
    private void JournalEntry(string relativePath, SyncStateEntry? entry)
    {
        Journal(entry is null ? SyncStateFormat.Join("D", relativePath) : SyncStateFormat.EntryLine(relativePath, entry));
        TrackChange(relativePath, entry);
    }

    /// <summary>
    /// Appends what changed since the last checkpoint or save to the journal and flushes it to disk (the
    /// first append writes its header). Does nothing when nothing changed.
    /// </summary>
    public void Checkpoint()
    {
        lock (_fileGate)
        {
            string[] lines;
            lock (_gate)
            {
                if (_unjournaled.Count == 0)
                {
                    return;
                }

                lines = _unjournaled.ToArray();
                _unjournaled.Clear();
            }

            try
            {
                var header = SyncStateFormat.Join(Signature + "-journal", Identity, MachineId.Current);
                // A journal left beside a state this run discarded (another machine's, say) is not continued.
                var fresh = !File.Exists(JournalPath) || FirstLine(JournalPath) != header;
                if (fresh)
                {
                    File.Delete(JournalPath);
                }

                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(JournalPath)!);
                using var file = fresh ? ConfigDirectory.CreatePrivateFile(JournalPath, 1 << 14) : new FileStream(JournalPath, FileMode.Append, FileAccess.Write, FileShare.None, 1 << 14);
                using var w = new StreamWriter(file, new UTF8Encoding(false), 1 << 14) { NewLine = "\n" };
                if (fresh)
                {
                    w.WriteLine(header);
                }

                foreach (var line in lines)
                {
                    w.WriteLine(line);
                }

                w.Flush();
                file.Flush(flushToDisk: true);
            }
            catch
            {
                // Not journaled: kept for the next checkpoint or save.
                lock (_gate)
                {
                    _unjournaled.InsertRange(0, lines);
                }

                throw;
            }
        }
    }

    private static string? FirstLine(string path)
    {
        using var reader = new StreamReader(path, new UTF8Encoding(false));
        return reader.ReadLine();
    }

    // Replays the journal over the state just read; a journal of another target or machine is left out.
    private void ReplayJournal(bool md5Optional)
    {
        if (!File.Exists(JournalPath))
        {
            return;
        }

        // The next save writes what the journal held into the state, and removes the journal.
        _changed = true;
        using var reader = new StreamReader(JournalPath, new UTF8Encoding(false, throwOnInvalidBytes: false));
        var header = reader.ReadLine();
        if (header != SyncStateFormat.Join(Signature + "-journal", Identity, MachineId.Current))
        {
            return;
        }

        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            try
            {
                var fields = SyncStateFormat.Split(line);
                switch (fields[0])
                {
                    case "F":
                        var (rel, entry) = SyncStateFormat.ParseEntry(fields);
                        Replayed(rel, Checked(rel, entry, md5Optional));
                        _moving.Remove(rel);
                        break;
                    case "D" when fields.Length == 2:
                        Replayed(fields[1], null);
                        _moving.Remove(fields[1]);
                        break;
                    case "M" when fields.Length == 2:
                        _moving.Add(fields[1]);
                        break;
                    case "P" when fields.Length == 4:
                        PendingUploads[fields[2]] = new PendingUpload { Key = fields[1], UploadId = fields[2], Sha256 = fields[3].Length == 0 ? null : fields[3] };
                        break;
                    case "Q" when fields.Length == 2:
                        PendingUploads.Remove(fields[1]);
                        break;
                    case "I" when fields.Length == 3:
                        LoadCreating(fields[1], fields[2]);
                        break;
                    case "J" when fields.Length == 2:
                        UploadsBeingCreated.Remove(fields[1]);
                        _createdEarlier.Remove(fields[1]);
                        break;
                    default:
                        return;
                }
            }
            catch (Exception ex) when (ex is FormatException or OverflowException)
            {
                // A torn last line (a kill mid-append): what came before it stands.
                return;
            }
        }
    }
}
