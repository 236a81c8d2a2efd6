using System.Collections;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using ChittyConnect.Api;
using ChittyConnect.PowerShell.Commands;
using ChittyConnect.Storage;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace ChittyConnect.Tests.Faults;

/// <summary>
/// Syncs killed with SIGKILL at chosen points, in a child <c>dotnet pwsh</c> that runs the module's sync engine; the
/// proxies in front of s3rver and the emulator pick the moment (the Nth request of a kind arriving, or half of a
/// download's body delivered). Then the next run must converge.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class CrashTests : IAsyncLifetime
{
    // The sync with small multipart parts, as the tests run it in-process; the engine is the module's own.
    private const string ChildScript = """
        param($Module, $Tests, $Api, $S3, $Bucket, $Local, $Prefix, $State, $Direction, $PartSize, $Threshold)
        $ErrorActionPreference = 'Stop'
        Import-Module $Module
        Add-Type -Path $Tests
        $settings = [ChittyConnect.Configuration.ChittyConnectionSettings]::new()
        $settings.Endpoint = $Api
        $settings.ApiKey = [ChittyConnect.Configuration.ChittySecret]::new('test-key')
        $settings.ChittyId = 'chitty-test'
        $settings.SessionId = 'session-test'
        $settings.R2Endpoint = $S3
        $settings.Bucket = $Bucket
        $settings.R2AccessKeyId = 'S3RVER'
        $settings.R2SecretAccessKey = [ChittyConnect.Configuration.ChittySecret]::new('S3RVER')
        $o = [ChittyConnect.Storage.R2StoreOptions]::new()
        $o.PartSize = $PartSize
        $o.MultipartThreshold = $Threshold
        $store = [ChittyConnect.Tests.Infrastructure.S3rverStores]::Create($settings, $o, 262144, $null)
        $client = [ChittyConnect.Api.ChittyApiClient]::new($settings, $null)
        $engine = [ChittyConnect.Sync.SyncEngine]::new($store, $client)
        $options = [ChittyConnect.Sync.SyncOptions]::new()
        $options.LocalPath = $Local
        $options.Prefix = $Prefix
        $options.StateDirectory = $State
        $options.Direction = $Direction
        $options.Transfers = 4
        $options.ReportBatchSize = 20
        $summary = $engine.RunAsync($options, $null, $null, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
        "DONE errors=$($summary.Errors)"
        """;

    private readonly S3rverProcess _s3rver;
    private readonly ITestOutputHelper _output;
    private readonly string _root = Path.Combine(Path.GetTempPath(), "chitty-crash-" + Guid.NewGuid().ToString("N")[..8]);
    private FaultStack _stack = null!;
    private string _script = null!;

    public CrashTests(S3rverProcess s3rver, ITestOutputHelper output)
    {
        _s3rver = s3rver;
        _output = output;
    }

    private string State => Path.Combine(_root, "state");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _script = Path.Combine(_root, "child.ps1");
        await File.WriteAllTextAsync(_script, ChildScript);
        _stack = await FaultStack.StartAsync(_s3rver, seed: 9);
    }

    public async Task DisposeAsync()
    {
        _stack.S3Proxy.BeforeForward = null;
        _stack.ApiProxy.BeforeForward = null;
        await _stack.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    /// <summary>
    /// Runs the child sync and kills it when <paramref name="arm"/>'s trigger fires; returns false when the sync
    /// ended by itself first (the test then fails: the kill point was never reached).
    /// </summary>
    private async Task<bool> RunChildAndKillAsync(string local, string prefix, SyncDirection direction, Func<Func<Task>, IDisposable> arm,
        long partSize = 256 * 1024, long multipartThreshold = 512 * 1024)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = S3rverProcess.RepoRoot(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "pwsh", "-NoProfile", "-NonInteractive", "-File", _script,
            "-Module", typeof(ConnectChittyCommand).Assembly.Location, "-Api", _stack.ApiProxy.Uri.ToString(), "-S3", _stack.S3Proxy.Uri.ToString(),
            "-Bucket", _s3rver.Bucket, "-Local", local, "-Prefix", prefix, "-State", State, "-Direction", direction.ToString(),
            "-Tests", typeof(CrashTests).Assembly.Location, "-PartSize", partSize.ToString(), "-Threshold", multipartThreshold.ToString(),
        })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(start)!;
        var killed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var trigger = arm(() =>
        {
            // SIGKILL on Unix: no finally block, no state save, no abort of anything.
            killed.TrySetResult();
            process.Kill(entireProcessTree: true);
            return Task.CompletedTask;
        });
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        var exited = process.WaitForExitAsync();
        await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(60)));
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException("The child sync neither finished nor was killed within 60 s.");
        }

        _output.WriteLine($"child {direction}: killed={killed.Task.IsCompleted} exit={process.ExitCode} {await stdout} {await stderr}".Trim());
        return killed.Task.IsCompleted;
    }

    /// <summary>Kills when the <paramref name="n"/>th request matching <paramref name="match"/> reaches <paramref name="proxy"/>; that request still goes through.</summary>
    private static Func<Func<Task>, IDisposable> OnRequest(FaultProxy proxy, int n, Func<ProxyRequest, bool> match) => kill =>
    {
        var seen = 0;
        proxy.BeforeForward = async r =>
        {
            if (match(r) && Interlocked.Increment(ref seen) == n)
            {
                await kill();
            }
        };
        return new Disarm(() => proxy.BeforeForward = null);
    };

    private sealed class Disarm(Action action) : IDisposable
    {
        public void Dispose() => action();
    }

    private (SyncEngine Engine, IDisposable Resources) InProcessEngine()
    {
        var settings = _stack.Settings(TimeSpan.FromSeconds(10));
        var store = S3rverStores.Create(settings, SyncFaultTests.SmallParts(TimeSpan.FromSeconds(10)));
        var api = new ChittyApiClient(settings);
        return (new SyncEngine(store, api), new Disarm(() =>
        {
            store.Dispose();
            api.Dispose();
        }));
    }

    private static bool IsPut(ProxyRequest r) => r.Method == "PUT" && !r.PathAndQuery.Contains("uploadId=", StringComparison.Ordinal);

    private static bool IsCreate(ProxyRequest r) => r.Method == "POST" && r.PathAndQuery.Contains("?uploads", StringComparison.Ordinal) && !r.PathAndQuery.Contains("uploadId=", StringComparison.Ordinal);

    private static bool IsPart(ProxyRequest r) => r.Method == "PUT" && r.PathAndQuery.Contains("uploadId=", StringComparison.Ordinal);

    private string StateFile(string local, string prefix) => SyncStateLocation.PathFor(State, local, _stack.S3Proxy.Uri, _s3rver.Bucket, prefix, out _);

    // The state as the next run reads it: the state file (when a run got to write it whole) and its journal.
    private SyncState LoadState(string local, string prefix)
    {
        var path = SyncStateLocation.PathFor(State, local, _stack.S3Proxy.Uri, _s3rver.Bucket, prefix, out var identity);
        var state = SyncState.Load(path, identity, out var warning);
        Assert.Null(warning);
        return state;
    }

    [Fact]
    public async Task Upload_sync_killed_at_four_points_converges_with_an_exact_mirror_report_and_no_open_upload()
    {
        var local = Path.Combine(_root, "up");
        SyncFaultTests.WriteTree(local, smallFiles: 120, seed: 3);
        var prefix = "files/crash-" + Guid.NewGuid().ToString("N")[..8] + "/";

        // 1. With a multipart upload created and its second part on the wire (the big files sort first).
        Assert.True(await RunChildAndKillAsync(local, prefix, SyncDirection.Upload, OnRequest(_stack.S3Proxy, 2, IsPart)));
        Assert.NotEmpty(LoadState(local, prefix).PendingUploads);
        Assert.NotEmpty(_stack.OpenUploads(prefix));
        // 2. While a multipart upload is being completed (the store completes it; the client never hears).
        Assert.True(await RunChildAndKillAsync(local, prefix, SyncDirection.Upload,
            OnRequest(_stack.S3Proxy, 1, r => r.Method == "POST" && r.PathAndQuery.Contains("uploadId=", StringComparison.Ordinal))));
        // 3. In the middle of the small files.
        Assert.True(await RunChildAndKillAsync(local, prefix, SyncDirection.Upload, OnRequest(_stack.S3Proxy, 30, IsPut)));
        // 4. While the sync report is on its way (its batches are 20 items).
        Assert.True(await RunChildAndKillAsync(local, prefix, SyncDirection.Upload,
            OnRequest(_stack.ApiProxy, 2, r => r.PathAndQuery.StartsWith("/api/context/files/sync-report", StringComparison.Ordinal))));

        // The state and its journal are always readable (the file written by rename, the journal read up to a
        // torn last line), whatever the moment of the kill.
        Assert.NotEmpty(LoadState(local, prefix).Files);
        var (engine, resources) = InProcessEngine();
        using (resources)
        {
            var options = new SyncOptions { LocalPath = local, Prefix = prefix, StateDirectory = State, Transfers = 4 };
            var summary = await engine.RunAsync(options, null, null, CancellationToken.None);
            _output.WriteLine($"after the crashes: {summary.FilesUploaded} uploaded, {summary.FilesSkipped} skipped, {summary.ReportedItems} reported, {summary.StaleUploadsAborted} aborted, {summary.Errors} errors");
            Assert.Equal(0, summary.Errors);
            Assert.Null(summary.ReportError);
            await _stack.AssertMirroredAndReportedAsync(local, prefix);

            // State and report agree with the bucket: the next run has nothing to send or report.
            var again = await engine.RunAsync(options, null, null, CancellationToken.None);
            Assert.Equal(0, again.FilesUploaded + again.ReportedItems + again.Errors);
            Assert.Equal(SyncState.CurrentVersion, StateFileLines.Version(StateFile(local, prefix)));
            Assert.False(File.Exists(StateFile(local, prefix) + ".journal"), "a finished run leaves the state whole, with no journal");
            Assert.Empty(StateFileLines.Records(StateFile(local, prefix), "P"));
        }
    }

    [Fact]
    public async Task A_sync_killed_as_the_store_creates_a_multipart_upload_leaves_no_upload_open_once_the_next_run_ends()
    {
        var local = Path.Combine(_root, "creating");
        SyncFaultTests.WriteTree(local, smallFiles: 10, seed: 6);
        var prefix = "files/crash-" + Guid.NewGuid().ToString("N")[..8] + "/";

        // Killed as its first CreateMultipartUpload reaches the store: the store still makes the upload, and its
        // id never reaches the client, so no state can name it. What the client wrote before sending it says an
        // upload of that key may exist.
        Assert.True(await RunChildAndKillAsync(local, prefix, SyncDirection.Upload, OnRequest(_stack.S3Proxy, 1, IsCreate)));
        await _stack.S3Proxy.QuietAsync(TimeSpan.FromSeconds(10));
        var state = LoadState(local, prefix);
        var named = state.PendingUploads.Keys.ToHashSet(StringComparer.Ordinal);
        var unnamed = _stack.OpenUploads(prefix).Select(u => u.Split(' ', 2)).Where(u => !named.Contains(u[0])).ToList();
        Assert.NotEmpty(unnamed);
        Assert.All(unnamed, u => Assert.Contains(u[1], state.UploadsBeingCreated.Keys));

        var (engine, resources) = InProcessEngine();
        using (resources)
        {
            var options = new SyncOptions { LocalPath = local, Prefix = prefix, StateDirectory = State, Transfers = 4 };
            var summary = await engine.RunAsync(options, null, null, CancellationToken.None);

            Assert.Equal(0, summary.Errors);
            Assert.True(summary.StaleUploadsAborted >= unnamed.Count, $"{summary.StaleUploadsAborted} aborted, {unnamed.Count} unnamed");
            await _stack.AssertMirroredAndReportedAsync(local, prefix);
            Assert.Empty(_stack.OpenUploads(prefix));
            // Swept once: the state names no key being created, and the next run looks for nothing.
            Assert.Empty(StateFileLines.Records(StateFile(local, prefix), "I"));
            var requests = 0;
            _stack.S3Proxy.BeforeForward = r =>
            {
                if (r.PathAndQuery.Contains("uploads", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref requests);
                }

                return Task.CompletedTask;
            };
            var again = await engine.RunAsync(options, null, null, CancellationToken.None);
            _stack.S3Proxy.BeforeForward = null;
            Assert.Equal(0, again.FilesUploaded + again.Errors + again.StaleUploadsAborted);
            Assert.Equal(0, requests);
        }
    }

    [Fact]
    public async Task A_first_sync_killed_after_some_uploads_does_not_send_them_again_and_reports_every_file_once()
    {
        var local = Path.Combine(_root, "some");
        SyncFaultTests.WriteTree(local, smallFiles: 80, seed: 5);
        var total = Directory.GetFiles(local, "*", SearchOption.AllDirectories).Length;
        var prefix = "files/crash-" + Guid.NewGuid().ToString("N")[..8] + "/";

        // Killed at its 40th upload: no whole state was written yet, only the journal. What the proxy had read
        // whole when the child died still reaches the store; the store is read once it has.
        Assert.True(await RunChildAndKillAsync(local, prefix, SyncDirection.Upload, OnRequest(_stack.S3Proxy, 40, IsPut)));
        await _stack.S3Proxy.QuietAsync(TimeSpan.FromSeconds(10));
        var stored = await _stack.RemoteHashesAsync(prefix);
        Assert.InRange(stored.Count, 30, total - 1);
        // The files in parts (big/) the killed run did not complete, with the parts the store holds of the
        // upload it left open for each (none when it began none).
        var open = _stack.OpenUploads(prefix).Select(u => u.Split(' ', 2)).ToDictionary(u => u[1][prefix.Length..], u => _stack.PartsReceived(u[0]), StringComparer.Ordinal);
        var partSize = SyncFaultTests.SmallParts(TimeSpan.FromSeconds(10)).PartSize;
        var unfinished = Directory.GetFiles(Path.Combine(local, "big"))
            .Select(f => (Rel: "big/" + Path.GetFileName(f), Parts: (int)((new FileInfo(f).Length + partSize - 1) / partSize)))
            .Where(b => !stored.ContainsKey(b.Rel))
            .ToList();
        var partsMissing = unfinished.Sum(b => b.Parts - open.GetValueOrDefault(b.Rel));

        var partsSent = 0;
        _stack.S3Proxy.BeforeForward = r =>
        {
            if (IsPart(r))
            {
                Interlocked.Increment(ref partsSent);
            }

            return Task.CompletedTask;
        };
        var (engine, resources) = InProcessEngine();
        using (resources)
        {
            var uploaded = new System.Collections.Concurrent.ConcurrentBag<string>();
            var summary = await engine.RunAsync(new SyncOptions { LocalPath = local, Prefix = prefix, StateDirectory = State, Transfers = 4 },
                r => uploaded.Add(r.RelativePath), null, CancellationToken.None);
            _output.WriteLine($"the killed run stored {stored.Count} of {total} files, big/ unfinished: [{string.Join(", ", unfinished.Select(b => $"{b.Rel} {open.GetValueOrDefault(b.Rel)}/{b.Parts} parts"))}]; " +
                $"the next run uploaded {uploaded.Count} ({string.Join(", ", uploaded.Where(p => p.StartsWith("big/", StringComparison.Ordinal)))}) sending {partsSent} parts");

            // Nothing the killed run stored is sent again, in one PUT or in parts (an object in parts by its
            // sha256 metadata); every other file is sent once, and a file in parts whose upload the kill left
            // open is resumed: only the parts the store lacks are sent. Everything is reported once.
            Assert.Equal(0, summary.Errors);
            Assert.Empty(uploaded.Intersect(stored.Keys));
            Assert.Equal(total - stored.Count, uploaded.Count);
            Assert.Equal(partsMissing, partsSent);
            await _stack.AssertMirroredAndReportedAsync(local, prefix);
        }
    }

    [Fact]
    public async Task A_large_upload_killed_halfway_resumes_sending_at_most_sixty_percent_of_its_bytes_and_lands_byte_exact()
    {
        const int MiB = 1024 * 1024;
        const long PartSize = 16L * MiB;
        const long Threshold = 64L * MiB;
        var local = Path.Combine(_root, "resume");
        Directory.CreateDirectory(local);
        var path = Path.Combine(local, "video.bin");
        var content = new byte[300 * MiB];
        new Random(12).NextBytes(content);
        await File.WriteAllBytesAsync(path, content);
        var expected = Convert.ToHexStringLower(SHA256.HashData(content));
        var length = content.Length;
        content = null;
        var prefix = "files/resume-" + Guid.NewGuid().ToString("N")[..8] + "/";

        // 19 parts of 16 MiB: killed as the 10th reaches the store, about half of the file sent.
        Assert.True(await RunChildAndKillAsync(local, prefix, SyncDirection.Upload, OnRequest(_stack.S3Proxy, 10, IsPart), PartSize, Threshold));
        Assert.NotEmpty(_stack.OpenUploads(prefix));

        long sent = 0;
        _stack.S3Proxy.BeforeForward = r =>
        {
            if (r.Method == "PUT")
            {
                Interlocked.Add(ref sent, r.BodyLength);
            }

            return Task.CompletedTask;
        };
        var settings = _stack.Settings(TimeSpan.FromSeconds(30));
        using var store = S3rverStores.Create(settings, new R2StoreOptions { PartSize = PartSize, MultipartThreshold = Threshold, IdleTimeout = TimeSpan.FromSeconds(30) });
        using var api = new ChittyApiClient(settings);
        var summary = await new SyncEngine(store, api).RunAsync(new SyncOptions { LocalPath = local, Prefix = prefix, StateDirectory = State, Transfers = 4 }, null, null, CancellationToken.None);
        _stack.S3Proxy.BeforeForward = null;

        _output.WriteLine($"resumed: {sent:N0} of {length:N0} bytes sent again");
        Assert.Equal(0, summary.Errors);
        Assert.Equal(1, summary.FilesUploaded);
        Assert.InRange(sent, 1, length * 6L / 10);
        Assert.Equal(expected, (await _stack.RemoteHashesAsync(prefix))["video.bin"]);
        Assert.Empty(_stack.OpenUploads(prefix));
    }

    [Fact]
    public async Task Download_sync_killed_mid_file_never_leaves_a_partial_file_under_its_name_and_converges()
    {
        // The source: a tree uploaded by a sync of another folder.
        var source = Path.Combine(_root, "source");
        SyncFaultTests.WriteTree(source, smallFiles: 60, seed: 4);
        var prefix = "files/crashdown-" + Guid.NewGuid().ToString("N")[..8] + "/";
        var (engine, resources) = InProcessEngine();
        using (resources)
        {
            var upload = await engine.RunAsync(new SyncOptions { LocalPath = source, Prefix = prefix, StateDirectory = State, NoReport = true }, null, null, CancellationToken.None);
            Assert.Equal(0, upload.Errors);
            var expected = Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories)
                .ToDictionary(f => Path.GetRelativePath(source, f), f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f))));
            var local = Path.Combine(_root, "down");

            void AssertNoPartialUnderFinalName()
            {
                foreach (var file in Directory.Exists(local) ? Directory.EnumerateFiles(local, "*", SearchOption.AllDirectories) : Enumerable.Empty<string>())
                {
                    var rel = Path.GetRelativePath(local, file);
                    if (!file.EndsWith(LocalScanner.PartialSuffix, StringComparison.Ordinal))
                    {
                        Assert.True(expected.TryGetValue(rel, out var hash), $"unexpected file '{rel}'");
                        Assert.True(hash == Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))), $"'{rel}' sits under its final name half-written");
                    }
                }
            }

            // 1. Killed with half of a big file's body written to its temporary file.
            var partialSeen = false;
            Assert.True(await RunChildAndKillAsync(local, prefix, SyncDirection.Download, kill =>
            {
                _stack.S3Proxy.MidBody = async r =>
                {
                    if (r.Method != "GET" || !r.PathAndQuery.Contains("/big/", StringComparison.Ordinal))
                    {
                        return;
                    }

                    var deadline = DateTime.UtcNow.AddSeconds(10);
                    while (!partialSeen && DateTime.UtcNow < deadline)
                    {
                        partialSeen = Directory.EnumerateFiles(local, "*" + LocalScanner.PartialSuffix, SearchOption.AllDirectories).Any(f => new FileInfo(f).Length > 0);
                        await Task.Delay(20);
                    }

                    await kill();
                };
                return new Disarm(() => _stack.S3Proxy.MidBody = null);
            }));
            Assert.True(partialSeen, "the kill did not catch a download half-written");
            AssertNoPartialUnderFinalName();

            // 2. Killed after a batch of small files.
            Assert.True(await RunChildAndKillAsync(local, prefix, SyncDirection.Download, OnRequest(_stack.S3Proxy, 25, r => r.Method == "GET" && !r.PathAndQuery.Contains("list-type", StringComparison.Ordinal))));
            AssertNoPartialUnderFinalName();

            var options = new SyncOptions { LocalPath = local, Prefix = prefix, StateDirectory = State, Direction = SyncDirection.Download };
            var summary = await engine.RunAsync(options, null, null, CancellationToken.None);
            Assert.Equal(0, summary.Errors);
            AssertNoPartialUnderFinalName();
            var got = Directory.EnumerateFiles(local, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(local, f), f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f))));
            // Exactly the source: every file whole, and no temporary file of the killed runs left behind.
            Assert.Equal(expected.OrderBy(p => p.Key), got.OrderBy(p => p.Key));
            var again = await engine.RunAsync(options, null, null, CancellationToken.None);
            Assert.Equal(0, again.FilesDownloaded + again.FilesDeleted + again.Errors + (int)again.BytesHashed);
        }
    }

    [Fact]
    public async Task A_second_sync_of_the_same_folder_at_once_fails_with_ChittySyncLocked_and_the_first_finishes_intact()
    {
        var local = Path.Combine(_root, "locked");
        SyncFaultTests.WriteTree(local, smallFiles: 10, seed: 8);
        var prefix = "files/lock-" + Guid.NewGuid().ToString("N")[..8] + "/";
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holding = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = 0;
        _stack.S3Proxy.BeforeForward = async r =>
        {
            if (IsPut(r) && Interlocked.Increment(ref first) == 1)
            {
                holding.TrySetResult();
                await release.Task;
            }
        };
        var (engine, resources) = InProcessEngine();
        using (resources)
        using (var ps = new PowerShellRunner())
        {
            var options = new SyncOptions { LocalPath = local, Prefix = prefix, StateDirectory = State, Transfers = 2 };
            var running = engine.RunAsync(options, null, null, CancellationToken.None);
            await holding.Task.WaitAsync(TimeSpan.FromSeconds(20));

            try
            {
                var second = ps.Run("""
                    param($api, $s3, $bucket, $local, $prefix, $state)
                    $cred = [pscredential]::new('S3RVER', (ConvertTo-SecureString S3RVER -AsPlainText -Force))
                    Connect-Chitty -Endpoint $api -ApiKey (ConvertTo-SecureString test-key -AsPlainText -Force) -ChittyId chitty-test -SessionId session-test -R2Endpoint $s3 -Bucket $bucket -R2Credential $cred | Out-Null
                    Sync-ChittyFolder $local -Prefix $prefix -StateDirectory $state
                    """,
                    new Hashtable { ["api"] = _stack.ApiProxy.Uri, ["s3"] = _stack.S3Proxy.Uri, ["bucket"] = _s3rver.Bucket, ["local"] = local, ["prefix"] = prefix, ["state"] = State });
                var error = second.SingleError();
                Assert.Equal("ChittySyncLocked", error.FullyQualifiedErrorId.Split(',')[0]);
                Assert.Contains("Another sync of", error.Exception.Message);
                Assert.Empty(second.Output);
            }
            finally
            {
                release.TrySetResult();
            }

            var summary = await running.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, summary.Errors);
            Assert.Equal(12, summary.FilesUploaded);
            await _stack.AssertMirroredAndReportedAsync(local, prefix);
            var again = await engine.RunAsync(options, null, null, CancellationToken.None);
            Assert.Equal(12, again.FilesSkipped);
            Assert.Equal(0, again.FilesUploaded + again.Errors + (int)again.BytesHashed);
        }
    }

    [Fact]
    public async Task Two_way_sync_killed_between_its_transfers_and_its_deletes_converges_and_deletes_nothing_it_should_not()
    {
        var local = Path.Combine(_root, "twoway");
        SyncFaultTests.WriteTree(local, smallFiles: 24, seed: 12);
        var prefix = "files/crash2-" + Guid.NewGuid().ToString("N")[..8] + "/";
        var (engine, resources) = InProcessEngine();
        using (resources)
        {
            var options = new SyncOptions { LocalPath = local, Prefix = prefix, StateDirectory = State, Direction = SyncDirection.Both, NoReport = true };
            Assert.Equal(0, (await engine.RunAsync(options, null, null, CancellationToken.None)).Errors);

            // Changes on both sides: 4 local edits, 3 local deletes, 2 remote new objects, 2 remote deletes.
            string Rel(string full) => Path.GetRelativePath(local, full).Replace(Path.DirectorySeparatorChar, '/');
            var files = Directory.EnumerateFiles(local, "*", SearchOption.AllDirectories).Select(Rel).Where(r => !r.StartsWith("big/", StringComparison.Ordinal)).OrderBy(r => r, StringComparer.Ordinal).ToList();
            var later = DateTime.UtcNow.AddMinutes(1);
            foreach (var rel in files.Take(4))
            {
                var path = Path.Combine(local, rel);
                File.WriteAllText(path, "edited locally: " + rel);
                File.SetLastWriteTimeUtc(path, later);
            }

            foreach (var rel in files.Skip(4).Take(3))
            {
                File.Delete(Path.Combine(local, rel));
            }

            foreach (var rel in new[] { "remote new/one.txt", "remote new/two.txt" })
            {
                await _stack.Raw.PutObjectAsync(new Amazon.S3.Model.PutObjectRequest { BucketName = _s3rver.Bucket, Key = prefix + rel, ContentBody = "made remotely: " + rel, UseChunkEncoding = false });
            }

            foreach (var rel in files.Skip(7).Take(2))
            {
                await _stack.Raw.DeleteObjectAsync(_s3rver.Bucket, prefix + rel);
            }

            var expected = Directory.EnumerateFiles(local, "*", SearchOption.AllDirectories)
                .ToDictionary(Rel, f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f))));
            foreach (var rel in files.Skip(7).Take(2))
            {
                expected.Remove(rel);
            }

            foreach (var rel in new[] { "remote new/one.txt", "remote new/two.txt" })
            {
                expected[rel] = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("made remotely: " + rel)));
            }

            // Killed as the batch delete of the bucket side reaches the store: every transfer is done, no delete is.
            Assert.True(await RunChildAndKillAsync(local, prefix, SyncDirection.Both, OnRequest(_stack.S3Proxy, 1, r => r.Method == "POST" && r.PathAndQuery.Contains("delete", StringComparison.Ordinal))));

            var summary = await engine.RunAsync(options, null, null, CancellationToken.None);
            Assert.Equal(0, summary.Errors);
            Assert.Equal(0, summary.Conflicts);
            var got = Directory.EnumerateFiles(local, "*", SearchOption.AllDirectories).ToDictionary(Rel, f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f))));
            Assert.Equal(expected.OrderBy(p => p.Key, StringComparer.Ordinal), got.OrderBy(p => p.Key, StringComparer.Ordinal));
            Assert.Equal(expected.OrderBy(p => p.Key, StringComparer.Ordinal), (await _stack.RemoteHashesAsync(prefix)).OrderBy(p => p.Key, StringComparer.Ordinal));
            var again = await engine.RunAsync(options, null, null, CancellationToken.None);
            Assert.Equal(0, again.FilesUploaded + again.FilesDownloaded + again.FilesDeleted + again.Errors + (int)again.BytesHashed);
        }
    }
}
