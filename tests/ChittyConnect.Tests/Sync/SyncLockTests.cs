using System.Collections;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>Two syncs of one folder and prefix, against s3rver: the second fails naming -LockTimeoutSec, or waits with it.</summary>
[Collection(S3rverCollection.Name)]
public sealed class SyncLockTests : IDisposable
{
    private readonly S3rverProcess _s3rver;
    private readonly PowerShellRunner _ps = new();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "chitty-synclock-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _prefix = "files/lock-" + Guid.NewGuid().ToString("N")[..8] + "/";

    public SyncLockTests(S3rverProcess s3rver)
    {
        _s3rver = s3rver;
        Directory.CreateDirectory(Path.Combine(_root, "folder"));
        File.WriteAllText(Path.Combine(_root, "folder", "a.txt"), "alpha");
    }

    private PowerShellResult Sync(string arguments) => _ps.Run(
        "param($conn, $root, $prefix) Sync-ChittyFolder (Join-Path $root folder) -Connection $conn -Prefix $prefix -NoReport -Summary -StateDirectory (Join-Path $root state) " + arguments,
        new Hashtable { ["conn"] = new ChittyConnection(_s3rver.Settings()), ["root"] = _root, ["prefix"] = _prefix },
        TimeSpan.FromSeconds(60));

    [Fact]
    public async Task A_sync_while_another_holds_the_lock_fails_naming_LockTimeoutSec_and_with_it_waits_and_runs()
    {
        var first = Sync(string.Empty);
        Assert.Empty(first.Errors);
        var statePath = ((ChittySyncSummary)first.Output.Single().BaseObject).StatePath!;
        File.WriteAllText(Path.Combine(_root, "folder", "b.txt"), "beta");

        // Another sync of the same target, as far as the lock goes.
        var held = new FileStream(statePath + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        try
        {
            var refused = Sync(string.Empty);
            var error = refused.SingleError();
            Assert.Equal("ChittySyncLocked", error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Contains("-LockTimeoutSec", error.Exception.Message, StringComparison.Ordinal);

            var release = Task.Delay(TimeSpan.FromSeconds(1.5)).ContinueWith(_ => held.Dispose(), TaskScheduler.Default);
            var waited = Sync("-LockTimeoutSec 30");
            await release;
            Assert.Empty(waited.Errors);
            Assert.Equal(1, ((ChittySyncSummary)waited.Output.Single().BaseObject).FilesUploaded);
        }
        finally
        {
            held.Dispose();
        }
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
