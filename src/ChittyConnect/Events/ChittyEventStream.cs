using System;
using System.Globalization;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Api;
using ChittyConnect.Retry;

namespace ChittyConnect.Events;

/// <summary>
/// Watches ChittyConnect's <c>GET /sse</c> stream: parses it, turns its events into <see cref="ChittyEvent"/>s,
/// filters them, and reconnects whenever the service ends or drops the stream, which it does every 15-30 s.
/// </summary>
/// <remarks>
/// The stream's own events (<c>connected</c>, once per watch however often it reconnects, and <c>heartbeat</c>)
/// reach the consumer only when asked for (<see cref="ChittyEventStreamOptions.IncludeTransportEvents"/>, or a type
/// pattern naming them); otherwise they go to <see cref="ChittyEventStreamOptions.Verbose"/>. End of stream is not
/// an error; network failures and server errors are retried forever with a capped, jittered backoff, reported only
/// through <see cref="ChittyEventStreamOptions.Verbose"/>. The one exception is a client error (such as 404) on the
/// very first attempt, which no retry would fix: that ends the watch with a <see cref="ChittyApiException"/>.
/// </remarks>
public sealed class ChittyEventStream
{
    // One client for every watch that brings none: a stream can live for hours, so it must not be bound by a request
    // timeout (the idle timeout guards the connect and the reads instead), and sharing it shares the connection pool.
    private static readonly Lazy<HttpClient> s_sharedHttpClient = new(() => new HttpClient { Timeout = Timeout.InfiniteTimeSpan });

    private readonly HttpClient _httpClient;
    private readonly ChittyEventStreamOptions _options;
    private readonly string[] _typePatterns;
    private int _running;

    /// <summary>Creates a watch on a client shared by all such watches; nothing is sent until <see cref="RunAsync"/> or <see cref="Subscribe"/>.</summary>
    /// <param name="baseUri">The service root, such as <c>https://api.chitty.cc</c>; <c>sse</c> is resolved against it.</param>
    /// <param name="options">Session, filters, limits and callbacks.</param>
    public ChittyEventStream(Uri baseUri, ChittyEventStreamOptions options)
        : this(s_sharedHttpClient.Value, baseUri, options)
    {
    }

    /// <summary>Creates a watch; nothing is sent until <see cref="RunAsync"/> or <see cref="Subscribe"/>.</summary>
    /// <param name="httpClient">The client to send with; it is not disposed. Its <c>Timeout</c> covers only the response headers.</param>
    /// <param name="baseUri">The service root, such as <c>https://api.chitty.cc</c>; <c>sse</c> is resolved against it.</param>
    /// <param name="options">Session, filters, limits and callbacks.</param>
    public ChittyEventStream(HttpClient httpClient, Uri baseUri, ChittyEventStreamOptions options)
    {
        _httpClient = httpClient ?? throw new ArgumentNullException(nameof(httpClient));
        if (baseUri is null)
        {
            throw new ArgumentNullException(nameof(baseUri));
        }

        _options = options ?? throw new ArgumentNullException(nameof(options));
        _typePatterns = options.TypePatterns is null ? new string[0] : new System.Collections.Generic.List<string>(options.TypePatterns).ToArray();
        RequestUri = BuildRequestUri(baseUri, options.SessionId);
    }

    /// <summary>The URL the watch connects to.</summary>
    public Uri RequestUri { get; }

    /// <summary>The last SSE event ID received, sent as <c>Last-Event-ID</c> on reconnect; <see langword="null"/> while none was.</summary>
    public string? LastEventId { get; private set; }

    /// <summary>How many connections the watch has opened successfully.</summary>
    public int Connections => Volatile.Read(ref _connections);

    private int _connections;

    /// <summary>
    /// Connects and delivers every event that passes the filters to <paramref name="onEvent"/> until
    /// <paramref name="cancellationToken"/> is cancelled, reconnecting as needed.
    /// </summary>
    /// <param name="onEvent">Called on a background thread, one event at a time, in the order received. An exception from it ends the watch and is rethrown.</param>
    /// <param name="cancellationToken">Ends the watch, also while a read is blocked; the task then completes without an exception.</param>
    /// <returns>A task that completes when the watch is cancelled, and faults only for a <see cref="ChittyApiException"/> or an exception of <paramref name="onEvent"/>.</returns>
    public async Task RunAsync(Action<ChittyEvent> onEvent, CancellationToken cancellationToken)
    {
        if (onEvent is null)
        {
            throw new ArgumentNullException(nameof(onEvent));
        }

        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            throw new InvalidOperationException("This event stream is already running.");
        }

        try
        {
            await RunCoreAsync(onEvent, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <summary>
    /// Starts the watch on a background task and queues its events, for a synchronous consumer such as a PowerShell
    /// pipeline thread to take one by one.
    /// </summary>
    /// <param name="cancellationToken">Ends the watch; so does disposing the subscription.</param>
    public ChittyEventSubscription Subscribe(CancellationToken cancellationToken = default) =>
        new(this, cancellationToken);

    internal static Uri BuildRequestUri(Uri baseUri, string? sessionId)
    {
        // A base with a path ("https://host/prefix") must keep it: resolve against it as a directory.
        var text = baseUri.AbsoluteUri;
        var query = baseUri.Query;
        if (query.Length > 0)
        {
            text = text.Substring(0, text.Length - query.Length);
        }

        if (!text.EndsWith("/", StringComparison.Ordinal))
        {
            text += "/";
        }

        var relative = sessionId is null ? "sse" : "sse?sessionId=" + Uri.EscapeDataString(sessionId);
        return new Uri(new Uri(text), relative);
    }

    private const int UnreachableWarningAttempts = 3;

    private async Task RunCoreAsync(Action<ChittyEvent> onEvent, CancellationToken cancellationToken)
    {
        var retry = RetryPolicy.ForEventStream(_options.InitialReconnectDelay, _options.MaxReconnectDelay);
        var failuresInARow = 0;
        var connectedSurfaced = false;
        var delivered = false;
        ExceptionDispatchInfo? consumerFailure = null;

        void OnMessage(SseMessage message)
        {
            // The rest of a buffer already read is not delivered once the watch was cancelled (-First reached).
            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            delivered = true;
            LastEventId = message.LastEventId;
            if (!ChittyEvent.TryCreate(message, out var chittyEvent, out var error))
            {
                _options.Warning?.Invoke(error!);
                return;
            }

            if (chittyEvent!.Type == ChittyEvent.ConnectedType)
            {
                // Every reconnection starts with another "connected"; the watch as a whole connected once.
                if (connectedSurfaced)
                {
                    return;
                }

                connectedSurfaced = true;
            }

            if (!Passes(chittyEvent))
            {
                if (IsTransportEvent(chittyEvent))
                {
                    _options.Verbose?.Invoke(DescribeTransportEvent(chittyEvent));
                }

                return;
            }

            try
            {
                onEvent(chittyEvent);
            }
            catch (Exception ex)
            {
                consumerFailure = ExceptionDispatchInfo.Capture(ex);
                throw new ConsumerFailedException();
            }
        }

        var parser = new SseParser(OnMessage, _options.Warning, _options.MaxEventBytes);
        var attempt = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            attempt++;
            delivered = false;
            string endReason;
            using (var connectionCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                try
                {
                    endReason = await ConnectOnceAsync(parser, attempt, connectionCts, cancellationToken).ConfigureAwait(false);
                }
                catch (ConsumerFailedException)
                {
                    consumerFailure!.Throw();
                    throw;
                }
                catch (ChittyApiException)
                {
                    throw;
                }
                catch (Exception) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception) when (connectionCts.IsCancellationRequested)
                {
                    endReason = string.Format(
                        CultureInfo.InvariantCulture,
                        "Nothing received for {0:0} s",
                        _options.IdleTimeout.TotalSeconds);
                }
                catch (Exception ex)
                {
                    endReason = "The connection failed: " + Describe(ex);
                }
                finally
                {
                    parser.Complete();
                }
            }

            if (delivered)
            {
                // A connection that delivered events: the next delay starts from the base again.
                failuresInARow = 0;
            }

            // A watch that never got through says so once (not only in -Verbose): it keeps trying, as the
            // service may just be restarting, but a wrong endpoint must not look like a quiet session.
            if (Connections == 0 && attempt == UnreachableWarningAttempts)
            {
                _options.Warning?.Invoke(string.Format(
                    CultureInfo.InvariantCulture,
                    "No event stream at {0} after {1} attempts ({2}). Still trying; Ctrl+C or -Timeout ends the watch.",
                    RequestUri,
                    attempt,
                    endReason));
            }

            var serverRetry = parser.RetryMilliseconds is { } asked ? TimeSpan.FromMilliseconds(asked) : (TimeSpan?)null;
            var delay = retry.Delay(failuresInARow, serverRetry);
            failuresInARow = Math.Min(failuresInARow + 1, 30);
            _options.Verbose?.Invoke(string.Format(
                CultureInfo.InvariantCulture,
                "{0}; reconnecting to {1} in {2:0} ms.",
                endReason,
                RequestUri,
                delay.TotalMilliseconds));
            try
            {
                await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // Returns why the connection ended when it ended without an exception.
    private async Task<string> ConnectOnceAsync(
        SseParser parser,
        int attempt,
        CancellationTokenSource connectionCts,
        CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, RequestUri);
        request.Headers.Accept.ParseAdd("text/event-stream");
        request.Headers.CacheControl = new CacheControlHeaderValue { NoCache = true };
        if (!string.IsNullOrEmpty(LastEventId))
        {
            request.Headers.TryAddWithoutValidation("Last-Event-ID", LastEventId);
        }

        ArmIdleTimeout(connectionCts);
        using var response = await _httpClient
            .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, connectionCts.Token)
            .ConfigureAwait(false);

        if (!response.IsSuccessStatusCode)
        {
            var status = string.Format(CultureInfo.InvariantCulture, "HTTP {0} {1}", (int)response.StatusCode, response.ReasonPhrase);
            if (Connections == 0 && IsPermanentFailure(response.StatusCode))
            {
                var code = (int)response.StatusCode;
                throw new ChittyApiException(
                    ChittyApiException.KindOf(code),
                    code,
                    "sse_unavailable",
                    $"The event stream {RequestUri} cannot be opened: {status}.",
                    "GET",
                    RequestUri.AbsolutePath);
            }

            return "The server answered " + status;
        }

        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (!string.Equals(mediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase))
        {
            return $"The server answered with {mediaType ?? "no content type"} instead of text/event-stream";
        }

        Interlocked.Increment(ref _connections);
        _options.Verbose?.Invoke(attempt == 1
            ? $"Connected to {RequestUri}."
            : $"Reconnected to {RequestUri} (attempt {attempt}).");

        using var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);

        // Disposing the body is what reliably wakes a read blocked on a silent socket, on every runtime.
        using (connectionCts.Token.Register(static state => ((IDisposable)state!).Dispose(), body))
        {
            await parser.ReadToEndAsync(body, _ => ArmIdleTimeout(connectionCts), connectionCts.Token).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
        return "The server ended the stream";
    }

    private void ArmIdleTimeout(CancellationTokenSource connectionCts)
    {
        var idle = _options.IdleTimeout;
        if (idle > TimeSpan.Zero && idle != Timeout.InfiniteTimeSpan)
        {
            connectionCts.CancelAfter(idle);
        }
    }

    private static bool IsTransportEvent(ChittyEvent chittyEvent) =>
        chittyEvent.Type is ChittyEvent.ConnectedType or ChittyEvent.HeartbeatType;

    private static string DescribeTransportEvent(ChittyEvent chittyEvent)
    {
        var json = chittyEvent.Json;
        string? detail = null;
        if (json.ValueKind == System.Text.Json.JsonValueKind.Object)
        {
            if (json.TryGetProperty("message", out var message) && message.ValueKind == System.Text.Json.JsonValueKind.String)
            {
                detail = message.GetString();
            }
            else if (json.TryGetProperty("uptime", out var uptime) && uptime.ValueKind == System.Text.Json.JsonValueKind.Number)
            {
                detail = string.Format(CultureInfo.InvariantCulture, "uptime {0} s", uptime.GetRawText());
            }
        }

        return detail is null ? $"The stream sent '{chittyEvent.Type}'." : $"The stream sent '{chittyEvent.Type}': {detail}.";
    }

    private bool Passes(ChittyEvent chittyEvent)
    {
        if (IsTransportEvent(chittyEvent))
        {
            if (_options.IncludeTransportEvents)
            {
                return true;
            }

            // Naming the type is asking for it; a wildcard such as * is not.
            foreach (var pattern in _typePatterns)
            {
                if (string.Equals(pattern, chittyEvent.Type, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }

            return false;
        }

        if (!_options.AllSessions
            && _options.SessionId is not null
            && chittyEvent.SessionId is not null
            && !string.Equals(chittyEvent.SessionId, _options.SessionId, StringComparison.Ordinal))
        {
            return false;
        }

        return WildcardMatcher.IsMatchAny(chittyEvent.Type, _typePatterns);
    }

    private static bool IsPermanentFailure(System.Net.HttpStatusCode status)
    {
        var code = (int)status;
        return code >= 400 && code < 500 && code != 408 && code != 429;
    }

    private static string Describe(Exception ex)
    {
        var message = ex.Message;
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            message += " " + inner.Message;
        }

        return message;
    }

    // Carries a failure of the consumer's callback out through the parser without being mistaken for a network error.
    private sealed class ConsumerFailedException : Exception
    {
    }
}
