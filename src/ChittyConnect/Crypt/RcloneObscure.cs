using System;
using System.Security.Cryptography;
using System.Text;
using ChittyConnect.Configuration;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Security;

namespace ChittyConnect.Crypt;

/// <summary>
/// rclone's "obscure" form of passwords in rclone.conf (<c>rclone obscure</c> / <c>rclone reveal</c>):
/// base64url without padding of a 16-byte IV followed by the UTF-8 text under AES-256-CTR with a key
/// fixed in rclone's source. It hides a password from a glance, nothing more; it is read here so a
/// crypt remote's <c>password</c> and <c>password2</c> lines can be used as they are.
/// </summary>
public static class RcloneObscure
{
    // Published in rclone (fs/config/obscure): not a secret, the same in every copy of rclone.
    private static readonly byte[] s_key =
    {
        0x9c, 0x93, 0x5b, 0x48, 0x73, 0x0a, 0x55, 0x4d, 0x6b, 0xfd, 0x7c, 0x63, 0xc8, 0x86, 0xa9, 0x2b,
        0xd3, 0x90, 0x19, 0x8e, 0xb8, 0x12, 0x8a, 0xfb, 0xf4, 0xde, 0x16, 0x2b, 0x8b, 0x95, 0xf6, 0x38,
    };

    /// <summary>The password behind an obscured value; a clear error when the value is not in that form.</summary>
    public static ChittySecret Reveal(string obscured)
    {
        if (obscured is null)
        {
            throw new ArgumentNullException(nameof(obscured));
        }

        var data = FromBase64Url(obscured.Trim());
        if (data is null || data.Length <= 16)
        {
            // The value is a secret (or a mistyped one): the message does not repeat it.
            throw new ArgumentException("The value is not an rclone-obscured password (base64url of an IV and the password, as `rclone obscure` prints).", nameof(obscured));
        }

        var plain = Ctr(data, 16, data.Length - 16, data);
        try
        {
            return new ChittySecret(new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(plain));
        }
        catch (DecoderFallbackException)
        {
            throw new ArgumentException("The value is not an rclone-obscured password: it does not reveal to UTF-8 text.", nameof(obscured));
        }
        finally
        {
            Array.Clear(plain, 0, plain.Length);
        }
    }

    /// <summary>The obscured form of <paramref name="password"/>, with a fresh random IV (what <c>rclone obscure</c> prints).</summary>
    public static string Obscure(ChittySecret password)
    {
        if (password is null)
        {
            throw new ArgumentNullException(nameof(password));
        }

        var text = Encoding.UTF8.GetBytes(password.Reveal());
        var data = new byte[16 + text.Length];
        using (var rng = RandomNumberGenerator.Create())
        {
            var iv = new byte[16];
            rng.GetBytes(iv);
            Buffer.BlockCopy(iv, 0, data, 0, 16);
        }

        var sealedText = Ctr(text, 0, text.Length, data);
        Buffer.BlockCopy(sealedText, 0, data, 16, sealedText.Length);
        Array.Clear(text, 0, text.Length);
        return Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    // AES-256-CTR with the counter block starting at the IV (the first 16 bytes of ivSource) and
    // incremented big-endian over all 16 bytes, as Go's cipher.NewCTR does.
    private static byte[] Ctr(byte[] input, int offset, int count, byte[] ivSource)
    {
        var iv = new byte[16];
        Buffer.BlockCopy(ivSource, 0, iv, 0, 16);
        var cipher = CipherUtilities.GetCipher("AES/CTR/NoPadding");
        cipher.Init(true, new ParametersWithIV(new KeyParameter(s_key), iv));
        var output = new byte[count];
        var produced = cipher.ProcessBytes(input, offset, count, output, 0);
        cipher.DoFinal(output, produced);
        return output;
    }

    private static byte[]? FromBase64Url(string text)
    {
        foreach (var ch in text)
        {
            if (!(char.IsLetterOrDigit(ch) && ch < 128) && ch != '-' && ch != '_')
            {
                return null;
            }
        }

        var padded = text.Replace('-', '+').Replace('_', '/');
        padded += new string('=', (4 - (padded.Length % 4)) % 4);
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
