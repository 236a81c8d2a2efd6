using System;
using ChittyConnect.Api;
using ChittyConnect.Configuration;

namespace ChittyConnect;

/// <summary>
/// A connection to ChittyConnect (and optionally its R2 bucket): what Connect-Chitty returns and every
/// cmdlet's -Connection takes. Secrets show as a mask; the clear text never leaves the module.
/// </summary>
public sealed class ChittyConnection : IDisposable
{
    private readonly object _gate = new();
    private ChittyApiClient? _api;

    /// <summary>Creates a connection from validated settings.</summary>
    public ChittyConnection(ChittyConnectionSettings settings)
    {
        settings = settings?.Clone() ?? throw new ArgumentNullException(nameof(settings));
        settings.Validate();
        Settings = settings;
        Connected = DateTimeOffset.Now;
    }

    /// <summary>Profile name, or 'env' when it came from environment variables.</summary>
    public string? Name => Settings.Name;

    /// <summary>The API's base URL.</summary>
    public Uri Endpoint => Settings.Endpoint;

    /// <summary>The ChittyID of the key.</summary>
    public string ChittyId => Settings.ChittyId!;

    /// <summary>The default session of cmdlets that take -SessionId.</summary>
    public string? SessionId => Settings.SessionId;

    /// <summary>Always the mask: the key is never shown.</summary>
    public string ApiKey => ChittySecret.Mask;

    /// <summary>The R2 endpoint, when bulk sync is configured.</summary>
    public Uri? R2Endpoint => Settings.R2Endpoint;

    /// <summary>The R2 bucket.</summary>
    public string? Bucket => Settings.Bucket;

    /// <summary>The R2 access key id (not a secret on its own).</summary>
    public string? R2AccessKeyId => Settings.R2AccessKeyId;

    /// <summary>The mask when an R2 secret is set, else null.</summary>
    public string? R2SecretAccessKey => Settings.R2SecretAccessKey is null ? null : ChittySecret.Mask;

    /// <summary>The mask when an rclone crypt password is set (Sync-ChittyFolder then encrypts), else null.</summary>
    public string? CryptPassword => Settings.CryptPassword is null ? null : ChittySecret.Mask;

    /// <summary>The mask when an rclone crypt salt (password2) is set, else null.</summary>
    public string? CryptSalt => Settings.CryptSalt is null ? null : ChittySecret.Mask;

    /// <summary>How an encrypting sync stores names (standard or off); null without a crypt password.</summary>
    public string? CryptNameEncryption => Settings.CryptPassword is null ? null : Settings.CryptNameEncryption.ToString().ToLowerInvariant();

    /// <summary>True when endpoint, bucket and both R2 credentials are set.</summary>
    public bool HasR2 => Settings.HasR2;

    /// <summary>The deadline of each API call, its retries included.</summary>
    public TimeSpan RequestTimeout => Settings.RequestTimeout;

    /// <summary>When the connection was made.</summary>
    public DateTimeOffset Connected { get; }

    internal ChittyConnectionSettings Settings { get; }

    /// <summary>The API client, made on first use and shared by every cmdlet using this connection.</summary>
    internal ChittyApiClient Api
    {
        get
        {
            lock (_gate)
            {
                return _api ??= new ChittyApiClient(Settings);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate)
        {
            _api?.Dispose();
            _api = null;
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{ChittyId}@{Endpoint.GetLeftPart(UriPartial.Authority)}";
}
