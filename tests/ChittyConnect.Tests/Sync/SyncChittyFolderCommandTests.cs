using System.Management.Automation;
using System.Management.Automation.Runspaces;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using ChittyConnect.Configuration;
using ChittyConnect.PowerShell.Commands;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>A loopback stand-in for POST /api/context/files/sync-report that records the bodies.</summary>
public sealed class FakeReportServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Task _loop;

    public FakeReportServer()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        Endpoint = new Uri($"http://127.0.0.1:{port}/");
        _listener.Prefixes.Add(Endpoint.ToString());
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public Uri Endpoint { get; }

    public List<JsonElement> Reports { get; } = new();

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var reader = new StreamReader(context.Request.InputStream);
            var body = JsonDocument.Parse(await reader.ReadToEndAsync()).RootElement.Clone();
            lock (Reports)
            {
                Reports.Add(body);
            }

            var answer = Encoding.UTF8.GetBytes($"{{\"ok\":true,\"count\":{body.GetProperty("items").GetArrayLength()},\"eventId\":\"evt-{Reports.Count}\"}}");
            context.Response.ContentType = "application/json";
            await context.Response.OutputStream.WriteAsync(answer);
            context.Response.Close();
        }
    }
}

[Collection(S3rverCollection.Name)]
public sealed class SyncChittyFolderCommandTests : IDisposable
{
    private readonly S3rverProcess _s3rver;
    private readonly FakeReportServer _api = new();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "chitty-cmdlet-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _prefix = "files/cmd-" + Guid.NewGuid().ToString("N")[..8] + "/";

    public SyncChittyFolderCommandTests(S3rverProcess s3rver)
    {
        _s3rver = s3rver;
        Directory.CreateDirectory(Path.Combine(_root, "folder", "sub"));
        File.WriteAllText(Path.Combine(_root, "folder", "a.txt"), "alpha");
        File.WriteAllText(Path.Combine(_root, "folder", "sub", "b c.txt"), "beta");
        File.WriteAllText(Path.Combine(_root, "folder", "skip.tmp"), "temp");
    }

    private string Folder => Path.Combine(_root, "folder");

    private (List<PSObject> Output, System.Management.Automation.PowerShell Shell) Invoke(string script)
    {
        var iss = InitialSessionState.CreateDefault2();
        iss.Commands.Add(new SessionStateCmdletEntry("Sync-ChittyFolder", typeof(SyncChittyFolderCommand), null));
        var settings = _s3rver.Settings();
        settings.Endpoint = _api.Endpoint;
        var shell = System.Management.Automation.PowerShell.Create(iss);
        shell.Runspace.SessionStateProxy.SetVariable("conn", new ChittyConnection(settings));
        shell.Runspace.SessionStateProxy.SetVariable("folder", Folder);
        shell.Runspace.SessionStateProxy.SetVariable("prefix", _prefix);
        shell.Runspace.SessionStateProxy.SetVariable("root", _root);
        // The state files go under this test's folder, not the user's config directory.
        shell.Runspace.SessionStateProxy.SetVariable("PSDefaultParameterValues", new DefaultParameterDictionary { ["Sync-ChittyFolder:StateDirectory"] = Path.Combine(_root, "state") });
        var output = shell.AddScript(script).Invoke().ToList();
        return (output, shell);
    }

    [Fact]
    public void Upload_writes_results_summary_log_and_report_and_a_rerun_writes_nothing()
    {
        var (output, shell) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -Exclude '*.tmp' -LogFile (Join-Path $root 'sync.log') -InformationVariable info | Where-Object Action -eq Uploaded; $global:summary = $info[0].MessageData");
        using (shell)
        {
            Assert.Empty(shell.Streams.Error);
            // -StateDirectory (here through $PSDefaultParameterValues) is where the state went.
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(_root, "state"), "*", SearchOption.AllDirectories));
            Assert.Equal(new[] { "a.txt", "sub/b c.txt" }, output.Select(o => ((ChittySyncResult)o.BaseObject).RelativePath).OrderBy(p => p, StringComparer.Ordinal));
            var summary = Assert.IsType<ChittySyncSummary>(shell.Runspace.SessionStateProxy.GetVariable("summary"));
            Assert.Equal(2, summary.FilesUploaded);
            Assert.Equal("evt-1", summary.ReportEventId);
        }

        var items = _api.Reports.Single().GetProperty("items").EnumerateArray().Select(i => i.GetProperty("r2_key").GetString()).OrderBy(k => k, StringComparer.Ordinal);
        Assert.Equal(new[] { _prefix + "a.txt", _prefix + "sub/b c.txt" }, items);
        var log = File.ReadAllLines(Path.Combine(_root, "sync.log")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(new[] { "action", "action", "summary" }, log.Select(l => l.GetProperty("type").GetString()));

        var (again, shell2) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -Exclude '*.tmp' -Summary");
        using (shell2)
        {
            Assert.Empty(shell2.Streams.Error);
            var summary = Assert.IsType<ChittySyncSummary>(Assert.Single(again).BaseObject);
            Assert.Equal(2, summary.FilesSkipped);
            Assert.Equal(1, summary.Requests.Total);
        }

        Assert.Single(_api.Reports);
    }

    [Fact]
    public void Per_file_verbose_lines_appear_when_asked_for_and_every_result_arrives_in_either_case()
    {
        for (var i = 0; i < 40; i++)
        {
            File.WriteAllText(Path.Combine(Folder, "sub", $"many-{i:D2}.txt"), "n" + i);
        }

        var (quiet, shell) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -NoReport");
        using (shell)
        {
            Assert.Empty(shell.Streams.Error);
            Assert.Equal(43, quiet.Count);
            Assert.Empty(shell.Streams.Verbose);
        }

        File.WriteAllText(Path.Combine(Folder, "a.txt"), "alpha, changed");
        var (loud, shell2) = Invoke("$VerbosePreference = 'Continue'; Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -NoReport");
        using (shell2)
        {
            Assert.Empty(shell2.Streams.Error);
            Assert.Equal("a.txt", ((ChittySyncResult)Assert.Single(loud).BaseObject).RelativePath);
            Assert.Contains(shell2.Streams.Verbose, v => v.Message.StartsWith("Uploaded a.txt (14 bytes", StringComparison.Ordinal));
            Assert.Contains(shell2.Streams.Verbose, v => v.Message.StartsWith("S3 PUT " + _prefix + "a.txt", StringComparison.Ordinal));
        }

        File.WriteAllText(Path.Combine(Folder, "a.txt"), "alpha, changed again");
        var (_, shell3) = Invoke("$VerbosePreference = 'Continue'; Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -NoReport -Verbose:$false");
        using (shell3)
        {
            Assert.Empty(shell3.Streams.Error);
            Assert.Empty(shell3.Streams.Verbose);
        }
    }

    [Fact]
    public void WhatIf_emits_the_plan_and_changes_nothing()
    {
        var (output, shell) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -WhatIf");
        using (shell)
        {
            Assert.Empty(shell.Streams.Error);
            var results = output.Select(o => (ChittySyncResult)o.BaseObject).ToList();
            Assert.Equal(3, results.Count);
            Assert.All(results, r => Assert.Equal(SyncAction.PlannedUpload, r.Action));
        }

        Assert.Empty(_api.Reports);
        var (listing, shell2) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -WhatIf -Summary | Where-Object { $_ -is [ChittyConnect.Sync.ChittySyncSummary] }");
        using (shell2)
        {
            Assert.Equal(3, ((ChittySyncSummary)listing.Single().BaseObject).PlannedUploads);
        }
    }

    [Fact]
    public async Task Both_ways_plans_and_keeps_both_versions_of_a_conflict_and_refuses_an_emptied_folder()
    {
        var (first, shell) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -Direction Both -NoReport");
        using (shell)
        {
            Assert.Empty(shell.Streams.Error);
            Assert.Equal(3, first.Count(o => ((ChittySyncResult)o.BaseObject).Action == SyncAction.Uploaded));
        }

        var local = Path.Combine(Folder, "a.txt");
        File.WriteAllText(local, "alpha, edited here");
        File.SetLastWriteTimeUtc(local, DateTime.UtcNow.AddMinutes(1));
        using (var raw = _s3rver.CreateRawClient())
        {
            await raw.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = _s3rver.Bucket, Key = _prefix + "a.txt", ContentBody = "alpha, edited there", UseChunkEncoding = false });
        }

        var (plan, shell2) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -Direction Both -WhatIf");
        using (shell2)
        {
            Assert.Empty(shell2.Streams.Error);
            var planned = (ChittySyncResult)Assert.Single(plan).BaseObject;
            Assert.Equal((SyncAction.PlannedConflict, SyncOperation.KeepBoth, SyncConflict.BothChanged), (planned.Action, planned.Operation, planned.Conflict));
            Assert.Equal("alpha, edited here", File.ReadAllText(local));
        }

        var (run, shell3) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -Direction Both -NoReport");
        using (shell3)
        {
            Assert.Empty(shell3.Streams.Error);
            var conflict = (ChittySyncResult)Assert.Single(run).BaseObject;
            Assert.Equal(SyncAction.Conflict, conflict.Action);
            Assert.Equal("alpha, edited there", File.ReadAllText(local));
            Assert.Equal("alpha, edited here", File.ReadAllText(Path.Combine(Folder, conflict.ConflictPath!)));
        }

        foreach (var file in Directory.EnumerateFiles(Folder, "*", SearchOption.AllDirectories))
        {
            File.Delete(file);
        }

        var (_, shell4) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -Direction Both -NoReport");
        using (shell4)
        {
            var error = SingleError(shell4);
            Assert.Equal("ChittySyncSideEmpty,ChittyConnect.PowerShell.Commands.SyncChittyFolderCommand", error.FullyQualifiedErrorId);
        }
    }

    [Fact]
    public void Mirror_with_Direction_Both_is_refused_and_changes_nothing()
    {
        var (output, shell) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -Direction Both -Mirror -NoReport");
        using (shell)
        {
            var error = SingleError(shell);
            Assert.Equal("ChittySyncInvalidOptions,ChittyConnect.PowerShell.Commands.SyncChittyFolderCommand", error.FullyQualifiedErrorId);
            Assert.Contains("-Mirror is for one-way runs", error.Exception.Message);
            Assert.Empty(output);
        }

        var (listed, shell2) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -Direction Download -NoReport -Summary");
        using (shell2)
        {
            Assert.Equal(0, Assert.IsType<ChittySyncSummary>(Assert.Single(listed).BaseObject).SourceFiles);
        }
    }

    [Fact]
    public void A_download_from_an_empty_prefix_warns_that_nothing_is_there()
    {
        var (output, shell) = Invoke("Sync-ChittyFolder (Join-Path $root 'Ab') -SessionId sess-empty-1 -Connection $conn -Direction Download -NoReport");
        using (shell)
        {
            Assert.Empty(shell.Streams.Error);
            Assert.Empty(output);
            var warning = Assert.Single(shell.Streams.Warning).Message;
            Assert.Equal($"Nothing under '{_s3rver.Settings().Bucket}/files/sess-empty-1/sync/Ab/' - check the folder name or pass -Prefix (the default prefix is derived from the folder name).", warning);
        }

        Directory.CreateDirectory(Path.Combine(_root, "empty"));
        var (_, shell2) = Invoke("Sync-ChittyFolder (Join-Path $root 'empty') -Prefix $prefix -Connection $conn -Direction Both -NoReport");
        using (shell2)
        {
            Assert.Empty(shell2.Streams.Error);
            Assert.StartsWith($"Nothing under '{_s3rver.Settings().Bucket}/{_prefix}' and nothing in ", Assert.Single(shell2.Streams.Warning).Message, StringComparison.Ordinal);
        }

        // A prefix with files says nothing of the kind.
        Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -NoReport").Shell.Dispose();
        var (_, shell3) = Invoke("Sync-ChittyFolder (Join-Path $root 'copy') -Prefix $prefix -Connection $conn -Direction Download -NoReport");
        using (shell3)
        {
            Assert.Empty(shell3.Streams.Error);
            Assert.Empty(shell3.Streams.Warning);
        }
    }

    [Fact]
    public void A_missing_ExcludeFrom_file_is_a_clear_error_naming_the_parameter()
    {
        var (output, shell) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -ExcludeFrom (Join-Path $root 'nope.ignore') -NoReport");
        using (shell)
        {
            var error = SingleError(shell);
            Assert.Equal("ChittyPathNotFound,ChittyConnect.PowerShell.Commands.SyncChittyFolderCommand", error.FullyQualifiedErrorId);
            Assert.StartsWith("-ExcludeFrom '", error.Exception.Message, StringComparison.Ordinal);
            Assert.Contains("nope.ignore", error.Exception.Message);
            Assert.Empty(output);
        }
    }

    [Fact]
    public void Failures_are_error_records_with_stable_ids()
    {
        var (_, shell) = Invoke("Sync-ChittyFolder (Join-Path $root 'missing') -Prefix $prefix -Connection $conn");
        using (shell)
        {
            var error = SingleError(shell);
            Assert.Equal("ChittySyncSourceMissing,ChittyConnect.PowerShell.Commands.SyncChittyFolderCommand", error.FullyQualifiedErrorId);
        }

        var (_, shell2) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -Direction Download -Verbose");
        using (shell2)
        {
            // The folder's files are not the sync's (it never downloaded them): an empty prefix leaves them. The run
            // changes nothing, so that is said verbosely; the one warning says the prefix is empty.
            Assert.Empty(shell2.Streams.Error);
            Assert.StartsWith("Nothing under ", Assert.Single(shell2.Streams.Warning).Message, StringComparison.Ordinal);
            Assert.Contains(shell2.Streams.Verbose, v => v.Message.StartsWith("Kept 3 file(s) in ", StringComparison.Ordinal) && v.Message.Contains("only -Mirror would delete them"));
            Assert.True(File.Exists(Path.Combine(Folder, "a.txt")));
        }

        var (_, shell3) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -Direction Download -Mirror");
        using (shell3)
        {
            // An exact mirror of an empty prefix would empty the folder: withheld.
            var error = SingleError(shell3);
            Assert.StartsWith("ChittySyncDeletesWithheld", error.FullyQualifiedErrorId);
            Assert.True(File.Exists(Path.Combine(Folder, "a.txt")));
        }

        var (_, shell4) = Invoke("Sync-ChittyFolder (Join-Path $folder 'a.txt') -Prefix $prefix -Connection $conn -Direction Download -Force");
        using (shell4)
        {
            var error = SingleError(shell4);
            Assert.Equal("ChittySyncPathNotFolder,ChittyConnect.PowerShell.Commands.SyncChittyFolderCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
            Assert.DoesNotContain("-Force", error.Exception.Message);
        }
    }

    [Fact]
    public void BackupDirectory_resolves_against_the_current_location_and_is_refused_inside_the_folder()
    {
        var (_, upload) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -NoReport");
        upload.Dispose();
        File.WriteAllText(Path.Combine(Folder, "a.txt"), "alpha, edited here");
        File.SetLastWriteTimeUtc(Path.Combine(Folder, "a.txt"), DateTime.UtcNow.AddDays(-1));

        var (output, shell) = Invoke("Set-Location $root; Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -Direction Download -BackupDirectory ./kept -LogFile ./sync.log");
        using (shell)
        {
            Assert.Empty(shell.Streams.Error);
            var result = (ChittySyncResult)Assert.Single(output).BaseObject;
            Assert.Equal((SyncAction.Downloaded, Path.Combine(_root, "kept", "a.txt")), (result.Action, result.BackupPath));
            Assert.Equal("alpha, edited here", File.ReadAllText(Path.Combine(_root, "kept", "a.txt")));
            Assert.Equal("alpha", File.ReadAllText(Path.Combine(Folder, "a.txt")));
        }

        var log = File.ReadAllLines(Path.Combine(_root, "sync.log")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(Path.Combine(_root, "kept", "a.txt"), log[0].GetProperty("backupPath").GetString());
        Assert.Equal(1, log[^1].GetProperty("filesBackedUp").GetInt32());

        var (_, inside) = Invoke("Sync-ChittyFolder $folder -Prefix $prefix -Connection $conn -Direction Download -BackupDirectory (Join-Path $folder kept)");
        using (inside)
        {
            var error = SingleError(inside);
            Assert.Equal("ChittySyncInvalidOptions,ChittyConnect.PowerShell.Commands.SyncChittyFolderCommand", error.FullyQualifiedErrorId);
            Assert.Equal(ErrorCategory.InvalidArgument, error.CategoryInfo.Category);
        }
    }

    private static ErrorRecord SingleError(System.Management.Automation.PowerShell shell)
    {
        var errors = shell.Streams.Error.ToList();
        Assert.True(errors.Count == 1, $"{errors.Count} errors: " + string.Join(" | ", errors.Select(e => e.FullyQualifiedErrorId + ": " + e)) + " output: " + string.Join(" | ", shell.Streams.Warning));
        return errors[0];
    }

    public void Dispose()
    {
        _api.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
