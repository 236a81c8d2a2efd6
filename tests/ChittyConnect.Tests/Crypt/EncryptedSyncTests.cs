using System.Collections.Concurrent;
using ChittyConnect.Configuration;
using ChittyConnect.Crypt;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Crypt;

/// <summary>
/// Sync-ChittyFolder's engine over an encrypted prefix of s3rver, checked with rclone itself: an rclone crypt
/// remote over an rclone s3 remote on the same bucket and prefix lists, reads and cryptchecks what the module
/// wrote, and the module downloads what rclone wrote.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class EncryptedSyncTests
{
    internal const string Password = "a long and secret crypt password";
    internal const string Salt = "and its salt";

    private readonly S3rverProcess _s3rver;

    public EncryptedSyncTests(S3rverProcess s3rver) => _s3rver = s3rver;

    [Fact]
    public async Task RcloneListsReadsAndChecksAnEncryptedUploadAndTheReportHoldsNoClearName()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var files = ctx.WriteFixtureTree();
        using var crypt = Encrypted(ctx, Password, Salt);

        var (summary, results) = await SyncAsync(ctx, crypt);

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.All(results, r => Assert.Equal(SyncAction.Uploaded, r.Action));
        Assert.All(results, r => Assert.Null(r.Sha256));
        Assert.All(results, r => Assert.Equal(crypt.ObjectKeyFor(ctx.Prefix + r.RelativePath), r.R2Key));
        var stored = await ctx.RemoteContentAsync();
        Assert.Equal(files.Count, stored.Count);
        Assert.All(stored.Keys, key => Assert.Matches("^[0-9a-v/]+$", key));
        Assert.All(stored, pair => Assert.StartsWith("RCLONE\0\0", System.Text.Encoding.ASCII.GetString(pair.Value, 0, 8)));
        Assert.All(ctx.Reports.Items, item =>
        {
            Assert.Matches("^[0-9a-v/]+$", item.GetProperty("r2_key").GetString()!.Substring(ctx.Prefix.Length));
            Assert.False(item.TryGetProperty("sha256", out _));
        });
        Assert.Equal(stored.Values.Sum(v => (long)v.Length), ctx.Reports.Items.Sum(i => i.GetProperty("size").GetInt64()));

        using var rclone = RcloneOver(ctx, Password, Salt);
        var listed = rclone.Run("lsf", "-R", "--fast-list", "--files-only", "secret:").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // --fast-list: s3rver's delimiter listings omit folders that hold only folders.
        var check = rclone.TryRun("cryptcheck", "--fast-list", ctx.Local, "secret:");
        var copy = Path.Combine(ctx.Root, "rclone-copy");
        rclone.Run("copy", "--fast-list", "secret:", copy);

        Assert.Equal(files.Keys.OrderBy(k => k, StringComparer.Ordinal), listed.OrderBy(k => k, StringComparer.Ordinal));
        Assert.True(check.ExitCode == 0, "rclone cryptcheck: " + check.StandardError);
        foreach (var pair in files)
        {
            Assert.Equal(pair.Value, File.ReadAllBytes(Path.Combine(copy, pair.Key)));
        }
    }

    [Fact]
    public async Task AFileOverTheMultipartThresholdIsEncryptedPartByPartInMemoryAndRcloneReadsIt()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var content = SyncTestContext.RandomBytes(5 * 1024 * 1024 + 777, 21);
        ctx.Write("large/film.bin", content);
        using var crypt = Encrypted(ctx, Password, Salt);

        var (summary, results) = await SyncAsync(ctx, crypt);

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(SyncAction.Uploaded, Assert.Single(results).Action);
        Assert.Equal(6, ctx.Wire.Count("PART"));
        // No ciphertext was staged on disk, and the object says nothing of the plaintext.
        Assert.False(Directory.Exists(Path.Combine(ctx.Root, "staging")));
        var key = Assert.Single((await ctx.RemoteContentAsync()).Keys);
        var head = await ctx.Raw.GetObjectMetadataAsync(ctx.Store.Bucket, ctx.Prefix + key);
        Assert.DoesNotContain(head.Metadata.Keys, k => k.EndsWith("sha256", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(head.Metadata.Keys, k => k.EndsWith("mtime", StringComparison.OrdinalIgnoreCase));
        Assert.EndsWith("-6\"", head.ETag);

        using var rclone = RcloneOver(ctx, Password, Salt);
        var copy = Path.Combine(ctx.Root, "rclone-copy");
        rclone.Run("copy", "--fast-list", "secret:", copy);
        Assert.Equal(content, File.ReadAllBytes(Path.Combine(copy, "large", "film.bin")));
        Assert.True(rclone.TryRun("cryptcheck", "--fast-list", ctx.Local, "secret:").ExitCode == 0);

        // And the module brings it back: the object in parts is decrypted in batches and hashed as plaintext.
        var restored = Path.Combine(ctx.Root, "restored");
        var (down, downResults) = await SyncAsync(ctx, crypt, o => { o.LocalPath = restored; o.Direction = SyncDirection.Download; });
        Assert.True(down.Success, string.Join("; ", downResults.Select(r => r.Error)));
        Assert.Equal(content, File.ReadAllBytes(Path.Combine(restored, "large", "film.bin")));
        var (again, _) = await SyncAsync(ctx, crypt, o => { o.LocalPath = restored; o.Direction = SyncDirection.Download; });
        Assert.Equal(1, again.FilesSkipped);
        Assert.Equal(0, again.BytesHashed);
    }

    [Fact]
    public async Task OnlyAFileBetweenAPartAndTheMultipartThresholdIsStagedAndItsStagingFileGoes()
    {
        // The tests' parts are 1 MiB and the threshold 2 MiB: 1.5 MiB is staged, 100 KiB is sent from memory.
        using var ctx = new SyncTestContext(_s3rver);
        var staged = SyncTestContext.RandomBytes((3 * 512 * 1024) + 5, 31);
        var small = SyncTestContext.RandomBytes(100 * 1024, 32);
        ctx.Write("mid.bin", staged);
        ctx.Write("small.bin", small);
        using var crypt = Encrypted(ctx, Password, Salt);

        var (summary, results) = await SyncAsync(ctx, crypt);

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(2, ctx.Wire.Count("PUT"));
        Assert.Equal(0, ctx.Wire.Count("PART"));
        Assert.True(Directory.Exists(Path.Combine(ctx.Root, "staging")));
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(ctx.Root, "staging")));
        using var rclone = RcloneOver(ctx, Password, Salt);
        var copy = Path.Combine(ctx.Root, "rclone-copy");
        rclone.Run("copy", "--fast-list", "secret:", copy);
        Assert.Equal(staged, File.ReadAllBytes(Path.Combine(copy, "mid.bin")));
        Assert.Equal(small, File.ReadAllBytes(Path.Combine(copy, "small.bin")));
        Assert.True(rclone.TryRun("cryptcheck", "--fast-list", ctx.Local, "secret:").ExitCode == 0);

        // The staged object carries its ciphertext's SHA-256, the one made in memory none; the module reads both back.
        var withSha256 = 0;
        foreach (var key in (await ctx.RemoteContentAsync()).Keys)
        {
            var head = await ctx.Raw.GetObjectMetadataAsync(ctx.Store.Bucket, ctx.Prefix + key);
            withSha256 += head.Metadata.Keys.Count(k => k.EndsWith("sha256", StringComparison.OrdinalIgnoreCase));
        }

        Assert.Equal(1, withSha256);
        var restored = Path.Combine(ctx.Root, "restored");
        var (down, downResults) = await SyncAsync(ctx, crypt, o => { o.LocalPath = restored; o.Direction = SyncDirection.Download; });
        Assert.True(down.Success, string.Join("; ", downResults.Select(r => r.Error)));
        Assert.Equal(staged, File.ReadAllBytes(Path.Combine(restored, "mid.bin")));
        Assert.Equal(small, File.ReadAllBytes(Path.Combine(restored, "small.bin")));
    }

    [Fact]
    public async Task ANoOpResyncOfAnEncryptedPrefixReadsNoFileAndSendsOnlyTheListing()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var files = ctx.WriteFixtureTree();
        using var crypt = Encrypted(ctx, Password, salt: null);
        var (first, _) = await SyncAsync(ctx, crypt);
        // The state keeps each file's SHA-256 and no MD5: the plaintext's matches no object here.
        var entries = StateFileLines.Files(first.StatePath!);
        Assert.Equal(files.Count, entries.Count);
        Assert.All(entries.Values, e =>
        {
            Assert.Equal(64, e.Sha256.Length);
            Assert.Equal(string.Empty, e.Md5);
        });

        var (summary, results) = await SyncAsync(ctx, crypt);

        Assert.Empty(results);
        Assert.Equal(files.Count, summary.FilesSkipped);
        Assert.Equal(0, summary.BytesHashed);
        Assert.Equal(ctx.Wire.Count("LIST"), ctx.Wire.Total);
        Assert.Equal(1, ctx.Wire.Total);
    }

    [Fact]
    public async Task TheModuleDownloadsWhatRcloneWroteAndAChangeGoesBackUp()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var files = ctx.WriteFixtureTree();
        using var rclone = RcloneOver(ctx, Password, Salt);
        rclone.Run("copy", ctx.Local, "secret:");
        var restored = Path.Combine(ctx.Root, "restored");
        using var crypt = Encrypted(ctx, Password, Salt);

        var (summary, results) = await SyncAsync(ctx, crypt, o => { o.LocalPath = restored; o.Direction = SyncDirection.Download; });

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(files.Count, summary.FilesDownloaded);
        foreach (var pair in files)
        {
            Assert.Equal(pair.Value, File.ReadAllBytes(Path.Combine(restored, pair.Key)));
        }

        var (again, _) = await SyncAsync(ctx, crypt, o => { o.LocalPath = restored; o.Direction = SyncDirection.Download; });
        Assert.Equal(files.Count, again.FilesSkipped);
        Assert.Equal(1, ctx.Wire.Total);

        File.WriteAllText(Path.Combine(restored, "readme.txt"), "changed on this device");
        var (up, upResults) = await SyncAsync(ctx, crypt, o => o.LocalPath = restored);
        Assert.Equal("readme.txt", Assert.Single(upResults).RelativePath);
        Assert.Equal(1, up.FilesUploaded);
        Assert.Equal("changed on this device", rclone.Run("cat", "secret:readme.txt"));
    }

    [Fact]
    public async Task AWrongPasswordFailsBeforeAnythingLocalIsWrittenOrDeleted()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.WriteFixtureTree();
        using var rclone = RcloneOver(ctx, Password, Salt);
        rclone.Run("copy", ctx.Local, "secret:");
        var target = Path.Combine(ctx.Root, "target");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "only-here.txt"), "keep me");
        using var wrong = Encrypted(ctx, "not the password", Salt);

        var error = await Assert.ThrowsAsync<RcloneCryptException>(() =>
            SyncAsync(ctx, wrong, o => { o.LocalPath = target; o.Direction = SyncDirection.Download; o.Force = true; }));

        Assert.Contains("password or salt is wrong", error.Message);
        Assert.DoesNotContain("not the password", error.Message);
        Assert.Equal(new[] { "only-here.txt" }, Directory.GetFileSystemEntries(target).Select(Path.GetFileName));
        Assert.Equal(0, ctx.Wire.Count("GET"));
    }

    [Fact]
    public async Task AWrongPasswordWithClearNamesFailsEachFileAndLeavesNoPartialFile()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.WriteFixtureTree();
        using var rclone = RcloneOver(ctx, Password, salt: null, names: "off");
        rclone.Run("copy", ctx.Local, "secret:");
        var target = Path.Combine(ctx.Root, "target");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "only-here.txt"), "keep me");
        using var wrong = Encrypted(ctx, "not the password", salt: null, RcloneNameEncryption.Off);

        var (summary, results) = await SyncAsync(ctx, wrong, o => { o.LocalPath = target; o.Direction = SyncDirection.Download; });

        Assert.False(summary.Success);
        var failures = results.Where(r => r.Action == SyncAction.Failed).ToList();
        Assert.NotEmpty(failures);
        Assert.All(failures, f => Assert.Contains("password or salt is wrong", f.Error));
        // only-here.txt was never the sync's: left, not deleted.
        Assert.Equal(1, summary.NotOwned);
        // An empty file is a header without blocks: nothing to authenticate, and its content (none) is right
        // under any password, as with rclone. Nothing else was written.
        Assert.Equal(new[] { "empty.bin", "only-here.txt" }, Directory.GetFiles(target, "*", SearchOption.AllDirectories).Select(Path.GetFileName).Order());
        Assert.Empty(File.ReadAllBytes(Path.Combine(target, "empty.bin")));
    }

    [Fact]
    public async Task TwoDevicesSyncBothWaysThroughOneEncryptedPrefix()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("notes.txt", "from device A");
        var deviceB = Path.Combine(ctx.Root, "device-b");
        Directory.CreateDirectory(deviceB);
        using var crypt = Encrypted(ctx, Password, Salt);

        // Device B is another machine: its sync states are its own.
        void OnDeviceB(SyncOptions o)
        {
            o.LocalPath = deviceB;
            o.StateDirectory = Path.Combine(ctx.Root, "device-b-state");
            o.Direction = SyncDirection.Both;
        }

        var (first, _) = await SyncAsync(ctx, crypt, o => o.Direction = SyncDirection.Both);
        var (pulled, _) = await SyncAsync(ctx, crypt, OnDeviceB);
        File.WriteAllText(Path.Combine(deviceB, "notes.txt"), "edited on device B");
        File.WriteAllText(Path.Combine(deviceB, "new on B.txt"), "B's own");
        var (pushed, _) = await SyncAsync(ctx, crypt, OnDeviceB);
        var (back, _) = await SyncAsync(ctx, crypt, o => o.Direction = SyncDirection.Both);
        var (quiet, quietResults) = await SyncAsync(ctx, crypt, o => o.Direction = SyncDirection.Both);

        Assert.Equal((1, 1, 2, 2), (first.FilesUploaded, pulled.FilesDownloaded, pushed.FilesUploaded, back.FilesDownloaded));
        Assert.Equal("edited on device B", File.ReadAllText(Path.Combine(ctx.Local, "notes.txt")));
        Assert.Equal("B's own", File.ReadAllText(Path.Combine(ctx.Local, "new on B.txt")));
        Assert.Empty(quietResults);
        Assert.Equal(1, ctx.Wire.Total);
        using var rclone = RcloneOver(ctx, Password, Salt);
        Assert.Equal("edited on device B", rclone.Run("cat", "secret:notes.txt"));
        Assert.All((await ctx.RemoteContentAsync()).Keys, key => Assert.Matches("^[0-9a-v]+$", key));
    }

    internal static EncryptedObjectStore Encrypted(SyncTestContext ctx, string password, string? salt, RcloneNameEncryption names = RcloneNameEncryption.Standard) =>
        new(ctx.Store, ctx.Prefix, RcloneCryptKey.Derive(new ChittySecret(password), salt is null ? null : new ChittySecret(salt)), names, Path.Combine(ctx.Root, "staging"));

    internal static RcloneTool RcloneOver(SyncTestContext ctx, string password, string? salt, string names = "standard")
    {
        var rclone = RcloneMetadataInteropTests.Rclone(ctx);
        rclone.AddCrypt("secret", RcloneMetadataInteropTests.Remote(ctx), password, salt, names);
        return rclone;
    }

    internal static async Task<(ChittySyncSummary Summary, List<ChittySyncResult> Results)> SyncAsync(SyncTestContext ctx, EncryptedObjectStore crypt, Action<SyncOptions>? configure = null)
    {
        var results = new ConcurrentQueue<ChittySyncResult>();
        ctx.Wire.Clear();
        var summary = await new SyncEngine(crypt, ctx.Api).RunAsync(ctx.Options(configure), results.Enqueue, null, CancellationToken.None);
        return (summary, results.OrderBy(r => r.RelativePath, StringComparer.Ordinal).ToList());
    }
}
