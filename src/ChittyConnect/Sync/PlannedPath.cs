namespace ChittyConnect.Sync;

/// <summary>A path on its way through the planner; Failed once its content could not be read.</summary>
internal sealed class PlannedPath
{
    public PlannedPath(SyncPlanItem item) => Item = item;

    public SyncPlanItem Item { get; }

    public bool Failed { get; set; }

    /// <summary>The local file's stat differs from the baseline's at the same size: its hashes decide.</summary>
    public bool LocalUnsettled { get; set; }

    /// <summary>The object's multipart ETag differs from the baseline's at the same size: its sha256 metadata decides.</summary>
    public bool RemoteUnsettled { get; set; }
}
