using System;
using System.Runtime.InteropServices;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Macs;
using Org.BouncyCastle.Crypto.Parameters;

namespace ChittyConnect.Crypt;

/// <summary>
/// NaCl secretbox (XSalsa20-Poly1305) as golang.org/x/crypto/nacl/secretbox seals it: the first 32 bytes
/// of the XSalsa20 keystream key a one-time Poly1305, the rest of the stream encrypts the message, and
/// the sealed form is the 16-byte tag followed by the ciphertext. Not thread-safe: one per stream. Where
/// the runtime loads the vectorised core (<see cref="SecretBoxCores"/>) that core seals and opens; elsewhere
/// BouncyCastle's XSalsa20 and Poly1305 do, which tests keep as the reference for both.
/// </summary>
internal sealed class SecretBox
{
    /// <summary>Bytes of the Poly1305 tag.</summary>
    public const int TagSize = 16;

    private const int PolyKeySize = 32;

    private readonly XSalsa20Keystream _salsa = new();
    private readonly Poly1305 _poly = new();
    private readonly byte[] _keyBytes;
    private readonly KeyParameter _key;
    private readonly ISecretBoxCore? _core;
    private readonly byte[] _polyKey = new byte[PolyKeySize];
    private readonly byte[] _tag = new byte[TagSize];

    public SecretBox(byte[] key)
        : this(key, SecretBoxCores.Fastest)
    {
    }

    /// <summary>Seals and opens with <paramref name="core"/>, or with BouncyCastle's cipher when it is null.</summary>
    internal SecretBox(byte[] key, ISecretBoxCore? core)
    {
        if (key is null || key.Length != 32)
        {
            throw new ArgumentException("A secretbox key has 32 bytes.", nameof(key));
        }

        _keyBytes = (byte[])key.Clone();
        _key = new KeyParameter(key);
        _core = core;
    }

    /// <summary>Seals <paramref name="count"/> bytes of <paramref name="plain"/> into <paramref name="sealedOut"/> (tag then ciphertext).</summary>
    public void Seal(byte[] plain, int offset, int count, byte[] nonce, byte[] sealedOut, int outOffset)
    {
        if (_core is not null)
        {
            _core.Seal(_keyBytes, nonce, plain, offset, count, sealedOut, outOffset);
            return;
        }

        Start(nonce);
        _salsa.Xor(plain, offset, count, sealedOut, outOffset + TagSize);
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

        if (_core is not null)
        {
            return _core.Open(_keyBytes, nonce, sealedIn, offset, count, plainOut, outOffset);
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

        _salsa.Xor(sealedIn, offset + TagSize, count - TagSize, plainOut, outOffset);
        return true;
    }

    private void Start(byte[] nonce)
    {
        _salsa.Start(_key, nonce);
        _salsa.Keystream(_polyKey);
        _poly.Init(new KeyParameter(_polyKey));
    }

    /// <summary>
    /// BouncyCastle's XSalsa20, its keystream XORed a word at a time. The engine's own ProcessBytes runs its
    /// loop once per byte, which costs more than the Salsa20 core itself; its protected GenerateKeyStream and
    /// AdvanceCounter give the same keystream 64 bytes at a time, and only the XOR of it is done here
    /// (SecretBoxTests compare every length against ProcessBytes).
    /// </summary>
    private sealed class XSalsa20Keystream : XSalsa20Engine
    {
        private const int BlockBytes = 64;

        private readonly byte[] _block = new byte[BlockBytes];
        private int _used = BlockBytes;

        public void Start(KeyParameter key, byte[] nonce)
        {
            Init(true, new ParametersWithIV(key, nonce));
            _used = BlockBytes;
        }

        /// <summary>The next <c>output.Length</c> bytes of keystream.</summary>
        public void Keystream(byte[] output)
        {
            Array.Clear(output, 0, output.Length);
            Xor(output, 0, output.Length, output, 0);
        }

        /// <summary>XORs the next <paramref name="count"/> bytes of keystream with <paramref name="input"/> into <paramref name="output"/>.</summary>
        public void Xor(byte[] input, int inOffset, int count, byte[] output, int outOffset)
        {
            while (count > 0)
            {
                if (_used == BlockBytes)
                {
                    GenerateKeyStream(_block);
                    AdvanceCounter();
                    _used = 0;
                }

                var n = Math.Min(BlockBytes - _used, count);
                if (n == BlockBytes)
                {
                    var keystream = MemoryMarshal.Cast<byte, ulong>(_block.AsSpan());
                    var source = MemoryMarshal.Cast<byte, ulong>(input.AsSpan(inOffset, BlockBytes));
                    var target = MemoryMarshal.Cast<byte, ulong>(output.AsSpan(outOffset, BlockBytes));
                    for (var i = 0; i < keystream.Length; i++)
                    {
                        target[i] = source[i] ^ keystream[i];
                    }
                }
                else
                {
                    for (var i = 0; i < n; i++)
                    {
                        output[outOffset + i] = (byte)(input[inOffset + i] ^ _block[_used + i]);
                    }
                }

                _used += n;
                inOffset += n;
                outOffset += n;
                count -= n;
            }
        }
    }
}
