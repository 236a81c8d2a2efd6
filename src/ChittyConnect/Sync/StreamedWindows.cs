using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using ChittyConnect.Diagnostics;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>
/// The windows of a whole run read from the two sides as streams in key order: the folder walked in key
/// order (<see cref="LocalScanner.WalkSorted"/>) and the prefix listed page by page (<see cref="RemoteKeyStream"/>,
/// in ranges where the last listing came in key order). A window ends at the smaller of the two sides'
/// <c>size</c>-th next key (or at the end), so it holds at most <c>size</c> files and <c>size</c> objects, and the
/// state's entries up to there. Memory is a window, the walk's folders on its path and a few listing pages.
/// </summary>
/// <remarks>
/// A listing in one range gives the keys as the store lists them. A key that comes out of order (s3rver lists
/// "d.txt" after the keys under "d/") and falls in a window still to come takes its place there; one that falls
/// in a window already planned is planned alone after the last window (<see cref="NextAsync"/>'s late window),
/// its local file looked at by <see cref="LocalScanner.ScanPath"/> (a first sync: no state entry was decided
/// without it; with state entries such a key throws <see cref="ListAgainException"/>), and the listing is
/// recorded as not in key order, so the next run plans whole. A listing in ranges has to be in key order (a range stops at its last
/// key): a range meeting a key out of order, or a key the state knows that the ranges did not show and that a
/// HEAD finds there (or more such keys than <see cref="RangedListing.MaxKeysConfirmed"/>), stops the run's
/// planning with <see cref="ListAgainException"/> before the window is planned; a run with state entries is
/// streamed only where it holds its plan (it changed nothing yet, and forgets nothing before every window is
/// planned), and it is planned again whole.
/// </remarks>
internal sealed class StreamedWindows : ISyncWindowSource
{
    private readonly SyncRun _run;
    private readonly int _size;
    private readonly bool _folderExists;
    private readonly LocalScan _sink = new();
    private readonly IEnumerator<LocalFile> _walk;
    private readonly RemoteKeyStream _listing;
    private readonly bool _ranged;
    private readonly StateWindows _state;

    // Read ahead of the window being cut, in key order.
    private readonly List<LocalFile> _local = new();
    private readonly List<RemoteObject> _remote = new();

    // Objects listed out of order after their window was planned.
    private readonly List<RemoteObject> _late = new();
    private string? _lastListed;
    private bool _walked;
    private bool _listed;
    private string? _after;
    private bool _cut;
    private bool _lateGiven;
    private int _errorsWarned;
    private int _confirmed;

    // No state entry when the run began: no window decided a path on an entry while its object was unlisted.
    private readonly bool _firstRun;

    private StreamedWindows(SyncRun run, int size, bool ranged, RemoteKeyStream listing)
    {
        _run = run;
        _size = size;
        _ranged = ranged;
        _listing = listing;
        _folderExists = System.IO.Directory.Exists(run.Root);
        _walk = _folderExists ? LocalScanner.WalkSorted(run.Root, run.Options.Filters, _sink, run.Token).GetEnumerator() : Enumerable.Empty<LocalFile>().GetEnumerator();
        _state = new StateWindows(run.State);
        _firstRun = run.State.EntryCount == 0;
    }

    /// <summary>
    /// Starts the listing of the run's prefix: in ranges split at the state's keys where the last listing came
    /// in key order, else in one. Only a first run (no state entry) or one that holds its plan is streamed
    /// (<see cref="SyncEngine.PlansInWindows"/>), so a <see cref="ListAgainException"/> comes before any change.
    /// </summary>
    public static StreamedWindows Open(SyncRun run, int size)
    {
        var splitAfter = run.State.ListedInKeyOrder ? SplitPoints(run) : Array.Empty<string>();
        run.Progress.Phase(SyncPhase.Scanning);
        return new StreamedWindows(run, size, splitAfter.Count > 0, RemoteKeyStream.Open(run.Store, run.Prefix, splitAfter, run.Token));
    }

    // The most ranges a listing is cut into: at 1,000,000 keys, ranges of 2,000.
    private const int MostRanges = 512;

    // Where to cut the state's keys into ranges of a whole number of pages, at least RangedListing.MinKeysPerRange
    // keys (the stream lists RemoteKeyStream.ActiveRanges of them at once, each held to a few pages, so small
    // ranges keep that many requests in flight): after the keys at those places in the state. A prefix as the
    // state remembers it is then listed in as many requests as one page after the other would take, a range's
    // last page ending at its last key.
    private static IReadOnlyList<string> SplitPoints(SyncRun run)
    {
        var total = run.State.EntryCount;
        var page = ((R2ObjectStore)run.Store).Options.ListPageKeys;
        var pagesPerRange = Math.Max((RangedListing.MinKeysPerRange + page - 1) / page, (total + (long)MostRanges * page - 1) / ((long)MostRanges * page));
        var keysPerRange = pagesPerRange * page;
        var lastKeys = new List<long>();
        for (var end = keysPerRange; end < total; end += keysPerRange)
        {
            lastKeys.Add(end - 1);
        }

        return run.State.KeysAt(lastKeys).Select(k => run.Prefix + k).ToList();
    }

    /// <summary>The whole run is to be planned again, listed in one range: the ranges missed or misplaced keys.</summary>
    public sealed class ListAgainException : Exception
    {
        public ListAgainException(string message, Exception? inner = null)
            : base(message, inner)
        {
        }
    }

    public async Task<SyncWindow?> NextAsync()
    {
        if (_cut)
        {
            return LateWindow();
        }

        ReadLocal();
        await ReadRemoteAsync().ConfigureAwait(false);
        var upTo = SyncWindows.EndOf(
            _local.Count >= _size ? _local[_size - 1].RelativePath : null,
            _remote.Count >= _size ? _remote[_size - 1].RelativeKey : null);
        var local = new Dictionary<string, LocalFile>(StringComparer.Ordinal);
        var taken = 0;
        for (; taken < _local.Count && SyncWindows.UpTo(_local[taken].RelativePath, upTo); taken++)
        {
            local.Add(_local[taken].RelativePath, _local[taken]);
        }

        _local.RemoveRange(0, taken);
        var remote = new Dictionary<string, RemoteObject>(StringComparer.Ordinal);
        for (taken = 0; taken < _remote.Count && SyncWindows.UpTo(_remote[taken].RelativeKey!, upTo); taken++)
        {
            remote.Add(_remote[taken].RelativeKey!, _remote[taken]);
        }

        _remote.RemoveRange(0, taken);
        var entries = _state.Window(upTo);
        if (_ranged)
        {
            await ConfirmMissingAsync(entries, remote).ConfigureAwait(false);
        }

        _errorsWarned = SyncInventory.WarnScanErrors(_run, _sink, _errorsWarned);
        var window = new SyncWindow(SyncInventory.OfWindow(_sink, local, remote, _folderExists), entries, _after, upTo);
        _after = upTo;
        if (upTo is null)
        {
            _cut = true;
            // The next run lists in ranges only where this listing came in key order.
            _run.State.ListedInKeyOrder = _late.Count == 0 && _listing.InKeyOrder;
        }

        return window;
    }

    public void Release(SyncWindow window, IReadOnlyCollection<string> keep) => _state.Release(window.UpTo, keep);

    public ValueTask DisposeAsync()
    {
        _walk.Dispose();
        return _listing.DisposeAsync();
    }

    private void ReadLocal()
    {
        while (!_walked && _local.Count < _size)
        {
            if (_walk.MoveNext())
            {
                _local.Add(_walk.Current);
            }
            else
            {
                _walked = true;
            }
        }
    }

    private async Task ReadRemoteAsync()
    {
        while (!_listed && _remote.Count < _size)
        {
            RemoteObject? listed;
            try
            {
                listed = await _listing.NextAsync().ConfigureAwait(false);
            }
            catch (RangedListing.OutOfOrderException ex)
            {
                throw new ListAgainException($"The listing of '{_run.Store.Bucket}/{_run.Prefix}' in ranges met a key out of key order: planning again from a listing in one range.", ex);
            }

            if (listed is null)
            {
                _listed = true;
                break;
            }

            var rel = listed.Key.Substring(_run.Prefix.Length);
            var inOrder = _lastListed is null || RangedListing.CompareKeys(rel, _lastListed) > 0;
            _lastListed = inOrder ? rel : _lastListed;
            if (SyncInventory.Selected(_run, listed, rel) is not { } selected)
            {
                continue;
            }

            if (inOrder)
            {
                _remote.Add(selected);
            }
            else if (_after is null || RangedListing.CompareKeys(rel, _after) > 0)
            {
                // A window still to come: its place among the keys read ahead. A store that pages after the last
                // key it gave (s3rver) gives a key it listed out of key order again: the later answer stands.
                var at = _remote.FindIndex(o => RangedListing.CompareKeys(o.RelativeKey!, rel) >= 0);
                if (at >= 0 && RangedListing.CompareKeys(_remote[at].RelativeKey!, rel) == 0)
                {
                    _remote[at] = selected;
                }
                else
                {
                    _remote.Insert(at < 0 ? _remote.Count : at, selected);
                }
            }
            else if (!_firstRun)
            {
                // Its window was planned as if the object were gone, which the state would take for a delete.
                throw new ListAgainException($"'{listed.Key}' was listed after keys that come after it in key order: planning '{_run.Store.Bucket}/{_run.Prefix}' again whole.");
            }
            else
            {
                _late.RemoveAll(o => o.Key == selected.Key);
                _late.Add(selected);
            }
        }
    }

    // A known key the ranges did not show is deleted, or the ranges missed it: a HEAD tells (a few of them; more
    // missing at once, and the ranges are not trusted).
    private async Task ConfirmMissingAsync(IReadOnlyList<(string RelativePath, SyncStateEntry Entry)> entries, Dictionary<string, RemoteObject> remote)
    {
        foreach (var (rel, _) in entries.Where(e => !remote.ContainsKey(e.RelativePath) && _run.Options.Filters.IncludeFileAndParents(e.RelativePath)))
        {
            if (++_confirmed > RangedListing.MaxKeysConfirmed)
            {
                throw new ListAgainException($"More than {RangedListing.MaxKeysConfirmed} keys the last run synced were not in the listing of '{_run.Store.Bucket}/{_run.Prefix}' in ranges: planning again from a listing in one range.");
            }

            if (await _run.Store.HeadAsync(_run.Prefix + rel, _run.Token).ConfigureAwait(false) is not null)
            {
                throw new ListAgainException($"'{_run.Prefix + rel}' is there, but the listing of '{_run.Store.Bucket}/{_run.Prefix}' in ranges did not show it: planning again from a listing in one range.");
            }
        }
    }

    // The objects listed after their window was planned, each decided alone with its local file as it is now.
    private SyncWindow? LateWindow()
    {
        if (_lateGiven || _late.Count == 0)
        {
            return null;
        }

        _lateGiven = true;
        ChittyLog.Verbose($"{_late.Count} key(s) of '{_run.Store.Bucket}/{_run.Prefix}' were listed out of key order (e.g. '{_late[0].Key}'): planned after the others, and the next run lists the prefix whole.");
        var scan = new LocalScan();
        foreach (var o in _late)
        {
            LocalScanner.ScanPath(_run.Root, o.RelativeKey!, _run.Options.Filters, scan);
        }

        var late = new HashSet<string>(_late.Select(o => o.RelativeKey!), StringComparer.Ordinal);
        var entries = _late.Select(o => o.RelativeKey!).Where(rel => _run.State.EntryFor(rel) is not null).Select(rel => (rel, _run.State.EntryFor(rel)!)).ToList();
        return new SyncWindow(SyncInventory.OfWindow(_sink, scan.Files, _late.ToDictionary(o => o.RelativeKey!, StringComparer.Ordinal), _folderExists), entries, late);
    }
}

/// <summary>The state's entries window by window, in key order, read from a state loaded streamed.</summary>
internal sealed class StateWindows
{
    private readonly SyncState _state;
    private string? _after;

    public StateWindows(SyncState state) => _state = state;

    /// <summary>The entries after the last window's up to <paramref name="upTo"/> (null: to the end).</summary>
    public IReadOnlyList<(string RelativePath, SyncStateEntry Entry)> Window(string? upTo)
    {
        _state.LoadWindow(upTo);
        var after = _after;
        _after = upTo;
        // What the state holds in memory is the window and the entries kept from windows before.
        return _state.Entries()
            .Where(e => (after is null || RangedListing.CompareKeys(e.RelativePath, after) > 0) && SyncWindows.UpTo(e.RelativePath, upTo))
            .OrderBy(e => e.RelativePath, RangedListing.KeyOrder)
            .ToList();
    }

    /// <summary>The entries up to <paramref name="upTo"/> are done with, but those of <paramref name="keep"/> (the last window's stay until the save).</summary>
    public void Release(string? upTo, IReadOnlyCollection<string> keep)
    {
        if (upTo is not null)
        {
            _state.Release(upTo, keep);
        }
    }
}
