using System.Collections;
using System.Management.Automation;
using System.Text;
using ChittyConnect.Emulator;
using ChittyConnect.PowerShell.Commands;
using ChittyConnect.Tests.BadInput;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Secrets;

/// <summary>
/// The API key and the R2 secret never show anywhere a user or a log can see them, the key goes to the
/// configured endpoint only, and TLS certificates are checked.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class SecretsTests : IAsyncLifetime
{
    private const string ApiKey = "sk-live-APIKEY-do-not-print-7f3a9";
    private const string R2Secret = "r2-SECRET-do-not-print-c41d2";

    private readonly S3rverProcess _s3rver;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "chitty-secrets-" + Guid.NewGuid().ToString("N")[..8]);
    private EmulatorHost _emulator = null!;
    private PowerShellRunner _ps = null!;

    public SecretsTests(S3rverProcess s3rver) => _s3rver = s3rver;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_root, "folder"));
        _emulator = await EmulatorHost.StartAsync(o =>
        {
            o.Keys.Add(new EmulatorApiKey(ApiKey, EmulatorHost.ChittyId, EmulatorHost.SessionId));
            o.ProductionUploadUrls = true;
        });
        _ps = new PowerShellRunner();
    }

    public async Task DisposeAsync()
    {
        _ps.Dispose();
        await _emulator.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private Hashtable Parameters(Uri? endpoint = null, string key = ApiKey) => new()
    {
        ["e"] = endpoint ?? _emulator.BaseUri,
        ["k"] = key,
        ["r2"] = _s3rver.Endpoint,
        ["b"] = _s3rver.Bucket,
        ["s"] = R2Secret,
        ["root"] = _root,
        ["cfg"] = Path.Combine(_root, "config"),
    };

    private const string ConnectScript = """
        param($e, $k, $r2, $b, $s, $root, $cfg)
        $cred = [pscredential]::new('S3RVER', (ConvertTo-SecureString $s -AsPlainText -Force))
        Connect-Chitty -Endpoint $e -ApiKey (ConvertTo-SecureString $k -AsPlainText -Force) -ChittyId chitty-test -SessionId session-test -R2Endpoint $r2 -Bucket $b -R2Credential $cred -Verbose -Debug
        """;

    private static void AssertNoSecret(string text)
    {
        Assert.DoesNotContain(ApiKey, text);
        Assert.DoesNotContain(R2Secret, text);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(ApiKey)), text);
        Assert.DoesNotContain(Convert.ToBase64String(Encoding.UTF8.GetBytes(R2Secret)), text);
    }

    [Fact]
    public void No_stream_log_file_or_formatted_view_of_any_cmdlet_shows_a_secret_in_success_or_failure()
    {
        File.WriteAllText(Path.Combine(_root, "folder", "a.txt"), "alpha");
        File.WriteAllBytes(Path.Combine(_root, "big.bin"), new byte[6_000_000]);
        var script = ConnectScript + """

            $ErrorActionPreference = 'Continue'
            $common = @{ Verbose = $true; Debug = $true; ErrorAction = 'Continue' }
            $InformationPreference = 'Continue'
            $ProgressPreference = 'Continue'
            Test-ChittyConnection @common
            New-ChittySession session-test @common
            Get-ChittySession @common
            Get-ChittySession no-such-session @common
            $f = Send-ChittyFile (Join-Path $root 'folder/a.txt') @common
            Send-ChittyFile (Join-Path $root 'big.bin') -Method Presigned @common
            Send-ChittyFile (Join-Path $root 'missing.txt') @common
            $f | Set-ChittyActiveFile @common
            $f | Send-ChittySyncReport -PathPrefix files/session-test @common
            Get-ChittyWhoAmI @common
            Get-ChittyResourceUri (Join-Path $root 'folder/a.txt') @common
            Sync-ChittyFolder (Join-Path $root 'folder') -Prefix files/secrets-test -LogFile (Join-Path $root 'sync.log') -Summary -StateDirectory (Join-Path $root 'state') @common
            Sync-ChittyFolder (Join-Path $root 'nope') -Prefix files/secrets-test -LogFile (Join-Path $root 'sync.log') -StateDirectory (Join-Path $root 'state') @common
            Watch-ChittyEvents -AllSessions -Timeout 00:00:01 @common
            $c = Get-ChittyConnection
            $c
            $c | Format-List * | Out-String
            $c | Format-Table * | Out-String
            $c | ConvertTo-Json -Depth 5
            $c | Select-Object * | Out-String
            $c.Settings
            $c.psobject.Properties | ForEach-Object { "$($_.Name)=$($_.Value)" }
            $Error | ForEach-Object { $_ | Format-List * -Force | Out-String; $_.Exception.ToString(); $_.ScriptStackTrace }
            """;
        var result = _ps.Run(script, Parameters(), TimeSpan.FromSeconds(90));
        // The run did what it says: successes and the expected failures both happened.
        Assert.Contains(result.Output, o => o.BaseObject is ChittyConnect.Sync.ChittySyncSummary);
        Assert.Contains(result.Output, o => o.BaseObject is ChittyConnect.Api.ChittyFile f && f.Method == ChittyConnect.Api.UploadMethod.Presigned);
        Assert.Contains(result.Errors, e => e.FullyQualifiedErrorId.StartsWith("ChittySessionNotFound", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.FullyQualifiedErrorId.StartsWith("ChittyPathNotFound", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.FullyQualifiedErrorId.StartsWith("ChittySyncSourceMissing", StringComparison.Ordinal));
        Assert.Equal(3, result.Errors.Count);
        Assert.NotEmpty(result.Verbose);
        Assert.NotEmpty(result.Progress);
        Assert.NotEmpty(result.Information);
        AssertNoSecret(result.AllText());
        AssertNoSecret(File.ReadAllText(Path.Combine(_root, "sync.log")));
    }

    [Fact]
    public void Failures_with_a_wrong_key_and_an_unreachable_store_never_show_either_secret()
    {
        var script = ConnectScript + """

            $common = @{ Verbose = $true; Debug = $true; ErrorAction = 'Continue' }
            Get-ChittyWhoAmI @common
            Test-ChittyConnection @common
            Send-ChittyFile (Join-Path $root 'a.bin') @common
            $Error | ForEach-Object { $_ | Format-List * -Force | Out-String; $_.Exception.ToString() }
            """;
        File.WriteAllText(Path.Combine(_root, "a.bin"), "x");
        var result = _ps.Run(script, Parameters(key: ApiKey + "-wrong"), TimeSpan.FromSeconds(60));
        Assert.Contains(result.Errors, e => e.FullyQualifiedErrorId.StartsWith("ChittyAuthenticationFailed", StringComparison.Ordinal));
        AssertNoSecret(result.AllText());
    }

    [Fact]
    public void A_saved_profile_holds_no_secret_in_clear_text_and_is_owner_only()
    {
        var config = Path.Combine(_root, "config");
        var script = ConnectScript.Replace("-Verbose -Debug", "-Save -Name work -Verbose -Debug") + """

            Get-ChittyConnection -ListAvailable | Format-List * | Out-String
            Get-ChittyConnection -ListAvailable | ConvertTo-Json
            """;
        var saved = Environment.GetEnvironmentVariable("CHITTY_CONFIG_DIR");
        PowerShellResult result;
        try
        {
            Environment.SetEnvironmentVariable("CHITTY_CONFIG_DIR", config);
            result = _ps.Run(script, Parameters());
        }
        finally
        {
            Environment.SetEnvironmentVariable("CHITTY_CONFIG_DIR", saved);
        }

        Assert.Empty(result.Errors);
        AssertNoSecret(result.AllText());
        var files = Directory.GetFiles(config, "*", SearchOption.AllDirectories);
        Assert.NotEmpty(files);
        foreach (var file in files)
        {
            AssertNoSecret(File.ReadAllText(file));
            AssertNoSecret(Encoding.Unicode.GetString(File.ReadAllBytes(file)));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }
        }
    }

    [Fact]
    public async Task The_key_never_goes_to_another_host_whatever_upload_url_the_service_names()
    {
        var evilHits = new List<StubRequest>();
        await using var evil = new LoopbackHttpStub(r =>
        {
            lock (evilHits)
            {
                evilHits.Add(r);
            }

            return new StubResponse(200, "{\"ok\":true,\"r2_key\":\"stolen\",\"size\":3}");
        });
        var evilBase = evil.BaseUri.ToString().TrimEnd('/');
        var urls = new Queue<string>(new[]
        {
            evilBase + "/api/files/upload/tok1",
            "https://api.chitty.cc/" + evilBase + "/api/files/upload/tok2",
            "https://api.chitty.cc//" + evil.BaseUri.Authority + "/api/files/upload/tok3",
        });
        var ownHits = new List<StubRequest>();
        await using var api = new LoopbackHttpStub(r =>
        {
            lock (ownHits)
            {
                ownHits.Add(r);
            }

            if (r.Target == "/api/files/presign")
            {
                string url;
                lock (urls)
                {
                    url = urls.Dequeue();
                }

                return new StubResponse(200, $"{{\"ok\":true,\"upload_url\":\"{url}\",\"r2_key\":\"files/k\",\"expires_in\":3600}}");
            }

            return new StubResponse(200, "{\"ok\":true,\"r2_key\":\"files/k\",\"size\":3}");
        });
        File.WriteAllText(Path.Combine(_root, "f.txt"), "abc");
        var result = _ps.Run(ConnectScript + "\n1..3 | ForEach-Object { Send-ChittyFile (Join-Path $root 'f.txt') -Method Presigned -ErrorAction Continue }", Parameters(api.BaseUri));
        Assert.Empty(evilHits);
        Assert.Equal(0, evil.Connections);
        var puts = ownHits.Where(r => r.Method == "PUT").ToList();
        Assert.All(puts, p => Assert.Equal("Bearer " + ApiKey, p.Header("authorization")));
        Assert.Equal(3, ownHits.Count(r => r.Target == "/api/files/presign"));
        Assert.Equal(3, result.Errors.Count(e => e.FullyQualifiedErrorId.StartsWith("ChittyInvalidResponse", StringComparison.Ordinal) && e.Exception.Message.Contains("was not sent", StringComparison.Ordinal)) + puts.Count);
        AssertNoSecret(result.AllText());
    }

    [Fact]
    public async Task A_redirect_is_not_followed_so_the_key_stays_home_and_the_error_names_it()
    {
        await using var evil = new LoopbackHttpStub(_ => new StubResponse(200, "{\"success\":true,\"data\":{}}"));
        await using var api = new LoopbackHttpStub(_ => new StubResponse(302, string.Empty, "text/plain",
            new Dictionary<string, string> { ["Location"] = new Uri(evil.BaseUri, "api/registry/whoami").ToString() }));
        var result = _ps.Run(ConnectScript + "\nGet-ChittyWhoAmI; Get-ChittySession", Parameters(api.BaseUri));
        Assert.Equal(0, evil.Connections);
        Assert.Empty(evil.Requests);
        Assert.Equal(2, result.Errors.Count);
        Assert.All(result.Errors, e =>
        {
            Assert.Contains("redirect", e.Exception.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Contains(evil.BaseUri.Authority, e.Exception.Message);
        });
        AssertNoSecret(result.AllText());
    }

    [Fact]
    public async Task A_self_signed_certificate_is_refused_with_a_clear_error_and_no_request_is_sent()
    {
        await using var tls = new LoopbackHttpStub(_ => new StubResponse(200, "{\"success\":true,\"data\":{}}"), selfSignedTls: true);
        var result = _ps.Run(ConnectScript + "\nGet-ChittyWhoAmI", Parameters(tls.BaseUri));
        var record = Assert.Single(result.Errors);
        Assert.StartsWith("ChittyConnectionFailed", record.FullyQualifiedErrorId);
        Assert.Contains("certificate", record.Exception.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(tls.Requests);
        AssertNoSecret(result.AllText());
    }
}
