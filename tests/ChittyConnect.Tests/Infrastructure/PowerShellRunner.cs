using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Runspaces;
using ChittyConnect.PowerShell.Commands;

namespace ChittyConnect.Tests.Infrastructure;

/// <summary>What a script wrote to each stream.</summary>
internal sealed class PowerShellResult
{
    public List<PSObject> Output { get; } = new();
    public List<ErrorRecord> Errors { get; } = new();
    public List<string> Verbose { get; } = new();
    public List<string> Warnings { get; } = new();
    public List<string> Debug { get; } = new();
    public List<string> Information { get; } = new();
    public List<ProgressRecord> Progress { get; } = new();
    public Exception? Terminating { get; set; }

    /// <summary>The one error: a script-terminating one, else the only record of the error stream.</summary>
    public ErrorRecord SingleError() =>
        Terminating is IContainsErrorRecord terminating ? terminating.ErrorRecord : Xunit.Assert.Single(Errors);

    /// <summary>Everything any stream carried, as text, for leak checks.</summary>
    public string AllText() => string.Join("\n",
        Output.Select(o => o?.ToString() ?? string.Empty)
            .Concat(Output.SelectMany(o => o?.Properties.Select(SafeValue) ?? Array.Empty<string>()))
            .Concat(Errors.Select(e => e + " " + e.Exception + " " + e.ErrorDetails?.Message + " " + e.ErrorDetails?.RecommendedAction))
            .Concat(Verbose).Concat(Warnings).Concat(Debug).Concat(Information)
            .Concat(Progress.Select(p => p.Activity + " " + p.StatusDescription + " " + p.CurrentOperation))
            .Append(Terminating?.ToString() ?? string.Empty));

    private static string SafeValue(PSPropertyInfo property)
    {
        try
        {
            return property.Name + "=" + property.Value;
        }
        catch (GetValueException)
        {
            return property.Name;
        }
    }
}

/// <summary>Hosts the module's cmdlets in-process, in a runspace of their own.</summary>
internal sealed class PowerShellRunner : IDisposable
{
    private readonly Runspace _runspace;

    public PowerShellRunner()
    {
        var state = InitialSessionState.CreateDefault2();
        state.ImportPSModule(new[] { typeof(ConnectChittyCommand).Assembly.Location });
        _runspace = RunspaceFactory.CreateRunspace(state);
        _runspace.Open();
    }

    public PowerShellResult Run(string script, IDictionary? parameters = null, TimeSpan? timeout = null)
    {
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _runspace;
        ps.AddScript(script);
        if (parameters is not null)
        {
            ps.AddParameters(parameters);
        }

        var result = new PowerShellResult();
        ps.Streams.Error.DataAdded += (_, e) => result.Errors.Add(ps.Streams.Error[e.Index]);
        ps.Streams.Verbose.DataAdded += (_, e) => result.Verbose.Add(ps.Streams.Verbose[e.Index].Message);
        ps.Streams.Warning.DataAdded += (_, e) => result.Warnings.Add(ps.Streams.Warning[e.Index].Message);
        ps.Streams.Debug.DataAdded += (_, e) => result.Debug.Add(ps.Streams.Debug[e.Index].Message);
        ps.Streams.Information.DataAdded += (_, e) => result.Information.Add(ps.Streams.Information[e.Index].MessageData?.ToString() ?? string.Empty);
        ps.Streams.Progress.DataAdded += (_, e) => result.Progress.Add(ps.Streams.Progress[e.Index]);
        var output = new PSDataCollection<PSObject>();
        output.DataAdded += (_, e) => result.Output.Add(output[e.Index]);
        try
        {
            var async = ps.BeginInvoke<PSObject, PSObject>(null, output);
            if (!async.AsyncWaitHandle.WaitOne(timeout ?? TimeSpan.FromSeconds(60)))
            {
                ps.Stop();
                throw new TimeoutException("The script did not finish in time: " + script);
            }

            ps.EndInvoke(async);
        }
        catch (RuntimeException ex)
        {
            result.Terminating = ex;
        }

        return result;
    }

    /// <summary>Starts a script and stops it (as Ctrl+C does) after <paramref name="after"/>; returns how long the stop took.</summary>
    public TimeSpan RunAndStop(string script, TimeSpan after)
    {
        using var ps = System.Management.Automation.PowerShell.Create();
        ps.Runspace = _runspace;
        ps.AddScript(script);
        var async = ps.BeginInvoke();
        Thread.Sleep(after);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        ps.Stop();
        async.AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(30));
        return watch.Elapsed;
    }

    public void Dispose() => _runspace.Dispose();
}
