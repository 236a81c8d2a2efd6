using System.Collections;
using ChittyConnect.Api;
using ChittyConnect.Configuration;
using Xunit;

namespace ChittyConnect.Tests.Configuration;

public sealed class ConfigurationTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "chitty-config-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public void A_secret_prints_as_a_mask()
    {
        var secret = new ChittySecret("super-secret-value");
        Assert.Equal(ChittySecret.Mask, secret.ToString());
        Assert.Equal(ChittySecret.Mask, $"{secret}");
    }

    [Fact]
    public void Settings_come_from_the_documented_environment_variables()
    {
        var env = new Hashtable
        {
            ["CHITTY_ENDPOINT"] = "http://127.0.0.1:5000",
            ["CHITTY_API_KEY"] = "k",
            ["CHITTY_ID"] = "id",
            ["CHITTY_SESSION_ID"] = "s",
            ["CHITTY_R2_ENDPOINT"] = "http://127.0.0.1:4569",
            ["CHITTY_R2_BUCKET"] = "b",
            ["CHITTY_R2_ACCESS_KEY_ID"] = "S3RVER",
            ["CHITTY_R2_SECRET_ACCESS_KEY"] = "S3RVER",
        };
        var settings = ChittyConnectionSettings.FromEnvironment(env)!;
        settings.Validate();
        Assert.Equal("http://127.0.0.1:5000/", settings.Endpoint.ToString());
        Assert.Equal(("id", "s", "b", "S3RVER"), (settings.ChittyId, settings.SessionId, settings.Bucket, settings.R2AccessKeyId));
        Assert.True(settings.HasR2);
        Assert.Null(ChittyConnectionSettings.FromEnvironment(new Hashtable()));
    }

    [Fact]
    public void An_account_id_builds_the_r2_endpoint_and_junk_is_refused()
    {
        Assert.Equal("https://abc123.r2.cloudflarestorage.com/", ChittyConnectionSettings.R2EndpointForAccount("abc123").ToString());
        Assert.Throws<ArgumentException>(() => ChittyConnectionSettings.R2EndpointForAccount("evil.com/x"));
        Assert.Throws<ArgumentException>(() => ChittyConnectionSettings.NormalizeEndpoint(new Uri("ftp://x/")));
    }

    [Fact]
    public void A_profile_round_trips_without_clear_text_secrets_and_is_owner_only()
    {
        var store = new ProfileStore(_root);
        var settings = new ChittyConnectionSettings
        {
            Endpoint = new Uri("http://127.0.0.1:5000/"),
            ApiKey = new ChittySecret("api-key-clear-text-1234"),
            ChittyId = "chitty-1",
            SessionId = "s1",
            R2Endpoint = new Uri("http://127.0.0.1:4569/"),
            Bucket = "b",
            R2AccessKeyId = "AKID",
            R2SecretAccessKey = new ChittySecret("r2-secret-clear-text-5678"),
        };
        var path = store.Save("work", settings, overwrite: false);
        var text = File.ReadAllText(path);
        Assert.DoesNotContain("api-key-clear-text-1234", text);
        Assert.DoesNotContain("r2-secret-clear-text-5678", text);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_root, "profile.key")));
        }

        var loaded = store.Load("work");
        Assert.Equal("api-key-clear-text-1234", loaded.ApiKey!.Reveal());
        Assert.Equal("r2-secret-clear-text-5678", loaded.R2SecretAccessKey!.Reveal());
        Assert.Equal(("chitty-1", "s1", "b"), (loaded.ChittyId, loaded.SessionId, loaded.Bucket));
        Assert.Equal("work", Assert.Single(store.List()).Name);
        Assert.Throws<IOException>(() => store.Save("work", settings, overwrite: false));
    }

    [Fact]
    public void A_tampered_or_missing_profile_is_a_clear_error()
    {
        var store = new ProfileStore(_root);
        var missing = Assert.Throws<FileNotFoundException>(() => store.Load("nope"));
        Assert.Contains("no saved profile named 'nope'", missing.Message);
        store.Save("p", new ChittyConnectionSettings { ApiKey = new ChittySecret("k"), ChittyId = "c" }, false);
        File.WriteAllText(store.PathOf("p"), "{ not json");
        Assert.Throws<InvalidDataException>(() => store.Load("p"));
        Assert.Throws<ArgumentException>(() => store.PathOf("../escape"));
    }

    [Fact]
    public void The_resource_uri_has_the_documented_form()
    {
        Assert.Equal("resource://connect/my-desktop-session/abc-document.pdf",
            ChittyUris.Resource("my-desktop-session", "ABC", "C:\\docs\\document.pdf"));
    }
}
