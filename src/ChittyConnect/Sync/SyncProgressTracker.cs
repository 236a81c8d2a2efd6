using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;

namespace ChittyConnect.Sync;

/// <summary>
/// Aggregates the byte and file counts the transfer workers add and hands snapshots to the sink at most four
/// times a second (phase changes, ended transfers and the end of the run always). Thread-safe: one lock.
/// </summary>
internal sealed class SyncProgressTracker
{
    private readonly IProgress<SyncProgress>? _sink;
    private readonly object _gate = new();
    private readonly Stopwatch _watch = Stopwatch.StartNew();
    private readonly List<SyncTransferProgress> _active = new();
    private readonly List<SyncTransferProgress> _ended = new();
    private SyncPhase _phase;
    private int _filesDone;
    private int _filesTotal;
    private long _bytesDone;
    private long _bytesTotal;
    private int _nextId;
    private TimeSpan _lastReport = TimeSpan.MinValue;
    private TimeSpan _transferStart;

    public SyncProgressTracker(IProgress<SyncProgress>? sink) => _sink = sink;

    public void Phase(SyncPhase phase)
    {
        lock (_gate)
        {
            _phase = phase;
        }

        Report(force: true);
    }

    /// <summary>
    /// Adds <paramref name="files"/> transfers of <paramref name="bytes"/> to the work ahead: the whole plan's,
    /// or one window's, when a run transfers window by window (the totals then grow as windows are planned).
    /// </summary>
    public void AddWork(int files, long bytes)
    {
        lock (_gate)
        {
            if (_phase != SyncPhase.Transferring)
            {
                _phase = SyncPhase.Transferring;
                _transferStart = _watch.Elapsed;
            }

            _filesTotal += files;
            _bytesTotal += bytes;
        }

        Report(force: true);
    }

    public SyncTransferProgress BeginTransfer(string rel, long size)
    {
        lock (_gate)
        {
            var t = new SyncTransferProgress { Id = ++_nextId, RelativePath = rel, BytesTotal = size };
            _active.Add(t);
            return t;
        }
    }

    public void EndTransfer(SyncTransferProgress t)
    {
        lock (_gate)
        {
            _active.Remove(t);
            t.Completed = true;
            _ended.Add(t);
        }

        Report(force: true);
    }

    public void AddBytes(long bytes, SyncTransferProgress? transfer)
    {
        lock (_gate)
        {
            _bytesDone += bytes;
            if (transfer is not null)
            {
                transfer.BytesDone += bytes;
            }
        }

        Report(force: false);
    }

    public void FileDone()
    {
        lock (_gate)
        {
            _filesDone++;
        }

        Report(force: false);
    }

    public void Finish()
    {
        lock (_gate)
        {
            _phase = SyncPhase.Done;
            foreach (var t in _active)
            {
                t.Completed = true;
                _ended.Add(t);
            }

            _active.Clear();
        }

        Report(force: true);
    }

    private void Report(bool force)
    {
        if (_sink is null)
        {
            return;
        }

        SyncProgress snapshot;
        lock (_gate)
        {
            var now = _watch.Elapsed;
            if (!force && now - _lastReport < TimeSpan.FromMilliseconds(250))
            {
                return;
            }

            _lastReport = now;
            var seconds = (now - _transferStart).TotalSeconds;
            var rate = _phase == SyncPhase.Transferring && seconds > 0.5 ? _bytesDone / seconds : 0;
            snapshot = new SyncProgress
            {
                Phase = _phase,
                FilesDone = _filesDone,
                FilesTotal = _filesTotal,
                BytesDone = _bytesDone,
                BytesTotal = _bytesTotal,
                BytesPerSecond = rate,
                Eta = rate > 0 ? TimeSpan.FromSeconds(Math.Max(0, _bytesTotal - _bytesDone) / rate) : null,
                Transfers = _active.Concat(_ended).Select(t => new SyncTransferProgress
                {
                    Id = t.Id, RelativePath = t.RelativePath, BytesDone = t.BytesDone, BytesTotal = t.BytesTotal, Completed = t.Completed,
                }).ToList(),
            };
            _ended.Clear();
        }

        _sink.Report(snapshot);
    }
}
