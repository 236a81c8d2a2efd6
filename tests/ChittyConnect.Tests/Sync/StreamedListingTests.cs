using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>
/// How a streamed run lists a prefix its state knows: in ranges of whole pages cut at the state's keys, on the
/// benchmark's lean stand-in (bench/s3-lean.js), which lists in key order as R2 does.
/// </summary>
public sealed class StreamedListingTests : IClassFixture<LeanS3Process>
{
    private readonly LeanS3Process _lean;

    public StreamedListingTests(LeanS3Process lean) => _lean = lean;

    [Fact]
    public async Task A_no_op_lists_a_large_prefix_in_ranges_of_whole_pages_in_as_many_requests_as_one_page_after_the_other()
    {
        // 4,550 files in pages of 100: ranges of 2,000 keys (20 pages) after the 2,000th and the 4,000th key.
        using var ctx = new SyncTestContext(_lean, o => o.ListPageKeys = 100);
        for (var i = 0; i < 4550; i++)
        {
            ctx.Write($"f{i:0000}.txt", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var (first, _) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Upload);
        Assert.Equal((4550, 0), (first.FilesUploaded, first.Errors));

        var (again, results) = await ctx.SyncAsync(o => o.Direction = SyncDirection.Upload);

        Assert.Equal((0, 4550, 0), (again.FilesUploaded, again.FilesSkipped, again.Errors));
        Assert.Empty(results);
        Assert.Equal(new[] { ctx.Prefix + "f1999.txt", ctx.Prefix + "f3999.txt" }, ctx.Wire.StartAfters.Distinct().OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(46, ctx.Wire.Count("LIST"));

        // A -NoDelete run with a state is planned in windows too (a run planned whole lists in 8 ranges of its own).
        var (kept, _) = await ctx.SyncAsync(o =>
        {
            o.Direction = SyncDirection.Both;
            o.NoDelete = true;
        });
        Assert.Equal((0, 0), (kept.FilesUploaded + kept.FilesDownloaded, kept.Errors));
        Assert.Equal(new[] { ctx.Prefix + "f1999.txt", ctx.Prefix + "f3999.txt" }, ctx.Wire.StartAfters.Distinct().OrderBy(k => k, StringComparer.Ordinal));

        // And so is -WhatIf: a file gone on each side is planned for deletion on the other, once, and nothing changes.
        await ctx.Store.DeleteAsync([ctx.Prefix + "f3000.txt"], CancellationToken.None);
        File.Delete(Path.Combine(ctx.Local, "f4000.txt"));
        var (plan, planned) = await ctx.SyncAsync(o =>
        {
            o.Direction = SyncDirection.Both;
            o.PlanOnly = true;
        });
        Assert.Equal(new[] { ctx.Prefix + "f1999.txt", ctx.Prefix + "f3999.txt" }, ctx.Wire.StartAfters.Distinct().OrderBy(k => k, StringComparer.Ordinal));
        Assert.Equal(new[] { ("f3000.txt", SyncAction.PlannedDeleteLocal), ("f4000.txt", SyncAction.PlannedDeleteRemote) }, planned.Select(r => (r.RelativePath, r.Action)));
        Assert.Equal(0, plan.Errors);
        Assert.True(File.Exists(Path.Combine(ctx.Local, "f3000.txt")));
        Assert.NotNull(await ctx.Store.HeadAsync(ctx.Prefix + "f4000.txt", CancellationToken.None));
    }
}
