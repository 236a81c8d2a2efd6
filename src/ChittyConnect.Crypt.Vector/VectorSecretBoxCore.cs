using System;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ChittyConnect.Crypt;

/// <summary>
/// NaCl secretbox with <see cref="Salsa20Vector"/> and <see cref="Poly1305Wide"/>: bytes 0-31 of the
/// XSalsa20 keystream key the one-time Poly1305, the rest encrypt the message, the tag is over the
/// ciphertext. Stateless, so thread-safe; its working memory (a 512-byte keystream chunk) is on the stack.
/// </summary>
internal sealed class VectorSecretBoxCore : ISecretBoxCore
{
    private const int PolyKeySize = 32;

    private VectorSecretBoxCore()
    {
    }

    /// <summary>
    /// The core where the processor has AVX2 (256-bit vectors, and the shuffles that turn eight blocks' words
    /// into their byte order), else null: elsewhere the vector code would run element by element, slower than
    /// BouncyCastle's scalar cipher.
    /// </summary>
    public static ISecretBoxCore? CreateIfSupported() =>
        Avx2.IsSupported && Vector256.IsHardwareAccelerated ? new VectorSecretBoxCore() : null;

    /// <inheritdoc />
    public void Seal(byte[] key, byte[] nonce, byte[] plain, int offset, int count, byte[] sealedOut, int outOffset)
    {
        Span<uint> state = stackalloc uint[16];
        Span<byte> keystream = stackalloc byte[Salsa20Vector.ChunkBytes];
        Start(key, nonce, state, keystream);
        // The tag is over the ciphertext, and making it overwrites the chunk that holds the Poly1305 key.
        Span<byte> polyKey = stackalloc byte[PolyKeySize];
        keystream.Slice(0, PolyKeySize).CopyTo(polyKey);
        var ciphertext = sealedOut.AsSpan(outOffset + Poly1305Wide.TagSize, count);
        XorKeystream(state, keystream, plain.AsSpan(offset, count), ciphertext);
        Poly1305Wide.Mac(polyKey, ciphertext, sealedOut.AsSpan(outOffset, Poly1305Wide.TagSize));
    }

    /// <inheritdoc />
    public bool Open(byte[] key, byte[] nonce, byte[] sealedIn, int offset, int count, byte[] plainOut, int outOffset)
    {
        if (count < Poly1305Wide.TagSize)
        {
            return false;
        }

        Span<uint> state = stackalloc uint[16];
        Span<byte> keystream = stackalloc byte[Salsa20Vector.ChunkBytes];
        Start(key, nonce, state, keystream);
        var ciphertext = sealedIn.AsSpan(offset + Poly1305Wide.TagSize, count - Poly1305Wide.TagSize);
        var plain = plainOut.AsSpan(outOffset, ciphertext.Length);
        Span<byte> tag = stackalloc byte[Poly1305Wide.TagSize];
        Poly1305Wide.Mac(keystream.Slice(0, PolyKeySize), ciphertext, tag);
        var difference = 0;
        for (var i = 0; i < Poly1305Wide.TagSize; i++)
        {
            // Constant time: how many tag bytes match must not show in the timing.
            difference |= tag[i] ^ sealedIn[offset + i];
        }

        if (difference != 0)
        {
            return false;
        }

        XorKeystream(state, keystream, ciphertext, plain);
        return true;
    }

    // The state for the key and nonce, and the first chunk of keystream (blocks 0-7), whose first 32 bytes key Poly1305.
    private static void Start(byte[] key, byte[] nonce, Span<uint> state, Span<byte> keystream)
    {
        if (key is null || key.Length != 32 || nonce is null || nonce.Length != 24)
        {
            throw new ArgumentException("A secretbox key has 32 bytes and its nonce 24.");
        }

        Salsa20Vector.Setup(key, nonce, state);
        Salsa20Vector.Blocks(state, 0, keystream);
    }

    // XORs the message with the keystream from byte 32 on; the first chunk is already in keystream.
    private static void XorKeystream(ReadOnlySpan<uint> state, Span<byte> keystream, ReadOnlySpan<byte> input, Span<byte> output)
    {
        var used = PolyKeySize;
        ulong counter = 8;
        var done = 0;
        while (true)
        {
            var n = Math.Min(Salsa20Vector.ChunkBytes - used, input.Length - done);
            Salsa20Vector.Xor(input.Slice(done, n), keystream.Slice(used, n), output.Slice(done, n));
            done += n;
            if (done == input.Length)
            {
                return;
            }

            Salsa20Vector.Blocks(state, counter, keystream);
            counter += 8;
            used = 0;
        }
    }
}
