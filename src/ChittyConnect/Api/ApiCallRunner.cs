using System;
using System.Diagnostics;
using System.IO;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Diagnostics;
using ChittyConnect.Retry;

namespace ChittyConnect.Api;

/// <summary>
/// Runs one API call to its end: attempts through the <see cref="ApiHttpPipeline"/>, retried by the
/// <see cref="RetryPolicy"/>, all within one deadline (the connection's RequestTimeout unless the request has its own).
/// A server that accepts and never answers costs the deadline, not the deadline once per try, and the timeout says so.
/// A request that is not <see cref="ApiRequest.SafeToRepeat"/> is sent again only when it was certainly not processed:
/// a 429 or 503, or a failure before its body left. Thread-safe.
/// </summary>
internal sealed class ApiCallRunner
{
    private readonly ApiHttpPipeline _pipeline;
    private readonly ApiAnswerReader _answers;
    private readonly TimeSpan _deadline;

    public ApiCallRunner(ApiHttpPipeline pipeline, ApiAnswerReader answers, RetryPolicy retry, TimeSpan deadline)
    {
        _pipeline = pipeline;
        _answers = answers;
        Retry = retry;
        _deadline = deadline;
    }

    /// <summary>When and how often a failed attempt is tried again.</summary>
    public RetryPolicy Retry { get; }

    /// <summary>Sends <paramref name="request"/> until it succeeds, fails for good, or its deadline passes.</summary>
    public async Task<JsonDocument> SendAsync(ApiRequest request, CancellationToken cancellationToken)
    {
        var uri = _pipeline.Resolve(request, _answers);
        var deadline = request.Deadline ?? _deadline;
        var call = Stopwatch.StartNew();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(deadline);
        ChittyApiException? previous = null;
        for (var attempt = 0; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var stopwatch = Stopwatch.StartNew();
            using var content = request.Body is { } body ? new SendTrackingContent(body()) : null;
            ChittyApiException failure;
            RetryClass retryClass;
            TimeSpan? retryAfter = null;
            try
            {
                using var response = await _pipeline.SendAsync(request, uri, content, timeout.Token).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                var answer = await ApiHttpPipeline.ReadBodyAsync(response, request, timeout.Token).ConfigureAwait(false);
                ChittyLog.Verbose($"{request.Method} {request.DisplayPath} -> {status} ({stopwatch.ElapsedMilliseconds} ms)");
                if (status is >= 200 and < 300)
                {
                    return _answers.ParseSuccess(request, response, answer);
                }

                failure = _answers.ParseError(request, response, answer);
                retryClass = Classify(failure);
                retryAfter = GetRetryAfter(response);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Only the deadline cancels here, and with it gone there is no time for another try.
                ChittyLog.Verbose($"{request.Method} {request.DisplayPath} -> timeout ({stopwatch.ElapsedMilliseconds} ms)");
                if (previous is not null)
                {
                    // The deadline ran out during a retry: what went wrong is the failure that was being retried
                    // (a refused connection is a connection error, not a server that did not answer).
                    throw previous;
                }

                throw new ChittyApiException(ChittyErrorKind.Timeout, 0, "timeout",
                    $"{request.Method} {request.DisplayPath} got no answer from {_pipeline.Origin} within {deadline.TotalSeconds:0.#} s " +
                    $"(the call's deadline, {Tries(attempt + 1)} included; Connect-Chitty -TimeoutSec sets it).",
                    request.Method.Method, request.DisplayPath);
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException)
            {
                ChittyLog.Verbose($"{request.Method} {request.DisplayPath} -> network error ({stopwatch.ElapsedMilliseconds} ms)");
                failure = new ChittyApiException(ChittyErrorKind.Network, 0, "network",
                    $"{request.Method} {request.DisplayPath} could not reach {_pipeline.Origin}: {_answers.Scrub(ExceptionChain.Innermost(ex).Message)}",
                    request.Method.Method, request.DisplayPath, inner: ex);
                // Before the body left (refused, DNS, a pooled connection found closed) the server cannot have acted.
                retryClass = content?.Started == true ? RetryClass.MaybeProcessed : RetryClass.NotProcessed;
            }

            if (!Retry.ShouldRetry(attempt + 1, retryClass, request.SafeToRepeat))
            {
                throw failure;
            }

            var delay = Retry.Delay(attempt, retryAfter);
            var left = deadline - call.Elapsed;
            if (delay >= left)
            {
                ChittyLog.Verbose($"{request.Method} {request.DisplayPath}: {failure.Code}, no retry: {left.TotalMilliseconds:0} ms of the {deadline.TotalSeconds:0.#} s deadline left");
                throw failure;
            }

            previous = failure;
            ChittyLog.Verbose($"{request.Method} {request.DisplayPath}: {failure.Code}, retry {attempt + 1} of {(Retry.MaxAttempts ?? 0) - 1} in {delay.TotalMilliseconds:0} ms");
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
    }

    private static string Tries(int tries) => tries == 1 ? "1 try" : $"{tries} tries";

    private static RetryClass Classify(ChittyApiException failure) => failure.Kind switch
    {
        // A 429 or 503 means the request was not processed: always safe to send again.
        ChittyErrorKind.RateLimited => RetryClass.NotProcessed,
        ChittyErrorKind.ServerError => failure.StatusCode == 503 ? RetryClass.NotProcessed : RetryClass.MaybeProcessed,
        _ => RetryClass.Permanent,
    };

    // The policy caps what it obeys (MaxServerDelay).
    private static TimeSpan? GetRetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        return header?.Delta ?? (header?.Date is { } date ? date - DateTimeOffset.UtcNow : null);
    }
}
