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
    /// The keys of the entries at <paramref name="indices"/> (0-based among the entries, strictly ascending) of the
    /// state file <paramref name="path"/>, in one pass over its bytes that makes only those keys, so that split
    /// points for a listing cost no parse of the state. The keys are a hint (the listing checks what it gets): a
    /// line that cannot be read or a key not above the one before ends the result there, and the damage is left
    /// to the cursor that reads the entries; an index past the last entry ends it too.
    /// </summary>
    public static IReadOnlyList<string> KeysAt(string path, IReadOnlyList<long> indices)
    {
        var keys = new List<string>(indices.Count);
        if (indices.Count == 0)
        {
            return keys;
        }

        var utf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);
        var line = new List<byte>(256);
        var buffer = new byte[1 << 16];
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1);
        // Where the scan is: the index of the last entry line begun, the byte's column in its line, the line's
        // first byte, and whether the line is one whose key is wanted.
        long entry = -1;
        var column = 0;
        byte first = 0;
        var collecting = false;
        try
        {
            int read;
            while ((read = file.Read(buffer, 0, buffer.Length)) > 0)
            {
                for (var i = 0; i < read; i++)
                {
                    var b = buffer[i];
                    if (b == (byte)'\n')
                    {
                        if (collecting && (!Picked(utf8, line, keys) || keys.Count == indices.Count))
                        {
                            return keys;
                        }

                        collecting = false;
                        column = 0;
                        continue;
                    }

                    if (column == 0)
                    {
                        first = b;
                    }
                    else if (column == 1 && first == (byte)'F' && b == (byte)'\t' && ++entry == indices[keys.Count])
                    {
                        collecting = true;
                        line.Clear();
                    }
                    else if (collecting)
                    {
                        line.Add(b);
                    }

                    column++;
                }
            }

            if (collecting)
            {
                Picked(utf8, line, keys);
            }
        }
        catch (IOException)
        {
            // What was picked before the read failed stands.
        }

        return keys;
    }

    // Adds the key of a wanted entry line (its bytes after "F\t"); false when it cannot be read or is not above the last key.
    private static bool Picked(UTF8Encoding utf8, List<byte> afterTag, List<string> keys)
    {
        string key;
        try
        {
            key = SyncStateFormat.Split(utf8.GetString(afterTag.ToArray()))[0];
        }
        catch (Exception ex) when (ex is FormatException or DecoderFallbackException)
        {
            return false;
        }

        if (key.Length == 0 || (keys.Count > 0 && RangedListing.CompareKeys(keys[keys.Count - 1], key) >= 0))
        {
            return false;
        }

        keys.Add(key);
        return true;
    }

    /// <summary>One entry, its key and its line as the file holds it.</summary>
    public sealed record Item(string Key, string Line, SyncStateEntry Entry);
}
