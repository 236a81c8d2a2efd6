using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Threading.Tasks;
using System.Threading;
using System;
using ChittyConnect.Diagnostics;
using ChittyConnect.Files;
using ChittyConnect.Hashing;
using ChittyConnect.Storage;

namespace ChittyConnect.Crypt;

/// <summary>
/// An rclone crypt remote over one prefix of a store: the sync sees plaintext keys and sizes, the bucket
/// holds what an rclone crypt remote over the same bucket and prefix holds. Names under the prefix are
/// encrypted (the prefix itself is not, as rclone leaves its remote's root path alone); content goes up
/// encrypted and comes down decrypted, block by block, with nothing written to the destination that has not
/// authenticated. ETags, and so the sync state's change detection, are those of the ciphertext.
/// <para>
/// Every request is signed with the SHA-256 of its body and carries its MD5, so ciphertext is made before
/// it is sent, and once: an upload in parts (ciphertext of at least the multipart threshold) encrypts each
/// part into memory as it is about to go (<see cref="EncryptedUploadContent"/>: parts in parallel, a few
/// parts of memory, nothing on disk), and so does a small one (up to a part of ciphertext, one PUT); one
/// in between is encrypted into a staging file (ciphertext only), hashed on the way, and sent from there,
/// encryption running on every core in 2 MiB chunks in constant memory. An object made in memory carries
/// no sha256 metadata (the plaintext's would tell what it holds); every block of it is authenticated when
/// it is read.
/// </para>
/// </summary>
public sealed class EncryptedObjectStore : IObjectStore, IDisposable
{
    private const int ChunkBlocks = 32;

    private readonly R2ObjectStore _inner;
    private readonly RcloneCryptKey _key;
    private readonly RcloneNameCipher _names;
    private readonly string _stagingDirectory;
    private readonly ConcurrentDictionary<string, RemoteObject> _listed = new(StringComparer.Ordinal);

    /// <summary>
    /// Layers encryption over <paramref name="inner"/> for keys under <paramref name="prefix"/>; uploads larger than
    /// a part and below the multipart threshold are staged in <paramref name="stagingDirectory"/> (smaller and larger
    /// ones go from memory).
    /// </summary>
    public EncryptedObjectStore(R2ObjectStore inner, string prefix, RcloneCryptKey key, RcloneNameEncryption names, string stagingDirectory)
    {
        _inner = inner ?? throw new ArgumentNullException(nameof(inner));
        _key = key ?? throw new ArgumentNullException(nameof(key));
        Prefix = prefix ?? throw new ArgumentNullException(nameof(prefix));
        NameEncryption = names;
        _names = new RcloneNameCipher(key, names);
        _stagingDirectory = stagingDirectory ?? throw new ArgumentNullException(nameof(stagingDirectory));
    }

    /// <summary>The prefix whose names and content are encrypted.</summary>
    public string Prefix { get; }

    /// <summary>How names are encrypted.</summary>
    public RcloneNameEncryption NameEncryption { get; }

    /// <inheritdoc />
    public string Bucket => _inner.Bucket;

    /// <inheritdoc />
    public Uri Endpoint => _inner.Endpoint;

    /// <inheritdoc />
    public StoreRequestCounts Requests => _inner.Requests;

    /// <inheritdoc />
    public R2StoreOptions Options => _inner.Options;

    /// <summary>The size of the parts a multipart upload of <paramref name="length"/> bytes of ciphertext is sent in.</summary>
    public long PartSizeFor(long length) => _inner.PartSizeFor(length);

    /// <summary>The key an object of plaintext key <paramref name="key"/> has in the bucket.</summary>
    public string ObjectKeyFor(string key)
    {
        if (_listed.TryGetValue(key, out var listed))
        {
            return listed.Key;
        }

        if (!key.StartsWith(Prefix, StringComparison.Ordinal) || key.Length == Prefix.Length)
        {
            throw new ArgumentException($"'{key}' is not under the encrypted prefix '{Prefix}'.", nameof(key));
        }

        return Prefix + _names.EncryptPath(key.Substring(Prefix.Length));
    }

    /// <summary>
    /// The objects under the prefix by plaintext key and size, with the ciphertext's ETag. Objects whose
    /// name or size these keys cannot have produced are left out with a warning (rclone skips them too);
    /// when no object decrypts at all, the password is taken to be wrong and
    /// <see cref="RcloneCryptException"/> is thrown, so nothing is planned from a listing that looks empty.
    /// </summary>
    public Task<RemoteListing> ListAsync(string prefix, CancellationToken cancellationToken) =>
        ListAsync(prefix, Array.Empty<string>(), cancellationToken);

    /// <summary>
    /// The listing above, its ranges split at the ciphertext keys of the plaintext keys
    /// <paramref name="splitAfter"/> (which sort differently from them, so they are sorted again). The
    /// plaintext keys come in the ciphertext keys' order; <see cref="RemoteListing.InKeyOrder"/> is whether
    /// the store gave the ciphertext keys in key order.
    /// </summary>
    public async Task<RemoteListing> ListAsync(string prefix, IReadOnlyList<string> splitAfter, CancellationToken cancellationToken)
    {
        if (prefix != Prefix)
        {
            throw new ArgumentException($"This encrypted store covers '{Prefix}', not '{prefix}'.", nameof(prefix));
        }

        var encryptedSplits = splitAfter.Select(ObjectKeyFor).Distinct(StringComparer.Ordinal).OrderBy(k => k, RangedListing.KeyOrder).ToList();
        var listing = await _inner.ListAsync(prefix, encryptedSplits, cancellationToken).ConfigureAwait(false);
        var result = new List<RemoteObject>(listing.Count);
        var foreign = 0;
        foreach (var o in listing)
        {
            var relative = o.Key.Substring(prefix.Length);
            if (relative.Length == 0 || relative.EndsWith("/", StringComparison.Ordinal))
            {
                result.Add(o);
                continue;
            }

            if (!_names.TryDecryptPath(relative, out var plain) || !TryDecryptedSize(o.Size, out var size))
            {
                foreign++;
                continue;
            }

            var mapped = new RemoteObject(prefix + plain, size, o.ETag, o.LastModified);
            _listed[mapped.Key] = o;
            result.Add(mapped);
        }

        if (foreign > 0 && result.Count == 0)
        {
            throw new RcloneCryptException(
                $"None of the {foreign} object(s) under '{prefix}' decrypts with this crypt password and salt ({NameEncryption} names): the password or salt is wrong, or the prefix is not encrypted this way. Nothing was changed.",
                RcloneCryptException.BadName);
        }

        if (foreign > 0)
        {
            ChittyLog.Warning($"{foreign} object(s) under '{prefix}' do not decrypt with this crypt password and salt; they are left alone (neither downloaded nor deleted).");
        }

        // The order the store gave the ciphertext keys in: what decides how the prefix may be listed next.
        return new RemoteListing(result, listing.InKeyOrder);
    }

    /// <summary>
    /// Encrypts and uploads a file. An interrupted upload is not resumed: its parts hold the ciphertext of
    /// another nonce, so a new upload begins (and the old one is aborted as an unwanted upload). Keeping the
    /// nonce to resume is not safe: a part of a file changed in between would be encrypted with the keystream
    /// of a part already stored, and the two ciphertexts together would give away the XOR of the plaintexts.
    /// The plaintext's <paramref name="parts"/> are of no use: the parts sent are ciphertext.
    /// </summary>
    public async Task<UploadResult> UploadFileAsync(string path, string key, string sha256, string? md5, DateTimeOffset modified,
        Action<long>? progress, Action<string>? multipartStarted, CancellationToken cancellationToken, string? resumableUpload = null,
        WriteCondition? condition = null, PartHashes? parts = null, Action? multipartCreating = null)
    {
        var objectKey = ObjectKeyFor(key);
        var plainSize = new FileInfo(path).Length;
        var cipherSize = RcloneCryptFormat.EncryptedSize(plainSize);
        // Ciphertext of up to a part goes as one PUT from memory, so an upload holds no more than a part of an
        // upload in parts does; only what lies between a part and the multipart threshold is staged on disk.
        if (cipherSize >= Options.MultipartThreshold || cipherSize <= Options.PartSize)
        {
            using var content = new EncryptedUploadContent(path, _key, Environment.ProcessorCount + 2);
            var progressOfPlain = progress is null ? null : new PlainProgress(plainSize, progress);
            var sent = await _inner.UploadContentAsync(content, objectKey, sha256: null, modified,
                progressOfPlain is null ? null : progressOfPlain.Add, multipartStarted, cancellationToken, condition, multipartCreating).ConfigureAwait(false);
            _listed[key] = new RemoteObject(objectKey, sent.Size, sent.ETag, DateTimeOffset.UtcNow);
            return new UploadResult { Key = objectKey, ETag = sent.ETag, Size = sent.Size, Parts = sent.Parts };
        }

        Directory.CreateDirectory(_stagingDirectory);
        var staged = Path.Combine(_stagingDirectory, Guid.NewGuid().ToString("N") + ".rclone-crypt");
        try
        {
            var before = FileVersion.Of(path) ?? throw new FileNotFoundException($"Could not find file '{path}'.", path);
            var plainLength = before.Size;
            var (cipherSha256, cipherMd5) = await StageAsync(path, plainLength, staged, cancellationToken).ConfigureAwait(false);
            if (!before.IsCurrentAt(path))
            {
                throw new ObjectStoreException($"'{path}' changed while it was being encrypted; it will be sent again next time.", objectKey, "ContentChanged");
            }

            var scaled = progress is null ? null : new PlainProgress(plainLength, progress);
            var result = await _inner.UploadFileAsync(staged, objectKey, cipherSha256, cipherMd5, modified,
                scaled is null ? null : scaled.Add, multipartStarted, cancellationToken, resumableUpload, condition, multipartCreating: multipartCreating).ConfigureAwait(false);
            _listed[key] = new RemoteObject(objectKey, result.Size, result.ETag, DateTimeOffset.UtcNow);
            return new UploadResult { Key = objectKey, ETag = result.ETag, Size = result.Size, Parts = result.Parts };
        }
        finally
        {
            try
            {
                File.Delete(staged);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ChittyLog.Verbose($"Could not remove the staged ciphertext '{staged}': {ex.Message}");
            }
        }
    }

    /// <summary>
    /// Downloads and decrypts <paramref name="key"/> into <paramref name="destination"/>: each block is
    /// authenticated before its plaintext is written, and the ciphertext is checked by the store as any
    /// download is. The hashes and size returned are the plaintext's; the ETag is the ciphertext's.
    /// </summary>
    public async Task<DownloadResult> DownloadAsync(string key, Stream destination, Action<long>? progress, CancellationToken cancellationToken)
    {
        var objectKey = ObjectKeyFor(key);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var writer = new RcloneDecryptingWriteStream(destination, _key)
        {
            OnPlaintext = (buffer, offset, count) => sha.AppendData(buffer, offset, count),
        };
        var scaled = progress is not null && _listed.TryGetValue(key, out var listed) && TryDecryptedSize(listed.Size, out var plainSize)
            ? new PlainProgress(plainSize, progress).Add
            : progress;
        var inner = await _inner.DownloadAsync(objectKey, writer, scaled, contentHashes: false, cancellationToken).ConfigureAwait(false);
        await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        return new DownloadResult
        {
            Info = PlainInfo(key, inner.Info),
            Size = writer.PlainBytes,
            Sha256 = ContentHasher.ToHex(sha.GetHashAndReset()),
            // The plaintext's MD5 matches no object here (they hold ciphertext): not computed.
            Md5 = string.Empty,
            VerifiedBy = inner.VerifiedBy + "+poly1305",
        };
    }

    /// <summary>The object's headers with its plaintext key and size; no content hash (the stored one is the ciphertext's).</summary>
    public async Task<RemoteObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken)
    {
        var info = await _inner.HeadAsync(ObjectKeyFor(key), cancellationToken).ConfigureAwait(false);
        return info is null ? null : PlainInfo(key, info);
    }

    /// <summary>
    /// Whether the object holds <paramref name="path"/>'s content, found as <c>rclone cryptcheck</c> finds it:
    /// the object's nonce is read from its header (one ranged GET of 32 bytes), the file is encrypted with
    /// that nonce, and this ciphertext is compared with the object by the object's own hash (its ETag, its
    /// sha256 or md5chksum metadata) or, when it has none, byte for byte. The ciphertext made here never
    /// leaves the process (a second ciphertext under a used nonce would give away the XOR of the plaintexts).
    /// The plaintext's <paramref name="hashes"/> are no use against ciphertext and are not read.
    /// </summary>
    public async Task<ContentComparison> CompareAsync(RemoteObject remote, string path, ContentHashes? hashes, CancellationToken cancellationToken)
    {
        if (remote is null)
        {
            throw new ArgumentNullException(nameof(remote));
        }

        var cipher = _listed.TryGetValue(remote.Key, out var listed)
            ? listed
            : new RemoteObject(ObjectKeyFor(remote.Key), RcloneCryptFormat.EncryptedSize(remote.Size), remote.ETag, remote.LastModified);
        if (RcloneCryptFormat.EncryptedSize(new FileInfo(path).Length) != cipher.Size)
        {
            return new ContentComparison { By = ComparedBy.Size };
        }

        var header = await _inner.ReadRangeAsync(cipher.Key, 0, RcloneCryptFormat.FileHeaderSize, cancellationToken).ConfigureAwait(false);
        byte[] nonce;
        try
        {
            nonce = header.Length == RcloneCryptFormat.FileHeaderSize
                ? RcloneCryptFormat.ReadHeader(header)
                : throw new RcloneCryptException("The object is shorter than an rclone crypt header.", RcloneCryptException.BadMagic);
        }
        catch (RcloneCryptException ex)
        {
            ChittyLog.Verbose($"'{remote.Key}' is not rclone crypt content ({ex.Message}); it differs from the local file.");
            return new ContentComparison { By = ComparedBy.NotEncrypted, RemoteBytesRead = header.Length };
        }

        var result = await _inner.CompareAsync(cipher,
            () => new RcloneEncryptingStream(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan), _key, nonce),
            known: null, cancellationToken).ConfigureAwait(false);
        result.RemoteBytesRead += header.Length;
        return result;
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DeleteFailure>> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var byObjectKey = keys.ToDictionary(ObjectKeyFor, k => k, StringComparer.Ordinal);
        var failures = await _inner.DeleteAsync(byObjectKey.Keys.ToList(), cancellationToken).ConfigureAwait(false);
        foreach (var key in keys)
        {
            _listed.TryRemove(key, out _);
        }

        return failures.Select(f => new DeleteFailure(byObjectKey.TryGetValue(f.Key, out var plain) ? plain : f.Key, f.Code, f.Message)).ToList();
    }

    /// <inheritdoc />
    public Task<bool> AbortUploadAsync(string key, string uploadId, CancellationToken cancellationToken) =>
        _inner.AbortUploadAsync(ObjectKeyFor(key), uploadId, cancellationToken);

    /// <inheritdoc />
    public Task<int?> AbortUploadsBegunSinceAsync(string key, DateTimeOffset since, IReadOnlyCollection<string> keep, CancellationToken cancellationToken) =>
        _inner.AbortUploadsBegunSinceAsync(ObjectKeyFor(key), since, keep, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _names.Dispose();

    private static bool TryDecryptedSize(long size, out long plain)
    {
        try
        {
            plain = RcloneCryptFormat.DecryptedSize(size);
            return true;
        }
        catch (RcloneCryptException)
        {
            plain = 0;
            return false;
        }
    }

    private static RemoteObjectInfo PlainInfo(string key, RemoteObjectInfo info) => new()
    {
        Key = key,
        Size = TryDecryptedSize(info.Size, out var plain) ? plain : info.Size,
        ETag = info.ETag,
        Sha256 = null,
        FileModified = info.FileModified,
        LastModified = info.LastModified,
    };

    // Encrypts the file into the staging file in chunks of 32 blocks: as many chunks at once as there are
    // cores, while the chunk before them is hashed and written in order. Each chunk in flight has its own
    // reader (the encrypting stream seeks to it) and buffer; memory is (cores + 1) chunks.
    private async Task<(string Sha256, string Md5)> StageAsync(string path, long plainLength, string staged, CancellationToken cancellationToken)
    {
        var cipherLength = RcloneCryptFormat.EncryptedSize(plainLength);
        const long chunkCipher = (long)ChunkBlocks * RcloneCryptFormat.BlockSize;
        var chunks = Math.Max(1, (cipherLength - RcloneCryptFormat.FileHeaderSize + chunkCipher - 1) / chunkCipher);
        var slots = (int)Math.Min(Math.Max(1, Environment.ProcessorCount) + 1, chunks);
        var nonce = RcloneEncryptingStream.NewNonce();
        var readers = new RcloneEncryptingStream[slots];
        var buffers = new byte[slots][];
        var inFlight = new Queue<Task<int>>();
        try
        {
            for (var i = 0; i < slots; i++)
            {
                var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.SequentialScan);
                readers[i] = new RcloneEncryptingStream(file, _key, nonce);
                buffers[i] = new byte[chunkCipher + RcloneCryptFormat.FileHeaderSize];
            }

            Task<int> Encrypt(long chunk) => Task.Run(() =>
            {
                var slot = (int)(chunk % slots);
                var from = chunk == 0 ? 0 : RcloneCryptFormat.FileHeaderSize + (chunk * chunkCipher);
                var to = Math.Min(RcloneCryptFormat.FileHeaderSize + ((chunk + 1) * chunkCipher), cipherLength);
                return readers[slot].ReadAt(from, buffers[slot], (int)(to - from));
            }, cancellationToken);

            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            using var output = new FileStream(staged, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous);
            for (long chunk = 0; chunk < slots; chunk++)
            {
                inFlight.Enqueue(Encrypt(chunk));
            }

            for (long chunk = 0; chunk < chunks; chunk++)
            {
                var length = await inFlight.Dequeue().ConfigureAwait(false);
                var buffer = buffers[chunk % slots];
                sha.AppendData(buffer, 0, length);
                md5.AppendData(buffer, 0, length);
                await output.WriteAsync(buffer, 0, length, cancellationToken).ConfigureAwait(false);
                if (chunk + slots < chunks)
                {
                    // The slot is free again: its next chunk starts while this one's successors finish.
                    inFlight.Enqueue(Encrypt(chunk + slots));
                }
            }

            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (output.Length != cipherLength)
            {
                throw new IOException($"'{path}' changed while it was being encrypted; it will be sent again next time.");
            }

            return (ContentHasher.ToHex(sha.GetHashAndReset()), ContentHasher.ToHex(md5.GetHashAndReset()));
        }
        finally
        {
            // A failure leaves chunks in flight: they must stop using the readers before these close.
            foreach (var task in inFlight)
            {
                try
                {
                    await task.ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // The failure that ended the staging is the one reported; this is its aftermath.
                    ChittyLog.Verbose($"An encryption chunk of '{path}' ended with: {ex.Message}");
                }
            }

            foreach (var reader in readers)
            {
                reader?.Dispose();
            }
        }
    }

    // Progress in plaintext bytes from counts of ciphertext bytes, never past the plaintext's length.
    private sealed class PlainProgress
    {
        private readonly long _plainLength;
        private readonly long _cipherLength;
        private readonly Action<long> _report;
        private readonly object _gate = new();
        private long _cipher;
        private long _reported;

        public PlainProgress(long plainLength, Action<long> report)
        {
            _plainLength = plainLength;
            _cipherLength = RcloneCryptFormat.EncryptedSize(plainLength);
            _report = report;
        }

        public void Add(long cipherBytes)
        {
            long delta;
            lock (_gate)
            {
                _cipher += cipherBytes;
                var plain = Math.Min(_plainLength, (long)((double)_cipher * _plainLength / _cipherLength));
                delta = plain - _reported;
                _reported = plain;
            }

            if (delta != 0)
            {
                _report(delta);
            }
        }
    }
}
