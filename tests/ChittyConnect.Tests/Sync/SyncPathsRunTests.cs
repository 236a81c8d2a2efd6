using System.Text;
using ChittyConnect.Storage;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>
/// A run over the paths a watch saw change (SyncEngine.RunAsync with paths): it costs a HEAD per path and no
/// listing, and decides by the rules of a whole run: conflicts keep both, the guards weigh its deletes against
/// every file synced, the baseline of the other paths stays, and what paths cannot settle runs whole.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class SyncPathsRunTests
{
    private readonly S3rverProcess _s3rver;

    public SyncPathsRunTests(S3rverProcess s3rver) => _s3rver = s3rver;

    private static void Both(SyncOptions o) => o.Direction = SyncDirection.Both;

    private static DateTime Later => DateTime.UtcNow.AddMinutes(1);

    private static async Task<(ChittySyncSummary Summary, List<ChittySyncResult> Results)> RunPathsAsync(SyncTestContext ctx, Action<SyncOptions> configure, params string[] paths)
    {
        var results = new List<ChittySyncResult>();
        ctx.Wire.Clear();
        var summary = await ctx.Engine.RunAsync(ctx.Options(configure), paths, r =>
        {
            lock (results)
            {
                results.Add(r);
            }
        }, null, CancellationToken.None);
        return (summary, results.OrderBy(r => r.RelativePath, StringComparer.Ordinal).ToList());
    }

    private static async Task<SyncTestContext> SyncedFolderAsync(S3rverProcess s3rver, int files, Action<SyncOptions> configure)
    {
        var ctx = new SyncTestContext(s3rver);
        for (var i = 0; i < files; i++)
        {
            ctx.Write($"d{i % 10}/f{i:D4}.txt", "file " + i);
        }

        var (first, results) = await ctx.SyncAsync(configure);
        Assert.True(first.Success, string.Join("; ", results.Select(r => r.Error)));
        return ctx;
    }

    [Theory]
    [InlineData(SyncDirection.Both, 1001)]
    [InlineData(SyncDirection.Upload, 20)]
    public async Task A_local_edit_in_a_large_folder_costs_a_HEAD_and_a_PUT_and_reads_no_other_file(SyncDirection direction, int files)
    {
        // 1,001 files: a whole run would list two pages.
        using var ctx = await SyncedFolderAsync(_s3rver, files, o => o.Direction = direction);
        File.SetLastWriteTimeUtc(ctx.Write("d3/f0003.txt", "edited, and longer"), Later);

        var (summary, results) = await RunPathsAsync(ctx, o => o.Direction = direction, "d3/f0003.txt");

        var uploaded = Assert.Single(results);
        Assert.Equal(("d3/f0003.txt", SyncAction.Uploaded), (uploaded.RelativePath, uploaded.Action));
        Assert.True(summary.PathsOnly);
        Assert.Equal("HEAD,PUT", ctx.Wire.ToString());
        Assert.Equal(Encoding.UTF8.GetByteCount("edited, and longer"), summary.BytesHashed);
        Assert.Equal("edited, and longer", Encoding.UTF8.GetString((await ctx.RemoteContentAsync())["d3/f0003.txt"]));

        // The other paths kept their baseline: a whole run afterwards finds nothing to do and reads nothing.
        var (whole, wholeResults) = await ctx.SyncAsync(o => o.Direction = direction);
        Assert.Empty(wholeResults);
        Assert.Equal(files, whole.FilesSkipped);
        Assert.Equal(0, whole.BytesHashed);
    }

    [Fact]
    public async Task A_file_edited_on_both_sides_keeps_both_versions()
    {
        using var ctx = await SyncedFolderAsync(_s3rver, 3, Both);
        // Another tool writes the object (no event; the last listing would still show the old version).
        await ctx.PutRawAsync(ctx.Prefix + "d1/f0001.txt", "remote side");
        File.SetLastWriteTimeUtc(ctx.Write("d1/f0001.txt", "local side"), Later);

        var (summary, results) = await RunPathsAsync(ctx, Both, "d1/f0001.txt");

        Assert.True(summary.PathsOnly);
        Assert.Equal(0, ctx.Wire.Count("LIST"));
        var conflict = Assert.Single(results);
        Assert.Equal(SyncAction.Conflict, conflict.Action);
        Assert.Equal(SyncConflict.BothChanged, conflict.Conflict);
        Assert.Equal("remote side", File.ReadAllText(Path.Combine(ctx.Local, "d1", "f0001.txt")));
        Assert.Equal("local side", File.ReadAllText(Path.Combine(ctx.Local, conflict.ConflictPath!)));
        var remote = await ctx.RemoteContentAsync();
        Assert.Equal("local side", Encoding.UTF8.GetString(remote[conflict.ConflictPath!]));
        Assert.Equal("remote side", Encoding.UTF8.GetString(remote["d1/f0001.txt"]));
    }

    [Fact]
    public async Task Local_deletes_over_MaxDelete_are_withheld_and_the_rest_of_the_run_goes_ahead()
    {
        using var ctx = await SyncedFolderAsync(_s3rver, 10, Both);
        var deleted = new[] { "d1/f0001.txt", "d2/f0002.txt", "d3/f0003.txt" };
        foreach (var rel in deleted)
        {
            File.Delete(Path.Combine(ctx.Local, rel));
        }

        File.SetLastWriteTimeUtc(ctx.Write("d4/f0004.txt", "edited"), Later);

        var (summary, results) = await RunPathsAsync(ctx, o => { Both(o); o.MaxDelete = 2; }, deleted.Append("d4/f0004.txt").ToArray());

        Assert.True(summary.PathsOnly);
        Assert.Equal(3, summary.DeletesWithheld);
        Assert.Equal(SyncWithholdReason.MaxDelete, summary.DeletesWithheldBecause);
        Assert.Equal(("d4/f0004.txt", SyncAction.Uploaded), (Assert.Single(results).RelativePath, results[0].Action));
        Assert.Equal(10, (await ctx.RemoteContentAsync()).Count);
    }

    [Fact]
    public async Task Deleting_more_than_MaxDeletePercent_of_every_file_synced_stops_the_run()
    {
        using var ctx = await SyncedFolderAsync(_s3rver, 10, Both);
        var deleted = Enumerable.Range(0, 6).Select(i => $"d{i}/f{i:D4}.txt").ToArray();
        foreach (var rel in deleted)
        {
            File.Delete(Path.Combine(ctx.Local, rel));
        }

        // 6 of the 10 files synced (not 6 of the 6 paths looked at): over the default 50 %.
        var ex = await Assert.ThrowsAsync<SyncException>(() => RunPathsAsync(ctx, Both, deleted));
        Assert.Equal("SyncTooManyDeletes", ex.ErrorId);
        Assert.Contains("6 of the 10", ex.Message);
        Assert.Equal(10, (await ctx.RemoteContentAsync()).Count);

        // Under it, the same run over fewer paths deletes them.
        var (summary, results) = await RunPathsAsync(ctx, Both, deleted.Take(2).ToArray());
        Assert.True(summary.PathsOnly);
        Assert.All(results, r => Assert.Equal(SyncAction.DeletedRemote, r.Action));
        Assert.Equal(2, results.Count);
    }

    [Fact]
    public async Task An_emptied_folder_runs_whole_and_meets_the_empty_side_guard()
    {
        using var ctx = await SyncedFolderAsync(_s3rver, 2, Both);
        File.Delete(Path.Combine(ctx.Local, "d0", "f0000.txt"));
        File.Delete(Path.Combine(ctx.Local, "d1", "f0001.txt"));

        var ex = await Assert.ThrowsAsync<SyncException>(() => RunPathsAsync(ctx, Both, "d0/f0000.txt"));

        Assert.Equal("SyncSideEmpty", ex.ErrorId);
        Assert.Equal(1, ctx.Wire.Count("LIST"));
        Assert.Equal(2, (await ctx.RemoteContentAsync()).Count);
    }

    [Fact]
    public async Task A_path_deleted_remotely_or_a_folder_runs_whole()
    {
        using var ctx = await SyncedFolderAsync(_s3rver, 4, Both);
        await ctx.Raw.DeleteObjectAsync(ctx.Store.Bucket, ctx.Prefix + "d1/f0001.txt");
        File.SetLastWriteTimeUtc(ctx.Write("d1/f0001.txt", "edited here"), Later);

        var (summary, results) = await RunPathsAsync(ctx, Both, "d1/f0001.txt");

        Assert.False(summary.PathsOnly);
        Assert.Equal(1, ctx.Wire.Count("LIST"));
        var back = Assert.Single(results);
        Assert.Equal((SyncAction.Conflict, SyncConflict.ChangedLocallyDeletedRemotely), (back.Action, back.Conflict));

        // A folder moved in names only the folder: what is in it is found by a whole run.
        var moved = Path.Combine(ctx.Root, "moved");
        Directory.CreateDirectory(moved);
        File.WriteAllText(Path.Combine(moved, "inside.txt"), "moved in");
        Directory.Move(moved, Path.Combine(ctx.Local, "moved"));

        (summary, results) = await RunPathsAsync(ctx, Both, "moved");

        Assert.False(summary.PathsOnly);
        Assert.Equal(("moved/inside.txt", SyncAction.Uploaded), (Assert.Single(results).RelativePath, results[0].Action));
    }

    [Fact]
    public async Task Where_the_folder_ignores_case_a_two_way_run_over_paths_runs_whole()
    {
        using var ctx = await SyncedFolderAsync(_s3rver, 2, Both);
        File.SetLastWriteTimeUtc(ctx.Write("d0/f0000.txt", "edited"), Later);
        ctx.Wire.Clear();

        var summary = await ctx.CaseInsensitiveEngine().RunAsync(ctx.Options(Both), new[] { "d0/f0000.txt" }, null, null, CancellationToken.None);

        Assert.False(summary.PathsOnly);
        Assert.Equal(1, ctx.Wire.Count("LIST"));
        Assert.Equal(1, summary.FilesUploaded);
    }

    [Fact]
    public async Task A_lone_file_edited_while_it_is_uploaded_is_sent_again_not_taken_for_an_empty_prefix()
    {
        var edit = 0;
        string? path = null;
        using var ctx = new SyncTestContext(_s3rver, wrapHandler: inner => new AfterPut(inner, () =>
        {
            // The file changes once the store took the first bytes: what it stored is not what was hashed.
            if (Interlocked.Exchange(ref edit, 0) == 1)
            {
                File.WriteAllText(path!, "third version, written during the upload");
            }
        }));
        path = ctx.Write("only.txt", "first version");
        var (first, _) = await ctx.SyncAsync(Both);
        Assert.Equal(1, first.FilesUploaded);

        File.SetLastWriteTimeUtc(ctx.Write("only.txt", "second version"), Later);
        edit = 1;
        var (during, duringResults) = await ctx.SyncAsync(Both);

        var failed = Assert.Single(duringResults);
        Assert.Equal(SyncAction.Failed, failed.Action);
        Assert.Contains("changed while it was being uploaded", failed.Error);
        // The store removed what it took: the prefix is empty now, by this sync's own doing.
        Assert.Empty(await ctx.RemoteContentAsync());

        var (after, afterResults) = await ctx.SyncAsync(Both);

        Assert.True(after.Success, string.Join("; ", afterResults.Select(r => r.Error)));
        var sent = Assert.Single(afterResults);
        Assert.Equal((SyncAction.Uploaded, SyncConflict.None), (sent.Action, sent.Conflict));
        Assert.Equal("third version, written during the upload", Encoding.UTF8.GetString((await ctx.RemoteContentAsync())["only.txt"]));
    }

    // Calls a hook once each PUT has been answered.
    private sealed class AfterPut : DelegatingHandler
    {
        private readonly Action _afterPut;

        public AfterPut(HttpMessageHandler inner, Action afterPut)
            : base(inner) => _afterPut = afterPut;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (request.Method == HttpMethod.Put)
            {
                _afterPut();
            }

            return response;
        }
    }
}
