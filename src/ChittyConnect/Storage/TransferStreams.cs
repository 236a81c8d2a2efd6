using System;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

/// <summary>
/// A read-only, seekable window on a file, for one PUT or one part. It hashes (MD5 and SHA-256) each
/// complete pass from the start: the SDK may read the body once to sign it and again to send it, and
/// retries rewind it, so a rewind to 0 restarts the hashes and the last full pass is what was sent.
/// Reads go through the shared bandwidth limiter and report new bytes (beyond the furthest point
/// reached) as progress, so a retry or signing pass does not count twice.
/// </summary>
internal sealed class FileSegmentStream : Stream
{
    private readonly FileStream _file;
    private readonly long _offset;
    private readonly long _length;
    private readonly BandwidthLimiter? _limiter;
    private readonly Action<long>? _progress;
    private IncrementalHash _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
    private IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _position;
    private long _hashedUpTo;
    private long _highWater;

    public FileSegmentStream(string path, long offset, long length, BandwidthLimiter? limiter, Action<long>? progress)
    {
        _file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
        _offset = offset;
        _length = length;
        _limiter = limiter;
        _progress = progress;
        _file.Position = offset;
    }

    /// <summary>Hashes of the last complete pass over the window, or null when no pass completed.</summary>
    public ContentHashes? CompletedPass { get; private set; }

    /// <summary>Bytes read from the file in total, every pass included.</summary>
    public long BytesRead { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };
        if (target < 0 || target > _length)
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }

        if (target != _hashedUpTo)
        {
            // Any jump breaks the sequential hash; a full pass from 0 re-establishes it.
            ResetHashes();
        }

        _position = target;
        _file.Position = _offset + target;
        return target;
    }

    // A real synchronous read, not the async one waited on: the SDK hashes the body synchronously to sign
    // it (plain HTTP), on a thread-pool thread, and eight of those blocked on async reads starve the pool.
    public override int Read(byte[] buffer, int offset, int count)
    {
        var want = Want(count);
        if (want == 0)
        {
            return 0;
        }

        _limiter?.Wait(want);
        return Advance(buffer, offset, _file.Read(buffer, offset, want));
    }

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        var want = Want(count);
        if (want == 0)
        {
            return 0;
        }

        if (_limiter is not null)
        {
            await _limiter.WaitAsync(want, cancellationToken).ConfigureAwait(false);
        }

        return Advance(buffer, offset, await _file.ReadAsync(buffer, offset, want, cancellationToken).ConfigureAwait(false));
    }

    // How much the next read may take: what is left of the window, in throttled chunks under a limit.
    private int Want(int count)
    {
        var want = (int)Math.Min(count, Math.Max(0, _length - _position));
        return _limiter is null ? want : Math.Min(want, BandwidthLimiter.MaxChunk);
    }

    // Hashes and counts the bytes just read.
    private int Advance(byte[] buffer, int offset, int read)
    {
        if (read == 0)
        {
            throw new IOException("The file became shorter while it was being uploaded.");
        }

        if (_position == _hashedUpTo)
        {
            _md5.AppendData(buffer, offset, read);
            _sha256.AppendData(buffer, offset, read);
            _hashedUpTo += read;
        }

        _position += read;
        BytesRead += read;
        if (_position > _highWater)
        {
            _progress?.Invoke(_position - _highWater);
            _highWater = _position;
        }

        if (_position == _length && _hashedUpTo == _length)
        {
            CompletedPass = new ContentHashes(ContentHasher.ToHex(_sha256.GetHashAndReset()), ContentHasher.ToHex(_md5.GetHashAndReset()), _length);
            _hashedUpTo = -1;
        }

        return read;
    }

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
            _md5.Dispose();
            _sha256.Dispose();
        }

        base.Dispose(disposing);
    }

    private void ResetHashes()
    {
        _md5.Dispose();
        _sha256.Dispose();
        _md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        _hashedUpTo = 0;
    }
}
