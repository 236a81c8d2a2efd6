using System;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace ChittyConnect.Crypt;

/// <summary>
/// Poly1305 (RFC 8439 section 2.5) with the accumulator in three limbs of 44, 44 and 42 bits and 128-bit
/// products from <see cref="Math.BigMul(ulong, ulong, out ulong)"/>: nine multiplications a 16-byte block
/// where BouncyCastle's 26-bit limbs take twenty-five (poly1305-donna's 64-bit variant). Constant time in the
/// key and the message.
/// </summary>
internal static class Poly1305Wide
{
    /// <summary>Bytes of the tag.</summary>
    public const int TagSize = 16;

    private const ulong Mask44 = 0xfffffffffff;
    private const ulong Mask42 = 0x3ffffffffff;

    /// <summary>Writes the tag of <paramref name="message"/> under the one-time <paramref name="key"/> (32 bytes) into <paramref name="tag"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Mac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> message, Span<byte> tag)
    {
        var t0 = BinaryPrimitives.ReadUInt64LittleEndian(key);
        var t1 = BinaryPrimitives.ReadUInt64LittleEndian(key.Slice(8));
        // r, clamped as the RFC asks, in limbs.
        var r = new Limbs
        {
            R0 = t0 & 0xffc0fffffff,
            R1 = ((t0 >> 44) | (t1 << 20)) & 0xfffffc0ffff,
            R2 = (t1 >> 24) & 0x00ffffffc0f,
        };
        // 2^130 = 5 modulo p, and the limbs' sizes put a further factor 4 on the products that wrap.
        r.S1 = r.R1 * (5 << 2);
        r.S2 = r.R2 * (5 << 2);
        ulong h0 = 0, h1 = 0, h2 = 0;
        while (message.Length >= 16)
        {
            Block(in r, BinaryPrimitives.ReadUInt64LittleEndian(message), BinaryPrimitives.ReadUInt64LittleEndian(message.Slice(8)), 1UL << 40, ref h0, ref h1, ref h2);
            message = message.Slice(16);
        }

        if (message.Length > 0)
        {
            // A final partial block: its bytes, a 1 after them, zeros to 16 bytes, and no 2^128 bit.
            Span<byte> last = stackalloc byte[16];
            last.Clear();
            message.CopyTo(last);
            last[message.Length] = 1;
            Block(in r, BinaryPrimitives.ReadUInt64LittleEndian(last), BinaryPrimitives.ReadUInt64LittleEndian(last.Slice(8)), 0, ref h0, ref h1, ref h2);
        }

        Finish(key, h0, h1, h2, tag);
    }

    // h = (h + block) * r, modulo 2^130 - 5 (partially reduced); hibit is the 2^128 bit of a full block.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block(in Limbs r, ulong m0, ulong m1, ulong hibit, ref ulong h0, ref ulong h1, ref ulong h2)
    {
        h0 += m0 & Mask44;
        h1 += ((m0 >> 44) | (m1 << 20)) & Mask44;
        h2 += ((m1 >> 24) & Mask42) | hibit;

        var d0High = Math.BigMul(h0, r.R0, out var d0);
        MultiplyAdd(h1, r.S2, ref d0, ref d0High);
        MultiplyAdd(h2, r.S1, ref d0, ref d0High);
        var d1High = Math.BigMul(h0, r.R1, out var d1);
        MultiplyAdd(h1, r.R0, ref d1, ref d1High);
        MultiplyAdd(h2, r.S2, ref d1, ref d1High);
        var d2High = Math.BigMul(h0, r.R2, out var d2);
        MultiplyAdd(h1, r.R1, ref d2, ref d2High);
        MultiplyAdd(h2, r.R0, ref d2, ref d2High);

        var c = (d0 >> 44) | (d0High << 20);
        h0 = d0 & Mask44;
        Add(c, ref d1, ref d1High);
        c = (d1 >> 44) | (d1High << 20);
        h1 = d1 & Mask44;
        Add(c, ref d2, ref d2High);
        c = (d2 >> 42) | (d2High << 22);
        h2 = d2 & Mask42;
        h0 += c * 5;
        c = h0 >> 44;
        h0 &= Mask44;
        h1 += c;
    }

    private static void Finish(ReadOnlySpan<byte> key, ulong h0, ulong h1, ulong h2, Span<byte> tag)
    {
        // Carry h fully.
        var c = h1 >> 44;
        h1 &= Mask44;
        h2 += c;
        c = h2 >> 42;
        h2 &= Mask42;
        h0 += c * 5;
        c = h0 >> 44;
        h0 &= Mask44;
        h1 += c;
        c = h1 >> 44;
        h1 &= Mask44;
        h2 += c;
        c = h2 >> 42;
        h2 &= Mask42;
        h0 += c * 5;
        c = h0 >> 44;
        h0 &= Mask44;
        h1 += c;

        // g = h - p; h becomes g where h >= p, chosen by mask so the timing does not tell.
        var g0 = h0 + 5;
        c = g0 >> 44;
        g0 &= Mask44;
        var g1 = h1 + c;
        c = g1 >> 44;
        g1 &= Mask44;
        var g2 = h2 + c - (1UL << 42);
        c = (g2 >> 63) - 1;
        g0 &= c;
        g1 &= c;
        g2 &= c;
        c = ~c;
        h0 = (h0 & c) | g0;
        h1 = (h1 & c) | g1;
        h2 = (h2 & c) | g2;

        // tag = (h + s) mod 2^128.
        var t0 = BinaryPrimitives.ReadUInt64LittleEndian(key.Slice(16));
        var t1 = BinaryPrimitives.ReadUInt64LittleEndian(key.Slice(24));
        h0 += t0 & Mask44;
        c = h0 >> 44;
        h0 &= Mask44;
        h1 += (((t0 >> 44) | (t1 << 20)) & Mask44) + c;
        c = h1 >> 44;
        h1 &= Mask44;
        h2 += ((t1 >> 24) & Mask42) + c;
        h2 &= Mask42;
        BinaryPrimitives.WriteUInt64LittleEndian(tag, h0 | (h1 << 44));
        BinaryPrimitives.WriteUInt64LittleEndian(tag.Slice(8), (h1 >> 20) | (h2 << 24));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyAdd(ulong a, ulong b, ref ulong low, ref ulong high)
    {
        var productHigh = Math.BigMul(a, b, out var productLow);
        low += productLow;
        high += productHigh + (low < productLow ? 1UL : 0UL);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Add(ulong value, ref ulong low, ref ulong high)
    {
        low += value;
        high += low < value ? 1UL : 0UL;
    }

    private struct Limbs
    {
        public ulong R0;
        public ulong R1;
        public ulong R2;
        public ulong S1;
        public ulong S2;
    }
}
