using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Storage;

/// <summary>
/// One window of a file (read straight from disk as it is sent, in constant memory) or of bytes already in
/// memory, as a request body: in limiter-sized reads when a bandwidth limit applies, the limiter's waits
/// ending at once when the transfer is cancelled. Seekable, so the SDK can rewind it for a retry; progress
/// counts each byte once however many attempts send it. A file that became shorter fails the read instead
/// of sending fewer bytes.
/// </summary>
internal sealed class UploadBodyStream : Stream
{
    private readonly Stream _source;
    private readonly long _offset;
    private readonly long _length;
    private readonly BandwidthLimiter? _limiter;
    private readonly Action<long>? _progress;
    private readonly CancellationToken _cancellationToken;
    private long _position;
    private long _highWater;

    /// <summary>The first <paramref name="length"/> bytes of <paramref name="buffer"/>.</summary>
    public UploadBodyStream(byte[] buffer, int length, BandwidthLimiter? limiter, Action<long>? progress, CancellationToken cancellationToken)
        : this(new MemoryStream(buffer, 0, length, writable: false), 0, length, limiter, progress, cancellationToken)
    {
    }

    /// <summary>The window of <paramref name="length"/> bytes at <paramref name="offset"/> of <paramref name="source"/> (a seekable file), which it owns.</summary>
    public UploadBodyStream(Stream source, long offset, long length, BandwidthLimiter? limiter, Action<long>? progress, CancellationToken cancellationToken)
    {
        _source = source;
        _offset = offset;
        _length = length;
        _limiter = limiter;
        _progress = progress;
        _cancellationToken = cancellationToken;
        _source.Position = offset;
    }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set
        {
            if (value < 0 || value > _length)
            {
                throw new ArgumentOutOfRangeException(nameof(value));
            }

            _position = value;
            _source.Position = _offset + value;
        }
    }

    public override int Read(byte[] buffer, int offset, int count)
    {
        count = Want(count);
        if (count == 0)
        {
            return 0;
        }

        if (_limiter is not null)
        {
            _limiter.WaitAsync(count, _cancellationToken).GetAwaiter().GetResult();
        }

        return Advance(_source.Read(buffer, offset, count));
    }

    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        count = Want(count);
        if (count == 0)
        {
            return 0;
        }

        if (_limiter is not null)
        {
            using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cancellationToken);
            await _limiter.WaitAsync(count, either.Token).ConfigureAwait(false);
        }

        _cancellationToken.ThrowIfCancellationRequested();
        // Read in place: the file was just hashed, so its bytes are in the page cache, and the sender asks
        // for a few KiB at a time; a file stream opened for synchronous use would hand each such read to
        // the thread pool as a work item of its own.
        return Advance(_source.Read(buffer, offset, count));
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _length + offset,
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _source.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Want(int count)
    {
        var left = _length - _position;
        var want = (int)Math.Min(count, left);
        return _limiter is null ? want : Math.Min(want, BandwidthLimiter.MaxChunk);
    }

    private int Advance(int read)
    {
        if (read == 0)
        {
            throw new IOException("The file became shorter while it was being uploaded.");
        }

        _position += read;
        if (_position > _highWater)
        {
            _progress?.Invoke(_position - _highWater);
            _highWater = _position;
        }

        return read;
    }
}
