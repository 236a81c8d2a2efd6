using System;
using System.Runtime.InteropServices;
using System.Security;

namespace ChittyConnect.Configuration;

/// <summary>
/// A secret (API key, R2 secret access key) that prints as a mask wherever it ends up: in output,
/// in formatted errors, in verbose text. Only code inside the module can read the clear text.
/// </summary>
public sealed class ChittySecret
{
    /// <summary>The text shown in place of any secret.</summary>
    public const string Mask = "********";

    private readonly string _value;

    /// <summary>Wraps a clear-text secret.</summary>
    public ChittySecret(string value)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new ArgumentException("A secret must not be empty.", nameof(value));
        }

        _value = value;
    }

    /// <summary>Reads a <see cref="SecureString"/> into a secret.</summary>
    public static ChittySecret FromSecureString(SecureString value)
    {
        if (value is null)
        {
            throw new ArgumentNullException(nameof(value));
        }

        var ptr = Marshal.SecureStringToGlobalAllocUnicode(value);
        try
        {
            return new ChittySecret(Marshal.PtrToStringUni(ptr) ?? string.Empty);
        }
        finally
        {
            Marshal.ZeroFreeGlobalAllocUnicode(ptr);
        }
    }

    /// <summary>The clear text; only for sending to the service or protecting at rest.</summary>
    internal string Reveal() => _value;

    /// <summary>True when <paramref name="text"/> contains this secret (used to scrub messages).</summary>
    internal bool IsContainedIn(string? text) =>
        !string.IsNullOrEmpty(text) && text!.IndexOf(_value, StringComparison.Ordinal) >= 0;

    /// <summary>Replaces every occurrence of this secret in <paramref name="text"/> by the mask.</summary>
    internal string Scrub(string text) => IsContainedIn(text) ? text.Replace(_value, Mask) : text;

    /// <inheritdoc />
    public override string ToString() => Mask;
}
