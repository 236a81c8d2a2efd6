using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Configuration;
using ChittyConnect.Diagnostics;
using ChittyConnect.Retry;

namespace ChittyConnect.Api;

/// <summary>
/// The ChittyConnect HTTP API. One instance (and one HttpClient) per connection; thread-safe.
/// Retries 429, 5xx, timeouts and network faults with exponential backoff and jitter, honouring
/// Retry-After, for requests that are safe to repeat; turns every failure into <see cref="ChittyApiException"/>.
/// </summary>
public sealed class ChittyApiClient : IDisposable
{
    /// <summary>Largest response body read; a bigger one is refused as invalid, never buffered.</summary>
    public const int MaxResponseBytes = 16 * 1024 * 1024;

    /// <summary>Items per sync-report request.</summary>
    public const int DefaultReportBatchSize = 500;

    private readonly ChittyConnectionSettings _settings;
    private readonly HttpClient _http;
    private readonly ChittySecret _apiKey;
    private readonly Uri _endpoint;
    private readonly string _chittyId;

    /// <summary>Creates a client; <paramref name="handler"/> replaces the network for tests.</summary>
    public ChittyApiClient(ChittyConnectionSettings settings, HttpMessageHandler? handler = null)
    {
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        settings.Validate();
        _apiKey = settings.ApiKey!;
        _endpoint = settings.Endpoint;
        _chittyId = settings.ChittyId!;
        Retry = RetryPolicy.ForApi(settings.MaxRetries);
        _http = handler is null ? new HttpClient(CreateHandler(), disposeHandler: true) : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = Timeout.InfiniteTimeSpan; // each request has its own timeout, see SendAsync
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("ChittyConnect.PowerShell",
            typeof(ChittyApiClient).Assembly.GetName().Version?.ToString(3) ?? "0"));
    }

    /// <summary>The API's base URL.</summary>
    public Uri Endpoint => _endpoint;

    /// <summary>When and how long to wait before a request is tried again (from the connection's MaxRetries).</summary>
    public RetryPolicy Retry { get; set; }

    /// <summary>The <see cref="Retry"/> policy's base delay (tests shorten it).</summary>
    public TimeSpan RetryBaseDelay
    {
        get => Retry.BaseDelay;
        set => Retry.BaseDelay = value;
    }

    /// <summary>Creates the session (or overwrites one with that id).</summary>
    public async Task<ChittySession> CreateSessionAsync(string sessionId, IDictionary<string, object?>? metadata, CancellationToken cancellationToken)
    {
        var body = Json(w =>
        {
            w.WriteString("chittyId", _chittyId);
            w.WriteString("sessionId", sessionId);
            if (metadata is not null)
            {
                w.WritePropertyName("metadata");
                JsonValues.WriteValue(w, metadata);
            }
        });
        using var doc = await SendAsync(new ApiRequest(HttpMethod.Post, "api/v1/sessions") { Body = body, Idempotent = true }, cancellationToken).ConfigureAwait(false);
        return ReadSession(RequireData(doc, "api/v1/sessions"));
    }

    /// <summary>Lists the unexpired sessions of the connection's ChittyID, newest first.</summary>
    public async Task<IReadOnlyList<ChittySession>> GetSessionsAsync(CancellationToken cancellationToken)
    {
        using var doc = await SendAsync(new ApiRequest(HttpMethod.Get, "api/v1/sessions") { SendChittyId = true }, cancellationToken).ConfigureAwait(false);
        var data = RequireData(doc, "api/v1/sessions");
        return data.GetChild("sessions") is { ValueKind: JsonValueKind.Array } sessions
            ? sessions.EnumerateArray().Select(ReadSession).ToList()
            : Array.Empty<ChittySession>();
    }

    /// <summary>Gets one session; 404 SESSION_NOT_FOUND when unknown.</summary>
    public async Task<ChittySession> GetSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        var path = "api/v1/sessions/" + Uri.EscapeDataString(sessionId);
        using var doc = await SendAsync(new ApiRequest(HttpMethod.Get, path) { SendChittyId = true }, cancellationToken).ConfigureAwait(false);
        return ReadSession(RequireData(doc, path));
    }

    /// <summary>Uploads a small file's bytes in one request. Returns the r2_key.</summary>
    public async Task<string> UploadDirectAsync(string name, string sessionId, ArraySegment<byte> content, string sha256, string mime, CancellationToken cancellationToken)
    {
        var body = Json(w =>
        {
            w.WriteString("name", name);
            w.WriteString("session_id", sessionId);
            w.WriteBase64String("content_base64", content.AsSpan());
            w.WriteString("sha256", sha256);
            w.WriteNumber("size", content.Count);
            w.WriteString("mime", mime);
        });
        // Safe to repeat: with a sha256 the key is the same and the object is overwritten with the same bytes.
        using var doc = await SendAsync(new ApiRequest(HttpMethod.Post, "api/files/upload") { Body = body, Idempotent = true }, cancellationToken).ConfigureAwait(false);
        return RequireString(doc.RootElement, "r2_key", "api/files/upload");
    }

    /// <summary>Asks for a single-use upload URL.</summary>
    public async Task<PresignResult> PresignAsync(string name, long size, string sessionId, string mime, string sha256, CancellationToken cancellationToken)
    {
        var body = Json(w =>
        {
            w.WriteString("name", name);
            w.WriteNumber("size", size);
            w.WriteString("session_id", sessionId);
            w.WriteString("mime", mime);
            w.WriteString("sha256", sha256);
        });
        using var doc = await SendAsync(new ApiRequest(HttpMethod.Post, "api/files/presign") { Body = body, Idempotent = true }, cancellationToken).ConfigureAwait(false);
        var root = doc.RootElement;
        var url = RequireString(root, "upload_url", "api/files/presign");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uploadUrl))
        {
            throw InvalidResponse(HttpMethod.Post, "api/files/presign", $"upload_url '{url}' is not an absolute URL.");
        }

        return new PresignResult
        {
            UploadUrl = uploadUrl,
            R2Key = RequireString(root, "r2_key", "api/files/presign"),
            ExpiresIn = (int)(root.GetInt64("expires_in") ?? 3600),
            ExpiresAt = root.GetTime("expires_at"),
        };
    }

    /// <summary>
    /// PUTs the raw bytes to a presigned URL. The URL's host is ignored: the service names its production
    /// host whatever was called, and the API key must never go anywhere but the configured endpoint.
    /// Not retried here: the token is single-use, so a retry needs a new presign.
    /// </summary>
    public async Task<(string R2Key, long Size)> PutPresignedAsync(PresignResult presign, Stream content, long length, string mime, CancellationToken cancellationToken)
    {
        var path = ToEndpointPath(presign.UploadUrl);
        var request = new ApiRequest(HttpMethod.Put, path)
        {
            Body = () =>
            {
                var streamContent = new StreamContent(content, 81920);
                streamContent.Headers.ContentType = MediaTypeHeaderValue.Parse(mime);
                streamContent.Headers.ContentLength = length;
                return streamContent;
            },
            Idempotent = false,
            // A body of any size must be allowed to take its time: the timeout grows with it (at 256 KiB/s).
            Timeout = _settings.RequestTimeout + TimeSpan.FromSeconds(length / (256.0 * 1024)),
        };
        using var doc = await SendAsync(request, cancellationToken).ConfigureAwait(false);
        var root = doc.RootElement;
        return (root.GetString("r2_key") ?? presign.R2Key, root.GetInt64("size") ?? -1);
    }

    /// <summary>Records that an uploaded object is committed (the service only broadcasts it).</summary>
    public async Task CommitAsync(string r2Key, string sessionId, string? sha256, long? size, string? taskId, CancellationToken cancellationToken)
    {
        var body = Json(w =>
        {
            w.WriteString("r2_key", r2Key);
            w.WriteString("session_id", sessionId);
            if (sha256 is not null) { w.WriteString("sha256", sha256); }
            if (size is not null) { w.WriteNumber("size", size.Value); }
            if (taskId is not null) { w.WriteString("task_id", taskId); }
        });
        using var _ = await SendAsync(new ApiRequest(HttpMethod.Post, "api/files/commit") { Body = body, Idempotent = true }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Marks files active in a session (one request for all of them).</summary>
    public async Task<SetActiveResult> SetActiveAsync(string sessionId, IReadOnlyList<ActiveFileSpec> files, CancellationToken cancellationToken)
    {
        // The service fails the whole write silently (still answering 200) when one file lacks a uri.
        var missing = files.Where(f => string.IsNullOrWhiteSpace(f.Uri)).Select(f => f.Name ?? "(unnamed)").ToList();
        if (missing.Count > 0)
        {
            throw new ArgumentException("Every active file needs a uri; missing for: " + string.Join(", ", missing));
        }

        var body = Json(w =>
        {
            w.WriteString("session_id", sessionId);
            w.WriteStartArray("files");
            foreach (var file in files)
            {
                w.WriteStartObject();
                w.WriteString("uri", file.Uri);
                if (file.Name is not null) { w.WriteString("name", file.Name); }
                if (file.Size is not null) { w.WriteNumber("size", file.Size.Value); }
                if (file.Sha256 is not null) { w.WriteString("sha256", file.Sha256); }
                if (file.Mime is not null) { w.WriteString("mime", file.Mime); }
                if (file.Metadata is not null)
                {
                    w.WritePropertyName("metadata");
                    JsonValues.WriteValue(w, file.Metadata);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        });
        using var doc = await SendAsync(new ApiRequest(HttpMethod.Post, "api/context/files/set-active") { Body = body, Idempotent = true }, cancellationToken).ConfigureAwait(false);
        return new SetActiveResult
        {
            SessionId = sessionId,
            Count = (int)(doc.RootElement.GetInt64("count") ?? files.Count),
            Uris = files.Select(f => f.Uri).ToList(),
        };
    }

    /// <summary>
    /// Reports synced objects, in batches of <paramref name="batchSize"/>. The session is the API key's.
    /// A failed batch throws; the batches before it stay reported (the items are upserts, so a retry is harmless).
    /// </summary>
    public async Task<SyncReportResult> SendSyncReportAsync(string? pathPrefix, string? source, IReadOnlyList<SyncReportItem> items,
        CancellationToken cancellationToken, int batchSize = DefaultReportBatchSize, Action<int>? batchSent = null)
    {
        if (batchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), "The batch size must be at least 1.");
        }

        var result = new SyncReportResult { PathPrefix = pathPrefix, Source = source ?? "rclone" };
        var eventIds = new List<string>();
        var offset = 0;
        do
        {
            var batch = items.Skip(offset).Take(batchSize).ToList();
            var body = Json(w =>
            {
                if (pathPrefix is not null) { w.WriteString("path_prefix", pathPrefix); }
                w.WriteString("source", result.Source);
                w.WriteStartArray("items");
                foreach (var item in batch)
                {
                    w.WriteStartObject();
                    if (item.R2Key is not null) { w.WriteString("r2_key", item.R2Key); }
                    if (item.Uri is not null) { w.WriteString("uri", item.Uri); }
                    if (item.Sha256 is not null) { w.WriteString("sha256", item.Sha256); }
                    if (item.Size is not null) { w.WriteNumber("size", item.Size.Value); }
                    if (item.Modified is not null) { w.WriteString("modified", item.Modified.Value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)); }
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            });
            using var doc = await SendAsync(new ApiRequest(HttpMethod.Post, "api/context/files/sync-report") { Body = body, Idempotent = true }, cancellationToken).ConfigureAwait(false);
            result.Count += (int)(doc.RootElement.GetInt64("count") ?? batch.Count);
            result.Bytes += batch.Sum(i => i.Size ?? 0);
            result.Batches++;
            var eventId = doc.RootElement.GetString("eventId");
            if (eventId is not null)
            {
                eventIds.Add(eventId);
            }

            offset += batch.Count;
            batchSent?.Invoke(offset);
        }
        while (offset < items.Count);

        result.EventIds = eventIds;
        return result;
    }

    /// <summary>Who the key is, its session, active files and quota.</summary>
    public async Task<ChittyWhoAmI> WhoAmIAsync(CancellationToken cancellationToken)
    {
        using var doc = await SendAsync(new ApiRequest(HttpMethod.Get, "api/registry/whoami"), cancellationToken).ConfigureAwait(false);
        var data = RequireData(doc, "api/registry/whoami");
        var tenant = data.GetChild("tenant") ?? default;
        var session = data.GetChild("session") ?? default;
        var quota = data.GetChild("quota") ?? default;
        var result = new ChittyWhoAmI
        {
            ChittyId = tenant.GetString("chitty_id"),
            Name = tenant.GetString("name"),
            AccountType = tenant.GetString("account_type"),
            SessionId = session.GetString("session_id"),
            SessionCreated = session.GetTime("created_at"),
            LastActivity = session.GetTime("last_activity"),
            StorageBytes = quota.GetInt64("storage_bytes"),
            ApiCallsRemaining = quota.GetInt64("api_calls_remaining"),
            Flags = data.GetChild("flags") is { } flags ? JsonValues.ToDictionary(flags) : new Dictionary<string, object?>(),
        };
        if (session.GetChild("active_files") is { ValueKind: JsonValueKind.Array } files)
        {
            result.ActiveFiles = files.EnumerateArray().Select(f => new ChittyActiveFile
            {
                Uri = f.GetString("uri") ?? string.Empty,
                Name = f.GetString("name"),
                Size = f.GetInt64("size"),
                Sha256 = f.GetString("sha256"),
                Mime = f.GetString("mime"),
                LastAccessed = f.GetTime("last_accessed"),
            }).ToList();
        }

        if (session.GetChild("active_tasks") is { ValueKind: JsonValueKind.Array } tasks)
        {
            result.ActiveTasks = tasks.EnumerateArray().Select(JsonValues.ToObject).ToList();
        }

        if (data.GetChild("scopes") is { ValueKind: JsonValueKind.Array } scopes)
        {
            result.Scopes = scopes.EnumerateArray().Select(s => s.ValueKind == JsonValueKind.String ? s.GetString()! : s.GetRawText()).ToList();
        }

        return result;
    }

    /// <summary>The path of <paramref name="url"/> resolved against the configured endpoint.</summary>
    public string ToEndpointPath(Uri url)
    {
        var path = url.IsAbsoluteUri ? url.AbsolutePath : url.OriginalString.Split('?')[0];
        return path.TrimStart('/');
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private static HttpMessageHandler CreateHandler()
    {
        // Certificate validation is left at its default (on). Redirects are not followed: a redirect
        // must not carry the API key to another host.
        return new HttpClientHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate };
    }

    private async Task<JsonDocument> SendAsync(ApiRequest request, CancellationToken cancellationToken)
    {
        var uri = new Uri(_endpoint, request.Path);
        var displayPath = "/" + request.Path;
        if (!_endpoint.IsBaseOf(uri) || !string.Equals(uri.GetLeftPart(UriPartial.Authority), _endpoint.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase))
        {
            // A path taken from an answer (the presign upload_url) can itself be an absolute URL:
            // the API key goes to the configured endpoint and nowhere else.
            throw InvalidResponse(request.Method, request.Path, $"the service pointed to {uri.GetLeftPart(UriPartial.Path)}, outside {_endpoint}; the request was not sent.");
        }

        for (var attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(request.Timeout ?? _settings.RequestTimeout);
            var stopwatch = Stopwatch.StartNew();
            ChittyApiException failure;
            TimeSpan? retryAfter = null;
            try
            {
                using var message = new HttpRequestMessage(request.Method, uri);
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey.Reveal());
                message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
                if (request.SendChittyId)
                {
                    message.Headers.Add("X-ChittyID", _chittyId);
                }

                message.Content = request.Body?.Invoke();
                using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                var body = await ReadBodyAsync(response, request, timeout.Token).ConfigureAwait(false);
                ChittyLog.Verbose($"{request.Method} {displayPath} -> {status} ({stopwatch.ElapsedMilliseconds} ms)");
                if (status is >= 200 and < 300)
                {
                    return ParseSuccess(request, response, body);
                }

                failure = ParseError(request, response, body);
                retryAfter = GetRetryAfter(response);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                ChittyLog.Verbose($"{request.Method} {displayPath} -> timeout ({stopwatch.ElapsedMilliseconds} ms)");
                failure = new ChittyApiException(ChittyErrorKind.Timeout, 0, "timeout",
                    $"{request.Method} {displayPath} got no answer from {_endpoint.GetLeftPart(UriPartial.Authority)} within {(request.Timeout ?? _settings.RequestTimeout).TotalSeconds:0.#} s.",
                    request.Method.Method, displayPath);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                ChittyLog.Verbose($"{request.Method} {displayPath} -> network error ({stopwatch.ElapsedMilliseconds} ms)");
                failure = new ChittyApiException(ChittyErrorKind.Network, 0, "network",
                    $"{request.Method} {displayPath} could not reach {_endpoint.GetLeftPart(UriPartial.Authority)}: {_apiKey.Scrub(Innermost(ex).Message)}",
                    request.Method.Method, displayPath, inner: ex);
            }

            if (!Retry.ShouldRetry(attempt + 1, Classify(failure), request.Idempotent))
            {
                throw failure;
            }

            var delay = Retry.Delay(attempt, retryAfter);
            ChittyLog.Verbose($"{request.Method} {displayPath}: {failure.Code}, retry {attempt + 1} of {(Retry.MaxAttempts ?? 0) - 1} in {delay.TotalMilliseconds:0} ms");
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    private static RetryClass Classify(ChittyApiException failure) => failure.Kind switch
    {
        // A 429 or 503 means the request was not processed: always safe to send again.
        ChittyErrorKind.RateLimited => RetryClass.NotProcessed,
        ChittyErrorKind.ServerError => failure.StatusCode == 503 ? RetryClass.NotProcessed : RetryClass.MaybeProcessed,
        ChittyErrorKind.Timeout or ChittyErrorKind.Network => RetryClass.MaybeProcessed,
        _ => RetryClass.Permanent,
    };

    // The policy caps what it obeys (MaxServerDelay).
    private static TimeSpan? GetRetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        return header?.Delta ?? (header?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
    }

    private static async Task<byte[]> ReadBodyAsync(HttpResponseMessage response, ApiRequest request, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > MaxResponseBytes)
        {
            throw InvalidResponseCore(request.Method, request.Path, $"the response is {response.Content.Headers.ContentLength} bytes, over the {MaxResponseBytes} allowed.");
        }

        using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await stream.ReadAsync(chunk, 0, chunk.Length, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxResponseBytes)
            {
                throw InvalidResponseCore(request.Method, request.Path, $"the response is over the {MaxResponseBytes} bytes allowed.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private JsonDocument ParseSuccess(ApiRequest request, HttpResponseMessage response, byte[] body)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            throw InvalidResponse(request.Method, request.Path,
                $"the server answered {(int)response.StatusCode} with {Describe(response, body)} instead of JSON. Is {_endpoint} the ChittyConnect API?");
        }

        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw InvalidResponse(request.Method, request.Path, "the server answered JSON that is not an object.");
        }

        // Some endpoints answer 200 with {"ok":false} or {"success":false}: that is a failure too.
        var root = doc.RootElement;
        if ((root.GetChild("ok") is { ValueKind: JsonValueKind.False }) || (root.GetChild("success") is { ValueKind: JsonValueKind.False }))
        {
            var error = ErrorFromJson(request, (int)response.StatusCode, root, response);
            doc.Dispose();
            throw error;
        }

        return doc;
    }

    private ChittyApiException ParseError(ApiRequest request, HttpResponseMessage response, byte[] body)
    {
        var status = (int)response.StatusCode;
        if (status is >= 300 and < 400)
        {
            // Not followed (see CreateHandler): say where it pointed, so a moved endpoint is easy to fix.
            var location = response.Headers.Location?.ToString() ?? "(no Location)";
            return new ChittyApiException(ChittyErrorKind.InvalidResponse, status, "redirect",
                _apiKey.Scrub($"{request.Method} /{request.Path} was redirected ({status}) to {location}; redirects are not followed, so that the API key goes only to {_endpoint}. If the service moved, connect to its new address."),
                request.Method.Method, "/" + request.Path, RequestId(response, null));
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                return ErrorFromJson(request, status, doc.RootElement, response);
            }
        }
        catch (JsonException)
        {
            // Not JSON: the 404 of an unknown route is plain text, a proxy may answer HTML.
        }

        var code = status == 404 ? "not_found" : "http_" + status.ToString(CultureInfo.InvariantCulture);
        var text = status == 404
            ? $"{request.Method} /{request.Path} does not exist on {_endpoint} (404: {Describe(response, body)}). Check the endpoint URL."
            : $"{request.Method} /{request.Path} failed with {status} {response.ReasonPhrase}: {Describe(response, body)}";
        return new ChittyApiException(ChittyApiException.KindOf(status), status, code, _apiKey.Scrub(text), request.Method.Method, "/" + request.Path, RequestId(response, null));
    }

    private ChittyApiException ErrorFromJson(ApiRequest request, int status, JsonElement root, HttpResponseMessage response)
    {
        string? code = null;
        string? message = null;
        if (root.GetChild("error") is { } error)
        {
            if (error.ValueKind == JsonValueKind.Object)
            {
                code = error.GetString("code");
                message = error.GetString("message");
            }
            else if (error.ValueKind == JsonValueKind.String)
            {
                var text = error.GetString() ?? string.Empty;
                // {"error":"invalid_request","message":"..."} carries a code; {"error":"Invalid API key"} a sentence.
                if (text.IndexOf(' ') < 0 && root.GetString("message") is { } detail)
                {
                    code = text;
                    message = detail;
                }
                else if (text.IndexOf(' ') < 0)
                {
                    code = text;
                    message = text.Replace('_', ' ');
                }
                else
                {
                    message = text;
                }
            }
        }

        message ??= root.GetString("message") ?? "the request failed";
        code ??= status switch
        {
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            429 => "rate_limited",
            _ => "http_" + status.ToString(CultureInfo.InvariantCulture),
        };
        var kind = status is >= 200 and < 300 ? ChittyErrorKind.InvalidResponse : ChittyApiException.KindOf(status);
        var full = $"{request.Method} /{request.Path} failed ({status} {code}): {message}";
        return new ChittyApiException(kind, status, code, _apiKey.Scrub(full), request.Method.Method, "/" + request.Path, RequestId(response, root));
    }

    private static string? RequestId(HttpResponseMessage response, JsonElement? root)
    {
        if (response.Headers.TryGetValues("X-Request-Id", out var values))
        {
            return values.FirstOrDefault();
        }

        return root?.GetChild("metadata")?.GetString("requestId");
    }

    private static string Describe(HttpResponseMessage response, byte[] body)
    {
        var type = response.Content.Headers.ContentType?.MediaType ?? "no content type";
        if (body.Length == 0)
        {
            return $"an empty body ({type})";
        }

        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 200));
        var clean = new string(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray()).Trim();
        return $"'{clean}{(body.Length > 200 ? "..." : string.Empty)}' ({type}, {body.Length} bytes)";
    }

    private ChittyApiException InvalidResponse(HttpMethod method, string path, string detail) => InvalidResponseCore(method, path, _apiKey.Scrub(detail));

    private static ChittyApiException InvalidResponseCore(HttpMethod method, string path, string detail) =>
        new(ChittyErrorKind.InvalidResponse, 0, "invalid_response", $"{method} /{path}: {detail}", method.Method, "/" + path);

    private JsonElement RequireData(JsonDocument doc, string path) =>
        doc.RootElement.GetChild("data") is { ValueKind: JsonValueKind.Object } data
            ? data
            : throw InvalidResponse(HttpMethod.Get, path, "the answer has no 'data' object.");

    private string RequireString(JsonElement element, string name, string path) =>
        element.GetString(name) is { Length: > 0 } value
            ? value
            : throw InvalidResponse(HttpMethod.Post, path, $"the answer has no '{name}'.");

    private static ChittySession ReadSession(JsonElement data) => new()
    {
        Id = data.GetString("id") ?? data.GetString("sessionId") ?? string.Empty,
        ChittyId = data.GetString("chittyId"),
        Created = data.GetTime("created"),
        Updated = data.GetTime("updated"),
        Expires = data.GetTime("expires"),
        State = data.GetString("state"),
        Interactions = (int)(data.GetInt64("interactions") ?? 0),
        Metadata = data.GetChild("metadata") is { } metadata ? JsonValues.ToDictionary(metadata) : new Dictionary<string, object?>(),
    };

    private static Func<HttpContent> Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        var bytes = buffer.ToArray();
        return () =>
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            return content;
        };
    }

    private static Exception Innermost(Exception ex)
    {
        while (ex.InnerException is not null)
        {
            ex = ex.InnerException;
        }

        return ex;
    }

    private sealed class ApiRequest
    {
        public ApiRequest(HttpMethod method, string path)
        {
            Method = method;
            Path = path;
        }

        public HttpMethod Method { get; }

        public string Path { get; }

        /// <summary>Makes the body anew for each attempt.</summary>
        public Func<HttpContent>? Body { get; set; }

        public bool Idempotent { get; set; } = true;

        public bool SendChittyId { get; set; }

        public TimeSpan? Timeout { get; set; }
    }
}
