using System;

namespace ChittyConnect.Crypt;

/// <summary>
/// rclone crypt's content format (backend/crypt in rclone): the 8-byte magic <c>RCLONE\0\0</c>, a random
/// 24-byte nonce, then the plaintext in blocks of 64 KiB, each sealed with NaCl secretbox
/// (XSalsa20-Poly1305) under the nonce incremented once per block. Every block adds 16 bytes, so the
/// encrypted size follows from the plain size and back.
/// </summary>
public static class RcloneCryptFormat
{
    /// <summary>Plaintext bytes per block; only the last block is shorter.</summary>
    public const int BlockDataSize = 64 * 1024;

    /// <summary>The Poly1305 tag each block carries ahead of its data.</summary>
    public const int BlockHeaderSize = SecretBox.TagSize;

    /// <summary>Bytes of a full encrypted block.</summary>
    public const int BlockSize = BlockHeaderSize + BlockDataSize;

    /// <summary>Bytes of the nonce after the magic.</summary>
    public const int NonceSize = 24;

    /// <summary>Magic plus nonce.</summary>
    public const int FileHeaderSize = 8 + NonceSize;

    private static readonly byte[] s_magic = { (byte)'R', (byte)'C', (byte)'L', (byte)'O', (byte)'N', (byte)'E', 0, 0 };

    /// <summary>The size of <paramref name="plainSize"/> bytes once encrypted (rclone's EncryptedSize).</summary>
    public static long EncryptedSize(long plainSize)
    {
        if (plainSize < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(plainSize));
        }

        var blocks = plainSize / BlockDataSize;
        var residue = plainSize % BlockDataSize;
        return FileHeaderSize + (blocks * BlockSize) + (residue == 0 ? 0 : BlockHeaderSize + residue);
    }

    /// <summary>
    /// The plain size of an encrypted object of <paramref name="encryptedSize"/> bytes (rclone's
    /// DecryptedSize); throws <see cref="RcloneCryptException"/> for a size no encryption produces.
    /// </summary>
    public static long DecryptedSize(long encryptedSize)
    {
        var body = encryptedSize - FileHeaderSize;
        if (body < 0)
        {
            throw new RcloneCryptException($"An encrypted object of {encryptedSize} bytes is shorter than rclone crypt's {FileHeaderSize}-byte header.", RcloneCryptException.Truncated);
        }

        var blocks = body / BlockSize;
        var residue = body % BlockSize;
        if (residue != 0 && residue <= BlockHeaderSize)
        {
            throw new RcloneCryptException($"An encrypted object of {encryptedSize} bytes ends in a block without data: it is truncated or not rclone crypt's.", RcloneCryptException.Truncated);
        }

        return (blocks * BlockDataSize) + (residue == 0 ? 0 : residue - BlockHeaderSize);
    }

    /// <summary>Writes the magic and <paramref name="nonce"/> into the first 32 bytes of <paramref name="header"/>.</summary>
    internal static void WriteHeader(byte[] header, byte[] nonce)
    {
        Buffer.BlockCopy(s_magic, 0, header, 0, s_magic.Length);
        Buffer.BlockCopy(nonce, 0, header, s_magic.Length, NonceSize);
    }

    /// <summary>Checks the magic of a 32-byte header and returns its nonce.</summary>
    internal static byte[] ReadHeader(byte[] header)
    {
        for (var i = 0; i < s_magic.Length; i++)
        {
            if (header[i] != s_magic[i])
            {
                throw new RcloneCryptException("The object is not rclone crypt content: it does not start with the RCLONE magic.", RcloneCryptException.BadMagic);
            }
        }

        var nonce = new byte[NonceSize];
        Buffer.BlockCopy(header, s_magic.Length, nonce, 0, NonceSize);
        return nonce;
    }

    /// <summary>
    /// Adds <paramref name="blocks"/> to a nonce read as a little-endian number: the first 8 bytes take
    /// the sum and a carry runs on through the rest, as rclone steps its nonce once per block.
    /// </summary>
    internal static void AddToNonce(byte[] nonce, ulong blocks)
    {
        var carry = 0u;
        for (var i = 0; i < 8; i++)
        {
            carry += nonce[i] + (uint)(blocks & 0xff);
            nonce[i] = (byte)carry;
            carry >>= 8;
            blocks >>= 8;
        }

        for (var i = 8; carry != 0 && i < nonce.Length; i++)
        {
            nonce[i]++;
            carry = nonce[i] == 0 ? 1u : 0u;
        }
    }
}
