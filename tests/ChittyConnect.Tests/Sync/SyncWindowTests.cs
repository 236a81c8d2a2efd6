using System.Text;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>
/// A run planned in windows of a few keys decides what the run planned in one window decides: the same results,
/// the same trees on both sides, the same report. The whole of the sync tests also runs with windows of 2 keys
/// (build.ps1 -Task Test); these tests set the window themselves.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class SyncWindowTests
{
    // Planned in one window from the whole scan, listing and state (the mode of the runs that are not streamed).
    private const int Whole = 0;

    private static readonly DateTime Edited = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    private readonly S3rverProcess _s3rver;

    public SyncWindowTests(S3rverProcess s3rver) => _s3rver = s3rver;

    [Theory]
    [InlineData(SyncDirection.Both, 2)]
    [InlineData(SyncDirection.Both, 5)]
    [InlineData(SyncDirection.Upload, 3)]
    [InlineData(SyncDirection.Download, 2)]
    public async Task A_run_in_windows_decides_every_path_as_the_run_in_one_window(SyncDirection direction, int windowKeys)
    {
        var inWindows = await ChangedFolderRunAsync(direction, windowKeys);
        var inOne = await ChangedFolderRunAsync(direction, Whole);

        Assert.True(inOne.Summary.Success, inOne.Errors);
        Assert.True(inWindows.Summary.Success, inWindows.Errors);
        Assert.NotEmpty(inOne.Results);
        Assert.Equal(inOne.Results, inWindows.Results);
        Assert.Equal(inOne.Local, inWindows.Local);
        Assert.Equal(inOne.Remote, inWindows.Remote);
        Assert.Equal(inOne.Reported, inWindows.Reported);
        Assert.Equal(
            (inOne.Summary.FilesUploaded, inOne.Summary.FilesDownloaded, inOne.Summary.FilesDeleted, inOne.Summary.FilesSkipped, inOne.Summary.Conflicts, inOne.Summary.NotOwned, inOne.Summary.SourceFiles),
            (inWindows.Summary.FilesUploaded, inWindows.Summary.FilesDownloaded, inWindows.Summary.FilesDeleted, inWindows.Summary.FilesSkipped, inWindows.Summary.Conflicts, inWindows.Summary.NotOwned, inWindows.Summary.SourceFiles));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(Whole)]
    public async Task A_conflict_copy_does_not_take_a_name_another_window_holds(int windowKeys)
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("notes.txt", "agreed");
        ctx.Write("notes.d1.txt", "between the two in key order");
        await ctx.SyncAsync(o => o.Direction = SyncDirection.Both);
        File.SetLastWriteTimeUtc(ctx.Write("notes.txt", "edited here"), Edited);
        await ctx.PutRawAsync(ctx.Prefix + "notes.txt", "edited there");
        // Another tool put an object at the name the conflict copy would take: it sorts before "notes.d1.txt"
        // and "notes.txt", so with windows of one key it is in a window of its own.
        var taken = "notes.conflict-local-20260102T030405Z.txt";
        await ctx.PutRawAsync(ctx.Prefix + taken, "someone else's");

        var (summary, results) = await ctx.SyncAsync(o =>
        {
            o.Direction = SyncDirection.Both;
            o.WindowKeys = windowKeys;
        });

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        var conflict = Assert.Single(results, r => r.Action == SyncAction.Conflict);
        Assert.Equal("notes.conflict-local-20260102T030405Z-2.txt", conflict.ConflictPath);
        var remote = await ctx.RemoteContentAsync();
        Assert.Equal("someone else's", Encoding.UTF8.GetString(remote[taken]));
        Assert.Equal("edited here", Encoding.UTF8.GetString(remote[conflict.ConflictPath!]));
        Assert.Equal("edited there", Encoding.UTF8.GetString(remote["notes.txt"]));
        var local = TwoWayScenarioTests.LocalTree(ctx);
        Assert.Equal("someone else's", local[taken]);
        Assert.Equal("edited here", local[conflict.ConflictPath!]);
        Assert.Equal("edited there", local["notes.txt"]);
    }

    [Fact]
    public async Task A_first_sync_in_windows_reports_in_full_batches_as_the_windows_finish()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.WriteNumbered(7);

        var (summary, results) = await ctx.SyncAsync(o =>
        {
            o.WindowKeys = 2;
            o.ReportBatchSize = 3;
        });

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(7, summary.FilesUploaded);
        Assert.Equal(new[] { 3, 3, 1 }, ctx.Reports.Reports.Select(r => r.GetProperty("items").GetArrayLength()));
        Assert.Equal(
            Enumerable.Range(0, 7).Select(i => $"{ctx.Prefix}f{i:00}.txt"),
            ctx.Reports.Items.Select(i => i.GetProperty("r2_key").GetString()!).OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(7, summary.ReportedItems);
        Assert.Equal(3, summary.ReportEventIds.Count);
    }

    [Fact]
    public async Task A_first_download_in_windows_takes_a_key_the_store_lists_after_its_place()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var source = Path.Combine(ctx.Root, "source");
        var files = new[] { "d/a.txt", "d/b.txt", "d/c.txt", "d.txt", "e.txt" };
        foreach (var name in files)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(source, name))!);
            File.WriteAllText(Path.Combine(source, name), "put by rclone: " + name);
        }

        using var rclone = RcloneMetadataInteropTests.Rclone(ctx);
        rclone.Run("copy", source, RcloneMetadataInteropTests.Remote(ctx));
        // s3rver walks its folders: "d.txt" comes after the keys under "d/", though it sorts before them.
        var listed = (await ctx.Raw.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = ctx.Store.Bucket, Prefix = ctx.Prefix })).S3Objects.Select(o => o.Key.Substring(ctx.Prefix.Length)).ToList();
        Assert.True(listed.IndexOf("d.txt") > listed.IndexOf("d/c.txt"), string.Join(", ", listed));

        var (summary, results) = await ctx.SyncAsync(o =>
        {
            o.Direction = SyncDirection.Download;
            o.WindowKeys = 1;
        });

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(files.OrderBy(f => f, StringComparer.Ordinal), results.Select(r => r.RelativePath));
        Assert.All(results, r => Assert.Equal(SyncAction.Downloaded, r.Action));
        Assert.Equal(files.ToDictionary(f => f, f => "put by rclone: " + f), TwoWayScenarioTests.LocalTree(ctx));
        rclone.Run("check", ctx.Local, RcloneMetadataInteropTests.Remote(ctx));

        var (again, againResults) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Download);

        Assert.Empty(againResults);
        Assert.Equal(files.Length, again.FilesSkipped);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    public async Task A_first_download_in_windows_takes_a_key_the_store_lists_again_on_a_later_page_once(int windowKeys)
    {
        using var ctx = new SyncTestContext(_s3rver, o => o.ListPageKeys = 2);
        var files = new[] { "dir 0/a.txt", "dir 0/b.txt", "dir 0/c.txt", "dir 0/d.txt", "dir/x.txt", "e.txt" };
        foreach (var name in files)
        {
            await ctx.PutRawAsync(ctx.Prefix + name, "put by another tool: " + name);
        }

        // s3rver walks its folders ("dir/x.txt" before "dir 0/...") and continues after the last key given, so a key
        // it gave out of key order comes again on the pages after.
        var listed = new List<string>();
        var request = new Amazon.S3.Model.ListObjectsV2Request { BucketName = ctx.Store.Bucket, Prefix = ctx.Prefix, MaxKeys = 2 };
        Amazon.S3.Model.ListObjectsV2Response page;
        do
        {
            page = await ctx.Raw.ListObjectsV2Async(request);
            listed.AddRange(page.S3Objects.Select(o => o.Key.Substring(ctx.Prefix.Length)));
            request.ContinuationToken = page.NextContinuationToken;
        }
        while (page.IsTruncated == true);
        Assert.True(listed.Count(k => k == "dir/x.txt") > 1, string.Join(", ", listed));

        var (summary, results) = await ctx.SyncAsync(o =>
        {
            o.Direction = SyncDirection.Download;
            o.WindowKeys = windowKeys;
        });

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(files.OrderBy(f => f, StringComparer.Ordinal), results.Select(r => r.RelativePath).OrderBy(f => f, StringComparer.Ordinal));
        Assert.All(results, r => Assert.Equal(SyncAction.Downloaded, r.Action));
        Assert.Equal(files.Length, summary.ReportedItems);
        Assert.Equal(files.ToDictionary(f => f, f => "put by another tool: " + f), TwoWayScenarioTests.LocalTree(ctx));
    }

    [Fact]
    public async Task A_download_of_two_thousand_files_in_windows_of_2_and_100_does_what_the_whole_run_does()
    {
        using var ctx = new SyncTestContext(_s3rver);
        for (var i = 0; i < 2000; i++)
        {
            File.SetLastWriteTimeUtc(ctx.Write($"d{i / 100:00}/f{i % 100:000}.txt", "file " + i), Edited);
        }

        // Filled by rclone; the first sync finds every file there already and only records them.
        using var rclone = RcloneMetadataInteropTests.Rclone(ctx);
        rclone.Run("copy", "--transfers", "8", ctx.Local, RcloneMetadataInteropTests.Remote(ctx));
        var first = await ctx.SyncAsync();
        Assert.True(first.Summary.Success);
        Assert.Equal(2000, first.Summary.FilesSkipped);
        for (var i = 0; i < 2000; i += 50)
        {
            var name = $"d{i / 100:00}/f{i % 100:000}.txt";
            switch (i / 50 % 4)
            {
                case 0: await ctx.PutRawAsync(ctx.Prefix + name, "changed there " + i); break;
                case 1: await ctx.Raw.DeleteObjectAsync(ctx.Store.Bucket, ctx.Prefix + name); break;
                case 2: File.SetLastWriteTimeUtc(ctx.Write(name, "changed here " + i), Edited.AddHours(1)); break;
                default: File.Delete(Path.Combine(ctx.Local, name.Replace('/', Path.DirectorySeparatorChar))); break;
            }
        }

        await ctx.PutRawAsync(ctx.Prefix + "d05/new there.txt", "new there");
        ctx.Write("d07/new here.txt", "new here");
        var before = Path.Combine(ctx.Root, "before");
        CopyTree(ctx.Root, before, "folder", "state");

        var outcomes = new List<(List<string> Results, Dictionary<string, string> Local, string Counts)>();
        foreach (var windowKeys in new[] { Whole, 2, 100 })
        {
            foreach (var side in new[] { "folder", "state" })
            {
                Directory.Delete(Path.Combine(ctx.Root, side), recursive: true);
            }

            CopyTree(before, ctx.Root, "folder", "state");
            var (summary, results) = await ctx.SyncAsync(o =>
            {
                o.Direction = SyncDirection.Download;
                o.WindowKeys = windowKeys;
            });
            Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
            outcomes.Add((
                results.Select(r => $"{r.RelativePath} {r.Action}").ToList(),
                TwoWayScenarioTests.LocalTree(ctx),
                $"{summary.FilesDownloaded} {summary.FilesDeleted} {summary.FilesSkipped} {summary.NotOwned} {summary.SourceFiles}"));
        }

        // 10 changed there, 10 changed here, 10 deleted here and the new one; 10 deleted there.
        Assert.Equal(31, outcomes[0].Results.Count(r => r.EndsWith(" Downloaded", StringComparison.Ordinal)));
        Assert.Equal(10, outcomes[0].Results.Count(r => r.EndsWith(" Deleted", StringComparison.Ordinal)));
        foreach (var windowed in outcomes.Skip(1))
        {
            Assert.Equal(outcomes[0].Results, windowed.Results);
            Assert.Equal(outcomes[0].Local, windowed.Local);
            Assert.Equal(outcomes[0].Counts, windowed.Counts);
        }
    }

    // Copies the folders named from one root to another, with their files' modification times.
    private static void CopyTree(string fromRoot, string toRoot, params string[] folders)
    {
        foreach (var folder in folders)
        {
            var from = Path.Combine(fromRoot, folder);
            foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            {
                var to = Path.Combine(toRoot, folder, Path.GetRelativePath(from, file));
                Directory.CreateDirectory(Path.GetDirectoryName(to)!);
                File.Copy(file, to);
                File.SetLastWriteTimeUtc(to, File.GetLastWriteTimeUtc(file));
            }
        }
    }

    private sealed record Outcome(ChittySyncSummary Summary, List<string> Results, Dictionary<string, string> Local, Dictionary<string, string> Remote, List<string> Reported)
    {
        public string Errors => string.Join("; ", Results.Where(r => r.Contains("Failed", StringComparison.Ordinal)));
    }

    // A folder of 24 files synced, then changed on both sides (edits, deletes, new files, one conflict) and synced
    // again with windows of windowKeys keys; the paths are spread over folders and names that sort apart in
    // UTF-16 and UTF-8 order.
    private async Task<Outcome> ChangedFolderRunAsync(SyncDirection direction, int windowKeys)
    {
        using var ctx = new SyncTestContext(_s3rver);
        var names = Enumerable.Range(0, 24).Select(i => (i % 4) switch
        {
            0 => $"a/f{i:00}.txt",
            1 => $"a-b/f{i:00}.txt",
            2 => $"z\uFF5E/f{i:00}.txt",
            _ => $"z\U0001F600/f{i:00}.txt",
        }).ToList();
        foreach (var name in names)
        {
            File.SetLastWriteTimeUtc(ctx.Write(name, "v1 of " + name), Edited);
        }

        // Uploaded first (a download's first run would find nothing to fetch); the state then owns every path.
        var first = await ctx.SyncAsync(o => o.Direction = direction == SyncDirection.Download ? SyncDirection.Upload : direction);
        Assert.True(first.Summary.Success);

        for (var i = 0; i < 3; i++)
        {
            File.SetLastWriteTimeUtc(ctx.Write(names[i], "v2 here of " + names[i]), Edited.AddHours(1));
            await ctx.PutRawAsync(ctx.Prefix + names[i + 4], "v2 there of " + names[i + 4]);
            File.Delete(Path.Combine(ctx.Local, names[i + 8]));
            await ctx.Raw.DeleteObjectAsync(ctx.Store.Bucket, ctx.Prefix + names[i + 12]);
        }

        File.SetLastWriteTimeUtc(ctx.Write(names[16], "v2 here, conflicting"), Edited.AddHours(2));
        await ctx.PutRawAsync(ctx.Prefix + names[16], "v2 there, conflicting");
        File.SetLastWriteTimeUtc(ctx.Write("a/new here.txt", "new here"), Edited);
        File.SetLastWriteTimeUtc(ctx.Write("n\u00e9/new here.txt", "new here"), Edited);
        await ctx.PutRawAsync(ctx.Prefix + "a/new there.txt", "new there");
        await ctx.PutRawAsync(ctx.Prefix + "z\U0001F600/new there.txt", "new there");
        ctx.Reports.Reports.Clear();

        var (summary, results) = await ctx.SyncAsync(o =>
        {
            o.Direction = direction;
            o.WindowKeys = windowKeys;
        });

        var remote = (await ctx.RemoteContentAsync()).ToDictionary(p => p.Key, p => Encoding.UTF8.GetString(p.Value), StringComparer.Ordinal);
        var reported = ctx.Reports.Items.Select(i => i.GetProperty("r2_key").GetString()!.Substring(ctx.Prefix.Length)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        return new Outcome(
            summary,
            results.Select(r => $"{r.RelativePath} {r.Action} {r.Operation} {r.Conflict} {r.ConflictPath} {r.Error}").ToList(),
            new SortedDictionary<string, string>(TwoWayScenarioTests.LocalTree(ctx), StringComparer.Ordinal).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal),
            remote,
            reported);
    }
}
