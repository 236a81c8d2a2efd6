using System;

namespace ChittyConnect.Crypt;

/// <summary>
/// Content or a name that does not decrypt under the configured password(s): a wrong password or salt,
/// an object that rclone crypt did not write, or damaged bytes. The message never holds key material.
/// </summary>
public sealed class RcloneCryptException : Exception
{
    /// <summary>A block failed authentication: wrong password or salt, or altered content.</summary>
    public const string BadBlock = "CryptBadBlock";

    /// <summary>The content does not start with rclone crypt's magic.</summary>
    public const string BadMagic = "CryptBadMagic";

    /// <summary>The content is shorter than rclone crypt's header, or ends in a block without data.</summary>
    public const string Truncated = "CryptTruncated";

    /// <summary>An object name is not an encrypted name under these keys.</summary>
    public const string BadName = "CryptBadName";

    /// <summary>Creates the exception.</summary>
    public RcloneCryptException(string message, string code)
        : base(message)
    {
        Code = code;
    }

    /// <summary>One of the code constants of this class.</summary>
    public string Code { get; }
}
