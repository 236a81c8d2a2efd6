using System.Collections;
using System.Text.Json;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>-LogFile as a scheduled run leaves it, against s3rver: a stopped run still ends its log with a summary line.</summary>
[Collection(S3rverCollection.Name)]
public sealed class SyncLogTests : IDisposable
{
    private readonly S3rverProcess _s3rver;
    private readonly PowerShellRunner _ps = new();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "chitty-synclog-" + Guid.NewGuid().ToString("N")[..8]);

    public SyncLogTests(S3rverProcess s3rver)
    {
        _s3rver = s3rver;
        Directory.CreateDirectory(Path.Combine(_root, "folder"));
    }

    [Fact]
    public void A_run_stopped_mid_transfer_writes_a_summary_line_saying_it_did_not_complete()
    {
        File.WriteAllText(Path.Combine(_root, "folder", "a.txt"), "alpha");
        File.WriteAllBytes(Path.Combine(_root, "folder", "big.bin"), new byte[1 << 20]);
        var log = Path.Combine(_root, "sync.log");
        _ps.Run("param($c, $r) $global:conn = $c; $global:root = $r", new Hashtable { ["c"] = new ChittyConnection(_s3rver.Settings()), ["r"] = _root });

        // At 64 KiB/s the 1 MiB file takes 16 s: the stop lands in the middle of it.
        _ps.RunAndStop(
            "Sync-ChittyFolder (Join-Path $root folder) -Connection $conn -Prefix ('files/stopped-' + [guid]::NewGuid().ToString('N').Substring(0, 8)) " +
            "-NoReport -BandwidthLimit 64K -Transfers 1 -LogFile (Join-Path $root sync.log) -StateDirectory (Join-Path $root state)",
            TimeSpan.FromSeconds(2));

        var lines = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var last = lines[^1];
        Assert.Equal("summary", last.GetProperty("type").GetString());
        Assert.False(last.GetProperty("completed").GetBoolean());
        // It counts what the run did before the stop, as the action lines show it.
        Assert.Equal(lines.Count(l => l.GetProperty("type").GetString() == "action" && l.GetProperty("action").GetString() == "Uploaded"), last.GetProperty("filesUploaded").GetInt32());
        Assert.Single(lines, l => l.GetProperty("type").GetString() == "summary");
    }

    public void Dispose()
    {
        _ps.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
