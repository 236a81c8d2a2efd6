using System;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;

namespace ChittyConnect.Filters;

/// <summary>A pattern rclone would reject; the builder adds the file, line and pattern.</summary>
internal sealed class InvalidPatternException : Exception
{
    public InvalidPatternException(string reason, Exception? inner = null) : base(reason, inner) { }
}

/// <summary>
/// Turns an rclone glob into the Go regular expression rclone 1.60 builds from it (the text
/// <c>rclone --dump filters</c> prints), and derives the directory globs rclone uses to prune a walk.
/// Producing rclone's own intermediate form keeps its quirks (e.g. <c>[!x]</c> is a class of '!' and 'x',
/// <c>\d</c> passes through as a regexp class) instead of re-deriving them.
/// </summary>
internal static class GlobPattern
{
    // rclone gives up on deriving directory rules from a {...} list holding '/' or '**', and from any regexp part.
    private static readonly Regex s_tooHardForDirectories =
        new(@"(\{[^{}]*(\*\*|/)[^{}]*\})|\{\{|\}\}", RegexOptions.CultureInvariant);

    private static readonly Regex s_repeatedSlashes = new("/{2,}", RegexOptions.CultureInvariant);

    /// <summary>The Go regexp for <paramref name="glob"/> matched against a '/'-separated relative path.</summary>
    public static string ToGoRegex(string glob, bool ignoreCase)
    {
        var re = new StringBuilder(glob.Length * 2 + 8);
        if (ignoreCase)
        {
            re.Append("(?i)");
        }

        if (glob.StartsWith("/", StringComparison.Ordinal))
        {
            glob = glob.Substring(1);
            re.Append('^');
        }
        else
        {
            // Unanchored patterns match whole trailing path elements at any depth.
            re.Append("(^|/)");
        }

        var stars = 0;
        var inBraces = false;
        var inBrackets = 0;
        var escaped = false;
        var inRegexp = false;
        var regexpJustEnded = false;
        var last = '\0';
        var current = '\0';

        void FlushStars()
        {
            switch (stars)
            {
                case 0:
                    break;
                case 1:
                    re.Append("[^/]*");
                    break;
                case 2:
                    re.Append(".*");
                    break;
                default:
                    throw new InvalidPatternException("too many stars (at most '**' in a row)");
            }

            stars = 0;
        }

        foreach (var c in glob)
        {
            last = current;
            current = c;
            if (escaped)
            {
                re.Append(c);
                escaped = false;
                continue;
            }

            if (regexpJustEnded)
            {
                if (c == '}')
                {
                    // "}}}" ends a regexp at the last pair, so the extra '}' belongs to the regexp.
                    re[re.Length - 1] = '}';
                    re.Append(')');
                    continue;
                }

                regexpJustEnded = false;
            }

            if (inRegexp)
            {
                if (c == '}' && last == '}')
                {
                    inRegexp = false;
                    regexpJustEnded = true;
                    re[re.Length - 1] = ')';
                }
                else
                {
                    re.Append(c);
                }

                continue;
            }

            if (c != '*')
            {
                FlushStars();
            }

            if (inBrackets > 0)
            {
                // Inside [...] everything, '\' included, goes to the regexp as written.
                re.Append(c);
                if (c == '[')
                {
                    inBrackets++;
                }
                else if (c == ']')
                {
                    inBrackets--;
                }

                continue;
            }

            switch (c)
            {
                case '\\':
                    re.Append(c);
                    escaped = true;
                    break;
                case '*':
                    stars++;
                    break;
                case '?':
                    re.Append("[^/]");
                    break;
                case '[':
                    re.Append(c);
                    inBrackets++;
                    break;
                case ']':
                    throw new InvalidPatternException("mismatched ']'");
                case '{':
                    if (inBraces)
                    {
                        if (last != '{')
                        {
                            throw new InvalidPatternException("can't nest '{' '}'");
                        }

                        // "{{" opens a regexp; the '(' written for the first '{' wraps it.
                        inBraces = false;
                        inRegexp = true;
                    }
                    else
                    {
                        inBraces = true;
                        re.Append('(');
                    }

                    break;
                case '}':
                    if (!inBraces)
                    {
                        throw new InvalidPatternException("mismatched '{' and '}'");
                    }

                    re.Append(')');
                    inBraces = false;
                    break;
                case ',':
                    re.Append(inBraces ? '|' : ',');
                    break;
                case '.':
                case '+':
                case '(':
                case ')':
                case '|':
                case '^':
                case '$':
                    re.Append('\\').Append(c);
                    break;
                default:
                    re.Append(c);
                    break;
            }
        }

        FlushStars();
        if (inBrackets > 0)
        {
            throw new InvalidPatternException("mismatched '[' and ']'");
        }

        if (inBraces)
        {
            throw new InvalidPatternException("mismatched '{' and '}'");
        }

        if (inRegexp)
        {
            throw new InvalidPatternException("mismatched '{{' and '}}'");
        }

        re.Append('$');
        return re.ToString();
    }

    /// <summary>
    /// The directory globs (each ending in '/') a directory must match for <paramref name="glob"/> to match
    /// a file somewhere below it; "/**" when that cannot be worked out.
    /// </summary>
    public static IReadOnlyList<string> ToDirectoryGlobs(string glob)
    {
        var result = new List<string>();
        if (s_tooHardForDirectories.IsMatch(glob))
        {
            result.Add("/**");
            return result;
        }

        glob = s_repeatedSlashes.Replace(glob, "/");
        while (true)
        {
            var cut = glob.LastIndexOf('/');
            var doubleStar = glob.LastIndexOf("**", StringComparison.Ordinal);
            var suffix = string.Empty;
            if (doubleStar > cut)
            {
                cut = doubleStar;
                suffix = "**";
            }

            if (cut < 0)
            {
                if (result.Count == 0)
                {
                    result.Add("/**");
                }

                return result;
            }

            glob = glob.Substring(0, cut);
            var directoryGlob = glob + suffix + "/";
            if (result.Count == 0 || result[result.Count - 1] != directoryGlob)
            {
                result.Add(directoryGlob);
            }
        }
    }
}
