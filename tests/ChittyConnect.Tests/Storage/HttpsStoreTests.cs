using System.Collections.ObjectModel;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ChittyConnect.PowerShell.Commands;
using ChittyConnect.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ChittyConnect.Tests.Storage;

/// <summary>
/// Sync against s3rver over HTTPS, as R2 is only reached. The module trusts what the operating system
/// trusts and nothing else: a process started with SSL_CERT_FILE naming the test CA syncs; this test
/// process, which trusts no such CA, gets a clear connection error and nothing changes.
/// </summary>
[Collection(HttpsS3rverCollection.Name)]
public sealed class HttpsStoreTests : IDisposable
{
    private const string ChildScript = """
        param($Module, $S3, $Bucket, $Local, $Prefix)
        $ErrorActionPreference = 'Stop'
        Import-Module $Module
        $secret = ConvertTo-SecureString 'S3RVER' -AsPlainText -Force
        $connection = Connect-Chitty -Endpoint 'http://127.0.0.1:9' -ApiKey (ConvertTo-SecureString 'test-key' -AsPlainText -Force) `
            -ChittyId chitty-test -SessionId session-test -R2Endpoint $S3 -Bucket $Bucket -R2Credential ([pscredential]::new('S3RVER', $secret))
        Sync-ChittyFolder -Path $Local -Prefix $Prefix -NoReport -Connection $connection | ForEach-Object { "$($_.Action) $($_.R2Key)" }
        """;

    private readonly HttpsS3rverProcess _s3rver;
    private readonly ITestOutputHelper _output;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "chitty-https-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _prefix = "files/https-" + Guid.NewGuid().ToString("N")[..8] + "/";

    public HttpsStoreTests(HttpsS3rverProcess s3rver, ITestOutputHelper output)
    {
        _s3rver = s3rver;
        _output = output;
        Directory.CreateDirectory(Path.Combine(_root, "folder", "sub"));
        File.WriteAllText(Path.Combine(_root, "folder", "a.txt"), "alpha over TLS");
        File.WriteAllText(Path.Combine(_root, "folder", "sub", "b.txt"), "beta over TLS");
    }

    private string Folder => Path.Combine(_root, "folder");

    public void Dispose()
    {
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task A_process_that_trusts_the_servers_CA_through_SSL_CERT_FILE_syncs_over_https()
    {
        Assert.Equal("https", _s3rver.Endpoint.Scheme);
        var script = Path.Combine(_root, "child.ps1");
        await File.WriteAllTextAsync(script, ChildScript);
        var (exitCode, output, errors) = await ChildPwsh.RunAsync(
            script,
            ["-Module", typeof(ConnectChittyCommand).Assembly.Location, "-S3", _s3rver.Endpoint.ToString(), "-Bucket", _s3rver.Bucket, "-Local", Folder, "-Prefix", _prefix],
            new Dictionary<string, string>
            {
                ["CHITTY_CONFIG_DIR"] = Path.Combine(_root, "config"),
                ["SSL_CERT_FILE"] = _s3rver.CertificateAuthority!.TrustBundlePath,
            },
            TimeSpan.FromMinutes(2));
        _output.WriteLine($"exit={exitCode}\n{output}\n{errors}");
        Assert.Equal(0, exitCode);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(new[] { $"Uploaded {_prefix}a.txt", $"Uploaded {_prefix}sub/b.txt" }, lines.Order(StringComparer.Ordinal));

        // Read back over HTTPS with a client that trusts the test CA only.
        using var client = _s3rver.CreateRawClient();
        using var answer = await client.GetObjectAsync(_s3rver.Bucket, _prefix + "sub/b.txt");
        using var reader = new StreamReader(answer.ResponseStream);
        Assert.Equal("beta over TLS", await reader.ReadToEndAsync());
    }

    [Fact]
    public async Task The_module_refuses_a_certificate_its_process_does_not_trust_with_a_clear_connection_error()
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.Commands.Add(new SessionStateCmdletEntry("Sync-ChittyFolder", typeof(SyncChittyFolderCommand), null));
        using var shell = System.Management.Automation.PowerShell.Create(iss);
        shell.Runspace.SessionStateProxy.SetVariable("conn", new ChittyConnection(_s3rver.Settings()));
        shell.Runspace.SessionStateProxy.SetVariable("folder", Folder);
        shell.Runspace.SessionStateProxy.SetVariable("prefix", _prefix + "untrusted/");
        shell.Runspace.SessionStateProxy.SetVariable("state", Path.Combine(_root, "state"));
        shell.AddScript("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -NoReport -StateDirectory $state");
        Collection<PSObject> output;
        ErrorRecord error;
        try
        {
            output = shell.Invoke();
            error = Assert.Single(shell.Streams.Error);
        }
        catch (RuntimeException ex)
        {
            output = new Collection<PSObject>();
            error = ex.ErrorRecord;
        }

        Assert.Empty(output);
        Assert.Matches("^Chitty(Storage)?ConnectionFailed,", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ConnectionError, error.CategoryInfo.Category);
        Assert.Contains("TLS connection could not be established", error.ErrorDetails.Message, StringComparison.Ordinal);
        Assert.Contains("certificate", error.ErrorDetails.Message, StringComparison.OrdinalIgnoreCase);
        Assert.False(string.IsNullOrEmpty(error.ErrorDetails.RecommendedAction));

        // Nothing reached the bucket and nothing local was touched.
        using var client = _s3rver.CreateRawClient();
        var listed = await client.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = _s3rver.Bucket, Prefix = _prefix + "untrusted/" });
        Assert.Empty(listed.S3Objects ?? new List<Amazon.S3.Model.S3Object>());
        Assert.True(File.Exists(Path.Combine(Folder, "a.txt")));
    }
}
