using System.Collections;
using System.Management.Automation;
using System.Text.Json.Nodes;
using ChittyConnect.Api;
using ChittyConnect.Events;
using ChittyConnect.Tests.Events;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.BadInput;

/// <summary>
/// The bad-input catalogue (docs/bad-input.md) for the API cmdlets: each case gets a clear error with a
/// stable id and a message naming the problem, and nothing is sent or stored that should not be.
/// </summary>
public sealed class ApiBadInputTests : IAsyncLifetime
{
    private EmulatorHost _emulator = null!;
    private PowerShellRunner _ps = null!;
    private readonly string _work = Path.Combine(Path.GetTempPath(), "chitty-badinput-" + Guid.NewGuid().ToString("N")[..8]);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_work);
        _emulator = await EmulatorHost.StartAsync();
        _ps = new PowerShellRunner();
        Connect(_emulator.BaseUri);
    }

    public async Task DisposeAsync()
    {
        _ps.Dispose();
        await _emulator.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    private PowerShellResult Connect(Uri endpoint) => _ps.Run(
        "param($e) Connect-Chitty -Endpoint $e -ApiKey (ConvertTo-SecureString test-key -AsPlainText -Force) -ChittyId chitty-test -SessionId session-test -TimeoutSec 10",
        new Hashtable { ["e"] = endpoint });

    private string WriteFile(string name, int size)
    {
        var path = Path.Combine(_work, name);
        var bytes = new byte[size];
        new Random(size).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private async Task<int> UploadRequestsAsync() =>
        ((JsonArray)await _emulator.InspectAsync("_emulator/requests")).Count(r => r!["path"]!.GetValue<string>().StartsWith("/api/files/", StringComparison.Ordinal));

    private static string Id(ErrorRecord record) => record.FullyQualifiedErrorId.Split(',')[0];

    [Fact]
    public void A_relative_path_is_resolved_against_the_PowerShell_location_not_the_process_directory()
    {
        WriteFile("relative.txt", 100);
        var result = _ps.Run("param($d) Push-Location $d; try { Send-ChittyFile ./relative.txt } finally { Pop-Location }", new Hashtable { ["d"] = _work });
        Assert.Empty(result.Errors);
        var file = (ChittyFile)Assert.Single(result.Output).BaseObject;
        Assert.Equal(Path.Combine(_work, "relative.txt"), file.Path);
    }

    [Fact]
    public async Task A_symlink_loop_is_an_io_error_naming_it_and_nothing_is_sent()
    {
        var loop = Path.Combine(_work, "loop");
        File.CreateSymbolicLink(loop, loop);
        var result = _ps.Run("param($p) Send-ChittyFile -LiteralPath $p", new Hashtable { ["p"] = loop });
        var record = result.SingleError();
        Assert.Equal("ChittyIOError", Id(record));
        Assert.Contains(loop, record.Exception.Message);
        Assert.Contains("symbolic links", record.Exception.Message);
        Assert.Empty(result.Output);
        Assert.Equal(0, await UploadRequestsAsync());
    }

    [Fact]
    public async Task A_file_locked_by_another_program_is_an_io_error_naming_it_and_the_next_file_still_goes()
    {
        var locked = WriteFile("locked.bin", 1000);
        var good = WriteFile("good.bin", 1000);
        PowerShellResult result;
        // FileShare.None: .NET takes an exclusive lock that its other opens respect, as Windows does for every program.
        using (new FileStream(locked, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            result = _ps.Run("param($a, $b) Send-ChittyFile -LiteralPath $a, $b", new Hashtable { ["a"] = locked, ["b"] = good });
        }

        var record = result.SingleError();
        Assert.Equal("ChittyIOError", Id(record));
        Assert.Contains("locked.bin", record.Exception.Message);
        Assert.Equal(locked, record.TargetObject);
        Assert.Equal("good.bin", ((ChittyFile)Assert.Single(result.Output).BaseObject).Name);
        Assert.Equal(1, await UploadRequestsAsync());
    }

    [Fact]
    public void A_file_without_read_permission_is_access_denied_except_for_root_who_can_read_it()
    {
        var path = WriteFile("secret.bin", 100);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.None);
        }

        var result = _ps.Run("param($p) Send-ChittyFile -LiteralPath $p", new Hashtable { ["p"] = path });
        if (Environment.UserName == "root" || OperatingSystem.IsWindows())
        {
            // chmod 000 does not stop root (CAP_DAC_OVERRIDE): the upload succeeds, as cat or rclone would.
            // (Windows has no mode bits; its locked-file case is the test above.)
            Assert.Empty(result.Errors);
            Assert.Single(result.Output);
        }
        else
        {
            var record = result.SingleError();
            Assert.Equal("ChittyAccessDenied", Id(record));
            Assert.Equal(ErrorCategory.PermissionDenied, record.CategoryInfo.Category);
            Assert.Contains("secret.bin", record.Exception.Message);
        }
    }

    [Fact]
    public async Task Direct_upload_of_a_file_of_5_MB_or_more_is_refused_before_sending()
    {
        var big = WriteFile("big.bin", (int)FileUploader.DirectUploadLimit);
        var result = _ps.Run("param($p) Send-ChittyFile -LiteralPath $p -Method Direct", new Hashtable { ["p"] = big });
        var record = result.SingleError();
        Assert.Equal("ChittyInvalidArgument", Id(record));
        Assert.Contains("too large for a direct upload", record.Exception.Message);
        Assert.Contains("-Method Presigned", record.Exception.Message);
        Assert.Equal(0, await UploadRequestsAsync());
    }

    [Fact]
    public async Task An_expired_presign_token_is_retried_with_new_ones_then_a_clear_error_and_nothing_is_stored()
    {
        await using var expiring = await EmulatorHost.StartAsync(o => o.UploadTokenLifetime = TimeSpan.FromSeconds(-1));
        var path = WriteFile("expires.bin", 2000);
        var result = _ps.Run("param($e, $p) $c = Connect-Chitty -Endpoint $e -ApiKey (ConvertTo-SecureString test-key -AsPlainText -Force) -ChittyId chitty-test -SessionId session-test; Send-ChittyFile -LiteralPath $p -Method Presigned -Connection $c",
            new Hashtable { ["e"] = expiring.BaseUri, ["p"] = path });
        Connect(_emulator.BaseUri);
        var record = result.SingleError();
        Assert.Equal("ChittyUploadTokenExpired", Id(record));
        Assert.Equal(ErrorCategory.AuthenticationError, record.CategoryInfo.Category);
        Assert.Contains("invalid_or_expired_token", record.Exception.Message);
        Assert.Empty(result.Output);
        var requests = (JsonArray)await expiring.InspectAsync("_emulator/requests");
        Assert.Equal(3, requests.Count(r => r!["path"]!.GetValue<string>() == "/api/files/presign"));
        Assert.Empty((JsonArray)await expiring.InspectAsync("_emulator/context-files"));
        Assert.False(Directory.Exists(expiring.BlobDirectory) && Directory.EnumerateFiles(expiring.BlobDirectory, "*", SearchOption.AllDirectories).Any(),
            "an expired token stored no object");
    }

    [Fact]
    public async Task A_success_with_an_empty_body_is_an_invalid_response_saying_so()
    {
        await _emulator.ArmFaultAsync(200, 1, "/api/v1/sessions", body: string.Empty, contentType: "application/json");
        var result = _ps.Run("Get-ChittySession");
        var record = result.SingleError();
        Assert.Equal("ChittyInvalidResponse", Id(record));
        Assert.Contains("empty body", record.Exception.Message);
        Assert.Empty(result.Output);
    }

    [Fact]
    public async Task Gigantic_json_is_refused_as_an_invalid_response_naming_the_limit()
    {
        var huge = "{\"success\":true,\"data\":{\"pad\":\"" + new string('x', ChittyApiClient.MaxResponseBytes) + "\"}}";
        await using var stub = new LoopbackHttpStub(_ => new StubResponse(200, huge));
        Connect(stub.BaseUri);
        var result = _ps.Run("Get-ChittyWhoAmI");
        Connect(_emulator.BaseUri);
        var record = result.SingleError();
        Assert.Equal("ChittyInvalidResponse", Id(record));
        Assert.Contains(ChittyApiClient.MaxResponseBytes.ToString(), record.Exception.Message);
    }

    [Fact]
    public async Task A_json_answer_that_is_not_an_object_is_an_invalid_response()
    {
        await _emulator.ArmFaultAsync(200, 1, "/api/registry/whoami", body: "[1,2,3]", contentType: "application/json");
        var record = _ps.Run("Get-ChittyWhoAmI").SingleError();
        Assert.Equal("ChittyInvalidResponse", Id(record));
        Assert.Contains("not an object", record.Exception.Message);
    }

    [Theory]
    [InlineData("http://127.0.0.1:1/?tenant=x", "must not carry a query")]
    [InlineData("http://127.0.0.1:1/#frag", "must not carry a query, fragment")]
    [InlineData("http://user:pw@127.0.0.1:1/", "user info")]
    [InlineData("ftp://127.0.0.1/", "http")]
    [InlineData("ftp://user:pw@127.0.0.1/", "http")]
    public void An_endpoint_with_a_query_fragment_user_info_or_another_scheme_is_refused_and_the_connection_kept(string endpoint, string expected)
    {
        var result = _ps.Run("param($e) Connect-Chitty -Endpoint $e -ApiKey (ConvertTo-SecureString k -AsPlainText -Force) -ChittyId c",
            new Hashtable { ["e"] = endpoint });
        var record = result.SingleError();
        Assert.Equal("ChittyInvalidArgument", Id(record));
        Assert.Contains(expected, record.Exception.Message);
        Assert.DoesNotContain("pw", record.Exception.Message);
        var current = (ChittyConnection)Assert.Single(_ps.Run("Get-ChittyConnection").Output).BaseObject;
        Assert.Equal(_emulator.BaseUri, current.Endpoint);
    }

    [Theory]
    [InlineData("Connect-Chitty -Endpoint http://127.0.0.1:1/ -ApiKey (ConvertTo-SecureString k -AsPlainText -Force) -ChittyId c -TimeoutSec 0", "TimeoutSec")]
    [InlineData("Watch-ChittyEvents -First 0", "First")]
    [InlineData("Watch-ChittyEvents -First -5", "First")]
    [InlineData("New-ChittySession ''", "SessionId")]
    [InlineData("Get-ChittyResourceUri -Sha256 not-a-hash -Name a.txt", "Sha256")]
    [InlineData("Send-ChittyFile -LiteralPath ''", "LiteralPath")]
    public async Task Out_of_range_or_empty_arguments_are_refused_by_parameter_validation_naming_the_parameter(string script, string parameter)
    {
        var result = _ps.Run(script);
        var record = result.SingleError();
        Assert.StartsWith("ParameterArgumentValidationError", record.FullyQualifiedErrorId);
        Assert.Contains(parameter, record.Exception.Message);
        Assert.Equal(0, await UploadRequestsAsync());
    }

    [Fact]
    public async Task Sse_events_of_several_megabytes_arrive_whole_and_one_over_16_MiB_is_skipped_with_a_warning()
    {
        var several = new string('x', 6 * 1024 * 1024);
        var tooBig = new string('y', SseParser.DefaultMaxEventBytes + 1024);
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendAsync("data: {\"type\":\"context.files.uploaded\",\"sessionId\":\"session-test\",\"pad\":\"" + several + "\"}\n\n");
            await c.SendAsync("data: {\"type\":\"context.files.updated\",\"sessionId\":\"session-test\",\"pad\":\"" + tooBig + "\"}\n\n");
            await c.SendEventAsync("{\"type\":\"context.files.synced\",\"sessionId\":\"session-test\",\"count\":1}");
            await c.HoldAsync();
        });
        Connect(server.BaseUri);
        var result = _ps.Run("Watch-ChittyEvents -First 2 -Timeout 00:00:30 | ForEach-Object { [pscustomobject]@{ Type = $_.Type; Pad = $_.Data.pad.Length } }");
        Connect(_emulator.BaseUri);
        Assert.Empty(result.Errors);
        Assert.Equal(new[] { "context.files.uploaded", "context.files.synced" }, result.Output.Select(o => (string)o.Properties["Type"].Value));
        Assert.Equal(several.Length, (int)result.Output[0].Properties["Pad"].Value);
        Assert.Contains(result.Warnings, w => w.Contains($"larger than {SseParser.DefaultMaxEventBytes} bytes", StringComparison.Ordinal));
    }
}
