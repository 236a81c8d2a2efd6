using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading.Tasks;

namespace ChittyConnect.Sync;

/// <summary>
/// The names a conflict's kept version gets, unique among the paths of the window being planned on both
/// sides and among the names given before in the run. Thread-safe: a window is named while a transfer of the
/// one before may be decided again.
/// </summary>
internal sealed class ConflictNames
{
    private readonly object _gate = new();
    private readonly HashSet<string> _taken;
    private readonly HashSet<string> _given;

    /// <summary>An empty set of names, compared ordinally.</summary>
    public ConflictNames()
        : this(Array.Empty<string>(), StringComparer.Ordinal)
    {
    }

    /// <summary>Names that are <paramref name="taken"/> already, compared with <paramref name="comparer"/>.</summary>
    public ConflictNames(IEnumerable<string> taken, IEqualityComparer<string> comparer)
        : this(taken, comparer, new HashSet<string>(comparer))
    {
    }

    private ConflictNames(IEnumerable<string> taken, IEqualityComparer<string> comparer, HashSet<string> given)
    {
        _taken = new HashSet<string>(taken, comparer);
        _given = given;
        _taken.UnionWith(given);
    }

    /// <summary>The names of the next window (<paramref name="window"/>'s paths), with the names given so far in the run.</summary>
    public ConflictNames ForWindow(ConflictNames window)
    {
        lock (_gate)
        {
            return new ConflictNames(window._taken, window._taken.Comparer, new HashSet<string>(_given, window._taken.Comparer));
        }
    }

    // "notes.txt" -> "notes.conflict-local-20261127T115900Z.txt": which side's version it is and when it was
    // last written (UTC); the extension stays last, so filters and file associations still apply. A name
    // taken on either side gets a counter.
    public string Next(string relativePath, string side, DateTime modifiedUtc)
    {
        lock (_gate)
        {
            for (var n = 1; ; n++)
            {
                var candidate = Candidate(relativePath, side, modifiedUtc, n);
                if (_taken.Add(candidate))
                {
                    _given.Add(candidate);
                    return candidate;
                }
            }
        }
    }

    /// <summary>
    /// As <see cref="Next"/>, also passing over the names <paramref name="takenElsewhere"/> finds taken (where
    /// the set holds only some of the run's paths).
    /// </summary>
    public async Task<string> NextAsync(string relativePath, string side, DateTime modifiedUtc, Func<string, Task<bool>> takenElsewhere)
    {
        while (true)
        {
            var candidate = Next(relativePath, side, modifiedUtc);
            if (!await takenElsewhere(candidate).ConfigureAwait(false))
            {
                return candidate;
            }
        }
    }

    private static string Candidate(string relativePath, string side, DateTime modifiedUtc, int n)
    {
        var slash = relativePath.LastIndexOf('/');
        var folder = relativePath.Substring(0, slash + 1);
        var name = relativePath.Substring(slash + 1);
        var dot = name.LastIndexOf('.');
        var (stem, extension) = dot > 0 ? (name.Substring(0, dot), name.Substring(dot)) : (name, string.Empty);
        var stamp = ".conflict-" + side + "-" + modifiedUtc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        return folder + stem + stamp + (n == 1 ? string.Empty : "-" + n.ToString(CultureInfo.InvariantCulture)) + extension;
    }
}
