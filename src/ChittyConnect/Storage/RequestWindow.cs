using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Storage;

/// <summary>
/// How many requests a store has in flight. Fixed when the user names the number; otherwise a window in the
/// spirit of TCP's congestion window, counted in completed requests instead of acknowledged bytes:
/// <list type="bullet">
/// <item>It starts at <see cref="Initial"/> and measures the completions per second over a round: from one
/// completion until the first request admitted after it completes (one round trip, at least
/// <see cref="MinimumRound"/>), a round after each change of the limit, once what was in flight before it is
/// out of the way.</item>
/// <item>While a doubling pays (the rate grows by at least <see cref="WorthwhileGain"/>) it doubles again, up to
/// <see cref="Cap"/>; the first doubling that does not pay is undone, and the limit holds where the rate was
/// best, trying one doubling again every <see cref="RoundsBetweenProbes"/> rounds (a CPU busy for a moment, as
/// with a session's first call, must not hold a run below what the link pays for). Over a link where every
/// request costs a round trip the rate grows with the limit; on loopback, where the CPU is the bound, it does
/// not, and the limit stays small.</item>
/// <item>A throttled answer (SlowDown, 503, 429) halves the limit, at most once per round, ends the doubling,
/// and the limit grows back by an eighth a round up to where it was throttled (additive increase,
/// multiplicative decrease).</item>
/// </list>
/// The cap, 64, is where more in flight stops paying on the links people have: at 300 ms a round trip it is
/// over 200 small files a second, 64 HTTP/1.1 connections to one host is as many as a store should be asked
/// to hold for one client, and R2 documents no limit on requests in flight, only on writes to one key (one a
/// second, which a sync never nears: it writes each key once) and 429/SlowDown to be backed off, which this
/// does. Thread-safe.
/// </summary>
internal sealed class RequestWindow
{
    /// <summary>Requests in flight at the start (rclone's default transfers).</summary>
    public const int Initial = 4;

    /// <summary>Most requests in flight the window ever allows (see the summary for why).</summary>
    public const int Cap = 64;

    /// <summary>Shortest round: shorter ones measure the scheduler, not the link.</summary>
    public static readonly TimeSpan MinimumRound = TimeSpan.FromMilliseconds(50);

    /// <summary>Growth of the rate that makes a doubling worth keeping.</summary>
    public const double WorthwhileGain = 1.25;

    /// <summary>Rounds held below the cap before a doubling is tried again (what stopped paying may have been passing: a busy CPU).</summary>
    public const int RoundsBetweenProbes = 8;

    private readonly object _gate = new();
    private readonly Func<TimeSpan> _clock;
    private readonly bool _adaptive;
    private readonly LinkedList<TaskCompletionSource<int>> _waiters = new();
    private int _inFlight;
    private readonly DoublingSearch _search;

    // The measurement. A round lasts from one completion until the first request admitted in it completes (one
    // round trip, at least MinimumRound); after a change of the limit one round settles before one is measured,
    // so the rate measured is the new limit's, not what was in flight before it.
    private int _round;
    private TimeSpan _roundStart;
    private int _roundDone;
    private bool _settling = true;
    private bool _roundBeganHalved;

    // Slow start until a doubling does not pay (_search); then additive growth back to _target after a halving.
    private int _target = Cap;
    private bool _throttled;

    private RequestWindow(int limit, bool adaptive, Func<TimeSpan> clock)
    {
        _search = new DoublingSearch(limit, Cap, WorthwhileGain, RoundsBetweenProbes);
        _adaptive = adaptive;
        _clock = clock;
        _roundStart = clock();
    }

    /// <summary>A window of exactly <paramref name="limit"/> requests.</summary>
    public static RequestWindow Fixed(int limit) =>
        limit >= 1 ? new RequestWindow(limit, false, () => TimeSpan.Zero) : throw new ArgumentOutOfRangeException(nameof(limit), "At least one request must be allowed in flight.");

    /// <summary>A window that the link's answers size; <paramref name="clock"/> (elapsed time) is a Stopwatch's unless given.</summary>
    public static RequestWindow Adaptive(Func<TimeSpan>? clock = null)
    {
        if (clock is null)
        {
            var watch = Stopwatch.StartNew();
            clock = () => watch.Elapsed;
        }

        return new RequestWindow(Initial, true, clock);
    }

    /// <summary>Requests allowed in flight now.</summary>
    public int Limit
    {
        get
        {
            lock (_gate)
            {
                return _search.Limit;
            }
        }
    }

    /// <summary>Requests in flight now.</summary>
    public int InFlight
    {
        get
        {
            lock (_gate)
            {
                return _inFlight;
            }
        }
    }

    /// <summary>Admits a request when the window has room; give the slot back with <see cref="Exit"/>.</summary>
    public bool TryEnter(out Slot slot)
    {
        lock (_gate)
        {
            if (_inFlight < _search.Limit && _waiters.Count == 0)
            {
                _inFlight++;
                slot = new Slot(_round);
                return true;
            }
        }

        slot = default;
        return false;
    }

    /// <summary>Waits until the window has room for one more request, in order of arrival.</summary>
    public async Task<Slot> EnterAsync(CancellationToken cancellationToken)
    {
        if (TryEnter(out var slot))
        {
            return slot;
        }

        var waiter = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        LinkedListNode<TaskCompletionSource<int>> node;
        lock (_gate)
        {
            node = _waiters.AddLast(waiter);
            Admit();
        }

        using (cancellationToken.Register(() =>
        {
            lock (_gate)
            {
                // Still waiting: it leaves the queue; already admitted, its slot is the caller's to give back.
                if (node.List is not null)
                {
                    _waiters.Remove(node);
                    waiter.TrySetCanceled(cancellationToken);
                }
            }
        }))
        {
            return new Slot(await waiter.Task.ConfigureAwait(false));
        }
    }

    /// <summary>Gives back the slot of a request that ended (answered, failed or cancelled).</summary>
    public void Exit(Slot slot)
    {
        lock (_gate)
        {
            _inFlight--;
            if (_adaptive)
            {
                _roundDone++;
                var now = _clock();
                if (slot.Round == _round && now - _roundStart >= MinimumRound)
                {
                    EndRound(now);
                }
            }

            Admit();
        }
    }

    /// <summary>
    /// The store asked to slow down (SlowDown, 503, 429): the limit halves, unless it already halved in this
    /// round (the other answers of the same burst were sent before the halving and answer to it).
    /// </summary>
    public void Throttled()
    {
        lock (_gate)
        {
            if (!_adaptive || _roundBeganHalved)
            {
                return;
            }

            // It grows back to where it was throttled, no further: that much the store took before it refused.
            _throttled = true;
            _search.Growing = false;
            _target = _search.Limit;
            _search.Limit = Math.Max(1, _search.Limit / 2);
            _settling = true;
            StartRound(_clock(), halved: true);
        }
    }

    private void EndRound(TimeSpan now)
    {
        if (_settling)
        {
            _settling = false;
            StartRound(now, halved: false);
            return;
        }

        var rate = _roundDone / Math.Max((now - _roundStart).TotalSeconds, 1e-9);
        var before = _search.Limit;
        if (_search.Growing)
        {
            _search.Grow(rate);
            if (!_search.Growing)
            {
                // It grows back to its best, no further, after a halving.
                _target = _search.BestLimit;
            }
        }
        else if (_search.Limit < _target)
        {
            _search.Limit = Math.Min(_target, _search.Limit + Math.Max(1, _search.Limit / 8));
        }
        else if (!_throttled)
        {
            // Held where a doubling did not pay, never refused: try one again now and then.
            _search.Hold(rate);
        }

        _settling = _search.Limit != before;
        StartRound(now, halved: false);
    }

    private void StartRound(TimeSpan now, bool halved)
    {
        _round++;
        _roundStart = now;
        _roundDone = 0;
        _roundBeganHalved = halved;
    }

    // Hands free slots to the waiters, first come first served.
    private void Admit()
    {
        while (_inFlight < _search.Limit && _waiters.First is { } first)
        {
            _waiters.RemoveFirst();
            if (first.Value.TrySetResult(_round))
            {
                _inFlight++;
            }
        }
    }

    /// <summary>A request's place in the window, and the round it was admitted in.</summary>
    public readonly struct Slot
    {
        public Slot(int round) => Round = round;

        public int Round { get; }
    }
}
