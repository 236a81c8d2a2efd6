using System.Collections;
using System.Management.Automation;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ChittyConnect.Api;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Cmdlets;

/// <summary>The API cmdlets hosted in-process against the in-process emulator.</summary>
public sealed class ApiCmdletTests : IAsyncLifetime
{
    private EmulatorHost _emulator = null!;
    private PowerShellRunner _ps = null!;
    private readonly string _work = Path.Combine(Path.GetTempPath(), "chitty-cmdlets-" + Guid.NewGuid().ToString("N"));

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_work);
        _emulator = await EmulatorHost.StartAsync(o => o.ProductionUploadUrls = true);
        _ps = new PowerShellRunner();
        Connect(EmulatorHost.ApiKey);
    }

    public async Task DisposeAsync()
    {
        _ps.Dispose();
        await _emulator.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    private PowerShellResult Connect(string key, Uri? endpoint = null, int timeoutSec = 30) => _ps.Run(
        "param($e, $k, $t) Connect-Chitty -Endpoint $e -ApiKey (ConvertTo-SecureString $k -AsPlainText -Force) -ChittyId chitty-test -SessionId session-test -TimeoutSec $t",
        new Hashtable { ["e"] = endpoint ?? _emulator.BaseUri, ["k"] = key, ["t"] = timeoutSec });

    private string WriteFile(string name, int size, int seed = 1)
    {
        var path = Path.Combine(_work, name);
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private async Task<JsonArray> RequestsAsync() => (JsonArray)await _emulator.InspectAsync("_emulator/requests");

    [Fact]
    public void Connect_returns_the_connection_with_the_key_masked_and_makes_it_current()
    {
        var result = Connect(EmulatorHost.ApiKey);
        var connection = Assert.Single(result.Output).BaseObject as ChittyConnection;
        Assert.NotNull(connection);
        Assert.Equal("********", connection!.ApiKey);
        Assert.DoesNotContain(EmulatorHost.ApiKey, result.AllText());
        var current = _ps.Run("Get-ChittyConnection");
        Assert.Same(connection, Assert.Single(current.Output).BaseObject);
    }

    [Fact]
    public void A_saved_profile_loads_by_name_alone_and_disconnect_honours_WhatIf()
    {
        var config = Path.Combine(_work, "config");
        var result = _ps.Run("""
            param($e, $k, $c)
            $env:CHITTY_CONFIG_DIR = $c
            try {
                Connect-Chitty -Endpoint $e -ApiKey (ConvertTo-SecureString $k -AsPlainText -Force) -ChittyId chitty-test -SessionId session-test -Save -Name work | Out-Null
                Disconnect-Chitty -WhatIf
                (Get-ChittyConnection).Name
                Disconnect-Chitty
                (Connect-Chitty -Name work).Name
                (Get-ChittyWhoAmI).SessionId
                Connect-Chitty -Name nothing-saved
            } finally { Remove-Item Env:CHITTY_CONFIG_DIR }
            """, new Hashtable { ["e"] = _emulator.BaseUri, ["k"] = EmulatorHost.ApiKey, ["c"] = config });
        Assert.Equal(new[] { "work", "work", "session-test" }, result.Output.Select(o => o.ToString()));
        Assert.StartsWith("ChittyProfileNotFound,", result.SingleError().FullyQualifiedErrorId);
        Assert.DoesNotContain(EmulatorHost.ApiKey, File.ReadAllText(Path.Combine(config, "profiles", "work.json")));
    }

    [Fact]
    public void New_and_Get_ChittySession_create_list_and_get_sessions()
    {
        var created = _ps.Run("New-ChittySession -SessionId desk-1 -Metadata @{ device = 'laptop'; tags = @('a','b') }");
        Assert.Empty(created.Errors);
        var session = (ChittySession)Assert.Single(created.Output).BaseObject;
        Assert.Equal(("desk-1", "chitty-test", "active"), (session.Id, session.ChittyId, session.State));
        Assert.Equal(TimeSpan.FromHours(24), session.Expires - session.Created);
        Assert.Equal("laptop", session.Metadata["device"]);

        var listed = _ps.Run("Get-ChittySession 'desk*'");
        Assert.Equal("desk-1", ((ChittySession)Assert.Single(listed.Output).BaseObject).Id);

        var missing = _ps.Run("Get-ChittySession -SessionId no-such-session");
        Assert.Empty(missing.Output);
        Assert.StartsWith("ChittySessionNotFound,", Assert.Single(missing.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public async Task A_session_the_service_lost_is_reported_with_how_to_recreate_it_and_New_ChittySession_is_safe_to_repeat()
    {
        var first = _ps.Run("New-ChittySession -SessionId session-test -Metadata @{ device = 'laptop' }");
        var again = _ps.Run("New-ChittySession -SessionId session-test -Metadata @{ device = 'laptop' }");
        Assert.Empty(first.Errors);
        Assert.Empty(again.Errors);
        Assert.Equal("laptop", ((ChittySession)Assert.Single(again.Output).BaseObject).Metadata["device"]);
        Assert.Equal("Passed", SessionCheck().Status);

        // The service's session store restarts and forgets every session.
        using (var anonymous = _emulator.CreateClient(apiKey: null))
        {
            (await anonymous.PostAsync("_emulator/sessions/restart", null)).EnsureSuccessStatusCode();
        }

        var lost = SessionCheck();
        Assert.Equal("Failed", lost.Status);
        Assert.Contains("New-ChittySession -SessionId 'session-test'", lost.Detail);

        var recreated = _ps.Run("New-ChittySession -SessionId session-test");
        Assert.Empty(recreated.Errors);
        Assert.Equal("Passed", SessionCheck().Status);

        ChittyConnect.PowerShell.Commands.ChittyConnectionTest SessionCheck() =>
            _ps.Run("Test-ChittyConnection").Output.Select(o => (ChittyConnect.PowerShell.Commands.ChittyConnectionTest)o.BaseObject).Single(t => t.Check == "Session");
    }

    [Fact]
    public async Task Send_ChittyFile_uploads_directly_and_presigned_with_the_bytes_intact()
    {
        var small = WriteFile("small notes.txt", 1000);
        var large = WriteFile("large.bin", 6 * 1024 * 1024 + 3, seed: 2);
        var result = _ps.Run("param($s, $l) Send-ChittyFile -LiteralPath $s; Get-Item -LiteralPath $l | Send-ChittyFile",
            new Hashtable { ["s"] = small, ["l"] = large });
        Assert.Empty(result.Errors);
        var files = result.Output.Select(o => (ChittyFile)o.BaseObject).ToList();
        Assert.Equal(new[] { UploadMethod.Direct, UploadMethod.Presigned }, files.Select(f => f.Method));
        foreach (var (file, path) in files.Zip(new[] { small, large }))
        {
            var expected = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();
            Assert.Equal(expected, file.Sha256);
            Assert.Equal(new FileInfo(path).Length, file.Size);
            Assert.Equal("r2://" + file.R2Key, file.Uri);
            // The resource URI names the file as the service's r2 key does: "small notes.txt" is small_notes.txt in both.
            var safeName = Path.GetFileName(path).Replace(' ', '_');
            Assert.Equal($"resource://connect/session-test/{expected}-{safeName}", file.ResourceUri);
            Assert.EndsWith($"/{expected}-{safeName}", file.R2Key);
            using var client = _emulator.CreateClient(apiKey: null);
            var stored = await client.GetByteArrayAsync("_emulator/blobs/" + file.R2Key);
            Assert.Equal(File.ReadAllBytes(path), stored);
        }

        // The service named https://api.chitty.cc as the upload host; the PUT still went to the emulator.
        Assert.Contains(await RequestsAsync(), r => (string?)r!["method"] == "PUT");
    }

    [Fact]
    public async Task WhatIf_sends_nothing()
    {
        var file = WriteFile("a.txt", 10);
        await ClearRequestsAsync();
        var result = _ps.Run("param($f) Send-ChittyFile -Path $f -Activate -WhatIf; New-ChittySession x -WhatIf; 'r2://files/x' | Set-ChittyActiveFile -WhatIf; [pscustomobject]@{ R2Key = 'files/x' } | Send-ChittySyncReport -PathPrefix files -WhatIf",
            new Hashtable { ["f"] = file });
        Assert.Empty(result.Errors);
        Assert.Empty(result.Output);
        Assert.Empty(await RequestsAsync());
    }

    [Fact]
    public async Task Piped_files_are_marked_active_in_one_request_and_whoami_shows_them()
    {
        WriteFile("one.txt", 100, 3);
        WriteFile("two.txt", 200, 4);
        await ClearRequestsAsync();
        var result = _ps.Run("param($d) Get-ChildItem -LiteralPath $d -Filter *.txt | Send-ChittyFile | Set-ChittyActiveFile", new Hashtable { ["d"] = _work });
        Assert.Empty(result.Errors);
        var set = (SetActiveResult)Assert.Single(result.Output).BaseObject;
        Assert.Equal(2, set.Count);
        Assert.Single(await RequestsAsync(), r => ((string?)r!["path"])!.EndsWith("set-active", StringComparison.Ordinal));

        var whoami = (ChittyWhoAmI)Assert.Single(_ps.Run("Get-ChittyWhoAmI").Output).BaseObject;
        Assert.Equal(("chitty-test", "session-test"), (whoami.ChittyId, whoami.SessionId));
        Assert.Equal(new[] { "one.txt", "two.txt" }, whoami.ActiveFiles.Select(f => f.Name).OrderBy(n => n));
    }

    [Fact]
    public async Task Send_ChittySyncReport_sends_pipeline_items_in_batches()
    {
        var result = _ps.Run("1..5 | ForEach-Object { [pscustomobject]@{ R2Key = \"files/session-test/f$_.txt\"; Sha256 = ('{0:x64}' -f $_); Size = $_ * 10; Modified = [datetime]'2026-01-04' } } | Send-ChittySyncReport -PathPrefix files/session-test -BatchSize 2");
        Assert.Empty(result.Errors);
        var report = (SyncReportResult)Assert.Single(result.Output).BaseObject;
        Assert.Equal((5, 150L, 3), (report.Count, report.Bytes, report.Batches));
        var events = (JsonArray)await _emulator.InspectAsync("_emulator/sync-events");
        Assert.Equal(3, events.Count);
        var files = (JsonArray)await _emulator.InspectAsync("_emulator/context-files?session_id=session-test");
        Assert.Equal(5, files.Count(f => ((string?)f!["file_uri"] ?? (string?)f!["fileUri"] ?? string.Empty).StartsWith("r2://files/session-test/f", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_presigned_upload_reports_the_active_state_the_service_left_and_whoami_lists_each_file_once()
    {
        var large = WriteFile("big report.bin", 64 * 1024, seed: 5);
        var small = WriteFile("small.txt", 100, seed: 6);
        await ClearRequestsAsync();

        var sent = _ps.Run(
            "param($l, $s) Send-ChittyFile -LiteralPath $l -Method Presigned; Send-ChittyFile -LiteralPath $s -Method Direct",
            new Hashtable { ["l"] = large, ["s"] = small });
        Assert.Empty(sent.Errors);
        var files = sent.Output.Select(o => (ChittyFile)o.BaseObject).ToList();
        Assert.Equal(new[] { (UploadMethod.Presigned, true), (UploadMethod.Direct, false) }, files.Select(f => (f.Method, f.Active)));

        // What the presigned result says is what the service did: the PUT alone made it active.
        var before = _ps.Run("Get-ChittyWhoAmI");
        var active = ((ChittyWhoAmI)Assert.Single(before.Output).BaseObject).ActiveFiles.Select(f => f.Uri).ToList();
        Assert.Equal(new[] { files[0].Uri }, active);

        // Piping both results marks them by their r2 URIs: the presigned file is not listed a second time.
        var marked = _ps.Run("param($f) $f | Set-ChittyActiveFile", new Hashtable { ["f"] = files.ToArray() });
        Assert.Empty(marked.Errors);
        Assert.Equal(files.Select(f => f.Uri), ((SetActiveResult)Assert.Single(marked.Output).BaseObject).Uris);
        var after = ((ChittyWhoAmI)Assert.Single(_ps.Run("Get-ChittyWhoAmI").Output).BaseObject).ActiveFiles.Select(f => f.Uri).ToList();
        Assert.Equal(2, after.Count);
        Assert.Equal(files.Select(f => f.Uri).OrderBy(u => u), after.OrderBy(u => u));
    }

    [Fact]
    public void Set_ChittyActiveFile_names_a_file_by_its_r2_key_whenever_the_input_knows_it()
    {
        var result = _ps.Run("""
            [pscustomobject]@{ R2Key = 'files/session-test/a.txt'; Uri = 'resource://connect/session-test/00-a.txt'; Name = 'a.txt' },
            @{ R2Key = 'files/session-test/b.txt' },
            [pscustomobject]@{ Uri = 'resource://connect/session-test/11-c.txt' } | Set-ChittyActiveFile
            """);
        Assert.Empty(result.Errors);
        Assert.Equal(
            new[] { "r2://files/session-test/a.txt", "r2://files/session-test/b.txt", "resource://connect/session-test/11-c.txt" },
            ((SetActiveResult)Assert.Single(result.Output).BaseObject).Uris);
    }

    [Fact]
    public async Task Complete_ChittyFile_commits_piped_uploads_and_WhatIf_commits_nothing()
    {
        var path = WriteFile("commit-me.txt", 123, 9);
        await ClearRequestsAsync();
        var result = _ps.Run("param($p) $f = Send-ChittyFile -LiteralPath $p; $f | Complete-ChittyFile -WhatIf; $f | Complete-ChittyFile -TaskId t1 -PassThru",
            new Hashtable { ["p"] = path });
        Assert.Empty(result.Errors);
        Assert.Equal("commit-me.txt", ((ChittyFile)Assert.Single(result.Output).BaseObject).Name);
        Assert.Single(await RequestsAsync(), r => (string?)r!["path"] == "/api/files/commit");
    }

    [Fact]
    public void Get_ChittyResourceUri_hashes_the_file_or_takes_a_known_hash()
    {
        var path = WriteFile("doc.pdf", 50);
        var sha = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))).ToLowerInvariant();
        var result = _ps.Run("param($p) Get-ChittyResourceUri -Path $p; Get-ChittyResourceUri -Sha256 ('a' * 64) -Name x.pdf -SessionId s2", new Hashtable { ["p"] = path });
        Assert.Empty(result.Errors);
        Assert.Equal(new[] { $"resource://connect/session-test/{sha}-doc.pdf", $"resource://connect/s2/{new string('a', 64)}-x.pdf" },
            result.Output.Select(o => (string)o.BaseObject));
    }

    [Fact]
    public void Bad_paths_get_clear_errors_and_the_rest_of_the_pipeline_goes_on()
    {
        var good = WriteFile("good.txt", 10);
        var empty = Path.Combine(_work, "empty.txt");
        File.WriteAllBytes(empty, Array.Empty<byte>());
        var result = _ps.Run("param($g, $e, $d) Send-ChittyFile -LiteralPath (Join-Path $d nope.txt), $d, $e, $g",
            new Hashtable { ["g"] = good, ["e"] = empty, ["d"] = _work });
        Assert.Equal("good.txt", ((ChittyFile)Assert.Single(result.Output).BaseObject).Name);
        Assert.Equal(new[] { "ChittyPathNotFound", "ChittyPathIsDirectory", "ChittyInvalidArgument" },
            result.Errors.Select(e => e.FullyQualifiedErrorId.Split(',')[0]));
        Assert.Contains("empty", result.Errors[2].Exception.Message);
    }

    [Fact]
    public void An_invalid_key_is_an_authentication_error_that_never_shows_the_key()
    {
        Connect("wrong-key-do-not-print");
        var result = _ps.Run("Get-ChittyWhoAmI -Verbose -Debug");
        var record = result.SingleError();
        Assert.StartsWith("ChittyAuthenticationFailed,", record.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.AuthenticationError, record.CategoryInfo.Category);
        Assert.Contains("Invalid API key", record.Exception.Message);
        Assert.DoesNotContain("wrong-key-do-not-print", result.AllText());
    }

    [Fact]
    public void Verbose_shows_each_request_with_status_and_time_and_never_the_key()
    {
        var result = _ps.Run("Get-ChittyWhoAmI -Verbose -Debug");
        Assert.Contains(result.Verbose, v => System.Text.RegularExpressions.Regex.IsMatch(v, @"^GET /api/registry/whoami -> 200 \(\d+ ms\)$"));
        Assert.DoesNotContain(EmulatorHost.ApiKey, result.AllText());
    }

    [Fact]
    public void An_unreachable_endpoint_is_a_connection_error_within_the_timeout()
    {
        var port = FreePort();
        Connect(EmulatorHost.ApiKey, new Uri($"http://127.0.0.1:{port}/"), timeoutSec: 2);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var result = _ps.Run("Get-ChittySession");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "gave up in time");
        Assert.StartsWith("ChittyConnectionFailed,", Assert.Single(result.Errors).FullyQualifiedErrorId);
    }

    [Fact]
    public async Task A_server_answering_html_is_an_invalid_response()
    {
        await _emulator.ArmFaultAsync(200, 1, "/api/registry/whoami", body: "<html><body>captive portal</body></html>", contentType: "text/html");
        var result = _ps.Run("Get-ChittyWhoAmI");
        var record = result.SingleError();
        Assert.StartsWith("ChittyInvalidResponse,", record.FullyQualifiedErrorId);
        Assert.Contains("text/html", record.Exception.Message);
    }

    [Fact]
    public void Ctrl_C_stops_a_request_that_gets_no_answer_within_a_second()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        Connect(EmulatorHost.ApiKey, new Uri($"http://127.0.0.1:{port}/"), timeoutSec: 120);
        var stopTook = _ps.RunAndStop("Get-ChittyWhoAmI", TimeSpan.FromMilliseconds(500));
        Assert.True(stopTook < TimeSpan.FromSeconds(1), $"stop took {stopTook}");
    }

    [Fact]
    public void Without_a_connection_every_cmdlet_says_how_to_connect()
    {
        _ps.Run("Disconnect-Chitty");
        var saved = Environment.GetEnvironmentVariable("CHITTY_ENDPOINT");
        var result = _ps.Run("Get-ChittyWhoAmI");
        Assert.Null(saved);
        var record = result.SingleError();
        Assert.StartsWith("ChittyNotConnected,", record.FullyQualifiedErrorId);
        Assert.Contains("Connect-Chitty", record.Exception.Message);
    }

    private async Task ClearRequestsAsync()
    {
        using var client = _emulator.CreateClient(apiKey: null);
        (await client.DeleteAsync("_emulator/requests")).EnsureSuccessStatusCode();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
