using System.Security.Cryptography;
using System.Text.Json;
using Amazon.S3.Model;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>
/// The module's object metadata against rclone 1.60 itself on the same s3rver bucket: rclone lists the
/// module's objects with the files' times and MD5s (its multipart ones too, through md5chksum) and
/// `rclone check` passes; the module downloads rclone's objects with rclone's times and does not send
/// again what rclone already uploaded.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class RcloneMetadataInteropTests
{
    // A time with 100 ns in it: what a file system and .NET keep, which rclone's nanoseconds carry whole.
    private static readonly DateTime s_small = new DateTime(2024, 3, 1, 10, 0, 0, DateTimeKind.Utc).AddTicks(1_234_567);
    private static readonly DateTime s_big = new DateTime(2023, 7, 14, 8, 30, 5, DateTimeKind.Utc).AddTicks(9_876_543);

    private readonly S3rverProcess _s3rver;

    public RcloneMetadataInteropTests(S3rverProcess s3rver) => _s3rver = s3rver;

    [Fact]
    public async Task Rclone_lists_the_modules_objects_with_the_files_times_and_md5s_and_check_passes()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var small = ctx.Write("notes/small.txt", "a small file");
        var big = ctx.Write("big.bin", SyncTestContext.RandomBytes((2 * 1024 * 1024) + 4321, 7));
        File.SetLastWriteTimeUtc(small, s_small);
        File.SetLastWriteTimeUtc(big, s_big);

        var (summary, _) = await ctx.SyncAsync();
        using var rclone = Rclone(ctx);
        var listed = JsonDocument.Parse(rclone.Run("lsjson", "-R", "--files-only", "--hash", Remote(ctx))).RootElement.EnumerateArray()
            .ToDictionary(e => e.GetProperty("Path").GetString()!, e => e);
        var check = rclone.TryRun("check", ctx.Local, Remote(ctx));

        Assert.True(summary.Success);
        var bigObject = await ctx.Raw.GetObjectMetadataAsync(ctx.Store.Bucket, ctx.Prefix + "big.bin");
        Assert.EndsWith("-3", bigObject.ETag.Trim('"'));
        Assert.Equal(new DateTimeOffset(s_small), DateTimeOffset.Parse(listed["notes/small.txt"].GetProperty("ModTime").GetString()!));
        Assert.Equal(new DateTimeOffset(s_big), DateTimeOffset.Parse(listed["big.bin"].GetProperty("ModTime").GetString()!));
        Assert.Equal(Md5(File.ReadAllBytes(small)), listed["notes/small.txt"].GetProperty("Hashes").GetProperty("md5").GetString());
        Assert.Equal(Md5(File.ReadAllBytes(big)), listed["big.bin"].GetProperty("Hashes").GetProperty("md5").GetString());
        Assert.True(check.ExitCode == 0, "rclone check: " + check.StandardError);
        Assert.Contains("2 matching files", check.StandardError);
        Assert.DoesNotContain("could not be checked", check.StandardError);
    }

    [Fact]
    public async Task The_module_downloads_rclones_objects_with_rclones_times_and_does_not_send_them_again()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var source = Path.Combine(ctx.Root, "rclone-source");
        var files = new Dictionary<string, byte[]>
        {
            ["small.txt"] = "uploaded by rclone"u8.ToArray(),
            ["sub/parts.bin"] = SyncTestContext.RandomBytes(300_000, 3),
        };
        foreach (var (path, content) in files)
        {
            var full = Path.Combine(source, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllBytes(full, content);
            File.SetLastWriteTimeUtc(full, path == "small.txt" ? s_small : s_big);
        }

        using var rclone = Rclone(ctx);
        // Above the cutoff rclone uploads in parts and keeps the content's MD5 in md5chksum.
        rclone.Run("copy", "--s3-upload-cutoff", "100k", "--s3-chunk-size", "5M", source, Remote(ctx));
        var parts = await ctx.Raw.GetObjectMetadataAsync(ctx.Store.Bucket, ctx.Prefix + "sub/parts.bin");
        Assert.EndsWith("-1", parts.ETag.Trim('"'));
        Assert.Equal(Convert.ToBase64String(MD5.HashData(files["sub/parts.bin"])), parts.Metadata["md5chksum"]);

        var (download, downloaded) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Download);
        var (upload, uploaded) = await ctx.SyncAsync(o =>
        {
            o.Direction = SyncDirection.Upload;
            o.LocalPath = source;
            o.StateDirectory = Path.Combine(ctx.Root, "state-of-the-rclone-device");
        });
        var uploadWire = (ctx.Wire.Count("PUT"), ctx.Wire.Count("HEAD"), ctx.Wire.Count("GET"), ctx.Wire.Count("PART"));
        var (again, againResults) = await ctx.SyncAsync(o =>
        {
            o.Direction = SyncDirection.Download;
            o.LocalPath = source;
            o.StateDirectory = Path.Combine(ctx.Root, "state-of-another-device");
        });

        Assert.True(download.Success, string.Join("; ", downloaded.Select(r => r.Error)));
        Assert.Equal(2, download.FilesDownloaded);
        Assert.Equal(s_small, File.GetLastWriteTimeUtc(Path.Combine(ctx.Local, "small.txt")));
        Assert.Equal(s_big, File.GetLastWriteTimeUtc(Path.Combine(ctx.Local, "sub", "parts.bin")));
        Assert.Equal(files["sub/parts.bin"], File.ReadAllBytes(Path.Combine(ctx.Local, "sub", "parts.bin")));
        // An upload from rclone's own folder: both found identical (the ETag, then md5chksum by one HEAD).
        Assert.True(upload.Success);
        Assert.Empty(uploaded);
        Assert.Equal((0, 2, 0), (upload.FilesUploaded, upload.FilesSkipped, upload.FilesCompared));
        Assert.Equal((0, 1, 0, 0), uploadWire);
        // A download into a folder that already holds them writes nothing either.
        Assert.True(again.Success);
        Assert.Empty(againResults);
        Assert.Equal((0, 2), (again.FilesDownloaded, again.FilesSkipped));
        Assert.Equal(0, ctx.Wire.Count("GET"));
    }

    [Fact]
    public async Task An_mtime_that_is_not_a_time_is_passed_over_and_the_run_goes_on()
    {
        using var ctx = new SyncTestContext(_s3rver);
        foreach (var (name, mtime) in new[] { ("words.txt", "yesterday"), ("huge.txt", "99999999999999999999999"), ("rclone.txt", "1709287200.000000000") })
        {
            var request = new PutObjectRequest { BucketName = ctx.Store.Bucket, Key = ctx.Prefix + name, ContentBody = name, UseChunkEncoding = false };
            request.Metadata.Add("mtime", mtime);
            await ctx.Raw.PutObjectAsync(request);
        }

        var started = DateTime.UtcNow.AddMinutes(-5);
        var (summary, results) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Download);

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(3, summary.FilesDownloaded);
        Assert.InRange(File.GetLastWriteTimeUtc(Path.Combine(ctx.Local, "words.txt")), started, DateTime.UtcNow.AddMinutes(5));
        Assert.InRange(File.GetLastWriteTimeUtc(Path.Combine(ctx.Local, "huge.txt")), started, DateTime.UtcNow.AddMinutes(5));
        Assert.Equal(new DateTime(2024, 3, 1, 10, 0, 0, DateTimeKind.Utc), File.GetLastWriteTimeUtc(Path.Combine(ctx.Local, "rclone.txt")));
    }

    [Fact]
    public async Task A_download_whose_content_is_not_the_md5chksum_fails_and_writes_nothing()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var source = Path.Combine(ctx.Root, "source.bin");
        File.WriteAllBytes(source, SyncTestContext.RandomBytes(150_000, 5));
        using (var cli = new AwsCliTool(ctx.Store.Endpoint))
        {
            // In parts (from 100 KB), with the MD5 of other content.
            cli.Run("s3", "cp", "--only-show-errors", "--metadata", "md5chksum=" + Convert.ToBase64String(MD5.HashData("other"u8.ToArray())),
                source, $"s3://{ctx.Store.Bucket}/{ctx.Prefix}wrong.bin");
        }

        var (summary, results) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Download);

        Assert.False(summary.Success);
        var failed = Assert.Single(results);
        Assert.Equal(SyncAction.Failed, failed.Action);
        Assert.Contains("md5chksum", failed.Error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(ctx.Local));
    }

    internal static RcloneTool Rclone(SyncTestContext ctx)
    {
        var rclone = new RcloneTool();
        rclone.AddS3("store", new Uri(ctx.Store.Endpoint.ToString()), S3rverProcess.AccessKey, S3rverProcess.SecretKey);
        return rclone;
    }

    internal static string Remote(SyncTestContext ctx) => $"store:{ctx.Store.Bucket}/{ctx.Prefix.TrimEnd('/')}";

    private static string Md5(byte[] content) => Convert.ToHexStringLower(MD5.HashData(content));
}
