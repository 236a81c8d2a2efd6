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
    private const int Whole = int.MaxValue;

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
