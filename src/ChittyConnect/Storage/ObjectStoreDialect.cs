namespace ChittyConnect.Storage;

/// <summary>
/// Where S3-compatible stores differ in what they accept. The store speaks R2's (and S3's) dialect unless
/// it is given another: parts of at least 5 MiB.
/// </summary>
internal sealed class ObjectStoreDialect
{
    /// <summary>R2's and S3's rules.</summary>
    public static ObjectStoreDialect R2 { get; } = new();

    /// <summary>Smallest part the store accepts (every part but the last).</summary>
    public long MinimumPartSize { get; init; } = R2StoreOptions.MinimumPartSize;
}
