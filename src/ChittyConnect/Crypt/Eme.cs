using System;
using System.Security.Cryptography;

namespace ChittyConnect.Crypt;

/// <summary>
/// EME (ECB-Mix-ECB), the wide-block mode of Halevi and Rogaway ("A Parallelizable Enciphering Mode",
/// 2003), over AES-256, as rfjakob/eme implements it for rclone's name encryption: deterministic, so a
/// name always encrypts to the same key, and every ciphertext byte depends on every plaintext byte.
/// Written here because neither .NET nor BouncyCastle offers EME; it is checked against rfjakob/eme's
/// published test vectors and, through name encryption, against rclone itself.
/// </summary>
internal static class Eme
{
    private const int Block = 16;

    /// <summary>The longest input: 128 AES blocks.</summary>
    public const int MaxLength = Block * 128;

    /// <summary>Enciphers (or deciphers) <paramref name="data"/>, 1 to 128 whole AES blocks, under <paramref name="tweak"/>.</summary>
    public static byte[] Transform(Aes aes, byte[] tweak, byte[] data, bool encrypt)
    {
        if (tweak is null || tweak.Length != Block)
        {
            throw new ArgumentException("The EME tweak has 16 bytes.", nameof(tweak));
        }

        if (data is null || data.Length == 0 || data.Length % Block != 0 || data.Length > MaxLength)
        {
            throw new ArgumentException($"EME takes 1 to 128 whole 16-byte blocks, not {data?.Length ?? 0} bytes.", nameof(data));
        }

        var m = data.Length / Block;
        using var forward = aes.CreateEncryptor();
        using var cipher = encrypt ? aes.CreateEncryptor() : aes.CreateDecryptor();

        // L_j = 2^(j+1) * AES-enc(K, 0): the same masks in both directions.
        var masks = new byte[m * Block];
        var l = new byte[Block];
        forward.TransformBlock(new byte[Block], 0, Block, l, 0);
        for (var j = 0; j < m; j++)
        {
            Double(l);
            Buffer.BlockCopy(l, 0, masks, j * Block, Block);
        }

        // First ECB pass: PPP_j = E(P_j xor L_j).
        var c = new byte[data.Length];
        var work = new byte[Block];
        for (var j = 0; j < m; j++)
        {
            Xor(data, j * Block, masks, j * Block, work, 0);
            cipher.TransformBlock(work, 0, Block, c, j * Block);
        }

        // Mix: MP = xor of all PPP_j and T; MC = E(MP); M = MP xor MC.
        var mp = (byte[])tweak.Clone();
        for (var j = 0; j < m; j++)
        {
            Xor(mp, 0, c, j * Block, mp, 0);
        }

        var mc = new byte[Block];
        cipher.TransformBlock(mp, 0, Block, mc, 0);
        var mix = new byte[Block];
        Xor(mp, 0, mc, 0, mix, 0);

        // CCC_j = PPP_j xor 2^(j-1) M for j >= 1; CCC_0 = MC xor T xor the other CCC_j.
        for (var j = 1; j < m; j++)
        {
            Double(mix);
            Xor(c, j * Block, mix, 0, c, j * Block);
        }

        var first = new byte[Block];
        Xor(mc, 0, tweak, 0, first, 0);
        for (var j = 1; j < m; j++)
        {
            Xor(first, 0, c, j * Block, first, 0);
        }

        Buffer.BlockCopy(first, 0, c, 0, Block);

        // Second ECB pass: C_j = E(CCC_j) xor L_j.
        for (var j = 0; j < m; j++)
        {
            cipher.TransformBlock(c, j * Block, Block, work, 0);
            Xor(work, 0, masks, j * Block, c, j * Block);
        }

        return c;
    }

    /// <summary>An AES-256 block cipher (ECB, no padding) for <see cref="Transform"/>.</summary>
    public static Aes CreateAes(byte[] key)
    {
        var aes = Aes.Create();
        aes.Mode = CipherMode.ECB;
        aes.Padding = PaddingMode.None;
        aes.Key = key;
        return aes;
    }

    // Multiplication by x in GF(2^128), the block read little-endian, as the EME-32 draft specifies.
    private static void Double(byte[] block)
    {
        var carry = block[Block - 1] >> 7;
        for (var j = Block - 1; j > 0; j--)
        {
            block[j] = (byte)((block[j] << 1) | (block[j - 1] >> 7));
        }

        block[0] = (byte)((block[0] << 1) ^ (carry * 135));
    }

    private static void Xor(byte[] a, int aOffset, byte[] b, int bOffset, byte[] output, int outOffset)
    {
        for (var i = 0; i < Block; i++)
        {
            output[outOffset + i] = (byte)(a[aOffset + i] ^ b[bOffset + i]);
        }
    }
}
