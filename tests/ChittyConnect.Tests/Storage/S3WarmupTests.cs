using System.Collections.Concurrent;
using ChittyConnect.Diagnostics;
using ChittyConnect.Storage;
using ChittyConnect.Tests.Infrastructure;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>
/// The background warm-up of the SDK's request code (S3Warmup): it makes one request of every kind a sync
/// makes, all answered in memory, and neither fails, logs into nor holds up the call that started it.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class S3WarmupTests
{
    private readonly S3rverProcess _s3rver;

    public S3WarmupTests(S3rverProcess s3rver) => _s3rver = s3rver;

    [Fact]
    public async Task The_warm_up_makes_one_request_of_each_kind_a_sync_makes_and_every_answer_passes_the_stores_checks()
    {
        var seen = new ConcurrentQueue<string>();
        var answers = new Answers(new OfflineS3Answers(), async request =>
        {
            var query = request.RequestUri!.Query;
            seen.Enqueue(request.Method.Method + " " + string.Join("&", query.TrimStart('?').Split('&').Select(p => p.Split('=')[0]).Where(p => p is "list-type" or "uploads" or "uploadId" or "partNumber" or "delete").Order(StringComparer.Ordinal)));
            await Task.CompletedTask;
        });

        var failure = await S3Warmup.Launch(answers);

        Assert.Null(failure);
        Assert.Equal(
            new[] { "GET list-type", "HEAD ", "GET ", "PUT ", "POST uploads", "PUT partNumber&uploadId", "PUT partNumber&uploadId", "POST uploadId", "DELETE uploadId", "POST delete" },
            seen.ToArray());
        Assert.All(answers.Hosts, host => Assert.Equal("s3-warmup.invalid", host));
    }

    [Fact]
    public async Task A_warm_up_writes_nothing_to_the_log_of_the_call_that_started_it_and_a_failed_one_throws_nothing()
    {
        var sink = new RecordingSink();
        Exception? failed;
        Exception? succeeded;
        using (ChittyLog.Use(sink))
        {
            ChittyLog.Verbose("the caller's own line");
            succeeded = await S3Warmup.Launch(new OfflineS3Answers());
            failed = await S3Warmup.Launch(new Answers(new OfflineS3Answers(), _ => throw new HttpRequestException("refused by the test")));
        }

        Assert.Null(succeeded);
        Assert.NotNull(failed);
        Assert.Contains("refused by the test", failed!.ToString());
        Assert.Equal(new[] { "the caller's own line" }, sink.Lines.ToArray());
    }

    [Fact]
    public async Task A_hung_warm_up_holds_up_no_sync_and_the_multipart_uploads_beside_it_and_after_it_are_correct()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var warmup = S3Warmup.Launch(new Answers(new OfflineS3Answers(), _ => release.Task));
        using var ctx = new SyncTestContext(_s3rver);
        var first = SyncTestContext.RandomBytes(3 * 1024 * 1024 + 17, 41);
        ctx.Write("first.bin", first);

        var (beside, _) = await ctx.SyncAsync();

        Assert.True(beside.Success);
        Assert.Equal(1, beside.FilesUploaded);
        Assert.False(warmup.IsCompleted);
        release.SetResult();
        Assert.Null(await warmup);

        var second = SyncTestContext.RandomBytes(5 * 1024 * 1024 + 5, 42);
        ctx.Write("second.bin", second);
        var (after, _) = await ctx.SyncAsync();

        Assert.True(after.Success);
        Assert.Equal(1, after.FilesUploaded);
        using var rclone = RcloneMetadataInteropTests.Rclone(ctx);
        var (exit, _, error) = rclone.TryRun("check", ctx.Local, RcloneMetadataInteropTests.Remote(ctx));
        Assert.True(exit == 0, error);
        foreach (var (name, content, parts) in new[] { ("first.bin", first, 4), ("second.bin", second, 6) })
        {
            var head = await ctx.Raw.GetObjectMetadataAsync(_s3rver.Bucket, ctx.Prefix + name);
            Assert.Equal(SyncTestContext.Sha256(content), head.Metadata["sha256"]);
            Assert.EndsWith($"-{parts}\"", head.ETag);
        }
    }

    // The warm-up's answers, each request first shown to (and held up or refused by) a step of the test.
    private sealed class Answers(HttpMessageHandler inner, Func<HttpRequestMessage, Task> before) : DelegatingHandler(inner)
    {
        public ConcurrentQueue<string> Hosts { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Hosts.Enqueue(request.RequestUri!.Host);
            await before(request);
            return await base.SendAsync(request, cancellationToken);
        }
    }

    private sealed class RecordingSink : IChittyLogSink
    {
        public ConcurrentQueue<string> Lines { get; } = new();

        public void Verbose(string message) => Lines.Enqueue(message);

        public void Debug(string message) => Lines.Enqueue(message);

        public void Warning(string message) => Lines.Enqueue(message);
    }
}
