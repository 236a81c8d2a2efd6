using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using ChittyConnect.Configuration;
using ChittyConnect.Diagnostics;
using ChittyConnect.Files;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

// The streamed mode (Load(..., streamed: true)): the state is read a window of keys at a time, in key order
// (RangedListing.KeyOrder, the listing's), and written by one merge of the old file's lines with what changed.
//
// In memory: the window loaded and not yet released (Files), the changed entries not yet released to the
// released-changes file (_changes, which holds the journal's entries from the load on), the entries a release
// kept, the paths being moved and the pending uploads - never the whole state. Files answers for the window's
// keys and the kept ones; EntryFor, CachedHashes, Remember, Forget, Unreported and MarkReported work on them as
// in whole mode, and a change of a path outside them is recorded all the same.
//
// The journal keeps its guarantees: every change is journaled at the next checkpoint as in whole mode, and
// the released-changes file (<state>.released) only takes changes out of memory; a run killed before its
// save leaves the state file untouched and the journal, which the next load replays.
internal sealed partial class SyncState
{
    private bool _streamed;
    private bool _md5Optional;

    // The state file the windows and the save read (null: there is none, or a JSON state was read).
    private string? _oldFile;

    // The entries in the state file (from its header, else counted); EntryCount as of the load.
    private long? _fileEntries;
    private long _entryCountAtLoad;

    // Changes not yet written to the released-changes file, by key (null: forgotten); guarded by _gate.
    private readonly SortedDictionary<string, SyncStateEntry?> _changes = new(RangedListing.KeyOrder);

    // The windows' cursor over the state file (opened by the first window, closed at the file's end), and how
    // far the windows loaded (null with _loadedToEnd false: nothing yet).
    private SyncStateCursor? _window;
    private bool _windowEnded;
    private string? _loadedTo;
    private bool _loadedToEnd;

    // The keys LoadWindow put in Files, in key order, for Release to take out again.
    private readonly Queue<string> _loadedKeys = new();

    // How far the windows were released (null: not yet), and the released changes, in key order: written
    // by this run (kept true until a save merged them, also when a save failed).
    private string? _releasedTo;
    private StreamWriter? _released;
    private bool _releasedWritten;

    private bool _disposed;

    /// <summary>
    /// Closes the files a streamed state holds open between calls: the windows' cursor over the state file and
    /// the file of released changes, which only this state's save merges, so it goes (what it held that a
    /// checkpoint journaled, the next load replays). Does not save: a run saves first, then disposes, also after
    /// a failure or a cancellation; <see cref="Save"/> leaves the state to dispose. May be called again; the
    /// state is not to be used after it (its save and windows throw <see cref="ObjectDisposedException"/>). A
    /// whole state holds no file open.
    /// </summary>
    public void Dispose()
    {
        lock (_fileGate)
        {
            lock (_gate)
            {
                if (_disposed)
                {
                    return;
                }

                _disposed = true;
                _window?.Dispose();
                _window = null;
                _windowEnded = true;
                _released?.Dispose();
                _released = null;
                if (_releasedWritten)
                {
                    _releasedWritten = false;
                    try
                    {
                        File.Delete(ReleasedPath);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        // Left behind: the next run that releases a change deletes it first, and a save deletes it.
                    }
                }
            }
        }
    }

    /// <summary>Why a window's entries ended before the state file did (a damaged file), or null.</summary>
    public string? WindowWarning { get; private set; }

    /// <summary>The file holding the released changes of a streamed run until its save.</summary>
    public string ReleasedPath => Path + ".released";

    /// <summary>
    /// The number of entries as loaded: in whole mode the entries held; in streamed mode the state file's
    /// (from its entries line, or counted by one pass over a file written before it had one) plus those the
    /// journal recorded. Never fewer than the entries there are, and 0 only when there are none.
    /// </summary>
    public long EntryCount
    {
        get
        {
            lock (_gate)
            {
                return _streamed ? _entryCountAtLoad : Files.Count;
            }
        }
    }

    /// <summary>
    /// The keys of the entries at <paramref name="indices"/> (0-based in key order, strictly ascending): for split
    /// points of a ranged listing. Streamed, they are the state file's (not the journal's), read in one pass over
    /// its bytes that parses no other line (<see cref="SyncStateCursor.KeysAt"/>); an index past the last entry
    /// ends the list.
    /// </summary>
    public IReadOnlyList<string> KeysAt(IReadOnlyList<long> indices)
    {
        lock (_gate)
        {
            if (!_streamed)
            {
                var ordered = Files.Keys.OrderBy(k => k, RangedListing.KeyOrder).ToList();
                return indices.TakeWhile(i => i < ordered.Count).Select(i => ordered[(int)i]).ToList();
            }

            ThrowIfDisposed();
            return _oldFile is null || _fileEntries is not > 0 ? Array.Empty<string>() : SyncStateCursor.KeysAt(_oldFile, indices);
        }
    }

    /// <summary>Up to <paramref name="count"/> keys of the state evenly spaced in key order (<see cref="KeysAt"/>), the first among them.</summary>
    public IReadOnlyList<string> SampleKeys(int count)
    {
        var total = _streamed ? _fileEntries ?? 0 : Files.Count;
        return count <= 0 || total <= 0 ? Array.Empty<string>() : KeysAt(Enumerable.Range(0, (int)Math.Min(count, total)).Select(j => j * total / Math.Min(count, total)).ToList());
    }

    /// <summary>
    /// Loads the entries with keys above the last window's end and up to <paramref name="upTo"/> (key order;
    /// null: to the end) into <see cref="Files"/>, with the journal's and this run's changes applied. Forward
    /// only: a window ending at or before the last one loads nothing. Streamed mode only.
    /// </summary>
    public void LoadWindow(string? upTo)
    {
        lock (_gate)
        {
            RequireStreamed();
            if (_loadedToEnd || (upTo is not null && _loadedTo is not null && RangedListing.CompareKeys(upTo, _loadedTo) <= 0))
            {
                return;
            }

            if (_oldFile is not null && !_windowEnded)
            {
                if (_window is null)
                {
                    // The first window, or the first after a save: the file from where the last window ended.
                    _window = OpenCursor();
                    while (_loadedTo is not null && _window.Peek() is { } loaded && RangedListing.CompareKeys(loaded.Key, _loadedTo) <= 0)
                    {
                        _window.Take();
                    }
                }

                while (_window.Peek() is { } next && (upTo is null || RangedListing.CompareKeys(next.Key, upTo) <= 0))
                {
                    _window.Take();
                    if (!_changes.ContainsKey(next.Key))
                    {
                        Files[next.Key] = next.Entry;
                        _loadedKeys.Enqueue(next.Key);
                    }
                }

                if (_window.Peek() is null)
                {
                    Warn(_window.Damage);
                    _window.Dispose();
                    _window = null;
                    _windowEnded = true;
                }
            }

            foreach (var change in _changes)
            {
                if (upTo is not null && RangedListing.CompareKeys(change.Key, upTo) > 0)
                {
                    break;
                }

                if ((_loadedTo is null || RangedListing.CompareKeys(change.Key, _loadedTo) > 0) && change.Value is { } entry)
                {
                    Files[change.Key] = entry;
                    _loadedKeys.Enqueue(change.Key);
                }
            }

            _loadedTo = upTo;
            _loadedToEnd = upTo is null;
        }
    }

    /// <summary>
    /// The entries with keys up to <paramref name="upTo"/> (key order; at most the end of the window loaded)
    /// are final: their changes go to the released-changes file (created at the first, so a run that changes
    /// nothing writes nothing) and they leave memory, except those of <paramref name="keep"/> (paths with a
    /// transfer or delete still to come), which stay until the save, as do changes to keys released before.
    /// What needs a released entry (EntryFor, Unreported, MarkReported) is done before its release, or the
    /// entry kept. Streamed mode only.
    /// </summary>
    public void Release(string upTo, IReadOnlyCollection<string> keep)
    {
        lock (_gate)
        {
            RequireStreamed();
            if (!_loadedToEnd && (_loadedTo is null || RangedListing.CompareKeys(upTo, _loadedTo) > 0))
            {
                throw new InvalidOperationException($"The sync state cannot release up to '{upTo}': its window was loaded up to '{_loadedTo}'.");
            }

            var kept = keep as ISet<string> ?? new HashSet<string>(keep, StringComparer.Ordinal);
            var written = new List<string>();
            foreach (var change in _changes)
            {
                if (RangedListing.CompareKeys(change.Key, upTo) > 0)
                {
                    break;
                }

                // A change at or below an earlier release's end (to a kept entry, or late) is merged in by the save.
                if ((_releasedTo is null || RangedListing.CompareKeys(change.Key, _releasedTo) > 0) && !kept.Contains(change.Key))
                {
                    _released ??= OpenReleased();
                    _releasedWritten = true;
                    _released.WriteLine(change.Value is null ? SyncStateFormat.Join("D", change.Key) : SyncStateFormat.EntryLine(change.Key, change.Value));
                    written.Add(change.Key);
                }
            }

            foreach (var key in written)
            {
                _changes.Remove(key);
                Files.Remove(key);
            }

            while (_loadedKeys.Count > 0 && RangedListing.CompareKeys(_loadedKeys.Peek(), upTo) <= 0)
            {
                var key = _loadedKeys.Dequeue();
                if (!kept.Contains(key))
                {
                    Files.Remove(key);
                }
            }

            if (_releasedTo is null || RangedListing.CompareKeys(upTo, _releasedTo) > 0)
            {
                _releasedTo = upTo;
            }
        }
    }

    // After a streamed load: the entries are read by the windows from the state file (or a JSON state read
    // whole was: its entries become changes, which the save writes in lines).
    private void OpenStream(string? linesFile)
    {
        _oldFile = linesFile;
        if (linesFile is null)
        {
            foreach (var pair in Files)
            {
                _changes[pair.Key] = pair.Value;
            }

            Files.Clear();
            _changed = true;
        }
    }

    // After a load: a streamed state's count of entries, its file counted by one pass when its header has none.
    private void CountEntries()
    {
        if (!_streamed)
        {
            return;
        }

        if (_oldFile is not null && _fileEntries is null)
        {
            using var cursor = new SyncStateCursor(_oldFile, _md5Optional);
            _fileEntries = Keys(cursor).LongCount();
        }

        _entryCountAtLoad = (_fileEntries ?? 0) + _changes.Values.LongCount(e => e is not null);
    }

    private SyncStateCursor OpenCursor() => new(_oldFile!, _md5Optional, _fileEntries);

    // A damaged state file is said once: the windows and the save's merge meet the same damage.
    private void Warn(string? damage)
    {
        if (damage is not null && WindowWarning is null)
        {
            WindowWarning = damage;
            ChittyLog.Warning(damage);
        }
    }

    // A change of one path's entry (null: forgotten), called under _gate: a streamed state keeps it for the
    // save (a whole one saves Files).
    private void TrackChange(string relativePath, SyncStateEntry? entry)
    {
        if (_streamed)
        {
            _changes[relativePath] = entry;
        }
    }

    // A change the journal replays at load (a streamed state applies it to the windows and the save).
    private void Replayed(string relativePath, SyncStateEntry? entry)
    {
        if (_streamed)
        {
            _changes[relativePath] = entry;
        }
        else if (entry is null)
        {
            Files.Remove(relativePath);
        }
        else
        {
            Files[relativePath] = entry;
        }
    }

    // Whether relativePath is in the window loaded and not yet released (in whole mode every path is).
    private bool InWindow(string relativePath) =>
        !_streamed
        || ((_releasedTo is null || RangedListing.CompareKeys(relativePath, _releasedTo) > 0)
            && (_loadedToEnd || (_loadedTo is not null && RangedListing.CompareKeys(relativePath, _loadedTo) <= 0)));

    // Whether Files holds relativePath's entry if it has one: in the window, or kept in memory.
    private bool AnswersFor(string relativePath) => Files.ContainsKey(relativePath) || InWindow(relativePath);

    private void RequireStreamed()
    {
        ThrowIfDisposed();
        if (!_streamed)
        {
            throw new InvalidOperationException("The sync state was loaded whole: windows are for a state loaded streamed.");
        }
    }

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw new ObjectDisposedException(nameof(SyncState), "The sync state was disposed: load it again.");
        }
    }

    private StreamWriter OpenReleased()
    {
        if (_releasedWritten)
        {
            // Closed by a save that failed: what it holds is still to be saved.
            return new StreamWriter(new FileStream(ReleasedPath, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16), new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        }

        // A leftover of a killed run is not this run's: its changes are in the journal, which the load replayed.
        File.Delete(ReleasedPath);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(ReleasedPath)!);
        return new StreamWriter(ConfigDirectory.CreatePrivateFile(ReleasedPath, 1 << 16), new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
    }

    /// <summary>
    /// Saves a streamed state: nothing when nothing changed since the load (and its file exists); else one
    /// merge of the state file's entries, the released changes and the changes in memory, in key order, into
    /// a temporary file that is flushed to disk and renamed over the state; then the journal and the released
    /// changes go. The entries line is written once the merge counted them, in place (its width is fixed).
    /// </summary>
    private void SaveStreamed()
    {
        lock (_fileGate)
        {
            var journal = File.Exists(JournalPath);
            lock (_gate)
            {
                if (!_changed && !journal && _oldFile is not null)
                {
                    return;
                }

                // Only this run's: a leftover of a killed run is not merged (the journal holds its changes).
                var released = _releasedWritten;
                _released?.Dispose();
                _released = null;
                // Read by the merge below; on Windows a file open for reading cannot be replaced. Windows after
                // this save read the new file from the key the last one ended at (LoadWindow).
                _window?.Dispose();
                _window = null;
                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
                var entries = 0L;
                AtomicFile.Write(Path, temp => ConfigDirectory.CreatePrivateFile(temp, 1 << 16), file =>
                {
                    var writer = new StreamWriter(file, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
                    WriteHeader(writer, 0);
                    entries = WriteMerged(writer, released);
                    writer.Flush();
                    file.Position = s_entriesDigitsOffset;
                    var digits = Encoding.ASCII.GetBytes(SyncStateFormat.EntriesLine(entries).Substring(SyncStateFormat.EntriesTag.Length + 1));
                    file.Write(digits, 0, digits.Length);
                    return true;
                });

                // What the journal and the released changes held is in the state file now.
                _unjournaled.Clear();
                _changes.Clear();
                _changed = false;
                // The changes of keys not yet loaded are in the new file now, for their windows to read; the
                // released keys stay released (a change of one is kept in memory for the next save).
                _oldFile = Path;
                _fileEntries = entries;
                _windowEnded = _loadedToEnd;
                _releasedWritten = false;
            }

            File.Delete(ReleasedPath);
            if (journal)
            {
                File.Delete(JournalPath);
            }

            if (_legacyPath is not null)
            {
                File.Delete(_legacyPath);
                _legacyPath = null;
            }
        }
    }

    // Writes the merged entries and returns how many: the state file's lines, overridden by the released
    // changes, overridden by the changes in memory (each stream in key order; a null line is a forgotten path).
    private long WriteMerged(TextWriter w, bool withReleased)
    {
        using var old = _oldFile is null ? null : OpenCursor();
        using var released = withReleased ? new StreamReader(ReleasedPath, new UTF8Encoding(false)) : null;
        var streams = new[]
        {
            old is null ? Enumerable.Empty<(string, string?)>().GetEnumerator() : Lines(old).GetEnumerator(),
            released is null ? Enumerable.Empty<(string, string?)>().GetEnumerator() : ReleasedLines(released).GetEnumerator(),
            _changes.Select(c => (c.Key, c.Value is null ? null : SyncStateFormat.EntryLine(c.Key, c.Value))).GetEnumerator(),
        };
        var live = streams.Select(s => s.MoveNext()).ToArray();
        var count = 0L;
        while (live.Any(l => l))
        {
            string? key = null;
            for (var i = 0; i < streams.Length; i++)
            {
                if (live[i] && (key is null || RangedListing.CompareKeys(streams[i].Current.Item1, key) < 0))
                {
                    key = streams[i].Current.Item1;
                }
            }

            // The last stream holding the key wins: the changes in memory, then the released ones, then the file.
            string? line = null;
            for (var i = 0; i < streams.Length; i++)
            {
                if (live[i] && RangedListing.CompareKeys(streams[i].Current.Item1, key!) == 0)
                {
                    line = streams[i].Current.Item2;
                    live[i] = streams[i].MoveNext();
                }
            }

            if (line is not null)
            {
                w.WriteLine(line);
                count++;
            }
        }

        Warn(old?.Damage);
        return count;
    }

    private static IEnumerable<(string Key, string? Line)> Lines(SyncStateCursor cursor)
    {
        while (cursor.Take() is { } item)
        {
            yield return (item.Key, item.Line);
        }
    }

    private static IEnumerable<string> Keys(SyncStateCursor cursor) => Lines(cursor).Select(l => l.Key);

    private static IEnumerable<(string Key, string? Line)> ReleasedLines(StreamReader reader)
    {
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            var fields = SyncStateFormat.Split(line);
            yield return (fields[1], fields[0] == "D" ? null : line);
        }
    }

}
