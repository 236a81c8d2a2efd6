using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Storage;

/// <summary>
/// A listing of a key space in several ranges at once, each range listed page by page after a
/// <c>start-after</c> key, put back together in key order. A store answers one range's pages one after the
/// other, so a listing of many pages costs one round trip a page; listed as eight ranges side by side it
/// costs about an eighth of them (the ranges' last pages overlap a little). The result is exactly the
/// sequential listing's: range <c>i</c> holds the keys after split point <c>i - 1</c> up to and including
/// split point <c>i</c>, so every key falls in exactly one range, whether or not a split point exists as a key.
/// <see cref="RemoteKeyStream"/> reads the same ranges as a stream, holding a few pages of each.
/// </summary>
public static class RangedListing
{
    /// <summary>The most ranges listed at once (rclone lists 8 folders at a time by default).</summary>
    public const int MaxRanges = 8;

    /// <summary>
    /// The fewest known keys per range: about two pages. Each range costs the store a request of its own and
    /// ends in a page that overlaps the next range, so where a store's cost is per request rather than per
    /// round trip (s3rver walks the whole prefix for every page), ranges of one page list slower than one
    /// range; bench/Measure-ListingRanges.ps1 measures it, bench/analysis.md has the figures.
    /// </summary>
    public const int MinKeysPerRange = 2000;

    /// <summary>
    /// The most known keys missing from a ranged listing that are each confirmed gone by a HEAD (at once, one
    /// round trip); beyond them one listing from the start costs less than the HEADs.
    /// </summary>
    public const int MaxKeysConfirmed = 32;

    /// <summary>
    /// Orders keys as S3 and R2 list them: by their UTF-8 bytes. An ordinal comparison of .NET strings orders
    /// UTF-16 code units, which differs for characters beyond U+FFFF (surrogates, 0xD800-0xDFFF, sort below
    /// U+E000-U+FFFF in UTF-16 but above them in UTF-8).
    /// </summary>
    public static IComparer<string> KeyOrder { get; } = new Utf8Order();

    /// <summary>Compares two keys by their UTF-8 bytes (see <see cref="KeyOrder"/>).</summary>
    public static int CompareKeys(string a, string b) => KeyOrder.Compare(a, b);

    /// <summary>
    /// Split points that cut the keys a store is expected to hold (<paramref name="knownKeys"/>, in any
    /// order; <paramref name="count"/> of them) into ranges of about equal size: none below
    /// <see cref="MinKeysPerRange"/> keys per range, at most <see cref="MaxRanges"/> ranges. Takes an evenly
    /// spread sample of the keys rather than sorting them all.
    /// </summary>
    public static IReadOnlyList<string> SplitPoints(IEnumerable<string> knownKeys, int count)
    {
        var ranges = Math.Min(MaxRanges, count / MinKeysPerRange);
        if (ranges < 2)
        {
            return Array.Empty<string>();
        }

        const int samplesPerRange = 64;
        var step = Math.Max(1, count / (ranges * samplesPerRange));
        var sample = knownKeys.Where((_, i) => i % step == 0).ToList();
        sample.Sort(KeyOrder);
        var points = new List<string>(ranges - 1);
        for (var r = 1; r < ranges; r++)
        {
            var point = sample[r * sample.Count / ranges];
            if (points.Count == 0 || CompareKeys(points[points.Count - 1], point) < 0)
            {
                points.Add(point);
            }
        }

        return points;
    }

    /// <summary>
    /// Lists <paramref name="prefix"/> for a sync whose last run left <paramref name="knownKeys"/> (full keys):
    /// in ranges split at them (<see cref="SplitPoints"/>) only where <paramref name="listedInKeyOrder"/> says
    /// the last listing of this prefix read every key strictly in key order, and otherwise in one range. A
    /// range stops at its last key, so on a store whose order changed since (new keys that s3rver walks to in
    /// another order), a key of the range that the store lists later, on a page the range never reads, would
    /// be missing, and a missing known key reads as deleted. So a known key the ranges did not list is asked
    /// for by HEAD (up to <see cref="MaxKeysConfirmed"/> of them, at once; more, and the prefix is listed again
    /// in one range): one that is there after all has the prefix listed again in one range, which decides.
    /// The result's <see cref="RemoteListing.InKeyOrder"/> is what the next listing of the prefix is to be given.
    /// </summary>
    public static async Task<RemoteListing> ListKnownAsync(IObjectStore store, string prefix, IReadOnlyCollection<string> knownKeys,
        bool listedInKeyOrder, CancellationToken cancellationToken)
    {
        var splitAfter = listedInKeyOrder ? SplitPoints(knownKeys, knownKeys.Count) : Array.Empty<string>();
        var listing = await store.ListAsync(prefix, splitAfter, cancellationToken).ConfigureAwait(false);
        if (splitAfter.Count == 0)
        {
            return listing;
        }

        var listed = new HashSet<string>(listing.Select(o => o.Key), StringComparer.Ordinal);
        var missing = knownKeys.Where(k => !listed.Contains(k)).Take(MaxKeysConfirmed + 1).ToList();
        if (missing.Count <= MaxKeysConfirmed)
        {
            var found = await Task.WhenAll(missing.Select(k => store.HeadAsync(k, cancellationToken))).ConfigureAwait(false);
            if (found.All(o => o is null))
            {
                return listing;
            }
        }

        return await store.ListAsync(prefix, Array.Empty<string>(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Lists every range at once through <paramref name="listRange"/> and returns their keys in order: the
    /// first range from the start, each next one after the split point that ends the one before.
    /// <paramref name="listRange"/> receives the key to start after (null for the first range) and the last
    /// key the range may hold (null for the last range), and returns that range's objects in key order,
    /// none beyond its last key, and throws <see cref="OutOfOrderException"/> where the store lists keys out of
    /// key order (s3rver walks its folders: "a/x" before "a b"); the key space is then listed in one range,
    /// from the start to the end, as the store orders it. Should one range fail otherwise, the others are
    /// cancelled and that failure is thrown. Without split points, the one range's listing is returned as it is.
    /// </summary>
    /// <exception cref="ArgumentException">The split points are not in strictly ascending key order.</exception>
    public static async Task<RemoteListing> ListAsync(IReadOnlyList<string> splitAfter,
        Func<string?, string?, CancellationToken, Task<RemoteListing>> listRange, CancellationToken cancellationToken)
    {
        var bounds = RangesOf(splitAfter);
        if (bounds.Length == 1)
        {
            return await listRange(null, null, cancellationToken).ConfigureAwait(false);
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var ranges = bounds.Select(range => ListOneAsync(range.StartAfter, range.Last)).ToArray();

        try
        {
            await Task.WhenAll(ranges).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellationToken.IsCancellationRequested)
        {
            // The range that failed first, not one that the failure cancelled.
            var failure = ranges.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).FirstOrDefault(e => e is not OperationCanceledException);
            if (failure is OutOfOrderException)
            {
                // Ranges cut at split points hold the right keys only where the store lists in key order.
                return await listRange(null, null, cancellationToken).ConfigureAwait(false);
            }

            if (failure is not null)
            {
                ExceptionDispatchInfo.Capture(failure).Throw();
            }

            throw;
        }

        // Each range ascended (or threw), and the ranges follow each other: the whole is in key order.
        var result = new List<RemoteObject>(ranges.Sum(t => t.Result.Count));
        foreach (var range in ranges)
        {
            result.AddRange(range.Result);
        }

        return new RemoteListing(result, inKeyOrder: true);

        async Task<RemoteListing> ListOneAsync(string? startAfter, string? last)
        {
            try
            {
                return await listRange(startAfter, last, cancel.Token).ConfigureAwait(false);
            }
            catch
            {
                cancel.Cancel();
                throw;
            }
        }
    }

    /// <summary>
    /// The ranges that <paramref name="splitAfter"/> cut the key space into, in key order: range <c>i</c> starts
    /// after split point <c>i - 1</c> (null: from the start) and ends at split point <c>i</c>, that key included
    /// (null: at the end). No split points, one range: the whole key space.
    /// </summary>
    /// <exception cref="ArgumentException">The split points are not in strictly ascending key order.</exception>
    internal static (string? StartAfter, string? Last)[] RangesOf(IReadOnlyList<string> splitAfter)
    {
        var ranges = new (string? StartAfter, string? Last)[splitAfter.Count + 1];
        for (var r = 0; r < ranges.Length; r++)
        {
            if (r > 0 && r < splitAfter.Count && CompareKeys(splitAfter[r - 1], splitAfter[r]) >= 0)
            {
                throw new ArgumentException($"The split points must ascend in key order: '{splitAfter[r]}' follows '{splitAfter[r - 1]}'.", nameof(splitAfter));
            }

            ranges[r] = (r == 0 ? null : splitAfter[r - 1], r == splitAfter.Count ? null : splitAfter[r]);
        }

        return ranges;
    }

    /// <summary>
    /// Thrown by a range's listing that met a key not above the one before it (across its pages, and in the
    /// rest of the page where the range ends) or not above the key it starts after: the store does not list in key order, so a range that stops
    /// at its last key could miss keys the store lists after it.
    /// </summary>
    public sealed class OutOfOrderException : Exception
    {
        /// <summary>A store that listed <paramref name="key"/> after <paramref name="previous"/>.</summary>
        public OutOfOrderException(string previous, string key)
            : base($"The store listed '{key}' after '{previous}': its listing is not in key order.")
        {
        }

        private OutOfOrderException(string message)
            : base(message)
        {
        }

        /// <summary>A store that listed <paramref name="key"/> in a range asked to start after <paramref name="startAfter"/>.</summary>
        public static OutOfOrderException BeforeStart(string startAfter, string key) =>
            new($"The store listed '{key}' in a listing that starts after '{startAfter}': it does not start a listing where it is asked to, in key order.");
    }

    private sealed class Utf8Order : IComparer<string>
    {
        public int Compare(string? x, string? y)
        {
            if (ReferenceEquals(x, y))
            {
                return 0;
            }

            if (x is null || y is null)
            {
                return x is null ? -1 : 1;
            }

            var n = Math.Min(x.Length, y.Length);
            for (var i = 0; i < n; i++)
            {
                var a = x[i];
                var b = y[i];
                if (a != b)
                {
                    return ByteRank(a) - ByteRank(b);
                }
            }

            return x.Length - y.Length;
        }

        // UTF-8's order of the code unit's character: surrogates (characters beyond U+FFFF) above U+E000-U+FFFF.
        private static int ByteRank(char c) => c < 0xD800 ? c : c >= 0xE000 ? c - 0x800 : c + 0x2000;
    }
}
