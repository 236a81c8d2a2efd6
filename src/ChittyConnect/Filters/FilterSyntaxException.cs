using System;

namespace ChittyConnect.Filters;

/// <summary>
/// A filter pattern or filter line that rclone would refuse: an unbalanced <c>[</c> or <c>{</c>, too many
/// stars, a bad <c>{{regexp}}</c>, or a filter line that is not <c>+ pattern</c>, <c>- pattern</c> or <c>!</c>.
/// </summary>
public sealed class FilterSyntaxException : FormatException
{
    private string? _source;

    /// <summary>Creates the exception.</summary>
    /// <param name="reason">What is wrong, without the location.</param>
    /// <param name="source">The rule file the pattern came from, or null for a pattern given directly.</param>
    /// <param name="lineNumber">The 1-based line in <paramref name="source"/>, or 0.</param>
    /// <param name="pattern">The pattern (or the whole filter line) as written.</param>
    /// <param name="innerException">The regular expression parser's error, if any.</param>
    public FilterSyntaxException(string reason, string? source, int lineNumber, string pattern, Exception? innerException = null)
        : base(FormatMessage(reason, source, lineNumber, pattern), innerException)
    {
        Reason = reason;
        _source = source;
        LineNumber = lineNumber;
        Pattern = pattern;
    }

    /// <summary>The rule file the pattern came from, or null when it was given directly (e.g. <c>-Exclude</c>).</summary>
    public override string? Source
    {
        get => _source;
        set => _source = value;
    }

    /// <summary>The 1-based line number in <see cref="Source"/>; 0 when the pattern was not read from a file.</summary>
    public int LineNumber { get; }

    /// <summary>The offending pattern or filter line, as written.</summary>
    public string Pattern { get; }

    /// <summary>What is wrong with the pattern, without its location.</summary>
    public string Reason { get; }

    private static string FormatMessage(string reason, string? source, int lineNumber, string pattern)
    {
        var where = source is null
            ? (lineNumber > 0 ? $"line {lineNumber}: " : string.Empty)
            : (lineNumber > 0 ? $"{source}:{lineNumber}: " : $"{source}: ");
        return $"{where}bad filter pattern \"{pattern}\": {reason}";
    }
}
