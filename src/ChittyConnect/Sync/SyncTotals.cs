namespace ChittyConnect.Sync;

/// <summary>
/// What the guards weigh a run's deletes against, summed over its windows: how many files each side has, how
/// many the state recorded, and whether the folder could be read. Known only once every window is planned.
/// </summary>
internal sealed class SyncTotals
{
    /// <summary>Selected local files.</summary>
    public int LocalFiles { get; set; }

    /// <summary>Selected objects under the prefix.</summary>
    public int RemoteObjects { get; set; }

    /// <summary>The state's selected entries (not under a skipped link): the files synced at the last run.</summary>
    public int BaselineFiles { get; set; }

    /// <summary>Folders the scan could not read and names it refused.</summary>
    public int ScanErrors { get; set; }

    public bool FolderExists { get; set; }

    /// <summary>False for a run over some paths, which never counts a side empty.</summary>
    public bool IsWhole { get; set; }

    /// <summary>The folder has no selected file (known only from a whole run).</summary>
    public bool LocalEmpty => IsWhole && LocalFiles == 0;

    /// <summary>The prefix has no selected object (known only from a whole run).</summary>
    public bool RemoteEmpty => IsWhole && RemoteObjects == 0;
}
