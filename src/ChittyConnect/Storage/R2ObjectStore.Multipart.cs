using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3.Model;
using ChittyConnect.Diagnostics;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

// Multipart uploads: equal parts sent in parallel, each hashed once (MD5 for Content-MD5 and the ETag check,
// SHA-256 to sign it) and sent once from its content (streamed from the file, or made in memory); an upload
// an earlier run began is resumed from the parts the store already holds.
public sealed partial class R2ObjectStore
{
    /// <summary>
    /// Uploads content made part by part (<see cref="Crypt.EncryptedObjectStore"/>'s ciphertext): below the
    /// multipart threshold as one PUT, from the threshold on as a multipart upload, each request verified as
    /// <see cref="UploadFileAsync"/> verifies them; the object gets the sha256 metadata only when
    /// <paramref name="sha256"/> is given. When the content's file changed meanwhile, the object is removed
    /// again and ContentChanged is thrown. A <paramref name="condition"/> holds as on <see cref="UploadFileAsync"/>.
    /// </summary>
    internal async Task<UploadResult> UploadContentAsync(UploadContent content, string key, string? sha256, DateTimeOffset modified,
        Action<long>? progress, Action<string>? multipartStarted, CancellationToken cancellationToken, WriteCondition? condition = null, Action? multipartCreating = null)
    {
        EnsureSafeKey(key);
        var result = content.Length < _options.MultipartThreshold
            ? await PutContentAsync(content, key, sha256, modified, condition, progress, cancellationToken).ConfigureAwait(false)
            : await UploadMultipartAsync(content, key, sha256, md5: null, modified, progress, multipartStarted, multipartCreating, null, condition, cancellationToken).ConfigureAwait(false);
        await DiscardIfChangedAsync(content, key).ConfigureAwait(false);
        return result;
    }

    private async Task<UploadResult> UploadMultipartAsync(UploadContent content, string key, string? sha256, string? md5, DateTimeOffset modified,
        Action<long>? progress, Action<string>? multipartStarted, Action? multipartCreating, string? resumableUpload, WriteCondition? condition, CancellationToken cancellationToken)
    {
        var length = content.Length;
        var partSize = PartSizeFor(length);
        var parts = (int)((length + partSize - 1) / partSize);
        var etags = new string?[parts];
        var partMd5s = new string?[parts];
        var uploadId = resumableUpload is null
            ? null
            : await ResumeAsync(content, key, resumableUpload, partSize, etags, partMd5s, progress, cancellationToken).ConfigureAwait(false);
        if (uploadId is null)
        {
            multipartCreating?.Invoke();
            uploadId = await CreateMultipartAsync(key, sha256, md5, modified, resumableUpload, condition, cancellationToken).ConfigureAwait(false);
            multipartStarted?.Invoke(uploadId);
        }

        try
        {
            await SendMissingPartsAsync(content, key, uploadId, partSize, etags, partMd5s, progress, cancellationToken).ConfigureAwait(false);
            await content.VerifyAsync(sha256, cancellationToken).ConfigureAwait(false);
            var complete = new CompleteMultipartUploadRequest
            {
                BucketName = Bucket,
                Key = key,
                UploadId = uploadId,
                PartETags = etags.Select((e, i) => new PartETag(i + 1, Quoted(e!))).ToList(),
                // Checked again at the end: the key may have been written while the parts went.
                IfMatch = IfMatchOf(condition),
                IfNoneMatch = IfNoneMatchOf(condition),
            };
            var expected = MultipartETag(partMd5s!);
            var finalETag = await CompleteAsync(complete, expected, condition, cancellationToken).ConfigureAwait(false);
            await DiscardUnlessETagAsync(key, finalETag, expected, "the multipart ETag of the parts sent").ConfigureAwait(false);
            return new UploadResult { Key = key, ETag = finalETag, Size = length, Parts = parts };
        }
        catch (Exception ex) when (!IsResumable(ex, cancellationToken))
        {
            // Not the caller's token: the parts of an upload that cannot succeed must still go.
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await AbortUploadAsync(key, uploadId, cleanup.Token).ConfigureAwait(false);
            }
            catch (Exception abortFailure) when (abortFailure is ObjectStoreException or OperationCanceledException)
            {
                ChittyLog.Debug($"Could not abort multipart upload {uploadId} of '{key}': {abortFailure.Message}");
            }

            throw;
        }
    }

    // A stop, a lost connection or a store that is down for now leaves the upload to be resumed by the next
    // run; anything that says the upload itself is wrong does not.
    private static bool IsResumable(Exception ex, CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested
        || ex is ObjectStoreException { Code: "NetworkError" or "Timeout" or "SlowDown" or "ServiceUnavailable" or "InternalError" }
        || ex is ObjectStoreException { StatusCode: >= 500 };

    // Completes the upload and returns the object's ETag. A completion whose answer was lost and that was sent
    // again finds the upload gone (NoSuchUpload) although the first one took effect: when the key then holds an
    // object with exactly the ETag this upload's parts make, that object is this upload's and the file is stored.
    private async Task<string> CompleteAsync(CompleteMultipartUploadRequest complete, string expected, WriteCondition? condition, CancellationToken cancellationToken)
    {
        var key = complete.Key;
        try
        {
            var response = await CallUploadAsync("MULTIPART-COMPLETE", key, Requests.AddMultipart, () => S3.CompleteMultipartUploadAsync(complete, cancellationToken), cancellationToken, condition).ConfigureAwait(false);
            return NormalizeETag(response.ETag);
        }
        catch (ObjectStoreException ex) when (ex.Code == "NoSuchUpload")
        {
            if (await HeadAsync(key, cancellationToken).ConfigureAwait(false) is { } stored && NormalizeETag(stored.ETag) == expected)
            {
                ChittyLog.Verbose($"The completion of '{key}' was answered NoSuchUpload, but the key holds the object its parts make: an earlier attempt completed it.");
                return expected;
            }

            throw;
        }
    }

    // A CreateMultipartUpload whose answer was lost is sent once more, and only once the uploads it may have
    // created are aborted (the listing succeeded), so that no upload nobody knows of is left open.
    private async Task<string> CreateMultipartAsync(string key, string? sha256, string? md5, DateTimeOffset modified, string? keep, WriteCondition? condition,
        CancellationToken cancellationToken)
    {
        var initiate = new InitiateMultipartUploadRequest { BucketName = Bucket, Key = key, ContentType = "application/octet-stream" };
        AddMetadata(initiate.Metadata, sha256, md5, modified);
        // R2 checks a condition here too (the SDK has no property for it on this request: headers it copies
        // as they are), so an upload that cannot complete sends no part. Stores that ignore it still meet the
        // condition at CompleteMultipartUpload.
        if (condition is not null)
        {
            initiate.Headers[condition.ETag is null ? "If-None-Match" : "If-Match"] = IfMatchOf(condition) ?? IfNoneMatchOf(condition);
        }

        InitiateMultipartUploadResponse created;
        for (var attempt = 1; ; attempt++)
        {
            var sent = DateTimeOffset.UtcNow;
            try
            {
                created = await CallAsync("MULTIPART-CREATE", key, Requests.AddMultipart, () => S3.InitiateMultipartUploadAsync(initiate, cancellationToken), cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (ObjectStoreException ex) when (ConditionFailed(ex, condition))
            {
                throw RemoteChanged(key, condition!, ex);
            }
            catch (ObjectStoreException ex) when (ConditionUnsupported(ex, condition))
            {
                throw ConditionRefused(key, condition!, ex);
            }
            catch (ObjectStoreException ex) when (ex.Code == "AnswerLost")
            {
                if (!await AbortOrphansAsync(key, keep, sent).ConfigureAwait(false) || attempt == 2)
                {
                    throw;
                }

                ChittyLog.Verbose($"{ex.Message} The uploads it may have created are aborted; it is sent once more.");
            }
        }

        return string.IsNullOrEmpty(created.UploadId)
            ? throw new ObjectStoreException($"S3 MULTIPART-CREATE '{key}' failed: the answer has no UploadId.", key, "BadResponse")
            : created.UploadId;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Another device's upload of the same key is spared unless it began in that window too; it then fails at its
    /// next part and is sent again whole.
    /// </remarks>
    public async Task<int?> AbortUploadsBegunSinceAsync(string key, DateTimeOffset since, IReadOnlyCollection<string> keep, CancellationToken cancellationToken)
    {
        try
        {
            var request = new ListMultipartUploadsRequest { BucketName = Bucket, Prefix = key };
            var from = since.AddMinutes(-15);
            var aborted = 0;
            // Page by page (uploads of longer keys with this key as their prefix come on the same pages), up to
            // the first key past this one.
            for (var pages = 0; pages < 100; pages++)
            {
                var listing = await CallAsync("MULTIPART-LIST", key, Requests.AddList, () => S3.ListMultipartUploadsAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
                var uploads = listing.MultipartUploads ?? new List<MultipartUpload>();
                foreach (var upload in uploads)
                {
                    if (upload.Key == key && !keep.Contains(upload.UploadId) && (ToOffset(upload.Initiated) is not { } initiated || initiated >= from))
                    {
                        // A store that cannot abort leaves the upload open: not known gone.
                        await SendAbortAsync(key, upload.UploadId, cancellationToken).ConfigureAwait(false);
                        aborted++;
                    }
                }

                var pastKey = uploads.Count > 0 && string.CompareOrdinal(uploads[uploads.Count - 1].Key, key) > 0;
                if (listing.IsTruncated != true || pastKey)
                {
                    return aborted;
                }

                if (string.IsNullOrEmpty(listing.NextKeyMarker) || (listing.NextKeyMarker == request.KeyMarker && listing.NextUploadIdMarker == request.UploadIdMarker))
                {
                    return null;
                }

                request.KeyMarker = listing.NextKeyMarker;
                request.UploadIdMarker = listing.NextUploadIdMarker;
            }

            return null;
        }
        catch (ObjectStoreException ex) when (ex.StatusCode == 404 && ex.Code == "NoSuchUpload")
        {
            // Aborted meanwhile by someone else: looked for again by the next sweep.
            ChittyLog.Debug($"An upload of '{key}' went while it was being aborted: {ex.Message}");
            return null;
        }
        catch (ObjectStoreException ex)
        {
            ChittyLog.Debug($"Could not look for the uploads of '{key}' a lost answer may have left: {ex.Message}");
            return null;
        }
    }

    // The uploads a CreateMultipartUpload whose answer was lost may have made, but the one being resumed, are
    // aborted; returns whether every such upload is known to be gone.
    private async Task<bool> AbortOrphansAsync(string key, string? keep, DateTimeOffset sent)
    {
        using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            return await AbortUploadsBegunSinceAsync(key, sent, keep is null ? Array.Empty<string>() : new[] { keep }, cleanup.Token).ConfigureAwait(false) is not null;
        }
        catch (OperationCanceledException ex)
        {
            ChittyLog.Debug($"Could not look for an upload of '{key}' left by a lost answer: {ex.Message}");
            return false;
        }
    }

    // Lists the parts the store holds for an earlier run's upload and keeps each one whose size is this
    // run's part size there and whose ETag is the MD5 of the content's bytes at its place. Returns null (start
    // afresh) when the upload no longer exists or nothing of it fits.
    private async Task<string?> ResumeAsync(UploadContent content, string key, string uploadId, long partSize,
        string?[] etags, string?[] partMd5s, Action<long>? progress, CancellationToken cancellationToken)
    {
        var length = content.Length;
        var listed = new List<PartDetail>();
        try
        {
            var request = new ListPartsRequest { BucketName = Bucket, Key = key, UploadId = uploadId, MaxParts = 1000 };
            var markers = new HashSet<string>(StringComparer.Ordinal);
            while (true)
            {
                var page = await CallAsync("MULTIPART-LIST-PARTS", key, Requests.AddMultipart, () => S3.ListPartsAsync(request, cancellationToken), cancellationToken).ConfigureAwait(false);
                listed.AddRange(page.Parts ?? new List<PartDetail>());
                if (page.IsTruncated != true)
                {
                    break;
                }

                var next = page.NextPartNumberMarker?.ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (next is null || !markers.Add(next))
                {
                    // An incomplete part listing: send every part again rather than trust it.
                    listed.Clear();
                    break;
                }

                request.PartNumberMarker = next;
            }
        }
        catch (ObjectStoreException ex) when (ex.StatusCode is 404 or 405 or 501)
        {
            ChittyLog.Verbose($"The interrupted upload of '{key}' cannot be resumed ({ex.Code}); it starts afresh.");
            return null;
        }

        var kept = 0;
        foreach (var part in listed)
        {
            var number = part.PartNumber ?? 0;
            if (number < 1 || number > etags.Length)
            {
                continue;
            }

            var offset = (number - 1) * partSize;
            var size = Math.Min(partSize, length - offset);
            if (part.Size != size)
            {
                continue;
            }

            if (await content.PartMd5ForResumeAsync(number - 1, partSize, cancellationToken).ConfigureAwait(false) is not { } md5)
            {
                // Content that cannot be made again alike (a new nonce) fits none of the old parts.
                break;
            }

            var local = ContentHasher.ToHex(md5);
            if (NormalizeETag(part.ETag) == local)
            {
                etags[number - 1] = local;
                partMd5s[number - 1] = local;
                progress?.Invoke(size);
                kept++;
            }
        }

        ChittyLog.Verbose($"Resuming the upload of '{key}': {kept} of {etags.Length} parts are already stored.");
        return uploadId;
    }

    private async Task SendMissingPartsAsync(UploadContent content, string key, string uploadId, long partSize,
        string?[] etags, string?[] partMd5s, Action<long>? progress, CancellationToken cancellationToken)
    {
        using var partGate = new SemaphoreSlim(_options.PartsInFlight(partSize));
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var tasks = Enumerable.Range(0, etags.Length).Where(i => etags[i] is null).Select(async i =>
        {
            await partGate.WaitAsync(failed.Token).ConfigureAwait(false);
            try
            {
                var (etag, partMd5) = await UploadPartAsync(content, key, uploadId, i, partSize, progress, failed.Token).ConfigureAwait(false);
                etags[i] = etag;
                partMd5s[i] = partMd5;
            }
            catch
            {
                // One failed part dooms this attempt: stop the others instead of sending them for nothing.
                failed.Cancel();
                throw;
            }
            finally
            {
                partGate.Release();
            }
        }).ToList();
        try
        {
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The first real failure, not the cancellations it caused.
            var first = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).FirstOrDefault();
            if (first is not null)
            {
                throw first;
            }

            throw;
        }
    }

    private async Task<(string ETag, string Md5)> UploadPartAsync(UploadContent content, string key, string uploadId, int index, long partSize,
        Action<long>? progress, CancellationToken cancellationToken)
    {
        var number = index + 1;
        var size = Math.Min(partSize, content.Length - (index * partSize));
        var slot = await _window.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var part = await content.ReadPartAsync(index, partSize, _limiter, progress, cancellationToken).ConfigureAwait(false);
            var etag = await SendPartAsync(key, uploadId, number, part.Body, size, part.Md5, part.Sha256, cancellationToken).ConfigureAwait(false);
            return (etag, etag);
        }
        finally
        {
            _window.Exit(slot);
        }
    }

    // One part sent from its body, signed with its SHA-256 and labelled with its MD5, which the store's
    // ETag must be; returns that ETag.
    private async Task<string> SendPartAsync(string key, string uploadId, int number, Stream body, long size, byte[] md5, string sha256, CancellationToken cancellationToken)
    {
        var md5Hex = ContentHasher.ToHex(md5);
        var request = _s3.SignWith(new UploadPartRequest
        {
            BucketName = Bucket,
            Key = key,
            UploadId = uploadId,
            PartNumber = number,
            InputStream = body,
            PartSize = size,
            UseChunkEncoding = false,
            MD5Digest = Convert.ToBase64String(md5),
        }, sha256);
        var verb = "PART " + number.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var response = await CallUploadAsync(verb, key, Requests.AddMultipart, () => S3.UploadPartAsync(Rewound(request, body), cancellationToken), cancellationToken).ConfigureAwait(false);
        var etag = NormalizeETag(response.ETag);
        if (etag != md5Hex)
        {
            throw new ObjectStoreException($"'{key}' part {number}: the store answered ETag {etag}, not the MD5 {md5Hex} of the bytes sent.", key, "ETagMismatch");
        }

        return etag;
    }
}
