using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace ChittyConnect.Filters;

/// <summary>
/// Rewrites a Go (RE2) regular expression as a .NET one with the same meaning on file paths, and rejects what
/// Go would reject (backreferences, lookaround), so a pattern rclone refuses is refused here too.
/// </summary>
/// <remarks>
/// Differences handled: Go's <c>\d \w \s</c> and <c>[[:alpha:]]</c> are ASCII-only; Go's <c>$</c> is the end of
/// the text (.NET's also matches before a final newline); Go matches whole code points where .NET matches UTF-16
/// units, so a lone <c>?</c>, <c>.</c> or negated class also accepts a surrogate pair; <c>(?P&lt;n&gt;</c>,
/// <c>\Q...\E</c>, <c>\x{h}</c>, <c>\pL</c> and octal escapes are spelled the .NET way.
/// </remarks>
internal static class GoRegexTranslator
{
    private const string AnyAstral = @"[\uD800-\uDBFF][\uDC00-\uDFFF]";

    private static readonly Dictionary<string, (char Lo, char Hi)[]> s_asciiClasses = new(StringComparer.Ordinal)
    {
        ["alnum"] = new[] { ('0', '9'), ('A', 'Z'), ('a', 'z') },
        ["alpha"] = new[] { ('A', 'Z'), ('a', 'z') },
        ["ascii"] = new[] { ('\x00', '\x7F') },
        ["blank"] = new[] { ('\t', '\t'), (' ', ' ') },
        ["cntrl"] = new[] { ('\x00', '\x1F'), ('\x7F', '\x7F') },
        ["digit"] = new[] { ('0', '9') },
        ["graph"] = new[] { ('!', '~') },
        ["lower"] = new[] { ('a', 'z') },
        ["print"] = new[] { (' ', '~') },
        ["punct"] = new[] { ('!', '/'), (':', '@'), ('[', '`'), ('{', '~') },
        ["space"] = new[] { ('\t', '\r'), (' ', ' ') },
        ["upper"] = new[] { ('A', 'Z') },
        ["word"] = new[] { ('0', '9'), ('A', 'Z'), ('a', 'z'), ('_', '_') },
        ["xdigit"] = new[] { ('0', '9'), ('A', 'F'), ('a', 'f') },
    };

    private static readonly Dictionary<char, (char Lo, char Hi)[]> s_perlClasses = new()
    {
        ['d'] = new[] { ('0', '9') },
        ['s'] = new[] { ('\t', '\n'), ('\f', '\r'), (' ', ' ') },
        ['w'] = new[] { ('0', '9'), ('A', 'Z'), ('a', 'z'), ('_', '_') },
    };

    /// <summary>The .NET pattern for <paramref name="goRegex"/>; throws <see cref="InvalidPatternException"/>.</summary>
    public static string Translate(string goRegex) => new Translation(goRegex).Run();

    private sealed class Translation
    {
        private readonly string _src;
        private readonly StringBuilder _out;
        private int _pos;
        private bool _multiline;

        public Translation(string src)
        {
            _src = src;
            _out = new StringBuilder(src.Length * 2);
        }

        public string Run()
        {
            while (_pos < _src.Length)
            {
                var c = _src[_pos];
                switch (c)
                {
                    case '\\':
                        TranslateEscape();
                        break;
                    case '[':
                        TranslateClass();
                        break;
                    case '(':
                        TranslateGroupOpen();
                        break;
                    case '.':
                        _pos++;
                        _out.Append(FollowedByUnboundedRepeat() ? "." : "(?:" + AnyAstral + "|.)");
                        break;
                    case '$':
                        _pos++;
                        // Go's '$' is the end of the text unless (?m); .NET's would also match before a final '\n'.
                        _out.Append(_multiline ? "$" : @"\z");
                        break;
                    case '{':
                        TranslateBrace();
                        break;
                    case '}':
                        _pos++;
                        _out.Append(@"\}");
                        break;
                    case '*':
                    case '+':
                    case '?':
                        _pos++;
                        _out.Append(c);
                        if (_pos < _src.Length && (_src[_pos] == '*' || _src[_pos] == '+'))
                        {
                            throw new InvalidPatternException($"invalid nested repetition operator: `{c}{_src[_pos]}`");
                        }

                        break;
                    default:
                        if (char.IsHighSurrogate(c) && _pos + 1 < _src.Length && char.IsLowSurrogate(_src[_pos + 1]))
                        {
                            // Keep a code point one unit, so a following quantifier applies to all of it.
                            _out.Append("(?:").Append(c).Append(_src[_pos + 1]).Append(')');
                            _pos += 2;
                        }
                        else
                        {
                            _out.Append(c);
                            _pos++;
                        }

                        break;
                }
            }

            return _out.ToString();
        }

        private bool FollowedByUnboundedRepeat() =>
            _pos < _src.Length && (_src[_pos] == '*' || _src[_pos] == '+');

        private void TranslateGroupOpen()
        {
            _pos++;
            if (_pos >= _src.Length || _src[_pos] != '?')
            {
                _out.Append('(');
                return;
            }

            var rest = _src.Substring(_pos + 1);
            if (rest.StartsWith("P<", StringComparison.Ordinal) || rest.StartsWith("<", StringComparison.Ordinal)
                && !rest.StartsWith("<=", StringComparison.Ordinal) && !rest.StartsWith("<!", StringComparison.Ordinal))
            {
                var nameStart = _pos + (rest[0] == 'P' ? 3 : 2);
                var close = _src.IndexOf('>', nameStart);
                if (close < 0)
                {
                    throw new InvalidPatternException($"invalid named capture: `{_src.Substring(_pos - 1)}`");
                }

                var name = _src.Substring(nameStart, close - nameStart);
                if (name.Length == 0 || !IsWordOnly(name))
                {
                    throw new InvalidPatternException($"invalid named capture: `{_src.Substring(_pos - 1, close - _pos + 2)}`");
                }

                // .NET would read an all-digit name as a group number.
                _out.Append("(?<").Append(char.IsDigit(name[0]) ? "_" + name : name).Append('>');
                _pos = close + 1;
                return;
            }

            // Flags: (?i) (?-s) (?im:...). Go knows i, m, s and U.
            var end = _pos + 1;
            var sawFlag = false;
            while (end < _src.Length && _src[end] != ')' && _src[end] != ':')
            {
                var f = _src[end];
                if (f == 'U')
                {
                    throw new InvalidPatternException("the ungreedy flag (?U) is not supported here");
                }

                if (f != 'i' && f != 'm' && f != 's' && f != '-')
                {
                    throw new InvalidPatternException($"invalid or unsupported Perl syntax: `(?{f}`");
                }

                if (f == 'm')
                {
                    _multiline = true;
                }

                sawFlag |= f != '-';
                end++;
            }

            if (end >= _src.Length || (!sawFlag && _src[end] == ')'))
            {
                throw new InvalidPatternException($"invalid or unsupported Perl syntax: `{_src.Substring(_pos - 1)}`");
            }

            _out.Append('(').Append(_src, _pos, end - _pos + 1);
            _pos = end + 1;
        }

        private void TranslateBrace()
        {
            // A well-formed {n}, {n,} or {n,m} is a repeat; Go reads any other '{' literally.
            var close = _src.IndexOf('}', _pos);
            if (close > _pos)
            {
                var body = _src.Substring(_pos + 1, close - _pos - 1);
                var parts = body.Split(',');
                if (parts.Length <= 2 && parts[0].Length > 0 && IsDigits(parts[0])
                    && (parts.Length == 1 || parts[1].Length == 0 || IsDigits(parts[1])))
                {
                    foreach (var part in parts)
                    {
                        if (part.Length > 0 && (part.Length > 4 || int.Parse(part, CultureInfo.InvariantCulture) > 1000))
                        {
                            throw new InvalidPatternException($"invalid repeat count: `{{{body}}}`");
                        }
                    }

                    _out.Append('{').Append(body).Append('}');
                    _pos = close + 1;
                    return;
                }
            }

            _out.Append(@"\{");
            _pos++;
        }

        private void TranslateEscape()
        {
            if (_pos + 1 >= _src.Length)
            {
                throw new InvalidPatternException("trailing backslash at end of expression");
            }

            var e = _src[_pos + 1];
            switch (e)
            {
                case 'd':
                case 'D':
                case 's':
                case 'S':
                case 'w':
                case 'W':
                {
                    _pos += 2;
                    var negated = char.IsUpper(e);
                    var ranges = s_perlClasses[char.ToLowerInvariant(e)];
                    var cls = "[" + (negated ? "^" : string.Empty) + RangesToClassBody(ranges) + "]";
                    _out.Append(negated && !FollowedByUnboundedRepeat() ? "(?:" + AnyAstral + "|" + cls + ")" : cls);
                    return;
                }
                case 'p':
                case 'P':
                    _out.Append(ReadUnicodeClass());
                    return;
                case 'Q':
                {
                    var endQuote = _src.IndexOf(@"\E", _pos + 2, StringComparison.Ordinal);
                    var literal = endQuote < 0 ? _src.Substring(_pos + 2) : _src.Substring(_pos + 2, endQuote - _pos - 2);
                    _pos = endQuote < 0 ? _src.Length : endQuote + 2;
                    _out.Append("(?:").Append(System.Text.RegularExpressions.Regex.Escape(literal)).Append(')');
                    return;
                }
                case 'A':
                case 'z':
                case 'b':
                case 'B':
                    _out.Append('\\').Append(e);
                    _pos += 2;
                    return;
                default:
                    AppendLiteralUnit(ReadEscapedChar());
                    return;
            }
        }

        /// <summary>Reads an escape that stands for one character (after '\'), advancing past it.</summary>
        private int ReadEscapedChar()
        {
            var e = _src[_pos + 1];
            switch (e)
            {
                case 'a': _pos += 2; return 7;
                case 'f': _pos += 2; return 12;
                case 't': _pos += 2; return 9;
                case 'n': _pos += 2; return 10;
                case 'r': _pos += 2; return 13;
                case 'v': _pos += 2; return 11;
                case 'x':
                {
                    if (_pos + 2 < _src.Length && _src[_pos + 2] == '{')
                    {
                        var close = _src.IndexOf('}', _pos + 3);
                        var hex = close < 0 ? string.Empty : _src.Substring(_pos + 3, close - _pos - 3);
                        if (hex.Length == 0 || !int.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var cp) || cp > 0x10FFFF)
                        {
                            throw new InvalidPatternException($"invalid escape sequence: `\\x{{{hex}`");
                        }

                        _pos = close + 1;
                        return cp;
                    }

                    if (_pos + 3 < _src.Length && IsHex(_src[_pos + 2]) && IsHex(_src[_pos + 3]))
                    {
                        var value = int.Parse(_src.Substring(_pos + 2, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
                        _pos += 4;
                        return value;
                    }

                    throw new InvalidPatternException(@"invalid escape sequence: `\x`");
                }

                case >= '0' and <= '7':
                {
                    // Go has no backreferences: a lone \1-\7 is an error, \0 or two-plus digits is octal.
                    var digits = 1;
                    while (digits < 3 && _pos + 1 + digits < _src.Length && _src[_pos + 1 + digits] is >= '0' and <= '7')
                    {
                        digits++;
                    }

                    if (e != '0' && digits == 1)
                    {
                        throw new InvalidPatternException($"invalid escape sequence: `\\{e}`");
                    }

                    var value = Convert.ToInt32(_src.Substring(_pos + 1, digits), 8);
                    _pos += 1 + digits;
                    return value;
                }

                default:
                    if (e < 0x80 && !char.IsLetterOrDigit(e) && e != '_')
                    {
                        _pos += 2;
                        return e;
                    }

                    throw new InvalidPatternException($"invalid escape sequence: `\\{e}`");
            }
        }

        private string ReadUnicodeClass()
        {
            // \pL, \p{Greek}, \PL, \p{^L}
            var negated = _src[_pos + 1] == 'P';
            string name;
            if (_pos + 2 < _src.Length && _src[_pos + 2] == '{')
            {
                var close = _src.IndexOf('}', _pos + 3);
                if (close < 0)
                {
                    throw new InvalidPatternException("invalid character class range: missing '}'");
                }

                name = _src.Substring(_pos + 3, close - _pos - 3);
                _pos = close + 1;
            }
            else if (_pos + 2 < _src.Length)
            {
                name = _src[_pos + 2].ToString();
                _pos += 3;
            }
            else
            {
                throw new InvalidPatternException(@"invalid character class range: `\p`");
            }

            if (name.StartsWith("^", StringComparison.Ordinal))
            {
                negated = !negated;
                name = name.Substring(1);
            }

            return (negated ? @"\P{" : @"\p{") + name + "}";
        }

        private void TranslateClass()
        {
            var start = _pos;
            _pos++;
            var negated = false;
            if (_pos < _src.Length && _src[_pos] == '^')
            {
                negated = true;
                _pos++;
            }

            var body = new StringBuilder();
            var astral = new List<string>();
            var first = true;
            while (true)
            {
                if (_pos >= _src.Length)
                {
                    throw new InvalidPatternException($"missing closing ]: `{_src.Substring(start)}`");
                }

                var c = _src[_pos];
                if (c == ']' && !first)
                {
                    _pos++;
                    break;
                }

                first = false;
                if (c == '[' && _pos + 1 < _src.Length && _src[_pos + 1] == ':')
                {
                    var close = _src.IndexOf(":]", _pos + 2, StringComparison.Ordinal);
                    if (close > 0)
                    {
                        var name = _src.Substring(_pos + 2, close - _pos - 2);
                        var notName = name.StartsWith("^", StringComparison.Ordinal);
                        if (notName)
                        {
                            name = name.Substring(1);
                        }

                        if (!s_asciiClasses.TryGetValue(name, out var ranges))
                        {
                            throw new InvalidPatternException($"invalid character class range: `{_src.Substring(_pos, close + 2 - _pos)}`");
                        }

                        body.Append(RangesToClassBody(notName ? Complement(ranges) : ranges));
                        _pos = close + 2;
                        continue;
                    }
                }

                if (c == '\\' && _pos + 1 < _src.Length)
                {
                    var e = _src[_pos + 1];
                    if (s_perlClasses.TryGetValue(char.ToLowerInvariant(e), out var perl))
                    {
                        body.Append(RangesToClassBody(char.IsUpper(e) ? Complement(perl) : perl));
                        _pos += 2;
                        continue;
                    }

                    if (e == 'p' || e == 'P')
                    {
                        body.Append(ReadUnicodeClass());
                        continue;
                    }
                }

                var lo = ReadClassChar();
                if (_pos + 1 < _src.Length && _src[_pos] == '-' && _src[_pos + 1] != ']')
                {
                    _pos++;
                    var hi = ReadClassChar();
                    if (hi < lo)
                    {
                        throw new InvalidPatternException($"invalid character class range: `{_src.Substring(start, _pos - start)}`");
                    }

                    if (hi > 0xFFFF)
                    {
                        throw new InvalidPatternException("character ranges beyond U+FFFF are not supported");
                    }

                    body.Append(Unit((char)lo)).Append('-').Append(Unit((char)hi));
                }
                else if (lo > 0xFFFF)
                {
                    astral.Add(char.ConvertFromUtf32(lo));
                }
                else
                {
                    body.Append(Unit((char)lo));
                }
            }

            var bmp = body.Length == 0 ? null : "[" + (negated ? "^" : string.Empty) + body + "]";
            if (negated)
            {
                // A negated class matches any code point outside it, so a whole surrogate pair too.
                var pairs = AnyAstral;
                foreach (var a in astral)
                {
                    pairs = "(?!" + a + ")" + pairs;
                }

                bmp ??= @"[\u0000-\uFFFF]";
                _out.Append(astral.Count == 0 && FollowedByUnboundedRepeat() ? bmp : "(?:" + pairs + "|" + bmp + ")");
                return;
            }

            if (astral.Count == 0)
            {
                _out.Append(bmp);
                return;
            }

            _out.Append("(?:");
            if (bmp is not null)
            {
                _out.Append(bmp).Append('|');
            }

            _out.Append(string.Join("|", astral)).Append(')');
        }

        /// <summary>Reads one member of a class, returning its code point.</summary>
        private int ReadClassChar()
        {
            var c = _src[_pos];
            if (c == '\\')
            {
                if (_pos + 1 >= _src.Length)
                {
                    throw new InvalidPatternException("trailing backslash at end of expression");
                }

                return ReadEscapedChar();
            }

            if (char.IsHighSurrogate(c) && _pos + 1 < _src.Length && char.IsLowSurrogate(_src[_pos + 1]))
            {
                _pos += 2;
                return char.ConvertToUtf32(c, _src[_pos - 1]);
            }

            _pos++;
            return c;
        }

        private void AppendLiteralUnit(int codePoint)
        {
            if (codePoint > 0xFFFF)
            {
                _out.Append("(?:").Append(char.ConvertFromUtf32(codePoint)).Append(')');
            }
            else
            {
                _out.Append(Unit((char)codePoint));
            }
        }
    }

    private static string Unit(char c) =>
        char.IsLetterOrDigit(c) && c < 0x80 ? c.ToString() : "\\u" + ((int)c).ToString("X4", CultureInfo.InvariantCulture);

    private static string RangesToClassBody(IEnumerable<(char Lo, char Hi)> ranges)
    {
        var sb = new StringBuilder();
        foreach (var (lo, hi) in ranges)
        {
            sb.Append(Unit(lo));
            if (hi != lo)
            {
                sb.Append('-').Append(Unit(hi));
            }
        }

        return sb.ToString();
    }

    private static IEnumerable<(char Lo, char Hi)> Complement((char Lo, char Hi)[] ranges)
    {
        var next = 0;
        foreach (var (lo, hi) in ranges)
        {
            if (lo > next)
            {
                yield return ((char)next, (char)(lo - 1));
            }

            next = hi + 1;
        }

        if (next <= 0xFFFF)
        {
            yield return ((char)next, '\uFFFF');
        }
    }

    private static bool IsDigits(string s)
    {
        foreach (var c in s)
        {
            if (c < '0' || c > '9')
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsWordOnly(string s)
    {
        foreach (var c in s)
        {
            if (!(c == '_' || (c < 0x80 && char.IsLetterOrDigit(c))))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsHex(char c) => c is >= '0' and <= '9' or >= 'a' and <= 'f' or >= 'A' and <= 'F';
}
