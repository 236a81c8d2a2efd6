using System.Collections;
using System.Management.Automation;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using ChittyConnect.Api;
using ChittyConnect.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ChittyConnect.Tests.Faults;

/// <summary>The API cmdlets and Send-ChittyFile, in-process, talking to the emulator through a proxy that faults one request in ten.</summary>
public sealed class ApiFaultTests : IAsyncLifetime
{
    private static readonly string[] s_cleanErrorIds =
    {
        "ChittyConnectionFailed", "ChittyTimeout", "ChittyServerError", "ChittyRateLimited", "ChittyInvalidResponse", "ChittyUploadIncomplete",
    };

    private readonly ITestOutputHelper _output;
    private readonly string _work = Path.Combine(Path.GetTempPath(), "chitty-apifaults-" + Guid.NewGuid().ToString("N")[..8]);
    private EmulatorHost _emulator = null!;
    private FaultProxy _proxy = null!;
    private PowerShellRunner _ps = null!;

    public ApiFaultTests(ITestOutputHelper output) => _output = output;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_work);
        _emulator = await EmulatorHost.StartAsync(o => o.RateLimitPerMinute = 100_000);
        _proxy = new FaultProxy(_emulator.BaseUri, FaultStyle.Json, seed: 61) { Rate = 0.10, SlowDelay = TimeSpan.FromSeconds(3) };
        _ps = new PowerShellRunner();
        var connect = _ps.Run(
            "param($e, $k) Connect-Chitty -Endpoint $e -ApiKey (ConvertTo-SecureString $k -AsPlainText -Force) -ChittyId chitty-test -SessionId session-test -TimeoutSec 8 | Out-Null",
            new Hashtable { ["e"] = _proxy.Uri, ["k"] = EmulatorHost.ApiKey });
        Assert.Empty(connect.Errors);
    }

    public async Task DisposeAsync()
    {
        _ps.Dispose();
        await _proxy.DisposeAsync();
        await _emulator.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    // A failure under faults must be one of the clean, documented error records, never a crash or an unmapped exception.
    private static void AssertCleanFailures(PowerShellResult result)
    {
        Assert.Null(result.Terminating);
        foreach (var error in result.Errors)
        {
            var id = error.FullyQualifiedErrorId.Split(',')[0];
            Assert.True(s_cleanErrorIds.Contains(id), $"unexpected error {error.FullyQualifiedErrorId}: {error.Exception}");
        }
    }

    [Fact]
    public async Task Send_ChittyFile_direct_and_presigned_through_faults_stores_every_file_byte_for_byte()
    {
        var files = new Dictionary<string, (string Method, byte[] Bytes)>(StringComparer.Ordinal);
        var random = new Random(7);
        for (var i = 0; i < 40; i++)
        {
            var method = i % 4 == 0 ? "Presigned" : "Direct";
            var bytes = new byte[random.Next(1, i % 4 == 0 ? 300_000 : 20_000)];
            random.NextBytes(bytes);
            var path = Path.Combine(_work, method, $"f{i:D2}.bin");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, bytes);
            files[path] = (method, bytes);
        }

        // What the user would do: send, and send again what failed. Retries make one send enough for most files at
        // one fault in ten; a direct upload is not repeated once its body left (a repeat could store it twice), so a
        // fault past the socket fails that file for another round. The failures of each round are counted.
        var sent = new Dictionary<string, ChittyFile>(StringComparer.Ordinal);
        var failuresPerRound = new List<int>();
        for (var round = 0; round < 4 && sent.Count < files.Count; round++)
        {
            failuresPerRound.Add(0);
            foreach (var method in new[] { "Direct", "Presigned" })
            {
                var pending = files.Where(f => f.Value.Method == method && !sent.ContainsKey(f.Key)).Select(f => f.Key).ToArray();
                if (pending.Length == 0)
                {
                    continue;
                }

                var result = _ps.Run("param($p, $m) $p | Send-ChittyFile -Method $m", new Hashtable { ["p"] = pending, ["m"] = method }, TimeSpan.FromSeconds(90));
                AssertCleanFailures(result);
                failuresPerRound[round] += result.Errors.Count;
                foreach (var file in result.Output.Select(o => (ChittyFile)o.BaseObject))
                {
                    sent[file.Path!] = file;
                }
            }
        }

        _output.WriteLine(string.Join(", ", _proxy.FaultCounts().Select(p => $"{p.Key}={p.Value}")) + "; failures per round: " + string.Join(", ", failuresPerRound));
        Assert.True(_proxy.FaultCounts().Values.Sum() >= 5, "too few faults were injected to prove anything");
        Assert.True(failuresPerRound[0] <= 6, $"the first send failed {failuresPerRound[0]} of {files.Count} files; a working retry fails at most 6");
        Assert.Equal(files.Count, sent.Count);
        _proxy.Rate = 0;
        using var http = _emulator.CreateClient(apiKey: null);
        foreach (var (path, (method, bytes)) in files)
        {
            var file = sent[path];
            Assert.Equal(method, file.Method.ToString());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), file.Sha256);
            // Read straight from the emulator's store, not through the proxy.
            var stored = await http.GetByteArrayAsync("_emulator/blobs/" + file.R2Key);
            Assert.True(bytes.AsSpan().SequenceEqual(stored), $"{file.R2Key} ({method}) differs from {path}");
        }
    }

    [Fact]
    public async Task Sessions_set_active_sync_report_and_whoami_through_faults_succeed_or_fail_cleanly_and_land_once()
    {
        var sessions = _ps.Run("1..15 | ForEach-Object { New-ChittySession \"fault-$_\" -Metadata @{ n = $_ } }", timeout: TimeSpan.FromSeconds(90));
        AssertCleanFailures(sessions);
        var uris = Enumerable.Range(0, 30).Select(i => $"r2://files/session-test/active/{i:D2}.txt").ToArray();
        var active = _ps.Run("param($u) for ($i = 0; $i -lt $u.Count; $i += 3) { Set-ChittyActiveFile -Uri $u[$i..($i + 2)] }", new Hashtable { ["u"] = uris }, TimeSpan.FromSeconds(90));
        AssertCleanFailures(active);
        // A sync report is not sent again once its body left (each accepted one is a sync event): as a user would,
        // report again what failed; the items are upserts.
        PowerShellResult report;
        var reportRounds = 0;
        do
        {
            report = _ps.Run(
                "param($n) 1..$n | ForEach-Object { [pscustomobject]@{ R2Key = ('files/session-test/report/{0:D3}.bin' -f $_); Sha256 = ('{0:x64}' -f $_); Size = $_ } } | Send-ChittySyncReport -PathPrefix files/session-test/report/ -BatchSize 10",
                new Hashtable { ["n"] = 120 }, TimeSpan.FromSeconds(90));
            Assert.Empty(report.Errors);
            var failure = (report.Terminating as IContainsErrorRecord)?.ErrorRecord.FullyQualifiedErrorId.Split(',')[0];
            Assert.True(report.Terminating is null || s_cleanErrorIds.Contains(failure!), $"unexpected failure {report.Terminating}");
        }
        while (report.Terminating is not null && ++reportRounds < 4);
        Assert.Null(report.Terminating);
        var whoami = _ps.Run("1..15 | ForEach-Object { Get-ChittyWhoAmI }", timeout: TimeSpan.FromSeconds(90));
        AssertCleanFailures(whoami);

        _output.WriteLine(string.Join(", ", _proxy.FaultCounts().Select(p => $"{p.Key}={p.Value}")));
        Assert.True(_proxy.FaultCounts().Values.Sum() >= 5, "too few faults were injected to prove anything");
        // Sessions, set-active and whoami are safe to repeat, so retries carry each one through: nothing is left failed.
        Assert.Empty(sessions.Errors.Concat(active.Errors).Concat(report.Errors).Concat(whoami.Errors));
        Assert.Equal(15, sessions.Output.Count);
        Assert.Equal(15, whoami.Output.Count);
        Assert.All(whoami.Output, o => Assert.Equal(EmulatorHost.ChittyId, ((ChittyWhoAmI)o.BaseObject).ChittyId));

        _proxy.Rate = 0;
        using var http = _emulator.CreateClient();
        http.DefaultRequestHeaders.Add("X-ChittyID", EmulatorHost.ChittyId);
        var list = await http.GetFromJsonAsync<JsonObject>("api/v1/sessions");
        var ids = list!["data"]!["sessions"]!.AsArray().Select(s => (string)s!["id"]!).ToHashSet();
        Assert.All(Enumerable.Range(1, 15), n => Assert.Contains($"fault-{n}", ids));
        var rows = (JsonArray)await _emulator.InspectAsync("_emulator/context-files?session_id=" + EmulatorHost.SessionId);
        var byUri = rows.ToDictionary(r => (string)r!["file_uri"]!, r => r!);
        Assert.All(uris, u => Assert.Equal(1, (int)byUri[u]["is_active"]!));
        for (var n = 1; n <= 120; n++)
        {
            var row = byUri[$"r2://files/session-test/report/{n:D3}.bin"];
            Assert.Equal(n, (long)row["file_size"]!);
        }

        // A batch the server handled but whose answer was lost is sent again: the rows are upserts, so no duplicates.
        Assert.Equal(byUri.Count, rows.Count);
    }
}
