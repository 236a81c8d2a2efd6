using System;
using System.Security.Cryptography;
using System.Text;

namespace ChittyConnect.Crypt;

/// <summary>How object names are stored, as rclone crypt's <c>filename_encryption</c> option.</summary>
public enum RcloneNameEncryption
{
    /// <summary>Each path segment encrypted with EME over AES-256 and written in lower-case base32hex.</summary>
    Standard,

    /// <summary>Names kept in clear with <c>.bin</c> appended to file names.</summary>
    Off,
}

/// <summary>
/// rclone crypt's name encryption for <see cref="RcloneNameEncryption.Standard"/> and
/// <see cref="RcloneNameEncryption.Off"/>, with directory names encrypted (rclone's default
/// <c>directory_name_encryption = true</c>). Standard mode pads each segment with PKCS#7 to 16 bytes,
/// enciphers it with EME under the name key and tweak, and writes it in base32hex, lower case, without
/// padding; the same name always gives the same key. Thread-safe.
/// </summary>
public sealed class RcloneNameCipher : IDisposable
{
    /// <summary>The suffix rclone adds to file names when names are not encrypted.</summary>
    public const string OffSuffix = ".bin";

    private const string Base32Hex = "0123456789abcdefghijklmnopqrstuv";

    private readonly RcloneCryptKey _key;
    private readonly object _lock = new();
    private readonly Aes _aes;

    /// <summary>Creates the cipher for <paramref name="key"/>.</summary>
    public RcloneNameCipher(RcloneCryptKey key, RcloneNameEncryption mode = RcloneNameEncryption.Standard)
    {
        _key = key ?? throw new ArgumentNullException(nameof(key));
        Mode = mode;
        _aes = Eme.CreateAes(key.NameKey);
    }

    /// <summary>The name encryption in force.</summary>
    public RcloneNameEncryption Mode { get; }

    /// <summary>Encrypts a '/'-separated relative file path, segment by segment.</summary>
    public string EncryptPath(string relativePath)
    {
        if (relativePath is null)
        {
            throw new ArgumentNullException(nameof(relativePath));
        }

        if (Mode == RcloneNameEncryption.Off)
        {
            return relativePath + OffSuffix;
        }

        var segments = relativePath.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            segments[i] = EncryptSegment(segments[i]);
        }

        return string.Join("/", segments);
    }

    /// <summary>
    /// Decrypts a '/'-separated encrypted file path; throws <see cref="RcloneCryptException"/> (BadName)
    /// when a segment is not a name these keys encrypted.
    /// </summary>
    public string DecryptPath(string encryptedPath)
    {
        if (encryptedPath is null)
        {
            throw new ArgumentNullException(nameof(encryptedPath));
        }

        if (Mode == RcloneNameEncryption.Off)
        {
            if (encryptedPath.Length <= OffSuffix.Length || !encryptedPath.EndsWith(OffSuffix, StringComparison.Ordinal))
            {
                throw BadName(encryptedPath, $"it does not end in '{OffSuffix}'");
            }

            return encryptedPath.Substring(0, encryptedPath.Length - OffSuffix.Length);
        }

        var segments = encryptedPath.Split('/');
        for (var i = 0; i < segments.Length; i++)
        {
            segments[i] = DecryptSegment(segments[i], encryptedPath);
        }

        return string.Join("/", segments);
    }

    /// <summary>Decrypts like <see cref="DecryptPath"/>, or returns false for a name these keys did not encrypt.</summary>
    public bool TryDecryptPath(string encryptedPath, out string plainPath)
    {
        try
        {
            plainPath = DecryptPath(encryptedPath);
            return true;
        }
        catch (RcloneCryptException)
        {
            plainPath = string.Empty;
            return false;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _aes.Dispose();

    private string EncryptSegment(string plain)
    {
        if (plain.Length == 0)
        {
            return plain;
        }

        var bytes = Encoding.UTF8.GetBytes(plain);
        if (bytes.Length >= Eme.MaxLength)
        {
            throw new ArgumentException($"A name segment of {bytes.Length} UTF-8 bytes is too long to encrypt (rclone's limit is {Eme.MaxLength - 1}).", nameof(plain));
        }

        var padding = 16 - (bytes.Length % 16);
        var padded = new byte[bytes.Length + padding];
        Buffer.BlockCopy(bytes, 0, padded, 0, bytes.Length);
        for (var i = bytes.Length; i < padded.Length; i++)
        {
            padded[i] = (byte)padding;
        }

        byte[] cipher;
        lock (_lock)
        {
            cipher = Eme.Transform(_aes, _key.NameTweak, padded, encrypt: true);
        }

        return ToBase32Hex(cipher);
    }

    private string DecryptSegment(string encrypted, string path)
    {
        if (encrypted.Length == 0)
        {
            return encrypted;
        }

        var raw = FromBase32Hex(encrypted) ?? throw BadName(path, "it is not base32hex");
        if (raw.Length == 0 || raw.Length % 16 != 0 || raw.Length > Eme.MaxLength)
        {
            throw BadName(path, "its length is not that of an encrypted name");
        }

        byte[] padded;
        lock (_lock)
        {
            padded = Eme.Transform(_aes, _key.NameTweak, raw, encrypt: false);
        }

        // PKCS#7 as rclone checks it: 1 to 16 bytes, all equal to their count.
        var padding = padded[padded.Length - 1];
        if (padding == 0 || padding > 16)
        {
            throw BadName(path, "it does not decrypt under this password");
        }

        for (var i = padded.Length - padding; i < padded.Length; i++)
        {
            if (padded[i] != padding)
            {
                throw BadName(path, "it does not decrypt under this password");
            }
        }

        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(padded, 0, padded.Length - padding);
        }
        catch (DecoderFallbackException)
        {
            throw BadName(path, "it does not decrypt to UTF-8 under this password");
        }
    }

    private static RcloneCryptException BadName(string path, string why) =>
        new($"'{path}' is not a name encrypted under this crypt password and salt: {why}.", RcloneCryptException.BadName);

    // RFC 4648 base32 with the "extended hex" alphabet, lower case, padding dropped (rclone's form).
    private static string ToBase32Hex(byte[] data)
    {
        var text = new StringBuilder(((data.Length * 8) + 4) / 5);
        var buffer = 0;
        var bits = 0;
        foreach (var b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                text.Append(Base32Hex[(buffer >> bits) & 31]);
            }
        }

        if (bits > 0)
        {
            text.Append(Base32Hex[(buffer << (5 - bits)) & 31]);
        }

        return text.ToString();
    }

    // Accepts either case, as rclone does; null for anything base32hex cannot have produced.
    private static byte[]? FromBase32Hex(string text)
    {
        // Unpadded base32 never leaves 1, 3 or 6 characters over after its groups of 8.
        var tail = text.Length % 8;
        if (tail is 1 or 3 or 6)
        {
            return null;
        }

        var bytes = new byte[text.Length * 5 / 8];
        var buffer = 0;
        var bits = 0;
        var index = 0;
        foreach (var ch in text)
        {
            int value;
            if (ch >= '0' && ch <= '9')
            {
                value = ch - '0';
            }
            else if (ch >= 'a' && ch <= 'v')
            {
                value = ch - 'a' + 10;
            }
            else if (ch >= 'A' && ch <= 'V')
            {
                value = ch - 'A' + 10;
            }
            else
            {
                return null;
            }

            buffer = ((buffer << 5) | value) & 0xffff;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                bytes[index++] = (byte)(buffer >> bits);
            }
        }

        // The unused low bits of the last character are zero in anything rclone wrote.
        return (buffer & ((1 << bits) - 1)) == 0 ? bytes : null;
    }
}
