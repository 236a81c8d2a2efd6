using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Diagnostics;
using ChittyConnect.Retry;

namespace ChittyConnect.Storage;

/// <summary>
/// Rides out an outage of the store within one store's life (one sync): a request that still fails after the
/// SDK's own quick retries because the store cannot be reached or fails (connection refused or reset, a timeout,
/// 5xx, throttling) is tried again with capped exponential backoff (<see cref="RetryPolicy"/>, 0.5 s doubling to
/// 5 s, with jitter) until the store answers or the outage has lasted <see cref="R2StoreOptions.RetryTimeout"/>.
/// The outage is the store's, not the request's: it begins at the first such failure since the last answer and
/// ends at the next answer, so every request in flight waits out the same outage, and once it has lasted the
/// timeout each of them, and each later one, fails at its next failure instead of waiting again: a store that
/// stays down costs a run one timeout, not one per file. Every S3 call of a store comes here, and each is safe to
/// send again as the SDK's own retries already do: reads, PUTs, parts and deletes are idempotent; a completion
/// whose answer was lost may be refused the second time (NoSuchUpload), which the upload recognises by the object it
/// finds in place; a CreateMultipartUpload whose answer was lost never comes back as an outage (AnswerLost, see
/// <see cref="S3Transport"/>): the upload sends it again itself, once the uploads it may have created are aborted.
/// Thread-safe.
/// </summary>
internal sealed class StoreOutage
{
    private readonly TimeSpan _timeout;
    private readonly RetryPolicy _backoff;
    private readonly Func<TimeSpan> _now;
    private readonly Func<TimeSpan, CancellationToken, Task> _sleep;
    private readonly object _gate = new();
    private TimeSpan? _downSince;

    public StoreOutage(TimeSpan timeout)
        : this(timeout, Monotonic(), Task.Delay, null)
    {
    }

    /// <summary>Tests give the clock, the sleep and the jitter, so that the schedule of tries is exact.</summary>
    internal StoreOutage(TimeSpan timeout, Func<TimeSpan> now, Func<TimeSpan, CancellationToken, Task> sleep, Random? jitter)
    {
        _timeout = timeout;
        _now = now;
        _sleep = sleep;
        _backoff = new RetryPolicy(jitter) { MaxAttempts = null, BaseDelay = TimeSpan.FromMilliseconds(500), MaxDelay = TimeSpan.FromSeconds(5), Jitter = 0.5 };
    }

    /// <summary>
    /// Whether <paramref name="failure"/> says the store is unreachable or failing for now, rather than refusing the
    /// request; a certificate that is not trusted fails every attempt alike, so it is no outage, and neither is
    /// 501 NotImplemented, a store's lasting answer to a request it does not support.
    /// </summary>
    public static bool IsOutage(ObjectStoreException failure) =>
        (failure.Code is "NetworkError" or "Timeout" or "SlowDown" or "ServiceUnavailable" or "InternalError" || failure.StatusCode is 429 or (>= 500 and not 501))
        && failure.Code != "NotImplemented"
        && ExceptionChain.Find<System.Security.Authentication.AuthenticationException>(failure) is null;

    /// <summary>Runs <paramref name="call"/>, again after each outage failure while the outage is shorter than the timeout.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        for (var failures = 0; ; failures++)
        {
            try
            {
                var result = await call().ConfigureAwait(false);
                lock (_gate)
                {
                    _downSince = null;
                }

                return result;
            }
            catch (ObjectStoreException ex) when (IsOutage(ex) && !cancellationToken.IsCancellationRequested && Remaining() is { } remaining)
            {
                var delay = _backoff.Delay(failures);
                if (delay > remaining)
                {
                    delay = remaining;
                }

                ChittyLog.Verbose($"{ex.Message}; the store has been failing for {(_timeout - remaining).TotalSeconds:0.0} s of the {_timeout.TotalSeconds:0} s waited out, tried again in {delay.TotalSeconds:0.0} s.");
                await _sleep(delay, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static Func<TimeSpan> Monotonic()
    {
        var clock = Stopwatch.StartNew();
        return () => clock.Elapsed;
    }

    // Starts the outage's clock at its first failure; null once the outage has lasted the timeout.
    private TimeSpan? Remaining()
    {
        lock (_gate)
        {
            var now = _now();
            _downSince ??= now;
            var remaining = _timeout - (now - _downSince.Value);
            return remaining > TimeSpan.Zero ? remaining : null;
        }
    }
}
