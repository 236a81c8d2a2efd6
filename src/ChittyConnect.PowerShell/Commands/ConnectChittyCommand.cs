using System;
using System.Management.Automation;
using System.Security;
using ChittyConnect.Configuration;
using ChittyConnect.Crypt;
using ChittyConnect.PowerShell.Internal;
using ChittyConnect.Storage;

namespace ChittyConnect.PowerShell.Commands;

/// <summary>
/// <para type="synopsis">Connects to ChittyConnect and makes the connection current.</para>
/// </summary>
// Environment is the default set, so a bare "Connect-Chitty" reads CHITTY_* (scheduled tasks), else the
// profile a bare "-Save" wrote; "Connect-Chitty -Name work" resolves to the Profile set instead of
// prompting for an API key, and "Connect-Chitty -Save [-Name work]" to EnvironmentSave, which saves what the
// CHITTY_* variables hold (-Save is mandatory there, so a bare -Name still loads a profile).
[Cmdlet(VerbsCommunications.Connect, "Chitty", DefaultParameterSetName = EnvironmentSet)]
[OutputType(typeof(ChittyConnection))]
public sealed class ConnectChittyCommand : PSCmdlet
{
    private const string ExplicitSet = "Explicit";
    private const string ProfileSet = "Profile";
    private const string EnvironmentSet = "Environment";
    private const string EnvironmentSaveSet = "EnvironmentSave";

    /// <summary>The API's base URL (default https://api.chitty.cc).</summary>
    [Parameter(ParameterSetName = ExplicitSet, Position = 0)]
    [ValidateNotNull]
    public Uri? Endpoint { get; set; }

    /// <summary>The API key.</summary>
    [Parameter(ParameterSetName = ExplicitSet, Mandatory = true)]
    [ValidateNotNull]
    public SecureString? ApiKey { get; set; }

    /// <summary>The ChittyID the key belongs to.</summary>
    [Parameter(ParameterSetName = ExplicitSet, Mandatory = true)]
    [ValidateNotNullOrEmpty]
    public string? ChittyId { get; set; }

    /// <summary>Default session for the other cmdlets.</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [Parameter(ParameterSetName = ProfileSet)]
    [Parameter(ParameterSetName = EnvironmentSet)]
    [Parameter(ParameterSetName = EnvironmentSaveSet)]
    [ValidateNotNullOrEmpty]
    [Internal.ValidateSessionId]
    public string? SessionId { get; set; }

    /// <summary>The R2 (S3-compatible) endpoint for Sync-ChittyFolder.</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [ValidateNotNull]
    public Uri? R2Endpoint { get; set; }

    /// <summary>The Cloudflare account id; builds https://&lt;id&gt;.r2.cloudflarestorage.com.</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [ValidateNotNullOrEmpty]
    public string? AccountId { get; set; }

    /// <summary>The R2 bucket.</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [ValidateNotNullOrEmpty]
    public string? Bucket { get; set; }

    /// <summary>R2 access key id (user name) and secret access key (password).</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [ValidateNotNull]
    [Credential]
    public PSCredential? R2Credential { get; set; }

    /// <summary>The rclone crypt password: Sync-ChittyFolder then encrypts as an rclone crypt remote with it would.</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [ValidateNotNull]
    public SecureString? CryptPassword { get; set; }

    /// <summary>The rclone crypt salt (password2), optional.</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [ValidateNotNull]
    public SecureString? CryptSalt { get; set; }

    /// <summary>Standard (encrypted names, the default) or Off (clear names with .bin), as rclone's filename_encryption.</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [ValidateSet("Standard", "Off")]
    public string CryptNameEncryption { get; set; } = "Standard";

    /// <summary>
    /// An rclone remote (the guide's chittyos-data, or name:bucket) whose endpoint, keys and bucket are used for R2;
    /// -R2Endpoint, -AccountId, -Bucket and -R2Credential still win where given.
    /// </summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [ValidateNotNullOrEmpty]
    public string? RcloneRemote { get; set; }

    /// <summary>The rclone config file (default: RCLONE_CONFIG, else ~/.config/rclone/rclone.conf).</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [ValidateNotNullOrEmpty]
    public string? RcloneConfig { get; set; }

    /// <summary>The deadline of each API call in seconds, retries included.</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [ValidateRange(1, 3600)]
    public int TimeoutSec { get; set; } = 30;

    /// <summary>Saves the connection as a profile; without -ApiKey, the one the CHITTY_* variables describe.</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [Parameter(ParameterSetName = EnvironmentSaveSet, Mandatory = true)]
    public SwitchParameter Save { get; set; }

    /// <summary>The profile name to save under (with -Save, default 'default') or to load.</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [Parameter(ParameterSetName = ProfileSet, Mandatory = true)]
    [Parameter(ParameterSetName = EnvironmentSaveSet)]
    [ValidateNotNullOrEmpty]
    [ArgumentCompleter(typeof(ProfileNameCompleter))]
    public string? Name { get; set; }

    /// <summary>Replaces an existing profile of that name.</summary>
    [Parameter(ParameterSetName = ExplicitSet)]
    [Parameter(ParameterSetName = EnvironmentSaveSet)]
    public SwitchParameter Force { get; set; }

    /// <summary>
    /// Reads the CHITTY_* environment variables only. Without parameters, Connect-Chitty reads them too, and
    /// when neither CHITTY_ENDPOINT nor CHITTY_API_KEY is set it loads the saved profile 'default'.
    /// </summary>
    [Parameter(ParameterSetName = EnvironmentSet)]
    [Parameter(ParameterSetName = EnvironmentSaveSet)]
    public SwitchParameter FromEnvironment { get; set; }

    /// <inheritdoc />
    protected override void EndProcessing()
    {
        ChittyConnectionSettings settings;
        try
        {
            settings = ParameterSetName switch
            {
                ProfileSet => new ProfileStore().Load(Name!),
                EnvironmentSet => ChittyConnectionSettings.FromEnvironment() ?? DefaultProfile(),
                EnvironmentSaveSet => ChittyConnectionSettings.FromEnvironment() ?? throw NothingToSave(),
                _ => FromParameters(),
            };
            if (SessionId is not null)
            {
                settings.SessionId = SessionId;
            }

            settings.Validate();
        }
        catch (Exception ex) when (ChittyErrors.IsReportable(ex))
        {
            var errorId = ParameterSetName != ProfileSet ? null
                : ex is System.IO.FileNotFoundException ? "ChittyProfileNotFound"
                : ex is ArgumentException ? "ChittyInvalidArgument"
                : "ChittyProfileUnreadable";
            ThrowTerminatingError(ChittyErrors.ToErrorRecord(ex, Name ?? (object?)Endpoint, errorId));
            return;
        }

        var connection = new ChittyConnection(settings);
        if (Save)
        {
            var name = Name ?? DefaultProfileName;
            try
            {
                var path = new ProfileStore().Save(name, settings, Force);
                WriteVerbose($"Saved profile '{name}' to {path}.");
            }
            catch (Exception ex) when (ChittyErrors.IsReportable(ex))
            {
                connection.Dispose();
                ThrowTerminatingError(ChittyErrors.ToErrorRecord(ex, name, "ChittyProfileSaveFailed"));
                return;
            }

            settings.Name = name;
            connection = new ChittyConnection(settings);
        }

        ConnectionRegistry.SetCurrent(connection);
        if (connection.HasR2)
        {
            // A session that will speak to R2 begins: the SDK's code compiles in the background meanwhile.
            S3Warmup.Start();
        }

        WriteVerbose($"Connected to {connection.Endpoint} as {connection.ChittyId}" + (connection.HasR2 ? $", R2 bucket '{connection.Bucket}' at {connection.R2Endpoint}." : "."));
        WriteObject(connection);
    }

    // What "Connect-Chitty -ApiKey ... -ChittyId ... -Save" (no -Name) saved, for a bare Connect-Chitty.
    private ChittyConnectionSettings DefaultProfile()
    {
        var needed = $"{EnvironmentNames.ApiKey} and {EnvironmentNames.ChittyId} are not set";
        if (FromEnvironment)
        {
            throw new ArgumentException($"{needed} ({EnvironmentNames.Endpoint} too, for a service other than {ChittyConnectionSettings.ProductionEndpoint}).");
        }

        try
        {
            var settings = new ProfileStore().Load(DefaultProfileName);
            WriteVerbose($"{needed}: connecting with the saved profile '{DefaultProfileName}'.");
            return settings;
        }
        catch (System.IO.FileNotFoundException)
        {
            throw new ArgumentException($"Nothing to connect with: {needed}, and no profile '{DefaultProfileName}' is saved. " +
                $"Connect once with Connect-Chitty -ApiKey (Read-Host -AsSecureString) -ChittyId <id> -Save (it saves the profile '{DefaultProfileName}'), " +
                $"or set {EnvironmentNames.ApiKey} and {EnvironmentNames.ChittyId} ({EnvironmentNames.Endpoint} too, for a service other than {ChittyConnectionSettings.ProductionEndpoint}).");
        }
    }

    private const string DefaultProfileName = "default";

    // "Connect-Chitty -Save" without -ApiKey saves the CHITTY_* connection; with none set there is nothing to save.
    private static ArgumentException NothingToSave() =>
        new($"-Save without -ApiKey saves the connection the CHITTY_* variables describe, but {EnvironmentNames.ApiKey} and {EnvironmentNames.ChittyId} are not set. " +
            $"Save one with Connect-Chitty -ApiKey (Read-Host -AsSecureString) -ChittyId <id> -Save, or set {EnvironmentNames.ApiKey} and {EnvironmentNames.ChittyId} " +
            $"({EnvironmentNames.Endpoint} too, for a service other than {ChittyConnectionSettings.ProductionEndpoint}) and run Connect-Chitty -Save again.");

    private ChittyConnectionSettings FromParameters()
    {
        if (R2Endpoint is not null && AccountId is not null)
        {
            throw new ArgumentException("Give -R2Endpoint or -AccountId, not both.");
        }

        var settings = new ChittyConnectionSettings
        {
            Endpoint = Endpoint ?? ChittyConnectionSettings.ProductionEndpoint,
            ApiKey = ChittySecret.FromSecureString(ApiKey!),
            ChittyId = ChittyId,
            SessionId = SessionId,
            R2Endpoint = R2Endpoint ?? (AccountId is null ? null : ChittyConnectionSettings.R2EndpointForAccount(AccountId)),
            Bucket = Bucket,
            RequestTimeout = TimeSpan.FromSeconds(TimeoutSec),
            Name = Save ? Name ?? DefaultProfileName : null,
        };
        if (R2Credential is not null)
        {
            settings.R2AccessKeyId = R2Credential.UserName;
            settings.R2SecretAccessKey = ChittySecret.FromSecureString(R2Credential.Password);
        }

        if (RcloneConfig is not null && RcloneRemote is null)
        {
            throw new ArgumentException("-RcloneConfig names the file of an rclone remote: give -RcloneRemote too.");
        }

        if (RcloneRemote is not null)
        {
            var path = RcloneConfig is null
                ? Configuration.RcloneConfig.DefaultPath()
                : GetUnresolvedProviderPathFromPSPath(RcloneConfig);
            var remote = Configuration.RcloneConfig.ReadR2Remote(path, RcloneRemote);
            settings.R2Endpoint ??= remote.Endpoint;
            settings.Bucket ??= remote.Bucket
                ?? throw new ArgumentException($"An rclone remote holds no bucket: give -Bucket, or name it after the remote as '{remote.Name}:<bucket>'.");
            if (R2Credential is null)
            {
                settings.R2AccessKeyId = remote.AccessKeyId;
                settings.R2SecretAccessKey = remote.SecretAccessKey;
            }

            WriteVerbose($"R2 settings from the rclone remote '{remote.Name}' in {path}: {remote.Endpoint}, bucket '{settings.Bucket}'" +
                (remote.SecretWasObscured ? ", its secret revealed from rclone's obscured form." : "."));
        }

        if (CryptSalt is not null && CryptPassword is null)
        {
            throw new ArgumentException("-CryptSalt needs -CryptPassword: the salt is rclone crypt's second password.");
        }

        if (CryptPassword is not null)
        {
            settings.CryptPassword = ChittySecret.FromSecureString(CryptPassword);
            settings.CryptSalt = CryptSalt is null ? null : ChittySecret.FromSecureString(CryptSalt);
            settings.CryptNameEncryption = ChittyConnectionSettings.ParseNameEncryption(CryptNameEncryption, "-CryptNameEncryption");
        }

        return settings;
    }
}
