using System.Text;
using Amazon.S3.Model;
using ChittyConnect.Filters;
using ChittyConnect.Storage;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

[Collection(S3rverCollection.Name)]
public sealed class SyncEngineTests
{
    private readonly S3rverProcess _s3rver;

    public SyncEngineTests(S3rverProcess s3rver) => _s3rver = s3rver;

    [Fact]
    public async Task Upload_copies_the_tree_byte_for_byte_and_a_rerun_is_a_single_listing()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var files = ctx.WriteFixtureTree();

        var (summary, results) = await ctx.SyncAsync();

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(files.Keys.OrderBy(k => k, StringComparer.Ordinal), results.Select(r => r.RelativePath));
        Assert.All(results, r => Assert.Equal(SyncAction.Uploaded, r.Action));
        Assert.All(results, r => Assert.Equal(ctx.Prefix + r.RelativePath, r.R2Key));
        Assert.Equal(files.Count, summary.FilesUploaded);
        Assert.Equal(files.Values.Sum(v => (long)v.Length), summary.BytesUploaded);
        Assert.True(summary.Requests.Multipart >= 6, "the big file goes in parts: " + summary.Requests);
        Assert.True(ctx.Wire.Count("PART") >= 4, ctx.Wire.ToString());

        var remote = await ctx.RemoteContentAsync();
        Assert.Equal(files.Keys.OrderBy(k => k), remote.Keys.OrderBy(k => k));
        foreach (var pair in files)
        {
            Assert.Equal(SyncTestContext.Sha256(pair.Value), SyncTestContext.Sha256(remote[pair.Key]));
        }

        // Metadata: the SHA-256, rclone's md5chksum (an upload in parts) and the file's mtime in rclone's form.
        var head = await ctx.Raw.GetObjectMetadataAsync(ctx.Store.Bucket, ctx.Prefix + "big/video.bin");
        Assert.Equal(SyncTestContext.Sha256(files["big/video.bin"]), head.Metadata["sha256"]);
        Assert.Equal(Convert.ToBase64String(System.Security.Cryptography.MD5.HashData(files["big/video.bin"])), head.Metadata["md5chksum"]);
        var written = File.GetLastWriteTimeUtc(Path.Combine(ctx.Local, "big", "video.bin"));
        var ticks = (written - DateTime.UnixEpoch).Ticks;
        Assert.Equal($"{ticks / TimeSpan.TicksPerSecond}.{ticks % TimeSpan.TicksPerSecond * 100:D9}", head.Metadata["mtime"]);

        // The report named every file.
        var reported = ctx.Reports.Items.Select(i => i.GetProperty("r2_key").GetString()).OrderBy(k => k, StringComparer.Ordinal);
        Assert.Equal(files.Keys.Select(k => ctx.Prefix + k).OrderBy(k => k, StringComparer.Ordinal), reported);
        var report = Assert.Single(ctx.Reports.Reports);
        Assert.Equal(ctx.Prefix, report.GetProperty("path_prefix").GetString());
        Assert.Equal("chittyconnect-powershell", report.GetProperty("source").GetString());
        var video = ctx.Reports.Items.Single(i => i.GetProperty("r2_key").GetString()!.EndsWith("video.bin"));
        Assert.Equal(files["big/video.bin"].Length, video.GetProperty("size").GetInt64());
        Assert.Equal(SyncTestContext.Sha256(files["big/video.bin"]), video.GetProperty("sha256").GetString());
        Assert.Equal(files.Count, summary.ReportedItems);
        Assert.NotNull(summary.ReportEventId);

        // The re-run writes nothing to disk either: the state file is left as it is (not rewritten and fsynced).
        var stateFile = Directory.EnumerateFiles(ctx.StateDirectory, "*.state").Single();
        var stateBytes = File.ReadAllBytes(stateFile);
        var stateWritten = new DateTime(2001, 2, 3, 4, 5, 6, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(stateFile, stateWritten);

        var (again, againResults) = await ctx.SyncAsync();

        Assert.Equal(stateWritten, File.GetLastWriteTimeUtc(stateFile));
        Assert.Equal(stateBytes, File.ReadAllBytes(stateFile));

        Assert.Empty(againResults);
        Assert.Equal(files.Count, again.FilesSkipped);
        Assert.Equal(0, again.BytesHashed);
        Assert.Equal(0, again.FilesHashed);
        Assert.Equal(1, again.Requests.List);
        Assert.Equal(1, again.Requests.Total);
        Assert.Equal(1, ctx.Wire.Total);
        Assert.Equal(1, ctx.Wire.Count("LIST"));
        Assert.Single(ctx.Reports.Reports);
    }

    [Fact]
    public async Task Changes_additions_and_deletions_are_mirrored()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.WriteFixtureTree();
        await ctx.SyncAsync();
        var reportsBefore = ctx.Reports.Items.Count();

        var changed = ctx.Write("readme.txt", "HELLO CHITTY"); // same length, new content
        File.SetLastWriteTimeUtc(changed, DateTime.UtcNow.AddMinutes(1));
        ctx.Write("docs/new file.txt", "new");
        File.Delete(Path.Combine(ctx.Local, "docs", "notes with spaces.md"));

        var (summary, results) = await ctx.SyncAsync();

        Assert.True(summary.Success);
        Assert.Equal(
            new[] { ("docs/new file.txt", SyncAction.Uploaded), ("docs/notes with spaces.md", SyncAction.Deleted), ("readme.txt", SyncAction.Uploaded) },
            results.Select(r => (r.RelativePath, r.Action)));
        var remote = await ctx.RemoteContentAsync();
        Assert.False(remote.ContainsKey("docs/notes with spaces.md"));
        Assert.Equal("HELLO CHITTY", Encoding.UTF8.GetString(remote["readme.txt"]));
        Assert.Equal(0, summary.Requests.Get + summary.Requests.Head);
        // Only what changed is reported again.
        Assert.Equal(
            new[] { ctx.Prefix + "docs/new file.txt", ctx.Prefix + "readme.txt" },
            ctx.Reports.Items.Skip(reportsBefore).Select(i => i.GetProperty("r2_key").GetString()).OrderBy(k => k, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Filters_select_files_and_excluded_remote_objects_are_left_alone()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("keep.txt", "keep");
        ctx.Write("scratch.tmp", "tmp");
        ctx.Write("node_modules/pkg/index.js", "js");
        ctx.Write("src/app.js", "app");
        await ctx.PutRawAsync(ctx.Prefix + "remote-only.tmp", "excluded on the remote side");
        var ignore = Path.Combine(ctx.Root, "rcloneignore");
        File.WriteAllLines(ignore, new[] { "# comment", "*.tmp", "node_modules/" });
        var filters = new FilterRulesBuilder().AddExcludeFrom(ignore).Build();

        var (summary, results) = await ctx.SyncAsync(o => o.Filters = filters);

        Assert.True(summary.Success);
        Assert.Equal(new[] { "keep.txt", "src/app.js" }, results.Select(r => r.RelativePath));
        var remote = await ctx.RemoteContentAsync();
        Assert.Equal(new[] { "keep.txt", "remote-only.tmp", "src/app.js" }, remote.Keys.OrderBy(k => k, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Plan_only_lists_the_actions_and_changes_nothing()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a");
        ctx.Write("b/c.txt", "c");
        await ctx.PutRawAsync(ctx.Prefix + "gone.txt", "gone");

        // -Mirror: the object was not put there by this sync, so only an exact mirror deletes it (all of
        // the prefix's one object: beyond the default share).
        var (summary, results) = await ctx.SyncAsync(o =>
        {
            o.PlanOnly = true;
            o.Mirror = true;
            o.MaxDeletePercent = 100;
        });

        Assert.Equal(
            new[] { ("a.txt", SyncAction.PlannedUpload), ("b/c.txt", SyncAction.PlannedUpload), ("gone.txt", SyncAction.PlannedDelete) },
            results.Select(r => (r.RelativePath, r.Action)));
        Assert.Equal(2, summary.PlannedUploads);
        Assert.Equal(1, summary.PlannedDeletes);
        Assert.Equal(new[] { "gone.txt" }, (await ctx.RemoteContentAsync()).Keys);
        Assert.Empty(ctx.Reports.Reports);
        Assert.False(Directory.Exists(ctx.StateDirectory) && Directory.EnumerateFiles(ctx.StateDirectory).Any());
        Assert.Equal(ctx.Wire.Count("LIST"), ctx.Wire.Total);
    }

    [Fact]
    public async Task A_cancelled_sync_is_completed_by_the_next_run_without_resending()
    {
        using var ctx = new SyncTestContext(_s3rver);
        for (var i = 0; i < 12; i++)
        {
            ctx.Write($"f{i:00}.txt", new string('x', 100 + i));
        }

        using var cts = new CancellationTokenSource();
        var uploadedFirst = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ctx.SyncAsync(o => o.Transfers = 1, cts.Token, r =>
        {
            if (r.Action == SyncAction.Uploaded && Interlocked.Increment(ref uploadedFirst) == 3)
            {
                cts.Cancel();
            }
        }));
        Assert.InRange(uploadedFirst, 3, 11);

        var (summary, results) = await ctx.SyncAsync();

        Assert.True(summary.Success);
        Assert.Equal(12 - uploadedFirst, summary.FilesUploaded);
        Assert.Equal(12, (await ctx.RemoteContentAsync()).Count);
        // The files of the first run were remembered: they are neither read nor sent again.
        Assert.Equal(12 - uploadedFirst, summary.FilesHashed);
        // Every file is reported exactly once over both runs (the cancelled run reported nothing).
        Assert.Equal(12, ctx.Reports.Items.Select(i => i.GetProperty("r2_key").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task Too_many_deletions_are_withheld()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.WriteNumbered(5);

        await ctx.SyncAsync();
        ctx.DeleteNumbered(3);

        // 60% of the files: the share guard is lifted, the count alone is tested here.
        var (summary, results) = await ctx.SyncAsync(o =>
        {
            o.MaxDelete = 2;
            o.MaxDeletePercent = 100;
        });

        Assert.Empty(results);
        Assert.Equal(3, summary.DeletesWithheld);
        Assert.Contains("MaxDelete", summary.DeletesWithheldReason);
        Assert.False(summary.Success);
        Assert.Equal(5, (await ctx.RemoteContentAsync()).Count);
        Assert.Equal(0, ctx.Wire.Count("DELETE"));

        var (allowed, deleted) = await ctx.SyncAsync(o =>
        {
            o.MaxDelete = 3;
            o.MaxDeletePercent = 100;
        });
        Assert.True(allowed.Success);
        Assert.Equal(3, deleted.Count(r => r.Action == SyncAction.Deleted));
        Assert.Equal(2, (await ctx.RemoteContentAsync()).Count);
    }

    [Fact]
    public async Task An_empty_or_missing_source_never_wipes_the_remote_without_force()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a");
        ctx.Write("b.txt", "b");
        await ctx.SyncAsync();
        File.Delete(Path.Combine(ctx.Local, "a.txt"));
        File.Delete(Path.Combine(ctx.Local, "b.txt"));

        var (empty, _) = await ctx.SyncAsync();
        Assert.Equal(2, empty.DeletesWithheld);
        Assert.Contains("no files", empty.DeletesWithheldReason);
        Assert.Equal(2, (await ctx.RemoteContentAsync()).Count);

        Directory.Delete(ctx.Local);
        var missing = await Assert.ThrowsAsync<SyncException>(() => ctx.SyncAsync());
        Assert.Equal("SyncSourceMissing", missing.ErrorId);
        Assert.Equal(2, (await ctx.RemoteContentAsync()).Count);
        // -Force empties a folder that is there and empty, never one that is missing (a typo, a drive not mounted).
        await Assert.ThrowsAsync<SyncException>(() => ctx.SyncAsync(o => o.Force = true));

        Directory.CreateDirectory(ctx.Local);
        var (forced, results) = await ctx.SyncAsync(o => o.Force = true);
        Assert.True(forced.Success);
        Assert.Equal(2, results.Count(r => r.Action == SyncAction.Deleted));
        Assert.Empty(await ctx.RemoteContentAsync());
    }

    [Fact]
    public async Task A_missing_source_is_refused_before_any_request()
    {
        using var ctx = new SyncTestContext(_s3rver);
        Directory.Delete(ctx.Local);

        var missing = await Assert.ThrowsAsync<SyncException>(() => ctx.SyncAsync());

        Assert.Equal("SyncSourceMissing", missing.ErrorId);
        Assert.Equal(0, ctx.Wire.Total);
    }

    [Theory]
    [InlineData(SyncDirection.Upload)]
    [InlineData(SyncDirection.Download)]
    public async Task A_failing_listing_fails_the_sync_and_nothing_local_changes(SyncDirection direction)
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "alpha");
        var partial = ctx.Write(".b.txt.0123abcd" + ".chittypart", "half");
        var settings = _s3rver.Settings();
        settings.Bucket = "no-such-bucket-" + Guid.NewGuid().ToString("N")[..6];
        using var store = new R2ObjectStore(settings, new R2StoreOptions { MaxRetries = 0 });
        var engine = new SyncEngine(store, null);
        var results = new List<ChittySyncResult>();

        var error = await Assert.ThrowsAsync<ObjectStoreException>(() => engine.RunAsync(ctx.Options(o => o.Direction = direction), results.Add, null, CancellationToken.None));

        Assert.Equal("NoSuchBucket", error.Code);
        Assert.Empty(results);
        Assert.Equal("alpha", File.ReadAllText(Path.Combine(ctx.Local, "a.txt")));
        Assert.True(File.Exists(partial), "a download that could not list must not clean up either");
    }

    [Fact]
    public async Task A_corrupt_state_means_rehashing_and_still_the_right_result()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.WriteFixtureTree();
        var (first, _) = await ctx.SyncAsync();
        File.WriteAllText(first.StatePath, "{\"version\":1,\"identity\":\"tru");

        var (summary, results) = await ctx.SyncAsync();

        Assert.NotNull(summary.StateWarning);
        Assert.Empty(results);
        Assert.Equal(6, summary.FilesHashed);
        Assert.Equal(0, summary.Requests.Put + summary.Requests.Multipart);
        // The state is rebuilt: the next run reads nothing again.
        var (third, _) = await ctx.SyncAsync();
        Assert.Null(third.StateWarning);
        Assert.Equal(0, third.BytesHashed);

        File.WriteAllText(first.StatePath, "{\"version\":99}");
        var (future, _) = await ctx.SyncAsync();
        Assert.Contains("version 99", future.StateWarning);
        Assert.Equal(6, future.FilesHashed);
    }

    [Fact]
    public async Task A_json_state_of_the_version_before_is_converted_to_lines_once_and_a_no_op_then_writes_nothing()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.WriteFixtureTree();
        var (first, _) = await ctx.SyncAsync();
        var lines = File.ReadAllText(first.StatePath);
        // As the version before left it: JSON, in a file of the same name ending in .json, and no state in lines.
        var legacy = Path.ChangeExtension(first.StatePath!, ".json");
        File.WriteAllText(legacy, StateFileLines.AsJson(first.StatePath!, version: 2));
        File.Delete(first.StatePath!);

        var (converted, results) = await ctx.SyncAsync();

        // The JSON state was the baseline: nothing read or sent again, and it is in lines now, alone.
        Assert.Null(converted.StateWarning);
        Assert.Empty(results);
        Assert.Equal(0, converted.BytesHashed);
        Assert.Equal(lines, File.ReadAllText(first.StatePath));
        Assert.False(File.Exists(legacy));
        var written = File.GetLastWriteTimeUtc(first.StatePath);
        File.SetLastWriteTimeUtc(first.StatePath, written.AddMinutes(-5));

        var (noOp, _) = await ctx.SyncAsync();

        Assert.Equal(0, noOp.BytesHashed + noOp.FilesUploaded);
        Assert.Equal(written.AddMinutes(-5), File.GetLastWriteTimeUtc(first.StatePath));
    }

    [Fact]
    public async Task A_state_entry_without_an_md5_is_not_trusted_for_a_clear_prefix()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.WriteFixtureTree();
        var (first, _) = await ctx.SyncAsync();
        // Only an encrypted prefix's state may leave the MD5 out; here it is what the ETag check needs.
        var text = File.ReadAllText(first.StatePath);
        var md5 = System.Text.RegularExpressions.Regex.Match(text, "\t[0-9a-f]{64}\t([0-9a-f]{32})\t");
        Assert.True(md5.Success, text);
        File.WriteAllText(first.StatePath, text.Remove(md5.Groups[1].Index, md5.Groups[1].Length));

        var (summary, results) = await ctx.SyncAsync();

        Assert.Contains("bad entry", summary.StateWarning);
        Assert.Empty(results);
        Assert.Equal(6, summary.FilesHashed);
        Assert.Equal(0, summary.Requests.Put + summary.Requests.Multipart);
    }

    [Fact]
    public async Task Rehash_reads_every_file_but_sends_nothing_unchanged()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.WriteFixtureTree();
        await ctx.SyncAsync();

        var (summary, results) = await ctx.SyncAsync(o => o.Rehash = true);

        Assert.Empty(results);
        Assert.Equal(6, summary.FilesHashed);
        Assert.Equal(0, summary.Requests.Put + summary.Requests.Multipart + summary.Requests.Get);
    }

    [Fact]
    public async Task Download_restores_the_tree_with_mtimes_and_a_rerun_downloads_nothing()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var files = ctx.WriteFixtureTree();
        var mtime = new DateTime(2021, 5, 4, 3, 2, 1, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(Path.Combine(ctx.Local, "readme.txt"), mtime);
        await ctx.SyncAsync();
        var target = Path.Combine(ctx.Root, "restored");

        var (summary, results) = await ctx.SyncAsync(o => { o.Direction = SyncDirection.Download; o.LocalPath = target; });

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(files.Count, results.Count(r => r.Action == SyncAction.Downloaded));
        foreach (var pair in files)
        {
            Assert.Equal(pair.Value, File.ReadAllBytes(Path.Combine(target, pair.Key)));
        }

        Assert.Equal(mtime, File.GetLastWriteTimeUtc(Path.Combine(target, "readme.txt")));
        Assert.Empty(Directory.EnumerateFiles(target, "*" + ".chittypart", SearchOption.AllDirectories));

        var (again, againResults) = await ctx.SyncAsync(o => { o.Direction = SyncDirection.Download; o.LocalPath = target; });
        Assert.Empty(againResults);
        Assert.Equal(0, again.BytesHashed);
        Assert.Equal(1, ctx.Wire.Total);

        // A changed object is fetched again; a local extra file is not the sync's: it stays, counted, and
        // only -Mirror removes it.
        File.WriteAllText(Path.Combine(target, "extra.txt"), "extra");
        await ctx.PutRawAsync(ctx.Prefix + "readme.txt", "changed remotely");
        var (third, thirdResults) = await ctx.SyncAsync(o => { o.Direction = SyncDirection.Download; o.LocalPath = target; });
        Assert.True(third.Success);
        Assert.Equal(new[] { ("readme.txt", SyncAction.Downloaded) }, thirdResults.Select(r => (r.RelativePath, r.Action)));
        Assert.Equal("changed remotely", File.ReadAllText(Path.Combine(target, "readme.txt")));
        Assert.Equal(1, third.NotOwned);
        Assert.True(File.Exists(Path.Combine(target, "extra.txt")));
        var (mirror, mirrorResults) = await ctx.SyncAsync(o => { o.Direction = SyncDirection.Download; o.LocalPath = target; o.Mirror = true; });
        Assert.Equal(new[] { ("extra.txt", SyncAction.Deleted) }, mirrorResults.Select(r => (r.RelativePath, r.Action)));
        Assert.False(File.Exists(Path.Combine(target, "extra.txt")));
    }

    [Fact]
    public async Task On_a_case_insensitive_file_system_keys_differing_by_case_are_refused_and_a_local_name_in_other_case_is_kept()
    {
        using var ctx = new SyncTestContext(_s3rver);
        await ctx.PutRawAsync(ctx.Prefix + "Report.txt", "upper");
        await ctx.PutRawAsync(ctx.Prefix + "report.txt", "lower");
        await ctx.PutRawAsync(ctx.Prefix + "notes.md", "notes");
        var target = Path.Combine(ctx.Root, "restored");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "NOTES.md"), "notes");

        var (summary, results) = await ctx.SyncAsync(o =>
        {
            o.Direction = SyncDirection.Download;
            o.LocalPath = target;
        }, engine: ctx.CaseInsensitiveEngine());

        var refused = results.Where(r => r.Action == SyncAction.Failed).OrderBy(r => r.RelativePath, StringComparer.Ordinal).ToList();
        Assert.Equal(new[] { "Report.txt", "report.txt" }, refused.Select(r => r.RelativePath));
        Assert.All(refused, r => Assert.Contains("only by case", r.Error));
        Assert.False(File.Exists(Path.Combine(target, "Report.txt")));
        Assert.False(File.Exists(Path.Combine(target, "report.txt")));

        // NOTES.md is the same file as notes.md there: identical content, so neither downloaded nor deleted.
        Assert.DoesNotContain(results, r => r.Action == SyncAction.Deleted);
        Assert.Equal("notes", File.ReadAllText(Path.Combine(target, "NOTES.md")));
        Assert.False(summary.Success);
    }

    [Theory]
    [InlineData("..\\evil.txt")]
    [InlineData("C:/Windows/evil.txt")]
    [InlineData("sub/x:y.txt")]
    [InlineData("sub\\..\\..\\escape.txt")]
    public async Task Download_refuses_keys_that_would_land_outside_the_folder(string relative)
    {
        using var ctx = new SyncTestContext(_s3rver);
        await ctx.PutRawAsync(ctx.Prefix + "fine.txt", "fine");
        await ctx.PutRawAsync(ctx.Prefix + relative, "evil");
        var target = Path.Combine(ctx.Root, "restored");

        var (summary, results) = await ctx.SyncAsync(o => { o.Direction = SyncDirection.Download; o.LocalPath = target; });

        var failed = Assert.Single(results, r => r.Action == SyncAction.Failed);
        Assert.Equal(ctx.Prefix + relative, failed.R2Key);
        Assert.StartsWith("Refused", failed.Error);
        Assert.Single(results, r => r.Action == SyncAction.Downloaded && r.RelativePath == "fine.txt");
        Assert.Equal(new[] { Path.Combine(target, "fine.txt") }, Directory.EnumerateFiles(ctx.Root, "*", SearchOption.AllDirectories).Where(f => !f.StartsWith(ctx.StateDirectory) && !f.StartsWith(ctx.Local)));
        Assert.False(summary.Success);
    }

    // s3rver cannot store keys with '..' or '//' segments (the request path gets normalized), so these are
    // checked on the resolver the download uses.
    [Fact]
    public void Keys_with_dot_dot_segments_are_refused()
    {
        var root = Path.Combine(Path.GetTempPath(), "chitty-root");
        Assert.Null(LocalScanner.ResolveInside(root, "../escape.txt", out var problem));
        Assert.Contains("..", problem);
        Assert.Null(LocalScanner.ResolveInside(root, "a/../../escape.txt", out _));
        Assert.Null(LocalScanner.ResolveInside(root, "a/./b.txt", out _));
        Assert.Null(LocalScanner.ResolveInside(root, "a//b.txt", out _));
        Assert.Null(LocalScanner.ResolveInside(root, "/etc/passwd", out _));
        Assert.Null(LocalScanner.ResolveInside(root, "a\\..\\..\\b", out _));
        Assert.Equal(Path.Combine(root, "a", "b c.txt"), LocalScanner.ResolveInside(root, "a/b c.txt", out _));
    }

    [Fact]
    public async Task A_failed_report_is_sent_again_by_the_next_run()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a");
        ctx.Write("b.txt", "b");
        ctx.Reports.Fail = true;

        var (failed, _) = await ctx.SyncAsync();
        Assert.NotNull(failed.ReportError);
        Assert.False(failed.Success);
        Assert.Equal(2, failed.FilesUploaded);

        ctx.Reports.Fail = false;
        var (next, results) = await ctx.SyncAsync();
        Assert.Empty(results);
        Assert.Equal(2, next.ReportedItems);
        Assert.Equal(new[] { ctx.Prefix + "a.txt", ctx.Prefix + "b.txt" }, ctx.Reports.Items.Select(i => i.GetProperty("r2_key").GetString()).OrderBy(k => k));

        var (third, _) = await ctx.SyncAsync();
        Assert.Equal(0, third.ReportedItems);
        Assert.Single(ctx.Reports.Reports);
    }

    [Fact]
    public async Task NoReport_sends_no_report()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a");
        var (summary, _) = await ctx.SyncAsync(o => o.NoReport = true);
        Assert.Equal(1, summary.FilesUploaded);
        Assert.Empty(ctx.Reports.Reports);
    }

    [Fact]
    public async Task A_second_sync_of_the_same_target_is_refused_while_one_runs()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a");
        var statePath = SyncStateLocation.PathFor(ctx.StateDirectory, ctx.Local, ctx.Store.Endpoint, ctx.Store.Bucket, ctx.Prefix, out _);
        using (SyncLock.Acquire(statePath, "test", TimeSpan.Zero, CancellationToken.None))
        {
            var ex = await Assert.ThrowsAsync<SyncException>(() => ctx.SyncAsync());
            Assert.Equal("SyncLocked", ex.ErrorId);
            Assert.Contains("Another sync", ex.Message);
        }

        var (summary, _) = await ctx.SyncAsync();
        Assert.Equal(1, summary.FilesUploaded);
    }

    [Fact]
    public async Task An_object_changed_behind_the_caches_back_is_detected_by_its_etag()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "original");
        await ctx.SyncAsync();
        await ctx.PutRawAsync(ctx.Prefix + "a.txt", "tampered");

        var (summary, results) = await ctx.SyncAsync();

        Assert.Equal(SyncAction.Uploaded, Assert.Single(results).Action);
        Assert.Equal(0, summary.BytesHashed);
        Assert.Equal("original", Encoding.UTF8.GetString((await ctx.RemoteContentAsync())["a.txt"]));
    }

    [Fact]
    public async Task Bandwidth_limit_and_progress_cover_the_transfer()
    {
        using var ctx = new SyncTestContext(_s3rver, o => o.BandwidthLimit = 64L * 1024 * 1024);
        ctx.Write("big/video.bin", SyncTestContext.RandomBytes(3 * 1024 * 1024, 7));
        var snapshots = new List<SyncProgress>();
        var progress = new SynchronousProgress<SyncProgress>(p => { lock (snapshots) { snapshots.Add(p); } });

        var summary = await ctx.Engine.RunAsync(ctx.Options(o => o.LargeTransferThreshold = 1024 * 1024), null, progress, CancellationToken.None);

        Assert.Equal(1, summary.FilesUploaded);
        Assert.Equal(SyncPhase.Done, snapshots.Last().Phase);
        Assert.Contains(snapshots, s => s.Transfers.Any(t => t.RelativePath == "big/video.bin" && t.Completed));
        var last = snapshots.Last(s => s.FilesTotal > 0);
        Assert.Equal(3 * 1024 * 1024, last.BytesTotal);
        Assert.Equal(last.BytesTotal, last.BytesDone);
    }

    private sealed class SynchronousProgress<T> : IProgress<T>
    {
        private readonly Action<T> _action;

        public SynchronousProgress(Action<T> action) => _action = action;

        public void Report(T value) => _action(value);
    }
}
