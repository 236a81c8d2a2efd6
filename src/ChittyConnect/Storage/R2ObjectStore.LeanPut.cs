using System;
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Diagnostics;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

// The single PUT of a small file without the AWS SDK: read once into a pooled buffer, hashed from memory,
// signed with its own SHA-256 (a signed payload, valid over HTTP and HTTPS alike) and sent from the buffer,
// retries included. The SDK costs about 2 ms of CPU per request and, over HTTP, re-reads the body to sign it.
public sealed partial class R2ObjectStore
{
    /// <summary>
    /// Files below this size (and below the multipart threshold) go by the lean PUT. Per-request overhead is
    /// what matters below it; above it transfer and hashing dominate, and eight transfers' pooled buffers of
    /// this size (32 MiB) stay well inside the memory budget.
    /// </summary>
    internal const long LeanPutLimit = 4L * 1024 * 1024;

    private const int MaxErrorBody = 64 * 1024;
    private static readonly Regex s_code = new("<Code>([^<]*)</Code>", RegexOptions.CultureInvariant);
    private static readonly Regex s_message = new("<Message>([^<]*)</Message>", RegexOptions.CultureInvariant);

    private SigV4Signer? _signer;
    private HttpClient? _http;
    private string _authority = string.Empty;

    // Called from the constructor.
    private void InitLeanPut(string accessKeyId, string secret, Uri endpoint)
    {
        _signer = new SigV4Signer(accessKeyId, secret, "auto", "s3");
        _authority = endpoint.GetLeftPart(UriPartial.Authority);
        HttpMessageHandler handler = new HttpClientHandler
        {
            MaxConnectionsPerServer = _options.MaxConcurrentRequests + 2,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        if (_options.HandlerHook is not null)
        {
            handler = _options.HandlerHook(handler);
        }

        // Each attempt has its own timeout (RequestTimeout), as the SDK's requests do.
        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
    }

    private bool UsesLeanPut(string key, long length) =>
        length < LeanPutLimit && length < _options.MultipartThreshold && !HasDotSegment(key);

    // System.Uri would fold "." and ".." segments away, so the signed path would not be the one sent.
    private static bool HasDotSegment(string key)
    {
        foreach (var segment in key.Split('/'))
        {
            if (segment is "." or "..")
            {
                return true;
            }
        }

        return false;
    }

    private async Task<UploadResult> LeanPutAsync(string path, string key, long length, string sha256, DateTimeOffset modified,
        Action<long>? progress, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent((int)length);
        try
        {
            ReadExactly(path, buffer, (int)length);
            string sentSha;
            byte[] md5Bytes;
            using (var sha = SHA256.Create())
            {
                sentSha = ContentHasher.ToHex(sha.ComputeHash(buffer, 0, (int)length));
            }

            using (var md5 = MD5.Create())
            {
                md5Bytes = md5.ComputeHash(buffer, 0, (int)length);
            }

            if (sentSha != sha256)
            {
                // Caught before sending: nothing reaches the store.
                throw new ObjectStoreException($"'{path}' changed after it was hashed; it will be sent again next time.", key, "ContentChanged");
            }

            var sentMd5 = ContentHasher.ToHex(md5Bytes);
            var etag = await SendPutAsync(key, buffer, (int)length, sentSha, md5Bytes, modified, progress, cancellationToken).ConfigureAwait(false);
            if (etag != sentMd5)
            {
                await DiscardAsync(key).ConfigureAwait(false);
                throw new ObjectStoreException($"'{key}': the store answered ETag {etag}, not the MD5 {sentMd5} of the bytes sent.", key, "ETagMismatch");
            }

            return new UploadResult { Key = key, ETag = etag, Size = length };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _slots.Release();
        }
    }

    private static void ReadExactly(string path, byte[] buffer, int length)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.SequentialScan);
        var total = 0;
        while (total < length)
        {
            var read = file.Read(buffer, total, length - total);
            if (read == 0)
            {
                throw new IOException("The file became shorter while it was being uploaded.");
            }

            total += read;
        }
    }

    // Sends the PUT, retrying throttling, 5xx, timeouts and network faults; returns the normalized ETag.
    private async Task<string> SendPutAsync(string key, byte[] buffer, int length, string sha256, byte[] md5, DateTimeOffset modified,
        Action<long>? progress, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        Requests.AddPut();
        var canonicalUri = SigV4Signer.EncodePath(Bucket, key);
        var uri = new Uri(_authority + canonicalUri);
        var host = uri.IsDefaultPort ? uri.Host : uri.Host + ":" + uri.Port.ToString(CultureInfo.InvariantCulture);
        var md5Base64 = Convert.ToBase64String(md5);
        var mtime = modified.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var sent = new SentBytes(progress);
        for (var attempt = 0; ; attempt++)
        {
            var now = DateTime.UtcNow;
            var lengthText = length.ToString(CultureInfo.InvariantCulture);
            var signature = _signer!.Sign("PUT", canonicalUri, string.Empty, new[]
            {
                Header("host", host),
                Header("content-length", lengthText),
                Header("content-md5", md5Base64),
                Header("content-type", "application/octet-stream"),
                Header("x-amz-content-sha256", sha256),
                Header("x-amz-date", SigV4Signer.AmzDate(now)),
                Header("x-amz-meta-" + Sha256MetadataKey, sha256),
                Header("x-amz-meta-" + MtimeMetadataKey, mtime),
            }, sha256, now);
            using var request = new HttpRequestMessage(HttpMethod.Put, uri);
            request.Headers.TryAddWithoutValidation("Authorization", signature.Authorization);
            request.Headers.TryAddWithoutValidation("x-amz-content-sha256", sha256);
            request.Headers.TryAddWithoutValidation("x-amz-date", SigV4Signer.AmzDate(now));
            request.Headers.TryAddWithoutValidation("x-amz-meta-" + Sha256MetadataKey, sha256);
            request.Headers.TryAddWithoutValidation("x-amz-meta-" + MtimeMetadataKey, mtime);
            request.Content = new BufferContent(buffer, length, _limiter, sent);
            request.Content.Headers.ContentLength = length;
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            request.Content.Headers.ContentMD5 = md5;

            using var attemptTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptTimeout.CancelAfter(_options.RequestTimeout);
            ObjectStoreException failure;
            TimeSpan? retryAfter = null;
            try
            {
                using var response = await _http!.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attemptTimeout.Token).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                if (status is >= 200 and < 300)
                {
                    ChittyLog.Verbose($"S3 PUT {key}: {watch.ElapsedMilliseconds} ms");
                    return NormalizeETag(response.Headers.ETag?.Tag ?? (response.Headers.TryGetValues("ETag", out var values) ? string.Join(",", values) : null));
                }

                var body = await ReadErrorBodyAsync(response, attemptTimeout.Token).ConfigureAwait(false);
                var code = Match(s_code, body) ?? response.ReasonPhrase ?? status.ToString(CultureInfo.InvariantCulture);
                var message = Match(s_message, body) ?? code;
                ChittyLog.Verbose($"S3 PUT {key}: {status} {code} in {watch.ElapsedMilliseconds} ms");
                failure = new ObjectStoreException($"S3 PUT '{key}' failed: {status} {code}: {message}", key, code, status);
                retryAfter = response.Headers.RetryAfter?.Delta;
                if (!IsRetryable(status, code))
                {
                    throw failure;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (OperationCanceledException ex)
            {
                ChittyLog.Verbose($"S3 PUT {key}: timed out in {watch.ElapsedMilliseconds} ms");
                failure = new ObjectStoreException($"S3 PUT '{key}' timed out after {_options.RequestTimeout.TotalSeconds:0} s.", key, "Timeout", 0, ex);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or WebException)
            {
                ChittyLog.Verbose($"S3 PUT {key}: failed in {watch.ElapsedMilliseconds} ms: {ex.Message}");
                failure = new ObjectStoreException($"S3 PUT '{key}' failed: {ex.Message}", key, "NetworkError", 0, ex);
            }

            if (attempt >= _options.MaxRetries)
            {
                throw failure;
            }

            await Task.Delay(Backoff(attempt, retryAfter), cancellationToken).ConfigureAwait(false);
        }
    }

    private static System.Collections.Generic.KeyValuePair<string, string> Header(string name, string value) => new(name, value);

    // As the SDK's standard mode: 5xx, throttling (429, SlowDown) and S3's own transient codes.
    private static bool IsRetryable(int status, string code) =>
        status >= 500 || status == 429 || code is "SlowDown" or "RequestTimeout" or "InternalError" or "ServiceUnavailable" or "Throttling";

    // Exponential with full jitter, capped at 20 s; a Retry-After from the store is honoured up to the cap.
    private static TimeSpan Backoff(int attempt, TimeSpan? retryAfter)
    {
        double jitter;
        lock (s_random)
        {
            jitter = s_random.NextDouble();
        }

        var seconds = Math.Min(20.0, 0.1 * Math.Pow(2, attempt)) * jitter;
        if (retryAfter is { } after && after > TimeSpan.Zero)
        {
            seconds = Math.Max(seconds, Math.Min(20.0, after.TotalSeconds));
        }

        return TimeSpan.FromSeconds(seconds);
    }

    private static readonly Random s_random = new();

    private static async Task<string> ReadErrorBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content is null)
        {
            return string.Empty;
        }

        using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        var buffer = new byte[MaxErrorBody];
        var total = 0;
        while (total < buffer.Length)
        {
            var read = await stream.ReadAsync(buffer, total, buffer.Length - total, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return System.Text.Encoding.UTF8.GetString(buffer, 0, total);
    }

    private static string? Match(Regex regex, string body)
    {
        var m = regex.Match(body);
        return m.Success && m.Groups[1].Value.Length > 0 ? WebUtility.HtmlDecode(m.Groups[1].Value) : null;
    }

    // Progress counts bytes beyond the furthest point any attempt reached, so a retry does not count twice.
    private sealed class SentBytes
    {
        private readonly Action<long>? _progress;
        private long _highWater;

        public SentBytes(Action<long>? progress) => _progress = progress;

        public void Reached(long position)
        {
            if (position > _highWater)
            {
                _progress?.Invoke(position - _highWater);
                _highWater = position;
            }
        }
    }

    // The body from the pooled buffer, in limiter-sized chunks when a bandwidth limit applies.
    private sealed class BufferContent : HttpContent
    {
        private readonly byte[] _buffer;
        private readonly int _length;
        private readonly BandwidthLimiter? _limiter;
        private readonly SentBytes _sent;

        public BufferContent(byte[] buffer, int length, BandwidthLimiter? limiter, SentBytes sent)
        {
            _buffer = buffer;
            _length = length;
            _limiter = limiter;
            _sent = sent;
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = _limiter is null ? Math.Max(_length, 1) : BandwidthLimiter.MaxChunk;
            for (var offset = 0; offset < _length; offset += chunk)
            {
                var count = Math.Min(chunk, _length - offset);
                if (_limiter is not null)
                {
                    await _limiter.WaitAsync(count, CancellationToken.None).ConfigureAwait(false);
                }

                await stream.WriteAsync(_buffer, offset, count).ConfigureAwait(false);
                _sent.Reached(offset + count);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return true;
        }
    }
}
