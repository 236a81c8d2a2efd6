using System.Net;
using System.Text;
using ChittyConnect.Storage;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>-Direction Both beyond the scenario table: its guards, its plan, its report and its requests.</summary>
[Collection(S3rverCollection.Name)]
public sealed class TwoWaySyncTests
{
    private readonly S3rverProcess _s3rver;

    public TwoWaySyncTests(S3rverProcess s3rver) => _s3rver = s3rver;

    private static void Both(SyncOptions o) => o.Direction = SyncDirection.Both;

    private static DateTime Later => DateTime.UtcNow.AddMinutes(1);

    [Fact]
    public async Task A_no_op_two_way_run_reads_no_file_and_sends_only_the_listing()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var files = ctx.WriteFixtureTree();

        var (first, results) = await ctx.SyncAsync(Both);

        Assert.True(first.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(files.Count, first.FilesUploaded);
        Assert.True(first.Requests.Multipart > 0, "the big file went in parts, so its ETag is not an MD5: " + first.Requests);

        var (again, againResults) = await ctx.SyncAsync(Both);

        Assert.Empty(againResults);
        Assert.Equal(files.Count, again.FilesSkipped);
        Assert.Equal(0, again.BytesHashed);
        Assert.Equal(1, ctx.Wire.Total);
        Assert.Equal(1, ctx.Wire.Count("LIST"));
    }

    [Fact]
    public async Task WhatIf_writes_the_whole_plan_with_conflicts_and_changes_nothing()
    {
        using var ctx = new SyncTestContext(_s3rver);
        foreach (var name in new[] { "both.txt", "gone here.txt", "gone there.txt", "there.txt" })
        {
            ctx.Write(name, "v1 of " + name);
        }

        await ctx.SyncAsync(Both);
        File.SetLastWriteTimeUtc(ctx.Write("both.txt", "v2, here"), Later);
        File.Delete(Path.Combine(ctx.Local, "gone here.txt"));
        await ctx.Raw.DeleteObjectAsync(ctx.Store.Bucket, ctx.Prefix + "gone there.txt");
        await ctx.PutRawAsync(ctx.Prefix + "there.txt", "v2, there");
        await ctx.PutRawAsync(ctx.Prefix + "both.txt", "v2, there, longer");
        File.SetLastWriteTimeUtc(ctx.Write("new.txt", "new here"), Later);
        var remoteBefore = await ctx.RemoteContentAsync();
        var localBefore = TwoWayScenarioTests.LocalTree(ctx);
        var stateBefore = Directory.EnumerateFiles(ctx.StateDirectory, "*.state").Select(File.ReadAllText).Single();

        var (plan, results) = await ctx.SyncAsync(o =>
        {
            Both(o);
            o.PlanOnly = true;
        });

        Assert.Equal(
            new[]
            {
                ("both.txt", SyncAction.PlannedConflict, SyncOperation.KeepBoth),
                ("gone here.txt", SyncAction.PlannedDeleteRemote, SyncOperation.DeleteRemote),
                ("gone there.txt", SyncAction.PlannedDeleteLocal, SyncOperation.DeleteLocal),
                ("new.txt", SyncAction.PlannedUpload, SyncOperation.Upload),
                ("there.txt", SyncAction.PlannedDownload, SyncOperation.Download),
            },
            results.Select(r => (r.RelativePath, r.Action, r.Operation)));
        var conflict = results[0];
        Assert.Equal(SyncConflict.BothChanged, conflict.Conflict);
        Assert.Matches(@"^both\.conflict-local-\d{8}T\d{6}Z\.txt$", conflict.ConflictPath);
        Assert.Equal(1, plan.PlannedConflicts);
        Assert.Equal(2, plan.PlannedDeletes);
        Assert.Equal(ctx.Wire.Count("LIST"), ctx.Wire.Total);
        Assert.Equal(remoteBefore.Keys.OrderBy(k => k), (await ctx.RemoteContentAsync()).Keys.OrderBy(k => k));
        Assert.Equal(localBefore, TwoWayScenarioTests.LocalTree(ctx));
        Assert.Equal(stateBefore, Directory.EnumerateFiles(ctx.StateDirectory, "*.state").Select(File.ReadAllText).Single());
    }

    [Fact]
    public async Task MaxDelete_holds_for_each_side_on_its_own()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.WriteNumbered(6);

        await ctx.SyncAsync(Both);
        ctx.DeleteNumbered(3);

        await ctx.Raw.DeleteObjectAsync(ctx.Store.Bucket, ctx.Prefix + "f05.txt");

        // The share guard is lifted: the counts alone are tested here.
        var (summary, results) = await ctx.SyncAsync(o =>
        {
            Both(o);
            o.MaxDelete = 2;
            o.MaxDeletePercent = 100;
        });

        // Three local deletions exceed the limit: none goes to the bucket. The one remote deletion is within it.
        Assert.Equal(new[] { ("f05.txt", SyncAction.DeletedLocal) }, results.Select(r => (r.RelativePath, r.Action)));
        Assert.Equal(3, summary.DeletesWithheld);
        Assert.Equal(SyncWithholdReason.MaxDelete, summary.DeletesWithheldBecause);
        Assert.Contains("3 remote deletions exceed -MaxDelete 2", summary.DeletesWithheldReason);
        Assert.False(summary.Success);
        Assert.Equal(new[] { "f00.txt", "f01.txt", "f02.txt", "f03.txt", "f04.txt" }, (await ctx.RemoteContentAsync()).Keys.OrderBy(k => k, StringComparer.Ordinal));

        var (allowed, deleted) = await ctx.SyncAsync(o =>
        {
            Both(o);
            o.MaxDelete = 3;
            o.MaxDeletePercent = 100;
        });
        Assert.True(allowed.Success);
        Assert.Equal(3, deleted.Count(r => r.Action == SyncAction.DeletedRemote));
        Assert.Equal(new[] { "f03.txt", "f04.txt" }, (await ctx.RemoteContentAsync()).Keys.OrderBy(k => k, StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_empty_or_missing_folder_with_a_baseline_is_refused_and_wipes_nothing_without_force()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a");
        ctx.Write("sub/b.txt", "b");
        await ctx.SyncAsync(Both);

        Directory.Delete(ctx.Local, recursive: true);
        var missing = await Assert.ThrowsAsync<SyncException>(() => ctx.SyncAsync(Both));
        Assert.Equal("SyncSourceMissing", missing.ErrorId);
        Assert.Contains("does not exist", missing.Message);
        Assert.DoesNotContain("-Force", missing.Message);
        // A missing folder is a typo or an unmounted drive: -Force does not make it "delete everything".
        var forcedMissing = await Assert.ThrowsAsync<SyncException>(() => ctx.SyncAsync(o =>
        {
            Both(o);
            o.Force = true;
        }));
        Assert.Equal("SyncSourceMissing", forcedMissing.ErrorId);

        Directory.CreateDirectory(ctx.Local);
        var empty = await Assert.ThrowsAsync<SyncException>(() => ctx.SyncAsync(Both));
        Assert.Contains("has no files", empty.Message);
        Assert.Equal(2, (await ctx.RemoteContentAsync()).Count);
        Assert.Equal(0, ctx.Wire.Count("DELETE"));

        var (forced, results) = await ctx.SyncAsync(o =>
        {
            Both(o);
            o.Force = true;
        });
        Assert.True(forced.Success);
        Assert.Equal(2, results.Count(r => r.Action == SyncAction.DeletedRemote));
        Assert.Empty(await ctx.RemoteContentAsync());
    }

    [Fact]
    public async Task An_empty_prefix_with_a_baseline_is_refused_and_empties_no_folder()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a");
        ctx.Write("b.txt", "b");
        await ctx.SyncAsync(Both);
        foreach (var key in (await ctx.RemoteContentAsync()).Keys)
        {
            await ctx.Raw.DeleteObjectAsync(ctx.Store.Bucket, ctx.Prefix + key);
        }

        var refused = await Assert.ThrowsAsync<SyncException>(() => ctx.SyncAsync(Both));

        Assert.Equal("SyncSideEmpty", refused.ErrorId);
        Assert.Contains("has no objects", refused.Message);
        Assert.Equal(new[] { "a.txt", "b.txt" }, TwoWayScenarioTests.LocalTree(ctx).Keys.OrderBy(k => k));
    }

    [Fact]
    public async Task A_failed_listing_ends_the_run_before_anything_is_deleted_or_moved()
    {
        var failListing = false;
        using var ctx = new SyncTestContext(_s3rver, null, inner => new FailingListing(inner, () => failListing));
        ctx.Write("a.txt", "a");
        ctx.Write("b.txt", "b");
        await ctx.SyncAsync(Both);
        File.Delete(Path.Combine(ctx.Local, "a.txt"));
        File.SetLastWriteTimeUtc(ctx.Write("new.txt", "new"), Later);
        failListing = true;

        await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.SyncAsync(Both));

        Assert.Equal(ctx.Wire.Count("LIST"), ctx.Wire.Total);
        failListing = false;
        Assert.Equal(new[] { "a.txt", "b.txt" }, (await ctx.RemoteContentAsync()).Keys.OrderBy(k => k));
        Assert.Equal(new[] { "b.txt", "new.txt" }, TwoWayScenarioTests.LocalTree(ctx).Keys.OrderBy(k => k));

        // The baseline is intact: the next run propagates the delete and the new file.
        var (summary, results) = await ctx.SyncAsync(Both);
        Assert.True(summary.Success);
        Assert.Equal(new[] { ("a.txt", SyncAction.DeletedRemote), ("new.txt", SyncAction.Uploaded) }, results.Select(r => (r.RelativePath, r.Action)));
    }

    [Fact]
    public async Task Where_case_is_ignored_names_differing_only_by_case_are_one_file_and_colliding_keys_are_refused()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("Notes.txt", "same");
        ctx.Write("Keep.txt", "local keep");
        await ctx.PutRawAsync(ctx.Prefix + "notes.txt", "same");
        await ctx.PutRawAsync(ctx.Prefix + "Report.txt", "upper");
        await ctx.PutRawAsync(ctx.Prefix + "report.txt", "lower");
        await ctx.PutRawAsync(ctx.Prefix + "keep.txt", "remote keep, longer");

        var (summary, results) = await ctx.SyncAsync(o =>
        {
            Both(o);
        }, engine: ctx.CaseInsensitiveEngine());

        // Notes.txt and notes.txt hold the same content: one file, nothing moved. The two report keys cannot
        // both live in such a folder: both refused, neither downloaded. Keep.txt differs from keep.txt: a
        // conflict of one file, not two files.
        var refused = results.Where(r => r.Action == SyncAction.Failed).ToList();
        Assert.Equal(new[] { "Report.txt", "report.txt" }, refused.Select(r => r.RelativePath));
        Assert.All(refused, r => Assert.Equal(SyncFailureReason.Refused, r.FailureReason));
        var conflict = Assert.Single(results, r => r.Action == SyncAction.Conflict);
        Assert.Equal("keep.txt", conflict.RelativePath);
        Assert.Equal(3, results.Count);
        Assert.Equal(2, summary.Errors);
        Assert.Equal(1, summary.FilesSkipped);
        var remote = await ctx.RemoteContentAsync();
        Assert.DoesNotContain("Notes.txt", remote.Keys);
        Assert.Equal("local keep", Encoding.UTF8.GetString(remote[conflict.ConflictPath!]));
    }

    [Fact]
    public async Task The_sync_report_names_what_a_two_way_run_uploaded_and_downloaded()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a");
        await ctx.SyncAsync(Both);
        Assert.Equal(new[] { ctx.Prefix + "a.txt" }, ctx.Reports.Items.Select(i => i.GetProperty("r2_key").GetString()));
        File.SetLastWriteTimeUtc(ctx.Write("b.txt", "b"), Later);
        await ctx.PutRawAsync(ctx.Prefix + "c.txt", "from another device");
        var before = ctx.Reports.Items.Count();

        var (summary, _) = await ctx.SyncAsync(Both);

        Assert.Equal(1, summary.FilesUploaded);
        Assert.Equal(1, summary.FilesDownloaded);
        Assert.Equal(new[] { ctx.Prefix + "b.txt", ctx.Prefix + "c.txt" }, ctx.Reports.Items.Skip(before).Select(i => i.GetProperty("r2_key").GetString()).OrderBy(k => k, StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_edit_made_during_the_run_is_not_overwritten_and_the_next_run_keeps_both_versions()
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "a1");
        ctx.Write("b.txt", "b1");
        await ctx.SyncAsync(Both);
        await ctx.PutRawAsync(ctx.Prefix + "a.txt", "a2 there");
        await ctx.PutRawAsync(ctx.Prefix + "b.txt", "b2 there");

        // The downloads run one at a time in path order; while a.txt arrives, b.txt is edited locally.
        var (summary, results) = await ctx.SyncAsync(o =>
        {
            Both(o);
            o.Transfers = 1;
        }, onResult: r =>
        {
            if (r.RelativePath == "a.txt")
            {
                File.SetLastWriteTimeUtc(ctx.Write("b.txt", "b2 here, edited during the sync"), Later);
            }
        });

        Assert.Equal(new[] { ("a.txt", SyncAction.Downloaded), ("b.txt", SyncAction.Failed) }, results.Select(r => (r.RelativePath, r.Action)));
        Assert.Contains("changed during the sync", results[1].Error);
        Assert.Equal("b2 here, edited during the sync", File.ReadAllText(Path.Combine(ctx.Local, "b.txt")));

        var (next, nextResults) = await ctx.SyncAsync(Both);
        Assert.True(next.Success);
        var conflict = Assert.Single(nextResults);
        Assert.Equal(SyncAction.Conflict, conflict.Action);
        Assert.Equal("b2 there", File.ReadAllText(Path.Combine(ctx.Local, "b.txt")));
        Assert.Equal("b2 here, edited during the sync", File.ReadAllText(Path.Combine(ctx.Local, conflict.ConflictPath!)));
    }

    // Answers every listing with 403 while armed: a listing the store cannot complete.
    private sealed class FailingListing(HttpMessageHandler inner, Func<bool> armed) : DelegatingHandler(inner)
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (armed() && request.Method == HttpMethod.Get && request.RequestUri!.Query.Contains("list-type", StringComparison.Ordinal))
            {
                return Task.FromResult(new HttpResponseMessage(HttpStatusCode.Forbidden)
                {
                    Content = new StringContent("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", Encoding.UTF8, "application/xml"),
                });
            }

            return base.SendAsync(request, cancellationToken);
        }
    }
}
