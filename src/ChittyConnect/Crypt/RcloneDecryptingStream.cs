using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Crypt;

/// <summary>
/// Reads rclone crypt content as its plaintext, one 64 KiB block at a time (constant memory). A block is
/// authenticated before any of its bytes is returned, so a wrong password or altered content fails with
/// <see cref="RcloneCryptException"/> (BadBlock) before the first plaintext byte of that block is seen. It
/// does not know the object's length: a caller that must notice a cut after a whole block compares the
/// bytes it read with <see cref="RcloneCryptFormat.DecryptedSize"/> of the listed size.
/// </summary>
public sealed class RcloneDecryptingStream : Stream
{
    private readonly Stream _encrypted;
    private readonly bool _leaveOpen;
    private readonly RcloneBlockOpener _opener;
    private readonly byte[] _sealed = new byte[RcloneCryptFormat.BlockSize];
    private readonly byte[] _plain = new byte[RcloneCryptFormat.BlockDataSize];
    private int _plainIndex;
    private int _plainLength;
    private bool _ended;
    private long _position;

    /// <summary>Decrypts <paramref name="encrypted"/> under <paramref name="key"/>.</summary>
    public RcloneDecryptingStream(Stream encrypted, RcloneCryptKey key, bool leaveOpen = false)
    {
        _encrypted = encrypted ?? throw new ArgumentNullException(nameof(encrypted));
        _leaveOpen = leaveOpen;
        _opener = new RcloneBlockOpener(key);
    }

    /// <inheritdoc />
    public override bool CanRead => true;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count)
    {
        Check(buffer, offset, count);
        if (_plainIndex >= _plainLength && !_ended)
        {
            if (!_opener.HasHeader)
            {
                _opener.AcceptHeader(_sealed, Fill(_sealed, RcloneCryptFormat.FileHeaderSize));
            }

            OpenBlock(Fill(_sealed, _sealed.Length));
        }

        return Take(buffer, offset, count);
    }

    /// <inheritdoc />
    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        Check(buffer, offset, count);
        if (_plainIndex >= _plainLength && !_ended)
        {
            if (!_opener.HasHeader)
            {
                _opener.AcceptHeader(_sealed, await FillAsync(_sealed, RcloneCryptFormat.FileHeaderSize, cancellationToken).ConfigureAwait(false));
            }

            OpenBlock(await FillAsync(_sealed, _sealed.Length, cancellationToken).ConfigureAwait(false));
        }

        return Take(buffer, offset, count);
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

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
        if (disposing && !_leaveOpen)
        {
            _encrypted.Dispose();
        }

        base.Dispose(disposing);
    }

    private static void Check(byte[] buffer, int offset, int count)
    {
        if (buffer is null)
        {
            throw new ArgumentNullException(nameof(buffer));
        }

        if (offset < 0 || count < 0 || offset + count > buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }
    }

    private void OpenBlock(int read)
    {
        if (read == 0)
        {
            _ended = true;
            return;
        }

        _plainIndex = 0;
        _plainLength = _opener.Open(_sealed, read, _plain);
    }

    private int Take(byte[] buffer, int offset, int count)
    {
        var n = Math.Min(count, _plainLength - _plainIndex);
        if (n <= 0)
        {
            return 0;
        }

        Buffer.BlockCopy(_plain, _plainIndex, buffer, offset, n);
        _plainIndex += n;
        _position += n;
        return n;
    }

    private int Fill(byte[] target, int count)
    {
        var filled = 0;
        int read;
        while (filled < count && (read = _encrypted.Read(target, filled, count - filled)) > 0)
        {
            filled += read;
        }

        return filled;
    }

    private async Task<int> FillAsync(byte[] target, int count, CancellationToken cancellationToken)
    {
        var filled = 0;
        int read;
        while (filled < count && (read = await _encrypted.ReadAsync(target, filled, count - filled, cancellationToken).ConfigureAwait(false)) > 0)
        {
            filled += read;
        }

        return filled;
    }
}
