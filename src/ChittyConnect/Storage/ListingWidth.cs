using System;
using System.Collections.Concurrent;
using System.Diagnostics;

namespace ChittyConnect.Storage;

/// <summary>
/// How many ranges of one listing ask for a page at once, chosen by how fast the store answers, in the spirit of
/// <see cref="RequestWindow"/>: it starts at <see cref="Initial"/>, and while a doubling pays (the pages a second
/// the store can give grow by at least <see cref="WorthwhileGain"/>) it doubles again, up to <see cref="Cap"/>; the
/// first doubling that does not pay is undone, and the width holds where the rate was best, trying one doubling
/// again every <see cref="RoundsBetweenProbes"/> rounds. Where a page costs a
/// round trip (R2 and S3 over the internet, where the store's work is a fraction of it) the rate grows
/// with the width; where the store's own work is the cost (a store on one core that scans its keys for every
/// page, as s3rver does), pages side by side only share that core and add work, and the width stays small.
/// What a round measures is the store's pace, not the reader's: the pages a second it gives is the requests in
/// flight when each was sent over the time each took (Little's law), so a reader that stops for a while (its
/// buffers full, no request out) neither lowers nor raises it. Where a page costs a round trip the time per
/// page stays as the width doubles and the pace doubles; where the store does each page's work in turn the time
/// per page doubles with the width and the pace stays.
/// A round is <see cref="RoundPages"/> answers a range at the width (and at least <see cref="MinimumRound"/>);
/// the round after a change settles (the ranges just started send their first requests) before one is measured.
/// A listing starts at the width the last listing of the same store in this process ended at
/// (<see cref="LearntFor"/>), so a session's later syncs do not find the width again page by page. Thread-safe.
/// </summary>
internal sealed class ListingWidth
{
    /// <summary>Ranges listed at once at the start.</summary>
    public const int Initial = 1;

    /// <summary>Most ranges listed at once (<see cref="RangedListing.MaxRanges"/>).</summary>
    public const int Cap = RangedListing.MaxRanges;

    /// <summary>
    /// Growth of the rate that makes a doubling worth keeping: where a page costs a round trip a doubling nearly
    /// doubles the rate, and where the store does the work a round of a few pages can still measure some gain by
    /// chance, which must not hold the listing at a width that costs the store more.
    /// </summary>
    public const double WorthwhileGain = 1.5;

    /// <summary>Pages per range at the width that make a round.</summary>
    public const int RoundPages = 2;

    /// <summary>Rounds held below the cap before a doubling is tried again (what stopped paying may have been passing: a reader busy for a while).</summary>
    public const int RoundsBetweenProbes = 16;

    /// <summary>Shortest round: shorter ones measure the scheduler, not the store.</summary>
    public static readonly TimeSpan MinimumRound = TimeSpan.FromMilliseconds(50);

    // The width each store's last listing ended at, by endpoint and bucket, for the process's next listing of it.
    private static readonly ConcurrentDictionary<string, int> s_learnt = new(StringComparer.Ordinal);

    private readonly object _gate = new();
    private readonly Func<TimeSpan> _clock;
    private readonly DoublingSearch _search;
    private bool _settling = true;
    private TimeSpan _roundStart;
    private int _roundPages;
    private double _roundInFlight;
    private double _roundSeconds;

    /// <summary>
    /// A width that starts at <paramref name="initial"/> (between 1 and <see cref="Cap"/>), measured on
    /// <paramref name="clock"/> (elapsed time), a Stopwatch's unless given.
    /// </summary>
    public ListingWidth(Func<TimeSpan>? clock = null, int initial = Initial)
    {
        _search = new DoublingSearch(initial, Cap, WorthwhileGain, RoundsBetweenProbes);
        if (clock is null)
        {
            var watch = Stopwatch.StartNew();
            clock = () => watch.Elapsed;
        }

        _clock = clock;
        _roundStart = clock();
    }

    /// <summary>Ranges to list at once now.</summary>
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

    /// <summary>Where a listing of the store at <paramref name="endpoint"/> and <paramref name="bucket"/> starts: where its last one in this process ended.</summary>
    public static int LearntFor(Uri endpoint, string bucket) =>
        s_learnt.TryGetValue(StoreKey(endpoint, bucket), out var width) ? width : Initial;

    /// <summary>
    /// Keeps the width a listing of the store ended at, for the next one: the width last measured to pay, not a
    /// doubling not yet measured (else each listing that ends mid-doubling would start the next one wider).
    /// </summary>
    public void Learnt(Uri endpoint, string bucket)
    {
        lock (_gate)
        {
            s_learnt[StoreKey(endpoint, bucket)] = _search.Growing ? _search.BestLimit : _search.Limit;
        }
    }

    private static string StoreKey(Uri endpoint, string bucket) => endpoint.AbsoluteUri + "\n" + bucket;

    /// <summary>
    /// A page's request was answered after <paramref name="took"/>, sent while <paramref name="inFlight"/>
    /// requests (itself among them) were out; returns whether the width grew (more requests may go).
    /// </summary>
    public bool Answered(int inFlight, TimeSpan took)
    {
        lock (_gate)
        {
            _roundPages++;
            _roundInFlight += Math.Max(1, inFlight);
            _roundSeconds += Math.Max(took.TotalSeconds, 1e-6);
            var now = _clock();
            if (_roundPages < RoundPages * _search.Limit || now - _roundStart < MinimumRound)
            {
                return false;
            }

            var before = _search.Limit;
            if (_settling)
            {
                _settling = false;
            }
            else
            {
                // Pages a second the store gives at this width: requests in flight over the time each took.
                var rate = _roundInFlight / _roundSeconds;
                if (_search.Growing)
                {
                    _search.Grow(rate);
                }
                else
                {
                    _search.Hold(rate);
                }

                _settling = _search.Limit != before;
            }

            _roundStart = now;
            _roundPages = 0;
            _roundInFlight = 0;
            _roundSeconds = 0;
            return _search.Limit > before;
        }
    }
}
