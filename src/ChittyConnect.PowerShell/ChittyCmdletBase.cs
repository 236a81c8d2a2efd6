using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Management.Automation;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Diagnostics;
using ChittyConnect.PowerShell.Internal;

namespace ChittyConnect.PowerShell;

/// <summary>
/// The base of every ChittyConnect cmdlet: resolves the connection, runs the library's async work
/// while the pipeline thread stays the only one that writes to PowerShell's streams, turns Ctrl+C
/// into a prompt cancellation, and maps exceptions to error records.
/// </summary>
public abstract class ChittyCmdletBase : PSCmdlet
{
    private readonly CancellationTokenSource _stop = new();
    private Pump? _pump;
    private int _pipelineThreadId;
    private bool _verbose = true;

    /// <summary>The connection to use instead of the current one (Connect-Chitty's output).</summary>
    [Parameter]
    [ValidateNotNull]
    public ChittyConnection? Connection { get; set; }

    /// <summary>Whether verbose lines are shown, as found when <see cref="RunAndPump"/> started.</summary>
    protected bool VerboseEnabled => _verbose;

    /// <summary>The connection: -Connection, else the current one, else one from CHITTY_* environment variables.</summary>
    protected ChittyConnection ResolveConnection()
    {
        if (Connection is not null)
        {
            return Connection;
        }

        try
        {
            var connection = ConnectionRegistry.CurrentOrEnvironment(out var fromEnvironment);
            if (connection is not null)
            {
                if (fromEnvironment)
                {
                    WriteVerbose($"Connected from environment variables to {connection.Endpoint}.");
                }

                return connection;
            }
        }
        catch (ArgumentException ex)
        {
            ThrowTerminatingError(ChittyErrors.Create(ex, "ChittyInvalidEnvironment", ErrorCategory.InvalidArgument, null));
        }

        ThrowTerminatingError(new ErrorRecord(
            new InvalidOperationException("Not connected to ChittyConnect. Run Connect-Chitty -ApiKey <key> -ChittyId <id> (-Save keeps it as the profile 'default', which a bare Connect-Chitty loads; Connect-Chitty -Name <profile> loads another), pass -Connection, or set CHITTY_API_KEY and CHITTY_ID (and CHITTY_ENDPOINT for a service other than https://api.chitty.cc)."),
            "ChittyNotConnected", ErrorCategory.ConnectionError, null)
        {
            ErrorDetails = new ErrorDetails(string.Empty) { RecommendedAction = "Connect-Chitty -Endpoint https://api.chitty.cc -ApiKey (Read-Host -AsSecureString) -ChittyId <id>" },
        });
        return null!;
    }

    /// <summary>The session: the explicit one, else the connection's, else a terminating error.</summary>
    protected string ResolveSessionId(string? sessionId, ChittyConnection connection)
    {
        var resolved = string.IsNullOrWhiteSpace(sessionId) ? connection.SessionId : sessionId;
        if (string.IsNullOrWhiteSpace(resolved))
        {
            ThrowTerminatingError(new ErrorRecord(
                new ArgumentException("No session: pass -SessionId, or connect with Connect-Chitty -SessionId <id> (or CHITTY_SESSION_ID)."),
                "ChittySessionRequired", ErrorCategory.InvalidArgument, null));
        }

        // Both are checked already: a parameter as it binds, the connection's when it was made (settings' Validate).
        return resolved!.Trim();
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the thread pool and pumps what it posts (output, errors, verbose,
    /// progress, ShouldProcess questions) on this, the pipeline thread, until it ends. Ctrl+C cancels it.
    /// Exceptions it throws are rethrown here; a cancellation after Ctrl+C ends the pipeline as stopped.
    /// </summary>
    protected void RunAndPump(Func<CancellationToken, Task> work)
    {
        var pump = new Pump();
        _pump = pump;
        _pipelineThreadId = Environment.CurrentManagedThreadId;
        _verbose = IsVerboseEnabled();
        Task task;
        using (ChittyLog.Use(new LogSink(this)))
        {
            task = Task.Run(() => work(_stop.Token), _stop.Token);
        }

        task.ContinueWith(_ => pump.Complete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            pump.Run();
        }
        catch
        {
            // The pipeline is being torn down (a terminating error or a stop): end the work too.
            _stop.Cancel();
            task.ContinueWith(_ => { }, TaskScheduler.Default).Wait(TimeSpan.FromSeconds(5));
            throw;
        }
        finally
        {
            _pump = null;
        }

        try
        {
            task.GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            throw new PipelineStoppedException();
        }
    }

    /// <summary>
    /// <see cref="RunAndPump"/>, with a failure reported as an error record for <paramref name="target"/>:
    /// terminating when nothing else can proceed, else written and the pipeline goes on.
    /// </summary>
    protected bool TryRun(Func<CancellationToken, Task> work, object? target, bool terminating = false, string? errorId = null)
    {
        try
        {
            RunAndPump(work);
            return true;
        }
        catch (Exception ex) when (ChittyErrors.IsReportable(ex))
        {
            var record = ErrorFor(ex, target, errorId);
            if (terminating)
            {
                ThrowTerminatingError(record);
            }

            WriteError(record);
            return false;
        }
    }

    /// <summary>Runs <paramref name="action"/> on the pipeline thread (directly when already on it).</summary>
    protected void Post(Action action)
    {
        var pump = _pump;
        if (pump is null || Environment.CurrentManagedThreadId == _pipelineThreadId)
        {
            action();
            return;
        }

        // After the work ended the cmdlet is ending: late diagnostics are dropped.
        pump.Add(action);
    }

    /// <summary>WriteObject from any thread.</summary>
    protected void PostObject(object? value, bool enumerate = false) => Post(() => WriteObject(value, enumerate));

    /// <summary>WriteProgress from any thread.</summary>
    protected void PostProgress(ProgressRecord record) => Post(() => WriteProgress(record));

    /// <summary>Maps an exception to an error record with a stable id (see <see cref="ChittyErrors"/>).</summary>
    protected static ErrorRecord ErrorFor(Exception exception, object? target, string? errorId = null) =>
        ChittyErrors.ToErrorRecord(exception, target, errorId);

    /// <summary>
    /// The library's log, written to this cmdlet's streams. A private type rather than an interface of
    /// the cmdlet: PowerShell enumerates the module's public types before <see cref="ModuleInitializer"/>
    /// runs, and a public type that implements a library interface would need the library then, before
    /// it can be found in the dependency folder.
    /// </summary>
    private sealed class LogSink(ChittyCmdletBase cmdlet) : IChittyLogSink
    {
        // Nobody listens to verbose lines unless -Verbose (or -Debug, or $VerbosePreference) asks for them:
        // dropping them here spares a trip to the pipeline thread per message (one per request in a sync).
        public void Verbose(string message)
        {
            if (cmdlet._verbose)
            {
                cmdlet.Post(() => cmdlet.WriteVerbose(message));
            }
        }

        public void Debug(string message) => cmdlet.Post(() => cmdlet.WriteDebug(message));

        public void Warning(string message) => cmdlet.Post(() => cmdlet.WriteWarning(message));
    }

    /// <summary>
    /// Whether WriteVerbose would show anything: -Verbose, else -Debug (which implies it), else
    /// $VerbosePreference. Lets hot paths skip building messages nobody sees.
    /// </summary>
    protected bool IsVerboseEnabled()
    {
        var bound = MyInvocation?.BoundParameters;
        if (bound is not null)
        {
            if (bound.TryGetValue("Verbose", out var verbose))
            {
                return IsOn(verbose);
            }

            if (bound.TryGetValue("Debug", out var debug) && IsOn(debug))
            {
                return true;
            }
        }

        object? preference;
        try
        {
            preference = GetVariableValue("VerbosePreference");
        }
        catch (InvalidOperationException)
        {
            // Not run from a session (an in-process test calling Invoke): say everything.
            return true;
        }

        if (preference is PSObject wrapped)
        {
            preference = wrapped.BaseObject;
        }

        ActionPreference value;
        if (preference is ActionPreference p)
        {
            value = p;
        }
        else if (preference is null || !Enum.TryParse(preference.ToString(), true, out value))
        {
            return preference is not null;
        }

        return value is not (ActionPreference.SilentlyContinue or ActionPreference.Ignore);

        static bool IsOn(object? flag) => flag switch
        {
            SwitchParameter s => s.IsPresent,
            bool b => b,
            PSObject o => IsOn(o.BaseObject),
            _ => flag is not null,
        };
    }

    /// <inheritdoc />
    protected override void StopProcessing()
    {
        _stop.Cancel();
        base.StopProcessing();
    }

    // Hands actions from worker threads to the pipeline thread. The pipeline thread drains everything queued
    // in one go and then blocks without spinning; wake-ups are coalesced to at most one per MinInterval, so a
    // sync of many small files (a result, progress and maybe a verbose line each) costs a few dozen thread
    // switches a second instead of one (plus a spin) per action. Output is at most MinInterval late.
    private sealed class Pump
    {
        private static readonly TimeSpan s_minInterval = TimeSpan.FromMilliseconds(15);
        private readonly ConcurrentQueue<Action> _actions = new();
        // No spin: the waiter has nothing better to do, but spinning burns a core the transfers need. Never
        // disposed: a late Post from a worker may still set it (it holds no kernel handle unless asked for one).
        private readonly ManualResetEventSlim _signal = new(false, 0);
        private readonly Stopwatch _watch = Stopwatch.StartNew();
        private volatile bool _completed;
        private volatile bool _closed;

        public void Add(Action action)
        {
            if (_closed)
            {
                return;
            }

            _actions.Enqueue(action);
            _signal.Set();
        }

        public void Complete()
        {
            _completed = true;
            _signal.Set();
        }

        // Runs the actions in order until the work completed and everything it posted ran.
        public void Run()
        {
            var lastDrain = TimeSpan.Zero;
            try
            {
                while (true)
                {
                    _signal.Wait();
                    if (!_completed)
                    {
                        var since = _watch.Elapsed - lastDrain;
                        if (since < s_minInterval)
                        {
                            Thread.Sleep(s_minInterval - since);
                        }
                    }

                    // Reset, then look: an action or the completion that comes later sets the signal again, and
                    // one that came before is seen here (reading the flag before the reset could miss the end).
                    _signal.Reset();
                    var completed = _completed;
                    lastDrain = _watch.Elapsed;
                    while (_actions.TryDequeue(out var action))
                    {
                        action();
                    }

                    // Everything the work posted was queued before it completed, so this drain saw all of it.
                    if (completed)
                    {
                        return;
                    }
                }
            }
            finally
            {
                _closed = true;
            }
        }
    }
}
