using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Storage;

/// <summary>
/// What a sync needs of a bucket: <see cref="R2ObjectStore"/> itself, or a layer over it such as
/// <see cref="Crypt.EncryptedObjectStore"/> that changes keys and content on the way. The members mean
/// what they mean on <see cref="R2ObjectStore"/>.
/// </summary>
public interface IObjectStore
{
    /// <summary>The bucket.</summary>
    string Bucket { get; }

    /// <summary>The endpoint.</summary>
    Uri Endpoint { get; }

    /// <summary>Requests made so far, by kind (live counters).</summary>
    StoreRequestCounts Requests { get; }

    /// <summary>The options in force (multipart threshold, part size, ...).</summary>
    R2StoreOptions Options { get; }

    /// <summary>The size of the parts a multipart upload of <paramref name="length"/> bytes is sent in.</summary>
    long PartSizeFor(long length);

    /// <summary>Every object under <paramref name="prefix"/>.</summary>
    Task<RemoteListing> ListAsync(string prefix, CancellationToken cancellationToken);

    /// <summary>
    /// Every object under <paramref name="prefix"/>, listed in the ranges between <paramref name="splitAfter"/>
    /// at once (<see cref="RangedListing"/>); the same objects in the same order as the listing above.
    /// </summary>
    Task<RemoteListing> ListAsync(string prefix, IReadOnlyList<string> splitAfter, CancellationToken cancellationToken);

    /// <summary>
    /// Uploads a local file to <paramref name="key"/>, verified, resuming <paramref name="resumableUpload"/> when
    /// its parts still fit; with a <paramref name="condition"/>, only over the version it names. The hashes of
    /// its <paramref name="parts"/>, made by the read that made <paramref name="sha256"/>, spare a read of the
    /// file where the object holds its bytes as they are.
    /// </summary>
    Task<UploadResult> UploadFileAsync(string path, string key, string sha256, string? md5, DateTimeOffset modified,
        Action<long>? progress, Action<string>? multipartStarted, CancellationToken cancellationToken, string? resumableUpload = null,
        WriteCondition? condition = null, Hashing.PartHashes? parts = null, Action? multipartCreating = null);

    /// <summary>
    /// Aborts the multipart uploads of exactly <paramref name="key"/> that the store dates from 15 minutes before
    /// <paramref name="since"/> on (the clock difference SigV4 lets a store accept), but those in
    /// <paramref name="keep"/>: the uploads a CreateMultipartUpload sent at <paramref name="since"/> may have made
    /// whose id never reached the caller. Returns how many it aborted, or null when it cannot know that none is
    /// left (the listing failed or was cut short, an abort failed).
    /// </summary>
    Task<int?> AbortUploadsBegunSinceAsync(string key, DateTimeOffset since, IReadOnlyCollection<string> keep, CancellationToken cancellationToken);

    /// <summary>Downloads <paramref name="key"/> into <paramref name="destination"/>, verified.</summary>
    Task<DownloadResult> DownloadAsync(string key, Stream destination, Action<long>? progress, CancellationToken cancellationToken);

    /// <summary>The object's headers; null when there is no such object.</summary>
    Task<RemoteObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken);

    /// <summary>
    /// Whether <paramref name="remote"/> (as this store listed it) holds the content of the local file
    /// <paramref name="path"/>, whose hashes are <paramref name="hashes"/> when already known.
    /// </summary>
    Task<ContentComparison> CompareAsync(RemoteObject remote, string path, Hashing.ContentHashes? hashes, CancellationToken cancellationToken);

    /// <summary>Deletes keys; returns the ones the store refused.</summary>
    Task<IReadOnlyList<DeleteFailure>> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken);

    /// <summary>Aborts a multipart upload; false when it no longer exists.</summary>
    Task<bool> AbortUploadAsync(string key, string uploadId, CancellationToken cancellationToken);
}
