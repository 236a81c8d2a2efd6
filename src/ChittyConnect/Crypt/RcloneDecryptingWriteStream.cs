using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Crypt;

/// <summary>
/// The write side of <see cref="RcloneDecryptingStream"/>: takes rclone crypt content as it arrives (a
/// download writing into it) and writes the plaintext of each block to the destination once the block has
/// authenticated, one block of memory whatever the size. <see cref="CompleteAsync"/> opens the last, shorter
/// block; until it returns without error the destination holds only authenticated plaintext, and maybe
/// not all of it.
/// </summary>
public sealed class RcloneDecryptingWriteStream : Stream
{
    private readonly Stream _destination;
    private readonly RcloneBlockOpener _opener;
    private readonly byte[] _sealed = new byte[RcloneCryptFormat.BlockSize];
    private readonly byte[] _plain = new byte[RcloneCryptFormat.BlockDataSize];
    private int _filled;
    private bool _completed;

    /// <summary>Decrypts into <paramref name="destination"/> (left open) under <paramref name="key"/>.</summary>
    public RcloneDecryptingWriteStream(Stream destination, RcloneCryptKey key)
    {
        _destination = destination ?? throw new ArgumentNullException(nameof(destination));
        _opener = new RcloneBlockOpener(key);
    }

    /// <summary>Plaintext bytes written to the destination so far.</summary>
    public long PlainBytes { get; private set; }

    /// <summary>Called with each authenticated plaintext chunk before it is written (to hash it).</summary>
    public Action<byte[], int, int>? OnPlaintext { get; set; }

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) =>
        WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override async Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        if (buffer is null)
        {
            throw new ArgumentNullException(nameof(buffer));
        }

        if (_completed)
        {
            throw new InvalidOperationException("The encrypted content was already completed.");
        }

        while (count > 0)
        {
            var room = (_opener.HasHeader ? _sealed.Length : RcloneCryptFormat.FileHeaderSize) - _filled;
            var n = Math.Min(room, count);
            Buffer.BlockCopy(buffer, offset, _sealed, _filled, n);
            _filled += n;
            offset += n;
            count -= n;
            if (!_opener.HasHeader && _filled == RcloneCryptFormat.FileHeaderSize)
            {
                _opener.AcceptHeader(_sealed, _filled);
                _filled = 0;
            }
            else if (_filled == _sealed.Length)
            {
                // Last or not, a full block opens the same way: at once, so memory stays one block.
                await OpenAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Opens the last block and flushes the destination; throws <see cref="RcloneCryptException"/> when the
    /// content is cut short or does not authenticate.
    /// </summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        if (_completed)
        {
            return;
        }

        if (!_opener.HasHeader)
        {
            _opener.AcceptHeader(_sealed, _filled);
        }

        if (_filled > 0)
        {
            await OpenAsync(cancellationToken).ConfigureAwait(false);
        }

        _completed = true;
        await _destination.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();

    private async Task OpenAsync(CancellationToken cancellationToken)
    {
        var length = _opener.Open(_sealed, _filled, _plain);
        OnPlaintext?.Invoke(_plain, 0, length);
        await _destination.WriteAsync(_plain, 0, length, cancellationToken).ConfigureAwait(false);
        PlainBytes += length;
        _filled = 0;
    }
}
