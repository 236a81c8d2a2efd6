using ChittyConnect.Storage;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>How many ranges of a listing go side by side: as many as the pages' rate pays for.</summary>
public sealed class ListingWidthTests
{
    private TimeSpan _now;

    [Fact]
    public void Where_every_page_costs_a_round_trip_the_width_doubles_to_the_cap()
    {
        var width = new ListingWidth(() => _now);
        var seen = new List<int> { width.Limit };

        // A page takes 100 ms whatever else is in flight: the width's pages come in each 100 ms.
        for (var i = 0; i < 40 && width.Limit < ListingWidth.Cap; i++)
        {
            Arrive(width, width.Limit, perPage: TimeSpan.FromMilliseconds(100) / width.Limit);
            if (seen[^1] != width.Limit)
            {
                seen.Add(width.Limit);
            }
        }

        Assert.Equal([1, 2, 4, 8], seen);
    }

    [Fact]
    public void Where_the_store_does_the_work_of_every_page_the_width_goes_back_to_one_and_tries_again_later()
    {
        var width = new ListingWidth(() => _now);

        // 150 ms of the store's work a page, one page at a time whatever the width.
        var limits = new List<int>();
        for (var round = 0; round < 30; round++)
        {
            Arrive(width, ListingWidth.RoundPages * width.Limit, perPage: TimeSpan.FromMilliseconds(150));
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
            Assert.False(width.PageArrived());
        }

        Assert.Equal(ListingWidth.Initial, width.Limit);
    }

    [Fact]
    public void A_listing_starts_where_the_last_one_of_the_same_store_ended_and_at_the_cap_it_holds()
    {
        var endpoint = new Uri($"http://127.0.0.1:9/{Guid.NewGuid():N}/");
        Assert.Equal(ListingWidth.Initial, ListingWidth.LearntFor(endpoint, "bucket"));

        var first = new ListingWidth(() => _now, ListingWidth.LearntFor(endpoint, "bucket"));
        for (var i = 0; i < 40 && first.Limit < ListingWidth.Cap; i++)
        {
            Arrive(first, first.Limit, perPage: TimeSpan.FromMilliseconds(100) / first.Limit);
        }

        first.Learnt(endpoint, "bucket");
        Assert.Equal(ListingWidth.Cap, ListingWidth.LearntFor(endpoint, "bucket"));
        Assert.Equal(ListingWidth.Initial, ListingWidth.LearntFor(endpoint, "another-bucket"));

        // The next listing of that store starts at the cap and stays there, even where the pages come no faster.
        var next = new ListingWidth(() => _now, ListingWidth.LearntFor(endpoint, "bucket"));
        for (var i = 0; i < 60; i++)
        {
            Arrive(next, next.Limit, perPage: TimeSpan.FromMilliseconds(100));
            Assert.Equal(ListingWidth.Cap, next.Limit);
        }
    }

    private void Arrive(ListingWidth width, int pages, TimeSpan perPage)
    {
        for (var p = 0; p < pages; p++)
        {
            _now += perPage;
            width.PageArrived();
        }
    }
}
