using System.Collections.Concurrent;
using ChittyConnect.Emulator.Events;
using ChittyConnect.Emulator.Storage;

namespace ChittyConnect.Emulator.Infrastructure;

/// <summary>A request as recorded for <c>GET /_emulator/requests</c>.</summary>
internal sealed record RecordedRequest(string Method, string Path, int Status);

/// <summary>A fault armed by <c>POST /_emulator/fault</c>.</summary>
internal sealed class Fault
{
    public required int Status { get; init; }

    public required string PathPrefix { get; init; }

    public string? Method { get; init; }

    public int? RetryAfterSeconds { get; init; }

    public string? Body { get; init; }

    public string? ContentType { get; init; }

    public int Remaining { get; set; }
}

/// <summary>Everything one emulator instance holds; a singleton in its service container.</summary>
internal sealed class EmulatorState : IDisposable
{
    private readonly object _requestsLock = new();
    private readonly List<RecordedRequest> _requests = new();
    private readonly object _faultsLock = new();
    private readonly List<Fault> _faults = new();
    private readonly ConcurrentDictionary<string, (long Window, int Count)> _rate = new(StringComparer.Ordinal);

    public EmulatorState(EmulatorOptions options, EmulatorDatabase database, IBlobStore blobs)
    {
        Options = options;
        Database = database;
        Blobs = blobs;
        Keys = options.EffectiveKeys.ToDictionary(k => k.Key, StringComparer.Ordinal);
        StartedAt = options.TimeProvider.GetUtcNow();
    }

    public EmulatorOptions Options { get; }

    public EmulatorDatabase Database { get; }

    public IBlobStore Blobs { get; }

    public EventBroadcaster Events { get; } = new();

    public IReadOnlyDictionary<string, EmulatorApiKey> Keys { get; }

    public DateTimeOffset StartedAt { get; }

    public TimeProvider Time => Options.TimeProvider;

    public void Record(RecordedRequest request)
    {
        lock (_requestsLock)
        {
            _requests.Add(request);
        }
    }

    public IReadOnlyList<RecordedRequest> Requests()
    {
        lock (_requestsLock)
        {
            return _requests.ToArray();
        }
    }

    public void ClearRequests()
    {
        lock (_requestsLock)
        {
            _requests.Clear();
        }
    }

    public void AddFault(Fault fault)
    {
        lock (_faultsLock)
        {
            _faults.Add(fault);
        }
    }

    public void ClearFaults()
    {
        lock (_faultsLock)
        {
            _faults.Clear();
        }
    }

    /// <summary>Consumes one use of the first armed fault that matches the request, if any.</summary>
    public Fault? TakeFault(string method, string path)
    {
        lock (_faultsLock)
        {
            var fault = _faults.FirstOrDefault(f =>
                path.StartsWith(f.PathPrefix, StringComparison.Ordinal)
                && (f.Method is null || string.Equals(f.Method, method, StringComparison.OrdinalIgnoreCase)));
            if (fault is null)
            {
                return null;
            }

            if (--fault.Remaining <= 0)
            {
                _faults.Remove(fault);
            }

            return fault;
        }
    }

    /// <summary>Counts a request against the key's per-minute window; returns (remaining, reset in epoch milliseconds, as the service gives it).</summary>
    public (int Remaining, long Reset) CountRequest(string key)
    {
        var window = Time.GetUtcNow().ToUnixTimeMilliseconds() / 60_000;
        var entry = _rate.AddOrUpdate(key, _ => (window, 1), (_, old) => old.Window == window ? (window, old.Count + 1) : (window, 1));
        return (Math.Max(0, Options.RateLimitPerMinute - entry.Count), (window + 1) * 60_000);
    }

    public void Dispose()
    {
        Blobs.Dispose();
        Database.Dispose();
    }
}
