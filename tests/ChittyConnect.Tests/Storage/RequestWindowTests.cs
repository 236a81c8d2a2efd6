using ChittyConnect.Storage;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>
/// The window that sizes the requests in flight when -Transfers is not given, driven over a simulated link on a
/// virtual clock: each request takes the link's round trip, and completions are spaced by what the link (or the
/// CPU beside a loopback store) can carry at most, so the rate grows with the requests in flight until that bound.
/// </summary>
public sealed class RequestWindowTests
{
    [Fact]
    public void Over_a_link_where_each_request_costs_a_round_trip_it_grows_to_the_cap_and_never_past_it()
    {
        var link = new SimulatedLink(roundTrip: TimeSpan.FromMilliseconds(60), completionsPerSecond: 100_000);

        link.Run(requests: 2000);

        Assert.Equal(RequestWindow.Cap, link.Window.Limit);
        Assert.Equal(RequestWindow.Cap, link.MostInFlight);
        // 2,000 requests at 64 in flight take 32 round trips; the climb from 4 costs a few more, not the 500 at 4.
        Assert.InRange(link.Now.TotalSeconds, 2000 / 64 * 0.06, 2000 / 64 * 0.06 * 1.5);
    }

    [Fact]
    public void Where_more_in_flight_stops_helping_it_stays_small()
    {
        // Loopback on a busy machine: 1 ms a request, but the CPU completes at most 2,000 a second.
        var link = new SimulatedLink(roundTrip: TimeSpan.FromMilliseconds(1), completionsPerSecond: 2000);

        link.Run(requests: 5000);

        Assert.True(link.Window.Limit <= 2 * RequestWindow.Initial, $"limit {link.Window.Limit}");
        Assert.True(link.MostInFlight <= 2 * RequestWindow.Initial, $"{link.MostInFlight} in flight");
    }

    [Fact]
    public void A_link_that_was_bound_by_a_busy_cpu_at_first_gets_the_cap_once_more_in_flight_pays()
    {
        // A session's first call: the CPU completes 100 requests a second while it compiles, then the round trip binds.
        var link = new SimulatedLink(roundTrip: TimeSpan.FromMilliseconds(60), completionsPerSecond: 100);
        link.Run(requests: 500);
        Assert.True(link.Window.Limit < RequestWindow.Cap, $"limit {link.Window.Limit} while the CPU was the bound");

        link.CompletionsPerSecond = 100_000;
        link.Run(requests: 5000);

        Assert.Equal(RequestWindow.Cap, link.Window.Limit);
    }

    [Fact]
    public void It_settles_near_where_the_link_stops_paying()
    {
        // 20 ms a request and at most 800 a second: 16 in flight fill it.
        var link = new SimulatedLink(roundTrip: TimeSpan.FromMilliseconds(20), completionsPerSecond: 800);

        link.Run(requests: 5000);

        Assert.InRange(link.Window.Limit, 16, 32);
        Assert.True(link.MostInFlight <= 64, $"{link.MostInFlight} in flight");
    }

    [Fact]
    public void A_slow_down_halves_the_limit_once_per_round_and_it_grows_back_only_to_where_it_was()
    {
        var link = new SimulatedLink(roundTrip: TimeSpan.FromMilliseconds(60), completionsPerSecond: 100_000);
        link.Run(requests: 1000);
        Assert.Equal(64, link.Window.Limit);

        link.Window.Throttled();
        Assert.Equal(32, link.Window.Limit);
        // The other answers of the same burst, sent before the halving: no second halving.
        link.Window.Throttled();
        link.Window.Throttled();
        Assert.Equal(32, link.Window.Limit);

        link.Run(requests: 10_000);
        Assert.Equal(64, link.Window.Limit);
        Assert.Equal(64, link.MostInFlight);
    }

    [Fact]
    public void A_store_that_throttles_above_a_number_in_flight_keeps_the_window_below_twice_it()
    {
        var link = new SimulatedLink(roundTrip: TimeSpan.FromMilliseconds(60), completionsPerSecond: 100_000, throttleAbove: 20);

        link.Run(requests: 10_000);

        Assert.True(link.Window.Limit <= 40, $"limit {link.Window.Limit}");
        // Additive growth back towards the limit that was throttled: a sawtooth below it, a few refusals a cycle.
        Assert.True(link.Throttles < 10_000 / 10, $"{link.Throttles} of 10,000 requests throttled");
        Assert.True(link.MostInFlightAfterFirstThrottle <= 40, $"{link.MostInFlightAfterFirstThrottle} in flight after the first SlowDown");
    }

    [Fact]
    public void A_fixed_window_admits_exactly_its_number_and_ignores_the_link()
    {
        var link = new SimulatedLink(roundTrip: TimeSpan.FromMilliseconds(60), completionsPerSecond: 100_000, window: RequestWindow.Fixed(8), throttleAbove: 4);

        link.Run(requests: 1000);

        Assert.Equal(8, link.Window.Limit);
        Assert.Equal(8, link.MostInFlight);
    }

    [Fact]
    public async Task A_waiter_is_admitted_when_a_slot_is_given_back_and_a_cancelled_one_leaves_the_queue()
    {
        var window = RequestWindow.Fixed(1);
        var first = await window.EnterAsync(CancellationToken.None);
        using var stop = new CancellationTokenSource();
        var cancelled = window.EnterAsync(stop.Token);
        var second = window.EnterAsync(CancellationToken.None);

        stop.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        Assert.False(second.IsCompleted);
        window.Exit(first);
        window.Exit(await second);

        Assert.Equal(0, window.InFlight);
    }

    [Theory]
    [InlineData(16L * 1024 * 1024, null, 16)]
    [InlineData(64L * 1024 * 1024, null, 4)]
    [InlineData(1024L * 1024 * 1024, null, 1)]
    [InlineData(5L * 1024 * 1024, null, 51)]
    [InlineData(16L * 1024 * 1024, 8, 8)]
    public void Parts_in_flight_are_bounded_by_memory_unless_the_number_is_fixed(long partSize, int? fixedRequests, int expected)
    {
        var options = new R2StoreOptions { MaxConcurrentRequests = fixedRequests };

        Assert.Equal(expected, options.PartsInFlight(partSize));
        Assert.True(fixedRequests is not null || options.PartsInFlight(partSize) * partSize <= Math.Max(R2StoreOptions.PartBytesInFlight, partSize));
    }

    /// <summary>
    /// A link on a virtual clock: a request admitted at t completes at t + round trip, and no sooner than
    /// 1 / completionsPerSecond after the completion before it. Above <c>throttleAbove</c> in flight the store
    /// answers SlowDown (told to the window) and the request ends.
    /// </summary>
    private sealed class SimulatedLink
    {
        private readonly TimeSpan _roundTrip;
        private TimeSpan _spacing;
        private readonly int _throttleAbove;
        private readonly PriorityQueue<(RequestWindow.Slot Slot, bool Throttled), TimeSpan> _inFlight = new();
        private TimeSpan _lastCompletion;
        private TimeSpan _now;

        public SimulatedLink(TimeSpan roundTrip, double completionsPerSecond, RequestWindow? window = null, int throttleAbove = int.MaxValue)
        {
            _roundTrip = roundTrip;
            _spacing = TimeSpan.FromSeconds(1 / completionsPerSecond);
            _throttleAbove = throttleAbove;
            Window = window ?? RequestWindow.Adaptive(() => _now);
        }

        public RequestWindow Window { get; }

        public double CompletionsPerSecond
        {
            set => _spacing = TimeSpan.FromSeconds(1 / value);
        }

        public TimeSpan Now => _now;

        public int MostInFlight { get; private set; }

        public int MostInFlightAfterFirstThrottle { get; private set; }

        public int Throttles { get; private set; }

        public void Run(int requests)
        {
            MostInFlight = 0;
            var started = 0;
            var done = 0;
            while (done < requests)
            {
                while (started < requests && Window.TryEnter(out var slot))
                {
                    started++;
                    var finish = _now + _roundTrip;
                    _inFlight.Enqueue((slot, _inFlight.Count + 1 > _throttleAbove), finish);
                    MostInFlight = Math.Max(MostInFlight, _inFlight.Count);
                    if (Throttles > 0)
                    {
                        MostInFlightAfterFirstThrottle = Math.Max(MostInFlightAfterFirstThrottle, _inFlight.Count);
                    }
                }

                _inFlight.TryDequeue(out var request, out var due);
                _now = due > _lastCompletion + _spacing ? due : _lastCompletion + _spacing;
                _lastCompletion = _now;
                if (request.Throttled)
                {
                    Throttles++;
                    Window.Throttled();
                }

                Window.Exit(request.Slot);
                done++;
            }
        }
    }
}
