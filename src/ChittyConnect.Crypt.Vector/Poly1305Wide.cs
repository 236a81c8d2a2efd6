using System;
using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace ChittyConnect.Crypt;

/// <summary>
/// Poly1305 (RFC 8439 section 2.5) with the accumulator in three limbs of 44, 44 and 42 bits and 128-bit
/// products from <see cref="Math.BigMul(ulong, ulong, out ulong)"/> (poly1305-donna's 64-bit variant), two
/// blocks a step: h = (h + m1) r^2 + m2 r, whose two products do not wait on each other, so the chain of
/// multiplications and carries that bounds a block at a time runs once per 32 bytes. Constant time in the key
/// and the message.
/// </summary>
internal static class Poly1305Wide
{
    /// <summary>Bytes of the tag.</summary>
    public const int TagSize = 16;

    private const ulong Mask44 = 0xfffffffffff;
    private const ulong Mask42 = 0x3ffffffffff;
    private const ulong HighBit = 1UL << 40;

    /// <summary>Writes the tag of <paramref name="message"/> under the one-time <paramref name="key"/> (32 bytes) into <paramref name="tag"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Mac(ReadOnlySpan<byte> key, ReadOnlySpan<byte> message, Span<byte> tag)
    {
        var t0 = BinaryPrimitives.ReadUInt64LittleEndian(key);
        var t1 = BinaryPrimitives.ReadUInt64LittleEndian(key.Slice(8));
        // r, clamped as the RFC asks, in limbs.
        var r0 = t0 & 0xffc0fffffff;
        var r1 = ((t0 >> 44) | (t1 << 20)) & 0xfffffc0ffff;
        var r2 = (t1 >> 24) & 0x00ffffffc0f;
        // 2^130 = 5 modulo p, and the limbs' sizes put a further factor 4 on the products that wrap.
        var s1 = r1 * (5 << 2);
        var s2 = r2 * (5 << 2);
        // r^2, partially reduced: its limbs a few bits over r's, which the 128-bit sums still hold.
        ulong d0 = 0, d0High = 0, d1 = 0, d1High = 0, d2 = 0, d2High = 0;
        Multiply(r0, r1, r2, r0, r1, r2, s1, s2, ref d0, ref d0High, ref d1, ref d1High, ref d2, ref d2High);
        Reduce(d0, d0High, d1, d1High, d2, d2High, out var q0, out var q1, out var q2);
        var u1 = q1 * (5 << 2);
        var u2 = q2 * (5 << 2);

        ulong h0 = 0, h1 = 0, h2 = 0;
        var position = 0;
        for (; message.Length - position >= 32; position += 32)
        {
            var m0 = BinaryPrimitives.ReadUInt64LittleEndian(message.Slice(position));
            var m1 = BinaryPrimitives.ReadUInt64LittleEndian(message.Slice(position + 8));
            var n0 = BinaryPrimitives.ReadUInt64LittleEndian(message.Slice(position + 16));
            var n1 = BinaryPrimitives.ReadUInt64LittleEndian(message.Slice(position + 24));
            (d0, d0High, d1, d1High, d2, d2High) = (0, 0, 0, 0, 0, 0);
            Multiply(
                h0 + (m0 & Mask44), h1 + (((m0 >> 44) | (m1 << 20)) & Mask44), h2 + (((m1 >> 24) & Mask42) | HighBit),
                q0, q1, q2, u1, u2, ref d0, ref d0High, ref d1, ref d1High, ref d2, ref d2High);
            Multiply(
                n0 & Mask44, ((n0 >> 44) | (n1 << 20)) & Mask44, ((n1 >> 24) & Mask42) | HighBit,
                r0, r1, r2, s1, s2, ref d0, ref d0High, ref d1, ref d1High, ref d2, ref d2High);
            Reduce(d0, d0High, d1, d1High, d2, d2High, out h0, out h1, out h2);
        }

        Span<byte> last = stackalloc byte[16];
        while (position < message.Length)
        {
            ulong m0, m1, hibit;
            if (message.Length - position >= 16)
            {
                m0 = BinaryPrimitives.ReadUInt64LittleEndian(message.Slice(position));
                m1 = BinaryPrimitives.ReadUInt64LittleEndian(message.Slice(position + 8));
                hibit = HighBit;
                position += 16;
            }
            else
            {
                // A final partial block: its bytes, a 1 after them, zeros to 16 bytes, and no 2^128 bit.
                last.Clear();
                message.Slice(position).CopyTo(last);
                last[message.Length - position] = 1;
                m0 = BinaryPrimitives.ReadUInt64LittleEndian(last);
                m1 = BinaryPrimitives.ReadUInt64LittleEndian(last.Slice(8));
                hibit = 0;
                position = message.Length;
            }

            (d0, d0High, d1, d1High, d2, d2High) = (0, 0, 0, 0, 0, 0);
            Multiply(
                h0 + (m0 & Mask44), h1 + (((m0 >> 44) | (m1 << 20)) & Mask44), h2 + (((m1 >> 24) & Mask42) | hibit),
                r0, r1, r2, s1, s2, ref d0, ref d0High, ref d1, ref d1High, ref d2, ref d2High);
            Reduce(d0, d0High, d1, d1High, d2, d2High, out h0, out h1, out h2);
        }

        Finish(key, h0, h1, h2, tag);
    }

    // d += a * r in 128-bit sums per limb, s1 and s2 being r1 and r2 times 20.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Multiply(
        ulong a0, ulong a1, ulong a2, ulong r0, ulong r1, ulong r2, ulong s1, ulong s2,
        ref ulong d0, ref ulong d0High, ref ulong d1, ref ulong d1High, ref ulong d2, ref ulong d2High)
    {
        MultiplyAdd(a0, r0, ref d0, ref d0High);
        MultiplyAdd(a1, s2, ref d0, ref d0High);
        MultiplyAdd(a2, s1, ref d0, ref d0High);
        MultiplyAdd(a0, r1, ref d1, ref d1High);
        MultiplyAdd(a1, r0, ref d1, ref d1High);
        MultiplyAdd(a2, s2, ref d1, ref d1High);
        MultiplyAdd(a0, r2, ref d2, ref d2High);
        MultiplyAdd(a1, r1, ref d2, ref d2High);
        MultiplyAdd(a2, r0, ref d2, ref d2High);
    }

    // The sums back to limbs of 44, 44 and 42 bits, modulo 2^130 - 5 (h1 may keep a carry of a few bits).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Reduce(ulong d0, ulong d0High, ulong d1, ulong d1High, ulong d2, ulong d2High, out ulong h0, out ulong h1, out ulong h2)
    {
        var c = (d0 >> 44) | (d0High << 20);
        h0 = d0 & Mask44;
        d1 += c;
        d1High += d1 < c ? 1UL : 0UL;
        c = (d1 >> 44) | (d1High << 20);
        h1 = d1 & Mask44;
        d2 += c;
        d2High += d2 < c ? 1UL : 0UL;
        c = (d2 >> 42) | (d2High << 22);
        h2 = d2 & Mask42;
        h0 += c * 5;
        c = h0 >> 44;
        h0 &= Mask44;
        h1 += c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MultiplyAdd(ulong a, ulong b, ref ulong low, ref ulong high)
    {
        var productHigh = Math.BigMul(a, b, out var productLow);
        low += productLow;
        high += productHigh + (low < productLow ? 1UL : 0UL);
    }

    private static void Finish(ReadOnlySpan<byte> key, ulong h0, ulong h1, ulong h2, Span<byte> tag)
    {
        // Carry h fully: two passes round the limbs (as poly1305-donna's), the second taking what the first's
        // wrap from h2 into h0 carried on.
        ulong c = 0;
        for (var pass = 0; pass < 2; pass++)
        {
            c = h1 >> 44;
            h1 &= Mask44;
            h2 += c;
            c = h2 >> 42;
            h2 &= Mask42;
            h0 += c * 5;
            c = h0 >> 44;
            h0 &= Mask44;
            h1 += c;
        }

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
}
