using ChittyConnect.Storage;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>How many ranges of a listing ask for a page at once: as many as the store's pace pays for.</summary>
public sealed class ListingWidthTests
{
    private TimeSpan _now;

    [Fact]
    public void Where_every_page_costs_a_round_trip_the_width_doubles_to_the_cap()
    {
        // A page takes 100 ms whatever else is in flight: the width's pages come in each 100 ms.
        var seen = WidthsUpToTheCap(new ListingWidth(() => _now), TimeSpan.FromMilliseconds(100), readerPause: TimeSpan.Zero);

        Assert.Equal([1, 2, 4, 8], seen);
    }

    [Fact]
    public void Where_the_store_does_the_work_of_every_page_the_width_goes_back_to_one_and_tries_again_later()
    {
        var width = new ListingWidth(() => _now);

        // 150 ms of the store's work a page, one page at a time whatever the width: each request waits for the
        // others in flight.
        var limits = new List<int>();
        for (var round = 0; round < 30; round++)
        {
            Answer(width, ListingWidth.RoundPages * width.Limit, took: TimeSpan.FromMilliseconds(150) * width.Limit);
            limits.Add(width.Limit);
        }

        // A round at one (settling, then measured), tried at two (settling, then measured: no faster), back at
        // one (a round settling) and held there; RoundsBetweenProbes rounds later a doubling is tried again, and
        // undone again.
        var held = Enumerable.Repeat(1, ListingWidth.RoundsBetweenProbes - 1);
        int[] expected = [1, 2, 2, 1, 1, .. held, 2, 2, 1];
        Assert.Equal(expected, limits.Take(expected.Length));
    }

    [Fact]
    public void Rounds_shorter_than_the_minimum_do_not_decide()
    {
        var width = new ListingWidth(() => _now);

        // Pages in a burst, no time passing: nothing measured, the width stays where it began.
        for (var i = 0; i < 100; i++)
        {
            Assert.False(width.Answered(1, TimeSpan.FromMilliseconds(1)));
        }

        Assert.Equal(ListingWidth.Initial, width.Limit);
    }

    [Fact]
    public void A_listing_starts_where_the_last_one_of_the_same_store_ended_and_at_the_cap_it_holds()
    {
        var endpoint = new Uri($"http://127.0.0.1:9/{Guid.NewGuid():N}/");
        Assert.Equal(ListingWidth.Initial, ListingWidth.LearntFor(endpoint, "bucket"));

        // Rounds enough to reach the cap and measure it there (a round to settle, one measured).
        var first = new ListingWidth(() => _now, ListingWidth.LearntFor(endpoint, "bucket"));
        for (var i = 0; i < 40; i++)
        {
            Answer(first, first.Limit, took: TimeSpan.FromMilliseconds(100));
        }

        first.Learnt(endpoint, "bucket");
        Assert.Equal(ListingWidth.Cap, ListingWidth.LearntFor(endpoint, "bucket"));
        Assert.Equal(ListingWidth.Initial, ListingWidth.LearntFor(endpoint, "another-bucket"));

        // The next listing of that store starts at the cap and stays there, even where the pages come no faster.
        var next = new ListingWidth(() => _now, ListingWidth.LearntFor(endpoint, "bucket"));
        for (var i = 0; i < 60; i++)
        {
            Answer(next, next.Limit, took: TimeSpan.FromMilliseconds(100) * next.Limit);
            Assert.Equal(ListingWidth.Cap, next.Limit);
        }
    }

    [Fact]
    public void A_listing_that_ends_before_its_doubling_is_measured_leaves_the_width_it_measured()
    {
        var endpoint = new Uri($"http://127.0.0.1:9/{Guid.NewGuid():N}/");
        var width = new ListingWidth(() => _now, ListingWidth.LearntFor(endpoint, "bucket"));

        // A round at 1 to settle, one measured: the width doubles to 2, and the listing ends there.
        Answer(width, ListingWidth.RoundPages, took: TimeSpan.FromMilliseconds(150));
        Answer(width, ListingWidth.RoundPages, took: TimeSpan.FromMilliseconds(150));
        Assert.Equal(2, width.Limit);
        width.Learnt(endpoint, "bucket");

        // The next listing starts at the width that was measured, not at the doubling that was not: else each
        // short listing would start the next one wider, up to the cap, on a store where width costs.
        Assert.Equal(1, ListingWidth.LearntFor(endpoint, "bucket"));
    }

    [Fact]
    public void A_reader_that_pauses_does_not_make_the_store_look_slower()
    {
        // Pages of 100 ms each (a round trip), and from the second width on a reader that stops for a second after
        // each batch (its buffers full, no request out): answers a second fall, but what counts is how long each
        // request took, so the width still doubles.
        var seen = WidthsUpToTheCap(new ListingWidth(() => _now), TimeSpan.FromMilliseconds(100), readerPause: TimeSpan.FromSeconds(1));

        Assert.Equal([1, 2, 4, 8], seen);
    }

    // The widths a listing goes through, batch by batch of the width's answers (each request taking `took`), until
    // the cap or 40 batches; after each batch at a width above 1 the reader stops for `readerPause`.
    private List<int> WidthsUpToTheCap(ListingWidth width, TimeSpan took, TimeSpan readerPause)
    {
        var seen = new List<int> { width.Limit };
        for (var i = 0; i < 40 && width.Limit < ListingWidth.Cap; i++)
        {
            Answer(width, width.Limit, took);
            if (width.Limit > 1)
            {
                _now += readerPause;
            }

            if (seen[^1] != width.Limit)
            {
                seen.Add(width.Limit);
            }
        }

        return seen;
    }

    // Answers to as many requests as the width lets out at once, each of which took `took`: they come in at the
    // width's pace.
    private void Answer(ListingWidth width, int pages, TimeSpan took)
    {
        for (var p = 0; p < pages; p++)
        {
            var inFlight = width.Limit;
            _now += took / inFlight;
            width.Answered(inFlight, took);
        }
    }
}
