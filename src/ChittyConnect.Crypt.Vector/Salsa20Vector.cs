using System;
using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace ChittyConnect.Crypt;

/// <summary>
/// XSalsa20 (Bernstein, "Extending the Salsa20 nonce") with the Salsa20 core run on eight consecutive blocks
/// at once: lane b of vector i holds word i of block b, so each quarter-round step is one 256-bit add, xor
/// and rotate for all eight blocks, with no shuffles until the blocks are stored. Needs AVX2. HSalsa20, run
/// once per nonce, is scalar.
/// </summary>
internal static class Salsa20Vector
{
    /// <summary>Bytes of keystream one call of <see cref="Blocks"/> writes: eight 64-byte blocks.</summary>
    public const int ChunkBytes = 512;

    private const uint Sigma0 = 0x61707865;
    private const uint Sigma1 = 0x3320646e;
    private const uint Sigma2 = 0x79622d32;
    private const uint Sigma3 = 0x6b206574;

    /// <summary>
    /// The Salsa20 input of XSalsa20 under <paramref name="key"/> (32 bytes) and <paramref name="nonce"/>
    /// (24 bytes): the HSalsa20 subkey of the key and the nonce's first 16 bytes, and its last 8 bytes.
    /// Words 8 and 9 (the block counter) are left 0; <see cref="Blocks"/> sets them per lane.
    /// </summary>
    public static void Setup(ReadOnlySpan<byte> key, ReadOnlySpan<byte> nonce, Span<uint> state)
    {
        Span<uint> x = stackalloc uint[16];
        x[0] = Sigma0;
        x[5] = Sigma1;
        x[10] = Sigma2;
        x[15] = Sigma3;
        for (var i = 0; i < 4; i++)
        {
            x[1 + i] = BinaryPrimitives.ReadUInt32LittleEndian(key.Slice(4 * i));
            x[11 + i] = BinaryPrimitives.ReadUInt32LittleEndian(key.Slice(16 + (4 * i)));
            x[6 + i] = BinaryPrimitives.ReadUInt32LittleEndian(nonce.Slice(4 * i));
        }

        DoubleRounds(x);
        state[0] = Sigma0;
        (state[1], state[2], state[3], state[4]) = (x[0], x[5], x[10], x[15]);
        state[5] = Sigma1;
        state[6] = BinaryPrimitives.ReadUInt32LittleEndian(nonce.Slice(16));
        state[7] = BinaryPrimitives.ReadUInt32LittleEndian(nonce.Slice(20));
        (state[8], state[9]) = (0, 0);
        state[10] = Sigma2;
        (state[11], state[12], state[13], state[14]) = (x[6], x[7], x[8], x[9]);
        state[15] = Sigma3;
    }

    /// <summary>
    /// Writes keystream blocks <paramref name="counter"/> to <paramref name="counter"/> + 7 of
    /// <paramref name="state"/> (from <see cref="Setup"/>), in order, into <paramref name="keystream"/>
    /// (<see cref="ChunkBytes"/> bytes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Blocks(ReadOnlySpan<uint> state, ulong counter, Span<byte> keystream)
    {
        var j0 = Vector256.Create(state[0]);
        var j1 = Vector256.Create(state[1]);
        var j2 = Vector256.Create(state[2]);
        var j3 = Vector256.Create(state[3]);
        var j4 = Vector256.Create(state[4]);
        var j5 = Vector256.Create(state[5]);
        var j6 = Vector256.Create(state[6]);
        var j7 = Vector256.Create(state[7]);
        var low = Vector256.Create((uint)counter);
        var j8 = low + Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
        // A lane whose low word wrapped carries into the high word (LessThan gives all ones, that is -1).
        var j9 = Vector256.Create((uint)(counter >> 32)) - Vector256.LessThan(j8, low);
        var j10 = Vector256.Create(state[10]);
        var j11 = Vector256.Create(state[11]);
        var j12 = Vector256.Create(state[12]);
        var j13 = Vector256.Create(state[13]);
        var j14 = Vector256.Create(state[14]);
        var j15 = Vector256.Create(state[15]);

        var (x0, x1, x2, x3, x4, x5, x6, x7) = (j0, j1, j2, j3, j4, j5, j6, j7);
        var (x8, x9, x10, x11, x12, x13, x14, x15) = (j8, j9, j10, j11, j12, j13, j14, j15);
        for (var round = 0; round < 10; round++)
        {
            x4 ^= Rotate(x0 + x12, 7);
            x8 ^= Rotate(x4 + x0, 9);
            x12 ^= Rotate(x8 + x4, 13);
            x0 ^= Rotate(x12 + x8, 18);
            x9 ^= Rotate(x5 + x1, 7);
            x13 ^= Rotate(x9 + x5, 9);
            x1 ^= Rotate(x13 + x9, 13);
            x5 ^= Rotate(x1 + x13, 18);
            x14 ^= Rotate(x10 + x6, 7);
            x2 ^= Rotate(x14 + x10, 9);
            x6 ^= Rotate(x2 + x14, 13);
            x10 ^= Rotate(x6 + x2, 18);
            x3 ^= Rotate(x15 + x11, 7);
            x7 ^= Rotate(x3 + x15, 9);
            x11 ^= Rotate(x7 + x3, 13);
            x15 ^= Rotate(x11 + x7, 18);

            x1 ^= Rotate(x0 + x3, 7);
            x2 ^= Rotate(x1 + x0, 9);
            x3 ^= Rotate(x2 + x1, 13);
            x0 ^= Rotate(x3 + x2, 18);
            x6 ^= Rotate(x5 + x4, 7);
            x7 ^= Rotate(x6 + x5, 9);
            x4 ^= Rotate(x7 + x6, 13);
            x5 ^= Rotate(x4 + x7, 18);
            x11 ^= Rotate(x10 + x9, 7);
            x8 ^= Rotate(x11 + x10, 9);
            x9 ^= Rotate(x8 + x11, 13);
            x10 ^= Rotate(x9 + x8, 18);
            x12 ^= Rotate(x15 + x14, 7);
            x13 ^= Rotate(x12 + x15, 9);
            x14 ^= Rotate(x13 + x12, 13);
            x15 ^= Rotate(x14 + x13, 18);
        }

        // Word-major (vector i = word i of every block) to block-major, the keystream's byte order: words
        // 0-7 and 8-15 of the eight blocks are each an 8 x 8 transposition.
        ref var output = ref MemoryMarshal.GetReference(keystream.Slice(0, ChunkBytes));
        Transpose(x0 + j0, x1 + j1, x2 + j2, x3 + j3, x4 + j4, x5 + j5, x6 + j6, x7 + j7, ref output);
        Transpose(x8 + j8, x9 + j9, x10 + j10, x11 + j11, x12 + j12, x13 + j13, x14 + j14, x15 + j15, ref Unsafe.Add(ref output, 32));
    }

    // Stores column b of the eight rows (lane b of each) as 32 bytes at b * 64 from output.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(
        Vector256<uint> r0, Vector256<uint> r1, Vector256<uint> r2, Vector256<uint> r3,
        Vector256<uint> r4, Vector256<uint> r5, Vector256<uint> r6, Vector256<uint> r7, ref byte output)
    {
        // Pairs of rows interleaved by word, then by pairs of words, then the 128-bit halves exchanged
        // (AVX2, which VectorSecretBoxCore requires).
        var t0 = Avx2.UnpackLow(r0, r1).AsUInt64();
        var t1 = Avx2.UnpackHigh(r0, r1).AsUInt64();
        var t2 = Avx2.UnpackLow(r2, r3).AsUInt64();
        var t3 = Avx2.UnpackHigh(r2, r3).AsUInt64();
        var t4 = Avx2.UnpackLow(r4, r5).AsUInt64();
        var t5 = Avx2.UnpackHigh(r4, r5).AsUInt64();
        var t6 = Avx2.UnpackLow(r6, r7).AsUInt64();
        var t7 = Avx2.UnpackHigh(r6, r7).AsUInt64();
        var u0 = Avx2.UnpackLow(t0, t2);
        var u1 = Avx2.UnpackHigh(t0, t2);
        var u2 = Avx2.UnpackLow(t1, t3);
        var u3 = Avx2.UnpackHigh(t1, t3);
        var u4 = Avx2.UnpackLow(t4, t6);
        var u5 = Avx2.UnpackHigh(t4, t6);
        var u6 = Avx2.UnpackLow(t5, t7);
        var u7 = Avx2.UnpackHigh(t5, t7);
        Avx2.Permute2x128(u0, u4, 0x20).StoreUnsafe(ref Unsafe.As<byte, ulong>(ref output));
        Avx2.Permute2x128(u1, u5, 0x20).StoreUnsafe(ref Unsafe.As<byte, ulong>(ref Unsafe.Add(ref output, 64)));
        Avx2.Permute2x128(u2, u6, 0x20).StoreUnsafe(ref Unsafe.As<byte, ulong>(ref Unsafe.Add(ref output, 128)));
        Avx2.Permute2x128(u3, u7, 0x20).StoreUnsafe(ref Unsafe.As<byte, ulong>(ref Unsafe.Add(ref output, 192)));
        Avx2.Permute2x128(u0, u4, 0x31).StoreUnsafe(ref Unsafe.As<byte, ulong>(ref Unsafe.Add(ref output, 256)));
        Avx2.Permute2x128(u1, u5, 0x31).StoreUnsafe(ref Unsafe.As<byte, ulong>(ref Unsafe.Add(ref output, 320)));
        Avx2.Permute2x128(u2, u6, 0x31).StoreUnsafe(ref Unsafe.As<byte, ulong>(ref Unsafe.Add(ref output, 384)));
        Avx2.Permute2x128(u3, u7, 0x31).StoreUnsafe(ref Unsafe.As<byte, ulong>(ref Unsafe.Add(ref output, 448)));
    }

    /// <summary><paramref name="output"/> = <paramref name="input"/> XOR <paramref name="keystream"/>, all of one length; input and output may be the same.</summary>
    public static void Xor(ReadOnlySpan<byte> input, ReadOnlySpan<byte> keystream, Span<byte> output)
    {
        var i = 0;
        ref var source = ref MemoryMarshal.GetReference(input);
        ref var stream = ref MemoryMarshal.GetReference(keystream);
        ref var target = ref MemoryMarshal.GetReference(output);
        if (keystream.Length < input.Length || output.Length < input.Length)
        {
            throw new ArgumentException("The keystream and the output must be as long as the input.");
        }

        for (; i + 32 <= input.Length; i += 32)
        {
            (Vector256.LoadUnsafe(ref source, (nuint)i) ^ Vector256.LoadUnsafe(ref stream, (nuint)i)).StoreUnsafe(ref target, (nuint)i);
        }

        for (; i < input.Length; i++)
        {
            output[i] = (byte)(input[i] ^ keystream[i]);
        }
    }

    private static void DoubleRounds(Span<uint> state)
    {
        uint x0 = state[0], x1 = state[1], x2 = state[2], x3 = state[3], x4 = state[4], x5 = state[5], x6 = state[6], x7 = state[7];
        uint x8 = state[8], x9 = state[9], x10 = state[10], x11 = state[11], x12 = state[12], x13 = state[13], x14 = state[14], x15 = state[15];
        for (var round = 0; round < 10; round++)
        {
            x4 ^= uint.RotateLeft(x0 + x12, 7);
            x8 ^= uint.RotateLeft(x4 + x0, 9);
            x12 ^= uint.RotateLeft(x8 + x4, 13);
            x0 ^= uint.RotateLeft(x12 + x8, 18);
            x9 ^= uint.RotateLeft(x5 + x1, 7);
            x13 ^= uint.RotateLeft(x9 + x5, 9);
            x1 ^= uint.RotateLeft(x13 + x9, 13);
            x5 ^= uint.RotateLeft(x1 + x13, 18);
            x14 ^= uint.RotateLeft(x10 + x6, 7);
            x2 ^= uint.RotateLeft(x14 + x10, 9);
            x6 ^= uint.RotateLeft(x2 + x14, 13);
            x10 ^= uint.RotateLeft(x6 + x2, 18);
            x3 ^= uint.RotateLeft(x15 + x11, 7);
            x7 ^= uint.RotateLeft(x3 + x15, 9);
            x11 ^= uint.RotateLeft(x7 + x3, 13);
            x15 ^= uint.RotateLeft(x11 + x7, 18);

            x1 ^= uint.RotateLeft(x0 + x3, 7);
            x2 ^= uint.RotateLeft(x1 + x0, 9);
            x3 ^= uint.RotateLeft(x2 + x1, 13);
            x0 ^= uint.RotateLeft(x3 + x2, 18);
            x6 ^= uint.RotateLeft(x5 + x4, 7);
            x7 ^= uint.RotateLeft(x6 + x5, 9);
            x4 ^= uint.RotateLeft(x7 + x6, 13);
            x5 ^= uint.RotateLeft(x4 + x7, 18);
            x11 ^= uint.RotateLeft(x10 + x9, 7);
            x8 ^= uint.RotateLeft(x11 + x10, 9);
            x9 ^= uint.RotateLeft(x8 + x11, 13);
            x10 ^= uint.RotateLeft(x9 + x8, 18);
            x12 ^= uint.RotateLeft(x15 + x14, 7);
            x13 ^= uint.RotateLeft(x12 + x15, 9);
            x14 ^= uint.RotateLeft(x13 + x12, 13);
            x15 ^= uint.RotateLeft(x14 + x13, 18);
        }

        (state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7]) = (x0, x1, x2, x3, x4, x5, x6, x7);
        (state[8], state[9], state[10], state[11], state[12], state[13], state[14], state[15]) = (x8, x9, x10, x11, x12, x13, x14, x15);
    }

    // One instruction where AVX-512 has it (the bits are constants, so the check folds away), else three.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Rotate(Vector256<uint> value, [ConstantExpected] byte bits) =>
        Avx512F.VL.IsSupported
            ? Avx512F.VL.RotateLeft(value, bits)
            : Vector256.ShiftLeft(value, bits) | Vector256.ShiftRightLogical(value, 32 - bits);
}
