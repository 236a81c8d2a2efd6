using System;
using System.Management.Automation;
using System.Security;
using ChittyConnect.Configuration;
using ChittyConnect.Crypt;

namespace ChittyConnect.PowerShell.Commands;

// The rclone crypt parameters, which win over the connection's crypt settings.
public sealed partial class SyncChittyFolderCommand
{
    /// <summary>
    /// Encrypts as an rclone crypt remote with this password would (instead of, or in the absence of, the
    /// connection's Connect-Chitty -CryptPassword or CHITTY_CRYPT_PASSWORD).
    /// </summary>
    [Parameter]
    [ValidateNotNull]
    public SecureString? CryptPassword { get; set; }

    /// <summary>The rclone crypt salt (password2) that goes with -CryptPassword.</summary>
    [Parameter]
    [ValidateNotNull]
    public SecureString? CryptSalt { get; set; }

    /// <summary>Standard (encrypted names, the default) or Off (clear names with .bin), as rclone's filename_encryption.</summary>
    [Parameter]
    [ValidateSet("Standard", "Off")]
    public string? CryptNameEncryption { get; set; }
    // The parameters win over the connection (Connect-Chitty -CryptPassword, a profile, CHITTY_CRYPT_*).
    private (ChittySecret Password, ChittySecret? Salt, RcloneNameEncryption Names)? CryptSettings(ChittyConnection connection)
    {
        var settings = connection.Settings;
        var password = CryptPassword is not null ? ChittySecret.FromSecureString(CryptPassword) : settings.CryptPassword;
        if (password is null)
        {
            if (CryptSalt is not null || CryptNameEncryption is not null)
            {
                ThrowTerminatingError(new ErrorRecord(
                    new ArgumentException("-CryptSalt and -CryptNameEncryption need a crypt password: -CryptPassword, Connect-Chitty -CryptPassword or CHITTY_CRYPT_PASSWORD."),
                    "ChittyCryptPasswordMissing", ErrorCategory.InvalidArgument, null));
            }

            return null;
        }

        var salt = CryptSalt is not null ? ChittySecret.FromSecureString(CryptSalt) : CryptPassword is not null ? null : settings.CryptSalt;
        return (password, salt, CryptNameEncryption is null ? settings.CryptNameEncryption : ChittyConnectionSettings.ParseNameEncryption(CryptNameEncryption, "-CryptNameEncryption"));
    }
}
