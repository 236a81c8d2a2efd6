using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using System.Xml;
using ChittyConnect.Diagnostics;

namespace ChittyConnect.Storage;

// The module's own S3 requests: SigV4-signed with the payload's SHA-256 (valid over HTTP and HTTPS alike),
// sent by one HttpClient, retried as the SDK's standard mode retries. The hot paths of a sync (the listing,
// the PUT of a small file) use it: the AWS SDK costs about 2 ms of CPU per request, re-reads a body to sign
// it over HTTP, and its first request costs a few hundred ms of start-up that a no-op sync need not pay.
public sealed partial class R2ObjectStore
{
    private const int MaxErrorBody = 64 * 1024;

    /// <summary>SHA-256 of no bytes: the payload hash of a request without a body.</summary>
    internal const string EmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private static readonly Regex s_code = new("<Code>([^<]*)</Code>", RegexOptions.CultureInvariant);
    private static readonly Regex s_message = new("<Message>([^<]*)</Message>", RegexOptions.CultureInvariant);
    private static readonly Random s_random = new();
    private static readonly string s_version = typeof(R2ObjectStore).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private SigV4Signer? _signer;
    private HttpClient? _http;
    private string _authority = string.Empty;

    // Called from the constructor.
    private void InitLean(string accessKeyId, string secret, Uri endpoint)
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
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("ChittyConnect", s_version));
        // .NET Framework (Windows PowerShell) would otherwise hold every body back up to 350 ms for a 100 Continue.
        _http.DefaultRequestHeaders.ExpectContinue = false;
    }

    /// <summary>
    /// Sends a signed request, retrying throttling, 5xx, timeouts, network faults and unreadable answers with
    /// backoff; <paramref name="onSuccess"/> reads a 2xx answer inside the attempt, so a body cut short is
    /// retried too. Failures become <see cref="ObjectStoreException"/> with S3's error code. With
    /// <paramref name="keepResponse"/> a 2xx answer is left open for the caller (who reads its body).
    /// </summary>
    private async Task<T> SendLeanAsync<T>(LeanRequest request, Func<HttpResponseMessage, CancellationToken, Task<T>> onSuccess,
        CancellationToken cancellationToken, bool keepResponse = false)
    {
        var watch = Stopwatch.StartNew();
        request.Count();
        var uri = new Uri(_authority + request.CanonicalUri + (request.Query.Length > 0 ? "?" + request.Query : string.Empty));
        var host = uri.IsDefaultPort ? uri.Host : uri.Host + ":" + uri.Port.ToString(CultureInfo.InvariantCulture);
        var label = $"S3 {request.Verb} {request.Target}";
        for (var attempt = 0; ; attempt++)
        {
            var now = DateTime.UtcNow;
            var amzDate = SigV4Signer.AmzDate(now);
            var signed = new List<KeyValuePair<string, string>>(request.Headers.Count + 3)
            {
                Header("host", host),
                Header("x-amz-content-sha256", request.PayloadSha256),
                Header("x-amz-date", amzDate),
            };
            signed.AddRange(request.Headers);
            var signature = _signer!.Sign(request.Method.Method, request.CanonicalUri, request.Query, signed, request.PayloadSha256, now);
            using var message = new HttpRequestMessage(request.Method, uri);
            message.Headers.TryAddWithoutValidation("Authorization", signature.Authorization);
            foreach (var h in signed)
            {
                // HttpClient writes Host from the URI and the content's headers from the content.
                if (h.Key != "host" && !h.Key.StartsWith("content-", StringComparison.Ordinal))
                {
                    message.Headers.TryAddWithoutValidation(h.Key, h.Value);
                }
            }

            message.Content = request.Content?.Invoke();

            using var attemptTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptTimeout.CancelAfter(_options.RequestTimeout);
            ObjectStoreException failure;
            TimeSpan? retryAfter = null;
            try
            {
                var response = await _http!.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, attemptTimeout.Token).ConfigureAwait(false);
                var kept = false;
                try
                {
                    var status = (int)response.StatusCode;
                    if (status is >= 200 and < 300)
                    {
                        var result = await onSuccess(response, attemptTimeout.Token).ConfigureAwait(false);
                        ChittyLog.Verbose($"{label}: {watch.ElapsedMilliseconds} ms");
                        kept = keepResponse;
                        return result;
                    }

                    var body = await ReadErrorBodyAsync(response, attemptTimeout.Token).ConfigureAwait(false);
                    var code = Match(s_code, body) ?? ReasonCode(status, response.ReasonPhrase);
                    var text = Match(s_message, body) ?? code;
                    ChittyLog.Verbose($"{label}: {status} {code} in {watch.ElapsedMilliseconds} ms");
                    failure = new ObjectStoreException($"S3 {request.Verb} '{request.Target}' failed: {status} {code}: {text}", request.Target, code, status);
                    retryAfter = response.Headers.RetryAfter?.Delta;
                    if (!IsRetryable(status, code))
                    {
                        throw failure;
                    }
                }
                finally
                {
                    if (!kept)
                    {
                        response.Dispose();
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (OperationCanceledException ex)
            {
                ChittyLog.Verbose($"{label}: timed out in {watch.ElapsedMilliseconds} ms");
                failure = new ObjectStoreException($"S3 {request.Verb} '{request.Target}' timed out after {_options.RequestTimeout.TotalSeconds:0} s.", request.Target, "Timeout", 0, ex);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or WebException)
            {
                ChittyLog.Verbose($"{label}: failed in {watch.ElapsedMilliseconds} ms: {ex.Message}");
                failure = new ObjectStoreException($"S3 {request.Verb} '{request.Target}' failed: {ex.Message}", request.Target, "NetworkError", 0, ex);
            }
            catch (XmlException ex)
            {
                // A 2xx answer whose XML breaks off: a connection cut mid-body, as far as the client can tell.
                ChittyLog.Verbose($"{label}: unreadable answer in {watch.ElapsedMilliseconds} ms: {ex.Message}");
                failure = new ObjectStoreException($"S3 {request.Verb} '{request.Target}' failed: the answer could not be read ({ex.Message}).", request.Target, "BadResponse", 0, ex);
            }

            if (attempt >= _options.MaxRetries)
            {
                throw failure;
            }

            await Task.Delay(Backoff(attempt, retryAfter), cancellationToken).ConfigureAwait(false);
        }
    }

    private static KeyValuePair<string, string> Header(string name, string value) => new(name, value);

    // An answer without an S3 error body (HEAD has none): the codes S3 would have named.
    private static string ReasonCode(int status, string? reason) => status switch
    {
        404 => "NotFound",
        403 => "AccessDenied",
        _ => string.IsNullOrEmpty(reason) ? status.ToString(CultureInfo.InvariantCulture) : reason!.Replace(" ", string.Empty),
    };

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

    /// <summary>One request for <see cref="SendLeanAsync"/>.</summary>
    private sealed class LeanRequest
    {
        public LeanRequest(HttpMethod method, string verb, string target, string canonicalUri, Action count)
        {
            Method = method;
            Verb = verb;
            Target = target;
            CanonicalUri = canonicalUri;
            Count = count;
        }

        public HttpMethod Method { get; }

        /// <summary>The request's name in logs and errors (PUT, LIST, PART 3 ...).</summary>
        public string Verb { get; }

        /// <summary>The key or prefix the request is about, for logs and errors.</summary>
        public string Target { get; }

        /// <summary>The encoded path, as sent and as signed.</summary>
        public string CanonicalUri { get; }

        /// <summary>Counts the request (once, however many attempts it takes).</summary>
        public Action Count { get; }

        /// <summary>The canonical query: sorted by name, names and values encoded (SigV4 UriEncode).</summary>
        public string Query { get; init; } = string.Empty;

        /// <summary>Headers to sign and send besides host, x-amz-date and x-amz-content-sha256 (lower-case names).</summary>
        public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = Array.Empty<KeyValuePair<string, string>>();

        public string PayloadSha256 { get; init; } = EmptySha256;

        /// <summary>Makes a fresh body for each attempt (it sets the content-* headers itself).</summary>
        public Func<HttpContent>? Content { get; init; }
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
}
