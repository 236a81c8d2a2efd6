using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ChittyConnect.Configuration;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>
/// What a sync may delete: only what it owns (its state recorded on both sides, still unchanged), never more
/// than a share of a side without -Force, never on the strength of another machine's state; and what it reports.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class SyncOwnershipTests
{
    private readonly S3rverProcess _s3rver;

    public SyncOwnershipTests(S3rverProcess s3rver) => _s3rver = s3rver;

    private static void Both(SyncOptions o) => o.Direction = SyncDirection.Both;

    private static async Task<List<string>> KeysAsync(SyncTestContext ctx, string prefix)
    {
        var listing = await ctx.Raw.ListObjectsV2Async(new Amazon.S3.Model.ListObjectsV2Request { BucketName = ctx.Store.Bucket, Prefix = prefix });
        return (listing.S3Objects ?? new()).Select(o => o.Key).OrderBy(k => k, StringComparer.Ordinal).ToList();
    }

    [Fact]
    public async Task An_upload_deletes_only_what_it_put_there_and_unchanged_and_mirror_deletes_the_rest()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("mine.txt", "mine");
        ctx.Write("edited-elsewhere.txt", "v1");
        ctx.Write("keep.txt", "keep");
        await ctx.PutRawAsync(ctx.Prefix + "2026/12/07/upload.pdf", "Send-ChittyFile's");
        await ctx.SyncAsync();
        File.Delete(Path.Combine(ctx.Local, "mine.txt"));
        File.Delete(Path.Combine(ctx.Local, "edited-elsewhere.txt"));
        await ctx.PutRawAsync(ctx.Prefix + "edited-elsewhere.txt", "v2 from another device");

        var (summary, results) = await ctx.SyncAsync(o => o.MaxDeletePercent = 100);

        Assert.True(summary.Success);
        Assert.Equal(new[] { ("mine.txt", SyncAction.Deleted) }, results.Select(r => (r.RelativePath, r.Action)));
        Assert.Equal(2, summary.NotOwned);
        Assert.Equal(new[] { "2026/12/07/upload.pdf", "edited-elsewhere.txt", "keep.txt" }, (await ctx.RemoteContentAsync()).Keys.OrderBy(k => k, StringComparer.Ordinal));

        var (mirror, mirrored) = await ctx.SyncAsync(o =>
        {
            o.Mirror = true;
            o.MaxDeletePercent = 100;
        });
        Assert.True(mirror.Success);
        Assert.Equal(new[] { "2026/12/07/upload.pdf", "edited-elsewhere.txt" }, mirrored.Where(r => r.Action == SyncAction.Deleted).Select(r => r.RelativePath));
        Assert.Equal(new[] { "keep.txt" }, (await ctx.RemoteContentAsync()).Keys);
    }

    [Fact]
    public async Task Two_devices_syncing_different_folders_into_one_session_never_delete_each_others_objects()
    {
        using var a = new SyncTestContext(_s3rver);
        using var b = new SyncTestContext(_s3rver);
        var session = "session-" + Guid.NewGuid().ToString("N")[..8];
        var notes = Path.Combine(a.Root, "notes");
        var photos = Path.Combine(b.Root, "photos");
        var notesOnB = Path.Combine(b.Root, "notes");
        foreach (var (folder, name) in new[] { (notes, "a.txt"), (notes, "b.txt"), (photos, "p.jpg"), (notesOnB, "from-b.txt") })
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, name), name + " of " + folder);
        }

        await a.Engine.RunAsync(a.Options(o => { o.LocalPath = notes; o.Prefix = SyncEngine.DefaultPrefix(session, notes); }), null, null, default);
        await b.Engine.RunAsync(b.Options(o => { o.LocalPath = photos; o.Prefix = SyncEngine.DefaultPrefix(session, photos); }), null, null, default);
        // Device B has a folder of the same name: the same prefix, other files.
        await b.Engine.RunAsync(b.Options(o => { o.LocalPath = notesOnB; o.Prefix = SyncEngine.DefaultPrefix(session, notesOnB); }), null, null, default);
        File.Delete(Path.Combine(notes, "b.txt"));
        await a.Engine.RunAsync(a.Options(o => { o.LocalPath = notes; o.Prefix = SyncEngine.DefaultPrefix(session, notes); }), null, null, default);
        var two = await b.Engine.RunAsync(b.Options(o => { o.LocalPath = notesOnB; o.Prefix = SyncEngine.DefaultPrefix(session, notesOnB); }), null, null, default);

        Assert.Equal($"files/{session}/sync/notes/", SyncEngine.DefaultPrefix(session, notes + "/"));
        Assert.Equal(1, two.NotOwned);
        Assert.Equal(
            new[] { $"files/{session}/sync/notes/a.txt", $"files/{session}/sync/notes/from-b.txt", $"files/{session}/sync/photos/p.jpg" },
            await KeysAsync(a, $"files/{session}/"));
    }

    [Fact]
    public async Task Two_folders_of_one_name_on_one_machine_never_share_a_prefix_they_write_to()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var session = "session-" + Guid.NewGuid().ToString("N")[..8];
        var work = Path.Combine(ctx.Root, "work", "notes");
        var home = Path.Combine(ctx.Root, "home", "notes");
        Directory.CreateDirectory(work);
        Directory.CreateDirectory(home);
        File.WriteAllText(Path.Combine(work, "plan.txt"), "work's plan");
        File.WriteAllText(Path.Combine(home, "plan.txt"), "home's plan");
        File.WriteAllText(Path.Combine(home, "diary.txt"), "home's diary");
        SyncOptions Notes(string folder, SyncDirection direction, bool planOnly = false) => ctx.Options(o =>
        {
            o.LocalPath = folder;
            o.Prefix = SyncEngine.DefaultPrefix(session, folder);
            o.Direction = direction;
            o.PlanOnly = planOnly;
        });
        var prefix = $"files/{session}/sync/notes/";

        // A -WhatIf run claims nothing: the other folder can still be the first.
        await ctx.Engine.RunAsync(Notes(home, SyncDirection.Upload, planOnly: true), null, null, default);
        await ctx.Engine.RunAsync(Notes(work, SyncDirection.Both), null, null, default);
        foreach (var direction in new[] { SyncDirection.Upload, SyncDirection.Both })
        {
            foreach (var planOnly in new[] { false, true })
            {
                var refused = await Assert.ThrowsAsync<SyncException>(() => ctx.Engine.RunAsync(Notes(home, direction, planOnly), null, null, default));
                Assert.Equal("SyncPrefixInUse", refused.ErrorId);
                Assert.Contains(work, refused.Message);
                Assert.Contains("-Prefix", refused.Message);
            }
        }

        Assert.Equal(new[] { prefix + "plan.txt" }, await KeysAsync(ctx, prefix));
        Assert.False(File.Exists(Path.Combine(work, "diary.txt")));

        // A download into the other folder is a copy: it cannot reach the first folder's files.
        var copy = await ctx.Engine.RunAsync(Notes(home, SyncDirection.Download), null, null, default);
        Assert.True(copy.Success);
        Assert.Equal("work's plan", File.ReadAllText(Path.Combine(home, "plan.txt")));

        // The first folder moved away: its claim passes to the folder that syncs next.
        Directory.Move(work, Path.Combine(ctx.Root, "work", "old-notes"));
        var second = await ctx.Engine.RunAsync(Notes(home, SyncDirection.Upload), null, null, default);
        Assert.True(second.Success);
        Assert.Equal(new[] { prefix + "diary.txt", prefix + "plan.txt" }, await KeysAsync(ctx, prefix));
    }

    [Fact]
    public async Task A_one_way_run_deleting_more_than_the_share_stops_before_anything_changes_unless_forced()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.WriteNumbered(20);

        await ctx.SyncAsync();
        ctx.DeleteNumbered(15);

        ctx.Write("new.txt", "new");

        var refused = await Assert.ThrowsAsync<SyncException>(() => ctx.SyncAsync());

        Assert.Equal("SyncTooManyDeletes", refused.ErrorId);
        Assert.Contains("15 of the 20", refused.Message);
        Assert.Contains("75%", refused.Message);
        Assert.Equal(20, (await ctx.RemoteContentAsync()).Count);
        Assert.Equal(0, ctx.Wire.Count("DELETE") + ctx.Wire.Count("PUT"));

        // The state still owns the files whose deletion was refused: the forced run deletes them.
        var (forced, results) = await ctx.SyncAsync(o => o.Force = true);
        Assert.True(forced.Success);
        Assert.Equal(15, results.Count(r => r.Action == SyncAction.Deleted));
        Assert.Equal(6, (await ctx.RemoteContentAsync()).Count);

        // 10%: allowed without -Force.
        ctx.WriteNumbered(14, "g", "more ");

        await ctx.SyncAsync();
        File.Delete(Path.Combine(ctx.Local, "g00.txt"));
        File.Delete(Path.Combine(ctx.Local, "g01.txt"));
        var (allowed, deleted) = await ctx.SyncAsync();
        Assert.True(allowed.Success);
        Assert.Equal(2, deleted.Count(r => r.Action == SyncAction.Deleted));
    }

    [Fact]
    public async Task A_first_mirror_that_would_delete_most_of_the_prefix_stops_and_counts_what_the_prefix_has_now()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("kept.txt", "kept");
        for (var i = 0; i < 3; i++)
        {
            await ctx.PutRawAsync(ctx.Prefix + $"other{i}.txt", "another tool's");
        }

        var refused = await Assert.ThrowsAsync<SyncException>(() => ctx.SyncAsync(o => o.Mirror = true));

        Assert.Equal("SyncTooManyDeletes", refused.ErrorId);
        Assert.StartsWith($"This run would delete 3 of the 3 file(s) '{ctx.Store.Bucket}/{ctx.Prefix}' has (100%)", refused.Message, StringComparison.Ordinal);
        Assert.Equal(3, (await ctx.RemoteContentAsync()).Count);
    }

    [Fact]
    public async Task A_two_way_run_deleting_more_than_the_share_of_a_side_stops_and_a_small_share_goes_ahead()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.WriteNumbered(20);

        await ctx.SyncAsync(Both);
        ctx.DeleteNumbered(15);

        var refused = await Assert.ThrowsAsync<SyncException>(() => ctx.SyncAsync(Both));
        Assert.Equal("SyncTooManyDeletes", refused.ErrorId);
        Assert.Equal(20, (await ctx.RemoteContentAsync()).Count);
        Assert.Equal(0, ctx.Wire.Count("DELETE"));

        // Two of twenty on the remote side (10%) are deleted locally.
        ctx.WriteNumbered(15);

        await ctx.SyncAsync(Both);
        await ctx.Raw.DeleteObjectAsync(ctx.Store.Bucket, ctx.Prefix + "f18.txt");
        await ctx.Raw.DeleteObjectAsync(ctx.Store.Bucket, ctx.Prefix + "f19.txt");
        var (allowed, results) = await ctx.SyncAsync(Both);
        Assert.True(allowed.Success);
        Assert.Equal(2, results.Count(r => r.Action == SyncAction.DeletedLocal));
    }

    [Theory]
    [InlineData(SyncDirection.Upload)]
    [InlineData(SyncDirection.Download)]
    [InlineData(SyncDirection.Both)]
    public async Task A_file_given_as_the_folder_is_a_clear_error_and_nothing_is_written(SyncDirection direction)
    {
        using var ctx = new SyncTestContext(_s3rver);
        await ctx.PutRawAsync(ctx.Prefix + "a.txt", "a");
        var file = Path.Combine(ctx.Root, "rcloneignore");
        File.WriteAllText(file, "*.tmp\n");

        var error = await Assert.ThrowsAsync<SyncException>(() => ctx.SyncAsync(o =>
        {
            o.LocalPath = file;
            o.Direction = direction;
            o.Force = true;
        }));

        Assert.Equal("SyncPathNotFolder", error.ErrorId);
        Assert.DoesNotContain("-Force", error.Message);
        Assert.Equal("*.tmp\n", File.ReadAllText(file));
        Assert.Equal(new[] { "a.txt" }, (await ctx.RemoteContentAsync()).Keys);
        Assert.Equal(0, ctx.Wire.Total);
    }

    [Fact]
    public async Task A_missing_folder_is_an_error_that_force_does_not_turn_into_deletes()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a");
        await ctx.SyncAsync();
        var typo = ctx.Local + "-typo";

        var error = await Assert.ThrowsAsync<SyncException>(() => ctx.SyncAsync(o =>
        {
            o.LocalPath = typo;
            o.Force = true;
            o.Mirror = true;
        }));

        Assert.Equal("SyncSourceMissing", error.ErrorId);
        Assert.DoesNotContain("-Force", error.Message);
        Assert.Single(await ctx.RemoteContentAsync());
    }

    [Fact]
    public async Task A_state_written_on_another_machine_is_a_first_run_that_deletes_nothing()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a");
        ctx.Write("b.txt", "b");
        ctx.Write("c.txt", "c");
        var (first, _) = await ctx.SyncAsync(Both);
        var statePath = first.StatePath;
        Assert.Equal(MachineId.Current, StateFileLines.Records(statePath!, "machine").Single()[1]);
        File.WriteAllText(statePath!, File.ReadAllText(statePath!).Replace("machine\t" + MachineId.Current, "machine\tanother-machine"));
        File.Delete(Path.Combine(ctx.Local, "a.txt"));

        var (summary, results) = await ctx.SyncAsync(Both);

        Assert.Contains("another machine", summary.StateWarning);
        Assert.Equal(new[] { ("a.txt", SyncAction.Downloaded) }, results.Select(r => (r.RelativePath, r.Action)));
        Assert.Equal(3, (await ctx.RemoteContentAsync()).Count);
        Assert.Equal(MachineId.Current, StateFileLines.Records(statePath!, "machine").Single()[1]);
    }

    [Fact]
    public async Task A_state_from_before_machine_ids_is_a_cache_of_hashes_and_never_a_reason_to_delete()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a");
        ctx.Write("b.txt", "b");
        ctx.Write("c.txt", "c");
        var (first, _) = await ctx.SyncAsync();
        File.WriteAllText(first.StatePath, StateFileLines.AsJson(first.StatePath!, version: 1));
        File.Delete(Path.Combine(ctx.Local, "a.txt"));

        var (summary, results) = await ctx.SyncAsync();

        // Whose state it was cannot be told (a roaming folder may have brought it): a.txt is left, not deleted;
        // the others are not read again.
        Assert.Empty(results);
        Assert.Equal(1, summary.NotOwned);
        Assert.Equal(0, summary.FilesHashed);
        Assert.Equal(3, (await ctx.RemoteContentAsync()).Count);
        // Re-recorded by this machine: from now on its deletes propagate.
        File.Delete(Path.Combine(ctx.Local, "b.txt"));
        var (next, nextResults) = await ctx.SyncAsync();
        Assert.Equal(new[] { ("b.txt", SyncAction.Deleted) }, nextResults.Select(r => (r.RelativePath, r.Action)));
        Assert.Equal(1, next.NotOwned);
    }

    [Fact]
    public void State_files_are_owner_only_and_earlier_states_move_once_to_the_local_folder()
    {
        var root = Directory.CreateTempSubdirectory("chitty-state-").FullName;
        try
        {
            var roaming = Path.Combine(root, "config", "sync-state");
            var local = Path.Combine(root, "local", "sync-state");
            var state = new SyncState(Path.Combine(roaming, "0123.json"), "identity");
            state.Remember("a.txt", new SyncStateEntry { Size = 1, ModifiedTicks = 2, Sha256 = new string('a', 64), Md5 = new string('b', 32) }, "\"etag\"", transferred: true);
            state.Save();
            File.WriteAllText(Path.Combine(roaming, "0123.json.lock"), "1");
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(state.Path));
            }

            Assert.Equal(1, SyncStateLocation.MoveStates(roaming, local));
            Assert.Equal(0, SyncStateLocation.MoveStates(roaming, local));

            Assert.False(Directory.Exists(roaming));
            var moved = SyncState.Load(Path.Combine(local, "0123.json"), "identity", out var warning);
            Assert.Null(warning);
            Assert.Equal("\"etag\"", moved.EntryFor("a.txt")!.RemoteETag);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_run_reports_what_it_moved_itself_and_nothing_both_sides_already_had()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a");
        ctx.Write("b.txt", "b");
        await ctx.SyncAsync();
        Assert.Equal(2, ctx.Reports.Items.Count());

        // Another device downloads: its run reports its two downloads, a no-op run after it nothing.
        var device = Path.Combine(ctx.Root, "device-b");
        var deviceState = Path.Combine(ctx.Root, "state-b");
        await ctx.SyncAsync(o => { o.Direction = SyncDirection.Download; o.LocalPath = device; o.StateDirectory = deviceState; o.Source = "device-b"; });
        Assert.Equal(2, ctx.Reports.Reports.Count);
        Assert.Equal("device-b", ctx.Reports.Reports[1].GetProperty("source").GetString());
        Assert.Equal(2, ctx.Reports.Reports[1].GetProperty("items").GetArrayLength());
        await ctx.SyncAsync(o => { o.Direction = SyncDirection.Download; o.LocalPath = device; o.StateDirectory = deviceState; });
        await ctx.SyncAsync();
        Assert.Equal(2, ctx.Reports.Reports.Count);

        // A folder copied by other means, first synced two-way under a fresh state: nothing to report.
        var copy = Path.Combine(ctx.Root, "copy");
        Directory.CreateDirectory(copy);
        File.Copy(Path.Combine(ctx.Local, "a.txt"), Path.Combine(copy, "a.txt"));
        File.Copy(Path.Combine(ctx.Local, "b.txt"), Path.Combine(copy, "b.txt"));
        var (twoWay, moved) = await ctx.SyncAsync(o => { Both(o); o.LocalPath = copy; o.StateDirectory = Path.Combine(ctx.Root, "state-c"); });
        Assert.Empty(moved);
        Assert.Equal(2, twoWay.FilesSkipped);
        Assert.Equal(2, ctx.Reports.Reports.Count);
    }

    [Fact]
    public async Task A_failed_report_of_a_download_is_sent_by_the_next_run()
    {
        using var ctx = new SyncTestContext(_s3rver);
        await ctx.PutRawAsync(ctx.Prefix + "a.txt", "a");
        ctx.Reports.Fail = true;

        var (failed, _) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Download);
        Assert.NotNull(failed.ReportError);
        ctx.Reports.Fail = false;

        var (next, results) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Download);
        Assert.Empty(results);
        Assert.Equal(1, next.ReportedItems);
        Assert.Equal(new[] { ctx.Prefix + "a.txt" }, ctx.Reports.Items.Select(i => i.GetProperty("r2_key").GetString()));
    }
}
