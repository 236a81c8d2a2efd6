using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>Two syncs of one folder and prefix, against s3rver: the second fails naming -LockTimeoutSec, or waits with it.</summary>
[Collection(S3rverCollection.Name)]
public sealed class SyncLockTests : SyncCmdletTest
{
    public SyncLockTests(S3rverProcess s3rver)
        : base(s3rver, "synclock") => File.WriteAllText(Path.Combine(Folder, "a.txt"), "alpha");

    [Fact]
    public async Task A_sync_while_another_holds_the_lock_fails_naming_LockTimeoutSec_and_with_it_waits_and_runs()
    {
        var first = Sync("$folder -Summary");
        Assert.Empty(first.Errors);
        var statePath = SummaryOf(first).StatePath!;
        File.WriteAllText(Path.Combine(Folder, "b.txt"), "beta");

        // Another sync of the same target, as far as the lock goes.
        var held = new FileStream(statePath + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        try
        {
            var refused = Sync("$folder -Summary");
            var error = refused.SingleError();
            Assert.Equal("ChittySyncLocked", error.FullyQualifiedErrorId.Split(',')[0]);
            Assert.Contains("-LockTimeoutSec", error.Exception.Message, StringComparison.Ordinal);

            var release = Task.Delay(TimeSpan.FromSeconds(1.5)).ContinueWith(_ => held.Dispose(), TaskScheduler.Default);
            var waited = Sync("$folder -Summary -LockTimeoutSec 30");
            await release;
            Assert.Empty(waited.Errors);
            Assert.Equal(1, SummaryOf(waited).FilesUploaded);
        }
        finally
        {
            held.Dispose();
        }
    }
}
