using System;
using System.Security.Cryptography;
using System.Text;

namespace ChittyConnect.Configuration;

/// <summary>
/// rclone's "obscured" form of a config secret (what <c>rclone obscure</c> prints): a random 16-byte IV followed by
/// the UTF-8 text encrypted with AES-256 in CTR mode under a key fixed in rclone's source, all in unpadded
/// base64url. It hides a secret from a glance, not from anyone who has this key; revealing it needs no password.
/// </summary>
public static class RcloneObscure
{
    private const int BlockSize = 16;

    // The fixed key of rclone's lib/obscure (public in rclone's source; the same in every rclone).
    private static readonly byte[] s_key =
    {
        0x9c, 0x93, 0x5b, 0x48, 0x73, 0x0a, 0x55, 0x4d, 0x6b, 0xfd, 0x7c, 0x63, 0xc8, 0x86, 0xa9, 0x2b,
        0xd3, 0x90, 0x19, 0x8e, 0xb8, 0x12, 0x8a, 0xfb, 0xf4, 0xde, 0x16, 0x2b, 0x8b, 0x95, 0xf6, 0x38,
    };

    /// <summary>The clear text of an obscured value, as <c>rclone reveal</c> gives it.</summary>
    /// <exception cref="FormatException">The value is not base64url, or too short to hold an IV.</exception>
    public static string Reveal(string obscured)
    {
        if (obscured is null)
        {
            throw new ArgumentNullException(nameof(obscured));
        }

        var bytes = DecodeBase64Url(obscured)
            ?? throw new FormatException("The value is not in rclone's obscured form (unpadded base64url).");
        if (bytes.Length < BlockSize)
        {
            throw new FormatException("The value is too short to be in rclone's obscured form.");
        }

        var plain = Transform(bytes, BlockSize, bytes.Length - BlockSize, iv: bytes);
        return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(plain);
    }

    /// <summary>
    /// Reveals <paramref name="value"/> when it is in the obscured form and hides printable text; a value that is
    /// not (a plain secret, which rclone keeps plain for S3 keys) gives <see langword="false"/>.
    /// </summary>
    /// <remarks>
    /// A plain secret that happens to decode reveals random bytes; asking for printable, non-empty UTF-8 text
    /// makes mistaking one for an obscured value vanishingly unlikely (about 1 in 10^13 for a 32-character secret).
    /// </remarks>
    public static bool TryReveal(string value, out string revealed)
    {
        revealed = string.Empty;
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        try
        {
            var text = Reveal(value);
            if (text.Length == 0)
            {
                return false;
            }

            foreach (var c in text)
            {
                if (char.IsControl(c))
                {
                    return false;
                }
            }

            revealed = text;
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
        catch (ArgumentException)
        {
            // Bytes that are not UTF-8 (DecoderFallbackException is an ArgumentException).
            return false;
        }
    }

    /// <summary>Obscures <paramref name="text"/> with the given IV, as <c>rclone obscure</c> does with a random one.</summary>
    internal static string Obscure(string text, byte[] iv)
    {
        if (iv is null || iv.Length != BlockSize)
        {
            throw new ArgumentException("The IV must be 16 bytes.", nameof(iv));
        }

        var plain = Encoding.UTF8.GetBytes(text);
        var buffer = new byte[BlockSize + plain.Length];
        Buffer.BlockCopy(iv, 0, buffer, 0, BlockSize);
        Buffer.BlockCopy(plain, 0, buffer, BlockSize, plain.Length);
        var cipher = Transform(buffer, BlockSize, plain.Length, iv);
        Buffer.BlockCopy(cipher, 0, buffer, BlockSize, cipher.Length);
        return Convert.ToBase64String(buffer).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    // AES-CTR as Go's cipher.NewCTR runs it: the IV is the first counter block, incremented as one 128-bit
    // big-endian number; each block of key stream is that counter encrypted with the key.
    private static byte[] Transform(byte[] source, int offset, int count, byte[] iv)
    {
        var output = new byte[count];
        var counter = new byte[BlockSize];
        Buffer.BlockCopy(iv, 0, counter, 0, BlockSize);
        var stream = new byte[BlockSize];
        using var aes = Aes.Create();
        aes.Mode = CipherMode.ECB;
        aes.Padding = PaddingMode.None;
        aes.Key = s_key;
        using var encryptor = aes.CreateEncryptor();
        for (var done = 0; done < count; done += BlockSize)
        {
            encryptor.TransformBlock(counter, 0, BlockSize, stream, 0);
            var n = Math.Min(BlockSize, count - done);
            for (var i = 0; i < n; i++)
            {
                output[done + i] = (byte)(source[offset + done + i] ^ stream[i]);
            }

            for (var i = BlockSize - 1; i >= 0 && ++counter[i] == 0; i--)
            {
            }
        }

        return output;
    }

    private static byte[]? DecodeBase64Url(string text)
    {
        foreach (var c in text)
        {
            var valid = c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_';
            if (!valid)
            {
                return null;
            }
        }

        if (text.Length % 4 == 1)
        {
            return null;
        }

        var padded = text.Replace('-', '+').Replace('_', '/') + new string('=', (4 - (text.Length % 4)) % 4);
        try
        {
            return Convert.FromBase64String(padded);
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
