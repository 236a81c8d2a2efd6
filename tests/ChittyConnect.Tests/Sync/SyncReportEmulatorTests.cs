using System.Text.Json.Nodes;
using ChittyConnect.Api;
using ChittyConnect.Configuration;
using ChittyConnect.Retry;
using ChittyConnect.Storage;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>The sync report as the emulator records it: one sync event, one context file per object.</summary>
[Collection(S3rverCollection.Name)]
public sealed class SyncReportEmulatorTests
{
    private readonly S3rverProcess _s3rver;

    public SyncReportEmulatorTests(S3rverProcess s3rver) => _s3rver = s3rver;

    [Fact]
    public async Task The_emulator_records_every_synced_file_once_and_a_failed_report_is_retried()
    {
        await using var emulator = await EmulatorHost.StartAsync();
        using var ctx = new SyncTestContext(_s3rver);
        var settings = _s3rver.Settings(EmulatorHost.SessionId);
        settings.Endpoint = emulator.BaseUri;
        settings.ApiKey = new ChittySecret(EmulatorHost.ApiKey);
        settings.ChittyId = EmulatorHost.ChittyId;
        using var api = new ChittyApiClient(settings, retry: RetryPolicy.ForApi(settings.MaxRetries, TimeSpan.FromMilliseconds(1)));
        var engine = new SyncEngine(ctx.Store, api);
        var files = ctx.WriteFixtureTree();

        // The first report fails: the files are uploaded, the report is left for the next run.
        await emulator.ArmFaultAsync(400, 1, "/api/context/files/sync-report");
        var first = await engine.RunAsync(ctx.Options(), null, null, CancellationToken.None);
        Assert.Equal(files.Count, first.FilesUploaded);
        Assert.NotNull(first.ReportError);
        Assert.Empty((await emulator.InspectAsync("_emulator/sync-events")).AsArray());

        var second = await engine.RunAsync(ctx.Options(), null, null, CancellationToken.None);
        Assert.Equal(0, second.FilesUploaded);
        Assert.Equal(files.Count, second.ReportedItems);

        var events = (await emulator.InspectAsync("_emulator/sync-events")).AsArray();
        var sync = Assert.Single(events)!;
        Assert.Equal(second.ReportEventId, sync["event_id"]!.GetValue<string>());
        Assert.Equal("chittyconnect-powershell", sync["source"]!.GetValue<string>());
        Assert.Equal(ctx.Prefix, sync["path_prefix"]!.GetValue<string>());
        Assert.Equal(files.Count, sync["items_count"]!.GetValue<int>());
        Assert.Equal(files.Values.Sum(v => (long)v.Length), sync["bytes_synced"]!.GetValue<long>());

        var contextFiles = (await emulator.InspectAsync("_emulator/context-files?session_id=" + EmulatorHost.SessionId)).AsArray();
        foreach (var pair in files)
        {
            var row = Assert.Single(contextFiles, f => f!["file_uri"]!.GetValue<string>() == "r2://" + ctx.Prefix + pair.Key)!;
            Assert.Equal(SyncTestContext.Sha256(pair.Value), row["sha256"]!.GetValue<string>());
            // The service stores `size || null`, so an empty file's size reads back as null.
            Assert.Equal(pair.Value.Length == 0 ? null : pair.Value.Length, row["file_size"]?.GetValue<long>());
        }

        // Nothing new: no new event.
        var third = await engine.RunAsync(ctx.Options(), null, null, CancellationToken.None);
        Assert.Equal(0, third.ReportedItems);
        Assert.Single((await emulator.InspectAsync("_emulator/sync-events")).AsArray());
    }
}
