using System.Collections.Generic;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>
/// One window of a run: the keys after <see cref="After"/> up to <see cref="UpTo"/> in key order
/// (<see cref="RangedListing.KeyOrder"/>; null: from the first, to the last), with the local files, the objects
/// and the state's entries there. A whole-mode run is one window of every key.
/// </summary>
internal sealed class SyncWindow
{
    public SyncWindow(SyncInventory inventory, IReadOnlyList<(string RelativePath, SyncStateEntry Entry)> entries, string? after, string? upTo)
    {
        Inventory = inventory;
        Entries = entries;
        After = after;
        UpTo = upTo;
    }

    /// <summary>
    /// The window of the objects a listing gave out of key order after their place was planned: the paths
    /// <paramref name="paths"/>, planned once more with their local files as they are now.
    /// </summary>
    public SyncWindow(SyncInventory inventory, IReadOnlyList<(string RelativePath, SyncStateEntry Entry)> entries, HashSet<string> paths)
        : this(inventory, entries, after: null, upTo: null)
    {
        _paths = paths;
    }

    private readonly HashSet<string>? _paths;

    /// <summary>True for the window of the objects listed out of key order (whose local files were counted in their places).</summary>
    public bool IsLate => _paths is not null;

    /// <summary>The local files and the objects in the window.</summary>
    public SyncInventory Inventory { get; }

    /// <summary>The state's entries in the window.</summary>
    public IReadOnlyList<(string RelativePath, SyncStateEntry Entry)> Entries { get; }

    /// <summary>The last key of the window before (null for the first window).</summary>
    public string? After { get; }

    /// <summary>The window's last key (null: to the end).</summary>
    public string? UpTo { get; }

    /// <summary>True when the window holds some keys of the run only: what lies outside it is not known here.</summary>
    public bool IsPart => After is not null || UpTo is not null || IsLate;

    /// <summary>Whether <paramref name="relativePath"/> falls in this window.</summary>
    public bool Holds(string relativePath) =>
        _paths is not null
            ? _paths.Contains(relativePath)
            : (After is null || RangedListing.CompareKeys(relativePath, After) > 0) && (UpTo is null || RangedListing.CompareKeys(relativePath, UpTo) <= 0);
}
