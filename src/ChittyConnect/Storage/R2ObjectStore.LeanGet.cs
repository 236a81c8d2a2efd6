using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

// GET, HEAD and the abort of a multipart upload.
public sealed partial class R2ObjectStore
{
    /// <summary>
    /// Downloads <paramref name="key"/> into <paramref name="destination"/> and verifies it: against the ETag
    /// when it is an MD5, against the sha256 metadata when there is one, and against the length always.
    /// </summary>
    public async Task<DownloadResult> DownloadAsync(string key, Stream destination, Action<long>? progress, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The answer's headers are retried like any request; once its body starts flowing into the
            // destination a failure ends the download (the caller writes to a temporary file and starts over).
            var request = new LeanRequest(HttpMethod.Get, "GET", key, SigV4Signer.EncodePath(Bucket, key), Requests.AddGet);
            using var response = await SendLeanAsync(request, (r, _) => Task.FromResult(r), cancellationToken, keepResponse: true).ConfigureAwait(false);
            var info = InfoOf(key, response);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            using var bodyTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bodyTimeout.CancelAfter(_options.RequestTimeout);
            var buffer = new byte[81920];
            long total = 0;
            using (var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false))
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
                        read = await body.ReadAsync(buffer, 0, want, bodyTimeout.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
                    {
                        throw new ObjectStoreException($"The download of '{key}' timed out after {_options.RequestTimeout.TotalSeconds:0} s.", key, "Timeout", 0, ex);
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

    /// <summary>The object's size, ETag and module metadata; null when there is no such object.</summary>
    public async Task<RemoteObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            var request = new LeanRequest(HttpMethod.Head, "HEAD", key, SigV4Signer.EncodePath(Bucket, key), Requests.AddHead);
            return await SendLeanAsync(request, (response, _) => Task.FromResult(InfoOf(key, response)), cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex.StatusCode == 404)
        {
            return null;
        }
    }

    /// <summary>Aborts one multipart upload; false when it no longer exists or the store cannot abort.</summary>
    public async Task<bool> AbortUploadAsync(string key, string uploadId, CancellationToken cancellationToken)
    {
        try
        {
            var request = new LeanRequest(HttpMethod.Delete, "ABORT", key, SigV4Signer.EncodePath(Bucket, key), Requests.AddMultipart)
            {
                Query = "uploadId=" + SigV4Signer.UriEncode(uploadId, keepSlash: false),
            };
            return await SendLeanAsync(request, (_, _) => Task.FromResult(true), cancellationToken).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex.StatusCode is 404 or 405 or 501)
        {
            return false;
        }
    }

    private static RemoteObjectInfo InfoOf(string key, HttpResponseMessage response)
    {
        var info = new RemoteObjectInfo
        {
            Key = key,
            Size = response.Content?.Headers.ContentLength ?? 0,
            ETag = ETagOf(response),
            LastModified = response.Content?.Headers.LastModified?.ToUniversalTime(),
        };
        var sha = HeaderValue(response, "x-amz-meta-" + Sha256MetadataKey);
        if (!string.IsNullOrWhiteSpace(sha))
        {
            info.Sha256 = sha!.Trim().ToLowerInvariant();
        }

        if (long.TryParse(HeaderValue(response, "x-amz-meta-" + MtimeMetadataKey), NumberStyles.Integer, CultureInfo.InvariantCulture, out var ms))
        {
            info.FileModified = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        }

        return info;
    }

    private static string? HeaderValue(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}
