using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text.Json;
using ChittyConnect.Configuration;
using ChittyConnect.Files;

namespace ChittyConnect.Sync;

// The state's file: its JSON, read whole and written crash-safely, compared by hash so an unchanged state is
// not written again.
internal sealed partial class SyncState
{
    // The SHA-256 of the file's bytes as last read or written (null when not known): Save compares against it.
    private byte[]? _persisted;

    /// <summary>
    /// Loads the state; <paramref name="warning"/> says why it was discarded, when it was. Every entry has a
    /// SHA-256 and an MD5, except that an encrypted prefix's (<paramref name="md5Optional"/>) may have no MD5:
    /// its objects hold ciphertext, so the plaintext's MD5 matches nothing and is not computed.
    /// </summary>
    public static SyncState Load(string path, string identity, out string? warning, bool md5Optional = false)
    {
        warning = null;
        var state = new SyncState(path, identity);
        if (!File.Exists(path))
        {
            return state;
        }

        try
        {
            var bytes = File.ReadAllBytes(path);
            using var doc = JsonDocument.Parse(bytes);
            var root = doc.RootElement;
            var version = root.GetProperty("version").GetInt32();
            if (version is < 1 or > CurrentVersion)
            {
                warning = $"The sync state '{path}' has version {version}, this module knows {CurrentVersion}; every file is hashed again.";
                return state;
            }

            if (root.GetProperty("identity").GetString() != identity)
            {
                warning = $"The sync state '{path}' belongs to another folder or prefix; every file is hashed again.";
                return state;
            }

            // A roaming profile or a synced folder can bring another machine's state here: its files are not
            // this machine's, so what it lacks here is not a delete.
            if (version >= 2 && root.GetProperty("machine").GetString() != MachineId.Current)
            {
                warning = $"The sync state '{path}' was written on another machine; this run is a first run (nothing is deleted on its strength, every file is hashed again).";
                return state;
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
                if (entry.Sha256.Length != 64 || (entry.Md5.Length != 32 && !(md5Optional && entry.Md5.Length == 0)) || entry.Size < 0)
                {
                    throw new FormatException($"bad entry '{file.Name}'");
                }

                (version >= 2 ? state.Files : state._inherited)[file.Name] = entry;
            }

            state.ListedInKeyOrder = root.TryGetProperty("listedInKeyOrder", out var ordered) && ordered.GetBoolean();
            if (root.TryGetProperty("moving", out var moving))
            {
                foreach (var m in moving.EnumerateArray())
                {
                    state._moving.Add(m.GetString()!);
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
                    state.PendingUploads[upload.UploadId] = upload;
                }
            }

            using (var sha = SHA256.Create())
            {
                state._persisted = sha.ComputeHash(bytes);
            }

            return state;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or IOException or UnauthorizedAccessException or NullReferenceException)
        {
            warning = $"The sync state '{path}' could not be read ({ex.Message}); every file is hashed again.";
            return new SyncState(path, identity);
        }
    }

    /// <summary>
    /// Writes the state crash-safely: temp file, flush to disk, atomic rename. The JSON goes to the temp file
    /// as it is made (memory stays a small buffer however many files there are) and is hashed on the way; a
    /// state whose content is what the file already holds is not flushed or renamed (the temp file goes), so
    /// a run that changed nothing leaves the file as it was.
    /// </summary>
    public void Save()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        byte[]? written = null;
        // Paths and hashes of the user's files: owner-only, as profiles are.
        AtomicFile.Write(Path, temp => ConfigDirectory.CreatePrivateFile(temp, 1 << 16), file =>
        {
            using var sha = SHA256.Create();
            // A hash transform passes the bytes through unchanged: the file gets them, the hash sees them. It is
            // not disposed: that would close the file, which is flushed to disk (outside the lock, so workers
            // recording finished transfers do not wait for the disk) and closed after this.
            var hashing = new CryptoStream(file, sha, CryptoStreamMode.Write);
            lock (_gate)
            {
                using var w = new Utf8JsonWriter(hashing);
                Write(w);
            }

            hashing.FlushFinalBlock();
            written = sha.Hash!;
            return _persisted is null || !written.AsSpan().SequenceEqual(_persisted);
        });

        lock (_gate)
        {
            _persisted = written;
        }
    }

    // The state as JSON, flushed to the writer's stream every 64 KiB. Called under the lock.
    private void Write(Utf8JsonWriter w)
    {
        const int FlushAt = 1 << 16;
        w.WriteStartObject();
        w.WriteNumber("version", CurrentVersion);
        w.WriteString("identity", Identity);
        w.WriteString("machine", MachineId.Current);
        w.WriteBoolean("listedInKeyOrder", ListedInKeyOrder);
        w.WriteStartObject("files");
        foreach (var pair in Files.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            var e = pair.Value;
            w.WriteStartObject(pair.Key);
            w.WriteNumber("size", e.Size);
            w.WriteNumber("mtime", e.ModifiedTicks);
            w.WriteString("sha256", e.Sha256);
            w.WriteString("md5", e.Md5);
            if (e.RemoteETag is not null)
            {
                w.WriteString("etag", e.RemoteETag);
            }

            w.WriteBoolean("reported", e.Reported);
            w.WriteEndObject();
            if (w.BytesPending > FlushAt)
            {
                w.Flush();
            }
        }

        w.WriteEndObject();
        w.WriteStartArray("pending");
        foreach (var p in PendingUploads.Values)
        {
            w.WriteStartObject();
            w.WriteString("key", p.Key);
            w.WriteString("uploadId", p.UploadId);
            if (p.Sha256 is not null)
            {
                w.WriteString("sha256", p.Sha256);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (_moving.Count > 0)
        {
            w.WriteStartArray("moving");
            foreach (var m in _moving.OrderBy(m => m, StringComparer.Ordinal))
            {
                w.WriteStringValue(m);
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }
}
