using System;
using System.Collections.Generic;

namespace ChittyConnect.Events;

/// <summary>
/// Case-insensitive matching of <c>*</c> (any run of characters) and <c>?</c> (one character), enough for event
/// type filters such as <c>context.files.*</c> without a dependency on PowerShell's WildcardPattern.
/// </summary>
public static class WildcardMatcher
{
    /// <summary>Whether <paramref name="input"/> matches <paramref name="pattern"/> as a whole.</summary>
    public static bool IsMatch(string input, string pattern)
    {
        if (input is null)
        {
            throw new ArgumentNullException(nameof(input));
        }

        if (pattern is null)
        {
            throw new ArgumentNullException(nameof(pattern));
        }

        // Greedy two-pointer match with backtracking to the last star: linear for the patterns people write and
        // never exponential.
        int i = 0, p = 0, starP = -1, starI = 0;
        while (i < input.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || CharEquals(pattern[p], input[i])))
            {
                i++;
                p++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                starP = p++;
                starI = i;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                i = ++starI;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    /// <summary>Whether <paramref name="input"/> matches any of <paramref name="patterns"/>; an empty set matches everything.</summary>
    public static bool IsMatchAny(string input, IReadOnlyCollection<string>? patterns)
    {
        if (patterns is null || patterns.Count == 0)
        {
            return true;
        }

        foreach (var pattern in patterns)
        {
            if (IsMatch(input, pattern))
            {
                return true;
            }
        }

        return false;
    }

    private static bool CharEquals(char a, char b) =>
        a == b || char.ToUpperInvariant(a) == char.ToUpperInvariant(b);
}
