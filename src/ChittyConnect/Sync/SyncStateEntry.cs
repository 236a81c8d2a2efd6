using ChittyConnect.Files;
using ChittyConnect.Hashing;

namespace ChittyConnect.Sync;

/// <summary>
/// What the state remembers of one path: the content both sides agreed on when the path was last synced
/// (uploaded, downloaded or found identical), the local file's size and last-write time that content had,
/// and the remote object's ETag for it. The stat makes the hashes a cache (a file with the same stat is not
/// read again); the ETag tells whether the remote object is still that content without a request. A two-way
/// sync uses the entry as its baseline; an entry exists only for content that was on both sides at once.
/// </summary>
/// <remarks>
/// A state holds one entry per file synced, so the hashes are kept as bytes (<see cref="PackedHex"/>): a
/// SHA-256 in 56 bytes instead of a 148-byte string, and an ETag that is the MD5 shares the MD5's bytes.
/// Each property reads back exactly the text it was given.
/// </remarks>
internal sealed class SyncStateEntry
{
    private object _sha256 = string.Empty;
    private object _md5 = string.Empty;
    private object? _remoteETag;

    public long Size { get; set; }

    /// <summary>Last-write time, UTC ticks: with the size, the key that makes the hashes trustworthy.</summary>
    public long ModifiedTicks { get; set; }

    /// <summary>The version of the file these hashes were computed from.</summary>
    public FileVersion Version => new(Size, ModifiedTicks);

    public string Sha256
    {
        get => PackedHex.Unpack(_sha256)!;
        set => _sha256 = PackedHex.Pack(value)!;
    }

    public string Md5
    {
        get => PackedHex.Unpack(_md5)!;
        set => _md5 = PackedHex.Pack(value)!;
    }

    /// <summary>
    /// The ETag of the object as last uploaded, downloaded or verified against this content (a multipart
    /// ETag is not an MD5, so this is what recognizes the object as unchanged). Null only in states written
    /// before ETags were kept.
    /// </summary>
    public string? RemoteETag
    {
        get => PackedHex.Unpack(_remoteETag);
        set
        {
            var packed = PackedHex.Pack(value);
            _remoteETag = PackedHex.Same(packed, _md5) ? _md5 : packed;
        }
    }

    /// <summary>
    /// True when no sync report is owed for this content: the service confirmed one naming it, or this
    /// machine found it on both sides without moving it.
    /// </summary>
    public bool Reported { get; set; }

    /// <summary>Whether <paramref name="other"/> remembers the same content, stat, ETag and report as this entry.</summary>
    public bool SameAs(SyncStateEntry other) =>
        Size == other.Size && ModifiedTicks == other.ModifiedTicks && Reported == other.Reported
        && PackedHex.Same(_sha256, other._sha256) && PackedHex.Same(_md5, other._md5) && PackedHex.Same(_remoteETag, other._remoteETag);
}
