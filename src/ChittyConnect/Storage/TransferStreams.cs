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

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        var remaining = _length - _position;
        if (remaining <= 0)
        {
            return 0;
        }

        var want = (int)Math.Min(count, remaining);
        if (_limiter is not null)
        {
            want = Math.Min(want, BandwidthLimiter.MaxChunk);
            await _limiter.WaitAsync(want, cancellationToken).ConfigureAwait(false);
        }

        var read = await _file.ReadAsync(buffer, offset, want, cancellationToken).ConfigureAwait(false);
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
