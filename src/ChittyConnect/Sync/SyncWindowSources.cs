using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>Gives a run's windows in key order (<see cref="SyncWindows"/> plans and carries them out).</summary>
internal interface ISyncWindowSource : IAsyncDisposable
{
    /// <summary>The next window, or null after the last.</summary>
    Task<SyncWindow?> NextAsync();

    /// <summary>
    /// The window's paths are done with: the state may let go of their entries, except those of
    /// <paramref name="keep"/> (a transfer, a delete or a report still to come).
    /// </summary>
    void Release(SyncWindow window, IReadOnlyCollection<string> keep);
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

    public void Release(SyncWindow window, IReadOnlyCollection<string> keep)
    {
        // The whole state stays loaded: it is saved whole.
    }

    public ValueTask DisposeAsync() => default;
}

