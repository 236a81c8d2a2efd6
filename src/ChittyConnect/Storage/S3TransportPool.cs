using System;
using System.Collections.Generic;
using System.Threading;

namespace ChittyConnect.Storage;

/// <summary>
/// Idle <see cref="S3Transport"/>s kept for the next store that asks for the same one, so consecutive calls
/// in one PowerShell session reuse the SDK client and its open connections instead of paying for a new client
/// and a new TCP (and TLS) handshake each time.
/// <list type="bullet">
/// <item>A transport goes only to a store whose endpoint, bucket, credentials and transport options are the
/// ones it was built with (<see cref="S3Transport.ConfigurationKey"/>); any other store gets a new one.</item>
/// <item>A transport serves one store at a time, rented by <see cref="Rent"/> and given back when the lease is
/// disposed. Two calls at once (two runspaces) therefore never share one: each keeps the connections sized
/// for its own transfers, where a shared client would queue one call's requests behind the other's, and the
/// idle timeout would count that queueing as idleness. Everything per call (request counters, transfer
/// slots, the bandwidth limiter, cancellation) lives in the store, never in the transport.</item>
/// <item>At most <c>capacity</c> idle transports are kept; the one returned longest ago is disposed first.
/// <see cref="Clear"/> disposes the idle ones at once and each rented one when it comes back.</item>
/// </list>
/// Thread-safe.
/// </summary>
internal sealed class S3TransportPool
{
    private readonly int _capacity;
    private readonly object _gate = new();
    // Most recently returned first.
    private readonly LinkedList<(string Key, S3Transport Transport)> _idle = new();
    private int _generation;

    public S3TransportPool(int capacity)
    {
        if (capacity < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(capacity), "The pool must keep at least one transport.");
        }

        _capacity = capacity;
    }

    /// <summary>An idle transport built for exactly these settings, else a new one; dispose the lease to give it back.</summary>
    public Lease Rent(Uri endpoint, string bucket, string accessKeyId, string secretAccessKey, R2StoreOptions options)
    {
        var key = S3Transport.ConfigurationKey(endpoint, bucket, accessKeyId, secretAccessKey, options);
        int generation;
        lock (_gate)
        {
            generation = _generation;
            for (var node = _idle.First; node is not null; node = node.Next)
            {
                if (string.Equals(node.Value.Key, key, StringComparison.Ordinal))
                {
                    _idle.Remove(node);
                    return new Lease(this, key, node.Value.Transport, generation);
                }
            }
        }

        return new Lease(this, key, new S3Transport(endpoint, bucket, accessKeyId, secretAccessKey, options, null), generation);
    }

    /// <summary>Disposes every idle transport; those rented now are disposed when they come back.</summary>
    public void Clear()
    {
        List<S3Transport> dropped;
        lock (_gate)
        {
            _generation++;
            dropped = new List<S3Transport>(_idle.Count);
            foreach (var entry in _idle)
            {
                dropped.Add(entry.Transport);
            }

            _idle.Clear();
        }

        foreach (var transport in dropped)
        {
            transport.Dispose();
        }
    }

    private void Return(string key, S3Transport transport, int generation)
    {
        S3Transport? dropped = transport;
        lock (_gate)
        {
            if (generation == _generation)
            {
                _idle.AddFirst((key, transport));
                dropped = null;
                if (_idle.Count > _capacity)
                {
                    dropped = _idle.Last!.Value.Transport;
                    _idle.RemoveLast();
                }
            }
        }

        dropped?.Dispose();
    }

    /// <summary>One store's use of a transport; disposing it (once or more) gives the transport back.</summary>
    internal sealed class Lease : IDisposable
    {
        private readonly S3TransportPool _pool;
        private readonly string _key;
        private readonly int _generation;
        private int _returned;

        public Lease(S3TransportPool pool, string key, S3Transport transport, int generation)
        {
            _pool = pool;
            _key = key;
            Transport = transport;
            _generation = generation;
        }

        public S3Transport Transport { get; }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _returned, 1) == 0)
            {
                _pool.Return(_key, Transport, _generation);
            }
        }
    }
}
