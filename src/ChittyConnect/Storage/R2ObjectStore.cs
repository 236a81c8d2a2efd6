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
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using ChittyConnect.Configuration;
using ChittyConnect.Diagnostics;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

/// <summary>
/// One bucket of R2 (or another S3-compatible store such as s3rver), set up for R2's rules: path-style
/// addressing, region "auto", no chunked payload signing, checksums only where the API requires them.
/// Every write is verified against the MD5 of the bytes actually sent.
/// </summary>
public sealed partial class R2ObjectStore : IDisposable
{
    /// <summary>Metadata key of the content's SHA-256 (sent as x-amz-meta-sha256).</summary>
    public const string Sha256MetadataKey = "sha256";

    /// <summary>Metadata key of the file's last-write time in ms since the epoch (x-amz-meta-mtime).</summary>
    public const string MtimeMetadataKey = "mtime";

    // The AWS SDK's client, made on first use: a sync that only lists and PUTs small files never loads the
    // SDK. Typed object so that nothing on those paths (this constructor included) names an SDK type.
    private readonly Func<object> _createSdk;
    private readonly object _sdkGate = new();
    private object? _sdk;
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
        _createSdk = () => CreateSdkClient(endpoint, accessKeyId, secret.Reveal());
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

    private AmazonS3Client S3
    {
        get
        {
            lock (_sdkGate)
            {
                return (AmazonS3Client)(_sdk ??= _createSdk());
            }
        }
    }

    private object CreateSdkClient(Uri endpoint, string accessKeyId, string secret)
    {
        var config = new AmazonS3Config
        {
            ServiceURL = endpoint.GetLeftPart(UriPartial.Authority),
            ForcePathStyle = true,
            AuthenticationRegion = "auto",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = _options.MaxRetries,
            Timeout = _options.RequestTimeout,
            // Room for every transfer plus the listing and deletes running beside them.
            MaxConnectionsPerServer = _options.MaxConcurrentRequests + 2,
        };
        if (_options.HandlerHook is not null)
        {
            config.HttpClientFactory = new HookedHttpClientFactory(_options.HandlerHook, _options.MaxConcurrentRequests + 2, _options.RequestTimeout);
        }

        return new AmazonS3Client(new BasicAWSCredentials(accessKeyId, secret), config);
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
            : length < LeanPutLimit
                ? await LeanPutAsync(path, key, length, sha256, modified, progress, cancellationToken).ConfigureAwait(false)
                : await StreamPutAsync(path, key, length, sha256, md5, modified, progress, cancellationToken).ConfigureAwait(false);
        info.Refresh();
        if (info.Length != length || info.LastWriteTimeUtc != lastWrite)
        {
            await DiscardAsync(key).ConfigureAwait(false);
            throw new ObjectStoreException($"'{path}' changed while it was being uploaded; it will be sent again next time.", key, "ContentChanged");
        }

        return result;
    }

    /// <summary>
    /// Downloads <paramref name="key"/> into <paramref name="destination"/> and verifies it: against the ETag
    /// when it is an MD5, against the sha256 metadata when there is one, and against the length always.
    /// </summary>
    public async Task<DownloadResult> DownloadAsync(string key, Stream destination, Action<long>? progress, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var response = await CallAsync("GET", key, Requests.AddGet,
                () => S3.GetObjectAsync(new GetObjectRequest { BucketName = Bucket, Key = key }, cancellationToken), cancellationToken).ConfigureAwait(false);
            var info = ToInfo(key, response.ContentLength, response.ETag, response.Metadata, response.LastModified);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            var buffer = new byte[81920];
            long total = 0;
            using (var body = response.ResponseStream)
            {
                while (true)
                {
                    var want = buffer.Length;
                    if (_limiter is not null)
                    {
                        want = BandwidthLimiter.MaxChunk;
                        await _limiter.WaitAsync(want, cancellationToken).ConfigureAwait(false);
                    }

                    int read;
                    try
                    {
                        read = await body.ReadAsync(buffer, 0, want, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is IOException or HttpRequestException && !cancellationToken.IsCancellationRequested)
                    {
                        throw new ObjectStoreException($"The download of '{key}' broke off: {ex.Message}", key, "NetworkError", 0, ex);
                    }

                    if (read == 0)
                    {
                        break;
                    }

                    sha.AppendData(buffer, 0, read);
                    md5.AppendData(buffer, 0, read);
                    await destination.WriteAsync(buffer, 0, read, cancellationToken).ConfigureAwait(false);
                    total += read;
                    progress?.Invoke(read);
                }
            }

            var result = new DownloadResult
            {
                Info = info,
                Size = total,
                Sha256 = ContentHasher.ToHex(sha.GetHashAndReset()),
                Md5 = ContentHasher.ToHex(md5.GetHashAndReset()),
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
            else
            {
                result.VerifiedBy = info.Sha256 is null ? "size" : "sha256";
            }

            return result;
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>The object's size, ETag and our metadata; null when it does not exist.</summary>
    public async Task<RemoteObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var response = await CallAsync("HEAD", key, Requests.AddHead,
                () => S3.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = Bucket, Key = key }, cancellationToken), cancellationToken).ConfigureAwait(false);
            return ToInfo(key, response.ContentLength, response.ETag, response.Metadata, response.LastModified);
        }
        catch (ObjectStoreException ex) when (ex.StatusCode == 404)
        {
            return null;
        }
    }

    /// <summary>
    /// Aborts multipart uploads under <paramref name="prefix"/> started before <paramref name="olderThan"/>
    /// (left by crashed runs; they cost storage until R2 drops them after 7 days). Returns how many were
    /// aborted; 0 when the store does not list uploads (s3rver).
    /// </summary>
    public async Task<int> AbortStaleUploadsAsync(string prefix, DateTimeOffset olderThan, CancellationToken cancellationToken)
    {
        ListMultipartUploadsResponse response;
        try
        {
            response = await CallAsync("LIST-UPLOADS", prefix, Requests.AddList,
                () => S3.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = Bucket, Prefix = prefix }, cancellationToken), cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex.Code is "NotImplemented" || ex.StatusCode is 501 or 405)
        {
            return 0;
        }

        var aborted = 0;
        foreach (var upload in response.MultipartUploads ?? new List<MultipartUpload>())
        {
            if (upload.Initiated is { } initiated && ToOffset(initiated) < olderThan
                && await AbortUploadAsync(upload.Key, upload.UploadId, cancellationToken).ConfigureAwait(false))
            {
                aborted++;
            }
        }

        return aborted;
    }

    /// <summary>Aborts one multipart upload; false when it no longer exists or the store cannot abort.</summary>
    public async Task<bool> AbortUploadAsync(string key, string uploadId, CancellationToken cancellationToken)
    {
        try
        {
            await CallAsync("ABORT", key, Requests.AddMultipart,
                () => S3.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = Bucket, Key = key, UploadId = uploadId }, cancellationToken), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ObjectStoreException ex) when (ex.StatusCode is 404 or 405 or 501)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_sdkGate)
        {
            (_sdk as IDisposable)?.Dispose();
        }

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

    private async Task<T> CallAsync<T>(string verb, string target, Action count, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        count();
        try
        {
            var result = await call().ConfigureAwait(false);
            ChittyLog.Verbose($"S3 {verb} {target}: {watch.ElapsedMilliseconds} ms");
            return result;
        }
        catch (AmazonS3Exception ex)
        {
            ChittyLog.Verbose($"S3 {verb} {target}: {(int)ex.StatusCode} {ex.ErrorCode} in {watch.ElapsedMilliseconds} ms");
            throw new ObjectStoreException($"S3 {verb} '{target}' failed: {(int)ex.StatusCode} {ex.ErrorCode}: {ex.Message}", target, ex.ErrorCode, (int)ex.StatusCode, ex);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException ex)
        {
            throw new ObjectStoreException($"S3 {verb} '{target}' timed out after {watch.Elapsed.TotalSeconds:0} s.", target, "Timeout", 0, ex);
        }
        catch (Exception ex) when (ex is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or WebException)
        {
            ChittyLog.Verbose($"S3 {verb} {target}: failed in {watch.ElapsedMilliseconds} ms: {ex.Message}");
            throw new ObjectStoreException($"S3 {verb} '{target}' failed: {ex.Message}", target, "NetworkError", 0, ex);
        }
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

        if (long.TryParse(metadata[MtimeMetadataKey], NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms))
        {
            info.FileModified = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }

        return info;
    }

    private static DateTimeOffset? ToOffset(DateTime? value) =>
        value is { } v ? new DateTimeOffset(v.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(v, DateTimeKind.Utc) : v.ToUniversalTime()) : null;

    private static byte[] FromHex(string hex)
    {
        var bytes = new byte[hex.Length / 2];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = byte.Parse(hex.Substring(i * 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }

        return bytes;
    }

    private sealed class HookedHttpClientFactory : HttpClientFactory
    {
        private readonly Func<HttpMessageHandler, HttpMessageHandler> _hook;
        private readonly int _connections;
        private readonly TimeSpan _timeout;
        private readonly string _id = "chitty-hooked-" + Guid.NewGuid().ToString("N");

        public HookedHttpClientFactory(Func<HttpMessageHandler, HttpMessageHandler> hook, int connections, TimeSpan timeout)
        {
            _hook = hook;
            _connections = connections;
            _timeout = timeout;
        }

        public override HttpClient CreateHttpClient(IClientConfig clientConfig)
        {
            var handler = new HttpClientHandler { MaxConnectionsPerServer = _connections, AllowAutoRedirect = false, UseCookies = false };
            return new HttpClient(_hook(handler)) { Timeout = _timeout };
        }

        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => true;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

        public override string GetConfigUniqueString(IClientConfig clientConfig) => _id;
    }
}
