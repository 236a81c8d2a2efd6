using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Crypt;

/// <summary>
/// The write side of <see cref="RcloneDecryptingStream"/>: takes rclone crypt content as it arrives (a
/// download writing into it) and writes the plaintext of each block to the destination, in order, once the
/// block has authenticated. Blocks are opened a batch at a time (up to 2 MiB) on the thread pool, the blocks
/// of a batch on every core, while the next batch arrives: the cipher, the costliest step of a download, does
/// not run in turn with the network. Memory is two batches whatever the size, and a batch only grows to
/// 2 MiB when the content is that long. <see cref="CompleteAsync"/>
/// opens the rest; until it returns without error the destination holds only authenticated plaintext, and
/// maybe not all of it (when a block fails, the blocks before it are written and none after).
/// </summary>
public sealed class RcloneDecryptingWriteStream : Stream
{
    private const int BatchBlocks = 32;

    private readonly Stream _destination;
    private readonly RcloneCryptKey _key;
    private readonly byte[] _header = new byte[RcloneCryptFormat.FileHeaderSize];
    private readonly ParallelOptions _parallel = new() { MaxDegreeOfParallelism = Environment.ProcessorCount };
    private int _headerFilled;
    private byte[]? _nonce;
    private SecretBox? _box;
    private Batch _filling = new();
    private Batch _opened = new();
    private Task? _opening;
    private long _nextBlock;
    private bool _completed;

    /// <summary>Decrypts into <paramref name="destination"/> (left open) under <paramref name="key"/>.</summary>
    public RcloneDecryptingWriteStream(Stream destination, RcloneCryptKey key)
    {
        _destination = destination ?? throw new ArgumentNullException(nameof(destination));
        _key = key ?? throw new ArgumentNullException(nameof(key));
    }

    /// <summary>Plaintext bytes written to the destination so far.</summary>
    public long PlainBytes { get; private set; }

    /// <summary>Called with each authenticated plaintext chunk, in order, before it is written (to hash it).</summary>
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
            if (_nonce is null)
            {
                var h = Math.Min(count, _header.Length - _headerFilled);
                Buffer.BlockCopy(buffer, offset, _header, _headerFilled, h);
                (_headerFilled, offset, count) = (_headerFilled + h, offset + h, count - h);
                if (_headerFilled == _header.Length)
                {
                    _nonce = RcloneBlockOpener.ReadHeader(_header, _headerFilled);
                }

                continue;
            }

            if (_filling.Filled == _filling.Sealed.Length)
            {
                // Full, and more is coming: a batch grows to its size first (a small object keeps small buffers).
                if (_filling.Sealed.Length < BatchBlocks * RcloneCryptFormat.BlockSize)
                {
                    _filling.Grow();
                }
                else
                {
                    await OpenFilledAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            var n = Math.Min(count, _filling.Sealed.Length - _filling.Filled);
            Buffer.BlockCopy(buffer, offset, _filling.Sealed, _filling.Filled, n);
            (_filling.Filled, offset, count) = (_filling.Filled + n, offset + n, count - n);
        }
    }

    /// <summary>
    /// Opens the last blocks and flushes the destination; throws <see cref="RcloneCryptException"/> when the
    /// content is cut short or does not authenticate.
    /// </summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        if (_completed)
        {
            return;
        }

        _nonce ??= RcloneBlockOpener.ReadHeader(_header, _headerFilled);
        if (_filling.Filled > 0)
        {
            await OpenFilledAsync(cancellationToken).ConfigureAwait(false);
        }

        await WriteOpenedAsync(cancellationToken).ConfigureAwait(false);
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

    // Writes the batch being opened, then starts opening the one just filled; the emptied batch fills next.
    private async Task OpenFilledAsync(CancellationToken cancellationToken)
    {
        await WriteOpenedAsync(cancellationToken).ConfigureAwait(false);
        (_filling, _opened) = (_opened, _filling);
        var batch = _opened;
        batch.FirstBlock = _nextBlock;
        _nextBlock += (batch.Filled + RcloneCryptFormat.BlockSize - 1) / RcloneCryptFormat.BlockSize;
        var nonce = _nonce!;
        _opening = Task.Run(() => Open(batch, nonce), cancellationToken);
        _filling.Filled = 0;
    }

    private async Task WriteOpenedAsync(CancellationToken cancellationToken)
    {
        if (_opening is null)
        {
            return;
        }

        var opening = _opening;
        _opening = null;
        await opening.ConfigureAwait(false);
        var batch = _opened;
        if (batch.PlainLength > 0)
        {
            OnPlaintext?.Invoke(batch.Plain, 0, batch.PlainLength);
            await _destination.WriteAsync(batch.Plain, 0, batch.PlainLength, cancellationToken).ConfigureAwait(false);
            PlainBytes += batch.PlainLength;
        }

        if (batch.Failure is not null)
        {
            throw batch.Failure;
        }
    }

    // Opens every block of the batch, each on its own under the nonce stepped by its index. Afterwards the
    // batch's plaintext is that of the blocks before the first that failed, and Failure names that block.
    private void Open(Batch batch, byte[] nonce)
    {
        var blocks = (batch.Filled + RcloneCryptFormat.BlockSize - 1) / RcloneCryptFormat.BlockSize;
        if (batch.Plain.Length < blocks * RcloneCryptFormat.BlockDataSize)
        {
            batch.Plain = new byte[blocks * RcloneCryptFormat.BlockDataSize];
        }

        var good = new bool[blocks];
        SecretBox OpenBlock(int i, SecretBox box)
        {
            var start = i * RcloneCryptFormat.BlockSize;
            var count = Math.Min(RcloneCryptFormat.BlockSize, batch.Filled - start);
            if (count > RcloneCryptFormat.BlockHeaderSize)
            {
                var blockNonce = (byte[])nonce.Clone();
                RcloneCryptFormat.AddToNonce(blockNonce, (ulong)(batch.FirstBlock + i));
                good[i] = box.Open(batch.Sealed, start, count, blockNonce, batch.Plain, i * RcloneCryptFormat.BlockDataSize);
            }

            return box;
        }

        if (blocks == 1)
        {
            // A small object (or the last block): one block needs no workers. Batches open one at a time.
            OpenBlock(0, _box ??= new SecretBox(_key.DataKey));
        }
        else
        {
            Parallel.For(0, blocks, _parallel, () => new SecretBox(_key.DataKey), (i, _, box) => OpenBlock(i, box), _ => { });
        }

        var first = Array.IndexOf(good, false);
        var kept = first < 0 ? blocks : first;
        batch.PlainLength = kept == 0 ? 0 : ((kept - 1) * RcloneCryptFormat.BlockDataSize) + PlainOf(batch, kept - 1);
        batch.Failure = first < 0 ? null
            : PlainOf(batch, first) <= 0 ? RcloneBlockOpener.EmptyBlock()
            : RcloneBlockOpener.BadBlock(batch.FirstBlock + first);
    }

    private static int PlainOf(Batch batch, int block) =>
        Math.Min(RcloneCryptFormat.BlockSize, batch.Filled - (block * RcloneCryptFormat.BlockSize)) - RcloneCryptFormat.BlockHeaderSize;

    private sealed class Batch
    {
        public byte[] Sealed = Array.Empty<byte>();
        public byte[] Plain = Array.Empty<byte>();
        public int Filled;
        public long FirstBlock;
        public int PlainLength;
        public RcloneCryptException? Failure;

        // Makes the sealed buffer a block, or doubles it up to BatchBlocks blocks, keeping what it holds.
        public void Grow()
        {
            var grown = new byte[Math.Max(RcloneCryptFormat.BlockSize, Math.Min(Sealed.Length * 2, BatchBlocks * RcloneCryptFormat.BlockSize))];
            Buffer.BlockCopy(Sealed, 0, grown, 0, Filled);
            Sealed = grown;
        }
    }
}
