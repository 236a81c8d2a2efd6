using System.Collections;
using System.Management.Automation;
using ChittyConnect.Configuration;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Cmdlets;

/// <summary>
/// Calls in one PowerShell session reuse the S3 connection of the call before when they target the same
/// bucket with the same credentials and settings, and only then; each call still counts its own requests;
/// Remove-Module closes what was kept. Seen from a relay that counts the TCP connections clients open.
/// </summary>
[Collection(SessionTransportCollection.Name)]
public sealed class SessionTransportTests : IAsyncLifetime
{
    private readonly S3rverProcess _s3rver;
    private readonly string _root = Directory.CreateTempSubdirectory("chitty-transport-").FullName;
    private readonly string _prefix = "files/transport-" + Guid.NewGuid().ToString("N")[..8] + "/";
    private readonly PowerShellRunner _ps = new();
    private CountingTcpRelay _relay = null!;

    public SessionTransportTests(S3rverProcess s3rver)
    {
        _s3rver = s3rver;
        MakeFolder("folder", 3);
    }

    public Task InitializeAsync()
    {
        _relay = new CountingTcpRelay(_s3rver.Endpoint);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _ps.Dispose();
        await _relay.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void TwoSyncsInOneSessionOpenOneConnectionBetweenThemAndEachCountsOnlyItsOwnRequests()
    {
        var connection = Connection();
        var first = Summary(Sync(connection, "folder", "-Transfers 1"));
        var afterFirst = _relay.Accepted;
        var second = Summary(Sync(connection, "folder", "-Transfers 1"));

        Assert.Equal((1, 3, 3), (first.Requests.List, first.Requests.Put, first.FilesUploaded));
        Assert.Equal((1, 0, 0, 3), (second.Requests.List, second.Requests.Put, second.FilesUploaded, second.FilesSkipped));
        Assert.Equal(1, afterFirst);
        Assert.Equal(1, _relay.Accepted);
    }

    [Fact]
    public void ACallWithAnotherKeyOrOtherTransferSettingsNeverUsesTheConnectionOfTheCallBefore()
    {
        Assert.Empty(Sync(Connection(), "folder", "-Transfers 1").Errors);
        var accepted = _relay.Accepted;

        // s3rver refuses an unknown access key id (it checks no signatures, so the secret alone could not show).
        var wrongKey = Sync(Connection(s => s.R2AccessKeyId = "NOT-A-KEY"), "folder", "-Transfers 1");
        var record = wrongKey.SingleError();
        Assert.Equal("ChittyStorageError", record.FullyQualifiedErrorId.Split(',')[0]);
        Assert.Equal(ErrorCategory.AuthenticationError, record.CategoryInfo.Category);
        Assert.Contains("InvalidAccessKeyId", record.Exception.Message);
        Assert.True(_relay.Accepted > accepted, "the call with another key reused a connection");

        accepted = _relay.Accepted;
        Assert.Empty(Sync(Connection(), "folder", "-Transfers 2").Errors);
        Assert.True(_relay.Accepted > accepted, "the call with other transfers reused a connection");

        accepted = _relay.Accepted;
        Assert.Empty(Sync(Connection(), "folder", "-Transfers 2 -BandwidthLimit 10MB").Errors);
        Assert.True(_relay.Accepted > accepted, "the call with a bandwidth limit reused a connection");
    }

    [Fact]
    public void RemovingTheModuleReleasesTheConnectionKeptBetweenCalls()
    {
        Assert.Empty(Sync(Connection(), "folder", "-Transfers 1").Errors);
        Assert.Equal(1, _relay.Open);

        var reimported = _ps.Run("param($module) Remove-Module ChittyConnect.PowerShell; Import-Module $module",
            new Hashtable { ["module"] = typeof(PowerShell.Commands.SyncChittyFolderCommand).Assembly.Location });
        Assert.Empty(reimported.Errors);
        Assert.Null(reimported.Terminating);
        Assert.Empty(Sync(Connection(), "folder", "-Transfers 1").Errors);

        // The call after the removal had to connect again: the kept connection was let go with the module.
        Assert.Equal(2, _relay.Accepted);
    }

    [Fact]
    public async Task TwoRunspacesSyncingAtOnceEachSucceedWithTheirOwnCounts()
    {
        MakeFolder("one", 6);
        MakeFolder("two", 9);
        using var other = new PowerShellRunner();
        var connection = Connection();
        var runs = await Task.WhenAll(
            Task.Run(() => Sync(connection, "one", "-Transfers 3", _ps)),
            Task.Run(() => Sync(connection, "two", "-Transfers 3", other)));

        var (one, two) = (Summary(runs[0]), Summary(runs[1]));
        Assert.Equal((1, 6, 6, 0), (one.Requests.List, one.Requests.Put, one.FilesUploaded, one.Errors));
        Assert.Equal((1, 9, 9, 0), (two.Requests.List, two.Requests.Put, two.FilesUploaded, two.Errors));
    }

    private ChittyConnection Connection(Action<ChittyConnectionSettings>? configure = null)
    {
        var settings = _s3rver.Settings();
        settings.R2Endpoint = _relay.Uri;
        configure?.Invoke(settings);
        return new ChittyConnection(settings);
    }

    private PowerShellResult Sync(ChittyConnection connection, string folder, string arguments, PowerShellRunner? runner = null) =>
        (runner ?? _ps).Run(
            "param($conn, $folder, $prefix, $state) Sync-ChittyFolder $folder -Connection $conn -Prefix $prefix -NoReport -Summary -StateDirectory $state " + arguments,
            new Hashtable
            {
                ["conn"] = connection,
                ["folder"] = Path.Combine(_root, folder),
                ["prefix"] = _prefix + folder + "/",
                ["state"] = Path.Combine(_root, "state"),
            });

    private static ChittySyncSummary Summary(PowerShellResult result)
    {
        Assert.Null(result.Terminating);
        Assert.Empty(result.Errors);
        return Assert.IsType<ChittySyncSummary>(result.Output[^1].BaseObject);
    }

    private void MakeFolder(string name, int files)
    {
        var folder = Directory.CreateDirectory(Path.Combine(_root, name)).FullName;
        for (var i = 0; i < files; i++)
        {
            File.WriteAllText(Path.Combine(folder, $"f{i}.txt"), $"{name} {i}");
        }
    }
}

/// <summary>
/// Its own s3rver, and no other test running meanwhile: the module's transports are shared by the whole
/// process, so another test's calls could fill the pool or clear it between two calls of a test here.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SessionTransportCollection : ICollectionFixture<S3rverProcess>
{
    public const string Name = "session-transports";
}
