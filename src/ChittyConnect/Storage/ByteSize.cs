using System;
using System.Globalization;

namespace ChittyConnect.Storage;

/// <summary>
/// Sizes and rates as rclone writes them: a number with an optional binary suffix (<c>512K</c>, <c>1M</c>,
/// <c>10MiB</c>, <c>1.5G</c>; K, M, G, T and P are powers of 1024, as rclone's <c>--bwlimit</c> and
/// <c>--max-size</c> take them), and the same units when printed.
/// </summary>
public static class ByteSize
{
    private const string Suffixes = "BKMGTP";

    /// <summary>
    /// Bytes for <paramref name="text"/>: plain bytes (<c>1048576</c>), or a number with B, K, M, G, T or P,
    /// optionally followed by <c>i</c> and/or <c>B</c> (<c>10MiB</c>, <c>10MB</c>, <c>10Mi</c>), case aside;
    /// <c>off</c> is 0. Throws <see cref="FormatException"/> for anything else, and for a value that is not
    /// a whole number of bytes (<c>0.5</c>).
    /// </summary>
    public static long Parse(string text)
    {
        var value = text.Trim();
        if (value.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            return 0;
        }

        var end = value.Length;
        if (end > 1 && (value[end - 1] == 'B' || value[end - 1] == 'b') && char.IsLetter(value[end - 2]))
        {
            end--;
        }

        if (end > 1 && (value[end - 1] == 'i' || value[end - 1] == 'I') && char.IsLetter(value[end - 2]))
        {
            end--;
        }

        var unit = 0;
        if (end > 0 && char.IsLetter(value[end - 1]))
        {
            unit = Suffixes.IndexOf(char.ToUpperInvariant(value[end - 1]));
            if (unit < 0)
            {
                throw Invalid(text);
            }

            end--;
        }

        if (!decimal.TryParse(value.Substring(0, end), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            throw Invalid(text);
        }

        decimal bytes;
        try
        {
            bytes = number;
            for (var i = 0; i < unit; i++)
            {
                bytes *= 1024;
            }
        }
        catch (OverflowException)
        {
            throw Invalid(text);
        }

        if (bytes != decimal.Truncate(bytes))
        {
            throw new FormatException($"'{text}' is {bytes.ToString(CultureInfo.InvariantCulture)} bytes: give a whole number of bytes (0 is unlimited).");
        }

        if (bytes > long.MaxValue)
        {
            throw Invalid(text);
        }

        return (long)bytes;
    }

    /// <summary><paramref name="bytes"/> in the largest binary unit it reaches, one decimal: "26.2 MiB", "512 B".</summary>
    public static string Format(double bytes) => bytes switch
    {
        >= 1L << 40 => (bytes / (1L << 40)).ToString("0.0", CultureInfo.InvariantCulture) + " TiB",
        >= 1L << 30 => (bytes / (1L << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (1L << 10)).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => Math.Round(bytes).ToString("0", CultureInfo.InvariantCulture) + " B",
    };

    private static FormatException Invalid(string text) =>
        new($"'{text}' is not a size: give bytes (1048576) or a number with K, M, G, T or P (512K, 1M, 10MiB, 1.5G; powers of 1024, as rclone takes them).");
}
