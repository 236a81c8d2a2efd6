using System;
using System.Buffers;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Crypt;

/// <summary>
/// Reads a plaintext stream as rclone crypt content: the header, then one sealed block per 64 KiB of
/// plaintext, produced as they are read (one block of memory, whatever the size). Over a seekable source
/// it is seekable too, with a <see cref="Length"/> of <see cref="RcloneCryptFormat.EncryptedSize"/>: every
/// block depends only on the nonce and its own index, so a range (a multipart part) can be produced on its
/// own, in parallel with others from their own streams over the same file and nonce.
/// </summary>
public sealed class RcloneEncryptingStream : Stream
{
    private readonly Stream _plain;
    private readonly bool _leaveOpen;
    private readonly SecretBox _box;
    private readonly byte[] _nonce;
    private readonly byte[] _blockNonce = new byte[RcloneCryptFormat.NonceSize];
    private readonly byte[] _header = new byte[RcloneCryptFormat.FileHeaderSize];
    // Pooled (a sync of many small files makes a stream for each) and returned on Dispose, after which the
    // stream refuses to read.
    private byte[]? _plainBlock = ArrayPool<byte>.Shared.Rent(RcloneCryptFormat.BlockDataSize);
    private byte[]? _sealed = ArrayPool<byte>.Shared.Rent(RcloneCryptFormat.BlockSize);
    private long _position;
    private long _sealedIndex = -1;
    private int _sealedLength;
    private long _nextSourceBlock;

    /// <summary>
    /// Encrypts <paramref name="plain"/> under <paramref name="key"/> with <paramref name="nonce"/> (24 bytes),
    /// or a fresh random nonce when none is given (rclone draws one per object).
    /// </summary>
    public RcloneEncryptingStream(Stream plain, RcloneCryptKey key, byte[]? nonce = null, bool leaveOpen = false)
    {
        _plain = plain ?? throw new ArgumentNullException(nameof(plain));
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        if (nonce is not null && nonce.Length != RcloneCryptFormat.NonceSize)
        {
            throw new ArgumentException($"The nonce has {RcloneCryptFormat.NonceSize} bytes.", nameof(nonce));
        }

        _leaveOpen = leaveOpen;
        _box = new SecretBox(key.DataKey);
        _nonce = nonce is null ? NewNonce() : (byte[])nonce.Clone();
        RcloneCryptFormat.WriteHeader(_header, _nonce);
        _nextSourceBlock = plain.CanSeek ? -1 : 0;
    }

    /// <summary>A fresh random nonce, as rclone draws one for each object it writes.</summary>
    public static byte[] NewNonce()
    {
        var nonce = new byte[RcloneCryptFormat.NonceSize];
        using var rng = RandomNumberGenerator.Create();
        rng.GetBytes(nonce);
        return nonce;
    }

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => _plain.CanSeek;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => RcloneCryptFormat.EncryptedSize(_plain.Length);

    /// <inheritdoc />
    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count)
    {
        if (buffer is null)
        {
            throw new ArgumentNullException(nameof(buffer));
        }

        if (offset < 0 || count < 0 || offset + count > buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        if (_sealed is null)
        {
            throw new ObjectDisposedException(nameof(RcloneEncryptingStream));
        }

        if (count == 0)
        {
            return 0;
        }

        if (_position < RcloneCryptFormat.FileHeaderSize)
        {
            var n = (int)Math.Min(count, RcloneCryptFormat.FileHeaderSize - _position);
            Buffer.BlockCopy(_header, (int)_position, buffer, offset, n);
            _position += n;
            return n;
        }

        var body = _position - RcloneCryptFormat.FileHeaderSize;
        var index = body / RcloneCryptFormat.BlockSize;
        var within = (int)(body % RcloneCryptFormat.BlockSize);
        if (index != _sealedIndex)
        {
            SealBlock(index);
        }

        if (within >= _sealedLength)
        {
            return 0;
        }

        var copied = Math.Min(count, _sealedLength - within);
        Buffer.BlockCopy(_sealed!, within, buffer, offset, copied);
        _position += copied;
        return copied;
    }

    /// <summary>
    /// Reads <paramref name="count"/> bytes of the encrypted content from <paramref name="position"/> into
    /// <paramref name="buffer"/>; fewer only where the content ends. Returns the bytes read.
    /// </summary>
    public int ReadAt(long position, byte[] buffer, int count)
    {
        Position = position;
        var filled = 0;
        int read;
        while (filled < count && (read = Read(buffer, filled, count - filled)) > 0)
        {
            filled += read;
        }

        return filled;
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        // Local reads and sealing are CPU work: done inline rather than queued to another thread.
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Read(buffer, offset, count));
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin)
    {
        if (!CanSeek)
        {
            throw new NotSupportedException("The plaintext stream cannot seek, so neither can its encryption.");
        }

        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => Length + offset,
        };
        if (target < 0)
        {
            throw new IOException("Cannot seek before the start of the stream.");
        }

        _position = target;
        return target;
    }

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (!_leaveOpen)
            {
                _plain.Dispose();
            }

            if (_sealed is not null)
            {
                ArrayPool<byte>.Shared.Return(_sealed);
                ArrayPool<byte>.Shared.Return(_plainBlock!);
                (_sealed, _plainBlock) = (null, null);
            }
        }

        base.Dispose(disposing);
    }

    private void SealBlock(long index)
    {
        if (_plain.CanSeek)
        {
            var start = index * RcloneCryptFormat.BlockDataSize;
            if (_plain.Position != start)
            {
                _plain.Position = start;
            }
        }
        else if (index != _nextSourceBlock)
        {
            throw new NotSupportedException("The plaintext stream cannot seek: its encryption is read in order.");
        }

        // A rented array may be longer than a block: read exactly a block's worth.
        var plainBlock = _plainBlock!;
        var filled = 0;
        int read;
        while (filled < RcloneCryptFormat.BlockDataSize && (read = _plain.Read(plainBlock, filled, RcloneCryptFormat.BlockDataSize - filled)) > 0)
        {
            filled += read;
        }

        _nextSourceBlock = _plain.CanSeek ? -1 : index + 1;
        _sealedIndex = index;
        if (filled == 0)
        {
            _sealedLength = 0;
            return;
        }

        Buffer.BlockCopy(_nonce, 0, _blockNonce, 0, _nonce.Length);
        RcloneCryptFormat.AddToNonce(_blockNonce, (ulong)index);
        _box.Seal(plainBlock, 0, filled, _blockNonce, _sealed!, 0);
        _sealedLength = filled + RcloneCryptFormat.BlockHeaderSize;
    }
}
