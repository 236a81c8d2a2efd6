using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Events;

/// <summary>
/// A running <see cref="ChittyEventStream"/> whose events wait in a queue, so that a synchronous thread (a PowerShell
/// pipeline) can take them one at a time and stay free to write output between them.
/// </summary>
public sealed class ChittyEventSubscription : IDisposable
{
    private readonly BlockingCollection<ChittyEvent> _queue = new(new ConcurrentQueue<ChittyEvent>());
    private readonly CancellationTokenSource _cts;

    internal ChittyEventSubscription(ChittyEventStream stream, CancellationToken cancellationToken)
    {
        _cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var token = _cts.Token;
        Completion = Task.Run(async () =>
        {
            try
            {
                await stream.RunAsync(_queue.Add, token).ConfigureAwait(false);
            }
            finally
            {
                _queue.CompleteAdding();
            }
        });
    }

    /// <summary>
    /// Completes when the watch ends: after cancellation or <see cref="Dispose"/>, or faulted with a
    /// <see cref="Api.ChittyApiException"/> when the stream cannot be opened at all.
    /// </summary>
    public Task Completion { get; }

    /// <summary>
    /// Takes the next event, waiting up to <paramref name="timeout"/> (<see cref="Timeout.InfiniteTimeSpan"/> for no limit).
    /// </summary>
    /// <returns><see langword="false"/> when the time is up, or when the watch has ended and every event was taken.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled while waiting.</exception>
    /// <exception cref="Api.ChittyApiException">The watch ended because the stream cannot be opened.</exception>
    public bool TryTake(out ChittyEvent? chittyEvent, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var milliseconds = timeout == Timeout.InfiniteTimeSpan
            ? Timeout.Infinite
            : (int)Math.Max(0, Math.Min(int.MaxValue, Math.Ceiling(timeout.TotalMilliseconds)));
        if (_queue.TryTake(out chittyEvent, milliseconds, cancellationToken))
        {
            return true;
        }

        if (_queue.IsCompleted)
        {
            ThrowIfFaulted();
        }

        return false;
    }

    /// <summary>Every event as it arrives, until the watch ends or <paramref name="cancellationToken"/> is cancelled.</summary>
    public IEnumerable<ChittyEvent> GetConsumingEnumerable(CancellationToken cancellationToken)
    {
        foreach (var chittyEvent in _queue.GetConsumingEnumerable(cancellationToken))
        {
            yield return chittyEvent;
        }

        ThrowIfFaulted();
    }

    /// <summary>Ends the watch and closes its connection; waits up to a second for that to finish.</summary>
    public void Dispose()
    {
        if (!_cts.IsCancellationRequested)
        {
            _cts.Cancel();
        }

        try
        {
            Completion.Wait(TimeSpan.FromSeconds(1));
        }
        catch (AggregateException)
        {
            // A failure that nobody took is of no interest once the consumer has let go.
        }
    }

    private void ThrowIfFaulted()
    {
        // The queue is marked complete just before the task ends; let it end so its fault is visible.
        try
        {
            Completion.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }

        if (Completion.IsFaulted)
        {
            var inner = Completion.Exception!.GetBaseException();
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(inner).Throw();
        }
    }
}
