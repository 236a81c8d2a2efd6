using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using System.Text.RegularExpressions;

namespace ChittyConnect.Filters;

/// <summary>
/// Collects rclone filter rules (<c>--include</c>, <c>--include-from</c>, <c>--exclude</c>, <c>--exclude-from</c>,
/// <c>--filter</c>, <c>--filter-from</c>) and builds <see cref="FilterRules"/> that select the same files as
/// rclone 1.60.
/// </summary>
/// <remarks>
/// <para>Order, as rclone: whatever order the methods are called in, the rules are applied grouped by kind in
/// the order include, include-from, exclude, exclude-from, filter, filter-from; within a kind, in call order and
/// top to bottom of each file. First match wins. If <see cref="AddInclude"/> or <see cref="AddIncludeFrom"/> was
/// used at all (even with an empty file), a final "exclude everything" rule is added; a <c>+</c> line from a
/// filter does not imply it. A <c>!</c> filter line clears every rule before it, includes and excludes too.</para>
/// <para>Files: one pattern per line, leading and trailing white space removed, empty lines and lines starting
/// with <c>#</c> or <c>;</c> skipped, UTF-8 (a byte order mark is ignored). Only filter files understand
/// <c>+ </c>/<c>- </c>/<c>!</c>; in an exclude or include file every line is a pattern.</para>
/// <para>Patterns are checked when added; a bad one throws <see cref="FilterSyntaxException"/>.</para>
/// </remarks>
public sealed class FilterRulesBuilder
{
    private const RegexOptions Options = RegexOptions.Compiled | RegexOptions.CultureInvariant;

    private readonly bool _ignoreCase;
    private readonly List<Step> _includes = new();
    private readonly List<Step> _includeFroms = new();
    private readonly List<Step> _excludes = new();
    private readonly List<Step> _excludeFroms = new();
    private readonly List<Step> _filters = new();
    private readonly List<Step> _filterFroms = new();
    private readonly Dictionary<string, Regex> _compiled = new(StringComparer.Ordinal);
    private bool _impliesExcludeAll;

    /// <summary>Starts an empty rule set.</summary>
    /// <param name="ignoreCase">Match case-insensitively, as rclone's <c>--ignore-case</c>.</param>
    public FilterRulesBuilder(bool ignoreCase = false)
    {
        _ignoreCase = ignoreCase;
    }

    /// <summary>Adds an exclude pattern, as rclone's <c>--exclude</c>.</summary>
    /// <param name="pattern">An rclone glob, e.g. <c>*.log</c>, <c>/build/**</c>, <c>node_modules/</c>.</param>
    public FilterRulesBuilder AddExclude(string pattern)
    {
        _excludes.Add(Compile(false, pattern ?? throw new ArgumentNullException(nameof(pattern)), null, 0));
        return this;
    }

    /// <summary>Adds an include pattern, as rclone's <c>--include</c>; implies a final "exclude everything".</summary>
    /// <param name="pattern">An rclone glob, e.g. <c>*.{jpg,png}</c>.</param>
    public FilterRulesBuilder AddInclude(string pattern)
    {
        _includes.Add(Compile(true, pattern ?? throw new ArgumentNullException(nameof(pattern)), null, 0));
        _impliesExcludeAll = true;
        return this;
    }

    /// <summary>
    /// Adds one filter rule, as rclone's <c>--filter</c>: <c>+ pattern</c> includes, <c>- pattern</c> excludes,
    /// <c>!</c> clears the rules so far. The line is taken as is (not trimmed; comments are not allowed).
    /// </summary>
    /// <param name="line">The rule, e.g. <c>- *.bak</c>.</param>
    /// <param name="source">Where the line came from, for error messages.</param>
    /// <param name="lineNumber">Its 1-based line number in <paramref name="source"/>, for error messages.</param>
    public FilterRulesBuilder AddFilterLine(string line, string? source = null, int lineNumber = 0)
    {
        _filters.Add(ParseFilterLine(line ?? throw new ArgumentNullException(nameof(line)), source, lineNumber));
        return this;
    }

    /// <summary>Reads exclude patterns from a file, as rclone's <c>--exclude-from</c> (e.g. <c>~/.rcloneignore</c>).</summary>
    /// <param name="filePath">The rule file.</param>
    /// <exception cref="FilterSyntaxException">A pattern is invalid; the file and line are given.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public FilterRulesBuilder AddExcludeFrom(string filePath)
    {
        foreach (var (text, number) in ReadRuleLines(filePath))
        {
            _excludeFroms.Add(Compile(false, text, filePath, number));
        }

        return this;
    }

    /// <summary>Reads include patterns from a file, as rclone's <c>--include-from</c>; implies a final "exclude everything".</summary>
    /// <param name="filePath">The rule file.</param>
    public FilterRulesBuilder AddIncludeFrom(string filePath)
    {
        foreach (var (text, number) in ReadRuleLines(filePath))
        {
            _includeFroms.Add(Compile(true, text, filePath, number));
        }

        _impliesExcludeAll = true;
        return this;
    }

    /// <summary>Reads <c>+ pattern</c>, <c>- pattern</c> and <c>!</c> lines from a file, as rclone's <c>--filter-from</c>.</summary>
    /// <param name="filePath">The rule file.</param>
    public FilterRulesBuilder AddFilterFrom(string filePath)
    {
        foreach (var (text, number) in ReadRuleLines(filePath))
        {
            _filterFroms.Add(ParseFilterLine(text, filePath, number));
        }

        return this;
    }

    /// <summary>Builds the rules; the builder can be used again afterwards.</summary>
    public FilterRules Build()
    {
        var files = new RuleList();
        var directories = new RuleList();
        foreach (var group in new[] { _includes, _includeFroms, _excludes, _excludeFroms, _filters, _filterFroms })
        {
            foreach (var step in group)
            {
                Apply(step, files, directories);
            }
        }

        if (_impliesExcludeAll)
        {
            Apply(Compile(false, "/**", null, 0), files, directories);
        }

        return files.Rules.Count == 0 && directories.Rules.Count == 0
            ? FilterRules.Empty
            : new FilterRules(files.Rules.ToArray(), directories.Rules.ToArray());
    }

    private static void Apply(Step step, RuleList files, RuleList directories)
    {
        if (step.Clear)
        {
            files.Clear();
            directories.Clear();
            return;
        }

        if (step.FileRule is not null)
        {
            files.Add(step.FileRule);
        }

        foreach (var rule in step.DirectoryRules)
        {
            directories.Add(rule);
        }
    }

    private Step ParseFilterLine(string line, string? source, int lineNumber)
    {
        if (line == "!")
        {
            return Step.ClearAll;
        }

        if (line.StartsWith("- ", StringComparison.Ordinal))
        {
            return Compile(false, line.Substring(2), source, lineNumber);
        }

        if (line.StartsWith("+ ", StringComparison.Ordinal))
        {
            return Compile(true, line.Substring(2), source, lineNumber);
        }

        throw new FilterSyntaxException("malformed rule: expected \"+ pattern\", \"- pattern\" or \"!\"", source, lineNumber, line);
    }

    /// <summary>Turns one pattern into the file and directory rules rclone derives from it.</summary>
    private Step Compile(bool include, string glob, string? source, int lineNumber)
    {
        var original = glob;
        try
        {
            var isDirectoryRule = glob.EndsWith("/", StringComparison.Ordinal);
            var isFileRule = !isDirectoryRule;
            if (isDirectoryRule && !include)
            {
                // Excluding "dir/" excludes the directory and everything in it, like "dir/**".
                glob += "**";
            }

            if (glob.IndexOf("**", StringComparison.Ordinal) >= 0)
            {
                isDirectoryRule = true;
                isFileRule = true;
            }

            var own = MakeRule(include, glob);
            FilterRule? fileRule = null;
            var directoryRules = new List<FilterRule>();
            if (isFileRule)
            {
                fileRule = own;

                // An include needs its parent directories walked; an exclude rules none out, except "*" (all files).
                if (include || glob == "*")
                {
                    foreach (var directoryGlob in GlobPattern.ToDirectoryGlobs(glob))
                    {
                        if (directoryGlob != "/")
                        {
                            directoryRules.Add(MakeRule(include, directoryGlob));
                        }
                    }
                }
            }

            if (isDirectoryRule)
            {
                directoryRules.Add(own);
            }

            return new Step(fileRule, directoryRules.ToArray());
        }
        catch (InvalidPatternException ex)
        {
            throw new FilterSyntaxException(ex.Message, source, lineNumber, original, ex.InnerException);
        }
    }

    private FilterRule MakeRule(bool include, string glob)
    {
        var goRegex = GlobPattern.ToGoRegex(glob, _ignoreCase);
        string dotNet;
        try
        {
            dotNet = GoRegexTranslator.Translate(goRegex);
        }
        catch (InvalidPatternException ex)
        {
            throw new InvalidPatternException($"bad regular expression {goRegex}: {ex.Message}");
        }

        if (!_compiled.TryGetValue(dotNet, out var regex))
        {
            try
            {
                regex = new Regex(dotNet, Options);
            }
            catch (ArgumentException ex)
            {
                throw new InvalidPatternException($"bad regular expression {goRegex}: {ex.Message}", ex);
            }

            _compiled[dotNet] = regex;
        }

        return new FilterRule(include, goRegex, regex);
    }

    private static IEnumerable<(string Text, int Number)> ReadRuleLines(string filePath)
    {
        if (filePath is null)
        {
            throw new ArgumentNullException(nameof(filePath));
        }

        // Split on '\n' only, as rclone's line scanner does; the trim removes a '\r' left by CRLF endings.
        var content = File.ReadAllText(filePath, new UTF8Encoding(false));
        if (content.Length > 0 && content[0] == '\uFEFF')
        {
            content = content.Substring(1);
        }

        var lines = content.Split('\n');
        var result = new List<(string, int)>(lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#' || line[0] == ';')
            {
                continue;
            }

            result.Add((line, i + 1));
        }

        return result;
    }

    private sealed class Step
    {
        public static readonly Step ClearAll = new(null, Array.Empty<FilterRule>()) { Clear = true };

        public Step(FilterRule? fileRule, FilterRule[] directoryRules)
        {
            FileRule = fileRule;
            DirectoryRules = directoryRules;
        }

        public bool Clear { get; private init; }

        public FilterRule? FileRule { get; }

        public FilterRule[] DirectoryRules { get; }
    }

    /// <summary>An ordered rule list that, like rclone's, drops a rule identical to one already in it.</summary>
    private sealed class RuleList
    {
        private readonly HashSet<string> _seen = new(StringComparer.Ordinal);

        public List<FilterRule> Rules { get; } = new();

        public void Add(FilterRule rule)
        {
            if (_seen.Add(rule.ToString()))
            {
                Rules.Add(rule);
            }
        }

        public void Clear()
        {
            Rules.Clear();
            _seen.Clear();
        }
    }
}
