using System;

namespace ChittyConnect.Crypt;

/// <summary>
/// Opens the blocks of one rclone crypt object in order, for both decrypting streams: the header's magic and
/// nonce first, then each sealed block under the nonce stepped once per block, failing with the error that
/// names the block when one does not authenticate. Not thread-safe.
/// </summary>
internal sealed class RcloneBlockOpener
{
    private readonly SecretBox _box;
    private byte[]? _nonce;
    private long _block;

    public RcloneBlockOpener(RcloneCryptKey key)
    {
        if (key is null)
        {
            throw new ArgumentNullException(nameof(key));
        }

        _box = new SecretBox(key.DataKey);
    }

    /// <summary>True once the header was accepted.</summary>
    public bool HasHeader => _nonce is not null;

    /// <summary>Accepts the first <paramref name="length"/> bytes of <paramref name="header"/> as the header.</summary>
    public void AcceptHeader(byte[] header, int length)
    {
        _nonce = ReadHeader(header, length);
    }

    /// <summary>The nonce of a header of <paramref name="length"/> bytes; throws when it is cut short or not rclone crypt's.</summary>
    public static byte[] ReadHeader(byte[] header, int length)
    {
        if (length < RcloneCryptFormat.FileHeaderSize)
        {
            throw new RcloneCryptException($"The object has {length} bytes, fewer than rclone crypt's {RcloneCryptFormat.FileHeaderSize}-byte header: it is not encrypted content or it is cut short.", RcloneCryptException.Truncated);
        }

        return RcloneCryptFormat.ReadHeader(header);
    }

    /// <summary>The error for a sealed block that holds no data (the content is cut short).</summary>
    public static RcloneCryptException EmptyBlock() =>
        new("The encrypted content ends in a block without data: it is cut short.", RcloneCryptException.Truncated);

    /// <summary>The error for block <paramref name="index"/> (0-based) that did not authenticate.</summary>
    public static RcloneCryptException BadBlock(long index) =>
        new($"Block {index} failed authentication: the crypt password or salt is wrong, or the content was altered.", RcloneCryptException.BadBlock);

    /// <summary>Opens the next block (<paramref name="count"/> sealed bytes) into <paramref name="plain"/>; returns its plaintext length.</summary>
    public int Open(byte[] sealedBlock, int count, byte[] plain)
    {
        if (count <= RcloneCryptFormat.BlockHeaderSize)
        {
            throw EmptyBlock();
        }

        if (!_box.Open(sealedBlock, 0, count, _nonce!, plain, 0))
        {
            throw BadBlock(_block);
        }

        _block++;
        RcloneCryptFormat.AddToNonce(_nonce!, 1);
        return count - RcloneCryptFormat.BlockHeaderSize;
    }
}
