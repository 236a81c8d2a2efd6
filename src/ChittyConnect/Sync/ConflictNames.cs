using System;
using System.Collections.Generic;
using System.Globalization;

namespace ChittyConnect.Sync;

/// <summary>
/// The names a conflict's kept version gets, unique among the run's paths on both sides and among the names
/// given before in the run. Not thread-safe: the planner decides under its own lock.
/// </summary>
internal sealed class ConflictNames
{
    private readonly HashSet<string> _taken;

    /// <summary>An empty set of names, compared ordinally.</summary>
    public ConflictNames()
        : this(Array.Empty<string>(), StringComparer.Ordinal)
    {
    }

    /// <summary>Names that are <paramref name="taken"/> already, compared with <paramref name="comparer"/>.</summary>
    public ConflictNames(IEnumerable<string> taken, IEqualityComparer<string> comparer) => _taken = new HashSet<string>(taken, comparer);

    // "notes.txt" -> "notes.conflict-local-20261127T115900Z.txt": which side's version it is and when it was
    // last written (UTC); the extension stays last, so filters and file associations still apply. A name
    // taken on either side gets a counter.
    public string Next(string relativePath, string side, DateTime modifiedUtc)
    {
        var slash = relativePath.LastIndexOf('/');
        var folder = relativePath.Substring(0, slash + 1);
        var name = relativePath.Substring(slash + 1);
        var dot = name.LastIndexOf('.');
        var (stem, extension) = dot > 0 ? (name.Substring(0, dot), name.Substring(dot)) : (name, string.Empty);
        var stamp = ".conflict-" + side + "-" + modifiedUtc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        for (var n = 1; ; n++)
        {
            var candidate = folder + stem + stamp + (n == 1 ? string.Empty : "-" + n.ToString(CultureInfo.InvariantCulture)) + extension;
            if (_taken.Add(candidate))
            {
                return candidate;
            }
        }
    }
}
