using System;

namespace ChittyConnect.Hashing;

/// <summary>
/// Lower-case hexadecimal text (hashes, single-part ETags) kept as its bytes, half the characters' count
/// instead of twice it; any other text is kept as it is. <see cref="Unpack"/> gives back the exact text.
/// </summary>
internal static class PackedHex
{
    /// <summary>The bytes <paramref name="text"/> spells when it is non-empty lower-case hex of even length; else the text itself.</summary>
    public static object? Pack(string? text)
    {
        if (text is null || text.Length == 0 || text.Length % 2 != 0)
        {
            return text;
        }

        var bytes = new byte[text.Length / 2];
        for (var i = 0; i < bytes.Length; i++)
        {
            var high = Nibble(text[2 * i]);
            var low = Nibble(text[2 * i + 1]);
            if (high < 0 || low < 0)
            {
                return text;
            }

            bytes[i] = (byte)((high << 4) | low);
        }

        return bytes;
    }

    /// <summary>The text <paramref name="packed"/> was made from.</summary>
    public static string? Unpack(object? packed)
    {
        return packed is byte[] bytes ? ContentHasher.ToHex(bytes) : (string?)packed;
    }

    /// <summary>Whether <paramref name="packed"/> stands for <paramref name="text"/>, read without unpacking it.</summary>
    public static bool Is(object? packed, string? text)
    {
        if (packed is not byte[] bytes)
        {
            return string.Equals((string?)packed, text, StringComparison.Ordinal);
        }

        if (text is null || text.Length != bytes.Length * 2)
        {
            return false;
        }

        for (var i = 0; i < bytes.Length; i++)
        {
            if (Nibble(text[2 * i]) != bytes[i] >> 4 || Nibble(text[2 * i + 1]) != (bytes[i] & 0xF))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The length of the text <paramref name="packed"/> stands for, read without unpacking it.</summary>
    public static int TextLength(object? packed) => packed is byte[] bytes ? bytes.Length * 2 : ((string?)packed)?.Length ?? 0;

    /// <summary>Whether two packed values stand for the same text (either may be a text that was never packed).</summary>
    public static bool Same(object? a, object? b) => (a, b) switch
    {
        (byte[] x, byte[] y) => x.AsSpan().SequenceEqual(y),
        (byte[] x, string y) => Is(x, y),
        (string x, byte[] y) => Is(y, x),
        _ => Equals(a, b),
    };

    private static int Nibble(char c) => c is >= '0' and <= '9' ? c - '0' : c is >= 'a' and <= 'f' ? c - 'a' + 10 : -1;
}
