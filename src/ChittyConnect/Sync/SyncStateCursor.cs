using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>
/// A forward-only reader of the entries (the F lines) of a state file in lines, in key order
/// (<see cref="RangedListing.KeyOrder"/>), each parsed and checked, with its line as written. The header before
/// the first entry is skipped. A line that cannot be read, a header line among the entries, a key not above
/// the one before, or an entry beyond the count the header declares ends the entries there and
/// <see cref="Damage"/> says why: every reader of one file stops at
/// the same line, so a damaged state loses the entries after it (their files are hashed again, and nothing is
/// deleted on their strength) and never gains one. Memory: one line. Not thread-safe.
/// </summary>
internal sealed class SyncStateCursor : IDisposable
{
    private readonly StreamReader _reader;
    private readonly bool _md5Optional;
    private readonly long? _declared;
    private Item? _next;
    private bool _ended;
    private string? _last;
    private bool _inEntries;
    private long _read;

    /// <summary>
    /// Opens <paramref name="path"/>; <paramref name="declared"/> is the number of entries its header gives (a
    /// file cut short at a line's end is found by it).
    /// </summary>
    public SyncStateCursor(string path, bool md5Optional, long? declared = null)
    {
        // Delete is shared so that a save can replace the file this cursor was reading.
        var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16);
        _reader = new StreamReader(file, new UTF8Encoding(false, throwOnInvalidBytes: true), false, 1 << 16);
        _md5Optional = md5Optional;
        _declared = declared;
        Path = path;
    }

    public string Path { get; }

    /// <summary>Why the entries ended before the end of the file, or null.</summary>
    public string? Damage { get; private set; }

    /// <summary>The next entry, not yet taken, or null at the end.</summary>
    public Item? Peek()
    {
        if (_next is null && !_ended)
        {
            _next = ReadNext();
            _ended = _next is null;
        }

        return _next;
    }

    /// <summary>Takes the next entry, or null at the end.</summary>
    public Item? Take()
    {
        var item = Peek();
        _next = null;
        return item;
    }

    public void Dispose() => _reader.Dispose();

    private Item? ReadNext()
    {
        string? line;
        try
        {
            while ((line = _reader.ReadLine()) is not null)
            {
                if (!_inEntries && !line.StartsWith("F\t", StringComparison.Ordinal))
                {
                    continue;
                }

                _inEntries = true;
                if (_declared is { } count && _read == count)
                {
                    // Grown by something else than a save: what follows the declared entries is not the state's.
                    return Damaged($"its header says {count} entries, it holds more");
                }

                var fields = SyncStateFormat.Split(line);
                if (fields[0] != "F")
                {
                    return Damaged($"a '{fields[0]}' line among the entries");
                }

                var (key, entry) = SyncStateFormat.ParseEntry(fields);
                if (_last is not null && RangedListing.CompareKeys(_last, key) >= 0)
                {
                    return Damaged($"'{key}' is not above '{_last}'");
                }

                _last = key;
                _read++;
                return new Item(key, line, SyncState.Checked(key, entry, _md5Optional));
            }
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or DecoderFallbackException)
        {
            return Damaged(ex.Message);
        }

        return _declared is { } declared && declared != _read ? Damaged($"its header says {declared} entries, it ends after {_read}") : null;
    }

    private Item? Damaged(string why)
    {
        Damage = $"The sync state '{Path}' is damaged after '{_last}' ({why}); the entries after it are not used, and their files are hashed again.";
        return null;
    }

    /// <summary>
    /// Up to <paramref name="count"/> keys of the entries of the state file <paramref name="path"/>, in key order,
    /// spread evenly over the file's bytes: the key of the first entry starting at or after each of
    /// <paramref name="count"/> evenly spaced offsets, so only those lines are read. The keys are a hint (split
    /// points of a listing, which checks what it gets): a line that cannot be read or a key not above the last
    /// one ends the sample there, and the damage is left to the cursor that reads the entries.
    /// </summary>
    public static IReadOnlyList<string> SampleKeys(string path, int count)
    {
        var picked = new List<string>();
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 12);
        var length = file.Length;
        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);
        var line = new List<byte>(256);
        try
        {
            // Where the last line read began, and where the line after it begins.
            long lastStart = -1, nextStart = 0;
            for (var j = 0; j < count; j++)
            {
                // The first line that begins at or after the offset.
                var offset = (long)((double)j * length / count);
                if (offset <= lastStart)
                {
                    continue;
                }

                if (offset > nextStart)
                {
                    file.Position = offset - 1;
                    if (!SkipLine(file))
                    {
                        break;
                    }
                }
                else
                {
                    file.Position = nextStart;
                }

                string? key = null;
                while (true)
                {
                    lastStart = file.Position;
                    if (!ReadLine(file, line))
                    {
                        break;
                    }

                    nextStart = file.Position;
                    if (line.Count > 2 && line[0] == (byte)'F' && line[1] == (byte)'\t')
                    {
                        var fields = SyncStateFormat.Split(utf8.GetString(line.ToArray()));
                        key = fields.Length > 1 ? fields[1] : null;
                        break;
                    }
                }

                if (key is null || (picked.Count > 0 && RangedListing.CompareKeys(picked[picked.Count - 1], key) >= 0))
                {
                    break;
                }

                picked.Add(key);
            }
        }
        catch (Exception ex) when (ex is FormatException or DecoderFallbackException or IOException)
        {
            // What was picked before the line that could not be read stands.
        }

        return picked;
    }

    // Reads up to and past the next newline; false at the end of the file.
    private static bool SkipLine(Stream file)
    {
        int b;
        while ((b = file.ReadByte()) >= 0)
        {
            if (b == '\n')
            {
                return true;
            }
        }

        return false;
    }

    // The bytes of the next line, without its newline, into line; false at the end of the file. UTF-8 never
    // holds the newline's byte inside a character, so a line is found by its bytes.
    private static bool ReadLine(Stream file, List<byte> line)
    {
        line.Clear();
        int b;
        while ((b = file.ReadByte()) >= 0)
        {
            if (b == '\n')
            {
                return true;
            }

            line.Add((byte)b);
        }

        return line.Count > 0;
    }

    /// <summary>One entry, its key and its line as the file holds it.</summary>
    public sealed record Item(string Key, string Line, SyncStateEntry Entry);
}
