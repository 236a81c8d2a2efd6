using System;
using System.Buffers;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Hashing;

/// <summary>The SHA-256 and MD5 of some content, read once.</summary>
public readonly struct ContentHashes
{
    /// <summary>Creates the value.</summary>
    public ContentHashes(string sha256, string md5, long length)
        : this(sha256, md5, length, null)
    {
    }

    /// <summary>Creates the value with the hashes of its parts, made by the same read.</summary>
    public ContentHashes(string sha256, string md5, long length, PartHashes? parts)
    {
        Sha256 = sha256;
        Md5 = md5;
        Length = length;
        Parts = parts;
    }

    /// <summary>Lower-case hex SHA-256.</summary>
    public string Sha256 { get; }

    /// <summary>Lower-case hex MD5 (what S3 and R2 put in a single-part ETag); empty when it was not asked for.</summary>
    public string Md5 { get; }

    /// <summary>Bytes hashed.</summary>
    public long Length { get; }

    /// <summary>The MD5 and SHA-256 of each part, when they were asked for; null otherwise.</summary>
    public PartHashes? Parts { get; }
}

/// <summary>
/// The MD5 and SHA-256 of each part of some content in parts of <see cref="PartSize"/> bytes (the last one
/// shorter), made by the read that hashed the whole, so that a multipart upload of it reads it only to send it.
/// </summary>
public sealed class PartHashes
{
    private readonly byte[][] _md5;
    private readonly string[] _sha256;

    internal PartHashes(long partSize, byte[][] md5, string[] sha256)
    {
        PartSize = partSize;
        _md5 = md5;
        _sha256 = sha256;
    }

    /// <summary>Bytes in every part but the last.</summary>
    public long PartSize { get; }

    /// <summary>Parts hashed.</summary>
    public int Count => _sha256.Length;

    /// <summary>Whether these are the parts of <paramref name="length"/> bytes in parts of <paramref name="partSize"/>.</summary>
    internal bool Fit(long length, long partSize) => partSize == PartSize && Count == (int)((length + partSize - 1) / partSize);

    /// <summary>The MD5 of part <paramref name="index"/> (0-based).</summary>
    internal byte[] Md5(int index) => _md5[index];

    /// <summary>The lower-case hex SHA-256 of part <paramref name="index"/> (0-based).</summary>
    internal string Sha256(int index) => _sha256[index];
}

/// <summary>Hashes files and streams in constant memory.</summary>
public static class ContentHasher
{
    /// <summary>Buffer size for hashing reads.</summary>
    public const int BufferSize = 1024 * 1024;

    // ToHex's characters before they become the string (a planned run calls it for every file it keeps).
    [ThreadStatic]
    private static char[]? t_hexChars;

    /// <summary>Lower-case hex of <paramref name="bytes"/>.</summary>
    public static string ToHex(byte[] bytes)
    {
        var chars = t_hexChars is { } cached && cached.Length >= bytes.Length * 2 ? cached : t_hexChars = new char[Math.Max(128, bytes.Length * 2)];
        for (var i = 0; i < bytes.Length; i++)
        {
            var b = bytes[i];
            chars[i * 2] = GetHexChar(b >> 4);
            chars[i * 2 + 1] = GetHexChar(b & 0xF);
        }

        return new string(chars, 0, bytes.Length * 2);
    }

    /// <summary>The bytes of a hex string (either case).</summary>
    public static byte[] FromHex(string hex)
    {
        var bytes = new byte[hex.Length / 2];
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] = byte.Parse(hex.Substring(i * 2, 2), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        }

        return bytes;
    }

    /// <summary>SHA-256 of a byte range, lower-case hex.</summary>
    public static string Sha256(ArraySegment<byte> bytes)
    {
        using var sha = SHA256.Create();
        return ToHex(sha.ComputeHash(bytes.Array!, bytes.Offset, bytes.Count));
    }

    /// <summary>Files up to this size are read synchronously, in one read, with the calling thread's hashers.</summary>
    public const int SmallFileLimit = 256 * 1024;

    [ThreadStatic]
    private static IncrementalHash? t_sha256;

    [ThreadStatic]
    private static IncrementalHash? t_md5;

    /// <summary>
    /// Reads a whole file once and returns its SHA-256 and MD5; without <paramref name="withMd5"/>, the SHA-256
    /// alone and an empty MD5 (content whose objects are not it, such as an encrypted prefix's, has no use for
    /// the MD5, and MD5 costs twice SHA-256's CPU where the CPU has SHA extensions). With a
    /// <paramref name="partSize"/> and the MD5, a file larger than one part also gets the hashes of its parts
    /// (<see cref="ContentHashes.Parts"/>) from the same read.
    /// </summary>
    public static async Task<ContentHashes> HashFileAsync(string path, CancellationToken cancellationToken, Action<long>? bytesRead = null, bool withMd5 = true,
        long partSize = 0)
    {
        cancellationToken.ThrowIfCancellationRequested();
        // An asynchronous FileStream costs a thread-pool hop per read (on Unix every async file read is a
        // synchronous one on another thread), a 1 MiB buffer and two new hash contexts: for a small file that
        // is most of the work. A small file is read here, on this thread, and hashed with this thread's hashers.
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.SequentialScan))
        {
            if (stream.Length <= SmallFileLimit)
            {
                return HashSmall(stream, (int)stream.Length, bytesRead, withMd5);
            }
        }

        using var large = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 4096, FileOptions.Asynchronous | FileOptions.SequentialScan);
        return await HashLargeAsync(large, cancellationToken, bytesRead, withMd5, partSize).ConfigureAwait(false);
    }

    /// <summary>As <see cref="HashFileAsync"/> for a file larger than <see cref="SmallFileLimit"/>, read from <paramref name="stream"/>.</summary>
    internal static Task<ContentHashes> HashLargeAsync(Stream stream, CancellationToken cancellationToken, Action<long>? bytesRead, bool withMd5, long partSize)
    {
        var parts = withMd5 && partSize > 0 && stream.Length > partSize;
        return withMd5 && (parts || (stream.Length >= TwoCoreLimit && Environment.ProcessorCount > 1))
            ? HashOnTwoCoresAsync(stream, cancellationToken, bytesRead, parts ? partSize : 0)
            : HashStreamAsync(stream, cancellationToken, bytesRead, withMd5);
    }

    /// <summary>Files from this size on are hashed on two cores: SHA-256 as they are read, MD5 beside it.</summary>
    public const long TwoCoreLimit = 8L * 1024 * 1024;

    private const int TwoCoreChunk = 1024 * 1024;
    private const int TwoCoreBuffers = 4;

    // MD5 runs at about half SHA-256's speed where the CPU has SHA extensions, so hashing both on one thread
    // takes MD5 + SHA-256; here the reader hashes SHA-256 and hands each chunk to a second thread for MD5,
    // and a large file costs about the MD5 alone. Four pooled 1 MiB buffers go round between the two. With a
    // partSize, no buffer spans two parts, and the work splits by what is hashed rather than by algorithm, so
    // each thread has one MD5 and one SHA-256 to run (by algorithm, one thread would run both MD5s, the long
    // pole): the reader hashes the whole file with both, the second thread the parts with both, closing a
    // part's hashes at the buffer the reader marks as its last.
    private static async Task<ContentHashes> HashOnTwoCoresAsync(Stream stream, CancellationToken cancellationToken, Action<long>? bytesRead, long partSize)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var partSha = partSize > 0 ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        using var partMd5 = partSize > 0 ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
        var partShas = new List<string>();
        var partMd5s = new List<byte[]>();
        using var free = new BlockingCollection<byte[]>(TwoCoreBuffers);
        using var full = new BlockingCollection<(byte[] Buffer, int Count, bool EndsPart)>(TwoCoreBuffers);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var buffers = new byte[TwoCoreBuffers][];
        for (var i = 0; i < TwoCoreBuffers; i++)
        {
            buffers[i] = ArrayPool<byte>.Shared.Rent(TwoCoreChunk);
            free.Add(buffers[i]);
        }

        var md5Worker = Task.Run(() =>
        {
            var open = false;
            foreach (var (buffer, count, endsPart) in full.GetConsumingEnumerable(stop.Token))
            {
                if (partMd5 is null)
                {
                    md5.AppendData(buffer, 0, count);
                }
                else
                {
                    partSha!.AppendData(buffer, 0, count);
                    partMd5.AppendData(buffer, 0, count);
                    open = !endsPart;
                    if (endsPart)
                    {
                        partShas.Add(ToHex(partSha.GetHashAndReset()));
                        partMd5s.Add(partMd5.GetHashAndReset());
                    }
                }

                free.Add(buffer);
            }

            if (open && partMd5 is not null)
            {
                partShas.Add(ToHex(partSha!.GetHashAndReset()));
                partMd5s.Add(partMd5.GetHashAndReset());
            }
        });
        long total = 0;
        var partLeft = partSize > 0 ? partSize : long.MaxValue;
        try
        {
            while (true)
            {
                var buffer = free.Take(stop.Token);
                var want = (int)Math.Min(TwoCoreChunk, partLeft);
                var count = 0;
                int read;
                while (count < want && (read = await stream.ReadAsync(buffer, count, want - count, stop.Token).ConfigureAwait(false)) > 0)
                {
                    count += read;
                }

                if (count == 0)
                {
                    break;
                }

                sha.AppendData(buffer, 0, count);
                if (partSize > 0)
                {
                    md5.AppendData(buffer, 0, count);
                }

                partLeft -= count;
                var endsPart = partLeft == 0;
                if (endsPart)
                {
                    partLeft = partSize;
                }

                full.Add((buffer, count, endsPart), stop.Token);
                total += count;
                bytesRead?.Invoke(count);
            }

            full.CompleteAdding();
            await md5Worker.ConfigureAwait(false);
        }
        catch
        {
            // The MD5 thread must not outlive the buffers and hashers it uses.
            stop.Cancel();
            full.CompleteAdding();
            try
            {
                await md5Worker.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            throw;
        }
        finally
        {
            // Both threads are done with them here (the MD5 thread was awaited on either path).
            foreach (var buffer in buffers)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        var parts = partSize > 0 ? new PartHashes(partSize, partMd5s.ToArray(), partShas.ToArray()) : null;
        return new ContentHashes(ToHex(sha.GetHashAndReset()), ToHex(md5.GetHashAndReset()), total, parts);
    }

    // Reads to the end (the file may have grown since its length was read: the caller compares lengths).
    private static ContentHashes HashSmall(Stream stream, int length, Action<long>? bytesRead, bool withMd5)
    {
        var sha = t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var md5 = withMd5 ? t_md5 ??= IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
        // One byte more than the length, so the end shows in the first read.
        var buffer = ArrayPool<byte>.Shared.Rent(length + 1);
        long total = 0;
        var done = false;
        try
        {
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                sha.AppendData(buffer, 0, read);
                md5?.AppendData(buffer, 0, read);
                total += read;
                bytesRead?.Invoke(read);
            }

            var result = new ContentHashes(ToHex(sha.GetHashAndReset()), md5 is null ? string.Empty : ToHex(md5.GetHashAndReset()), total);
            done = true;
            return result;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            if (!done)
            {
                // A failed read leaves data in the hashers: never reuse them.
                t_sha256 = null;
                t_md5 = null;
                sha.Dispose();
                md5?.Dispose();
            }
        }
    }

    /// <summary>Reads a stream to its end once and returns its SHA-256 and MD5 (or an empty MD5 without <paramref name="withMd5"/>).</summary>
    public static async Task<ContentHashes> HashStreamAsync(Stream stream, CancellationToken cancellationToken, Action<long>? bytesRead = null, bool withMd5 = true)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var md5 = withMd5 ? IncrementalHash.CreateHash(HashAlgorithmName.MD5) : null;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long total = 0;
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, 0, BufferSize, cancellationToken).ConfigureAwait(false)) > 0)
            {
                sha.AppendData(buffer, 0, read);
                md5?.AppendData(buffer, 0, read);
                total += read;
                bytesRead?.Invoke(read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return new ContentHashes(ToHex(sha.GetHashAndReset()), md5 is null ? string.Empty : ToHex(md5.GetHashAndReset()), total);
    }

    private static char GetHexChar(int value) => (char)(value < 10 ? '0' + value : 'a' + value - 10);
}

/// <summary>
/// A read-only stream that hashes what passes through it, so an upload can prove afterwards that the
/// bytes it sent are the bytes it hashed before (the file did not change in between).
/// </summary>
public sealed class HashingReadStream : Stream
{
    private readonly Stream _inner;
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private readonly Action<long>? _bytesRead;
    private readonly bool _leaveOpen;
    private long _position;
    private ContentHashes? _final;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    public HashingReadStream(Stream inner, Action<long>? bytesRead = null, bool leaveOpen = false)
    {
        _inner = inner;
        _bytesRead = bytesRead;
        _leaveOpen = leaveOpen;
    }

    /// <summary>The hashes of everything read, after the last read (also after the stream was disposed, as HTTP content does).</summary>
    public ContentHashes GetHashes() =>
        _final ??= new ContentHashes(ContentHasher.ToHex(_sha256.GetHashAndReset()), ContentHasher.ToHex(_md5.GetHashAndReset()), _position);

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _inner.Length;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Account(buffer, offset, _inner.Read(buffer, offset, count));

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        Account(buffer, offset, await _inner.ReadAsync(buffer, offset, count, cancellationToken).ConfigureAwait(false));

    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            GetHashes();
            _sha256.Dispose();
            _md5.Dispose();
            if (!_leaveOpen)
            {
                _inner.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private int Account(byte[] buffer, int offset, int read)
    {
        if (read > 0)
        {
            _sha256.AppendData(buffer, offset, read);
            _md5.AppendData(buffer, offset, read);
            _position += read;
            _bytesRead?.Invoke(read);
        }

        return read;
    }
}
