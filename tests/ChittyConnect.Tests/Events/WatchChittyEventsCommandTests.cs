using System.Diagnostics;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ChittyConnect.Configuration;
using ChittyConnect.Events;
using ChittyConnect.PowerShell.Commands;
using Xunit;

namespace ChittyConnect.Tests.Events;

/// <summary>Watch-ChittyEvents hosted in-process against the loopback SSE server, as a script would use it.</summary>
public sealed class WatchChittyEventsCommandTests : IDisposable
{
    private const string Session = "sess-ps";

    private readonly Runspace _runspace;

    public WatchChittyEventsCommandTests()
    {
        var state = InitialSessionState.CreateDefault2();
        state.Commands.Add(new SessionStateCmdletEntry("Watch-ChittyEvents", typeof(WatchChittyEventsCommand), null));
        _runspace = RunspaceFactory.CreateRunspace(state);
        _runspace.Open();
    }

    public void Dispose() => _runspace.Dispose();

    [Fact]
    public async Task EventsArriveAsObjectsWhosePayloadScriptsCanDotInto()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendEventAsync($$$"""{"type":"connected","sessionId":"{{{Session}}}","timestamp":"2025-01-02T03:04:05.678Z","message":"hi"}""");
            await c.SendEventAsync($$$"""{"type":"context.files.uploaded","sessionId":"other","file":{"name":"theirs"}}""");
            await c.SendEventAsync($$$"""{"type":"context.files.updated","sessionId":"{{{Session}}}","timestamp":1735787045678,"files":[{"uri":"r2://a","size":5},{"uri":"r2://b","size":2.5}]}""");
            await c.HoldAsync();
        });

        // -First 1 writes exactly one object: the stream's own "connected" is not written.
        var output = Invoke(server, "Watch-ChittyEvents -Connection $connection -First 1 | ForEach-Object { $_ }");

        Assert.Equal(new[] { "context.files.updated" }, output.Select(o => ((ChittyEvent)o.BaseObject).Type));
        var updated = (ChittyEvent)output[0].BaseObject;
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1735787045678), updated.Timestamp);
        Assert.Equal(Session, updated.SessionId);

        _runspace.SessionStateProxy.SetVariable("event", updated);
        var uris = Run("$event.Data.files | ForEach-Object { '{0}={1} ({2})' -f $_.uri, $_.size, $_.size.GetType().Name }");
        Assert.Equal(new[] { "r2://a=5 (Int64)", "r2://b=2.5 (Double)" }, uris.Select(o => o.ToString()));
    }

    [Fact]
    public async Task TypeWildcardsAndFirstEndTheWatch()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendEventAsync($$$"""{"type":"connected","sessionId":"{{{Session}}}"}""");
            foreach (var type in new[] { "context.files.uploaded", "context.files.synced", "context.files.committed", "context.files.synced" })
            {
                await c.SendEventAsync($$$"""{"type":"{{{type}}}","sessionId":"{{{Session}}}"}""");
            }

            await c.HoldAsync();
        });

        var output = Invoke(server, "Watch-ChittyEvents -Connection $connection -Type '*.SYNCED', 'context.files.c*' -First 2");

        Assert.Equal(new[] { "context.files.synced", "context.files.committed" }, output.Select(o => ((ChittyEvent)o.BaseObject).Type));
    }

    [Fact]
    public async Task FirstCountsEveryObjectWrittenAndTheStreamEventsOnlyWhenAskedFor()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendEventAsync($$$"""{"type":"connected","sessionId":"{{{Session}}}","timestamp":1735787045678,"message":"ChittyConnect streaming active"}""");
            await c.SendEventAsync("""{"type":"heartbeat","timestamp":1735787046678,"uptime":7}""");
            foreach (var name in new[] { "a", "b", "c" })
            {
                await c.SendEventAsync($$$"""{"type":"context.files.uploaded","sessionId":"{{{Session}}}","file":{"name":"{{{name}}}"}}""");
            }

            await c.HoldAsync();
        });

        using var ps = Watch(server, "Watch-ChittyEvents -Connection $connection -First 2 -Verbose");
        var plain = ps.Invoke();
        Assert.Equal(new[] { "context.files.uploaded", "context.files.uploaded" }, plain.Select(o => ((ChittyEvent)o.BaseObject).Type));
        Assert.Contains(ps.Streams.Verbose, v => v.Message == "The stream sent 'connected': ChittyConnect streaming active.");
        Assert.Contains(ps.Streams.Verbose, v => v.Message == "The stream sent 'heartbeat': uptime 7 s.");

        var asked = Invoke(server, "Watch-ChittyEvents -Connection $connection -First 3 -IncludeStreamEvents");
        Assert.Equal(new[] { "connected", "heartbeat", "context.files.uploaded" }, asked.Select(o => ((ChittyEvent)o.BaseObject).Type));
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1735787045678), ((ChittyEvent)asked[0].BaseObject).Timestamp);

        // The switch's former name still binds.
        var legacy = Invoke(server, "Watch-ChittyEvents -Connection $connection -First 1 -IncludeHeartbeat");
        Assert.Equal("connected", ((ChittyEvent)Assert.Single(legacy).BaseObject).Type);
    }

    [Fact]
    public async Task ATimeoutShortOfFirstIsAnErrorAScriptCanTest()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendEventAsync($$$"""{"type":"connected","sessionId":"{{{Session}}}"}""");
            await c.SendEventAsync($$$"""{"type":"context.files.synced","sessionId":"{{{Session}}}"}""");
            await c.HoldAsync();
        });

        using var ps = Watch(server, "Watch-ChittyEvents -Connection $connection -First 3 -Timeout 2");
        var output = ps.Invoke();

        Assert.Equal("context.files.synced", ((ChittyEvent)Assert.Single(output).BaseObject).Type);
        var error = Assert.Single(ps.Streams.Error);
        Assert.Equal("ChittyWatchTimeout,ChittyConnect.PowerShell.Commands.WatchChittyEventsCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.OperationTimeout, error.CategoryInfo.Category);
        Assert.Contains("1 of the 3", error.Exception.Message);
    }

    [Fact]
    public async Task ATimeoutInSecondsEndsTheWatchWithoutAnError()
    {
        await using var server = ConnectedThenHolding();

        // A bare number is seconds: as ticks, the watch would end before it connected and write nothing.
        using var ps = Watch(server, "Watch-ChittyEvents -Connection $connection -Timeout 3 -Verbose -IncludeStreamEvents");
        var output = ps.Invoke();

        Assert.Equal("connected", ((ChittyEvent)Assert.Single(output).BaseObject).Type);
        Assert.False(ps.HadErrors);
        Assert.Contains(ps.Streams.Verbose, v => v.Message.StartsWith("The watch ended after 00:00:03", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReconnectsShowInVerboseAndMalformedPayloadsAsWarnings()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendEventAsync($$$"""{"type":"connected","sessionId":"{{{Session}}}"}""");
            if (c.Index < 2)
            {
                await c.SendAsync("data: {\"type\":\n\n");
                return;
            }

            await c.SendEventAsync($$$"""{"type":"context.files.synced","sessionId":"{{{Session}}}","pathPrefix":"p"}""");
            await c.HoldAsync();
        });
        using var ps = Watch(server, "Watch-ChittyEvents -Connection $connection -Type context.files.synced -First 1 -Verbose");

        var output = ps.Invoke();

        Assert.Equal("p", ((PSObject)((ChittyEvent)Assert.Single(output).BaseObject).Data).Properties["pathPrefix"].Value);
        Assert.Equal(2, ps.Streams.Verbose.Count(v => v.Message.Contains("The server ended the stream; reconnecting", StringComparison.Ordinal)));
        Assert.Equal(2, ps.Streams.Warning.Count(w => w.Message.Contains("not valid JSON", StringComparison.Ordinal)));
        Assert.False(ps.HadErrors);
    }

    [Fact]
    public async Task StoppingTheWatchEndsItPromptlyAndWithoutAnError()
    {
        await using var server = ConnectedThenHolding();
        using var ps = Watch(server, "Watch-ChittyEvents -Connection $connection -IncludeStreamEvents");
        var output = new PSDataCollection<PSObject>();
        var first = new TaskCompletionSource();
        output.DataAdded += (_, _) => first.TrySetResult();

        var invocation = ps.BeginInvoke<PSObject, PSObject>(null, output);
        await first.Task.WaitAsync(TimeSpan.FromSeconds(20));
        var stopwatch = Stopwatch.StartNew();
        await Task.Factory.FromAsync(ps.BeginStop(null, null), ps.EndStop).WaitAsync(TimeSpan.FromSeconds(20));
        stopwatch.Stop();

        Assert.True(invocation.IsCompleted);
        Assert.Equal(PSInvocationState.Stopped, ps.InvocationStateInfo.State);
        Assert.Empty(ps.Streams.Error);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(2), $"The stop took {stopwatch.Elapsed}.");
    }

    [Fact]
    public async Task AStreamThatDoesNotExistIsATerminatingErrorWithAStableId()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync(404, "text/plain");
            await c.SendAsync("Not Found");
        });

        using var ps = Watch(server, "Watch-ChittyEvents -Connection $connection");

        Assert.Empty(ps.Invoke());

        var error = Assert.Single(ps.Streams.Error);
        Assert.Equal("ChittyNotFound,ChittyConnect.PowerShell.Commands.WatchChittyEventsCommand", error.FullyQualifiedErrorId);
        Assert.Equal(ErrorCategory.ObjectNotFound, error.CategoryInfo.Category);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task WithoutASessionOnlyAllSessionsCanWatch()
    {
        await using var server = new LoopbackSseServer(async c =>
        {
            await c.StartAsync();
            await c.SendEventAsync("""{"type":"context.files.synced","sessionId":"anyone"}""");
            await c.HoldAsync();
        });
        var connection = new ChittyConnection(new ChittyConnectionSettings
        {
            Endpoint = server.BaseUri,
            ApiKey = new ChittySecret("key"),
            ChittyId = "CHITTY-1",
        });
        _runspace.SessionStateProxy.SetVariable("connection", connection);
        using var ps = System.Management.Automation.PowerShell.Create(_runspace);
        ps.AddScript("Watch-ChittyEvents -Connection $connection");

        Assert.Empty(ps.Invoke());
        Assert.StartsWith("ChittySessionRequired,", Assert.Single(ps.Streams.Error).FullyQualifiedErrorId, StringComparison.Ordinal);
        Assert.Empty(server.Requests);

        var output = Run("Watch-ChittyEvents -Connection $connection -AllSessions -First 1");

        Assert.Equal("anyone", ((ChittyEvent)Assert.Single(output).BaseObject).SessionId);
        Assert.Equal("/sse", Assert.Single(server.Requests).Target);
    }

    private ChittyConnection Connect(LoopbackSseServer server) => new(new ChittyConnectionSettings
    {
        Endpoint = server.BaseUri,
        ApiKey = new ChittySecret("key"),
        ChittyId = "CHITTY-1",
        SessionId = Session,
    });

    private List<PSObject> Invoke(LoopbackSseServer server, string script)
    {
        _runspace.SessionStateProxy.SetVariable("connection", Connect(server));
        return Run(script);
    }

    // The watch's script, with $connection on the server, ready to invoke; its streams are the caller's to read.
    private System.Management.Automation.PowerShell Watch(LoopbackSseServer server, string script)
    {
        _runspace.SessionStateProxy.SetVariable("connection", Connect(server));
        var ps = System.Management.Automation.PowerShell.Create(_runspace);
        ps.AddScript(script);
        return ps;
    }

    // A stream that says "connected" for the session and then stays open.
    private static LoopbackSseServer ConnectedThenHolding() => new(async c =>
    {
        await c.StartAsync();
        await c.SendEventAsync($$$"""{"type":"connected","sessionId":"{{{Session}}}"}""");
        await c.HoldAsync();
    });

    private List<PSObject> Run(string script)
    {
        using var ps = System.Management.Automation.PowerShell.Create(_runspace);
        ps.AddScript(script);
        return ps.Invoke().ToList();
    }
}
