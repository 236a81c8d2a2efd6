// TEMPORARY stand-in for the filter engine of branch `filters`, only so the sync branch builds until
// that branch is merged. DELETE THIS FILE when merging main brings ChittyConnect.Filters.FilterRules.
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;

namespace ChittyConnect.Filters;

public sealed class FilterRules
{
    private readonly List<(bool Include, Regex Pattern, bool DirOnly)> _rules;

    internal FilterRules(List<(bool, Regex, bool)> rules) => _rules = rules;

    public static FilterRules Empty { get; } = new(new List<(bool, Regex, bool)>());

    public bool IsEmpty => _rules.Count == 0;

    public bool IncludeFile(string relativePath)
    {
        foreach (var (include, pattern, dirOnly) in _rules)
        {
            if (!dirOnly && pattern.IsMatch(relativePath))
            {
                return include;
            }
        }

        return true;
    }

    public bool IncludeDirectory(string relativeDirectory)
    {
        var dir = relativeDirectory.Trim('/');
        if (dir.Length == 0)
        {
            return true;
        }

        foreach (var (include, pattern, dirOnly) in _rules)
        {
            if (dirOnly && pattern.IsMatch(dir))
            {
                return include;
            }
        }

        return true;
    }

    public bool IncludeFileAndParents(string relativePath)
    {
        var parts = relativePath.Split('/');
        for (var i = 1; i < parts.Length; i++)
        {
            if (!IncludeDirectory(string.Join("/", parts.Take(i))))
            {
                return false;
            }
        }

        return IncludeFile(relativePath);
    }
}

public sealed class FilterRulesBuilder
{
    private readonly List<(bool, Regex, bool)> _rules = new();
    private readonly bool _ignoreCase;

    public FilterRulesBuilder(bool ignoreCase = false) => _ignoreCase = ignoreCase;

    public FilterRulesBuilder AddExclude(string pattern) => Add(false, pattern);

    public FilterRulesBuilder AddInclude(string pattern) => Add(true, pattern);

    public FilterRulesBuilder AddExcludeFrom(string path) => AddLines(path, false);

    public FilterRulesBuilder AddIncludeFrom(string path) => AddLines(path, true);

    public FilterRulesBuilder AddFilterFrom(string path)
    {
        foreach (var line in File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] != '#' && l[0] != ';'))
        {
            if (line.StartsWith("+ ", StringComparison.Ordinal)) { AddInclude(line.Substring(2)); }
            else if (line.StartsWith("- ", StringComparison.Ordinal)) { AddExclude(line.Substring(2)); }
            else { throw new FilterSyntaxException($"Bad filter line '{line}'."); }
        }

        return this;
    }

    public FilterRules Build() => new(new List<(bool, Regex, bool)>(_rules));

    private FilterRulesBuilder AddLines(string path, bool include)
    {
        foreach (var line in File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0 && l[0] != '#' && l[0] != ';'))
        {
            Add(include, line);
        }

        return this;
    }

    private FilterRulesBuilder Add(bool include, string pattern)
    {
        var dirOnly = pattern.EndsWith("/", StringComparison.Ordinal);
        var p = pattern.TrimEnd('/');
        var anchored = p.StartsWith("/", StringComparison.Ordinal);
        p = p.TrimStart('/');
        var sb = new StringBuilder(anchored ? "^" : "(^|/)");
        for (var i = 0; i < p.Length; i++)
        {
            var c = p[i];
            if (c == '*' && i + 1 < p.Length && p[i + 1] == '*') { sb.Append(".*"); i++; }
            else if (c == '*') { sb.Append("[^/]*"); }
            else if (c == '?') { sb.Append("[^/]"); }
            else { sb.Append(Regex.Escape(c.ToString())); }
        }

        sb.Append(dirOnly ? "$" : "$");
        var options = RegexOptions.CultureInvariant | (_ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
        _rules.Add((include, new Regex(sb.ToString(), options), dirOnly));
        return this;
    }
}

public sealed class FilterSyntaxException : FormatException
{
    public FilterSyntaxException(string message) : base(message) { }
}
