using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Configuration;
using ChittyConnect.Retry;

namespace ChittyConnect.Api;

/// <summary>
/// The ChittyConnect HTTP API's endpoints (shared/chittyconnect-api.md): what each sends and reads. One instance per
/// connection; thread-safe. Each call has one deadline, retries included (the connection's RequestTimeout, which
/// Connect-Chitty -TimeoutSec sets); 429, 5xx and network faults are retried with backoff and jitter, honouring
/// Retry-After, but a request that is not safe to repeat only when it was certainly not processed (see
/// <see cref="ApiCallRunner"/>). Every failure is a <see cref="ChittyApiException"/>.
/// </summary>
public sealed class ChittyApiClient : IDisposable
{
    /// <summary>Largest response body read; a bigger one is refused as invalid, never buffered.</summary>
    public const int MaxResponseBytes = 16 * 1024 * 1024;

    /// <summary>Items per sync-report request.</summary>
    public const int DefaultReportBatchSize = 500;

    private readonly ChittyConnectionSettings _settings;
    private readonly string _chittyId;
    private readonly ApiHttpPipeline _pipeline;
    private readonly ApiAnswerReader _answers;
    private readonly ApiCallRunner _calls;

    /// <summary>
    /// Creates a client. <paramref name="handler"/> replaces the network (tests, proxies); <paramref name="retry"/> replaces
    /// the policy made from the settings' MaxRetries (<see cref="RetryPolicy.ForApi"/>).
    /// </summary>
    public ChittyApiClient(ChittyConnectionSettings settings, HttpMessageHandler? handler = null, RetryPolicy? retry = null)
    {
        _settings = settings ?? throw new ArgumentNullException(nameof(settings));
        settings.Validate();
        _chittyId = settings.ChittyId!;
        _pipeline = new ApiHttpPipeline(settings.Endpoint, settings.ApiKey!, _chittyId, handler);
        _answers = new ApiAnswerReader(settings.Endpoint, settings.ApiKey!);
        _calls = new ApiCallRunner(_pipeline, _answers, retry ?? RetryPolicy.ForApi(settings.MaxRetries), settings.RequestTimeout);
    }

    /// <summary>The API's base URL.</summary>
    public Uri Endpoint => _pipeline.Endpoint;

    /// <summary>When and how long to wait before a request is tried again.</summary>
    public RetryPolicy Retry => _calls.Retry;

    /// <summary>Creates the session (or overwrites one with that id).</summary>
    public async Task<ChittySession> CreateSessionAsync(string sessionId, IDictionary<string, object?>? metadata, CancellationToken cancellationToken)
    {
        var body = ApiRequest.Json(w =>
        {
            w.WriteString("chittyId", _chittyId);
            w.WriteString("sessionId", sessionId);
            if (metadata is not null)
            {
                w.WritePropertyName("metadata");
                JsonValues.WriteValue(w, metadata);
            }
        });
        // Safe to repeat: posting an existing id overwrites that session with the same fields.
        using var doc = await _calls.SendAsync(new ApiRequest(HttpMethod.Post, "api/v1/sessions") { Body = body, SafeToRepeat = true }, cancellationToken).ConfigureAwait(false);
        return ReadSession(RequireData(doc, "api/v1/sessions"));
    }

    /// <summary>Lists the unexpired sessions of the connection's ChittyID, newest first.</summary>
    public async Task<IReadOnlyList<ChittySession>> GetSessionsAsync(CancellationToken cancellationToken)
    {
        using var doc = await _calls.SendAsync(new ApiRequest(HttpMethod.Get, "api/v1/sessions") { SendChittyId = true }, cancellationToken).ConfigureAwait(false);
        var data = RequireData(doc, "api/v1/sessions");
        return data.GetChild("sessions") is { ValueKind: JsonValueKind.Array } sessions
            ? sessions.EnumerateArray().Select(ReadSession).ToList()
            : Array.Empty<ChittySession>();
    }

    /// <summary>Gets one session; 404 SESSION_NOT_FOUND when unknown.</summary>
    public async Task<ChittySession> GetSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        var path = "api/v1/sessions/" + Uri.EscapeDataString(sessionId);
        using var doc = await _calls.SendAsync(new ApiRequest(HttpMethod.Get, path) { SendChittyId = true }, cancellationToken).ConfigureAwait(false);
        return ReadSession(RequireData(doc, path));
    }

    /// <summary>Uploads a small file's bytes in one request. Returns the r2_key.</summary>
    public async Task<string> UploadDirectAsync(string name, string sessionId, ArraySegment<byte> content, string sha256, string mime, CancellationToken cancellationToken)
    {
        var body = ApiRequest.Json(w =>
        {
            w.WriteString("name", name);
            w.WriteString("session_id", sessionId);
            w.WriteBase64String("content_base64", content.AsSpan());
            w.WriteString("sha256", sha256);
            w.WriteNumber("size", content.Count);
            w.WriteString("mime", mime);
        });
        // Not safe to repeat once the body left: the r2_key carries the service's UTC date, so a repeat across
        // midnight stores a second object, and each accepted upload is announced (context.files.uploaded).
        using var doc = await _calls.SendAsync(new ApiRequest(HttpMethod.Post, "api/files/upload") { Body = body, SafeToRepeat = false }, cancellationToken).ConfigureAwait(false);
        return RequireString(doc.RootElement, "r2_key", "api/files/upload");
    }

    /// <summary>Asks for a single-use upload URL.</summary>
    public async Task<PresignResult> PresignAsync(string name, long size, string sessionId, string mime, string sha256, CancellationToken cancellationToken)
    {
        var body = ApiRequest.Json(w =>
        {
            w.WriteString("name", name);
            w.WriteNumber("size", size);
            w.WriteString("session_id", sessionId);
            w.WriteString("mime", mime);
            w.WriteString("sha256", sha256);
        });
        // Safe to repeat: a presign stores and announces nothing; a repeat only mints another single-use token, and the
        // one whose answer was lost is never used and expires after an hour.
        using var doc = await _calls.SendAsync(new ApiRequest(HttpMethod.Post, "api/files/presign") { Body = body, SafeToRepeat = true }, cancellationToken).ConfigureAwait(false);
        var root = doc.RootElement;
        var url = RequireString(root, "upload_url", "api/files/presign");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uploadUrl))
        {
            throw _answers.InvalidResponse(HttpMethod.Post, "api/files/presign", $"upload_url '{url}' is not an absolute URL.");
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
            // The token is single-use, and the PUT stores and indexes the object.
            SafeToRepeat = false,
            // A body of any size must be allowed to take its time: the deadline grows with it (at 256 KiB/s).
            Deadline = _settings.RequestTimeout + TimeSpan.FromSeconds(length / (256.0 * 1024)),
        };
        using var doc = await _calls.SendAsync(request, cancellationToken).ConfigureAwait(false);
        var root = doc.RootElement;
        return (root.GetString("r2_key") ?? presign.R2Key, root.GetInt64("size") ?? -1);
    }

    /// <summary>Records that an uploaded object is committed (the service only broadcasts it).</summary>
    public async Task CommitAsync(string r2Key, string sessionId, string? sha256, long? size, string? taskId, CancellationToken cancellationToken)
    {
        var body = ApiRequest.Json(w =>
        {
            w.WriteString("r2_key", r2Key);
            w.WriteString("session_id", sessionId);
            if (sha256 is not null) { w.WriteString("sha256", sha256); }
            if (size is not null) { w.WriteNumber("size", size.Value); }
            if (taskId is not null) { w.WriteString("task_id", taskId); }
        });
        // Not safe to repeat once the body left: each accepted commit is broadcast (context.files.committed) again.
        using var _ = await _calls.SendAsync(new ApiRequest(HttpMethod.Post, "api/files/commit") { Body = body, SafeToRepeat = false }, cancellationToken).ConfigureAwait(false);
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

        var body = ApiRequest.Json(w =>
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
        // Safe to repeat: the files are upserted as active (unique on session and uri), and nothing else changes.
        using var doc = await _calls.SendAsync(new ApiRequest(HttpMethod.Post, "api/context/files/set-active") { Body = body, SafeToRepeat = true }, cancellationToken).ConfigureAwait(false);
        return new SetActiveResult
        {
            SessionId = sessionId,
            Count = (int)(doc.RootElement.GetInt64("count") ?? files.Count),
            Uris = files.Select(f => f.Uri).ToList(),
        };
    }

    /// <summary>
    /// Reports synced objects, in batches of <paramref name="batchSize"/>. The session is the API key's.
    /// A failed batch throws; the batches before it stay reported.
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
            var body = ApiRequest.Json(w =>
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
            // Not safe to repeat once the body left: the items are upserts, but each accepted report also records a
            // sync_events row and a context.files.synced event, so a repeat would count the sync twice.
            using var doc = await _calls.SendAsync(new ApiRequest(HttpMethod.Post, "api/context/files/sync-report") { Body = body, SafeToRepeat = false }, cancellationToken).ConfigureAwait(false);
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
        using var doc = await _calls.SendAsync(new ApiRequest(HttpMethod.Get, "api/registry/whoami"), cancellationToken).ConfigureAwait(false);
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
    public void Dispose() => _pipeline.Dispose();

    private JsonElement RequireData(JsonDocument doc, string path) =>
        doc.RootElement.GetChild("data") is { ValueKind: JsonValueKind.Object } data
            ? data
            : throw _answers.InvalidResponse(HttpMethod.Get, path, "the answer has no 'data' object.");

    private string RequireString(JsonElement element, string name, string path) =>
        element.GetString(name) is { Length: > 0 } value
            ? value
            : throw _answers.InvalidResponse(HttpMethod.Post, path, $"the answer has no '{name}'.");

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
}
