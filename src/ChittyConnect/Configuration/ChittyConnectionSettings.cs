using System;
using System.Collections;
using System.Collections.Generic;
using ChittyConnect.Crypt;

namespace ChittyConnect.Configuration;

/// <summary>
/// Everything needed to reach the ChittyConnect API and, for bulk sync, the R2 bucket.
/// </summary>
public sealed class ChittyConnectionSettings
{
    /// <summary>The production API.</summary>
    public static readonly Uri ProductionEndpoint = new("https://api.chitty.cc/");

    /// <summary>Profile name, when the settings were saved or loaded as a profile.</summary>
    public string? Name { get; set; }

    /// <summary>Base URL of the API, e.g. https://api.chitty.cc/.</summary>
    public Uri Endpoint { get; set; } = ProductionEndpoint;

    /// <summary>The API key sent as a bearer token.</summary>
    public ChittySecret? ApiKey { get; set; }

    /// <summary>The ChittyID the key belongs to.</summary>
    public string? ChittyId { get; set; }

    /// <summary>Default session for cmdlets that take -SessionId.</summary>
    public string? SessionId { get; set; }

    /// <summary>R2 (S3-compatible) endpoint for bulk sync.</summary>
    public Uri? R2Endpoint { get; set; }

    /// <summary>R2 bucket for bulk sync.</summary>
    public string? Bucket { get; set; }

    /// <summary>R2 access key id.</summary>
    public string? R2AccessKeyId { get; set; }

    /// <summary>R2 secret access key.</summary>
    public ChittySecret? R2SecretAccessKey { get; set; }

    /// <summary>
    /// The rclone crypt password: when set, Sync-ChittyFolder encrypts names and content as an rclone crypt
    /// remote with this password would.
    /// </summary>
    public ChittySecret? CryptPassword { get; set; }

    /// <summary>rclone crypt's optional second password ("password2", the salt).</summary>
    public ChittySecret? CryptSalt { get; set; }

    /// <summary>rclone crypt's filename_encryption: standard (encrypted) or off (clear, with .bin).</summary>
    public RcloneNameEncryption CryptNameEncryption { get; set; } = RcloneNameEncryption.Standard;

    /// <summary>The deadline of one API call, its retries included (response headers and body).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many times a retryable request is tried again.</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>True when R2 endpoint, bucket and both credentials are set.</summary>
    public bool HasR2 => R2Endpoint is not null && !string.IsNullOrEmpty(Bucket)
        && !string.IsNullOrEmpty(R2AccessKeyId) && R2SecretAccessKey is not null;

    /// <summary>The R2 endpoint of a Cloudflare account.</summary>
    public static Uri R2EndpointForAccount(string accountId)
    {
        if (string.IsNullOrWhiteSpace(accountId) || accountId.IndexOfAny(new[] { '/', ':', '.', '@', ' ' }) >= 0)
        {
            throw new ArgumentException($"'{accountId}' is not a Cloudflare account id.", nameof(accountId));
        }

        return new Uri($"https://{accountId.Trim()}.r2.cloudflarestorage.com");
    }

    /// <summary>Normalizes an endpoint to an absolute http(s) base URL ending in '/'.</summary>
    public static Uri NormalizeEndpoint(Uri endpoint, string what = "Endpoint")
    {
        if (endpoint is null)
        {
            throw new ArgumentNullException(nameof(endpoint));
        }

        if (!endpoint.IsAbsoluteUri || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"{what} '{(endpoint.IsAbsoluteUri ? WithoutUserInfo(endpoint) : endpoint.OriginalString)}' must be an absolute http:// or https:// URL.");
        }

        if (!string.IsNullOrEmpty(endpoint.Query) || !string.IsNullOrEmpty(endpoint.Fragment) || !string.IsNullOrEmpty(endpoint.UserInfo))
        {
            // The user info may hold a password: the message names the endpoint without it.
            throw new ArgumentException($"{what} '{WithoutUserInfo(endpoint)}' must not carry a query, fragment or user info.");
        }

        var text = endpoint.GetLeftPart(UriPartial.Path);
        return new Uri(text.EndsWith("/", StringComparison.Ordinal) ? text : text + "/");
    }

    private static string WithoutUserInfo(Uri endpoint) => endpoint.Scheme + "://" + endpoint.Authority + endpoint.AbsolutePath;

    /// <summary>Checks that the API part is complete; throws <see cref="ArgumentException"/> naming what is missing.</summary>
    public void Validate()
    {
        Endpoint = NormalizeEndpoint(Endpoint);
        if (ApiKey is null)
        {
            throw new ArgumentException($"An API key is required: give -ApiKey, or set {EnvironmentNames.ApiKey}.");
        }

        if (string.IsNullOrWhiteSpace(ChittyId))
        {
            throw new ArgumentException($"A ChittyID (the identity the API key belongs to) is required: give -ChittyId, or set {EnvironmentNames.ChittyId}.");
        }

        if (!string.IsNullOrWhiteSpace(SessionId) && Api.SessionIds.Problem(SessionId!.Trim()) is { } problem)
        {
            throw new ArgumentException($"The session '{SessionId}' (from -SessionId, the profile or {EnvironmentNames.SessionId}) is not a session id: {problem}.");
        }

        if (R2Endpoint is not null)
        {
            R2Endpoint = NormalizeEndpoint(R2Endpoint, "R2 endpoint");
        }
    }

    /// <summary>
    /// Reads CHITTY_ENDPOINT, CHITTY_API_KEY, CHITTY_ID, CHITTY_SESSION_ID, CHITTY_R2_ENDPOINT,
    /// CHITTY_R2_BUCKET, CHITTY_R2_ACCESS_KEY_ID, CHITTY_R2_SECRET_ACCESS_KEY and the crypt settings
    /// CHITTY_CRYPT_PASSWORD, CHITTY_CRYPT_SALT and CHITTY_CRYPT_NAME_ENCRYPTION. Null when neither an
    /// endpoint nor a key is set.
    /// </summary>
    public static ChittyConnectionSettings? FromEnvironment(IDictionary? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariables();
        string? Get(string name)
        {
            var value = environment[name] as string;
            return string.IsNullOrWhiteSpace(value) ? null : value!.Trim();
        }

        var endpoint = Get(EnvironmentNames.Endpoint);
        var key = Get(EnvironmentNames.ApiKey);
        if (endpoint is null && key is null)
        {
            return null;
        }

        var settings = new ChittyConnectionSettings
        {
            Endpoint = endpoint is null ? ProductionEndpoint : ParseUri(endpoint, EnvironmentNames.Endpoint),
            ApiKey = key is null ? null : new ChittySecret(key),
            ChittyId = Get(EnvironmentNames.ChittyId),
            SessionId = Get(EnvironmentNames.SessionId),
            Bucket = Get(EnvironmentNames.R2Bucket),
            R2AccessKeyId = Get(EnvironmentNames.R2AccessKeyId),
            Name = "env",
        };
        var r2 = Get(EnvironmentNames.R2Endpoint);
        if (r2 is not null)
        {
            settings.R2Endpoint = ParseUri(r2, EnvironmentNames.R2Endpoint);
        }

        var secret = Get(EnvironmentNames.R2SecretAccessKey);
        if (secret is not null)
        {
            settings.R2SecretAccessKey = new ChittySecret(secret);
        }

        ReadCrypt(settings, environment[EnvironmentNames.CryptPassword] as string, environment[EnvironmentNames.CryptSalt] as string, Get(EnvironmentNames.CryptNameEncryption));
        return settings;
    }

    // A password is taken as it is (spaces are part of it); only an empty variable counts as unset.
    private static void ReadCrypt(ChittyConnectionSettings settings, string? password, string? salt, string? names)
    {
        if (!string.IsNullOrEmpty(password))
        {
            settings.CryptPassword = new ChittySecret(password!);
        }

        if (!string.IsNullOrEmpty(salt))
        {
            settings.CryptSalt = new ChittySecret(salt!);
        }

        if (names is not null)
        {
            settings.CryptNameEncryption = ParseNameEncryption(names, EnvironmentNames.CryptNameEncryption);
        }
    }

    /// <summary>"standard" or "off" (any case), as rclone's filename_encryption; other values are refused.</summary>
    public static RcloneNameEncryption ParseNameEncryption(string text, string what) =>
        string.Equals(text, "standard", StringComparison.OrdinalIgnoreCase) ? RcloneNameEncryption.Standard
        : string.Equals(text, "off", StringComparison.OrdinalIgnoreCase) ? RcloneNameEncryption.Off
        : throw new ArgumentException($"{what} must be 'standard' or 'off' (rclone's 'obfuscate' is not supported), not '{text}'.");

    private static Uri ParseUri(string text, string variable) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri)
            ? uri
            : throw new ArgumentException($"Environment variable {variable} is not an absolute URL: '{text}'.");

    /// <summary>A copy that shares nothing mutable with this one.</summary>
    public ChittyConnectionSettings Clone() => (ChittyConnectionSettings)MemberwiseClone();
}

/// <summary>Names of the environment variables read for unattended runs.</summary>
public static class EnvironmentNames
{
    public const string Endpoint = "CHITTY_ENDPOINT";
    public const string ApiKey = "CHITTY_API_KEY";
    public const string ChittyId = "CHITTY_ID";
    public const string SessionId = "CHITTY_SESSION_ID";
    public const string R2Endpoint = "CHITTY_R2_ENDPOINT";
    public const string R2Bucket = "CHITTY_R2_BUCKET";
    public const string R2AccessKeyId = "CHITTY_R2_ACCESS_KEY_ID";
    public const string R2SecretAccessKey = "CHITTY_R2_SECRET_ACCESS_KEY";

    /// <summary>The rclone crypt password (clear text, not rclone's obscured form).</summary>
    public const string CryptPassword = "CHITTY_CRYPT_PASSWORD";

    /// <summary>The rclone crypt salt ("password2"), clear text.</summary>
    public const string CryptSalt = "CHITTY_CRYPT_SALT";

    /// <summary>standard or off, as rclone's filename_encryption.</summary>
    public const string CryptNameEncryption = "CHITTY_CRYPT_NAME_ENCRYPTION";

    /// <summary>Overrides where profiles and sync state live (tests, portable installs).</summary>
    public const string ConfigDirectory = "CHITTY_CONFIG_DIR";

    /// <summary>How many keys of each side a sync plans at once (read once per process; the tests plan in windows of 2).</summary>
    public const string SyncWindowKeys = "CHITTY_SYNC_WINDOW_KEYS";

    /// <summary>Overrides where this machine's own data lives: the sync state (wins over CHITTY_CONFIG_DIR for it).</summary>
    public const string StateDirectory = "CHITTY_STATE_DIR";

    /// <summary>All of them, for documentation and tests.</summary>
    public static IReadOnlyList<string> All { get; } = new[]
    {
        Endpoint, ApiKey, ChittyId, SessionId, R2Endpoint, R2Bucket, R2AccessKeyId, R2SecretAccessKey,
        CryptPassword, CryptSalt, CryptNameEncryption,
    };
}
