using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Text;

namespace ChittyConnect.Sync;

/// <summary>
/// The lines of a state file: fields separated by tabs, a tab, newline, carriage return or backslash in a
/// field written as \t, \n, \r or \\, so every line is one record whatever the names hold. A file's line:
/// <c>F path size mtime-ticks sha256 md5 etag reported</c>, where the MD5 is empty for an encrypted prefix,
/// the ETag is <c>=</c> when it is the MD5, <c>-</c> when not known and <c>:</c> followed by itself otherwise,
/// and reported is <c>r</c> or <c>-</c>: about 150 bytes a file.
/// </summary>
internal static class SyncStateFormat
{
    /// <summary>The tag of the header line that says how many entries (F lines) the file holds.</summary>
    public const string EntriesTag = "entries";

    /// <summary>
    /// The digits of the entries line: a fixed width, so that a save streaming its entries writes the count in
    /// place once it knows it, without a second pass over the file.
    /// </summary>
    public const int EntriesDigits = 12;

    /// <summary>The header line saying the file holds <paramref name="entries"/> entries.</summary>
    public static string EntriesLine(long entries) =>
        Join(EntriesTag, entries.ToString("D" + EntriesDigits.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture));

    /// <summary>One line of <paramref name="fields"/>, escaped.</summary>
    public static string Join(params string[] fields)
    {
        var line = new StringBuilder();
        for (var i = 0; i < fields.Length; i++)
        {
            if (i > 0)
            {
                line.Append('\t');
            }

            Escape(line, fields[i]);
        }

        return line.ToString();
    }

    /// <summary>The fields of <paramref name="line"/>, unescaped.</summary>
    public static string[] Split(string line)
    {
        // Most lines hold no escape: each field is then a piece of the line as it is. This runs for every entry of
        // every window of a run, so it allocates only the fields and their array.
        if (line.IndexOf('\\') < 0)
        {
            var count = 1;
            foreach (var c in line)
            {
                if (c == '\t')
                {
                    count++;
                }
            }

            var plain = new string[count];
            var start = 0;
            for (var i = 0; i < count; i++)
            {
                var end = i == count - 1 ? line.Length : line.IndexOf('\t', start);
                plain[i] = end - start == 1 ? OneCharacter(line, start) : line.Substring(start, end - start);
                start = end + 1;
            }

            return plain;
        }

        var fields = new List<string>(8);
        var field = new StringBuilder();
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (c == '\t')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\\')
            {
                if (++i == line.Length)
                {
                    throw new FormatException("a line ends in a lone backslash");
                }

                field.Append(line[i] switch
                {
                    't' => '\t',
                    'n' => '\n',
                    'r' => '\r',
                    '\\' => '\\',
                    _ => throw new FormatException($"unknown escape '\\{line[i]}'"),
                });
            }
            else
            {
                field.Append(c);
            }
        }

        fields.Add(field.ToString());
        return fields.ToArray();
    }

    // The one-character fields of an entry's line (its tag, the ETag that is the MD5, the reported flag) as
    // the same strings every time.
    private static string OneCharacter(string line, int at) => line[at] switch
    {
        'F' => "F",
        '=' => "=",
        '-' => "-",
        'r' => "r",
        _ => line.Substring(at, 1),
    };

    /// <summary>Writes the line of one file's entry.</summary>
    public static void WriteEntry(TextWriter w, string relativePath, SyncStateEntry e) => w.WriteLine(EntryLine(relativePath, e));

    /// <summary>The line of one file's entry, without its newline.</summary>
    public static string EntryLine(string relativePath, SyncStateEntry e)
    {
        var md5 = e.Md5;
        var etag = e.RemoteETag;
        return Join(
            "F",
            relativePath,
            e.Size.ToString(CultureInfo.InvariantCulture),
            e.ModifiedTicks.ToString(CultureInfo.InvariantCulture),
            e.Sha256,
            md5,
            etag is null ? "-" : md5.Length > 0 && etag == md5 ? "=" : ":" + etag,
            e.Reported ? "r" : "-");
    }

    /// <summary>The path and entry of a file's line split into <paramref name="fields"/>.</summary>
    public static (string RelativePath, SyncStateEntry Entry) ParseEntry(string[] fields)
    {
        if (fields.Length != 8 || fields[1].Length == 0)
        {
            throw new FormatException("a file's line has not 8 fields");
        }

        var md5 = fields[5];
        var etag = fields[6];
        var entry = new SyncStateEntry
        {
            Size = long.Parse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture),
            ModifiedTicks = long.Parse(fields[3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
            Sha256 = fields[4],
            Md5 = md5,
            RemoteETag = etag switch
            {
                "-" => null,
                "=" => md5,
                _ when etag.StartsWith(":", StringComparison.Ordinal) => etag.Substring(1),
                _ => throw new FormatException($"bad ETag field '{etag}'"),
            },
            Reported = fields[7] switch
            {
                "r" => true,
                "-" => false,
                _ => throw new FormatException($"bad reported field '{fields[7]}'"),
            },
        };
        return (fields[1], entry);
    }

    private static void Escape(StringBuilder line, string field)
    {
        foreach (var c in field)
        {
            _ = c switch
            {
                '\t' => line.Append("\\t"),
                '\n' => line.Append("\\n"),
                '\r' => line.Append("\\r"),
                '\\' => line.Append("\\\\"),
                _ => line.Append(c),
            };
        }
    }
}
