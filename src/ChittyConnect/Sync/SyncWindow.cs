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

    /// <summary>The local files and the objects in the window.</summary>
    public SyncInventory Inventory { get; }

    /// <summary>The state's entries in the window.</summary>
    public IReadOnlyList<(string RelativePath, SyncStateEntry Entry)> Entries { get; }

    /// <summary>The last key of the window before (null for the first window).</summary>
    public string? After { get; }

    /// <summary>The window's last key (null: to the end).</summary>
    public string? UpTo { get; }

    /// <summary>True when the window holds some keys of the run only: what lies outside it is not known here.</summary>
    public bool IsPart => After is not null || UpTo is not null;

    /// <summary>Whether <paramref name="relativePath"/> falls in this window.</summary>
    public bool Holds(string relativePath) =>
        (After is null || RangedListing.CompareKeys(relativePath, After) > 0) && (UpTo is null || RangedListing.CompareKeys(relativePath, UpTo) <= 0);
}
