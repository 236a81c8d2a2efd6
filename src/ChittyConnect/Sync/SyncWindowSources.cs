using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>Gives a run's windows in key order (<see cref="SyncWindows"/> plans and carries them out).</summary>
internal interface ISyncWindowSource
{
    /// <summary>The next window, or null after the last.</summary>
    Task<SyncWindow?> NextAsync();
}

/// <summary>A run planned in one window: an inventory taken whole (or of some paths) and the state's every entry.</summary>
internal sealed class WholeWindow : ISyncWindowSource
{
    private SyncWindow? _window;

    public WholeWindow(SyncRun run, SyncInventory inventory) => _window = new SyncWindow(inventory, run.State.Entries(), after: null, upTo: null);

    public Task<SyncWindow?> NextAsync()
    {
        var window = _window;
        _window = null;
        return Task.FromResult(window);
    }
}

/// <summary>
/// The windows of an inventory taken whole, each of at most <c>size</c> files and <c>size</c> objects: a window
/// ends at the smaller of the two sides' <c>size</c>-th next key (or at the end), and holds the state's entries
/// up to there. The whole inventory is held meanwhile: the decisions are the windowed run's, the memory the
/// whole run's.
/// </summary>
internal sealed class SlicedWindows : ISyncWindowSource
{
    private readonly SyncInventory _whole;
    private readonly int _size;
    private readonly List<LocalFile> _local;
    private readonly List<KeyValuePair<string, RemoteObject>> _remote;
    private readonly List<(string RelativePath, SyncStateEntry Entry)> _entries;
    private int _nextLocal;
    private int _nextRemote;
    private int _nextEntry;
    private string? _after;
    private bool _done;

    public SlicedWindows(SyncRun run, SyncInventory whole, int size)
    {
        _whole = whole;
        _size = size;
        _local = whole.Local.Values.OrderBy(f => f.RelativePath, RangedListing.KeyOrder).ToList();
        _remote = whole.Remote.OrderBy(p => p.Key, RangedListing.KeyOrder).ToList();
        _entries = run.State.Entries().OrderBy(e => e.RelativePath, RangedListing.KeyOrder).ToList();
    }

    public Task<SyncWindow?> NextAsync()
    {
        if (_done)
        {
            return Task.FromResult<SyncWindow?>(null);
        }

        var upTo = SyncWindows.EndOf(
            _nextLocal + _size <= _local.Count ? _local[_nextLocal + _size - 1].RelativePath : null,
            _nextRemote + _size <= _remote.Count ? _remote[_nextRemote + _size - 1].Key : null);
        var local = new Dictionary<string, LocalFile>(StringComparer.Ordinal);
        for (; _nextLocal < _local.Count && SyncWindows.UpTo(_local[_nextLocal].RelativePath, upTo); _nextLocal++)
        {
            local.Add(_local[_nextLocal].RelativePath, _local[_nextLocal]);
        }

        var remote = new Dictionary<string, RemoteObject>(StringComparer.Ordinal);
        for (; _nextRemote < _remote.Count && SyncWindows.UpTo(_remote[_nextRemote].Key, upTo); _nextRemote++)
        {
            remote.Add(_remote[_nextRemote].Key, _remote[_nextRemote].Value);
        }

        var entries = new List<(string RelativePath, SyncStateEntry Entry)>();
        for (; _nextEntry < _entries.Count && SyncWindows.UpTo(_entries[_nextEntry].RelativePath, upTo); _nextEntry++)
        {
            entries.Add(_entries[_nextEntry]);
        }

        var window = new SyncWindow(SyncInventory.OfWindow(_whole.Scan, local, remote, _whole.FolderExists), entries, _after, upTo);
        _after = upTo;
        _done = upTo is null;
        return Task.FromResult<SyncWindow?>(window);
    }
}
