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
        set => _remoteETag = PackedHex.Is(_md5, value) ? _md5 : PackedHex.Pack(value);
    }

    /// <summary>The length of <see cref="Sha256"/>, read without making the text.</summary>
    public int Sha256Length => PackedHex.TextLength(_sha256);

    /// <summary>The length of <see cref="Md5"/>, read without making the text.</summary>
    public int Md5Length => PackedHex.TextLength(_md5);

    /// <summary>Whether <see cref="RemoteETag"/> is <paramref name="etag"/>, read without making the text.</summary>
    public bool RemoteETagIs(string? etag) => etag is not null && PackedHex.Is(_remoteETag, etag);

    /// <summary>Whether <see cref="RemoteETag"/> is the ETag <paramref name="remote"/> was listed with, read without making either text.</summary>
    public bool RemoteETagIs(Storage.RemoteObject remote) => _remoteETag is not null && PackedHex.Same(_remoteETag, remote.PackedETag);

    /// <summary>Whether <see cref="Md5"/> is the ETag <paramref name="remote"/> was listed with, read without making either text.</summary>
    public bool Md5Is(Storage.RemoteObject remote) => PackedHex.Same(_md5, remote.PackedETag);

    /// <summary>Whether <see cref="Md5"/> is <paramref name="md5"/>, read without making the text.</summary>
    public bool Md5Is(string? md5) => md5 is not null && PackedHex.Is(_md5, md5);

    /// <summary>Whether <see cref="Sha256"/> is <paramref name="sha256"/>, read without making the text.</summary>
    public bool Sha256Is(string? sha256) => sha256 is not null && PackedHex.Is(_sha256, sha256);

    /// <summary>Whether <paramref name="other"/> holds the same content (its SHA-256).</summary>
    public bool SameContentAs(SyncStateEntry other) => PackedHex.Same(_sha256, other._sha256);

    /// <summary>
    /// An entry of the content, size and time of <paramref name="hashes"/> with <paramref name="remoteETag"/>: the
    /// hashes' bytes are shared, not made again (they are never changed in place).
    /// </summary>
    public static SyncStateEntry Of(SyncStateEntry hashes, string remoteETag, bool reported) => Of(hashes, (object)remoteETag, reported);

    /// <summary>As <see cref="Of(SyncStateEntry, string, bool)"/>, with the ETag as a listing holds it (<see cref="Storage.RemoteObject.PackedETag"/>) or as text.</summary>
    public static SyncStateEntry Of(SyncStateEntry hashes, object remoteETag, bool reported)
    {
        var entry = new SyncStateEntry
        {
            Size = hashes.Size,
            ModifiedTicks = hashes.ModifiedTicks,
            _sha256 = hashes._sha256,
            _md5 = hashes._md5,
            Reported = reported,
        };
        entry._remoteETag = PackedHex.Same(entry._md5, remoteETag) ? entry._md5
            : hashes._remoteETag is not null && PackedHex.Same(hashes._remoteETag, remoteETag) ? hashes._remoteETag
            : remoteETag is string text ? PackedHex.Pack(text) : remoteETag;
        return entry;
    }

    /// <summary>Whether this entry is what <see cref="Of(SyncStateEntry, object, bool)"/> would make of these, read without making anything.</summary>
    public bool Is(SyncStateEntry hashes, object remoteETag, bool reported) =>
        Size == hashes.Size && ModifiedTicks == hashes.ModifiedTicks && Reported == reported
        && PackedHex.Same(_sha256, hashes._sha256) && PackedHex.Same(_md5, hashes._md5) && _remoteETag is not null && PackedHex.Same(_remoteETag, remoteETag);

    /// <summary>Whether <see cref="RemoteETag"/> is <paramref name="remoteETag"/>, packed or text.</summary>
    public bool RemoteETagIs(object remoteETag) => _remoteETag is not null && PackedHex.Same(_remoteETag, remoteETag);

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
