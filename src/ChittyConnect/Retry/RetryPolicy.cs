using System;

namespace ChittyConnect.Retry;

/// <summary>What a failed request tells about whether trying it again is safe.</summary>
public enum RetryClass
{
    /// <summary>The server did not process it (429, 503, connection refused): safe to send again.</summary>
    NotProcessed,

    /// <summary>It may have been processed (another 5xx, a timeout, a dropped connection): again only if it is safe to repeat.</summary>
    MaybeProcessed,

    /// <summary>Trying again cannot help (4xx but 408/429, an invalid answer).</summary>
    Permanent,
}

/// <summary>
/// The one retry policy of the API client and the event stream: how many attempts, which failures are tried again
/// (a request that may have been processed only when it is safe to repeat), and the delay before each retry:
/// exponential from <see cref="BaseDelay"/>, capped at <see cref="MaxDelay"/>, with jitter, never shorter than what the
/// server asked for (Retry-After, or SSE <c>retry:</c>). Thread-safe.
/// </summary>
public sealed class RetryPolicy
{
    private readonly Random _random;

    /// <summary>Creates a policy; <paramref name="random"/> fixes the jitter for tests.</summary>
    public RetryPolicy(Random? random = null) => _random = random ?? new Random();

    /// <summary>Tries in all, the first included; <see langword="null"/> tries for as long as the caller runs.</summary>
    public int? MaxAttempts { get; set; } = 5;

    /// <summary>The delay before the first retry; it doubles with each failure in a row.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The longest delay the doubling reaches (a longer server request still wins).</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The share of each delay taken off at random (0.25: 75-100 % of it), so that clients spread out.</summary>
    public double Jitter { get; set; } = 0.25;

    /// <summary>The longest server-requested delay obeyed; <see langword="null"/> obeys any.</summary>
    public TimeSpan? MaxServerDelay { get; set; }

    /// <summary>
    /// The API client's policy: <paramref name="retries"/> retries after the first try, the first after
    /// <paramref name="baseDelay"/> (250 ms by default), equal jitter, Retry-After obeyed up to 30 s.
    /// </summary>
    public static RetryPolicy ForApi(int retries, TimeSpan? baseDelay = null) => new()
    {
        MaxAttempts = Math.Max(0, retries) + 1,
        BaseDelay = baseDelay ?? TimeSpan.FromMilliseconds(250),
        MaxDelay = TimeSpan.FromSeconds(10),
        Jitter = 0.5,
        MaxServerDelay = TimeSpan.FromSeconds(30),
    };

    /// <summary>The event stream's policy: reconnect for as long as the watch runs.</summary>
    public static RetryPolicy ForEventStream(TimeSpan initial, TimeSpan max) => new()
    {
        MaxAttempts = null,
        BaseDelay = initial < TimeSpan.Zero ? TimeSpan.Zero : initial,
        MaxDelay = max < initial ? initial : max,
        Jitter = 0.25,
    };

    /// <summary>Whether to try again after <paramref name="attempts"/> tries, the last of which failed as <paramref name="failure"/>.</summary>
    public bool ShouldRetry(int attempts, RetryClass failure, bool safeToRepeat)
    {
        if (MaxAttempts is { } max && attempts >= max)
        {
            return false;
        }

        return failure switch
        {
            RetryClass.NotProcessed => true,
            RetryClass.MaybeProcessed => safeToRepeat,
            _ => false,
        };
    }

    /// <summary>
    /// The delay before the next try, after <paramref name="failuresInARow"/> earlier failures in a row (0 for the
    /// first retry). <paramref name="serverDelay"/>, what the server asked for, is obeyed as given on the first retry
    /// and is the floor and base of the later ones.
    /// </summary>
    public TimeSpan Delay(int failuresInARow, TimeSpan? serverDelay = null)
    {
        if (serverDelay is { } asked)
        {
            if (asked < TimeSpan.Zero)
            {
                asked = TimeSpan.Zero;
            }

            serverDelay = MaxServerDelay is { } cap && asked > cap ? cap : asked;
            if (failuresInARow <= 0)
            {
                return serverDelay.Value;
            }
        }

        var baseMs = (serverDelay ?? BaseDelay).TotalMilliseconds;
        var capMs = Math.Max(MaxDelay.TotalMilliseconds, serverDelay?.TotalMilliseconds ?? 0);
        var ms = Math.Min(baseMs * Math.Pow(2, Math.Min(Math.Max(failuresInARow, 0), 30)), capMs);
        double factor;
        lock (_random)
        {
            factor = 1 - (Math.Min(Math.Max(Jitter, 0), 1) * _random.NextDouble());
        }

        var delay = TimeSpan.FromMilliseconds(ms * factor);
        return serverDelay is { } floor && delay < floor ? floor : delay;
    }
}
