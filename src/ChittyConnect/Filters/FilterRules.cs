using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Text;
using System.Text.RegularExpressions;

namespace ChittyConnect.Filters;

/// <summary>
/// A compiled, immutable set of rclone filter rules (rclone 1.60 semantics), built by
/// <see cref="FilterRulesBuilder"/>. Thread-safe.
/// </summary>
/// <remarks>
/// <para>As in rclone there are two ordered rule lists, each decided by its first matching rule and including
/// by default: file rules, checked against a file's relative path, and directory rules, checked against
/// <c>dir/</c>. Directory rules come from patterns ending in '/' or containing <c>**</c>, plus the parent
/// directories that an include pattern needs (<c>+ /a/b/*.jpg</c> implies <c>+ /a/b/</c> and <c>+ /a/</c>).
/// A walk that skips excluded directories and then tests each file selects exactly what rclone selects; for a
/// flat listing (object keys) use <see cref="IncludeFileAndParents"/>, which does both.</para>
/// <para>Paths are relative to the root of the transfer, separated by '/', without a leading '/'.</para>
/// </remarks>
public sealed class FilterRules
{
    private readonly FilterRule[] _fileRules;
    private readonly FilterRule[] _directoryRules;
    private readonly ConcurrentDictionary<string, bool> _directoryCache = new(StringComparer.Ordinal);

    internal FilterRules(FilterRule[] fileRules, FilterRule[] directoryRules)
    {
        _fileRules = fileRules;
        _directoryRules = directoryRules;
    }

    /// <summary>Rules that include everything.</summary>
    public static FilterRules Empty { get; } = new(Array.Empty<FilterRule>(), Array.Empty<FilterRule>());

    /// <summary>True when there are no rules, so every file and directory is included.</summary>
    public bool IsEmpty => _fileRules.Length == 0 && _directoryRules.Length == 0;

    /// <summary>Whether the file rules select this file (rclone's path filter for an object).</summary>
    /// <param name="relativePath">'/'-separated path relative to the transfer root, no leading '/', e.g. <c>src/a.txt</c>.</param>
    /// <returns>True if the first matching rule is an include rule or no rule matches.</returns>
    public bool IncludeFile(string relativePath)
    {
        if (relativePath is null)
        {
            throw new ArgumentNullException(nameof(relativePath));
        }

        return Decide(_fileRules, relativePath);
    }

    /// <summary>
    /// Whether a directory walk should descend into this directory. An excluded directory and everything below
    /// it are left out (<c>node_modules/</c> excludes <c>a/node_modules</c> and all its contents).
    /// </summary>
    /// <param name="relativeDirectory">'/'-separated directory path relative to the transfer root, no leading or
    /// trailing '/', e.g. <c>a/node_modules</c>. The root ("") is always included.</param>
    public bool IncludeDirectory(string relativeDirectory)
    {
        if (relativeDirectory is null)
        {
            throw new ArgumentNullException(nameof(relativeDirectory));
        }

        var trimmed = relativeDirectory.Trim('/');
        return trimmed.Length == 0 || Decide(_directoryRules, trimmed + "/");
    }

    /// <summary>
    /// Whether a file found in a flat listing (e.g. object keys under a prefix) is selected: every parent
    /// directory must pass <see cref="IncludeDirectory"/> and the file must pass <see cref="IncludeFile"/>, which
    /// is what a pruning directory walk selects. Directory decisions are cached.
    /// </summary>
    /// <param name="relativePath">'/'-separated path relative to the transfer root, no leading '/'.</param>
    public bool IncludeFileAndParents(string relativePath)
    {
        if (relativePath is null)
        {
            throw new ArgumentNullException(nameof(relativePath));
        }

        if (_directoryRules.Length > 0)
        {
            for (var slash = relativePath.IndexOf('/'); slash > 0; slash = relativePath.IndexOf('/', slash + 1))
            {
                var directory = relativePath.Substring(0, slash);
                if (!_directoryCache.GetOrAdd(directory, IncludeDirectory))
                {
                    return false;
                }
            }
        }

        return IncludeFile(relativePath);
    }

    /// <summary>
    /// The rules in rclone's <c>--dump filters</c> format (Go regular expressions), for verbose output and
    /// for comparing with rclone.
    /// </summary>
    public string Describe()
    {
        var sb = new StringBuilder();
        sb.Append("--- File filter rules ---\n");
        foreach (var rule in _fileRules)
        {
            sb.Append(rule).Append('\n');
        }

        sb.Append("--- Directory filter rules ---\n");
        foreach (var rule in _directoryRules)
        {
            sb.Append(rule).Append('\n');
        }

        return sb.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => Describe();

    private static bool Decide(FilterRule[] rules, string path)
    {
        foreach (var rule in rules)
        {
            if (rule.Regex.IsMatch(path))
            {
                return rule.Include;
            }
        }

        return true;
    }
}

/// <summary>One compiled rule: include or exclude, the Go regexp rclone would use, and its .NET translation.</summary>
internal sealed class FilterRule
{
    public FilterRule(bool include, string goRegex, Regex regex)
    {
        Include = include;
        GoRegex = goRegex;
        Regex = regex;
    }

    public bool Include { get; }

    public string GoRegex { get; }

    public Regex Regex { get; }

    public override string ToString() => (Include ? "+ " : "- ") + GoRegex;
}
