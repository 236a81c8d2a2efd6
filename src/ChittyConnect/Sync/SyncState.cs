using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace ChittyConnect.Sync;

/// <summary>
/// The per-(folder, endpoint, bucket, prefix) state of one machine: a cache of file hashes for a mirror, what
/// the sync owns (and may delete), and for two-way sync the baseline that decides whether a path missing on one
/// side was deleted there. When it is missing, corrupt, of a future version, for another target or written on
/// another machine, everything is rehashed and the run is a first run (nothing is deleted on its strength).
/// Writes go to an owner-only temporary file that is flushed to disk and renamed over the old one, so a crash
/// leaves either state. Thread-safe: one lock guards the entries, the paths being moved and the pending
/// uploads (SyncState.PendingUploads.cs), which are saved together (SyncState.Persistence.cs).
/// <para>
/// Loaded whole, <see cref="Files"/> holds every entry. Loaded streamed (SyncState.Streamed.cs) it holds a
/// window of keys at a time, read in key order, and the save merges the old file with what changed: memory is
/// bounded by the window's entries, the changed entries not yet released, the entries a release kept, the
/// journal's entries at load, the paths being moved and the pending uploads - not by the number of files.
/// </para>
/// </summary>
internal sealed partial class SyncState : IDisposable
{
    /// <summary>
    /// 3 is the state in lines (SyncStateFormat); 2 was JSON with the machine that wrote it, converted on first
    /// read; 1 (JSON, before machine ids) is read as a cache of hashes only.
    /// </summary>
    public const int CurrentVersion = 3;

    // Set by a read of a JSON state, which the next save writes in lines whatever it holds.
    private bool _needsConversion;

    // The JSON state of an earlier version this one was read from (SyncStateLocation.LegacyPathOf), deleted by
    // the first save, so that only one state of the target remains.
    private string? _legacyPath;

    private readonly object _gate = new();

    public SyncState(string path, string identity)
    {
        Path = path;
        Identity = identity;
    }

    public string Path { get; }

    public string Identity { get; }

    public Dictionary<string, SyncStateEntry> Files { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Whether the last listing of the prefix read every key strictly in key order (UTF-8 bytes), so that the
    /// next may be listed in ranges (RangedListing.ListKnownAsync); false until a listing showed it. A change
    /// of it is saved, as a change of an entry is (it is not journaled: false, the default, is the safe side).
    /// </summary>
    public bool ListedInKeyOrder
    {
        get => _listedInKeyOrder;
        set
        {
            lock (_gate)
            {
                _changed |= _listedInKeyOrder != value;
                _listedInKeyOrder = value;
            }
        }
    }

    private bool _listedInKeyOrder;

    // The entries of a state from before machine ids (version 1), which cannot say whose they are: a cache of
    // hashes (a file with the same stat is not read again), never a baseline or what the sync owns. A run
    // re-records each path it finds in agreement, so after it the state is this machine's.
    private readonly Dictionary<string, SyncStateEntry> _inherited = new(StringComparer.Ordinal);


    // Paths a run set out to move and has not recorded yet, saved before its transfers start. A transfer whose
    // answer was lost, or a run killed after the store (or the folder) took a file and before the state
    // recorded it, leaves that file on both sides, unrecorded and unreported: the next run finds it identical,
    // and must still report it. A path leaves the set once recorded, or forgotten.
    private readonly HashSet<string> _moving = new(StringComparer.Ordinal);

    /// <summary>
    /// The entry of <paramref name="relativePath"/>, or null; in streamed mode of the entries in memory (the
    /// window loaded and the entries kept): load the path's window first.
    /// </summary>
    public SyncStateEntry? EntryFor(string relativePath)
    {
        lock (_gate)
        {
            return Files.TryGetValue(relativePath, out var e) ? e : null;
        }
    }

    /// <summary>
    /// Every entry, by relative path (a copy); in streamed mode the entries of the window loaded and not yet
    /// released (entries kept by a release are left out: their window was planned).
    /// </summary>
    public List<(string RelativePath, SyncStateEntry Entry)> Entries()
    {
        lock (_gate)
        {
            return Files.Where(p => InWindow(p.Key)).OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, p.Value)).ToList();
        }
    }

    /// <summary>The remembered hashes of <paramref name="file"/> when its size and last-write time are still those they were computed for.</summary>
    public SyncStateEntry? CachedHashes(LocalFile file)
    {
        var e = EntryFor(file.RelativePath);
        if (e is null)
        {
            lock (_gate)
            {
                _inherited.TryGetValue(file.RelativePath, out e);
            }
        }

        return e is not null && e.Version == file.Version ? e : null;
    }

    /// <summary>
    /// Records that both sides hold the content <paramref name="hashes"/> describes, the remote one as
    /// <paramref name="remoteETag"/>: <paramref name="transferred"/> by this run (a report is due), or found
    /// on both sides already (none is: the service heard of it from whoever put it there).
    /// </summary>
    public void Remember(string relativePath, SyncStateEntry hashes, string remoteETag, bool transferred) => Remember(relativePath, hashes, (object)remoteETag, transferred);

    /// <summary>As the other overload, with the ETag <paramref name="remote"/> was listed with (not made into text).</summary>
    public void Remember(string relativePath, SyncStateEntry hashes, Storage.RemoteObject remote, bool transferred) => Remember(relativePath, hashes, remote.PackedETag, transferred);

    private void Remember(string relativePath, SyncStateEntry hashes, object remoteETag, bool transferred)
    {
        lock (_gate)
        {
            if (!Files.TryGetValue(relativePath, out var old))
            {
                _inherited.TryGetValue(relativePath, out old);
            }

            // A report covers content: the same content at the same key keeps what it had (a report a
            // failed run still owes stays owed), other content is reported when this run moved it.
            var sameContent = old is not null && old.SameContentAs(hashes) && old.RemoteETagIs(remoteETag);
            var wasMoving = _moving.Remove(relativePath);
            transferred |= wasMoving;
            var reported = sameContent ? old!.Reported : !transferred;
            if (!wasMoving && Files.TryGetValue(relativePath, out var current) && current.Is(hashes, remoteETag, reported))
            {
                // A file found as it was: nothing to write (a sync of unchanged files writes no state).
                return;
            }

            var entry = SyncStateEntry.Of(hashes, remoteETag, reported);
            Files[relativePath] = entry;
            JournalEntry(relativePath, entry);
        }
    }

    /// <summary>
    /// Records the paths this run is about to move (checkpoint next, before moving them). The set is held
    /// whole in both modes: it holds the paths set moving and not yet recorded (transfers in flight or
    /// planned), not the folder.
    /// </summary>
    public void BeginMoving(IEnumerable<string> relativePaths)
    {
        lock (_gate)
        {
            foreach (var rel in relativePaths)
            {
                if (_moving.Add(rel))
                {
                    Journal(SyncStateFormat.Join("M", rel));
                }
            }
        }
    }

    /// <summary>
    /// Forgets <paramref name="relativePath"/> (it is on neither side any more). In streamed mode a path outside
    /// the window loaded, whose entry is not in memory, is forgotten all the same.
    /// </summary>
    public void Forget(string relativePath)
    {
        lock (_gate)
        {
            if (Files.Remove(relativePath) | _moving.Remove(relativePath) | !AnswersFor(relativePath))
            {
                JournalEntry(relativePath, null);
            }
        }
    }

    /// <summary>
    /// Forgets every path of the state, and every path being moved, with no file under <paramref name="root"/>
    /// that <paramref name="listedRemotely"/> does not know either. Whole mode only: a streamed state holds one
    /// window, which <see cref="ForgetMissingInWindow"/> covers.
    /// </summary>
    public void ForgetMissing(string root, Func<string, bool> listedRemotely)
    {
        lock (_gate)
        {
            if (_streamed)
            {
                throw new InvalidOperationException("A streamed sync state forgets per window (ForgetMissingInWindow): it does not hold the whole state.");
            }

            ForgetMissingAmong(Files.Keys.Concat(_moving), root, listedRemotely);
        }
    }

    /// <summary>
    /// <see cref="ForgetMissing"/> over the paths of the window loaded and not yet released: its entries and
    /// the paths being moved that fall in it (in whole mode, every path). <paramref name="listedRemotely"/>
    /// answers for the window's keys.
    /// </summary>
    public void ForgetMissingInWindow(string root, Func<string, bool> listedRemotely)
    {
        lock (_gate)
        {
            ForgetMissingAmong(Files.Keys.Concat(_moving).Where(InWindow), root, listedRemotely);
        }
    }

    // Called under _gate.
    private void ForgetMissingAmong(IEnumerable<string> paths, string root, Func<string, bool> listedRemotely)
    {
        foreach (var rel in paths.ToList())
        {
            if (!listedRemotely(rel) && !File.Exists(System.IO.Path.Combine(root, rel)) && (Files.Remove(rel) | _moving.Remove(rel)))
            {
                JournalEntry(rel, null);
            }
        }
    }

    /// <summary>
    /// The entries of <paramref name="relativePaths"/> that no sync report has named yet, in ordinal order; in
    /// streamed mode of those in memory (the window loaded and the entries kept).
    /// </summary>
    public List<(string RelativePath, SyncStateEntry Entry)> Unreported(IEnumerable<string> relativePaths)
    {
        lock (_gate)
        {
            return relativePaths.OrderBy(r => r, StringComparer.Ordinal)
                .Where(r => Files.TryGetValue(r, out var e) && !e.Reported)
                .Select(r => (r, Files[r]))
                .ToList();
        }
    }

    /// <summary>
    /// Marks the content now recorded for <paramref name="relativePaths"/> as named in a confirmed report; in
    /// streamed mode, of those in memory (the window loaded and the entries kept).
    /// </summary>
    public void MarkReported(IEnumerable<string> relativePaths)
    {
        lock (_gate)
        {
            foreach (var rel in relativePaths)
            {
                if (Files.TryGetValue(rel, out var e) && !e.Reported)
                {
                    e.Reported = true;
                    JournalEntry(rel, e);
                }
            }
        }
    }
}
