using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using ChittyConnect.Configuration;
using ChittyConnect.Diagnostics;
using ChittyConnect.Files;
using ChittyConnect.Hashing;

namespace ChittyConnect.Sync;

/// <summary>
/// What the state remembers of one path: the content both sides agreed on when the path was last synced
/// (uploaded, downloaded or found identical), the local file's size and last-write time that content had,
/// and the remote object's ETag for it. The stat makes the hashes a cache (a file with the same stat is not
/// read again); the ETag tells whether the remote object is still that content without a request. A two-way
/// sync uses the entry as its baseline; an entry exists only for content that was on both sides at once.
/// </summary>
internal sealed class SyncStateEntry
{
    public long Size { get; set; }

    /// <summary>Last-write time, UTC ticks: with the size, the key that makes the hashes trustworthy.</summary>
    public long ModifiedTicks { get; set; }

    /// <summary>The version of the file these hashes were computed from.</summary>
    public FileVersion Version => new(Size, ModifiedTicks);

    public string Sha256 { get; set; } = string.Empty;

    public string Md5 { get; set; } = string.Empty;

    /// <summary>
    /// The ETag of the object as last uploaded, downloaded or verified against this content (a multipart
    /// ETag is not an MD5, so this is what recognizes the object as unchanged). Null only in states written
    /// before ETags were kept.
    /// </summary>
    public string? RemoteETag { get; set; }

    /// <summary>
    /// True when no sync report is owed for this content: the service confirmed one naming it, or this
    /// machine found it on both sides without moving it.
    /// </summary>
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
/// The per-(folder, endpoint, bucket, prefix) state of one machine: a cache of file hashes for a mirror, what
/// the sync owns (and may delete), and for two-way sync the baseline that decides whether a path missing on one
/// side was deleted there. When it is missing, corrupt, of a future version, for another target or written on
/// another machine, everything is rehashed and the run is a first run (nothing is deleted on its strength).
/// Writes go to an owner-only temporary file that is flushed to disk and
/// renamed over the old one, so a crash leaves either state.
/// </summary>
internal sealed class SyncState
{
    /// <summary>2 records the machine that wrote the state; 1 (before) is read as a cache of hashes only.</summary>
    public const int CurrentVersion = 2;

    private readonly object _gate = new();

    public SyncState(string path, string identity)
    {
        Path = path;
        Identity = identity;
    }

    public string Path { get; }

    public string Identity { get; }

    public Dictionary<string, SyncStateEntry> Files { get; } = new(StringComparer.Ordinal);

    // The entries of a state from before machine ids (version 1), which cannot say whose they are: a cache of
    // hashes (a file with the same stat is not read again), never a baseline or what the sync owns. A run
    // re-records each path it finds in agreement, so after it the state is this machine's.
    private readonly Dictionary<string, SyncStateEntry> _inherited = new(StringComparer.Ordinal);

    public Dictionary<string, PendingUpload> PendingUploads { get; } = new(StringComparer.Ordinal);

    // The SHA-256 of the file's bytes as last read or written (null when not known): Save compares against it.
    private byte[]? _persisted;

    // The pending uploads this run resumes or began (not saved: each run claims its own).
    private readonly HashSet<string> _claimed = new(StringComparer.Ordinal);

    // Paths a run set out to move and has not recorded yet, saved before its transfers start. A transfer whose
    // answer was lost, or a run killed after the store (or the folder) took a file and before the state
    // recorded it, leaves that file on both sides, unrecorded and unreported: the next run finds it identical,
    // and must still report it. A path leaves the set once recorded, or forgotten.
    private readonly HashSet<string> _moving = new(StringComparer.Ordinal);

    /// <summary>The entry of <paramref name="relativePath"/>, or null.</summary>
    public SyncStateEntry? EntryFor(string relativePath)
    {
        lock (_gate)
        {
            return Files.TryGetValue(relativePath, out var e) ? e : null;
        }
    }

    /// <summary>Every entry, by relative path (a copy).</summary>
    public List<(string RelativePath, SyncStateEntry Entry)> Entries()
    {
        lock (_gate)
        {
            return Files.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => (p.Key, p.Value)).ToList();
        }
    }

    /// <summary>The remembered hashes of <paramref name="file"/> when its size and last-write time are still those they were computed for.</summary>
    public SyncStateEntry? CachedHashes(LocalFile file)
    {
        var e = EntryFor(file.RelativePath);
        if (e is null)
        {
            lock (_gate)
            {
                _inherited.TryGetValue(file.RelativePath, out e);
            }
        }

        return e is not null && e.Version == file.Version ? e : null;
    }

    /// <summary>
    /// Records that both sides hold the content <paramref name="hashes"/> describes, the remote one as
    /// <paramref name="remoteETag"/>: <paramref name="transferred"/> by this run (a report is due), or found
    /// on both sides already (none is: the service heard of it from whoever put it there).
    /// </summary>
    public void Remember(string relativePath, SyncStateEntry hashes, string remoteETag, bool transferred)
    {
        lock (_gate)
        {
            if (!Files.TryGetValue(relativePath, out var old))
            {
                _inherited.TryGetValue(relativePath, out old);
            }

            // A report covers content: the same content at the same key keeps what it had (a report a
            // failed run still owes stays owed), other content is reported when this run moved it.
            var sameContent = old is not null && old.Sha256 == hashes.Sha256 && old.RemoteETag == remoteETag;
            transferred |= _moving.Remove(relativePath);
            Files[relativePath] = new SyncStateEntry
            {
                Size = hashes.Size,
                ModifiedTicks = hashes.ModifiedTicks,
                Sha256 = hashes.Sha256,
                Md5 = hashes.Md5,
                RemoteETag = remoteETag,
                Reported = sameContent ? old!.Reported : !transferred,
            };
        }
    }

    /// <summary>Records the paths this run is about to move (save the state next, before moving them).</summary>
    public void BeginMoving(IEnumerable<string> relativePaths)
    {
        lock (_gate)
        {
            _moving.UnionWith(relativePaths);
        }
    }

    /// <summary>Forgets <paramref name="relativePath"/> (it is on neither side any more).</summary>
    public void Forget(string relativePath)
    {
        lock (_gate)
        {
            Files.Remove(relativePath);
            _moving.Remove(relativePath);
        }
    }

    /// <summary>Forgets every path with no file under <paramref name="root"/> that <paramref name="listedRemotely"/> does not know either.</summary>
    public void ForgetMissing(string root, Func<string, bool> listedRemotely)
    {
        lock (_gate)
        {
            foreach (var rel in Files.Keys.Concat(_moving).ToList())
            {
                if (!listedRemotely(rel) && !File.Exists(System.IO.Path.Combine(root, rel)))
                {
                    Files.Remove(rel);
                    _moving.Remove(rel);
                }
            }
        }
    }

    /// <summary>
    /// The multipart uploads recorded as started and not finished that this run neither resumed nor began:
    /// their file is gone, changed or no longer selected, so their parts only cost storage.
    /// </summary>
    public IReadOnlyList<PendingUpload> UnclaimedPending()
    {
        lock (_gate)
        {
            return PendingUploads.Values.Where(u => !_claimed.Contains(u.UploadId)).ToList();
        }
    }

    /// <summary>
    /// The id of the upload an earlier run began of this content to <paramref name="key"/>, if any; it is
    /// claimed for this run (so it is not aborted as a leftover).
    /// </summary>
    public string? ClaimResumable(string key, string sha256)
    {
        lock (_gate)
        {
            var pending = PendingUploads.Values.FirstOrDefault(u => u.Key == key && u.Sha256 == sha256);
            if (pending is not null)
            {
                _claimed.Add(pending.UploadId);
            }

            return pending?.UploadId;
        }
    }

    /// <summary>
    /// Records a started multipart upload of the content <paramref name="sha256"/>, so the next run can resume
    /// it after a crash; the one it replaces (that could not be resumed) is left to be aborted.
    /// </summary>
    public void AddPending(string key, string uploadId, string sha256, string? replaces)
    {
        lock (_gate)
        {
            if (replaces is not null && replaces != uploadId)
            {
                _claimed.Remove(replaces);
            }

            _claimed.Add(uploadId);
            PendingUploads[uploadId] = new PendingUpload { Key = key, UploadId = uploadId, Sha256 = sha256 };
        }
    }

    /// <summary>Forgets a multipart upload that completed or was aborted.</summary>
    public void RemovePending(string? uploadId)
    {
        if (uploadId is null)
        {
            return;
        }

        lock (_gate)
        {
            PendingUploads.Remove(uploadId);
        }
    }

    /// <summary>The entries of <paramref name="relativePaths"/> that no sync report has named yet, in ordinal order.</summary>
    public List<(string RelativePath, SyncStateEntry Entry)> Unreported(IEnumerable<string> relativePaths)
    {
        lock (_gate)
        {
            return relativePaths.OrderBy(r => r, StringComparer.Ordinal)
                .Where(r => Files.TryGetValue(r, out var e) && !e.Reported)
                .Select(r => (r, Files[r]))
                .ToList();
        }
    }

    /// <summary>Marks the content now recorded for <paramref name="relativePaths"/> as named in a confirmed report.</summary>
    public void MarkReported(IEnumerable<string> relativePaths)
    {
        lock (_gate)
        {
            foreach (var rel in relativePaths)
            {
                if (Files.TryGetValue(rel, out var e))
                {
                    e.Reported = true;
                }
            }
        }
    }

    /// <summary>The state file for this target under <paramref name="directory"/> (default: the config directory).</summary>
    public static string PathFor(string? directory, string localPath, Uri endpoint, string bucket, string prefix, out string identity)
    {
        directory ??= DefaultDirectory();
        identity = string.Join("\n", NormalizeFolder(localPath), endpoint.GetLeftPart(UriPartial.Authority).ToLowerInvariant(), bucket, prefix);
        using var sha = SHA256.Create();
        var hash = ContentHasher.ToHex(sha.ComputeHash(Encoding.UTF8.GetBytes(identity))).Substring(0, 32);
        return System.IO.Path.Combine(directory, hash + ".json");
    }

    /// <summary>
    /// The machine's local sync-state folder (<see cref="ConfigDirectory.LocalRoot"/>/sync-state). The first
    /// call of a process moves the states earlier versions kept in the roaming configuration folder there.
    /// </summary>
    public static string DefaultDirectory()
    {
        var directory = System.IO.Path.Combine(ConfigDirectory.LocalRoot, "sync-state");
        lock (s_migrated)
        {
            if (s_migrated.Add(directory))
            {
                MoveStates(System.IO.Path.Combine(ConfigDirectory.Root, "sync-state"), directory);
            }
        }

        return directory;
    }

    private static readonly HashSet<string> s_migrated = new(StringComparer.Ordinal);

    /// <summary>
    /// Moves the state files of <paramref name="from"/> into <paramref name="to"/>, keeping any that is there
    /// already; the lock files and an emptied <paramref name="from"/> go. Returns how many moved. A state
    /// another process is using stays for a later run to move.
    /// </summary>
    public static int MoveStates(string from, string to)
    {
        var fromFull = System.IO.Path.GetFullPath(from).TrimEnd(System.IO.Path.DirectorySeparatorChar);
        if (!Directory.Exists(fromFull) || string.Equals(fromFull, System.IO.Path.GetFullPath(to).TrimEnd(System.IO.Path.DirectorySeparatorChar), StringComparison.Ordinal))
        {
            return 0;
        }

        var moved = 0;
        try
        {
            ConfigDirectory.EnsurePrivateDirectory(to);
            foreach (var state in Directory.EnumerateFiles(fromFull, "*.json").ToList())
            {
                var target = System.IO.Path.Combine(to, System.IO.Path.GetFileName(state));
                try
                {
                    // Under the state's lock, so a sync of an older version running now does not lose it.
                    using (var held = new FileStream(state + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
                    {
                        if (!File.Exists(target))
                        {
                            File.Move(state, target);
                            moved++;
                        }
                    }

                    File.Delete(state + ".lock");
                }
                catch (IOException ex)
                {
                    ChittyLog.Verbose($"The sync state '{state}' was not moved to '{to}' this time: {ex.Message}");
                }
            }

            if (!Directory.EnumerateFileSystemEntries(fromFull).Any())
            {
                Directory.Delete(fromFull);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ChittyLog.Warning($"The sync states in '{fromFull}' could not be moved to '{to}': {ex.Message}");
        }

        if (moved > 0)
        {
            ChittyLog.Verbose($"Moved {moved} sync state(s) from '{fromFull}' to this machine's own folder '{to}'.");
        }

        return moved;
    }

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
                throw new SyncException($"Another sync of {what} is running (lock file '{path}'). Wait for it to finish and run the sync again, or give -LockTimeoutSec <seconds> to wait for it.", "SyncLocked", ex);
            }
        }
    }

    public void Dispose() => _stream.Dispose();
}
