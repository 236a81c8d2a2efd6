using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;

namespace ChittyConnect.Storage;

/// <summary>
/// A token bucket shared by every transfer of a store, so -BandwidthLimit caps their sum. Each read
/// reserves its bytes on a virtual clock that advances at the limit's rate; a reader waits until the
/// clock catches up, allowing one second of burst so short idle periods are not lost.
/// </summary>
public sealed class BandwidthLimiter
{
    /// <summary>Largest read a throttled stream makes at once, so waits stay short and fair.</summary>
    public const int MaxChunk = 64 * 1024;

    private readonly object _gate = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly double _bytesPerSecond;
    private double _virtualSeconds;

    /// <summary>Creates a limiter of <paramref name="bytesPerSecond"/> (must be positive).</summary>
    public BandwidthLimiter(long bytesPerSecond)
    {
        if (bytesPerSecond <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bytesPerSecond), "The bandwidth limit must be positive.");
        }

        _bytesPerSecond = bytesPerSecond;
    }

    /// <summary>The limit in bytes per second.</summary>
    public long BytesPerSecond => (long)_bytesPerSecond;

    /// <summary>Waits until <paramref name="bytes"/> may pass.</summary>
    public Task WaitAsync(int bytes, CancellationToken cancellationToken)
    {
        var delay = Reserve(bytes);
        return delay > 0.001 ? Task.Delay(TimeSpan.FromSeconds(delay), cancellationToken) : Task.CompletedTask;
    }

    /// <summary>Blocks until <paramref name="bytes"/> may pass (for synchronous reads).</summary>
    public void Wait(int bytes)
    {
        var delay = Reserve(bytes);
        if (delay > 0.001)
        {
            Thread.Sleep(TimeSpan.FromSeconds(delay));
        }
    }

    // Books the bytes on the virtual clock; returns the seconds to wait before they may pass.
    private double Reserve(int bytes)
    {
        lock (_gate)
        {
            var now = _clock.Elapsed.TotalSeconds;
            if (_virtualSeconds < now - 1)
            {
                _virtualSeconds = now - 1;
            }

            _virtualSeconds += bytes / _bytesPerSecond;
            return _virtualSeconds - now;
        }
    }
}
