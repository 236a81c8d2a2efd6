using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Diagnostics;

namespace ChittyConnect.Storage;

/// <summary>
/// The objects under a prefix one at a time, in the order a listing gives them, with a few pages held at most:
/// the ranges between split points are listed as <see cref="RangedListing"/> lists them, each range a page at a
/// time into a buffer of its own that holds <see cref="BufferedPages"/> pages (a range whose buffer is full asks
/// for no next page until the reader takes one), and read range after range. At most <see cref="ActiveRanges"/>
/// ranges are listed or held at once: the one being read and the next ones; each range the reader finishes
/// starts the next one not yet started. Their page requests go side by side as far as the store's pace pays
/// for (<see cref="ListingWidth"/>: where a page costs a round trip, one for each range; where it costs the
/// store's own work, one at a time), the reader's range first. So memory is a few pages per active range,
/// whatever the number of keys or ranges, and with many small ranges (a few pages each) the listing keeps its
/// width of requests in flight from the first page to the last, where a few large ranges would each wait for
/// the reader.
/// </summary>
/// <remarks>
/// Ranged (split points given), the objects are exactly those of <see cref="RangedListing.ListAsync"/>, in key
/// order (UTF-8 bytes), and a range meeting a key not above the one before it makes <see cref="NextAsync"/>
/// throw <see cref="RangedListing.OutOfOrderException"/> (where <see cref="RangedListing.ListAsync"/> lists
/// again in one range: a stream cannot take back what it gave). Without split points the prefix is one range
/// and the objects come as the store gives them, out of order or not; <see cref="InKeyOrder"/> tells which.
/// Should a range fail, the others are cancelled and <see cref="NextAsync"/> throws that range's failure.
/// One reader at a time; dispose it (<c>await using</c>) to stop and await the ranges' listings.
/// </remarks>
public sealed class RemoteKeyStream : IAsyncDisposable
{
    /// <summary>Pages each range holds ready for the reader (and one more on its way in).</summary>
    public const int BufferedPages = 4;

    /// <summary>The most ranges listed or held at once (<see cref="RangedListing.MaxRanges"/>): the reader's and those after it.</summary>
    public const int ActiveRanges = RangedListing.MaxRanges;

    private readonly RangeBuffer[] _ranges;
    private readonly (string? StartAfter, string? Last)[] _bounds;
    private readonly R2ObjectStore _store;
    private readonly string _prefix;
    private readonly CancellationTokenSource _cancel;
    private readonly CancellationToken _token;
    private readonly ListingWidth _width;
    private readonly object _starting = new();
    private readonly List<(int Range, TaskCompletionSource<bool> Turn)> _waiting = new();
    private Exception? _failure;
    private int _current;
    private int _next;
    private int _requesting;
    private IReadOnlyList<RemoteObject>? _page;
    private int _index;
    private bool _inKeyOrder = true;
    private bool _ended;
    private bool _disposed;

    private RemoteKeyStream(R2ObjectStore store, string prefix, (string? StartAfter, string? Last)[] bounds, ListingWidth width, CancellationToken cancellationToken)
    {
        _width = width;
        _store = store;
        _prefix = prefix;
        _bounds = bounds;
        _ranges = new RangeBuffer[bounds.Length];
        _cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _token = cancellationToken;
    }

    /// <summary>
    /// Starts listing <paramref name="prefix"/> in the ranges between <paramref name="splitAfter"/> (full keys,
    /// ascending in key order; none: one range), the first <see cref="ActiveRanges"/> of them at once.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The split points are not in strictly ascending key order, or one is not under the prefix (no request is made).
    /// </exception>
    /// <exception cref="NotSupportedException">
    /// The store cannot list page by page: an encrypted prefix, whose plaintext names are not in key order, is listed whole.
    /// </exception>
    public static RemoteKeyStream Open(IObjectStore store, string prefix, IReadOnlyList<string> splitAfter, CancellationToken cancellationToken)
    {
        if (store is not R2ObjectStore pages)
        {
            throw new NotSupportedException($"A {store.GetType().Name} cannot list page by page; list it whole with ListAsync.");
        }

        foreach (var point in splitAfter)
        {
            if (!point.StartsWith(prefix, StringComparison.Ordinal))
            {
                throw new ArgumentException($"The split point '{point}' is not a key under the prefix '{prefix}': split points are full keys (the prefix and a relative path).", nameof(splitAfter));
            }
        }

        var bounds = RangedListing.RangesOf(splitAfter);
        var width = new ListingWidth(initial: ListingWidth.LearntFor(pages.Endpoint, pages.Bucket));
        var stream = new RemoteKeyStream(pages, prefix, bounds, width, cancellationToken);
        for (var r = 0; r < bounds.Length; r++)
        {
            stream._ranges[r] = new RangeBuffer();
        }

        stream.StartRanges();
        return stream;
    }

    /// <summary>The ranges: one more than the split points.</summary>
    public int Ranges => _ranges.Length;

    /// <summary>
    /// Whether every key the stream read came in key order (always so for a ranged stream, which throws
    /// otherwise): what the next listing of the prefix is to be given. Known once <see cref="NextAsync"/> gave null.
    /// </summary>
    /// <exception cref="InvalidOperationException">The stream has not reached its end.</exception>
    public bool InKeyOrder => _ended ? _inKeyOrder : throw new InvalidOperationException("Whether the keys came in key order is known at the end of the stream.");

    /// <summary>The next object; null at the end.</summary>
    /// <exception cref="RangedListing.OutOfOrderException">A range (of several) met a key out of key order.</exception>
    /// <exception cref="OperationCanceledException">The token given to <see cref="Open"/> was cancelled.</exception>
    public ValueTask<RemoteObject?> NextAsync()
    {
        _token.ThrowIfCancellationRequested();
        if (_page is not null && _index < _page.Count)
        {
            return new ValueTask<RemoteObject?>(_page[_index++]);
        }

        return NextPageAsync();
    }

    /// <summary>Cancels the ranges' listings and waits for them to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        lock (_starting)
        {
            // No range starts after this: every listing started is awaited below.
            _disposed = true;
        }

        _cancel.Cancel();
        foreach (var range in _ranges)
        {
            try
            {
                // A range not started holds a listing that ended with nothing.
                await range.Listing.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Cancelled, or failed: what the reader was to know it learnt from NextAsync.
            }
        }

        _cancel.Dispose();
    }

    private async ValueTask<RemoteObject?> NextPageAsync()
    {
        _page = null;
        while (_current < _ranges.Length)
        {
            var range = _ranges[_current];
            var page = await range.TakeAsync(_token).ConfigureAwait(false);
            ThrowFailure();
            if (page is null)
            {
                _inKeyOrder &= await range.Listing.ConfigureAwait(false);
                Volatile.Write(ref _current, _current + 1);
                StartRanges();
                continue;
            }

            _page = page;
            _index = 1;
            return page[0];
        }

        _ended = true;
        if (_ranges.Length > 1)
        {
            _width.Learnt(_store.Endpoint, _store.Bucket);
            ChittyLog.Verbose($"'{_prefix}' was listed in {_ranges.Length} ranges, {_width.Limit} of them asking side by side at the end (the store's pace chose it).");
        }

        return null;
    }

    // The range that failed first, not one that its failure cancelled: as soon as it is known, so a reader still
    // in an earlier range stops there.
    private void ThrowFailure()
    {
        if (Volatile.Read(ref _failure) is { } failure)
        {
            ExceptionDispatchInfo.Capture(failure).Throw();
        }
    }

    // Starts the ranges not yet started while fewer than ActiveRanges are listed or held ahead of the reader, in order.
    private void StartRanges()
    {
        lock (_starting)
        {
            while (!_disposed && _next < _ranges.Length && _next < Volatile.Read(ref _current) + ActiveRanges)
            {
                var r = _next++;
                _ranges[r].Listing = ListAsync(r);
            }
        }
    }

    // A range's turn to ask for its next page: at once while fewer than the width are asking, else when one
    // answer comes, the range nearest the reader first.
    private Task RequestTurnAsync(int range)
    {
        lock (_starting)
        {
            if (_requesting < _width.Limit && _waiting.Count == 0)
            {
                _requesting++;
                return Task.CompletedTask;
            }

            var turn = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Add((range, turn));
            GiveTurns();
            return AwaitTurnAsync(turn, _cancel.Token.Register(() => turn.TrySetCanceled()));
        }
    }

    private static async Task AwaitTurnAsync(TaskCompletionSource<bool> turn, CancellationTokenRegistration cancelled)
    {
        using (cancelled)
        {
            await turn.Task.ConfigureAwait(false);
        }
    }

    private void EndTurn()
    {
        lock (_starting)
        {
            _requesting--;
            GiveTurns();
        }
    }

    private void GiveTurns()
    {
        lock (_starting)
        {
            while (_requesting < _width.Limit && _waiting.Count > 0)
            {
                var first = 0;
                for (var i = 1; i < _waiting.Count; i++)
                {
                    if (_waiting[i].Range < _waiting[first].Range)
                    {
                        first = i;
                    }
                }

                var turn = _waiting[first].Turn;
                _waiting.RemoveAt(first);
                if (turn.TrySetResult(true))
                {
                    _requesting++;
                }
            }
        }
    }

    private async Task<bool> ListAsync(int r)
    {
        var range = _ranges[r];
        try
        {
            // A turn is held from before a page is asked for until its answer: not while the range waits for room
            // in its buffer, and not after its last page.
            var asked = Stopwatch.StartNew();
            var inFlight = 0;
            return await _store.ListRangeAsync(_prefix, _bounds[r].StartAfter, _bounds[r].Last, page => range.AddAsync(page, _cancel.Token), _cancel.Token,
                async () =>
                {
                    await RequestTurnAsync(r).ConfigureAwait(false);
                    inFlight = Volatile.Read(ref _requesting);
                    asked.Restart();
                },
                () =>
                {
                    var took = asked.Elapsed;
                    EndTurn();
                    if (_width.Answered(inFlight, took))
                    {
                        GiveTurns();
                    }
                }).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            if (ex is not OperationCanceledException)
            {
                Interlocked.CompareExchange(ref _failure, ex, null);
            }

            _cancel.Cancel();
            throw;
        }
        finally
        {
            range.Complete();
        }
    }

    // One range's pages between its listing and the reader: at most BufferedPages of them, in order, then the end.
    private sealed class RangeBuffer
    {
        private readonly Queue<IReadOnlyList<RemoteObject>> _pages = new();
        private readonly SemaphoreSlim _room = new(BufferedPages, BufferedPages);
        private readonly SemaphoreSlim _ready = new(0);

        public Task<bool> Listing { get; set; } = Task.FromResult(true);

        public async Task AddAsync(IReadOnlyList<RemoteObject> page, CancellationToken cancellationToken)
        {
            await _room.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (_pages)
            {
                _pages.Enqueue(page);
            }

            _ready.Release();
        }

        // One signal more than the pages: the reader that finds no page behind it has reached the range's end.
        public void Complete() => _ready.Release();

        public async Task<IReadOnlyList<RemoteObject>?> TakeAsync(CancellationToken cancellationToken)
        {
            await _ready.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (_pages)
            {
                if (_pages.Count == 0)
                {
                    return null;
                }

                _room.Release();
                return _pages.Dequeue();
            }
        }
    }
}
