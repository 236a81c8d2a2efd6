using ChittyConnect.Storage;

namespace ChittyConnect.PowerShell.Internal;

/// <summary>
/// The S3 transports of this process, kept between cmdlet calls: a session's next Sync-ChittyFolder or
/// Test-ChittyConnection against the same bucket with the same credentials and transfer settings reuses the
/// SDK client and its open connections (<see cref="S3TransportPool"/> says what is shared and what never is).
/// Released when the module is removed (<see cref="ModuleInitializer.OnRemove"/>).
/// </summary>
internal static class StoreTransports
{
    // Enough for a session's connection or two, each with Sync-ChittyFolder's and Test-ChittyConnection's
    // settings; an idle transport holds at most its transfers' connections, which close when idle anyway.
    private static readonly S3TransportPool s_pool = new(4);

    /// <summary>A store for one call over a pooled transport; disposing it gives the transport back.</summary>
    public static R2ObjectStore Open(ChittyConnection connection, R2StoreOptions options) => new(connection.Settings, options, s_pool);

    /// <summary>Disposes the idle transports (and each one in use when its call ends).</summary>
    public static void Release() => s_pool.Clear();
}
