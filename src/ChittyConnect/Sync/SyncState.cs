using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ChittyConnect.Configuration;
using ChittyConnect.Hashing;

namespace ChittyConnect.Sync;

/// <summary>What the state remembers of one local file.</summary>
internal sealed class SyncStateEntry
{
    public long Size { get; set; }

    /// <summary>Last-write time, UTC ticks: with the size, the key that makes the hashes trustworthy.</summary>
    public long ModifiedTicks { get; set; }

    public string Sha256 { get; set; } = string.Empty;

    public string Md5 { get; set; } = string.Empty;

    /// <summary>The ETag of the object this content was last uploaded as or verified against (multipart ETags are not MD5s).</summary>
    public string? RemoteETag { get; set; }

    /// <summary>True once the service confirmed a sync report naming this content.</summary>
    public bool Reported { get; set; }
}

/// <summary>A multipart upload that was started and not yet completed or aborted.</summary>
internal sealed class PendingUpload
{
    public string Key { get; set; } = string.Empty;

    public string UploadId { get; set; } = string.Empty;

    /// <summary>SHA-256 of the content being uploaded: the upload is resumed only for that same content.</summary>
    public string? Sha256 { get; set; }
}

/// <summary>
/// The per-(folder, endpoint, bucket, prefix) cache of file hashes. It is only ever a cache: when it is
/// missing, corrupt, of a future version or for another target, everything is rehashed. Writes go to a
/// temporary file that is flushed to disk and renamed over the old one, so a crash leaves either state.
/// </summary>
internal sealed class SyncState
{
    public const int CurrentVersion = 1;

    private readonly object _gate = new();

    public SyncState(string path, string identity)
    {
        Path = path;
        Identity = identity;
    }

    public string Path { get; }

    public string Identity { get; }

    public Dictionary<string, SyncStateEntry> Files { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, PendingUpload> PendingUploads { get; } = new(StringComparer.Ordinal);

    public object Gate => _gate;

    /// <summary>The state file for this target under <paramref name="directory"/> (default: the config directory).</summary>
    public static string PathFor(string? directory, string localPath, Uri endpoint, string bucket, string prefix, out string identity)
    {
        directory ??= DefaultDirectory();
        identity = string.Join("\n", NormalizeFolder(localPath), endpoint.GetLeftPart(UriPartial.Authority).ToLowerInvariant(), bucket, prefix);
        using var sha = SHA256.Create();
        var hash = ContentHasher.ToHex(sha.ComputeHash(Encoding.UTF8.GetBytes(identity))).Substring(0, 32);
        return System.IO.Path.Combine(directory, hash + ".json");
    }

    public static string DefaultDirectory() => System.IO.Path.Combine(ConfigDirectory.Root, "sync-state");

    /// <summary>Loads the state; <paramref name="warning"/> says why it was discarded, when it was.</summary>
    public static SyncState Load(string path, string identity, out string? warning)
    {
        warning = null;
        var state = new SyncState(path, identity);
        if (!File.Exists(path))
        {
            return state;
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = doc.RootElement;
            var version = root.GetProperty("version").GetInt32();
            if (version != CurrentVersion)
            {
                warning = $"The sync state '{path}' has version {version}, this module knows {CurrentVersion}; every file is hashed again.";
                return state;
            }

            if (root.GetProperty("identity").GetString() != identity)
            {
                warning = $"The sync state '{path}' belongs to another folder or prefix; every file is hashed again.";
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
                if (entry.Sha256.Length != 64 || entry.Md5.Length != 32 || entry.Size < 0)
                {
                    throw new FormatException($"bad entry '{file.Name}'");
                }

                state.Files[file.Name] = entry;
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

            return state;
        }
        catch (Exception ex) when (ex is JsonException or FormatException or KeyNotFoundException or InvalidOperationException or IOException or UnauthorizedAccessException or NullReferenceException)
        {
            warning = $"The sync state '{path}' could not be read ({ex.Message}); every file is hashed again.";
            return new SyncState(path, identity);
        }
    }

    /// <summary>Writes the state crash-safely: temp file, flush to disk, atomic rename.</summary>
    public void Save()
    {
        byte[] bytes;
        lock (_gate)
        {
            using var buffer = new MemoryStream();
            using (var w = new Utf8JsonWriter(buffer))
            {
                w.WriteStartObject();
                w.WriteNumber("version", CurrentVersion);
                w.WriteString("identity", Identity);
                w.WriteString("written", DateTimeOffset.UtcNow);
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
                w.WriteEndObject();
            }

            bytes = buffer.ToArray();
        }

        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var temp = Path + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                stream.Write(bytes, 0, bytes.Length);
                stream.Flush(flushToDisk: true);
            }

            if (File.Exists(Path))
            {
                File.Replace(temp, Path, null);
            }
            else
            {
                File.Move(temp, Path);
            }
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    private static string NormalizeFolder(string path)
    {
        var full = System.IO.Path.GetFullPath(path).TrimEnd(System.IO.Path.DirectorySeparatorChar, System.IO.Path.AltDirectorySeparatorChar);
        // Windows paths differ only in case for the same folder.
        return System.IO.Path.DirectorySeparatorChar == '\\' ? full.ToUpperInvariant() : full;
    }
}

/// <summary>An exclusive lock on one state file, so two syncs of the same target cannot interleave.</summary>
internal sealed class SyncLock : IDisposable
{
    private readonly FileStream _stream;

    private SyncLock(FileStream stream) => _stream = stream;

    // The lock file stays behind: deleting it on close would let a waiter lock an unlinked file.
    public static SyncLock Acquire(string statePath, string what, TimeSpan timeout, System.Threading.CancellationToken cancellationToken)
    {
        var path = statePath + ".lock";
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
                var pid = Encoding.ASCII.GetBytes(System.Diagnostics.Process.GetCurrentProcess().Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
                stream.SetLength(0);
                stream.Write(pid, 0, pid.Length);
                stream.Flush();
                return new SyncLock(stream);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                cancellationToken.WaitHandle.WaitOne(200);
                cancellationToken.ThrowIfCancellationRequested();
            }
            catch (IOException ex)
            {
                throw new SyncException($"Another sync of {what} is running (lock file '{path}'). Wait for it to finish, or pass a lock timeout to wait.", "SyncLocked", ex);
            }
        }
    }

    public void Dispose() => _stream.Dispose();
}
