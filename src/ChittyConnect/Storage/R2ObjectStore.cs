using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Configuration;
using ChittyConnect.Diagnostics;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

/// <summary>
/// One bucket of R2 (or another S3-compatible store such as s3rver), spoken to by the module's own S3 client
/// (SigV4 with signed payloads, path-style addressing, region "auto", never aws-chunked: R2 refuses it and
/// s3rver would store its framing). Every write is verified against the MD5 of the bytes actually sent.
/// </summary>
public sealed partial class R2ObjectStore : IObjectStore, IDisposable
{
    /// <summary>Metadata key of the content's SHA-256 (sent as x-amz-meta-sha256).</summary>
    public const string Sha256MetadataKey = "sha256";

    /// <summary>Metadata key of the file's last-write time in ms since the epoch (x-amz-meta-mtime).</summary>
    public const string MtimeMetadataKey = "mtime";

    private readonly R2StoreOptions _options;
    private readonly SemaphoreSlim _slots;
    private readonly BandwidthLimiter? _limiter;

    /// <summary>Connects to the R2 endpoint and bucket of <paramref name="settings"/>.</summary>
    public R2ObjectStore(ChittyConnectionSettings settings, R2StoreOptions? options = null)
    {
        if (settings is null)
        {
            throw new ArgumentNullException(nameof(settings));
        }

        if (!settings.HasR2)
        {
            throw new ArgumentException("R2 is not configured: an R2 endpoint, bucket, access key id and secret access key are all required.");
        }

        _options = options ?? new R2StoreOptions();
        _options.Validate();
        var endpoint = ChittyConnectionSettings.NormalizeEndpoint(settings.R2Endpoint!, "R2 endpoint");
        Bucket = settings.Bucket!;
        Endpoint = endpoint;
        var accessKeyId = settings.R2AccessKeyId!;
        var secret = settings.R2SecretAccessKey!;
        InitLean(accessKeyId, secret.Reveal(), endpoint);
        _slots = new SemaphoreSlim(_options.MaxConcurrentRequests);
        _limiter = _options.BandwidthLimit > 0 ? new BandwidthLimiter(_options.BandwidthLimit) : null;
    }

    /// <summary>The bucket.</summary>
    public string Bucket { get; }

    /// <summary>The endpoint.</summary>
    public Uri Endpoint { get; }

    /// <summary>The options in force.</summary>
    public R2StoreOptions Options => _options;

    /// <summary>Requests made so far, by kind (live counters).</summary>
    public StoreRequestCounts Requests { get; } = new();

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
    /// <param name="multipartStarted">Receives the upload id of a multipart upload as soon as it exists (to abort it after a crash).</param>
    /// <param name="cancellationToken">Cancels the upload; a multipart upload is aborted.</param>
    public async Task<UploadResult> UploadFileAsync(string path, string key, string sha256, string? md5, DateTimeOffset modified,
        Action<long>? progress, Action<string>? multipartStarted, CancellationToken cancellationToken)
    {
        var info = new FileInfo(path);
        var length = info.Length;
        var lastWrite = info.LastWriteTimeUtc;
        if (HasDotSegment(key))
        {
            // System.Uri folds "." and ".." away, so the request would name (and sign) another key.
            throw new ObjectStoreException($"'{key}' has a '.' or '..' segment, which an S3 path-style URL cannot carry; choose a prefix without one.", key, "UnsafeKey");
        }

        var result = length >= _options.MultipartThreshold && length > 0
            ? await UploadMultipartAsync(path, key, length, sha256, md5, modified, progress, multipartStarted, cancellationToken).ConfigureAwait(false)
            : await StreamPutAsync(path, key, length, sha256, md5, modified, progress, cancellationToken).ConfigureAwait(false);
        info.Refresh();
        if (info.Length != length || info.LastWriteTimeUtc != lastWrite)
        {
            await DiscardAsync(key).ConfigureAwait(false);
            throw new ObjectStoreException($"'{path}' changed while it was being uploaded; it will be sent again next time.", key, "ContentChanged");
        }

        return result;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _http?.Dispose();
        _slots.Dispose();
    }

    /// <summary>ETag without quotes, lower case.</summary>
    public static string NormalizeETag(string? etag) => (etag ?? string.Empty).Trim().Trim('"').ToLowerInvariant();

    /// <summary>The ETag R2 gives a multipart object: md5 of the concatenated binary part MD5s, dash, part count.</summary>
    public static string MultipartETag(IReadOnlyList<string> partMd5Hex)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        foreach (var hex in partMd5Hex)
        {
            md5.AppendData(FromHex(hex));
        }

        return ContentHasher.ToHex(md5.GetHashAndReset()) + "-" + partMd5Hex.Count.ToString(CultureInfo.InvariantCulture);
    }

    private async Task<UploadResult> UploadMultipartAsync(string path, string key, long length, string sha256, string? md5, DateTimeOffset modified,
        Action<long>? progress, Action<string>? multipartStarted, CancellationToken cancellationToken)
    {
        var partSize = _options.PartSizeFor(length);
        var parts = (int)((length + partSize - 1) / partSize);
        var uploadId = await CreateMultipartAsync(key, sha256, modified, cancellationToken).ConfigureAwait(false);
        multipartStarted?.Invoke(uploadId);
        try
        {
            var etags = new string[parts];
            var partMd5s = new string[parts];
            using var partGate = new SemaphoreSlim(_options.MaxConcurrentRequests);
            using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var tasks = Enumerable.Range(0, parts).Select(async i =>
            {
                await partGate.WaitAsync(failed.Token).ConfigureAwait(false);
                try
                {
                    var offset = i * partSize;
                    var size = Math.Min(partSize, length - offset);
                    var (etag, partMd5) = await LeanUploadPartAsync(path, key, uploadId, i + 1, offset, size, progress, failed.Token).ConfigureAwait(false);
                    etags[i] = etag;
                    partMd5s[i] = partMd5;
                }
                catch
                {
                    // One failed part dooms the upload: stop the others instead of sending them for nothing.
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

            var finalETag = await CompleteMultipartAsync(key, uploadId, etags, cancellationToken).ConfigureAwait(false);
            var expected = MultipartETag(partMd5s);
            // R2 and S3 answer md5-of-part-md5s-N; s3rver answers the MD5 of the whole content.
            if (finalETag != expected && (md5 is null || finalETag != md5))
            {
                await DiscardAsync(key).ConfigureAwait(false);
                throw new ObjectStoreException($"'{key}': the store answered ETag {finalETag} for the completed upload, expected {expected}" + (md5 is null ? "." : $" or {md5}."), key, "ETagMismatch");
            }

            return new UploadResult { Key = key, ETag = finalETag, Size = length, Parts = parts };
        }
        catch
        {
            // Not the caller's token: a cancelled sync must still clean up its parts.
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await AbortUploadAsync(key, uploadId, cleanup.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is ObjectStoreException or OperationCanceledException)
            {
                ChittyLog.Debug($"Could not abort multipart upload {uploadId} of '{key}': {ex.Message}");
            }

            throw;
        }
    }

    // Removes an object whose content or metadata is known to be wrong, so the next run sends it again.
    private async Task DiscardAsync(string key)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await DeleteAsync(new[] { key }, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ObjectStoreException or OperationCanceledException)
        {
            ChittyLog.Warning($"Could not remove the unverified object '{key}': {ex.Message}");
        }
    }

    private static byte[] FromHex(string hex)
    {
        var bytes = new byte[hex.Length / 2];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = byte.Parse(hex.Substring(i * 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }

        return bytes;
    }
}
