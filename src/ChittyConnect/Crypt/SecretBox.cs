using System;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Macs;
using Org.BouncyCastle.Crypto.Parameters;

namespace ChittyConnect.Crypt;

/// <summary>
/// NaCl secretbox (XSalsa20-Poly1305) as golang.org/x/crypto/nacl/secretbox seals it: the first 32 bytes
/// of the XSalsa20 keystream key a one-time Poly1305, the rest of the stream encrypts the message, and
/// the sealed form is the 16-byte tag followed by the ciphertext. Not thread-safe: one per stream.
/// </summary>
internal sealed class SecretBox
{
    /// <summary>Bytes of the Poly1305 tag.</summary>
    public const int TagSize = 16;

    private readonly XSalsa20Engine _salsa = new();
    private readonly Poly1305 _poly = new();
    private readonly byte[] _key;
    private readonly byte[] _zeros = new byte[32];
    private readonly byte[] _polyKey = new byte[32];
    private readonly byte[] _tag = new byte[TagSize];

    public SecretBox(byte[] key)
    {
        if (key is null || key.Length != 32)
        {
            throw new ArgumentException("A secretbox key has 32 bytes.", nameof(key));
        }

        _key = key;
    }

    /// <summary>Seals <paramref name="count"/> bytes of <paramref name="plain"/> into <paramref name="sealedOut"/> (tag then ciphertext).</summary>
    public void Seal(byte[] plain, int offset, int count, byte[] nonce, byte[] sealedOut, int outOffset)
    {
        Start(nonce);
        _salsa.ProcessBytes(plain, offset, count, sealedOut, outOffset + TagSize);
        _poly.BlockUpdate(sealedOut, outOffset + TagSize, count);
        _poly.DoFinal(sealedOut, outOffset);
    }

    /// <summary>
    /// Opens <paramref name="count"/> sealed bytes (tag then ciphertext) into <paramref name="plainOut"/>;
    /// false, with nothing decrypted, when the tag does not authenticate the ciphertext.
    /// </summary>
    public bool Open(byte[] sealedIn, int offset, int count, byte[] nonce, byte[] plainOut, int outOffset)
    {
        if (count < TagSize)
        {
            return false;
        }

        Start(nonce);
        _poly.BlockUpdate(sealedIn, offset + TagSize, count - TagSize);
        _poly.DoFinal(_tag, 0);
        var difference = 0;
        for (var i = 0; i < TagSize; i++)
        {
            // Constant time: how many tag bytes match must not show in the timing.
            difference |= _tag[i] ^ sealedIn[offset + i];
        }

        if (difference != 0)
        {
            return false;
        }

        _salsa.ProcessBytes(sealedIn, offset + TagSize, count - TagSize, plainOut, outOffset);
        return true;
    }

    private void Start(byte[] nonce)
    {
        _salsa.Init(true, new ParametersWithIV(new KeyParameter(_key), nonce));
        _salsa.ProcessBytes(_zeros, 0, _polyKey.Length, _polyKey, 0);
        _poly.Init(new KeyParameter(_polyKey));
    }
}
