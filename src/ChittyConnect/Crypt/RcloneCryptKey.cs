using System;
using System.Text;
using ChittyConnect.Configuration;
using Org.BouncyCastle.Crypto.Generators;

namespace ChittyConnect.Crypt;

/// <summary>
/// The keys of an rclone crypt remote, derived as rclone derives them: scrypt (N=16384, r=8, p=1) of the
/// password's UTF-8 bytes, salted with the UTF-8 bytes of the second password ("password2"/salt) or, when
/// there is none, rclone's fixed default salt; the 80 bytes split into a 32-byte data key (secretbox), a
/// 32-byte name key (AES-256 for EME) and a 16-byte name tweak. The key bytes never leave this assembly and
/// the object prints as a mask.
/// </summary>
public sealed class RcloneCryptKey
{
    private static readonly byte[] s_defaultSalt =
    {
        0xA8, 0x0D, 0xF4, 0x3A, 0x8F, 0xBD, 0x03, 0x08, 0xA7, 0xCA, 0xB8, 0x3E, 0x58, 0x1F, 0x86, 0xB1,
    };

    private RcloneCryptKey(byte[] derived)
    {
        DataKey = new byte[32];
        NameKey = new byte[32];
        NameTweak = new byte[16];
        Buffer.BlockCopy(derived, 0, DataKey, 0, 32);
        Buffer.BlockCopy(derived, 32, NameKey, 0, 32);
        Buffer.BlockCopy(derived, 64, NameTweak, 0, 16);
        Array.Clear(derived, 0, derived.Length);
    }

    internal byte[] DataKey { get; }

    internal byte[] NameKey { get; }

    internal byte[] NameTweak { get; }

    /// <summary>
    /// Derives the keys of <paramref name="password"/> and the optional <paramref name="salt"/> (rclone's
    /// "password2"). Takes about a tenth of a second of one core and 16 MiB, as rclone's scrypt does.
    /// </summary>
    public static RcloneCryptKey Derive(ChittySecret password, ChittySecret? salt = null)
    {
        if (password is null)
        {
            throw new ArgumentNullException(nameof(password));
        }

        var passwordBytes = Encoding.UTF8.GetBytes(password.Reveal());
        var saltBytes = salt is null ? (byte[])s_defaultSalt.Clone() : Encoding.UTF8.GetBytes(salt.Reveal());
        try
        {
            return new RcloneCryptKey(SCrypt.Generate(passwordBytes, saltBytes, 16384, 8, 1, 80));
        }
        finally
        {
            Array.Clear(passwordBytes, 0, passwordBytes.Length);
            Array.Clear(saltBytes, 0, saltBytes.Length);
        }
    }

    /// <inheritdoc />
    public override string ToString() => ChittySecret.Mask;
}
