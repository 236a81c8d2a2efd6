using ChittyConnect.Crypt;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Crypt;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>
/// The first two-way run of a device whose folder already holds what the bucket holds, the bucket filled
/// by every kind of uploader: rclone (single PUTs, and uploads in parts that keep the MD5 in md5chksum),
/// the module (single PUTs, uploads in parts with sha256 metadata, encrypted objects), rclone crypt, and the
/// AWS CLI (uploads in parts with no hash at all). Such a run changes nothing and writes a baseline; a
/// device where some files differ gets exactly those as conflicts.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class TwoWayFirstRunTests
{
    private const string Password = "the password every device shares";
    private const string Salt = "and the salt";

    private readonly S3rverProcess _s3rver;

    public TwoWayFirstRunTests(S3rverProcess s3rver) => _s3rver = s3rver;

    [Fact]
    public async Task A_device_with_the_same_files_changes_nothing_and_only_files_that_differ_conflict()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        var (module, rclone, aws) = (Folder(ctx, "module"), Folder(ctx, "rclone"), Folder(ctx, "aws"));
        for (var i = 0; i < 15; i++)
        {
            Add(files, module, $"module/note {i}.txt", SyncTestContext.RandomBytes(100 + (i * 37), i));
            Add(files, rclone, $"rclone/doc-{i}.md", SyncTestContext.RandomBytes(90 + (i * 41), 100 + i));
        }

        for (var i = 0; i < 2; i++)
        {
            // Above the thresholds: in parts (the module's from 2 MiB, rclone's and the CLI's from 100 KB).
            Add(files, module, $"module/big-{i}.bin", SyncTestContext.RandomBytes((2 * 1024 * 1024) + 1000 + i, 200 + i));
            Add(files, rclone, $"rclone/parts-{i}.bin", SyncTestContext.RandomBytes(150_000 + i, 300 + i));
            Add(files, aws, $"aws/parts-{i}.bin", SyncTestContext.RandomBytes(120_000 + i, 400 + i));
        }

        for (var i = 0; i < 4; i++)
        {
            Add(files, aws, $"aws/small-{i}.csv", SyncTestContext.RandomBytes(60 + i, 500 + i));
        }

        var (uploadedByModule, _) = await ctx.SyncAsync(o => (o.LocalPath, o.StateDirectory) = (module, Path.Combine(ctx.Root, "state-a")));
        using (var tool = RcloneMetadataInteropTests.Rclone(ctx))
        {
            tool.Run("copy", "--s3-upload-cutoff", "100k", "--s3-chunk-size", "5M", rclone, RcloneMetadataInteropTests.Remote(ctx));
        }

        using (var cli = new AwsCliTool(ctx.Store.Endpoint))
        {
            cli.Run("s3", "cp", "--recursive", "--only-show-errors", aws, $"s3://{ctx.Store.Bucket}/{ctx.Prefix}");
        }

        Assert.Equal(17, uploadedByModule.FilesUploaded);
        var cliParts = await ctx.Raw.GetObjectMetadataAsync(ctx.Store.Bucket, ctx.Prefix + "aws/parts-0.bin");
        Assert.EndsWith("-1", cliParts.ETag.Trim('"'));
        Assert.Empty(cliParts.Metadata.Keys);
        WriteDevice(ctx.Local, files);

        var (first, firstResults) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Both);
        var firstWire = ctx.Wire.ToString();
        var (second, secondResults) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Both);

        Assert.True(first.Success, string.Join("; ", firstResults.Select(r => r.Error)));
        Assert.Empty(firstResults);
        Assert.Equal((0, 0, 0, 40), (first.Conflicts, first.FilesUploaded, first.FilesDownloaded, first.FilesSkipped));
        // Only the CLI's two objects in parts had no hash: their content was read, and it shows.
        Assert.Equal((2, 240_001L), (first.FilesCompared, first.BytesCompared));
        Assert.Contains("2 objects without a usable hash compared by content: 240001 bytes read", first.ToString());
        Assert.DoesNotContain("PUT", firstWire);
        Assert.DoesNotContain("PART", firstWire);
        Assert.Equal(files.Count, (await ctx.RemoteContentAsync()).Count);
        // The baseline was written: the next run compares nothing and reads no file.
        Assert.Empty(secondResults);
        Assert.Equal((40, 0, 0L), (second.FilesSkipped, second.FilesHashed, second.BytesCompared));
        Assert.Equal((0, 0), (ctx.Wire.Count("HEAD"), ctx.Wire.Count("GET")));

        // A third device whose copies of three files differ, at the same size, where only content can tell.
        var changed = new[] { "aws/parts-1.bin", "module/big-0.bin", "rclone/parts-0.bin" };
        var device = Path.Combine(ctx.Root, "device-c");
        WriteDevice(device, files);
        foreach (var path in changed)
        {
            File.WriteAllBytes(Path.Combine(device, path), SyncTestContext.RandomBytes(files[path].Length, 999));
        }

        var (third, thirdResults) = await ctx.SyncAsync(o => (o.Direction, o.LocalPath, o.StateDirectory) = (SyncDirection.Both, device, Path.Combine(ctx.Root, "state-c")));

        Assert.True(third.Success, string.Join("; ", thirdResults.Select(r => r.Error)));
        Assert.Equal(3, third.Conflicts);
        Assert.Equal(changed, thirdResults.Where(r => r.Action == SyncAction.Conflict).Select(r => r.RelativePath));
        Assert.All(thirdResults, r => Assert.Equal(SyncConflict.FirstRunDiffers, r.Conflict));
        Assert.Equal(37, third.FilesSkipped);
    }

    [Fact]
    public async Task Encrypted_objects_of_the_module_and_of_rclone_crypt_are_recognised_by_their_nonce()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        var (module, rclone) = (Folder(ctx, "module"), Folder(ctx, "rclone"));
        for (var i = 0; i < 4; i++)
        {
            Add(files, module, $"module/secret {i}.txt", SyncTestContext.RandomBytes(50 + (i * 999), 600 + i));
        }

        // Ciphertext between a part and the threshold is staged and sent as one PUT with its sha256; from
        // the threshold on it goes in parts made in memory, with no hash stored.
        Add(files, module, "module/staged.bin", SyncTestContext.RandomBytes(1_500_000, 700));
        Add(files, module, "module/in-parts.bin", SyncTestContext.RandomBytes((2 * 1024 * 1024) + 77, 701));
        for (var i = 0; i < 3; i++)
        {
            Add(files, rclone, $"rclone/letter-{i}.txt", SyncTestContext.RandomBytes(70 + i, 800 + i));
        }

        Add(files, rclone, "rclone/parts.bin", SyncTestContext.RandomBytes(150_000, 900));

        using (var crypt = EncryptedSyncTests.Encrypted(ctx, Password, Salt))
        {
            var (byModule, _) = await EncryptedSyncTests.SyncAsync(ctx, crypt, o => (o.LocalPath, o.StateDirectory) = (module, Path.Combine(ctx.Root, "state-a")));
            Assert.Equal(6, byModule.FilesUploaded);
        }

        using (var tool = EncryptedSyncTests.RcloneOver(ctx, Password, Salt))
        {
            // rclone checks all of them but the one in parts made in memory, which keeps no hash of its ciphertext.
            var check = tool.TryRun("cryptcheck", "--fast-list", module, "secret:");
            Assert.True(check.ExitCode == 0, check.StandardError);
            Assert.Contains("0 differences found", check.StandardError);
            Assert.Contains("1 hashes could not be checked", check.StandardError);
            tool.Run("copy", "--s3-upload-cutoff", "100k", "--s3-chunk-size", "5M", rclone, "secret:");
        }

        WriteDevice(ctx.Local, files);
        ChittySyncSummary first;
        List<ChittySyncResult> firstResults;
        using (var crypt = EncryptedSyncTests.Encrypted(ctx, Password, Salt))
        {
            (first, firstResults) = await EncryptedSyncTests.SyncAsync(ctx, crypt, o => o.Direction = SyncDirection.Both);
        }

        var firstGets = ctx.Wire.Count("GET");

        Assert.True(first.Success, string.Join("; ", firstResults.Select(r => r.Error)));
        Assert.Empty(firstResults);
        Assert.Equal((0, 0, 0, 10), (first.Conflicts, first.FilesUploaded, first.FilesDownloaded, first.FilesSkipped));
        Assert.Equal(0, ctx.Wire.Count("PUT") + ctx.Wire.Count("PART"));
        // One ranged GET of each header, and one whole object: the module's in parts, which keeps no hash
        // (rclone crypt keeps its ciphertext's MD5 in md5chksum, which settles its own).
        Assert.Equal(11, firstGets);
        Assert.Equal(1, first.FilesCompared);

        var changed = new[] { "module/in-parts.bin", "module/secret 2.txt", "rclone/parts.bin" };
        var device = Path.Combine(ctx.Root, "device-c");
        WriteDevice(device, files);
        foreach (var path in changed)
        {
            File.WriteAllBytes(Path.Combine(device, path), SyncTestContext.RandomBytes(files[path].Length, 999));
        }

        ChittySyncSummary third;
        List<ChittySyncResult> thirdResults;
        using (var crypt = EncryptedSyncTests.Encrypted(ctx, Password, Salt))
        {
            (third, thirdResults) = await EncryptedSyncTests.SyncAsync(ctx, crypt, o => (o.Direction, o.LocalPath, o.StateDirectory) = (SyncDirection.Both, device, Path.Combine(ctx.Root, "state-c")));
        }

        Assert.True(third.Success, string.Join("; ", thirdResults.Select(r => r.Error)));
        Assert.Equal(changed, thirdResults.Where(r => r.Action == SyncAction.Conflict).Select(r => r.RelativePath));
        Assert.Equal((3, 7), (third.Conflicts, third.FilesSkipped));
    }

    private static string Folder(SyncTestContext ctx, string name)
    {
        var folder = Path.Combine(ctx.Root, "uploaded-by-" + name);
        Directory.CreateDirectory(folder);
        return folder;
    }

    private static void Add(IDictionary<string, byte[]> files, string folder, string path, byte[] content)
    {
        files[path] = content;
        var full = Path.Combine(folder, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
    }

    // The same files written afresh: other times than the uploaders' copies, so only content can match them.
    private static void WriteDevice(string folder, IDictionary<string, byte[]> files)
    {
        foreach (var (path, content) in files)
        {
            var full = Path.Combine(folder, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, content);
            File.SetLastWriteTimeUtc(full, new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc));
        }
    }
}
