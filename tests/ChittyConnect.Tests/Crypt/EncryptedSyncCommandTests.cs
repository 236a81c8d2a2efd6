using System.Collections;
using System.Text;
using ChittyConnect.Configuration;
using ChittyConnect.Crypt;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Crypt;

/// <summary>
/// Sync-ChittyFolder and Connect-Chitty with a crypt password, as a user runs them: the password and salt
/// come in as SecureStrings or from CHITTY_CRYPT_*, are saved only encrypted, and never show in any stream,
/// log or profile file; rclone reads what the cmdlet wrote.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class EncryptedSyncCommandTests : IDisposable
{
    private const string Password = "crypt-PASSWORD-do-not-print-91b";
    private const string Salt = "crypt-SALT-do-not-print-0c7";

    private readonly S3rverProcess _s3rver;
    private readonly string _root = Directory.CreateTempSubdirectory("chitty-crypt-cmdlet-").FullName;
    private readonly string _prefix = "files/crypt-" + Guid.NewGuid().ToString("N")[..8] + "/";
    private readonly PowerShellRunner _ps = new();

    public EncryptedSyncCommandTests(S3rverProcess s3rver)
    {
        _s3rver = s3rver;
        Directory.CreateDirectory(Path.Combine(_root, "folder", "sub dir"));
        File.WriteAllText(Path.Combine(_root, "folder", "plans.txt"), "the secret plans");
        File.WriteAllBytes(Path.Combine(_root, "folder", "sub dir", "ünïcode.bin"), new byte[70_000]);
    }

    private Hashtable Parameters => new()
    {
        ["r2"] = _s3rver.Endpoint,
        ["b"] = _s3rver.Bucket,
        ["pw"] = Password,
        ["salt"] = Salt,
        ["cfg"] = Path.Combine(_root, "config"),
        ["folder"] = Path.Combine(_root, "folder"),
        ["prefix"] = _prefix,
        ["log"] = Path.Combine(_root, "sync.jsonl"),
        ["restored"] = Path.Combine(_root, "restored"),
        ["state"] = Path.Combine(_root, "state"),
    };

    private const string Connect = """
        $PSDefaultParameterValues['Sync-ChittyFolder:StateDirectory'] = $state
        $cred = [pscredential]::new('S3RVER', (ConvertTo-SecureString 'S3RVER' -AsPlainText -Force))
        $key = ConvertTo-SecureString 'test-key' -AsPlainText -Force
        """;

    [Fact]
    public void ASavedCryptProfileEncryptsWhatRcloneReadsAndNoStreamLogOrFileShowsThePassword()
    {
        var result = WithConfigDirectory(() => _ps.Run("param($r2, $b, $pw, $salt, $cfg, $folder, $prefix, $log, $restored, $state)\n" + Connect + "\n" + """
            Connect-Chitty -Endpoint http://127.0.0.1:9/ -ApiKey $key -ChittyId c -SessionId s -R2Endpoint $r2 -Bucket $b -R2Credential $cred `
                -CryptPassword (ConvertTo-SecureString $pw -AsPlainText -Force) -CryptSalt (ConvertTo-SecureString $salt -AsPlainText -Force) `
                -Save -Name private -Verbose | Out-Null
            Disconnect-Chitty
            $c = Connect-Chitty -Name private -Verbose
            $c | Format-List * | Out-String
            $c | ConvertTo-Json
            Sync-ChittyFolder $folder -Prefix $prefix -NoReport -LogFile $log -Verbose
            Sync-ChittyFolder $restored -Prefix $prefix -Direction Download -NoReport -Verbose
            """, Parameters));

        Assert.Empty(result.Errors);
        Assert.Null(result.Terminating);
        AssertNoSecret(result.AllText());
        AssertNoSecret(File.ReadAllText(Path.Combine(_root, "sync.jsonl")));
        foreach (var file in Directory.GetFiles(Path.Combine(_root, "config"), "*", SearchOption.AllDirectories))
        {
            AssertNoSecret(File.ReadAllText(file));
        }

        var json = result.Output.Select(o => o.ToString()).Single(t => t.TrimStart().StartsWith('{'));
        Assert.Contains("\"CryptPassword\": \"********\"", json);
        Assert.Contains("\"CryptSalt\": \"********\"", json);
        var uploaded = result.Output.Select(o => o.BaseObject).OfType<ChittySyncResult>().Where(r => r.Action == SyncAction.Uploaded).ToList();
        Assert.Equal(2, uploaded.Count);
        Assert.All(uploaded, r => Assert.Matches("^[0-9a-v/]+$", r.R2Key.Substring(_prefix.Length)));
        Assert.Equal("the secret plans", File.ReadAllText(Path.Combine(_root, "restored", "plans.txt")));
        // Small files are encrypted in memory: no ciphertext touched the disk.
        Assert.False(Directory.Exists(Path.Combine(_root, "config", "crypt-staging")));

        using var rclone = new RcloneTool();
        rclone.AddS3("store", _s3rver.Endpoint, S3rverProcess.AccessKey, S3rverProcess.SecretKey);
        rclone.AddCrypt("secret", $"store:{_s3rver.Bucket}/{_prefix.TrimEnd('/')}", Password, Salt);
        Assert.Equal("the secret plans", rclone.Run("cat", "secret:plans.txt"));
        Assert.Equal(new[] { "plans.txt", "sub dir/ünïcode.bin" }, rclone.Run("lsf", "-R", "--fast-list", "--files-only", "secret:").Split('\n', StringSplitOptions.RemoveEmptyEntries).Order());
    }

    [Fact]
    public void AWrongPasswordStopsTheDownloadWithAStableErrorIdAndTouchesNothing()
    {
        var parameters = Parameters;
        parameters["pw"] = "the wrong crypt password";
        var upload = _ps.Run("param($r2, $b, $pw, $salt, $cfg, $folder, $prefix, $log, $restored, $state)\n" + Connect + "\n" + """
            Connect-Chitty -Endpoint http://127.0.0.1:9/ -ApiKey $key -ChittyId c -SessionId s -R2Endpoint $r2 -Bucket $b -R2Credential $cred | Out-Null
            Sync-ChittyFolder $folder -Prefix $prefix -NoReport -CryptPassword (ConvertTo-SecureString $salt -AsPlainText -Force) | Out-Null
            New-Item -ItemType Directory $restored | Out-Null
            Set-Content (Join-Path $restored 'mine.txt') 'keep me'
            Sync-ChittyFolder $restored -Prefix $prefix -Direction Download -Force -NoReport -CryptPassword (ConvertTo-SecureString $pw -AsPlainText -Force)
            """, parameters);

        var error = upload.SingleError();
        Assert.Equal("ChittyCryptPasswordWrong", error.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(System.Management.Automation.ErrorCategory.AuthenticationError, error.CategoryInfo.Category);
        Assert.DoesNotContain("the wrong crypt password", upload.AllText());
        Assert.Equal(new[] { "mine.txt" }, Directory.GetFileSystemEntries(Path.Combine(_root, "restored")).Select(Path.GetFileName));
    }

    [Fact]
    public void TheEnvironmentCarriesTheCryptSettingsForScheduledRuns()
    {
        var settings = ChittyConnectionSettings.FromEnvironment(new Hashtable
        {
            [EnvironmentNames.Endpoint] = "http://127.0.0.1:9/",
            [EnvironmentNames.ApiKey] = "k",
            [EnvironmentNames.CryptPassword] = " spaces count ",
            [EnvironmentNames.CryptSalt] = Salt,
            [EnvironmentNames.CryptNameEncryption] = "OFF",
        })!;

        Assert.Equal(" spaces count ", settings.CryptPassword!.Reveal());
        Assert.Equal(Salt, settings.CryptSalt!.Reveal());
        Assert.Equal(RcloneNameEncryption.Off, settings.CryptNameEncryption);
        var error = Assert.Throws<ArgumentException>(() => ChittyConnectionSettings.FromEnvironment(new Hashtable
        {
            [EnvironmentNames.ApiKey] = "k",
            [EnvironmentNames.CryptNameEncryption] = "obfuscate",
        }));
        Assert.Contains("CHITTY_CRYPT_NAME_ENCRYPTION", error.Message);
    }

    public void Dispose()
    {
        _ps.Dispose();
        Directory.Delete(_root, recursive: true);
    }

    private PowerShellResult WithConfigDirectory(Func<PowerShellResult> run)
    {
        var saved = Environment.GetEnvironmentVariable(EnvironmentNames.ConfigDirectory);
        try
        {
            Environment.SetEnvironmentVariable(EnvironmentNames.ConfigDirectory, Path.Combine(_root, "config"));
            return run();
        }
        finally
        {
            Environment.SetEnvironmentVariable(EnvironmentNames.ConfigDirectory, saved);
        }
    }

    private static void AssertNoSecret(string text)
    {
        foreach (var secret in new[] { Password, Salt })
        {
            Assert.DoesNotContain(secret, text);
            Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(secret)), text);
        }
    }
}
