using ChittyConnect.Storage;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>
/// The schedule of tries while the store is down, on a clock the test moves: each try costs 10 ms, each wait moves
/// the clock by what was waited, so the tries and the moment of giving up are exact, whatever the machine's load.
/// </summary>
public sealed class StoreOutageScheduleTests
{
    private static readonly TimeSpan RequestTime = TimeSpan.FromMilliseconds(10);

    private TimeSpan _now;
    private readonly List<TimeSpan> _tries = new();
    private readonly List<TimeSpan> _waits = new();

    private StoreOutage Outage(TimeSpan timeout, int seed = 1) =>
        new(timeout, () => _now, (delay, _) =>
        {
            _waits.Add(delay);
            _now += delay;
            return Task.CompletedTask;
        }, new Random(seed));

    private Task<int> Failing(string code = "ServiceUnavailable", int status = 503)
    {
        _tries.Add(_now);
        _now += RequestTime;
        throw new ObjectStoreException("the store failed", "k", code, status);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_store_that_stays_down_is_tried_with_doubling_waits_until_the_timeout_then_gives_up(int seed)
    {
        var outage = Outage(TimeSpan.FromSeconds(20), seed);

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => outage.RunAsync(() => Failing(), CancellationToken.None));

        Assert.Equal("ServiceUnavailable", ex.Code);
        // Waits of 0.5, 1, 2, 4 s and then 5 s (the cap), each 50-100 % of that with jitter; the last one is cut to end at the timeout.
        for (var i = 0; i < _waits.Count - 1; i++)
        {
            var nominal = Math.Min(0.5 * Math.Pow(2, i), 5);
            Assert.InRange(_waits[i].TotalSeconds, nominal * 0.5, nominal);
        }

        // The outage began at the first failure (10 ms in); it gave up at the first failure once it had lasted 20 s.
        var downFor = _now - RequestTime;
        Assert.InRange(downFor, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(20) + RequestTime);
        Assert.Equal(_waits.Count + 1, _tries.Count);
        Assert.True(_tries[^1] - RequestTime <= TimeSpan.FromSeconds(20), "the last try was made within the timeout");
    }

    [Fact]
    public async Task The_outage_is_the_stores_a_later_request_fails_at_its_first_failure_and_an_answer_ends_the_outage()
    {
        var outage = Outage(TimeSpan.FromSeconds(2));
        await Assert.ThrowsAsync<ObjectStoreException>(() => outage.RunAsync(() => Failing(), CancellationToken.None));
        var triedInTheOutage = _tries.Count;
        Assert.InRange(triedInTheOutage, 3, 5);

        await Assert.ThrowsAsync<ObjectStoreException>(() => outage.RunAsync(() => Failing(), CancellationToken.None));
        Assert.Equal(triedInTheOutage + 1, _tries.Count);

        Assert.Equal(7, await outage.RunAsync(() => Task.FromResult(7), CancellationToken.None));

        // Down again after the answer: a new outage, waited out again from its own first failure.
        var before = _tries.Count;
        await Assert.ThrowsAsync<ObjectStoreException>(() => outage.RunAsync(() => Failing(), CancellationToken.None));
        Assert.InRange(_tries.Count - before, 3, 5);
    }

    [Theory]
    [InlineData("NoSuchKey", 404)]
    [InlineData("AccessDenied", 403)]
    [InlineData("NotImplemented", 501)]
    public async Task A_refusal_is_no_outage_and_fails_at_once(string code, int status)
    {
        var outage = Outage(TimeSpan.FromSeconds(20));

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => outage.RunAsync(() => Failing(code, status), CancellationToken.None));

        Assert.Equal(code, ex.Code);
        Assert.Single(_tries);
        Assert.Empty(_waits);
    }

    [Fact]
    public async Task A_zero_timeout_tries_once()
    {
        var outage = Outage(TimeSpan.Zero);

        await Assert.ThrowsAsync<ObjectStoreException>(() => outage.RunAsync(() => Failing(), CancellationToken.None));

        Assert.Single(_tries);
    }

    [Fact]
    public async Task Cancelling_ends_the_wait_with_a_cancellation_not_the_stores_error()
    {
        using var cancel = new CancellationTokenSource();
        var outage = new StoreOutage(TimeSpan.FromSeconds(20), () => _now, (delay, token) =>
        {
            cancel.Cancel();
            return Task.Delay(delay, token);
        }, new Random(1));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => outage.RunAsync(() => Failing(), cancel.Token));
        Assert.Single(_tries);
    }
}
