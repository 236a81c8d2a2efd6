using System;

namespace ChittyConnect.Storage;

/// <summary>How an <see cref="R2ObjectStore"/> talks to R2 (or any S3-compatible store).</summary>
public sealed class R2StoreOptions
{
    /// <summary>Smallest part R2 and S3 accept (every part but the last).</summary>
    public const long MinimumPartSize = 5L * 1024 * 1024;

    /// <summary>Most parts one multipart upload may have.</summary>
    public const int MaximumParts = 10_000;

    /// <summary>
    /// Requests in flight at once across every transfer (connections per server follow it). Null, the default:
    /// the store chooses by how the link answers (see <see cref="RequestWindow"/>), up to 64, with the parts of
    /// large files also bounded by <see cref="PartBytesInFlight"/>.
    /// </summary>
    public int? MaxConcurrentRequests { get; set; }

    /// <summary>
    /// Bytes of parts in flight at once when <see cref="MaxConcurrentRequests"/> is chosen by the link: parts
    /// of 16 MiB, 16 at a time. A part may be held in memory while it is sent (made content, such as
    /// ciphertext), and 16 parts already fill a 100 Mbit/s link at 300 ms a round trip many times over.
    /// </summary>
    public const long PartBytesInFlight = 256L * 1024 * 1024;

    /// <summary>Most connections (requests in flight) this store opens to the server.</summary>
    internal int RequestsCap => MaxConcurrentRequests ?? RequestWindow.Cap;

    /// <summary>Parts of <paramref name="partSize"/> bytes one upload sends at once.</summary>
    internal int PartsInFlight(long partSize) =>
        MaxConcurrentRequests ?? (int)Math.Max(1, Math.Min(RequestWindow.Cap, PartBytesInFlight / Math.Max(1, partSize)));

    /// <summary>The window that admits this store's requests: fixed to <see cref="MaxConcurrentRequests"/>, or the link's.</summary>
    internal RequestWindow NewWindow() => MaxConcurrentRequests is { } fixedCount ? RequestWindow.Fixed(fixedCount) : RequestWindow.Adaptive();

    /// <summary>
    /// Keys a LIST page asks for: S3's and R2's most, so a listing costs the fewest round trips. Fewer only where
    /// a test needs many pages of few keys.
    /// </summary>
    internal int ListPageKeys { get; set; } = 1000;

    /// <summary>Bytes per second across every transfer; 0 means unlimited.</summary>
    public long BandwidthLimit { get; set; }

    /// <summary>Files of at least this size are uploaded in parts.</summary>
    public long MultipartThreshold { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Objects of at least this size are downloaded into a file as ranges side by side (see
    /// <see cref="R2ObjectStore"/>'s ranged download); smaller ones, and every download into a stream that
    /// cannot seek, take one GET. Tests lower it to reach the ranged path with small objects.
    /// </summary>
    internal long RangedDownloadThreshold { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// The rate (bytes a second) at which the object's own answer must bring its first
    /// <see cref="RangedDownloadChunk"/> for the rest to follow by that one stream; slower, the rest comes by
    /// ranges side by side. Tests set it out of reach to take the ranges whatever the link.
    /// </summary>
    internal double RangedDownloadMinimumRate { get; set; } = 64.0 * 1024 * 1024;

    /// <summary>Ranged GETs of one download in flight at once (each also admitted by the request window).</summary>
    internal int RangedDownloadStreams { get; set; } = 4;

    /// <summary>Bytes of one ranged GET; one buffer of this size per stream, and one more, is held while a download runs.</summary>
    internal long RangedDownloadChunk { get; set; } = 8L * 1024 * 1024;

    /// <summary>Preferred part size; grown when a file would need more than <see cref="MaximumParts"/> parts.</summary>
    public long PartSize { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// Longest time a request may go without a byte moving either way (body out, answer in); a transfer that
    /// keeps moving, however slowly, is never cut. Under a <see cref="BandwidthLimit"/> the time a transfer
    /// waits for its turn is added, so throttling never counts as idleness.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Retries of a failed request (throttling, 5xx, network), with the SDK's backoff.</summary>
    public int MaxRetries { get; set; } = 5;

    /// <summary>
    /// How long an outage of the store (connection refused or reset, timeouts, 5xx, throttling) is waited out
    /// within a run, after the SDK's own <see cref="MaxRetries"/>: failed requests are retried with backoff until
    /// the store answers again or it has failed this long (see <see cref="StoreOutage"/>); zero waits for nothing.
    /// </summary>
    public TimeSpan RetryTimeout { get; set; } = DefaultRetryTimeout;

    /// <summary>The default <see cref="RetryTimeout"/>: one minute.</summary>
    public static readonly TimeSpan DefaultRetryTimeout = TimeSpan.FromMinutes(1);

    /// <summary>Checks the values; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public void Validate() => Validate(MinimumPartSize);

    /// <summary>
    /// The part size for a file of <paramref name="length"/> bytes: the preferred size, grown in whole
    /// MiB (or to the exact minimum) until the file fits in <see cref="MaximumParts"/> equal parts.
    /// </summary>
    public long PartSizeFor(long length) => PartSizeFor(length, MinimumPartSize);

    internal void Validate(long minimumPartSize)
    {
        if (MaxConcurrentRequests < 1)
        {
            throw new ArgumentException("MaxConcurrentRequests must be at least 1.");
        }

        if (BandwidthLimit < 0)
        {
            throw new ArgumentException("BandwidthLimit must not be negative.");
        }

        if (PartSize < minimumPartSize)
        {
            throw new ArgumentException($"PartSize must be at least {minimumPartSize} bytes.");
        }

        if (IdleTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("IdleTimeout must be positive.");
        }

        if (RetryTimeout < TimeSpan.Zero)
        {
            throw new ArgumentException("RetryTimeout must not be negative.");
        }

        if (MultipartThreshold < PartSize)
        {
            throw new ArgumentException("MultipartThreshold must be at least PartSize.");
        }
    }

    internal long PartSizeFor(long length, long minimumPartSize)
    {
        var size = Math.Max(PartSize, minimumPartSize);
        var needed = (length + MaximumParts - 1) / MaximumParts;
        if (needed > size)
        {
            const long mib = 1024 * 1024;
            size = (needed + mib - 1) / mib * mib;
        }

        return size;
    }
}
