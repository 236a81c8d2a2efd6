using System.Text;
using Amazon.S3.Model;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Crypt;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>
/// Another device writes a key between this run's listing and its upload of that key: the conditional write is
/// refused, neither version is lost, and the path is decided again by the two-way table (or, one-way, the source wins
/// over the version as it is now).
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class SecondWriterRaceTests
{
    private readonly S3rverProcess _s3rver;

    public SecondWriterRaceTests(S3rverProcess s3rver) => _s3rver = s3rver;

    private static void Both(SyncOptions o) => o.Direction = SyncDirection.Both;

    private static DateTime Later => DateTime.UtcNow.AddMinutes(1);

    [Fact]
    public async Task An_edit_written_remotely_after_the_listing_is_kept_and_the_local_edit_becomes_a_conflict_copy()
    {
        var race = new SecondWriter(r => r.Method == HttpMethod.Put && r.RequestUri!.AbsolutePath.EndsWith("/notes.txt", StringComparison.Ordinal));
        using var ctx = new SyncTestContext(_s3rver, null, race.Wrap);
        ctx.Write("notes.txt", "v1");
        await ctx.SyncAsync(Both);
        File.SetLastWriteTimeUtc(ctx.Write("notes.txt", "v2 written here"), Later);
        race.Write = () => ctx.PutRawAsync(ctx.Prefix + "notes.txt", "v2 written on the other device");

        var (summary, results) = await ctx.SyncAsync(Both);

        Assert.True(race.Fired);
        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(1, summary.RemoteChangedDuringRun);
        var conflict = Assert.Single(results);
        Assert.Equal((SyncAction.Conflict, SyncOperation.KeepBoth, SyncConflict.BothChanged), (conflict.Action, conflict.Operation, conflict.Conflict));
        AssertBothVersionsKept(ctx, await ctx.RemoteContentAsync(), "notes.txt", conflict.ConflictPath!, "v2 written on the other device", "v2 written here");
        await AssertNothingLeftToDoAsync(ctx);
    }

    [Fact]
    public async Task A_multipart_upload_completed_over_a_version_written_meanwhile_is_refused_and_both_versions_kept()
    {
        var race = new SecondWriter(r => r.Method == HttpMethod.Put && r.RequestUri!.Query.Contains("partNumber=2", StringComparison.Ordinal));
        using var ctx = new SyncTestContext(_s3rver, null, race.Wrap);
        ctx.Write("big.bin", SyncTestContext.RandomBytes(3 * 1024 * 1024, 41));
        await ctx.SyncAsync(Both);
        var mine = SyncTestContext.RandomBytes(3 * 1024 * 1024, 42);
        File.SetLastWriteTimeUtc(ctx.Write("big.bin", mine), Later);
        // The other device's version lands while this run's parts are on their way.
        race.Write = () => ctx.PutRawAsync(ctx.Prefix + "big.bin", "the other device's version");

        var (summary, results) = await ctx.SyncAsync(Both);

        Assert.True(race.Fired);
        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(1, summary.RemoteChangedDuringRun);
        var conflict = Assert.Single(results);
        Assert.Equal((SyncAction.Conflict, SyncConflict.BothChanged), (conflict.Action, conflict.Conflict));
        var remote = await ctx.RemoteContentAsync();
        Assert.Equal("the other device's version", Encoding.UTF8.GetString(remote["big.bin"]));
        Assert.Equal(mine, remote[conflict.ConflictPath!]);
        Assert.Equal(mine, File.ReadAllBytes(Path.Combine(ctx.Local, conflict.ConflictPath!)));
        Assert.Equal("the other device's version", File.ReadAllText(Path.Combine(ctx.Local, "big.bin")));
        // The refused upload was aborted, not left to cost storage.
        var uploads = await ctx.Raw.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = ctx.Store.Bucket, Prefix = ctx.Prefix });
        Assert.Empty(uploads.MultipartUploads ?? new List<MultipartUpload>());
        await AssertNothingLeftToDoAsync(ctx);
    }

    [Fact]
    public async Task A_multipart_upload_refused_at_its_creation_leaves_no_upload_and_nothing_for_a_later_run_to_sweep()
    {
        var race = new SecondWriter(r => r.Method == HttpMethod.Post && r.RequestUri!.Query.Contains("uploads", StringComparison.Ordinal) && !r.RequestUri.Query.Contains("uploadId", StringComparison.Ordinal));
        using var ctx = new SyncTestContext(_s3rver, null, race.Wrap);
        ctx.Write("big.bin", SyncTestContext.RandomBytes(3 * 1024 * 1024, 43));
        await ctx.SyncAsync(Both);
        File.SetLastWriteTimeUtc(ctx.Write("big.bin", SyncTestContext.RandomBytes(3 * 1024 * 1024, 44)), Later);
        // The other device's version lands just before this run asks to create its upload.
        race.Write = () => ctx.PutRawAsync(ctx.Prefix + "big.bin", "the other device's version");

        var (summary, results) = await ctx.SyncAsync(Both);

        Assert.True(race.Fired);
        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(1, summary.RemoteChangedDuringRun);
        Assert.Equal(SyncAction.Conflict, Assert.Single(results).Action);
        var uploads = await ctx.Raw.ListMultipartUploadsAsync(new ListMultipartUploadsRequest { BucketName = ctx.Store.Bucket, Prefix = ctx.Prefix });
        Assert.Empty(uploads.MultipartUploads ?? new List<MultipartUpload>());
        // The refused creation made no upload: the state notes no key as being created.
        var state = SyncStateLocation.PathFor(ctx.StateDirectory, ctx.Local, ctx.Store.Endpoint, ctx.Store.Bucket, ctx.Prefix, out _);
        Assert.Empty(StateFileLines.Records(state, "I"));
        await AssertNothingLeftToDoAsync(ctx);
    }

    [Fact]
    public async Task A_new_key_created_remotely_after_the_listing_is_not_overwritten()
    {
        var race = new SecondWriter(r => r.Method == HttpMethod.Put && r.RequestUri!.AbsolutePath.EndsWith("/new.txt", StringComparison.Ordinal));
        using var ctx = new SyncTestContext(_s3rver, null, race.Wrap);
        ctx.Write("old.txt", "synced before");
        await ctx.SyncAsync(Both);
        ctx.Write("new.txt", "new here");
        race.Write = () => ctx.PutRawAsync(ctx.Prefix + "new.txt", "new there, at the same moment");

        var (summary, results) = await ctx.SyncAsync(Both);

        Assert.True(race.Fired);
        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        var conflict = Assert.Single(results);
        Assert.Equal((SyncAction.Conflict, SyncConflict.FirstRunDiffers), (conflict.Action, conflict.Conflict));
        AssertBothVersionsKept(ctx, await ctx.RemoteContentAsync(), "new.txt", conflict.ConflictPath!, "new there, at the same moment", "new here");
        await AssertNothingLeftToDoAsync(ctx);
    }

    [Fact]
    public async Task The_same_content_written_remotely_after_the_listing_counts_as_stored_without_a_second_upload()
    {
        var race = new SecondWriter(r => r.Method == HttpMethod.Put && r.RequestUri!.AbsolutePath.EndsWith("/same.txt", StringComparison.Ordinal));
        using var ctx = new SyncTestContext(_s3rver, null, race.Wrap);
        ctx.Write("same.txt", "identical on both devices");
        race.Write = () => ctx.PutRawAsync(ctx.Prefix + "same.txt", "identical on both devices");

        var (summary, results) = await ctx.SyncAsync(Both);

        Assert.True(race.Fired);
        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        // The refused PUT finds exactly its own bytes under the key: stored, and reported as this run's upload.
        Assert.Equal(SyncAction.Uploaded, Assert.Single(results).Action);
        Assert.Equal((1, 0, 0), (summary.FilesUploaded, summary.FilesSkipped, summary.RemoteChangedDuringRun));
        Assert.Equal(1, ctx.Wire.Count("PUT"));
        await AssertNothingLeftToDoAsync(ctx);
    }

    [Fact]
    public async Task A_one_way_upload_replaces_only_the_version_it_decided_on_and_decides_again_over_a_newer_one()
    {
        var race = new SecondWriter(r => r.Method == HttpMethod.Put && r.RequestUri!.AbsolutePath.EndsWith("/doc.txt", StringComparison.Ordinal));
        using var ctx = new SyncTestContext(_s3rver, null, race.Wrap);
        ctx.Write("doc.txt", "the source's version");
        await ctx.PutRawAsync(ctx.Prefix + "doc.txt", "listed: another ETag");
        race.Write = () => ctx.PutRawAsync(ctx.Prefix + "doc.txt", "written after the listing");

        var (summary, results) = await ctx.SyncAsync();

        // The first PUT named the listed ETag and was refused; the second named the newer one. The source wins.
        Assert.True(race.Fired);
        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(2, ctx.Wire.Count("PUT"));
        Assert.Equal(2, race.Conditions.Count);
        Assert.All(race.Conditions, c => Assert.StartsWith("If-Match: \"", c));
        Assert.NotEqual(race.Conditions[0], race.Conditions[1]);
        Assert.Equal(1, summary.RemoteChangedDuringRun);
        Assert.Equal(SyncAction.Uploaded, Assert.Single(results).Action);
        Assert.Equal("the source's version", Encoding.UTF8.GetString((await ctx.RemoteContentAsync())["doc.txt"]));
    }

    [Fact]
    public async Task A_local_edit_meets_a_remote_delete_made_after_the_listing_and_goes_back_as_a_new_key()
    {
        var race = new SecondWriter(r => r.Method == HttpMethod.Put && r.RequestUri!.AbsolutePath.EndsWith("/kept.txt", StringComparison.Ordinal));
        using var ctx = new SyncTestContext(_s3rver, null, race.Wrap);
        ctx.Write("kept.txt", "v1");
        await ctx.SyncAsync(Both);
        File.SetLastWriteTimeUtc(ctx.Write("kept.txt", "v2, edited here"), Later);
        race.Write = () => ctx.Raw.DeleteObjectAsync(ctx.Store.Bucket, ctx.Prefix + "kept.txt");

        var (summary, results) = await ctx.SyncAsync(Both);

        // If-Match on a key deleted meanwhile fails; decided again, the edit wins over the delete.
        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(new[] { "If-Match", "If-None-Match: *" }, race.Conditions.Select(c => c.StartsWith("If-Match", StringComparison.Ordinal) ? "If-Match" : c));
        var result = Assert.Single(results);
        Assert.Equal((SyncAction.Conflict, SyncConflict.ChangedLocallyDeletedRemotely), (result.Action, result.Conflict));
        Assert.Equal("v2, edited here", Encoding.UTF8.GetString((await ctx.RemoteContentAsync())["kept.txt"]));
        await AssertNothingLeftToDoAsync(ctx);
    }

    [Fact]
    public async Task An_upload_whose_answer_was_lost_and_whose_retry_finds_its_own_version_counts_as_uploaded()
    {
        var lost = 0;
        using var ctx = new SyncTestContext(_s3rver, null, inner => new LoseFirstAnswer(inner, r => r.Method == HttpMethod.Put && r.RequestUri!.AbsolutePath.EndsWith("/report.txt", StringComparison.Ordinal), () => Interlocked.Exchange(ref lost, 1) == 0));
        ctx.Write("report.txt", "written once");

        var (summary, results) = await ctx.SyncAsync(Both);

        // The store took the first PUT; its retry names no object, is refused, and finds this run's own bytes:
        // the file is uploaded (and so reported), with no second decision.
        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        Assert.Equal(2, ctx.Wire.Count("PUT"));
        Assert.Equal(SyncAction.Uploaded, Assert.Single(results).Action);
        Assert.Equal((0, 0), (summary.RemoteChangedDuringRun, summary.Conflicts));
        Assert.Equal(new[] { "report.txt" }, (await ctx.RemoteContentAsync()).Keys);
        Assert.Equal(new[] { "report.txt" }, Directory.GetFiles(ctx.Local).Select(Path.GetFileName));
        await AssertNothingLeftToDoAsync(ctx);
    }

    // Lets the picked request reach the store, then loses its answer as a connection reset would.
    private sealed class LoseFirstAnswer(HttpMessageHandler inner, Func<HttpRequestMessage, bool> when, Func<bool> now) : DelegatingHandler(inner)
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            if (when(request) && now())
            {
                response.Dispose();
                throw new HttpRequestException("The answer was lost (test).", new IOException("Connection reset by peer"));
            }

            return response;
        }
    }

    [Fact]
    public async Task On_an_encrypted_prefix_an_edit_rclone_writes_after_the_listing_is_kept_beside_the_local_one()
    {
        var race = new SecondWriter(r => r.Method == HttpMethod.Put);
        using var ctx = new SyncTestContext(_s3rver, null, race.Wrap);
        using var crypt = EncryptedSyncTests.Encrypted(ctx, EncryptedSyncTests.Password, EncryptedSyncTests.Salt);
        using var rclone = EncryptedSyncTests.RcloneOver(ctx, EncryptedSyncTests.Password, EncryptedSyncTests.Salt);
        ctx.Write("notes.txt", "v1");
        await EncryptedSyncTests.SyncAsync(ctx, crypt, Both);
        File.SetLastWriteTimeUtc(ctx.Write("notes.txt", "v2 written here"), Later);
        var theirs = Path.Combine(ctx.Root, "theirs.txt");
        File.WriteAllText(theirs, "v2 that rclone wrote from another device");
        race.Write = () => Task.FromResult(rclone.Run("copyto", theirs, "secret:notes.txt"));

        var (summary, results) = await EncryptedSyncTests.SyncAsync(ctx, crypt, Both);

        Assert.True(race.Fired);
        Assert.True(summary.Success, string.Join("; ", results.Select(r => r.Error)));
        var conflict = Assert.Single(results);
        Assert.Equal((SyncAction.Conflict, SyncConflict.BothChanged), (conflict.Action, conflict.Conflict));
        // rclone, the outside reader, finds both versions under the names the module gave them.
        Assert.Equal("v2 that rclone wrote from another device", rclone.Run("cat", "secret:notes.txt"));
        Assert.Equal("v2 written here", rclone.Run("cat", "secret:" + conflict.ConflictPath));
        Assert.Equal("v2 that rclone wrote from another device", File.ReadAllText(Path.Combine(ctx.Local, "notes.txt")));
        Assert.Equal("v2 written here", File.ReadAllText(Path.Combine(ctx.Local, conflict.ConflictPath!)));
    }

    private static void AssertBothVersionsKept(SyncTestContext ctx, Dictionary<string, byte[]> remote, string name, string conflictPath, string theirs, string mine)
    {
        Assert.Matches(@"\.conflict-local-\d{8}T\d{6}Z\.", conflictPath);
        Assert.Equal(theirs, Encoding.UTF8.GetString(remote[name]));
        Assert.Equal(mine, Encoding.UTF8.GetString(remote[conflictPath]));
        Assert.Equal(theirs, File.ReadAllText(Path.Combine(ctx.Local, name)));
        Assert.Equal(mine, File.ReadAllText(Path.Combine(ctx.Local, conflictPath)));
    }

    private static async Task AssertNothingLeftToDoAsync(SyncTestContext ctx)
    {
        var (again, results) = await ctx.SyncAsync(Both);
        Assert.Empty(results);
        Assert.True(again.Success);
        Assert.Equal(0, again.FilesUploaded + again.FilesDownloaded);
    }

    /// <summary>
    /// Writes the key as another device would, once, just before the first request <c>when</c> picks is sent (after
    /// this run listed the prefix); records the conditional headers of every such request.
    /// </summary>
    private sealed class SecondWriter(Func<HttpRequestMessage, bool> when)
    {
        private readonly Func<HttpRequestMessage, bool> _when = when;
        private int _fired;

        public Func<Task>? Write { get; set; }

        public bool Fired => _fired == 1;

        public List<string> Conditions { get; } = new();

        public HttpMessageHandler Wrap(HttpMessageHandler inner) => new Hook(inner, this);

        private sealed class Hook(HttpMessageHandler inner, SecondWriter race) : DelegatingHandler(inner)
        {
            protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
            {
                if (race.Write is not null && race._when(request))
                {
                    lock (race.Conditions)
                    {
                        race.Conditions.AddRange(request.Headers.Where(h => h.Key is "If-Match" or "If-None-Match").Select(h => h.Key + ": " + string.Join(",", h.Value)));
                    }

                    if (Interlocked.Exchange(ref race._fired, 1) == 0)
                    {
                        await race.Write();
                    }
                }

                return await base.SendAsync(request, cancellationToken);
            }
        }
    }
}
