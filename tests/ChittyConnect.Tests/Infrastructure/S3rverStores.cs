using ChittyConnect.Configuration;
using ChittyConnect.Storage;

namespace ChittyConnect.Tests.Infrastructure;

/// <summary>
/// The object store as the tests run it against s3rver (started with R2's multipart answers by
/// build/s3rver-r2.js), which differs from R2 in one way the store is told of here: it accepts parts below
/// 5 MiB, so multipart uploads stay small in tests.
/// </summary>
public static class S3rverStores
{
    /// <summary>s3rver's dialect, with parts of at least <paramref name="minimumPartSize"/> bytes.</summary>
    internal static ObjectStoreDialect Dialect(long minimumPartSize) => new() { MinimumPartSize = minimumPartSize };

    /// <summary>
    /// A store on s3rver (or a proxy in front of it), its HTTP handler wrapped by <paramref name="wrapHandler"/>,
    /// reading the files it uploads through <paramref name="openFile"/> when given.
    /// </summary>
    public static R2ObjectStore Create(ChittyConnectionSettings settings, R2StoreOptions options, long minimumPartSize = 256 * 1024,
        Func<HttpMessageHandler, HttpMessageHandler>? wrapHandler = null, Func<string, Stream>? openFile = null) =>
        new(settings, options, Dialect(minimumPartSize), wrapHandler, openFile);
}
