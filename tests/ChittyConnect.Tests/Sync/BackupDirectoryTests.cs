using System.Text;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>-BackupDirectory: what a download would replace or delete locally is moved aside, as rclone's --backup-dir.</summary>
[Collection(S3rverCollection.Name)]
public sealed class BackupDirectoryTests
{
    private readonly S3rverProcess _s3rver;

    public BackupDirectoryTests(S3rverProcess s3rver) => _s3rver = s3rver;

    [Fact]
    public async Task A_download_moves_the_files_it_replaces_or_deletes_into_the_backup_folder_at_their_relative_paths()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var backup = Path.Combine(ctx.Root, "backup");
        await ctx.PutRawAsync(ctx.Prefix + "old/notes.txt", "notes from the store");
        await ctx.PutRawAsync(ctx.Prefix + "same.txt", "same");
        await ctx.SyncAsync(o => o.Direction = SyncDirection.Download);
        // Since then: the object was deleted (this sync owns the file it downloaded, so it deletes it), and a
        // new object meets a local file of other content.
        await ctx.Raw.DeleteObjectAsync(ctx.Store.Bucket, ctx.Prefix + "old/notes.txt");
        await ctx.PutRawAsync(ctx.Prefix + "docs/plan.md", "the remote plan");
        ctx.Write("docs/plan.md", "my local plan");

        var (summary, results) = await ctx.SyncAsync(o =>
        {
            o.Direction = SyncDirection.Download;
            o.BackupDirectory = backup;
        });

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(
            new[]
            {
                ("docs/plan.md", SyncAction.Downloaded, (string?)Path.Combine(backup, "docs", "plan.md")),
                ("old/notes.txt", SyncAction.Deleted, Path.Combine(backup, "old", "notes.txt")),
            },
            results.Select(r => (r.RelativePath, r.Action, r.BackupPath)));
        Assert.Equal(2, summary.FilesBackedUp);
        Assert.Equal("the remote plan", File.ReadAllText(Path.Combine(ctx.Local, "docs", "plan.md")));
        Assert.False(File.Exists(Path.Combine(ctx.Local, "old", "notes.txt")));
        Assert.Equal("my local plan", File.ReadAllText(Path.Combine(backup, "docs", "plan.md")));
        Assert.Equal("notes from the store", File.ReadAllText(Path.Combine(backup, "old", "notes.txt")));
        Assert.False(File.Exists(Path.Combine(backup, "same.txt")));

        // A second generation finds the name taken: it gets a suffix, and the first one stays.
        File.SetLastWriteTimeUtc(ctx.Write("docs/plan.md", "edited again here"), DateTime.UtcNow.AddMinutes(1));
        var (again, againResults) = await ctx.SyncAsync(o =>
        {
            o.Direction = SyncDirection.Download;
            o.BackupDirectory = backup;
        });

        Assert.Equal(Path.Combine(backup, "docs", "plan.backup-2.md"), Assert.Single(againResults).BackupPath);
        Assert.Equal(1, again.FilesBackedUp);
        Assert.Equal("edited again here", File.ReadAllText(Path.Combine(backup, "docs", "plan.backup-2.md")));
        Assert.Equal("my local plan", File.ReadAllText(Path.Combine(backup, "docs", "plan.md")));
    }

    [Fact]
    public async Task A_two_way_run_keeps_what_it_replaces_or_deletes_locally_and_nothing_of_a_conflict()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var backup = Path.Combine(ctx.Root, "backup");
        foreach (var name in new[] { "changed there.txt", "deleted there.txt", "both.txt" })
        {
            ctx.Write(name, "v1 of " + name);
        }

        await ctx.SyncAsync(o => o.Direction = SyncDirection.Both);
        await ctx.PutRawAsync(ctx.Prefix + "changed there.txt", "v2 from the other device");
        await ctx.Raw.DeleteObjectAsync(ctx.Store.Bucket, ctx.Prefix + "deleted there.txt");
        await ctx.PutRawAsync(ctx.Prefix + "both.txt", "v2 there");
        File.SetLastWriteTimeUtc(ctx.Write("both.txt", "v2 here"), DateTime.UtcNow.AddMinutes(1));

        var (summary, results) = await ctx.SyncAsync(o =>
        {
            o.Direction = SyncDirection.Both;
            o.BackupDirectory = backup;
        });

        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(2, summary.FilesBackedUp);
        Assert.Equal("v1 of changed there.txt", File.ReadAllText(Path.Combine(backup, "changed there.txt")));
        Assert.Equal("v1 of deleted there.txt", File.ReadAllText(Path.Combine(backup, "deleted there.txt")));
        // A conflict keeps both versions in the folder: nothing of it goes to the backup.
        Assert.Null(results.Single(r => r.RelativePath == "both.txt").BackupPath);
        Assert.Equal(new[] { "changed there.txt", "deleted there.txt" }, Directory.GetFiles(backup).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("inside")]
    [InlineData("around")]
    [InlineData("upload")]
    public async Task A_backup_folder_that_overlaps_the_folder_or_an_upload_is_refused_before_anything_changes(string how)
    {
        using var ctx = new SyncTestContext(_s3rver);
        ctx.Write("a.txt", "local");
        await ctx.PutRawAsync(ctx.Prefix + "a.txt", "remote");
        var backup = how switch
        {
            "inside" => Path.Combine(ctx.Local, "backup"),
            "around" => ctx.Root,
            _ => Path.Combine(ctx.Root, "backup"),
        };

        var refused = await Assert.ThrowsAsync<SyncException>(() => ctx.SyncAsync(o =>
        {
            o.Direction = how == "upload" ? SyncDirection.Upload : SyncDirection.Download;
            o.BackupDirectory = backup;
        }));

        Assert.Equal("SyncInvalidOptions", refused.ErrorId);
        Assert.Contains("-BackupDirectory", refused.Message);
        Assert.Equal("local", File.ReadAllText(Path.Combine(ctx.Local, "a.txt")));
        Assert.Equal("remote", Encoding.UTF8.GetString((await ctx.RemoteContentAsync())["a.txt"]));
        Assert.Equal(0, ctx.Wire.Total);
    }
}
