using System;
using System.Net;
using System.Buffers;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3;
using Amazon.S3.Model;
using ChittyConnect.Configuration;
using ChittyConnect.Diagnostics;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

/// <summary>
/// One bucket of R2 (or another S3-compatible store), spoken to through the AWS SDK for .NET set up for R2:
/// path-style addressing, region "auto", payloads signed with the SHA-256 the module computed and never
/// aws-chunked (R2 refuses it), Content-MD5 on every upload. Every write is verified against the MD5 of the
/// bytes actually sent. No SDK type appears in its public members.
/// </summary>
public sealed partial class R2ObjectStore : IObjectStore, IDisposable
{
    /// <summary>Metadata key of the content's SHA-256 (sent as x-amz-meta-sha256).</summary>
    public const string Sha256MetadataKey = ObjectMetadata.Sha256Key;

    /// <summary>Metadata key of the file's last-write time, in rclone's form (x-amz-meta-mtime; see <see cref="ObjectMetadata"/>).</summary>
    public const string MtimeMetadataKey = ObjectMetadata.MtimeKey;

    private const int DeleteBatch = 1000;

    private readonly R2StoreOptions _options;
    private readonly ObjectStoreDialect _dialect;
    private readonly S3Transport _s3;
    // What disposing the store does to _s3: disposes it (its own) or gives it back to a pool.
    private readonly IDisposable _s3Release;
    // Admits every request that holds a connection for its body: fixed, or sized by how the link answers.
    private readonly RequestWindow _window;
    private readonly BandwidthLimiter? _limiter;
    private readonly StoreOutage _outage;
    private readonly Func<string, Stream> _openFile;

    /// <summary>Connects to the R2 endpoint and bucket of <paramref name="settings"/>.</summary>
    public R2ObjectStore(ChittyConnectionSettings settings, R2StoreOptions? options = null)
        : this(settings, options, ObjectStoreDialect.R2, null)
    {
    }

    /// <summary>
    /// Connects through a transport of <paramref name="transports"/> built for exactly these settings (its
    /// client and open connections), given back when this store is disposed; counters, transfer slots and
    /// the bandwidth limit are this store's own as ever.
    /// </summary>
    internal R2ObjectStore(ChittyConnectionSettings settings, R2StoreOptions? options, S3TransportPool transports)
        : this(settings, options, ObjectStoreDialect.R2, null, transports ?? throw new ArgumentNullException(nameof(transports)))
    {
    }

    /// <summary>
    /// Connects to a store that speaks <paramref name="dialect"/>, its HTTP handler wrapped by
    /// <paramref name="wrapHandler"/> (to watch or disturb the wire).
    /// The files it uploads are read through <paramref name="openFile"/> when given (to count the reads).
    /// </summary>
    internal R2ObjectStore(ChittyConnectionSettings settings, R2StoreOptions? options, ObjectStoreDialect dialect, Func<HttpMessageHandler, HttpMessageHandler>? wrapHandler,
        Func<string, Stream>? openFile = null)
        : this(settings, options, dialect, wrapHandler, transports: null, openFile)
    {
    }

    private R2ObjectStore(ChittyConnectionSettings settings, R2StoreOptions? options, ObjectStoreDialect dialect,
        Func<HttpMessageHandler, HttpMessageHandler>? wrapHandler, S3TransportPool? transports, Func<string, Stream>? openFile = null)
    {
        _openFile = openFile ?? FileUploadContent.OpenRead;
        if (settings is null)
        {
            throw new ArgumentNullException(nameof(settings));
        }

        if (!settings.HasR2)
        {
            throw new ArgumentException("R2 is not configured: an R2 endpoint, bucket, access key id and secret access key are all required.");
        }

        _options = options ?? new R2StoreOptions();
        _dialect = dialect ?? throw new ArgumentNullException(nameof(dialect));
        _options.Validate(_dialect.MinimumPartSize);
        Endpoint = ChittyConnectionSettings.NormalizeEndpoint(settings.R2Endpoint!, "R2 endpoint");
        Bucket = settings.Bucket!;
        if (transports is null)
        {
            _s3 = new S3Transport(Endpoint, Bucket, settings.R2AccessKeyId!, settings.R2SecretAccessKey!.Reveal(), _options, wrapHandler);
            _s3Release = _s3;
        }
        else
        {
            var lease = transports.Rent(Endpoint, Bucket, settings.R2AccessKeyId!, settings.R2SecretAccessKey!.Reveal(), _options);
            _s3 = lease.Transport;
            _s3Release = lease;
        }

        _window = _options.NewWindow();
        _limiter = _options.BandwidthLimit > 0 ? new BandwidthLimiter(_options.BandwidthLimit) : null;
        _outage = new StoreOutage(_options.RetryTimeout);
    }

    /// <summary>The bucket.</summary>
    public string Bucket { get; }

    /// <summary>The endpoint.</summary>
    public Uri Endpoint { get; }

    /// <summary>The options in force.</summary>
    public R2StoreOptions Options => _options;

    /// <summary>The size of the parts a multipart upload of <paramref name="length"/> bytes is sent in.</summary>
    public long PartSizeFor(long length) => _options.PartSizeFor(length, _dialect.MinimumPartSize);

    /// <summary>Requests this store admits in flight now: the fixed number, or what the link's answers made of the window.</summary>
    internal int RequestLimit => _window.Limit;

    /// <summary>Requests made so far, by kind (live counters).</summary>
    public StoreRequestCounts Requests { get; } = new();

    private IAmazonS3 S3 => _s3.Client;

    /// <summary>
    /// Checks that the bucket exists and these credentials may list it (one request for one key), like
    /// the guide's "rclone lsd". Throws <see cref="ObjectStoreException"/> when not.
    /// </summary>
    public async Task ProbeAsync(CancellationToken cancellationToken)
    {
        var request = new ListObjectsV2Request { BucketName = Bucket, MaxKeys = 1 };
        await CallAsync("LIST", Bucket, Requests.AddList, () => S3.ListObjectsV2Async(request, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Lists every object under <paramref name="prefix"/>, following all pages. A page that says more follow
    /// but gives no continuation token, or repeats one already followed, fails the listing
    /// (<see cref="ObjectStoreException"/>, code IncompleteListing): a shorter listing would read as
    /// deleted objects.
    /// </summary>
    public Task<RemoteListing> ListAsync(string prefix, CancellationToken cancellationToken) =>
        ListAsync(prefix, Array.Empty<string>(), cancellationToken);

    /// <summary>
    /// Lists every object under <paramref name="prefix"/> as <see cref="RangedListing"/> does: the ranges
    /// between <paramref name="splitAfter"/> (keys under the prefix, ascending in key order) side by side,
    /// the result in key order as one listing would give it. Whether the store gave every key it was read
    /// in key order is <see cref="RemoteListing.InKeyOrder"/>.
    /// </summary>
    public Task<RemoteListing> ListAsync(string prefix, IReadOnlyList<string> splitAfter, CancellationToken cancellationToken) =>
        RangedListing.ListAsync(splitAfter, (startAfter, last, token) => CollectRangeAsync(prefix, startAfter, last, token), cancellationToken);

    private async Task<RemoteListing> CollectRangeAsync(string prefix, string? startAfter, string? last, CancellationToken cancellationToken)
    {
        var result = new List<RemoteObject>();
        var inKeyOrder = await ListRangeAsync(prefix, startAfter, last, page =>
        {
            result.AddRange(page);
            return Task.CompletedTask;
        }, cancellationToken).ConfigureAwait(false);
        return new RemoteListing(result, inKeyOrder);
    }

    /// <summary>
    /// Lists the objects under <paramref name="prefix"/> after <paramref name="startAfter"/> up to and including
    /// <paramref name="last"/> (null: from the start, to the end), handing them to <paramref name="page"/> a
    /// page at a time, in the store's order, as the pages come: the next page is asked for only once the task
    /// <paramref name="page"/> returned has finished, so a taker that waits holds the listing back. Returns
    /// whether every key read came in key order. A range with a bound throws
    /// <see cref="RangedListing.OutOfOrderException"/> (before handing on the page) on a key not above the one
    /// before it, or its first key not above <paramref name="startAfter"/>; the whole key space in one range hands on every key in whatever order the store gives them.
    /// A page that says more follow but gives no continuation token, or repeats one already followed, throws
    /// <see cref="ObjectStoreException"/> (code IncompleteListing): a shorter listing would read as deleted objects.
    /// Each page's request waits for <paramref name="takeTurn"/> when given, and gives the turn back
    /// (<paramref name="giveTurn"/>) once answered or failed: the turns are held only while a request is out.
    /// </summary>
    internal async Task<bool> ListRangeAsync(string prefix, string? startAfter, string? last, Func<IReadOnlyList<RemoteObject>, Task> page,
        CancellationToken cancellationToken, Func<Task>? takeTurn = null, Action? giveTurn = null)
    {
        var followed = new HashSet<string>(StringComparer.Ordinal);
        // encoding-type=url keeps keys with characters XML 1.0 cannot carry intact. The SDK hands the keys on as
        // they came, so they are decoded here when the answer says they were encoded (R2 and S3 do; s3rver
        // ignores the parameter and leaves EncodingType out), as rclone and botocore decode them: %XX as UTF-8
        // and '+' as a space.
        var request = new ListObjectsV2Request { BucketName = Bucket, Prefix = prefix, MaxKeys = _options.ListPageKeys, Encoding = EncodingType.Url, StartAfter = startAfter };
        // A range stops at its last key, so it holds the right keys only where the store lists in key order: it
        // checks that across its pages and through the page where it ends (RangedListing.OutOfOrderException).
        // It checks its first key against the key it starts after too: a store that ignores start-after (or
        // orders it otherwise) would give the range before's keys again, each listed twice.
        // The whole key space in one range reads every key, and says whether they came in key order.
        var ranged = startAfter is not null || last is not null;
        var previous = startAfter;
        var atStart = true;
        var inKeyOrder = true;
        var ended = false;
        while (true)
        {
            if (takeTurn is not null)
            {
                await takeTurn().ConfigureAwait(false);
            }

            ListObjectsV2Response answer;
            try
            {
                answer = await CallAsync("LIST", prefix, Requests.AddList, () => S3.ListObjectsV2Async(request, cancellationToken), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                giveTurn?.Invoke();
            }

            var encoded = answer.Encoding == EncodingType.Url;
            var listed = new List<RemoteObject>(answer.S3Objects?.Count ?? 0);
            foreach (var o in answer.S3Objects ?? new List<S3Object>())
            {
                var key = encoded ? WebUtility.UrlDecode(o.Key) : o.Key;
                if (previous is not null && RangedListing.CompareKeys(key, previous) <= 0)
                {
                    inKeyOrder = false;
                    if (ranged)
                    {
                        throw atStart
                            ? RangedListing.OutOfOrderException.BeforeStart(previous, key)
                            : new RangedListing.OutOfOrderException(previous, key);
                    }
                }

                previous = key;
                atStart = false;
                var beyond = last is null ? -1 : RangedListing.CompareKeys(key, last);
                if (!ended && beyond <= 0)
                {
                    listed.Add(new RemoteObject(key, o.Size ?? 0, NormalizeETag(o.ETag), ToOffset(o.LastModified)));
                }

                // At its last key the range is whole: no next page is asked for only to find the key beyond it.
                ended |= beyond >= 0;
            }

            if (listed.Count > 0)
            {
                await page(listed).ConfigureAwait(false);
            }

            if (ended || answer.IsTruncated != true)
            {
                return inKeyOrder;
            }

            var token = answer.NextContinuationToken;
            if (string.IsNullOrEmpty(token))
            {
                throw new ObjectStoreException($"The listing of '{Bucket}/{prefix}' is incomplete: the store said more objects follow but gave no continuation token. Nothing was changed.", prefix, "IncompleteListing");
            }

            if (!followed.Add(token))
            {
                throw new ObjectStoreException($"The listing of '{Bucket}/{prefix}' is incomplete: the store repeated a continuation token. Nothing was changed.", prefix, "IncompleteListing");
            }

            request.ContinuationToken = token;
        }
    }

    /// <summary>
    /// Uploads a file to <paramref name="key"/> with its SHA-256 and last-write time as metadata: one PUT
    /// below the multipart threshold, equal parts in parallel above it. Every request's ETag is checked
    /// against the MD5 of the bytes sent, and the bytes sent against <paramref name="sha256"/>; if the file
    /// changed since it was hashed, the object is removed again and <see cref="ObjectStoreException"/>
    /// (code ContentChanged) is thrown.
    /// </summary>
    /// <param name="path">The local file.</param>
    /// <param name="key">The object key.</param>
    /// <param name="sha256">The file's SHA-256 (lower-case hex), stored as metadata.</param>
    /// <param name="md5">The file's MD5 when known: sent as Content-MD5 so the store checks it too.</param>
    /// <param name="modified">The file's last-write time, stored as metadata.</param>
    /// <param name="progress">Receives the count of new bytes sent, as they go.</param>
    /// <param name="multipartStarted">Receives the upload id of a multipart upload as soon as it exists (to resume or abort it after a crash).</param>
    /// <param name="cancellationToken">Cancels the upload; a multipart upload is left to be resumed.</param>
    /// <param name="resumableUpload">
    /// The id of a multipart upload of this same content to <paramref name="key"/> that an earlier run began,
    /// if any: its parts whose ETag is the MD5 of the file's bytes at their place are kept and only the
    /// others are sent. When it no longer exists or does not match, a new upload begins.
    /// </param>
    /// <param name="condition">
    /// When given, the object is written only over the version it names (PutObject, CreateMultipartUpload and
    /// CompleteMultipartUpload carry it); otherwise <see cref="ObjectStoreException"/> with code
    /// <see cref="ObjectStoreException.RemoteChanged"/> is thrown and the key keeps what it holds.
    /// </param>
    /// <param name="parts">
    /// The hashes of the file's parts made by the same read as <paramref name="sha256"/> and
    /// <paramref name="md5"/> (<see cref="ContentHasher.HashFileAsync"/> with this store's
    /// <see cref="PartSizeFor"/>): a multipart upload then reads the file only to send
    /// it. Without them, or for another part size, the parts are hashed by a read of their own.
    /// </param>
    /// <param name="multipartCreating">
    /// Called just before a CreateMultipartUpload is sent, so that the caller can note (durably) that an upload may
    /// exist before its id is known: a crash between the store's answer and <paramref name="multipartStarted"/>
    /// leaves an upload only <see cref="AbortUploadsBegunSinceAsync"/> can find.
    /// </param>
    public async Task<UploadResult> UploadFileAsync(string path, string key, string sha256, string? md5, DateTimeOffset modified,
        Action<long>? progress, Action<string>? multipartStarted, CancellationToken cancellationToken, string? resumableUpload = null,
        WriteCondition? condition = null, PartHashes? parts = null, Action? multipartCreating = null)
    {
        EnsureSafeKey(key);
        using var content = new FileUploadContent(path, parts, _openFile);
        var length = content.Length;
        var result = length >= _options.MultipartThreshold && length > 0
            ? await UploadMultipartAsync(content, key, sha256, string.IsNullOrEmpty(md5) ? null : md5, modified, progress, multipartStarted, multipartCreating, resumableUpload, condition, cancellationToken).ConfigureAwait(false)
            : await PutAsync(content, key, sha256, md5, modified, condition, progress, cancellationToken).ConfigureAwait(false);
        await DiscardIfChangedAsync(content, key).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Downloads <paramref name="key"/> into <paramref name="destination"/> and verifies it: against the ETag
    /// when it is an MD5, against the sha256 metadata when there is one, and against the length always. Into a
    /// destination that can seek, a large object whose first chunk comes slowly is fetched as ranges side by side
    /// (see the ranged download's guarantees); if the object is replaced meanwhile, the destination is cut back
    /// to where it began and the download starts again.
    /// </summary>
    public Task<DownloadResult> DownloadAsync(string key, Stream destination, Action<long>? progress, CancellationToken cancellationToken) =>
        DownloadAsync(key, destination, progress, contentHashes: true, cancellationToken);

    /// <summary>
    /// As the public overload; without <paramref name="contentHashes"/> the result's SHA-256 and MD5 are those
    /// the checks needed and otherwise empty (a caller that keeps the hashes of something else, such as the
    /// plaintext of ciphertext, saves hashing what it receives: an object in parts without sha256 metadata is
    /// then not hashed at all).
    /// </summary>
    internal async Task<DownloadResult> DownloadAsync(string key, Stream destination, Action<long>? progress, bool contentHashes, CancellationToken cancellationToken)
    {
        var start = destination.CanSeek ? destination.Position : 0;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await DownloadOnceAsync(key, destination, start, progress, contentHashes, cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectStoreException ex) when (ex.Code == ObjectChangedCode && attempt < ChangedObjectAttempts)
            {
                // Only a ranged download, into a destination that can seek, ends this way: what it wrote goes.
                ChittyLog.Verbose($"'{key}' was replaced while it was downloaded in ranges; downloading it again from the start.");
                destination.SetLength(start);
                destination.Position = start;
            }
        }
    }

    private async Task<DownloadResult> DownloadOnceAsync(string key, Stream destination, long start, Action<long>? progress, bool contentHashes, CancellationToken cancellationToken)
    {
        var slot = await _window.EnterAsync(cancellationToken).ConfigureAwait(false);
        var holdingSlot = true;
        void ExitSlot()
        {
            if (holdingSlot)
            {
                holdingSlot = false;
                _window.Exit(slot);
            }
        }

        try
        {
            // The answer's headers are retried like any request; once its body flows into the destination a
            // failure ends the download (the caller writes to a temporary file and starts over), except in a
            // ranged download, whose ranges are fetched again on their own.
            using var response = await CallAsync("GET", key, Requests.AddGet,
                () => S3.GetObjectAsync(new GetObjectRequest { BucketName = Bucket, Key = key }, cancellationToken), cancellationToken).ConfigureAwait(false);
            var info = ToInfo(key, response.ContentLength, response.ETag, response.Metadata, response.LastModified);
            var singlePart = !info.ETag.Contains("-");
            using var hashes = new ReceivedHashes(
                sha256: contentHashes || info.Sha256 is not null,
                md5: contentHashes || info.ContentMd5 is not null || singlePart);
            long total;
            using (var body = response.ResponseStream)
            {
                if (!InRanges(info.Size, destination))
                {
                    total = await ReceiveAsync(key, body, destination, hashes, progress, long.MaxValue, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    // The first chunk by this answer's own stream, timed: the rest follows by it where one stream
                    // is fast enough, and by ranges side by side where it is not.
                    var watch = Stopwatch.StartNew();
                    total = await ReceiveAsync(key, body, destination, hashes, progress, _options.RangedDownloadChunk, cancellationToken).ConfigureAwait(false);
                    if (OneStreamSuffices(key, total, watch.Elapsed))
                    {
                        total += await ReceiveAsync(key, body, destination, hashes, progress, long.MaxValue, cancellationToken).ConfigureAwait(false);
                    }
                    else if (total == _options.RangedDownloadChunk)
                    {
                        response.Dispose();
                        ExitSlot();
                        total += await ReceiveInRangesAsync(key, info, destination, start, hashes, progress, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            return Verified(key, info, total, hashes);
        }
        finally
        {
            ExitSlot();
        }
    }

    // An answer's body into the destination, hashed as it arrives, to its end or for at most limit bytes.
    private async Task<long> ReceiveAsync(string key, Stream body, Stream destination, ReceivedHashes hashes, Action<long>? progress, long limit, CancellationToken cancellationToken)
    {
        // Pooled: a sync of many small objects would otherwise allocate this for each of them.
        var buffer = ArrayPool<byte>.Shared.Rent(81920);
        long total = 0;
        try
        {
            while (total < limit)
            {
                var read = await ReadBodyAsync(key, body, buffer, 0, (int)Math.Min(buffer.Length, limit - total), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                hashes.Append(buffer, 0, read);
                await destination.WriteAsync(buffer, 0, read, cancellationToken).ConfigureAwait(false);
                total += read;
                progress?.Invoke(read);
            }

            return total;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // One read of an answer's body, within the bandwidth limit; a connection that breaks is a NetworkError
    // (a Timeout when it went idle), so the caller can tell it from the destination's own failures.
    private async Task<int> ReadBodyAsync(string key, Stream body, byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        if (_limiter is not null)
        {
            count = Math.Min(count, BandwidthLimiter.MaxChunk);
            await _limiter.WaitAsync(count, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            return await body.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
        {
            var code = ex is IdleTimeoutException ? "Timeout" : "NetworkError";
            throw new ObjectStoreException($"The download of '{key}' broke off: {ex.Message}", key, code, 0, ex);
        }
    }

    // The received content against what the object says it is: its length, its sha256 metadata, and its
    // ETag when that is an MD5 or else its md5chksum metadata.
    private static DownloadResult Verified(string key, RemoteObjectInfo info, long total, ReceivedHashes hashes)
    {
        var result = new DownloadResult
        {
            Info = info,
            Size = total,
            Sha256 = hashes.Sha256(),
            Md5 = hashes.Md5(),
        };
        if (total != info.Size)
        {
            throw new ObjectStoreException($"'{key}': received {total} bytes, expected {info.Size}.", key, "LengthMismatch");
        }

        if (info.Sha256 is not null && !string.Equals(info.Sha256, result.Sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ObjectStoreException($"'{key}': the content's SHA-256 {result.Sha256} is not the {info.Sha256} its metadata records.", key, "Sha256Mismatch");
        }

        if (!info.ETag.Contains("-"))
        {
            if (info.ETag != result.Md5)
            {
                throw new ObjectStoreException($"'{key}': the content's MD5 {result.Md5} is not its ETag {info.ETag}.", key, "ETagMismatch");
            }

            result.VerifiedBy = info.Sha256 is null ? "md5" : "md5+sha256";
        }
        else if (info.ContentMd5 is not null)
        {
            if (info.ContentMd5 != result.Md5)
            {
                throw new ObjectStoreException($"'{key}': the content's MD5 {result.Md5} is not the {info.ContentMd5} its md5chksum metadata records.", key, "Md5Mismatch");
            }

            result.VerifiedBy = info.Sha256 is null ? "md5chksum" : "md5chksum+sha256";
        }
        else
        {
            result.VerifiedBy = info.Sha256 is null ? "size" : "sha256";
        }

        return result;
    }

    /// <summary>The object's size, ETag and module metadata; null when there is no such object.</summary>
    public async Task<RemoteObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var response = await CallAsync("HEAD", key, Requests.AddHead,
                () => S3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Bucket, Key = key }, cancellationToken), cancellationToken).ConfigureAwait(false);
            return ToInfo(key, response.ContentLength, response.ETag, response.Metadata, response.LastModified);
        }
        catch (ObjectStoreException ex) when (ex.StatusCode == 404 && ex.Code is "NotFound" or "NoSuchKey")
        {
            return null;
        }
    }

    /// <summary>
    /// Deletes <paramref name="keys"/> in batches of 1,000 (quiet mode); a key that an XML body cannot name
    /// (a control character) is deleted by its own request. Returns the keys the store refused; throws
    /// <see cref="ObjectStoreException"/> when a whole batch fails.
    /// </summary>
    public async Task<IReadOnlyList<DeleteFailure>> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var failures = new List<DeleteFailure>();
        var named = keys.Where(k => !ObjectKeys.HasXmlForbiddenCharacter(k)).ToList();
        for (var offset = 0; offset < named.Count; offset += DeleteBatch)
        {
            var batch = named.Skip(offset).Take(DeleteBatch).ToList();
            var request = new DeleteObjectsRequest
            {
                BucketName = Bucket,
                Quiet = true,
                Objects = batch.Select(k => new KeyVersion { Key = k }).ToList(),
            };
            var target = batch.Count == 1 ? batch[0] : batch.Count.ToString(CultureInfo.InvariantCulture) + " keys";
            try
            {
                var response = await CallAsync("DELETE", target, Requests.AddDelete, () => S3.DeleteObjectsAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
                failures.AddRange((response.DeleteErrors ?? new List<DeleteError>()).Select(e => new DeleteFailure(e.Key, e.Code ?? "Error", e.Message ?? e.Code ?? "not deleted")));
            }
            catch (ObjectStoreException ex) when (ex.InnerException is DeleteObjectsException partial)
            {
                failures.AddRange((partial.Response?.DeleteErrors ?? new List<DeleteError>()).Select(e => new DeleteFailure(e.Key, e.Code ?? "Error", e.Message ?? e.Code ?? "not deleted")));
            }
        }

        foreach (var key in keys.Where(ObjectKeys.HasXmlForbiddenCharacter))
        {
            try
            {
                await CallAsync("DELETE", key, Requests.AddDelete,
                    () => S3.DeleteObjectAsync(new DeleteObjectRequest { BucketName = Bucket, Key = key }, cancellationToken), cancellationToken).ConfigureAwait(false);
            }
            catch (ObjectStoreException ex) when (ex.StatusCode != 0)
            {
                failures.Add(new DeleteFailure(key, ex.Code ?? "Error", ex.Message));
            }
        }

        return failures;
    }

    /// <summary>Aborts one multipart upload; false when it no longer exists or the store cannot abort.</summary>
    public async Task<bool> AbortUploadAsync(string key, string uploadId, CancellationToken cancellationToken)
    {
        try
        {
            await SendAbortAsync(key, uploadId, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ObjectStoreException ex) when (ex.StatusCode is 404 or 405 or 501)
        {
            return false;
        }
    }

    // One AbortMultipartUpload; every failure is thrown (AbortUploadAsync takes "gone" and "not supported" as false).
    private Task SendAbortAsync(string key, string uploadId, CancellationToken cancellationToken) =>
        CallAsync("ABORT", key, Requests.AddMultipart,
            () => S3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = Bucket, Key = key, UploadId = uploadId }, cancellationToken), cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        _s3Release.Dispose();
    }

    /// <summary>ETag without quotes, lower case.</summary>
    public static string NormalizeETag(string? etag) => (etag ?? string.Empty).Trim().Trim('"').ToLowerInvariant();

    /// <summary>The ETag R2 gives a multipart object: md5 of the concatenated binary part MD5s, dash, part count.</summary>
    public static string MultipartETag(IReadOnlyList<string> partMd5Hex)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        foreach (var hex in partMd5Hex)
        {
            md5.AppendData(ContentHasher.FromHex(hex));
        }

        return ContentHasher.ToHex(md5.GetHashAndReset()) + "-" + partMd5Hex.Count.ToString(CultureInfo.InvariantCulture);
    }

    // One PUT streamed from the file, signed with the SHA-256 the caller hashed and carrying its MD5, so the
    // store refuses content that is not what was hashed; the ETag is checked against that MD5 here as well.
    private async Task<UploadResult> PutAsync(FileUploadContent content, string key, string sha256, string? md5, DateTimeOffset modified,
        WriteCondition? condition, Action<long>? progress, CancellationToken cancellationToken)
    {
        var (path, length) = (content.Path, content.Length);
        var slot = await _window.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            byte[] md5Bytes;
            if (md5 is null)
            {
                var (hashedMd5, hashedSha) = content.Hash(0, length, cancellationToken);
                if (hashedSha != sha256)
                {
                    throw new ObjectStoreException($"'{path}' changed after it was hashed; it will be sent again next time.", key, "ContentChanged");
                }

                md5Bytes = hashedMd5;
            }
            else
            {
                md5Bytes = ContentHasher.FromHex(md5);
            }

            using var body = content.Body(0, length, _limiter, progress, cancellationToken);
            return await SendPutAsync(key, body, length, md5Bytes, sha256, sha256, modified, condition, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _window.Exit(slot);
        }
    }

    // One PUT of made content (all of it as one part: its bytes are made and hashed before they go), verified
    // as a file's PUT is; the object gets the sha256 metadata only when sha256 is given.
    private async Task<UploadResult> PutContentAsync(UploadContent content, string key, string? sha256, DateTimeOffset modified,
        WriteCondition? condition, Action<long>? progress, CancellationToken cancellationToken)
    {
        var slot = await _window.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var part = await content.ReadPartAsync(0, Math.Max(1, content.Length), _limiter, progress, cancellationToken).ConfigureAwait(false);
            return await SendPutAsync(key, part.Body, content.Length, part.Md5, part.Sha256, sha256, modified, condition, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _window.Exit(slot);
        }
    }

    private async Task<UploadResult> SendPutAsync(string key, Stream body, long length, byte[] md5, string signedSha256, string? metadataSha256,
        DateTimeOffset modified, WriteCondition? condition, CancellationToken cancellationToken)
    {
        var expected = ContentHasher.ToHex(md5);
        var request = _s3.SignWith(new PutObjectRequest
        {
            BucketName = Bucket,
            Key = key,
            InputStream = body,
            AutoCloseStream = false,
            AutoResetStreamPosition = false,
            ContentType = "application/octet-stream",
            UseChunkEncoding = false,
            MD5Digest = Convert.ToBase64String(md5),
            IfMatch = IfMatchOf(condition),
            IfNoneMatch = IfNoneMatchOf(condition),
        }, signedSha256);
        AddMetadata(request.Metadata, metadataSha256, md5: null, modified);
        request.Headers.ContentLength = length;
        string etag;
        try
        {
            var response = await CallUploadAsync("PUT", key, Requests.AddPut, () => S3.PutObjectAsync(Rewound(request, body), cancellationToken), cancellationToken, condition).ConfigureAwait(false);
            etag = NormalizeETag(response.ETag);
        }
        catch (ObjectStoreException ex) when (ex.Code == ObjectStoreException.RemoteChanged && condition is not null)
        {
            // A PUT whose answer was lost (a cut connection, an outage ridden out) is sent again, and its own
            // first attempt may be what now fails the condition. When the key holds exactly these bytes (a
            // single PUT's ETag is their MD5), they are stored: nothing of anyone else's was replaced.
            var now = await HeadAsync(key, cancellationToken).ConfigureAwait(false);
            if (now is null || now.ETag != expected || now.Size != length)
            {
                throw;
            }

            etag = now.ETag;
        }

        await DiscardUnlessETagAsync(key, etag, expected, "the MD5 of the content as hashed").ConfigureAwait(false);
        return new UploadResult { Key = key, ETag = etag, Size = length };
    }

    // An object the store now holds under a different ETag than its content must have (the content changed
    // while it was read, or the transfer was corrupted) is removed, so no wrong object stays under the key,
    // and the upload fails, to be sent again next time.
    private async Task DiscardUnlessETagAsync(string key, string etag, string expected, string expectedAs)
    {
        if (etag == expected)
        {
            return;
        }

        var removed = await DiscardAsync(key).ConfigureAwait(false);
        throw new ObjectStoreException($"'{key}': the store answered ETag {etag}, not {expectedAs} {expected} (it changed, or the transfer was corrupted); it will be sent again next time.", key, "ETagMismatch") { ObjectRemoved = removed };
    }

    // Every S3 call of this store: the SDK's quick retries inside, an outage of the store ridden out around them,
    // and every throttled attempt told to the window.
    // A call that sends a body rewinds it first, so that a retry sends it whole again.
    private Task<T> CallAsync<T>(string verb, string target, Action count, Func<Task<T>> call, CancellationToken cancellationToken) =>
        _outage.RunAsync(() => _s3.CallAsync(verb, target, count, call, cancellationToken, _window.Throttled), cancellationToken);

    // An upload call: the store's own integrity refusals become one clear error, and so does a write
    // condition that no longer holds.
    private async Task<T> CallUploadAsync<T>(string verb, string key, Action count, Func<Task<T>> call, CancellationToken cancellationToken,
        WriteCondition? condition = null)
    {
        try
        {
            return await CallAsync(verb, key, count, call, cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex.Code is "BadDigest" or "XAmzContentSHA256Mismatch" or "InvalidDigest")
        {
            throw new ObjectStoreException($"'{key}': the store refused the bytes it received ({ex.Code}): they are not the bytes that were hashed (the file changed while it was sent, or the transfer was corrupted). Nothing was stored; it will be sent again next time.", key, "IntegrityError", ex.StatusCode, ex);
        }
        catch (ObjectStoreException ex) when (ConditionFailed(ex, condition))
        {
            throw RemoteChanged(key, condition!, ex);
        }
        catch (ObjectStoreException ex) when (ConditionUnsupported(ex, condition))
        {
            throw ConditionRefused(key, condition!, ex);
        }
    }

    // A store that does not implement conditional writes answers them 501 NotImplemented (a permanent answer,
    // not an outage). Writing without the condition could replace another device's newer version unseen, so
    // the upload fails instead, having written nothing.
    private static bool ConditionUnsupported(ObjectStoreException ex, WriteCondition? condition) =>
        condition is not null && (ex.StatusCode == 501 || ex.Code == "NotImplemented");

    private static ObjectStoreException ConditionRefused(string key, WriteCondition condition, ObjectStoreException ex) =>
        new($"'{key}' was not written: the store does not support conditional writes (it answered {condition} with {ex.StatusCode} {ex.Code}). " +
            "A sync writes an object only over the version it listed, so that no other device's update is lost; this store cannot promise that, so nothing was written and no file or object was deleted.",
            key, ObjectStoreException.ConditionalWriteUnsupported, ex.StatusCode, ex);

    // 412 is R2's (and S3's) answer to a condition that does not hold, 409 S3's to a write that raced another
    // one on the key; S3 answers If-Match on a missing key with 404 NoSuchKey.
    private static bool ConditionFailed(ObjectStoreException ex, WriteCondition? condition) =>
        condition is not null
        && (ex.StatusCode is 412 or 409 || ex.Code is "PreconditionFailed" or "ConditionalRequestConflict"
            || (condition.ETag is not null && ex.Code == "NoSuchKey"));

    private static ObjectStoreException RemoteChanged(string key, WriteCondition condition, ObjectStoreException ex)
    {
        var now = condition.ETag is null ? "an object exists there now" : $"the object there is no longer the one with ETag {condition.ETag}";
        return new ObjectStoreException($"'{key}' was written by someone else since it was listed ({ex.StatusCode} {ex.Code}): {now}, and this upload did not replace it.", key, ObjectStoreException.RemoteChanged, ex.StatusCode, ex);
    }

    private static string Quoted(string etag) => "\"" + etag + "\"";

    // The header values of a condition: If-Match with the quoted ETag, or If-None-Match: * for no object.
    private static string? IfMatchOf(WriteCondition? condition) => condition?.ETag is { } etag ? Quoted(etag) : null;

    private static string? IfNoneMatchOf(WriteCondition? condition) => condition is { ETag: null } ? "*" : null;

    // The request with its body at the start again (a retry after a failed attempt that sent part of it).
    private static T Rewound<T>(T request, Stream body)
    {
        body.Position = 0;
        return request;
    }

    // System.Uri folds "." and ".." away, so a request for such a key would name (and sign) another key.
    private static void EnsureSafeKey(string key)
    {
        if (ObjectKeys.HasDotSegment(key))
        {
            throw new ObjectStoreException($"'{key}' has a '.' or '..' segment, which an S3 path-style URL cannot carry; choose a prefix without one.", key, "UnsafeKey");
        }
    }

    // An upload whose file changed while it was sent stored what nobody hashed: the object goes again.
    private async Task DiscardIfChangedAsync(UploadContent content, string key)
    {
        if (content.FileChanged())
        {
            var removed = await DiscardAsync(key).ConfigureAwait(false);
            throw new ObjectStoreException($"'{content.Path}' changed while it was being uploaded; it will be sent again next time.", key, "ContentChanged") { ObjectRemoved = removed };
        }
    }

    // Removes an object whose content or metadata is known to be wrong, so the next run sends it again.
    // Returns whether it was removed.
    private async Task<bool> DiscardAsync(string key)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            return (await DeleteAsync(new[] { key }, timeout.Token).ConfigureAwait(false)).Count == 0;
        }
        catch (Exception ex) when (ex is ObjectStoreException or OperationCanceledException)
        {
            ChittyLog.Warning($"Could not remove the unverified object '{key}': {ex.Message}");
            return false;
        }
    }

    // The time in rclone's form; the content's MD5 as rclone's md5chksum only where the ETag is not that MD5
    // (an upload in parts), as rclone writes it.
    private static void AddMetadata(MetadataCollection metadata, string? sha256, string? md5, DateTimeOffset modified)
    {
        if (sha256 is not null)
        {
            metadata.Add(Sha256MetadataKey, sha256);
        }

        if (md5 is not null)
        {
            metadata.Add(ObjectMetadata.Md5ChecksumKey, ObjectMetadata.FormatMd5Checksum(md5));
        }

        metadata.Add(MtimeMetadataKey, ObjectMetadata.FormatMtime(modified));
    }

    private static RemoteObjectInfo ToInfo(string key, long contentLength, string etag, MetadataCollection metadata, DateTime? lastModified)
    {
        var info = new RemoteObjectInfo
        {
            Key = key,
            Size = contentLength,
            ETag = NormalizeETag(etag),
            LastModified = ToOffset(lastModified),
        };
        var sha = metadata[Sha256MetadataKey];
        if (!string.IsNullOrWhiteSpace(sha))
        {
            info.Sha256 = sha.Trim().ToLowerInvariant();
        }

        var mtime = metadata[MtimeMetadataKey];
        if (ObjectMetadata.TryParseMtime(mtime, out var modified))
        {
            info.FileModified = modified;
        }
        else if (!string.IsNullOrWhiteSpace(mtime))
        {
            // Another tool's value, or a damaged one: the object is still usable, dated by the store.
            ChittyLog.Warning($"'{key}': its mtime metadata '{mtime}' is not a time; the store's date is used instead.");
        }

        var md5chksum = metadata[ObjectMetadata.Md5ChecksumKey];
        info.ContentMd5 = info.ETag.IndexOf('-') < 0 && info.ETag.Length == 32 ? info.ETag : ObjectMetadata.ParseMd5Checksum(md5chksum);

        return info;
    }

    private static DateTimeOffset? ToOffset(DateTime? value) =>
        value is { } v ? new DateTimeOffset(v.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : v.ToUniversalTime()) : null;
}
