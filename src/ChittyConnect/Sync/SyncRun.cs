using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using System.Threading;
using System;
using ChittyConnect.Crypt;
using ChittyConnect.Files;
using ChittyConnect.Hashing;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>
/// What the planner, the executor and the reporter of one run share: the options and both sides, the state,
/// the totals, the results and the progress. Results and totals may be added from worker threads: the totals
/// under one lock, results handed to the caller's callback as they come.
/// </summary>
internal sealed class SyncRun
{
    private readonly Action<ChittySyncResult>? _onResult;
    private readonly object _gate = new();
    private readonly ConcurrentDictionary<string, (string Sha256, PartHashes Parts)> _partHashes = new(StringComparer.Ordinal);
    private readonly HashSet<string> _inAgreement = new(StringComparer.Ordinal);

    // Files are read for their hashes at most eight at a time, as rclone's --checkers: the transfers may keep
    // far more requests in flight, but more parallel reads of a disk only make it seek between them, and two
    // cores hash no faster for them.
    private readonly SemaphoreSlim _hashReads;

    private readonly Func<SyncRun, bool> _ignoresCase;

    private bool? _caseIgnored;

    /// <summary>Whether the folder's file system takes names differing only in case for one file (asked once a run).</summary>
    public bool IgnoresCase() => _caseIgnored ??= _ignoresCase(this);

    /// <summary>The most files hashed at once.</summary>
    public const int MaxParallelHashReads = 8;

    public SyncRun(IObjectStore store, SyncOptions options, Action<ChittySyncResult>? onResult, IProgress<SyncProgress>? progress, CancellationToken cancellationToken,
        Func<SyncRun, bool> ignoresCase)
    {
        _ignoresCase = ignoresCase;
        _hashReads = new SemaphoreSlim(Math.Max(1, Math.Min(options.Transfers, MaxParallelHashReads)));
        Store = store;
        Options = options;
        _onResult = onResult;
        Token = cancellationToken;
        Progress = new SyncProgressTracker(progress);
        Root = Path.GetFullPath(options.LocalPath);
        Prefix = SyncEngine.NormalizePrefix(options.Prefix);
        Summary = new ChittySyncSummary
        {
            Direction = options.Direction,
            LocalPath = Root,
            Bucket = store.Bucket,
            Prefix = Prefix,
            PlanOnly = options.PlanOnly,
        };
    }

    public IObjectStore Store { get; }

    /// <summary>The store as an rclone crypt layer, when the prefix is encrypted.</summary>
    public EncryptedObjectStore? Crypt => Store as EncryptedObjectStore;

    public SyncOptions Options { get; }

    public CancellationToken Token { get; }

    public SyncProgressTracker Progress { get; }

    /// <summary>The local folder, absolute.</summary>
    public string Root { get; }

    /// <summary>The key prefix, normalized (no leading '/', a trailing one unless empty).</summary>
    public string Prefix { get; }

    public ChittySyncSummary Summary { get; }

    public Stopwatch Watch { get; } = Stopwatch.StartNew();

    /// <summary>When the run began, by the clock of the machine (its end is this plus <see cref="Watch"/>'s elapsed time).</summary>
    public DateTimeOffset Started { get; } = DateTimeOffset.Now;

    public SyncState State { get; set; } = null!;

    /// <summary>Whether <see cref="State"/> was loaded streamed (read a window at a time), not whole.</summary>
    public bool StateStreamed { get; set; }

    /// <summary>Changes the totals from any thread.</summary>
    public void Count(Action<ChittySyncSummary> change)
    {
        lock (_gate)
        {
            change(Summary);
        }
    }

    /// <summary>
    /// Before a run's planning starts again (its streamed listing turned out not to be in key order): the totals
    /// that planning counts start from nothing again. Planning changed no file or object.
    /// </summary>
    public void PlanAgain()
    {
        lock (_gate)
        {
            _inAgreement.Clear();
            var s = Summary;
            (s.SourceFiles, s.FilesSkipped, s.BytesSkipped, s.NotOwned, s.Errors) = (0, 0, 0, 0, 0);
            (s.FilesHashed, s.BytesHashed, s.FilesCompared, s.BytesCompared) = (0, 0, 0, 0);
            s.PlannedConflicts = 0;
        }
    }

    /// <summary>Records that <paramref name="relativePath"/> holds the same content on both sides (for the sync report).</summary>
    public void MarkInAgreement(string relativePath)
    {
        lock (_gate)
        {
            _inAgreement.Add(relativePath);
        }
    }

    /// <summary>The paths found or made identical on both sides since the last call (the sync report's, <see cref="SyncReporter.Collect"/>).</summary>
    public IReadOnlyList<string> TakeInAgreement()
    {
        lock (_gate)
        {
            var agreed = _inAgreement.ToList();
            _inAgreement.Clear();
            return agreed;
        }
    }

    /// <summary>Hands a result to the caller.</summary>
    public void Emit(ChittySyncResult result) => _onResult?.Invoke(result);

    /// <summary>Counts an error and emits a Failed result for <paramref name="item"/>.</summary>
    public void Fail(SyncPlanItem item, SyncFailureReason reason, Exception ex, TimeSpan elapsed)
    {
        Count(s => s.Errors++);
        var r = ResultFor(item, SyncAction.Failed, PublicOperation(item.Step));
        r.FailureReason = reason;
        r.Error = ex.Message;
        r.Exception = ex;
        r.Duration = elapsed;
        Emit(r);
    }

    /// <summary>The result of <paramref name="item"/> with <paramref name="action"/>, before timings are added.</summary>
    public ChittySyncResult ResultFor(SyncPlanItem item, SyncAction action, SyncOperation operation) => new()
    {
        Action = action,
        Operation = operation,
        RelativePath = item.RelativePath,
        // An encrypted prefix shows its objects' real (encrypted) keys and no content hash, so a result
        // piped on to the service names nothing the encryption hides.
        R2Key = Crypt?.ObjectKeyFor(item.Key) ?? item.Key,
        Bucket = Store.Bucket,
        Size = item.Size,
        Sha256 = Crypt is null ? item.Hashes?.Sha256 : null,
        LocalPath = item.FullPath,
        Modified = item.Local is not null ? new DateTimeOffset(item.Local.LastWriteUtc, TimeSpan.Zero) : item.Remote?.LastModified,
        Conflict = item.Conflict,
        ConflictPath = item.ConflictPath,
        BackupPath = item.BackupPath,
    };

    /// <summary>
    /// The operation a step shows as: a one-way run keeps the single "Delete" its scripts know; a two-way
    /// run says which side.
    /// </summary>
    public SyncOperation PublicOperation(SyncStep step) => step switch
    {
        SyncStep.Upload => SyncOperation.Upload,
        SyncStep.Download => SyncOperation.Download,
        SyncStep.KeepBoth => SyncOperation.KeepBoth,
        SyncStep.DeleteLocal or SyncStep.DeleteRemote when Options.Direction != SyncDirection.Both => SyncOperation.Delete,
        SyncStep.DeleteLocal => SyncOperation.DeleteLocal,
        _ => SyncOperation.DeleteRemote,
    };

    /// <summary>
    /// Hashes a file and ties the hashes to the size and time it had before and after the read. Under an
    /// encrypted prefix the SHA-256 alone: the objects there hold ciphertext, which the plaintext's MD5 never
    /// matches, and MD5 is the costlier of the two hashes. A file that would go in parts also gets its parts'
    /// hashes from the same read, kept for its upload (<see cref="TakePartHashes"/>).
    /// </summary>
    public async Task<SyncStateEntry> HashAsync(LocalFile file)
    {
        var before = FileVersion.Of(file.FullPath) ?? throw new FileNotFoundException($"Could not find file '{file.FullPath}'.", file.FullPath);
        var partSize = Crypt is null && before.Size >= Store.Options.MultipartThreshold ? Store.PartSizeFor(before.Size) : 0;
        await _hashReads.WaitAsync(Token).ConfigureAwait(false);
        ContentHashes hashes;
        try
        {
            hashes = await ContentHasher.HashFileAsync(file.FullPath, Token, withMd5: Crypt is null, partSize: partSize).ConfigureAwait(false);
        }
        finally
        {
            _hashReads.Release();
        }

        if (!before.IsCurrentAt(file.FullPath) || hashes.Length != before.Size)
        {
            throw new IOException($"'{file.FullPath}' changed while it was being read; it will be synced next time.");
        }

        if (hashes.Parts is { } parts)
        {
            _partHashes[file.FullPath] = (hashes.Sha256, parts);
        }

        Count(s =>
        {
            s.BytesHashed += hashes.Length;
            s.FilesHashed++;
        });
        return new SyncStateEntry { Size = before.Size, ModifiedTicks = before.ModifiedTicks, Sha256 = hashes.Sha256, Md5 = hashes.Md5 };
    }

    /// <summary>
    /// The part hashes <see cref="HashAsync"/> kept for the file at <paramref name="fullPath"/>, given up to
    /// the upload of the content whose SHA-256 is <paramref name="sha256"/>; null when that read kept none.
    /// </summary>
    public PartHashes? TakePartHashes(string fullPath, string sha256) =>
        _partHashes.TryRemove(fullPath, out var kept) && kept.Sha256 == sha256 ? kept.Parts : null;

    /// <summary>Runs <paramref name="body"/> over <paramref name="items"/> on up to <paramref name="degree"/> workers, in order of start.</summary>
    public async Task ForEachAsync<T>(IReadOnlyList<T> items, int degree, Func<T, Task> body)
    {
        var next = -1;
        var workers = Enumerable.Range(0, Math.Min(degree, items.Count)).Select(_ => Task.Run(async () =>
        {
            while (true)
            {
                Token.ThrowIfCancellationRequested();
                var i = Interlocked.Increment(ref next);
                if (i >= items.Count)
                {
                    return;
                }

                await body(items[i]).ConfigureAwait(false);
            }
        })).ToList();
        await Task.WhenAll(workers).ConfigureAwait(false);
    }
}
