using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Globalization;
using System.Text;
using ChittyConnect.Storage;
using System.Security.Cryptography;
using System.Text.Json;
using ChittyConnect.Configuration;
using ChittyConnect.Files;

namespace ChittyConnect.Sync;

// The state's file: lines read and written as a stream (SyncStateFormat), crash-safely, compared by hash so an
// unchanged state is not written again; a JSON state of an earlier version is read once and converted.
internal sealed partial class SyncState
{
    // The SHA-256 of the file's bytes as last read or written (null when not known): Save compares against it.
    private byte[]? _persisted;

    /// <summary>The first word of a state file in lines; the JSON states before it begin with '{'.</summary>
    public const string Signature = "chittyconnect-sync-state";

    /// <summary>
    /// Loads the state; <paramref name="warning"/> says why it was discarded, when it was. Every entry has a
    /// SHA-256 and an MD5, except that an encrypted prefix's (<paramref name="md5Optional"/>) may have no MD5:
    /// its objects hold ciphertext, so the plaintext's MD5 matches nothing and is not computed. The file is
    /// read one line at a time; a JSON state of an earlier version is read whole, once, and written in lines
    /// by the next save. <paramref name="streamed"/> reads the header and the journal only, and leaves the
    /// entries to <see cref="LoadWindow"/> (SyncState.Streamed.cs).
    /// </summary>
    public static SyncState Load(string path, string identity, out string? warning, bool md5Optional = false, bool streamed = false)
    {
        warning = null;
        var source = path;
        string? legacy = null;
        if (!File.Exists(path) && SyncStateLocation.LegacyPathOf(path) is { } legacyPath && File.Exists(legacyPath))
        {
            // The state an earlier version wrote as JSON beside it: read once, replaced by this one's next save.
            source = legacy = legacyPath;
        }

        var state = Fresh();
        if (!File.Exists(source))
        {
            try
            {
                // A first run killed before its first whole save left only its journal.
                state.ReplayJournal(md5Optional);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                warning = $"The sync state's journal '{state.JournalPath}' could not be read ({ex.Message}); every file is hashed again.";
                return Fresh();
            }

            state.CountEntries();
            return state;
        }

        try
        {
            using var sha = SHA256.Create();
            bool json;
            using (var file = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16))
            using (var hashing = new CryptoStream(file, sha, CryptoStreamMode.Read))
            {
                json = file.Length > 0 && file.ReadByte() == '{';
                file.Position = 0;
                warning = json ? state.ReadJson(hashing, md5Optional) : state.ReadLines(hashing, md5Optional);
                if (warning is not null)
                {
                    return Fresh();
                }

                if (!streamed)
                {
                    // Read to the end, so the hash covers the whole file.
                    hashing.CopyTo(Stream.Null);
                }
            }

            if (streamed)
            {
                state.OpenStream(json ? null : source);
            }

            // A JSON state is written again in lines by the next save, whatever it holds.
            state._persisted = state._needsConversion || legacy is not null || streamed ? null : sha.Hash;
            state.ReplayJournal(md5Optional);
            state.CountEntries();
            return state;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or IOException or UnauthorizedAccessException or NullReferenceException or OverflowException)
        {
            warning = $"The sync state '{source}' could not be read ({ex.Message}); every file is hashed again.";
            return Fresh();
        }

        SyncState Fresh() => new(path, identity) { _legacyPath = legacy, _streamed = streamed, _md5Optional = md5Optional };
    }

    // A state in lines (SyncStateFormat); returns why it is not this machine's and target's, or null. In
    // streamed mode it stops at the first entry: the header is read, the entries are the windows' to read.
    private string? ReadLines(Stream stream, bool md5Optional)
    {
        var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true), false, 1 << 16);
        var header = reader.ReadLine() ?? throw new FormatException("the file is empty");
        if (!header.StartsWith(Signature + " ", StringComparison.Ordinal) || !int.TryParse(header.Substring(Signature.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            throw new FormatException("it is not a sync state");
        }

        if (version != CurrentVersion)
        {
            return $"The sync state '{Path}' has version {version}, this module knows {CurrentVersion}; every file is hashed again.";
        }

        long? declared = null;
        var entries = 0L;
        string? line;
        while ((line = reader.ReadLine()) is not null)
        {
            var fields = SyncStateFormat.Split(line);
            switch (fields[0])
            {
                case SyncStateFormat.EntriesTag when fields.Length == 2:
                    declared = long.Parse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture);
                    break;
                case "F" when _streamed:
                    _fileEntries = declared;
                    return null;
                case "identity" when fields.Length == 2:
                    if (fields[1] != Identity)
                    {
                        return $"The sync state '{Path}' belongs to another folder or prefix; every file is hashed again.";
                    }

                    break;
                case "machine" when fields.Length == 2:
                    // A roaming profile or a synced folder can bring another machine's state here: its files
                    // are not this machine's, so what it lacks here is not a delete.
                    if (fields[1] != MachineId.Current)
                    {
                        return $"The sync state '{Path}' was written on another machine; this run is a first run (nothing is deleted on its strength, every file is hashed again).";
                    }

                    break;
                case "listed-in-key-order" when fields.Length == 2:
                    _listedInKeyOrder = fields[1] == "true";
                    break;
                case "P" when fields.Length == 4:
                    PendingUploads[fields[2]] = new PendingUpload { Key = fields[1], UploadId = fields[2], Sha256 = fields[3].Length == 0 ? null : fields[3] };
                    break;
                case "M" when fields.Length == 2:
                    _moving.Add(fields[1]);
                    break;
                case "I" when fields.Length == 3:
                    LoadCreating(fields[1], fields[2]);
                    break;
                case "F":
                    var (rel, entry) = SyncStateFormat.ParseEntry(fields);
                    Files[rel] = Checked(rel, entry, md5Optional);
                    entries++;
                    break;
                default:
                    throw new FormatException($"unknown line '{fields[0]}'");
            }
        }

        if (!_streamed && declared is { } count && count != entries)
        {
            // A file cut short, or grown by something else than a save: not the state a save wrote.
            throw new FormatException($"its header says {count} entries and it holds {entries}");
        }

        _fileEntries = _streamed ? declared ?? 0 : entries;
        return null;
    }

    // A JSON state (versions 1 and 2, read whole): converted to lines by the next save.
    private string? ReadJson(Stream stream, bool md5Optional)
    {
        _needsConversion = true;
        using var doc = JsonDocument.Parse(stream);
        var root = doc.RootElement;
        var version = root.GetProperty("version").GetInt32();
        if (version is < 1 or > 2)
        {
            return $"The sync state '{Path}' has version {version}, this module knows {CurrentVersion}; every file is hashed again.";
        }

        if (root.GetProperty("identity").GetString() != Identity)
        {
            return $"The sync state '{Path}' belongs to another folder or prefix; every file is hashed again.";
        }

        if (version >= 2 && root.GetProperty("machine").GetString() != MachineId.Current)
        {
            return $"The sync state '{Path}' was written on another machine; this run is a first run (nothing is deleted on its strength, every file is hashed again).";
        }

        foreach (var file in root.GetProperty("files").EnumerateObject())
        {
            var v = file.Value;
            var entry = new SyncStateEntry
            {
                Size = v.GetProperty("size").GetInt64(),
                ModifiedTicks = v.GetProperty("mtime").GetInt64(),
                Sha256 = v.GetProperty("sha256").GetString() ?? string.Empty,
                Md5 = v.GetProperty("md5").GetString() ?? string.Empty,
                RemoteETag = v.TryGetProperty("etag", out var etag) ? etag.GetString() : null,
                Reported = v.TryGetProperty("reported", out var reported) && reported.GetBoolean(),
            };
            (version >= 2 ? Files : _inherited)[file.Name] = Checked(file.Name, entry, md5Optional);
        }

        _listedInKeyOrder = root.TryGetProperty("listedInKeyOrder", out var ordered) && ordered.GetBoolean();

        if (root.TryGetProperty("moving", out var moving))
        {
            foreach (var m in moving.EnumerateArray())
            {
                _moving.Add(m.GetString()!);
            }
        }

        if (root.TryGetProperty("pending", out var pending))
        {
            foreach (var p in pending.EnumerateArray())
            {
                var upload = new PendingUpload
                {
                    Key = p.GetProperty("key").GetString()!,
                    UploadId = p.GetProperty("uploadId").GetString()!,
                    Sha256 = p.TryGetProperty("sha256", out var sha) ? sha.GetString() : null,
                };
                PendingUploads[upload.UploadId] = upload;
            }
        }

        return null;
    }

    internal static SyncStateEntry Checked(string relativePath, SyncStateEntry entry, bool md5Optional)
    {
        var md5 = entry.Md5Length;
        if (entry.Sha256Length != 64 || (md5 != 32 && !(md5Optional && md5 == 0)) || entry.Size < 0)
        {
            throw new FormatException($"bad entry '{relativePath}'");
        }

        return entry;
    }

    /// <summary>
    /// Writes the state whole and crash-safely: temp file, flush to disk, atomic rename; then the journal,
    /// which it now holds, goes. The lines go to the temp file as they are made (memory stays a small buffer
    /// however many files there are) and are hashed on the way; a state whose content is what the file
    /// already holds is not flushed or renamed (the temp file goes). A state nothing changed since it was read
    /// or written is not written at all: a sync of unchanged files writes nothing.
    /// </summary>
    public void Save()
    {
        lock (_gate)
        {
            ThrowIfDisposed();
        }

        if (_streamed)
        {
            SaveStreamed();
            return;
        }

        lock (_fileGate)
        {
            var journal = File.Exists(JournalPath);
            lock (_gate)
            {
                if (!_changed && _persisted is not null && !journal)
                {
                    return;
                }
            }

            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            byte[]? written = null;
            try
            {
                // Paths and hashes of the user's files: owner-only, as profiles are.
                AtomicFile.Write(Path, temp => ConfigDirectory.CreatePrivateFile(temp, 1 << 16), file =>
                {
                    using var sha = SHA256.Create();
                    // A hash transform passes the bytes through unchanged: the file gets them, the hash sees them. It
                    // is not disposed: that would close the file, which is flushed to disk (outside the lock, so
                    // workers recording finished transfers do not wait for the disk) and closed after this.
                    var hashing = new CryptoStream(file, sha, CryptoStreamMode.Write);
                    var writer = new StreamWriter(hashing, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
                    lock (_gate)
                    {
                        Write(writer);
                        // What the journal would hold is in this file now.
                        _unjournaled.Clear();
                        _changed = false;
                    }

                    writer.Flush();
                    hashing.FlushFinalBlock();
                    written = sha.Hash!;
                    return _persisted is null || !written.AsSpan().SequenceEqual(_persisted);
                });
            }
            catch
            {
                lock (_gate)
                {
                    _changed = true;
                }

                throw;
            }

            lock (_gate)
            {
                _persisted = written;
            }

            if (journal)
            {
                File.Delete(JournalPath);
            }

            if (_legacyPath is not null)
            {
                File.Delete(_legacyPath);
                _legacyPath = null;
            }
        }
    }

    // The state in lines (SyncStateFormat): the pending uploads and the paths being moved, then one line a
    // file in the keys' order (UTF-8 bytes, as S3 lists them). Called under the lock.
    private void Write(TextWriter w)
    {
        WriteHeader(w, Files.Count);
        foreach (var pair in Files.OrderBy(p => p.Key, RangedListing.KeyOrder))
        {
            SyncStateFormat.WriteEntry(w, pair.Key, pair.Value);
        }
    }

    // Where the digits of the entries line begin: it is the second line, after the signature.
    private static readonly int s_entriesDigitsOffset =
        Encoding.UTF8.GetByteCount(Signature + " " + CurrentVersion.ToString(CultureInfo.InvariantCulture) + "\n" + SyncStateFormat.EntriesTag + "\t");

    // The lines before the files': what the state is, how many entries it holds, whose it is, the pending
    // uploads and the paths being moved. Called under the lock.
    private void WriteHeader(TextWriter w, long entries)
    {
        w.WriteLine(Signature + " " + CurrentVersion.ToString(CultureInfo.InvariantCulture));
        w.WriteLine(SyncStateFormat.EntriesLine(entries));
        w.WriteLine(SyncStateFormat.Join("identity", Identity));
        w.WriteLine(SyncStateFormat.Join("machine", MachineId.Current));
        w.WriteLine(SyncStateFormat.Join("listed-in-key-order", ListedInKeyOrder ? "true" : "false"));
        foreach (var p in PendingUploads.Values)
        {
            w.WriteLine(SyncStateFormat.Join("P", p.Key, p.UploadId, p.Sha256 ?? string.Empty));
        }

        foreach (var c in UploadsBeingCreated)
        {
            w.WriteLine(SyncStateFormat.Join("I", c.Key, c.Value.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)));
        }

        foreach (var m in _moving.OrderBy(m => m, RangedListing.KeyOrder))
        {
            w.WriteLine(SyncStateFormat.Join("M", m));
        }
    }
}
