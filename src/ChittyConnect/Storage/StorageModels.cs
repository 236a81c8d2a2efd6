using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Threading;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

/// <summary>An object as a listing shows it (listings carry no user metadata).</summary>
public sealed class RemoteObject
{
    // A sync holds one per object under its prefix, so there the key is kept as the prefix (one string for
    // all) and the part after it, and the ETag as its bytes (Hashing.PackedHex); each reads back as given.
    private readonly string? _key;
    private readonly string? _prefix;
    private readonly object _etag;

    /// <summary>Creates the value.</summary>
    public RemoteObject(string key, long size, string etag, DateTimeOffset? lastModified)
    {
        _key = key;
        Size = size;
        _etag = etag;
        LastModified = lastModified;
    }

    /// <summary>The object at <paramref name="prefix"/> + <paramref name="relativeKey"/>, held in parts.</summary>
    internal RemoteObject(string prefix, string relativeKey, long size, string etag, DateTimeOffset? lastModified)
    {
        _prefix = prefix;
        RelativeKey = relativeKey;
        Size = size;
        _etag = PackedHex.Pack(etag)!;
        LastModified = lastModified;
    }

    /// <summary><paramref name="listed"/> held in parts, as <paramref name="prefix"/> and <paramref name="relativeKey"/> (its key).</summary>
    internal RemoteObject(string prefix, string relativeKey, RemoteObject listed)
    {
        _prefix = prefix;
        RelativeKey = relativeKey;
        Size = listed.Size;
        _etag = listed._etag is string etag ? PackedHex.Pack(etag)! : listed._etag;
        LastModified = listed.LastModified;
    }

    /// <summary>The full object key.</summary>
    public string Key => _key ?? _prefix + RelativeKey;

    /// <summary>The ETag as held (<see cref="PackedHex"/>, or the text as given): compared without making its text.</summary>
    internal object PackedETag => _etag;

    /// <summary>The key after the prefix it was listed under, when it was made from the two.</summary>
    internal string? RelativeKey { get; }

    /// <summary>Size in bytes.</summary>
    public long Size { get; }

    /// <summary>The ETag without quotes, lower case: an MD5 for single-part objects, md5-of-md5s-N for R2 multipart.</summary>
    public string ETag => PackedHex.Unpack(_etag)!;

    /// <summary>When the store last wrote it.</summary>
    public DateTimeOffset? LastModified { get; }

    /// <summary>True when the ETag has the md5-of-part-md5s-N form, i.e. it is not the MD5 of the content.</summary>
    public bool IsMultipartETag => _etag is string etag && etag.IndexOf('-') >= 0;

    /// <inheritdoc />
    public override string ToString() => Key;
}

/// <summary>
/// The objects a listing found, in the order the store gave them, and whether that order is the key order
/// (UTF-8 bytes) throughout: what decides whether the next listing of the prefix may be cut into ranges.
/// </summary>
public sealed class RemoteListing : ReadOnlyCollection<RemoteObject>
{
    /// <summary>Creates the value.</summary>
    public RemoteListing(IList<RemoteObject> objects, bool inKeyOrder)
        : base(objects)
    {
        InKeyOrder = inKeyOrder;
    }

    /// <summary>
    /// True when every key the listing read came strictly after the one before it in key order (UTF-8 bytes),
    /// as R2 and S3 list; false for a store that lists otherwise (s3rver walks its folders: "a/x" before "a b").
    /// </summary>
    public bool InKeyOrder { get; }
}

/// <summary>What HEAD (or the headers of a GET) says about an object.</summary>
public sealed class RemoteObjectInfo
{
    /// <summary>The full object key.</summary>
    public string Key { get; set; } = string.Empty;

    /// <summary>Size in bytes.</summary>
    public long Size { get; set; }

    /// <summary>The ETag without quotes, lower case.</summary>
    public string ETag { get; set; } = string.Empty;

    /// <summary>The x-amz-meta-sha256 the uploader stored, when there is one.</summary>
    public string? Sha256 { get; set; }

    /// <summary>The x-amz-meta-mtime the uploader stored (the file's last-write time), when there is one that is a time.</summary>
    public DateTimeOffset? FileModified { get; set; }

    /// <summary>
    /// The content's MD5 (lower-case hex) when the object tells it: its ETag when that is a single PUT's,
    /// else the md5chksum metadata rclone (and the module) write on uploads in parts; null otherwise.
    /// </summary>
    public string? ContentMd5 { get; set; }

    /// <summary>When the store last wrote it.</summary>
    public DateTimeOffset? LastModified { get; set; }
}

/// <summary>
/// What the key must hold for an upload to be written there: the version a sync planned against, sent as R2's
/// conditional headers (If-Match with its ETag, or If-None-Match: * when there was none). When the key holds
/// anything else, the store refuses the write and both versions stay as they are (<see cref="ObjectStoreException.RemoteChanged"/>).
/// </summary>
public sealed class WriteCondition
{
    private WriteCondition(string? etag) => ETag = etag;

    /// <summary>The key must hold no object.</summary>
    public static WriteCondition Absent { get; } = new(null);

    /// <summary>The ETag the object at the key must have; null for <see cref="Absent"/>.</summary>
    public string? ETag { get; }

    /// <summary>The key must hold the object with <paramref name="etag"/>.</summary>
    public static WriteCondition Matches(string etag) => new(etag ?? throw new ArgumentNullException(nameof(etag)));

    /// <summary>The key must hold what a listing showed: <paramref name="seen"/>, or nothing when it showed none.</summary>
    public static WriteCondition For(RemoteObject? seen) => seen is null ? Absent : Matches(seen.ETag);

    /// <inheritdoc />
    public override string ToString() => ETag is null ? "If-None-Match: *" : "If-Match: \"" + ETag + "\"";
}

/// <summary>The outcome of an upload whose every request was verified.</summary>
public sealed class UploadResult
{
    /// <summary>The object key.</summary>
    public string Key { get; set; } = string.Empty;

    /// <summary>The ETag the store answered (no quotes, lower case).</summary>
    public string ETag { get; set; } = string.Empty;

    /// <summary>Bytes sent.</summary>
    public long Size { get; set; }

    /// <summary>Number of parts; 0 for a single PUT.</summary>
    public int Parts { get; set; }
}

/// <summary>The outcome of a verified download.</summary>
public sealed class DownloadResult
{
    /// <summary>The object's headers.</summary>
    public RemoteObjectInfo Info { get; set; } = new();

    /// <summary>SHA-256 of the bytes received.</summary>
    public string Sha256 { get; set; } = string.Empty;

    /// <summary>MD5 of the bytes received; empty from an encrypted store (its objects hold ciphertext, which this never matches).</summary>
    public string Md5 { get; set; } = string.Empty;

    /// <summary>Bytes received.</summary>
    public long Size { get; set; }

    /// <summary>How the content was checked: "md5" (ETag), "md5chksum" or "sha256" (metadata), or "size" (nothing else available).</summary>
    public string VerifiedBy { get; set; } = string.Empty;
}

/// <summary>What settled whether an object holds some content.</summary>
public enum ComparedBy
{
    /// <summary>The sizes differ (an encrypted object's ciphertext size against the file's).</summary>
    Size,

    /// <summary>A single PUT's ETag, the content's MD5.</summary>
    ETag,

    /// <summary>The object's sha256 metadata (one HEAD).</summary>
    Sha256,

    /// <summary>rclone's md5chksum metadata (one HEAD).</summary>
    Md5Checksum,

    /// <summary>No usable hash: the object was read and compared with the content.</summary>
    Content,

    /// <summary>The object was gone or another size when looked at again (one HEAD).</summary>
    Changed,

    /// <summary>An encrypted object without rclone crypt's header.</summary>
    NotEncrypted,
}

/// <summary>Whether an object holds some content, what settled it and what it cost to find out.</summary>
public sealed class ContentComparison
{
    /// <summary>True when the object holds exactly that content.</summary>
    public bool Same { get; set; }

    /// <summary>What settled it.</summary>
    public ComparedBy By { get; set; }

    /// <summary>Bytes of the object read to compare them (only when it had no usable hash).</summary>
    public long RemoteBytesRead { get; set; }

    /// <summary>Bytes of the local content read to hash or compare it here.</summary>
    public long LocalBytesRead { get; set; }
}

/// <summary>A key a batch delete could not remove.</summary>
public sealed class DeleteFailure
{
    /// <summary>Creates the value.</summary>
    public DeleteFailure(string key, string code, string message)
    {
        Key = key;
        Code = code;
        Message = message;
    }

    /// <summary>The key.</summary>
    public string Key { get; }

    /// <summary>The store's error code.</summary>
    public string Code { get; }

    /// <summary>The store's message.</summary>
    public string Message { get; }
}

/// <summary>A failed storage request, or content that did not verify.</summary>
public sealed class ObjectStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ObjectStoreException(string message, string? key = null, string? code = null, int statusCode = 0, Exception? inner = null)
        : base(message, inner)
    {
        Key = key;
        Code = code;
        StatusCode = statusCode;
    }

    /// <summary>
    /// The <see cref="Code"/> of an upload the store refused because the key no longer holds the version its
    /// <see cref="WriteCondition"/> named (another writer came first); nothing was written.
    /// </summary>
    public const string RemoteChanged = "RemoteChanged";

    /// <summary>
    /// The <see cref="Code"/> of an upload the store refused because it does not implement conditional writes
    /// (501 NotImplemented to If-Match or If-None-Match); nothing was written.
    /// </summary>
    public const string ConditionalWriteUnsupported = "ConditionalWriteUnsupported";

    /// <summary>The object key concerned, if any.</summary>
    public string? Key { get; }

    /// <summary>The store's error code (NoSuchKey, AccessDenied, ...), or one of ours (ETagMismatch, ContentChanged).</summary>
    public string? Code { get; }

    /// <summary>HTTP status, 0 when there was none.</summary>
    public int StatusCode { get; }

    /// <summary>
    /// True when the failed upload had replaced the object at <see cref="Key"/> and the store then removed what it
    /// stored (it was not the content hashed): the key now holds no object, neither the new version nor the old.
    /// </summary>
    public bool ObjectRemoved { get; init; }
}

/// <summary>Counts of the storage requests made, by kind.</summary>
public sealed class StoreRequestCounts
{
    private long _list;
    private long _put;
    private long _get;
    private long _head;
    private long _delete;
    private long _multipart;

    /// <summary>ListObjectsV2 pages (and ListMultipartUploads).</summary>
    public long List => Interlocked.Read(ref _list);

    /// <summary>Single-request PutObject.</summary>
    public long Put => Interlocked.Read(ref _put);

    /// <summary>GetObject.</summary>
    public long Get => Interlocked.Read(ref _get);

    /// <summary>HeadObject.</summary>
    public long Head => Interlocked.Read(ref _head);

    /// <summary>DeleteObjects batches.</summary>
    public long Delete => Interlocked.Read(ref _delete);

    /// <summary>Multipart requests: create, each part, complete, abort.</summary>
    public long Multipart => Interlocked.Read(ref _multipart);

    /// <summary>All of them.</summary>
    public long Total => List + Put + Get + Head + Delete + Multipart;

    internal void AddList() => Interlocked.Increment(ref _list);
    internal void AddPut() => Interlocked.Increment(ref _put);
    internal void AddGet() => Interlocked.Increment(ref _get);
    internal void AddHead() => Interlocked.Increment(ref _head);
    internal void AddDelete() => Interlocked.Increment(ref _delete);
    internal void AddMultipart() => Interlocked.Increment(ref _multipart);

    /// <summary>A frozen copy.</summary>
    public StoreRequestCounts Snapshot() => new()
    {
        _list = List, _put = Put, _get = Get, _head = Head, _delete = Delete, _multipart = Multipart,
    };

    /// <summary>The requests made since <paramref name="earlier"/>.</summary>
    public StoreRequestCounts Since(StoreRequestCounts earlier) => new()
    {
        _list = List - earlier.List, _put = Put - earlier.Put, _get = Get - earlier.Get,
        _head = Head - earlier.Head, _delete = Delete - earlier.Delete, _multipart = Multipart - earlier.Multipart,
    };

    /// <inheritdoc />
    public override string ToString() => $"List={List} Put={Put} Get={Get} Head={Head} Delete={Delete} Multipart={Multipart}";
}
