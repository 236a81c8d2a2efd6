using System;

namespace ChittyConnect.Events;

/// <summary>
/// The delay before each reconnection: the server's <c>retry:</c> (or the initial delay) after a connection that
/// worked, doubling with jitter on each failure in a row up to a cap.
/// </summary>
internal sealed class ReconnectBackoff
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private readonly Random _random;
    private int _failures;

    public ReconnectBackoff(TimeSpan initial, TimeSpan max, Random? random = null)
    {
        _initial = initial < TimeSpan.Zero ? TimeSpan.Zero : initial;
        _max = max < _initial ? _initial : max;
        _random = random ?? new Random();
    }

    /// <summary>The reconnection time the server asked for, which replaces the initial delay.</summary>
    public TimeSpan? ServerRetry { get; set; }

    /// <summary>A connection delivered events: the next delay starts from the base again.</summary>
    public void Reset() => _failures = 0;

    /// <summary>The delay before the next attempt; counts the attempt as a failure for the ones after it.</summary>
    public TimeSpan Next()
    {
        var baseDelay = ServerRetry ?? _initial;
        var cap = ServerRetry is { } retry && retry > _max ? retry : _max;
        var failures = _failures;
        _failures = Math.Min(_failures + 1, 30);
        if (failures == 0)
        {
            // The server's own retry is obeyed as given; only the client's guess gets jitter.
            return ServerRetry ?? Jitter(baseDelay);
        }

        var ms = baseDelay.TotalMilliseconds * Math.Pow(2, failures);
        if (ms <= 0)
        {
            ms = _initial.TotalMilliseconds * Math.Pow(2, failures);
        }

        var delay = TimeSpan.FromMilliseconds(Math.Min(ms, cap.TotalMilliseconds));
        return Jitter(delay);
    }

    // Spreads reconnections of many clients after a service restart over 75-100 % of the delay.
    private TimeSpan Jitter(TimeSpan delay)
    {
        double factor;
        lock (_random)
        {
            factor = 0.75 + (_random.NextDouble() * 0.25);
        }

        return TimeSpan.FromMilliseconds(delay.TotalMilliseconds * factor);
    }
}
