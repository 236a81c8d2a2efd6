using System.Collections;
using ChittyConnect.Configuration;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Configuration;

/// <summary>Connecting from the rclone remote a user of the guide already has.</summary>
public sealed class RcloneConfigTests : IDisposable
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "chitty-rclone-" + Guid.NewGuid().ToString("N"));

    public RcloneConfigTests() => Directory.CreateDirectory(_work);

    public void Dispose() => Directory.Delete(_work, recursive: true);

    // Made by rclone v1.60.1 (Debian's /usr/bin/rclone) with `env -u AWS_CA_BUNDLE rclone obscure '<clear text>'`;
    // each run of rclone picks a random IV, so these exact strings are what rclone printed once.
    [Theory]
    [InlineData("VgU-2M0-Ibnq5G1bdUFc8s-DQVZfeREiDPkHvEMwla59lUQJcWmz6nIhkiBCP45j5ennZEfajGw", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")]
    [InlineData("qLQr0t4q5RsgIAId-QCWlwIpBAjNHpSectHQ_fNTVDXtPe9FqfcaTR3jlDZu0xEQsA", "pässwörd with spaces & symbols!")]
    [InlineData("BWZ50Vu-MkkFqBcE10YN0fOLyChzT_29iridKFIBTXLDJp8a_pC_RCr72vWd8ENPJ7FNX3RYDIlFvC9KobvBXcUNQYXOeP06tA-HH31z", "a-secret-longer-than-one-aes-block-of-sixteen-bytes-0123456789")]
    [InlineData("fPN0VLNEzk6e0oECfjEj5jNkPlRTc-ZLWQ", "SECRET456")]
    public void A_secret_rclone_obscured_is_revealed(string obscured, string clear)
    {
        Assert.Equal(clear, RcloneConfig.TryRevealObscured(obscured)?.Reveal());
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")] // an R2 secret: 64 hex digits
    [InlineData("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")] // an AWS-style secret
    [InlineData("S3RVER")]
    [InlineData("el0cHXKdkjX98yJ5bUBV_Q")] // obscured empty text: not a secret either
    public void A_plain_secret_is_not_taken_for_an_obscured_one(string plain)
    {
        Assert.Null(RcloneConfig.TryRevealObscured(plain));
    }

    [Fact]
    public void The_remote_gives_endpoint_keys_and_the_bucket_of_the_spec_with_the_secret_revealed()
    {
        var path = WriteConfig("""
            # made by rclone config
            [other]
            type = drive

            [chittyos-data]
            type = s3
            provider = Cloudflare
            access_key_id = AKID123
            secret_access_key = fPN0VLNEzk6e0oECfjEj5jNkPlRTc-ZLWQ
            endpoint = https://acct.r2.cloudflarestorage.com
            region = auto
            acl = private
            """);

        var remote = RcloneConfig.ReadR2Remote(path, "chittyos-data:chittyos-data/files/my-desktop-session");

        Assert.Equal(new Uri("https://acct.r2.cloudflarestorage.com"), remote.Endpoint);
        Assert.Equal("AKID123", remote.AccessKeyId);
        Assert.Equal("SECRET456", remote.SecretAccessKey.Reveal());
        Assert.True(remote.SecretWasObscured);
        Assert.Equal("chittyos-data", remote.Bucket);
        Assert.Null(RcloneConfig.ReadR2Remote(path, "chittyos-data").Bucket);
    }

    [Fact]
    public void A_plain_secret_as_rclone_config_writes_it_is_used_as_is()
    {
        // What `rclone config create chittyos-data s3 provider=Cloudflare ... secret_access_key=<hex>` writes.
        var secret = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        var path = WriteConfig($"[r2]\ntype = s3\naccess_key_id = k\nsecret_access_key = {secret}\nendpoint = acct.r2.cloudflarestorage.com\n");

        var remote = RcloneConfig.ReadR2Remote(path, "r2");

        Assert.Equal(secret, remote.SecretAccessKey.Reveal());
        Assert.False(remote.SecretWasObscured);
        Assert.Equal(new Uri("https://acct.r2.cloudflarestorage.com"), remote.Endpoint);
    }

    [Fact]
    public void Missing_files_remotes_and_settings_get_clear_errors()
    {
        var path = WriteConfig("[drive]\ntype = drive\n\n[nokeys]\ntype = s3\nenv_auth = true\nendpoint = https://e\n");

        Assert.Throws<FileNotFoundException>(() => RcloneConfig.ReadR2Remote(Path.Combine(_work, "none.conf"), "r2"));
        Assert.Contains("has: drive, nokeys", Assert.Throws<ArgumentException>(() => RcloneConfig.ReadR2Remote(path, "r2")).Message);
        Assert.Contains("type 'drive'", Assert.Throws<ArgumentException>(() => RcloneConfig.ReadR2Remote(path, "drive")).Message);
        Assert.Contains("env_auth", Assert.Throws<ArgumentException>(() => RcloneConfig.ReadR2Remote(path, "nokeys")).Message);
        var encrypted = WriteConfig("# Encrypted rclone configuration File\n\nRCLONE_ENCRYPT_V0:\nabcdef\n");
        Assert.Throws<InvalidDataException>(() => RcloneConfig.ReadR2Remote(encrypted, "r2"));
    }

    [Fact]
    public void The_default_file_is_RCLONE_CONFIG_else_the_one_under_config()
    {
        Assert.Equal("/etc/custom.conf", RcloneConfig.DefaultPath(new Hashtable { ["RCLONE_CONFIG"] = "/etc/custom.conf" }));
        Assert.EndsWith(Path.Combine(".config", "rclone", "rclone.conf"), RcloneConfig.DefaultPath(new Hashtable()));
    }

    [Fact]
    public void Connect_Chitty_takes_R2_from_the_remote_and_explicit_parameters_win()
    {
        var path = WriteConfig("[chittyos-data]\ntype = s3\nprovider = Cloudflare\naccess_key_id = AKID123\nsecret_access_key = fPN0VLNEzk6e0oECfjEj5jNkPlRTc-ZLWQ\nendpoint = https://acct.r2.cloudflarestorage.com\n");
        using var ps = new PowerShellRunner();
        const string Connect = "Connect-Chitty -Endpoint http://127.0.0.1:9/ -ApiKey (ConvertTo-SecureString k -AsPlainText -Force) -ChittyId c ";

        var fromRemote = ps.Run(
            "param($p) $c = " + Connect + "-RcloneRemote chittyos-data:data -RcloneConfig $p; $c.R2Endpoint; $c.Bucket; $c.R2AccessKeyId; $c.HasR2",
            new Hashtable { ["p"] = path });
        var explicitWins = ps.Run(
            "param($p) $c = " + Connect + "-RcloneRemote chittyos-data -RcloneConfig $p -Bucket mine -AccountId other; $c.R2Endpoint; $c.Bucket",
            new Hashtable { ["p"] = path });
        var fromVariable = ps.Run(
            "param($p) $env:RCLONE_CONFIG = $p; try { (" + Connect + "-RcloneRemote chittyos-data:b2).Bucket } finally { Remove-Item Env:RCLONE_CONFIG }",
            new Hashtable { ["p"] = path });
        var noBucket = ps.Run("param($p) " + Connect + "-RcloneRemote chittyos-data -RcloneConfig $p", new Hashtable { ["p"] = path });

        Assert.Empty(fromRemote.Errors);
        Assert.Equal(new[] { "https://acct.r2.cloudflarestorage.com/", "data", "AKID123", "True" }, fromRemote.Output.Select(o => o.ToString()));
        Assert.Equal(new[] { "https://other.r2.cloudflarestorage.com/", "mine" }, explicitWins.Output.Select(o => o.ToString()));
        Assert.Equal("b2", Assert.Single(fromVariable.Output).ToString());
        Assert.StartsWith("ChittyInvalidArgument,", noBucket.SingleError().FullyQualifiedErrorId);
        Assert.Contains("chittyos-data:<bucket>", noBucket.SingleError().Exception.Message);
    }

    private string WriteConfig(string text)
    {
        var path = Path.Combine(_work, Guid.NewGuid().ToString("N") + ".conf");
        File.WriteAllText(path, text);
        return path;
    }
}
