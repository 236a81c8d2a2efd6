using System.Collections.Generic;

namespace ChittyConnect.Storage;

/// <summary>
/// Where S3-compatible stores differ in what they accept and answer. The store speaks R2's (and S3's)
/// dialect unless it is given another: parts of at least 5 MiB, and a completed multipart upload's ETag
/// being the MD5 of the part MD5s, a dash and the part count.
/// </summary>
internal sealed class ObjectStoreDialect
{
    /// <summary>R2's and S3's rules.</summary>
    public static ObjectStoreDialect R2 { get; } = new();

    /// <summary>Smallest part the store accepts (every part but the last).</summary>
    public long MinimumPartSize { get; init; } = R2StoreOptions.MinimumPartSize;

    /// <summary>
    /// The ETag the store must answer for a completed multipart upload, from the part MD5s (hex) and the
    /// whole content's MD5 when the caller knows it; any other answer means the object is not what was sent.
    /// </summary>
    public System.Func<IReadOnlyList<string>, string?, string?> CompletedETag { get; init; } = (partMd5s, _) => R2ObjectStore.MultipartETag(partMd5s);
}
