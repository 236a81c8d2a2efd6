using System;
using System.Collections.Concurrent;
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
public abstract class ChittyCmdletBase : PSCmdlet, IChittyLogSink
{
    private readonly CancellationTokenSource _stop = new();
    private BlockingCollection<Action>? _queue;
    private int _pipelineThreadId;

    /// <summary>The connection to use instead of the current one (Connect-Chitty's output).</summary>
    [Parameter]
    [ValidateNotNull]
    public ChittyConnection? Connection { get; set; }

    /// <summary>Cancelled by Ctrl+C (StopProcessing).</summary>
    protected CancellationToken StopToken => _stop.Token;

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
            new InvalidOperationException("Not connected to ChittyConnect. Run Connect-Chitty -Endpoint <uri> -ApiKey <key> -ChittyId <id> (or Connect-Chitty -Name <profile>), pass -Connection, or set CHITTY_ENDPOINT and CHITTY_API_KEY."),
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

        return resolved!.Trim();
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the thread pool and pumps what it posts (output, errors, verbose,
    /// progress, ShouldProcess questions) on this, the pipeline thread, until it ends. Ctrl+C cancels it.
    /// Exceptions it throws are rethrown here; a cancellation after Ctrl+C ends the pipeline as stopped.
    /// </summary>
    protected void RunAsync(Func<CancellationToken, Task> work)
    {
        using var queue = new BlockingCollection<Action>();
        _queue = queue;
        _pipelineThreadId = Environment.CurrentManagedThreadId;
        Task task;
        using (ChittyLog.Use(this))
        {
            task = Task.Run(() => work(_stop.Token), _stop.Token);
        }

        task.ContinueWith(_ => queue.CompleteAdding(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            foreach (var action in queue.GetConsumingEnumerable())
            {
                action();
            }
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
            _queue = null;
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
    /// <see cref="RunAsync"/>, with a failure reported as an error record for <paramref name="target"/>:
    /// terminating when nothing else can proceed, else written and the pipeline goes on.
    /// </summary>
    protected bool TryRun(Func<CancellationToken, Task> work, object? target, bool terminating = false, string? errorId = null)
    {
        try
        {
            RunAsync(work);
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
        var queue = _queue;
        if (queue is null || Environment.CurrentManagedThreadId == _pipelineThreadId)
        {
            action();
            return;
        }

        try
        {
            queue.Add(action);
        }
        catch (InvalidOperationException)
        {
            // Completed: the cmdlet is ending; late diagnostics are dropped.
        }
    }

    /// <summary>WriteObject from any thread.</summary>
    protected void PostObject(object? value, bool enumerate = false) => Post(() => WriteObject(value, enumerate));

    /// <summary>WriteProgress from any thread.</summary>
    protected void PostProgress(ProgressRecord record) => Post(() => WriteProgress(record));

    /// <summary>Maps an exception to an error record with a stable id (see <see cref="ChittyErrors"/>).</summary>
    protected static ErrorRecord ErrorFor(Exception exception, object? target, string? errorId = null) =>
        ChittyErrors.ToErrorRecord(exception, target, errorId);

    void IChittyLogSink.Verbose(string message) => Post(() => WriteVerbose(message));

    void IChittyLogSink.Debug(string message) => Post(() => WriteDebug(message));

    void IChittyLogSink.Warning(string message) => Post(() => WriteWarning(message));

    /// <inheritdoc />
    protected override void StopProcessing()
    {
        _stop.Cancel();
        base.StopProcessing();
    }
}
