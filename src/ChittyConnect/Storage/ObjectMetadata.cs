using System;
using System.Globalization;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

/// <summary>
/// The user metadata an object carries about its file, in the forms rclone's S3 backend writes and reads, so
/// either tool sees the other's times and hashes: <c>x-amz-meta-mtime</c> is the file's last-write time in
/// seconds since the epoch as a decimal (<c>1709287200.123456789</c>), <c>x-amz-meta-md5chksum</c> the
/// content's MD5 in base64 (rclone writes it on its multipart uploads, whose ETag is not the content's MD5).
/// </summary>
public static class ObjectMetadata
{
    /// <summary>Metadata key of the content's SHA-256, lower-case hex (x-amz-meta-sha256; the module's own).</summary>
    public const string Sha256Key = "sha256";

    /// <summary>Metadata key of the file's last-write time (x-amz-meta-mtime).</summary>
    public const string MtimeKey = "mtime";

    /// <summary>Metadata key of the content's MD5 in base64 (x-amz-meta-md5chksum, rclone's).</summary>
    public const string Md5ChecksumKey = "md5chksum";

    // Seconds since the epoch stay below 1e11 until the year 5138, while milliseconds pass 1e11 in 1973: an
    // integer at or above it is the module's earlier form, milliseconds.
    private const decimal MillisecondsFrom = 100_000_000_000m;

    private static readonly DateTimeOffset s_epoch = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);
    // The earliest time every file system the module runs on can give a file (Windows' FILETIME starts here).
    private static readonly decimal s_minSeconds = new DateTimeOffset(1601, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
    private static readonly decimal s_maxSeconds = DateTimeOffset.MaxValue.ToUnixTimeSeconds();

    /// <summary>rclone's form of a time: whole seconds since the epoch, a dot and nine digits of nanoseconds.</summary>
    public static string FormatMtime(DateTimeOffset time)
    {
        var ticks = time.UtcTicks - s_epoch.UtcTicks;
        var seconds = ticks / TimeSpan.TicksPerSecond;
        var rest = ticks % TimeSpan.TicksPerSecond;
        if (rest < 0)
        {
            // rclone writes a time before 1970 as the second below it plus a positive fraction.
            seconds--;
            rest += TimeSpan.TicksPerSecond;
        }

        return seconds.ToString(CultureInfo.InvariantCulture) + "." + (rest * 100).ToString("D9", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Reads a time as rclone writes it (decimal seconds), as integer seconds, or as the module's earlier
    /// integer milliseconds (told apart by magnitude). False for anything else and for a time no file can
    /// have (before 1601, after 9999). As rclone reads it, the fraction counts forward from the whole
    /// seconds, also before 1970 ("-2.5" is 1.5 s before the epoch).
    /// </summary>
    public static bool TryParseMtime(string? value, out DateTimeOffset time)
    {
        time = default;
        var text = value?.Trim() ?? string.Empty;
        var dot = text.IndexOf('.');
        var whole = dot < 0 ? text : text.Substring(0, dot);
        var fraction = dot < 0 ? "0" : text.Substring(dot + 1);
        if (!decimal.TryParse(whole, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds)
            || fraction.Length == 0 || !IsDigits(fraction))
        {
            return false;
        }

        if (dot < 0 && Math.Abs(seconds) >= MillisecondsFrom)
        {
            seconds /= 1000m;
        }
        else
        {
            seconds += decimal.Parse("0." + (fraction.Length > 9 ? fraction.Substring(0, 9) : fraction), CultureInfo.InvariantCulture);
        }

        if (seconds < s_minSeconds || seconds > s_maxSeconds)
        {
            return false;
        }

        var utcTicks = decimal.Round(seconds * TimeSpan.TicksPerSecond, MidpointRounding.AwayFromZero) + s_epoch.UtcTicks;
        if (utcTicks < DateTimeOffset.MinValue.UtcTicks || utcTicks > DateTimeOffset.MaxValue.UtcTicks)
        {
            return false;
        }

        time = new DateTimeOffset((long)utcTicks, TimeSpan.Zero);
        return true;
    }

    private static bool IsDigits(string text)
    {
        foreach (var c in text)
        {
            if (c < '0' || c > '9')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>rclone's md5chksum of a content MD5 given in hex.</summary>
    public static string FormatMd5Checksum(string md5Hex) => Convert.ToBase64String(ContentHasher.FromHex(md5Hex));

    /// <summary>The MD5 (lower-case hex) an md5chksum value holds; null when it is not the base64 of 16 bytes.</summary>
    public static string? ParseMd5Checksum(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        try
        {
            var bytes = Convert.FromBase64String(value!.Trim());
            return bytes.Length == 16 ? ContentHasher.ToHex(bytes) : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
