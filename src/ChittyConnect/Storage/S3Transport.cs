using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Amazon.Runtime;
using Amazon.Runtime.Endpoints;
using Amazon.Runtime.Internal;
using Amazon.S3;
using Amazon.S3.Endpoints;
using Amazon.S3.Model;
using ChittyConnect.Diagnostics;

namespace ChittyConnect.Storage;

/// <summary>
/// The AmazonS3Client a store speaks through (its own, or one rented from <see cref="S3TransportPool"/> for
/// one store at a time), set up for R2: path-style addressing, region "auto", checksums only where the API
/// requires them, the SDK's standard retries and clock-skew correction. Its HttpClient is this transport's
/// own (not the SDK's process-wide cache), with one connection per transfer plus room for the listing and
/// deletes, and a timeout per idle read or write instead of one for the whole request. It holds nothing
/// of a call but the connections: counters, slots, limiter and cancellation are the store's.
/// Every failure leaves here as an <see cref="ObjectStoreException"/> carrying S3's error code.
/// No SDK type leaves this assembly's internals.
/// </summary>
internal sealed class S3Transport : IDisposable
{
    private readonly StoreS3Client _client;
    private readonly string _bucket;
    private readonly Uri _endpoint;

    public S3Transport(Uri endpoint, string bucket, string accessKeyId, string secretAccessKey, R2StoreOptions options, Func<HttpMessageHandler, HttpMessageHandler>? wrapHandler)
    {
        _endpoint = endpoint;
        _bucket = bucket;
        var connections = options.RequestsCap + 2;
        var config = new AmazonS3Config
        {
            ServiceURL = endpoint.GetLeftPart(UriPartial.Authority),
            ForcePathStyle = true,
            AuthenticationRegion = "auto",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            RetryMode = RequestRetryMode.Standard,
            MaxErrorRetry = options.MaxRetries,
            MaxConnectionsPerServer = connections,
            HttpClientCacheSize = 1,
            HttpClientFactory = new StoreHttpClientFactory(connections, IdleTimeoutOf(options), wrapHandler),
            BufferSize = RequestBodyBufferSize,
        };
        _client = new StoreS3Client(new BasicAWSCredentials(accessKeyId, secretAccessKey), config);
        config.EndpointProvider = new ResolvedEndpoints(config.EndpointProvider);
    }

    /// <summary>
    /// The pieces a request body is copied to the connection in. The SDK's own default (8 KiB) makes a 256 MiB
    /// upload 32,768 reads of the file and as many writes to the socket. The copy buffer is rented from the
    /// shared pool for the request it serves and given back after it.
    /// </summary>
    internal const int RequestBodyBufferSize = 128 * 1024;

    /// <summary>
    /// Names every input of the constructor but the test-only <c>wrapHandler</c>: endpoint, bucket, access key
    /// id, secret (hashed, never kept in clear) and each option the client or its HttpClient is built from.
    /// Two transports with one key are configured alike, so <see cref="S3TransportPool"/> matches on it.
    /// </summary>
    public static string ConfigurationKey(Uri endpoint, string bucket, string accessKeyId, string secretAccessKey, R2StoreOptions options)
    {
        var text = new System.Text.StringBuilder();
        foreach (var field in new[]
        {
            endpoint.AbsoluteUri, bucket, accessKeyId, secretAccessKey,
            (options.MaxConcurrentRequests?.ToString(CultureInfo.InvariantCulture) ?? "link"), options.MaxRetries.ToString(CultureInfo.InvariantCulture),
            options.BandwidthLimit.ToString(CultureInfo.InvariantCulture), options.IdleTimeout.Ticks.ToString(CultureInfo.InvariantCulture),
        })
        {
            // Length-prefixed, so no two lists of fields run together into one text.
            text.Append(field.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(field);
        }

        using var sha = SHA256.Create();
        return Convert.ToBase64String(sha.ComputeHash(System.Text.Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>
    /// The idle timeout in force: the one asked for, plus the longest a transfer can wait for the bandwidth
    /// limiter between two reads (every request's chunk booked ahead of it), so throttling is never idleness.
    /// </summary>
    public static TimeSpan IdleTimeoutOf(R2StoreOptions options) => options.BandwidthLimit > 0
        ? options.IdleTimeout + TimeSpan.FromSeconds((double)BandwidthLimiter.MaxChunk * options.RequestsCap / options.BandwidthLimit)
        : options.IdleTimeout;

    /// <summary>The client; requests whose payload the module hashed go through <see cref="SignWith"/> first.</summary>
    public IAmazonS3 Client => _client;

    /// <summary>
    /// Signs <paramref name="request"/>'s payload with <paramref name="sha256"/>, the hash the module already
    /// computed, so the SDK neither reads the body a second time to hash it nor sends it unsigned.
    /// </summary>
    public T SignWith<T>(T request, string sha256) where T : AmazonWebServiceRequest
    {
        _client.PayloadHashes.Add(request, sha256);
        return request;
    }

    /// <summary>
    /// Runs one S3 call (the SDK retries it as its standard mode says) and maps its failure: S3's answers keep
    /// their code and status, a cut or silent connection becomes NetworkError or Timeout. The caller's
    /// cancellation passes through as <see cref="OperationCanceledException"/>. <paramref name="throttled"/> is told of
    /// every attempt the store answers with SlowDown, 503 or 429, the SDK's own retries included.
    /// </summary>
    public async Task<T> CallAsync<T>(string verb, string target, Action count, Func<Task<T>> call, CancellationToken cancellationToken, Action? throttled = null)
    {
        var watch = Stopwatch.StartNew();
        // Flows into this call's attempts in the client's pipeline alone: a pooled client serves one store at a time,
        // but its pipeline is built once, so the store's observer travels with the call.
        s_throttled.Value = throttled;
        count();
        try
        {
            var result = await call().ConfigureAwait(false);
            ChittyLog.Verbose($"S3 {verb} {target}: {watch.ElapsedMilliseconds} ms");
            return result;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var failure = Map(verb, target, ex);
            ChittyLog.Verbose($"S3 {verb} {target}: {failure.Code} in {watch.ElapsedMilliseconds} ms");
            throw failure;
        }
    }

    private static readonly AsyncLocal<Action?> s_throttled = new();

    /// <summary>Whether an S3 answer asks the client to send less: SlowDown, 503 or 429, whatever the store names it.</summary>
    internal static bool IsThrottling(int status, string? code) =>
        status is 503 or 429 || code is "SlowDown" or "Throttling" or "ThrottlingException" or "TooManyRequests" or "RequestLimitExceeded";

    /// <summary>The <see cref="ObjectStoreException"/> for a failed call.</summary>
    public ObjectStoreException Map(string verb, string target, Exception ex)
    {
        switch (ex)
        {
            case ObjectStoreException known:
                return known;
            case AmazonS3Exception s3 when !string.IsNullOrEmpty(s3.ErrorCode) || (int)s3.StatusCode != 0:
            {
                var status = (int)s3.StatusCode;
                var code = string.IsNullOrEmpty(s3.ErrorCode) ? CodeOf(status) : s3.ErrorCode;
                var text = string.IsNullOrEmpty(s3.Message) ? code : s3.Message;
                var message = code switch
                {
                    "NoSuchBucket" => $"The bucket '{_bucket}' does not exist at {Where} (S3 {verb} '{target}': {status} {code}).",
                    "RequestTimeTooSkewed" => $"S3 {verb} '{target}' failed: this computer's clock is too far from the store's, even after correcting for it ({status} {code}: {text}).",
                    _ => $"S3 {verb} '{target}' failed: {status} {code}: {text}",
                };
                return new ObjectStoreException(message, target, code, status, ex);
            }
            case FinalAnswerException final:
                return new ObjectStoreException($"S3 {verb} '{target}' failed: {final.StatusCode} {final.Code}: {final.Message}", target, final.Code, final.StatusCode, ex);
            case AnswerLostException lost:
                return new ObjectStoreException($"S3 {verb} '{target}': {lost.Message}", target, "AnswerLost", 0, ex);
            // A store that did not answer at all: the message names where it was looked for, since the
            // path alone does not tell a wrong endpoint from a network that is down.
            case IdleTimeoutException or TimeoutException or OperationCanceledException:
                return new ObjectStoreException($"S3 {verb} '{target}' at {Where} timed out: {Innermost(ex).Message}", target, "Timeout", 0, ex);
            case AmazonUnmarshallingException:
                return new ObjectStoreException($"S3 {verb} '{target}' failed: the answer could not be read ({Innermost(ex).Message}).", target, "BadResponse", 0, ex);
            default:
                if (ExceptionChain.Find<IdleTimeoutException>(ex) is { } idle)
                {
                    return new ObjectStoreException($"S3 {verb} '{target}' at {Where} timed out: {idle.Message}", target, "Timeout", 0, ex);
                }

                return new ObjectStoreException($"S3 {verb} '{target}' at {Where} failed: {Innermost(ex).Message}", target, "NetworkError", 0, ex);
        }
    }

    private string Where => _endpoint.GetLeftPart(UriPartial.Authority);

    public void Dispose() => _client.Dispose();

    // An answer without an S3 error body (HEAD has none): the codes S3 would have named.
    private static string CodeOf(int status) => status switch
    {
        404 => "NotFound",
        403 => "AccessDenied",
        _ => status.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    // An idle timeout's own message says what happened; deeper lies only the cancellation it caused.
    private static Exception Innermost(Exception ex) => ExceptionChain.Innermost(ex, e => e is IdleTimeoutException);

    /// <summary>
    /// AmazonS3Client with two steps of the module's own in its pipeline, run before each signing attempt:
    /// the payload hash the module computed is handed to the signer, and a CreateMultipartUpload whose answer
    /// was lost is not sent again (the first may have created an upload nobody would know to abort).
    /// </summary>
    private sealed class StoreS3Client : AmazonS3Client
    {
        public StoreS3Client(AWSCredentials credentials, AmazonS3Config config)
            : base(credentials, config)
        {
        }

        public ConditionalWeakTable<AmazonWebServiceRequest, string> PayloadHashes { get; } = new();

        protected override void CustomizeRuntimePipeline(Amazon.Runtime.Internal.RuntimePipeline pipeline)
        {
            base.CustomizeRuntimePipeline(pipeline);
            pipeline.AddHandlerBefore<Signer>(new ModuleStepsHandler(PayloadHashes));
        }
    }

    /// <summary>
    /// The SDK's endpoint rules, evaluated once per bucket and client setting instead of once per request: for
    /// the module's own endpoint and path-style addressing their answer does not depend on the object's key
    /// (nor on a listing's prefix or a copy's source), so it is the same for every request to one bucket.
    /// A failure to resolve is not kept: the next request meets it again.
    /// </summary>
    internal sealed class ResolvedEndpoints : IEndpointProvider
    {
        private readonly IEndpointProvider _rules;
        private readonly ConcurrentDictionary<string, Endpoint> _resolved = new(StringComparer.Ordinal);

        public ResolvedEndpoints(IEndpointProvider rules) => _rules = rules;

        public Endpoint ResolveEndpoint(EndpointParameters parameters)
        {
            if (parameters is not S3EndpointParameters p)
            {
                return _rules.ResolveEndpoint(parameters);
            }

            // Every parameter of the rules but Key, Prefix and CopySource.
            var key = string.Join("\n", p.Bucket, p.Region, p.Endpoint, p.ForcePathStyle, p.UseFIPS, p.UseDualStack, p.Accelerate, p.UseGlobalEndpoint,
                p.UseObjectLambdaEndpoint, p.DisableAccessPoints, p.DisableMultiRegionAccessPoints, p.UseArnRegion, p.UseS3ExpressControlEndpoint,
                p.DisableS3ExpressSessionAuth);
            return _resolved.GetOrAdd(key, _ => _rules.ResolveEndpoint(parameters));
        }
    }

    private sealed class ModuleStepsHandler : PipelineHandler
    {
        private readonly ConditionalWeakTable<AmazonWebServiceRequest, string> _hashes;

        public ModuleStepsHandler(ConditionalWeakTable<AmazonWebServiceRequest, string> hashes) => _hashes = hashes;

        public override async Task<T> InvokeAsync<T>(IExecutionContext executionContext)
        {
            var context = executionContext.RequestContext;
            if (context.OriginalRequest is { } original && _hashes.TryGetValue(original, out var sha256))
            {
                context.Request.PrecomputedContentSha256 = sha256;
            }

            try
            {
                return await base.InvokeAsync<T>(executionContext).ConfigureAwait(false);
            }
            catch (Exception ex) when (context.OriginalRequest is InitiateMultipartUploadRequest && ex is not AmazonServiceException && !context.CancellationToken.IsCancellationRequested
                && !IsConnectionRefused(ex))
            {
                // The request may have reached the store and created an upload: a retry would create a second.
                // A refused connection sent nothing, so it is retried as any other request.
                throw new AnswerLostException("the answer to CreateMultipartUpload was lost (" + ex.Message + "); it is not sent again blindly.", ex);
            }
            catch (AmazonServiceException ex) when (IsThrottling((int)ex.StatusCode, ex.ErrorCode) && ReportThrottled())
            {
                // Never reached: the filter reports the attempt and lets the SDK's retry see the failure as it was.
                throw;
            }
            catch (AmazonServiceException ex) when (ex.StatusCode == HttpStatusCode.OK && context.OriginalRequest is CompleteMultipartUploadRequest
                && !string.IsNullOrEmpty(ex.ErrorCode) && Array.IndexOf(TransientCompletionCodes, ex.ErrorCode) < 0)
            {
                // A completion refused behind a 200 (InvalidPart, EntityTooSmall, ...) is refused again however
                // often it is sent; only S3's transient codes are worth another attempt.
                throw new FinalAnswerException(ex.ErrorCode, ex.Message, (int)ex.StatusCode);
            }
        }

        // Tells the call's observer (see CallAsync) and answers false, so the filter catches nothing.
        private static bool ReportThrottled()
        {
            s_throttled.Value?.Invoke();
            return false;
        }

        private static bool IsConnectionRefused(Exception ex) =>
            ExceptionChain.Find<System.Net.Sockets.SocketException>(ex) is { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionRefused };

        private static readonly string[] TransientCompletionCodes = { "InternalError", "SlowDown", "ServiceUnavailable", "RequestTimeout", "Throttling" };
    }
}

/// <summary>An S3 error answer that another attempt would only repeat.</summary>
internal sealed class FinalAnswerException : Exception
{
    public FinalAnswerException(string code, string message, int statusCode)
        : base(message)
    {
        Code = code;
        StatusCode = statusCode;
    }

    public string Code { get; }

    public int StatusCode { get; }
}

/// <summary>A request that may have taken effect, whose answer never arrived.</summary>
internal sealed class AnswerLostException : Exception
{
    public AnswerLostException(string message, Exception inner)
        : base(message)
    {
        // Not kept as the inner exception: the SDK retries anything with an IOException inside.
        Data["cause"] = inner.GetType().Name;
    }
}

/// <summary>
/// Hands the SDK the transport's own HttpClient: one per client (the SDK's process-wide cache is not used, so
/// nothing is shared with another copy of the SDK or another connection), pooled connections sized to the
/// transfers, no redirects, cookies or decompression, and the idle timeout instead of a whole-request one.
/// </summary>
internal sealed class StoreHttpClientFactory : HttpClientFactory
{
    private readonly int _connections;
    private readonly TimeSpan _idleTimeout;
    private readonly Func<HttpMessageHandler, HttpMessageHandler>? _wrapHandler;

    public StoreHttpClientFactory(int connections, TimeSpan idleTimeout, Func<HttpMessageHandler, HttpMessageHandler>? wrapHandler)
    {
        _connections = connections;
        _idleTimeout = idleTimeout;
        _wrapHandler = wrapHandler;
    }

    public override HttpClient CreateHttpClient(IClientConfig clientConfig)
    {
        HttpMessageHandler handler = new HttpClientHandler
        {
            MaxConnectionsPerServer = _connections,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
        };
        if (_wrapHandler is not null)
        {
            handler = _wrapHandler(handler);
        }

        var client = new HttpClient(new BodyAtOnceHandler(new KeepAliveWhitespaceHandler(new IdleTimeoutHandler(_idleTimeout, handler)))) { Timeout = Timeout.InfiniteTimeSpan };
        // .NET Framework (Windows PowerShell) would otherwise hold every body back up to 350 ms for a 100 Continue.
        client.DefaultRequestHeaders.ExpectContinue = false;
        return client;
    }

    public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => true;

    public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

    // Null: the client's HttpClient is cached by the client alone, never in the SDK's process-wide cache.
    public override string? GetConfigUniqueString(IClientConfig clientConfig) => null;
}

/// <summary>
/// Sends every request's body right after its headers. The SDK asks for "Expect: 100-continue" on each PUT
/// and part, which makes every upload wait one more round trip to the store (60 ms at 30 ms each way) for a
/// "100 Continue"; a refused request is answered either way, and a retry sends its body again from the start.
/// </summary>
internal sealed class BodyAtOnceHandler : DelegatingHandler
{
    public BodyAtOnceHandler(HttpMessageHandler inner)
        : base(inner)
    {
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.ExpectContinue = false;
        return base.SendAsync(request, cancellationToken);
    }
}
