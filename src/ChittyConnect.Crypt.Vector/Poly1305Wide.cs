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
        var r0 = t0 & 0xffc0fffffff;
        var r1 = ((t0 >> 44) | (t1 << 20)) & 0xfffffc0ffff;
        var r2 = (t1 >> 24) & 0x00ffffffc0f;
        // 2^130 = 5 modulo p, and the limbs' sizes put a further factor 4 on the products that wrap.
        var s1 = r1 * (5 << 2);
        var s2 = r2 * (5 << 2);
        ulong h0 = 0, h1 = 0, h2 = 0;

        // Everything in locals, the loop's one body for full blocks and the last partial one alike, so
        // that the accumulator stays in registers.
        Span<byte> last = stackalloc byte[16];
        var position = 0;
        while (position < message.Length)
        {
            ulong m0, m1, hibit;
            if (message.Length - position >= 16)
            {
                m0 = BinaryPrimitives.ReadUInt64LittleEndian(message.Slice(position));
                m1 = BinaryPrimitives.ReadUInt64LittleEndian(message.Slice(position + 8));
                hibit = 1UL << 40;
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

            h0 += m0 & Mask44;
            h1 += ((m0 >> 44) | (m1 << 20)) & Mask44;
            h2 += ((m1 >> 24) & Mask42) | hibit;

            // h *= r, modulo 2^130 - 5 (partially reduced), in 128-bit sums of products.
            var d0High = Math.BigMul(h0, r0, out var d0);
            var high = Math.BigMul(h1, s2, out var low);
            d0 += low;
            d0High += high + (d0 < low ? 1UL : 0UL);
            high = Math.BigMul(h2, s1, out low);
            d0 += low;
            d0High += high + (d0 < low ? 1UL : 0UL);

            var d1High = Math.BigMul(h0, r1, out var d1);
            high = Math.BigMul(h1, r0, out low);
            d1 += low;
            d1High += high + (d1 < low ? 1UL : 0UL);
            high = Math.BigMul(h2, s2, out low);
            d1 += low;
            d1High += high + (d1 < low ? 1UL : 0UL);

            var d2High = Math.BigMul(h0, r2, out var d2);
            high = Math.BigMul(h1, r1, out low);
            d2 += low;
            d2High += high + (d2 < low ? 1UL : 0UL);
            high = Math.BigMul(h2, r0, out low);
            d2 += low;
            d2High += high + (d2 < low ? 1UL : 0UL);

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

        Finish(key, h0, h1, h2, tag);
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
}
