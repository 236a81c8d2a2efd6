using System;

namespace ChittyConnect.Storage;

/// <summary>
/// The search both adaptive widths of the store make (<see cref="RequestWindow"/>, requests in flight;
/// <see cref="ListingWidth"/>, a listing's ranges side by side), one measured round at a time: from its start it
/// doubles while a doubling pays (the round's rate grows by at least the gain over the best so far), undoes
/// the first doubling that does not and holds the best width, and, held below the cap, tries one doubling
/// again every so many rounds (what stopped paying may have been passing: a busy CPU, a slow reader). What a
/// round is, and what else moves the width (a throttled answer), is its owner's. Not thread-safe: the owner
/// calls it under its own lock.
/// </summary>
internal sealed class DoublingSearch
{
    private readonly double _gain;
    private readonly int _roundsBetweenProbes;
    private double _bestRate;
    private int _heldRounds;

    public DoublingSearch(int start, int cap, double gain, int roundsBetweenProbes)
    {
        Cap = cap;
        _gain = gain;
        _roundsBetweenProbes = roundsBetweenProbes;
        Limit = BestLimit = Math.Max(1, Math.Min(cap, start));
        Growing = Limit < cap;
    }

    /// <summary>The most the width may be.</summary>
    public int Cap { get; }

    /// <summary>The width now; its owner may move it (a halving, a step back up).</summary>
    public int Limit { get; set; }

    /// <summary>Whether it is still doubling; its owner may end that (a throttled answer).</summary>
    public bool Growing { get; set; }

    /// <summary>The width whose round measured best while it doubled.</summary>
    public int BestLimit { get; private set; }

    /// <summary>A round measured at <see cref="Limit"/> while <see cref="Growing"/>: doubles again, or undoes the doubling and stops.</summary>
    public void Grow(double rate)
    {
        if (rate >= _bestRate * _gain)
        {
            _bestRate = rate;
            BestLimit = Limit;
            Growing = Limit < Cap;
            Limit = Math.Min(Cap, Limit * 2);
        }
        else
        {
            // More at once stopped paying: back to the width that measured best, and hold there.
            Growing = false;
            Limit = BestLimit;
        }
    }

    /// <summary>A round measured while held: every so many such rounds below the cap, one doubling is tried against this rate.</summary>
    public void Hold(double rate)
    {
        if (Limit < Cap && ++_heldRounds >= _roundsBetweenProbes)
        {
            _heldRounds = 0;
            Growing = true;
            _bestRate = rate;
            BestLimit = Limit;
            Limit = Math.Min(Cap, Limit * 2);
        }
    }
}
