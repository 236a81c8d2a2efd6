using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Api;
using ChittyConnect.Diagnostics;
using ChittyConnect.Hashing;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>
/// Mirrors a local folder to a key prefix (or back), by content. Local hashes are cached in a state file
/// keyed by size and last-write time, so a re-sync of unchanged files makes one listing and reads nothing.
/// Deletes run last and only after every transfer succeeded; after an upload the service gets a sync
/// report naming every object it has not been told about yet.
/// </summary>
public sealed class SyncEngine
{
    private readonly R2ObjectStore _store;
    private readonly ChittyApiClient? _api;

    /// <summary>Creates an engine over a store and (for the sync report) an API client.</summary>
    public SyncEngine(R2ObjectStore store, ChittyApiClient? api)
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        _api = api;
    }

    /// <summary>The longest object key R2 (and S3) accept, in UTF-8 bytes.</summary>
    public const int MaxKeyBytes = 1024;

    /// <summary>The key prefix a sync of <paramref name="sessionId"/> uses by default: files/&lt;session&gt;/.</summary>
    public static string DefaultPrefix(string sessionId) => "files/" + sessionId + "/";

    /// <summary>A prefix without a leading '/' and with a trailing '/' (unless empty).</summary>
    public static string NormalizePrefix(string? prefix)
    {
        var p = (prefix ?? string.Empty).Replace('\\', '/').TrimStart('/');
        return p.Length == 0 || p.EndsWith("/", StringComparison.Ordinal) ? p : p + "/";
    }

    /// <summary>
    /// Runs the sync. <paramref name="onResult"/> receives one result per file acted on (or planned),
    /// from worker threads. Throws <see cref="SyncException"/> when the sync cannot start,
    /// <see cref="ObjectStoreException"/> when the prefix cannot be listed, and
    /// <see cref="OperationCanceledException"/> when cancelled (the state is saved first, so the next run
    /// resumes where this one stopped).
    /// </summary>
    public async Task<ChittySyncSummary> RunAsync(SyncOptions options, Action<ChittySyncResult>? onResult, IProgress<SyncProgress>? progress, CancellationToken cancellationToken)
    {
        if (options is null)
        {
            throw new ArgumentNullException(nameof(options));
        }

        if (string.IsNullOrWhiteSpace(options.LocalPath))
        {
            throw new SyncException("A local folder is required.", "SyncInvalidOptions");
        }

        if (options.Transfers < 1)
        {
            throw new SyncException("Transfers must be at least 1.", "SyncInvalidOptions");
        }

        if (ObjectKeys.HasDotSegment(NormalizePrefix(options.Prefix)))
        {
            // An S3 URL cannot carry such a key: the path would be folded into another one on the way.
            throw new SyncException($"The prefix '{options.Prefix}' has a '.' or '..' segment, which no object key can carry; name the folder it means instead.", "SyncInvalidOptions");
        }

        var run = new Run(this, options, onResult, progress, cancellationToken);
        return await run.ExecuteAsync().ConfigureAwait(false);
    }

    private sealed class PlanItem
    {
        public PlanItem(string rel, string key, string fullPath, long size)
        {
            RelativePath = rel;
            Key = key;
            FullPath = fullPath;
            Size = size;
        }

        public string RelativePath { get; }
        public string Key { get; }
        public string FullPath { get; }
        public long Size { get; }
        public LocalFile? Local { get; set; }
        public RemoteObject? Remote { get; set; }

        /// <summary>Hashes known before the transfer (from the cache or the compare step), keyed to the stat they belong to.</summary>
        public SyncStateEntry? Hashes { get; set; }
    }

    private sealed class Run
    {
        private readonly SyncEngine _engine;
        private readonly SyncOptions _options;
        private readonly Action<ChittySyncResult>? _onResult;
        private readonly CancellationToken _ct;
        private readonly ChittySyncSummary _summary = new();
        private readonly object _gate = new();
        private readonly Stopwatch _watch = Stopwatch.StartNew();
        private readonly ProgressTracker _progress;
        private readonly string _root;
        private readonly string _prefix;
        private readonly List<PlanItem> _transfers = new();
        private readonly List<PlanItem> _deletes = new();
        private readonly HashSet<string> _present = new(StringComparer.Ordinal);
        private SyncState _state = null!;
        private readonly HashSet<string> _resuming = new(StringComparer.Ordinal);
        private long _lastSaveTicks;
        private readonly object _saveGate = new();

        public Run(SyncEngine engine, SyncOptions options, Action<ChittySyncResult>? onResult, IProgress<SyncProgress>? progress, CancellationToken ct)
        {
            _engine = engine;
            _options = options;
            _onResult = onResult;
            _ct = ct;
            _progress = new ProgressTracker(progress);
            _root = Path.GetFullPath(options.LocalPath);
            _prefix = NormalizePrefix(options.Prefix);
            _summary.Direction = options.Direction;
            _summary.LocalPath = _root;
            _summary.Bucket = engine._store.Bucket;
            _summary.Prefix = _prefix;
            _summary.PlanOnly = options.PlanOnly;
        }

        private R2ObjectStore Store => _engine._store;

        private bool Upload => _options.Direction == SyncDirection.Upload;

        public async Task<ChittySyncSummary> ExecuteAsync()
        {
            var requestsAtStart = Store.Requests.Snapshot();
            var statePath = SyncState.PathFor(_options.StateDirectory, _root, Store.Endpoint, Store.Bucket, _prefix, out var identity);
            _summary.StatePath = statePath;
            var what = $"'{_root}' and '{Store.Bucket}/{_prefix}'";
            using var syncLock = _options.PlanOnly ? null : SyncLock.Acquire(statePath, what, _options.LockTimeout, _ct);
            _state = SyncState.Load(statePath, identity, out var warning);
            if (warning is not null)
            {
                _summary.StateWarning = warning;
                ChittyLog.Warning(warning);
            }

            var completed = false;
            try
            {
                if (Upload)
                {
                    await PlanUploadAsync().ConfigureAwait(false);
                }
                else
                {
                    await PlanDownloadAsync().ConfigureAwait(false);
                }

                if (_options.PlanOnly)
                {
                    EmitPlan();
                }
                else
                {
                    await TransferAsync().ConfigureAwait(false);
                    await AbortUnwantedUploadsAsync().ConfigureAwait(false);
                    await DeleteAsync().ConfigureAwait(false);
                    if (Upload)
                    {
                        ForgetVanishedFiles();
                        await ReportAsync().ConfigureAwait(false);
                    }
                }

                completed = true;
            }
            finally
            {
                // Also after a cancellation or a failure: what was done is remembered, so the next run
                // does not redo it.
                if (!_options.PlanOnly)
                {
                    try
                    {
                        _state.Save();
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        ChittyLog.Warning($"Could not save the sync state '{statePath}': {ex.Message}");
                        if (completed)
                        {
                            _summary.Errors++;
                        }
                    }
                }

                _progress.Finish();
            }

            _summary.Elapsed = _watch.Elapsed;
            _summary.Requests = Store.Requests.Since(requestsAtStart);
            var moved = _summary.BytesUploaded + _summary.BytesDownloaded;
            _summary.BytesPerSecond = _summary.Elapsed.TotalSeconds > 0 ? moved / _summary.Elapsed.TotalSeconds : 0;
            return _summary;
        }

        // The multipart uploads earlier runs left behind that this run neither resumed nor is still resuming
        // (their file is gone, changed or excluded): aborted, so their parts stop taking space.
        private async Task AbortUnwantedUploadsAsync()
        {
            List<PendingUpload> unwanted;
            lock (_state.Gate)
            {
                unwanted = _state.PendingUploads.Values.Where(u => !_resuming.Contains(u.UploadId)).ToList();
            }

            foreach (var upload in unwanted)
            {
                try
                {
                    if (await Store.AbortUploadAsync(upload.Key, upload.UploadId, _ct).ConfigureAwait(false))
                    {
                        _summary.StaleUploadsAborted++;
                    }
                }
                catch (ObjectStoreException ex)
                {
                    ChittyLog.Verbose($"Could not abort the interrupted upload of '{upload.Key}': {ex.Message}");
                }

                lock (_state.Gate)
                {
                    _state.PendingUploads.Remove(upload.UploadId);
                }
            }
        }

        // The upload an earlier run began for this key and content, claimed for this run so it is not aborted.
        private string? ResumableUploadFor(string key, string sha256)
        {
            lock (_state.Gate)
            {
                var pending = _state.PendingUploads.Values.FirstOrDefault(u => u.Key == key && u.Sha256 == sha256);
                if (pending is null)
                {
                    return null;
                }

                _resuming.Add(pending.UploadId);
                return pending.UploadId;
            }
        }

        private Dictionary<string, LocalFile> ScanLocal(List<string> scanErrors)
        {
            _progress.Phase(SyncPhase.Scanning);
            return LocalScanner.Scan(_root, _options.Filters, scanErrors, _ct);
        }

        private void ReportScanErrors(List<string> scanErrors)
        {
            foreach (var error in scanErrors)
            {
                ChittyLog.Warning(error);
                lock (_gate)
                {
                    _summary.Errors++;
                }
            }
        }

        // Starts the listing on the thread pool, so the local scan can run while it waits on the network:
        // a sync of unchanged files then costs the longer of the two, not their sum.
        private Task<Dictionary<string, RemoteObject>> StartListing(CancellationToken cancellationToken) =>
            Task.Run(() => ListRemoteAsync(cancellationToken), cancellationToken);

        // Scans while the listing runs. Should the scan fail, the listing is cancelled and awaited (so no
        // request outlives the run, and its failure is not left unobserved) before the scan's error is rethrown.
        private Dictionary<string, LocalFile> ScanDuring(Task listing, CancellationTokenSource listingCancel, List<string> scanErrors)
        {
            try
            {
                return ScanLocal(scanErrors);
            }
            catch
            {
                listingCancel.Cancel();
                try
                {
                    listing.GetAwaiter().GetResult();
                }
                catch (Exception)
                {
                    // Whatever the listing did, the scan's error is the one to report.
                }

                throw;
            }
        }

        private async Task<Dictionary<string, RemoteObject>> AwaitListingAsync(Task<Dictionary<string, RemoteObject>> listing)
        {
            if (!listing.IsCompleted)
            {
                _progress.Phase(SyncPhase.Listing);
            }

            return await listing.ConfigureAwait(false);
        }

        private async Task<Dictionary<string, RemoteObject>> ListRemoteAsync(CancellationToken cancellationToken)
        {
            var listing = await Store.ListAsync(_prefix, cancellationToken).ConfigureAwait(false);
            var result = new Dictionary<string, RemoteObject>(StringComparer.Ordinal);
            foreach (var o in listing)
            {
                var rel = o.Key.Substring(_prefix.Length);
                // Folder markers made by other tools are not files.
                if (rel.Length == 0 || rel.EndsWith("/", StringComparison.Ordinal))
                {
                    continue;
                }

                if (_options.Filters.IncludeFileAndParents(rel))
                {
                    result[rel] = o;
                }
            }

            return result;
        }

        private async Task PlanUploadAsync()
        {
            var scanErrors = new List<string>();
            Dictionary<string, LocalFile> local;
            var sourceExists = Directory.Exists(_root);
            if (!sourceExists && !_options.Force)
            {
                throw new SyncException($"The folder '{_root}' does not exist. (An unmounted drive must not wipe the remote copy; -Force syncs it as empty.)", "SyncSourceMissing");
            }

            Dictionary<string, RemoteObject> remote;
            using (var listingCancel = CancellationTokenSource.CreateLinkedTokenSource(_ct))
            {
                var listing = StartListing(listingCancel.Token);
                local = sourceExists ? ScanDuring(listing, listingCancel, scanErrors) : new Dictionary<string, LocalFile>(StringComparer.Ordinal);
                ReportScanErrors(scanErrors);
                _summary.SourceFiles = local.Count;
                remote = await AwaitListingAsync(listing).ConfigureAwait(false);
            }

            _progress.Phase(SyncPhase.Comparing);
            var toCompare = new List<PlanItem>();
            foreach (var file in local.Values.OrderBy(f => f.RelativePath, StringComparer.Ordinal))
            {
                var item = new PlanItem(file.RelativePath, _prefix + file.RelativePath, file.FullPath, file.Size) { Local = file, Hashes = CachedHashes(file) };
                remote.TryGetValue(file.RelativePath, out var r);
                item.Remote = r;
                if (r is not null && r.Size == file.Size)
                {
                    toCompare.Add(item);
                }
                else
                {
                    _transfers.Add(item);
                }
            }

            await CompareAsync(toCompare).ConfigureAwait(false);
            foreach (var pair in remote.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (!local.ContainsKey(pair.Key))
                {
                    _deletes.Add(new PlanItem(pair.Key, pair.Value.Key, Path.Combine(_root, pair.Key), pair.Value.Size) { Remote = pair.Value });
                }
            }

            CheckDeleteGuards(sourceEmpty: local.Count == 0, scanErrors.Count);
        }

        private async Task PlanDownloadAsync()
        {
            var scanErrors = new List<string>();
            Dictionary<string, LocalFile> local;
            Dictionary<string, RemoteObject> remote;
            using (var listingCancel = CancellationTokenSource.CreateLinkedTokenSource(_ct))
            {
                var listing = StartListing(listingCancel.Token);
                local = Directory.Exists(_root) ? ScanDuring(listing, listingCancel, scanErrors) : new Dictionary<string, LocalFile>(StringComparer.Ordinal);
                // As before the scan ran alongside: a failed listing ends the sync before any scan warning.
                remote = await AwaitListingAsync(listing).ConfigureAwait(false);
            }

            ReportScanErrors(scanErrors);
            RemoveLeftoverPartials();
            _summary.SourceFiles = remote.Count;
            _progress.Phase(SyncPhase.Comparing);

            // On a file system that ignores case (Windows, macOS), "Report.txt" and "report.txt" are one file:
            // downloading both would make each overwrite the other on every run, and a local "Report.txt"
            // must count as present for a remote "report.txt" (else the mirror would delete it).
            var names = IgnoresCase() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;
            var localByName = new Dictionary<string, LocalFile>(names);
            foreach (var pair in local.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (!localByName.ContainsKey(pair.Key))
                {
                    localByName[pair.Key] = pair.Value;
                }
            }

            var colliding = new HashSet<string>(remote.Keys.GroupBy(k => k, names).Where(g => g.Count() > 1).SelectMany(g => g), StringComparer.Ordinal);
            var toCompare = new List<PlanItem>();
            foreach (var pair in remote.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                string? problem = null;
                var full = colliding.Contains(pair.Key) ? null : LocalScanner.ResolveInside(_root, pair.Key, out problem);
                if (colliding.Contains(pair.Key))
                {
                    problem = "another key differs from it only by case, and this file system does not tell such names apart; rename one of them";
                }

                if (full is null)
                {
                    Emit(new ChittySyncResult
                    {
                        Action = SyncAction.Failed,
                        Operation = "Download",
                        RelativePath = pair.Key,
                        R2Key = pair.Value.Key,
                        Size = pair.Value.Size,
                        Error = $"Refused to download '{pair.Value.Key}': {problem}.",
                        Exception = new ObjectStoreException($"Refused to download '{pair.Value.Key}': {problem}.", pair.Value.Key, "UnsafeKey"),
                    });
                    continue;
                }

                var item = new PlanItem(pair.Key, pair.Value.Key, full, pair.Value.Size) { Remote = pair.Value };
                if (localByName.TryGetValue(pair.Key, out var file))
                {
                    item.Local = file;
                    item.Hashes = CachedHashes(file);
                    if (file.Size == pair.Value.Size)
                    {
                        toCompare.Add(item);
                        continue;
                    }
                }

                _transfers.Add(item);
            }

            await CompareAsync(toCompare).ConfigureAwait(false);
            var remoteNames = new HashSet<string>(remote.Keys, names);
            foreach (var file in local.Values.OrderBy(f => f.RelativePath, StringComparer.Ordinal))
            {
                if (!remoteNames.Contains(file.RelativePath))
                {
                    _deletes.Add(new PlanItem(file.RelativePath, _prefix + file.RelativePath, file.FullPath, file.Size) { Local = file });
                }
            }

            CheckDeleteGuards(sourceEmpty: remote.Count == 0, scanErrors.Count);
        }

        private bool IgnoresCase()
        {
            if (_options.IgnoreCaseOverride is { } forced)
            {
                return forced;
            }

            var platformDefault = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) || RuntimeInformation.IsOSPlatform(OSPlatform.OSX);
            if (_options.PlanOnly || !Directory.Exists(_root))
            {
                // -WhatIf writes nothing, not even a probe; a folder yet to be made is the platform's.
                return platformDefault;
            }

            // Ask the file system itself (a folder can be case-sensitive on Windows, or not on Linux).
            var probe = Path.Combine(_root, ".chitty-case-" + Guid.NewGuid().ToString("N") + ".tmp");
            try
            {
                File.WriteAllBytes(probe, Array.Empty<byte>());
                return File.Exists(probe.Substring(0, probe.Length - 4) + ".TMP");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return platformDefault;
            }
            finally
            {
                try
                {
                    File.Delete(probe);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    ChittyLog.Verbose($"Could not remove '{probe}': {ex.Message}");
                }
            }
        }

        // A download killed mid-file leaves its temporary file behind; the scan ignores such files, so without this
        // they would pile up. Safe under the sync lock: no other sync of this target is writing them.
        private void RemoveLeftoverPartials()
        {
            if (!Directory.Exists(_root))
            {
                return;
            }

            IEnumerable<string> partials;
            try
            {
                partials = Directory.EnumerateFiles(_root, "." + "*" + LocalScanner.PartialSuffix, SearchOption.AllDirectories).ToList();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ChittyLog.Verbose($"Could not look for leftover partial downloads: {ex.Message}");
                return;
            }

            foreach (var partial in partials)
            {
                try
                {
                    File.Delete(partial);
                    ChittyLog.Verbose($"Removed '{partial}', left by an interrupted download.");
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    ChittyLog.Verbose($"Could not remove '{partial}': {ex.Message}");
                }
            }
        }

        private void CheckDeleteGuards(bool sourceEmpty, int scanErrors)
        {
            if (_options.NoDelete || _deletes.Count == 0)
            {
                _deletes.Clear();
                return;
            }

            string? reason = null;
            if (scanErrors > 0)
            {
                reason = "some folders could not be read, so their files would look deleted";
            }
            else if (sourceEmpty && !_options.Force)
            {
                reason = Upload
                    ? $"the folder '{_root}' has no files (an unmounted or emptied drive must not wipe the remote copy; use -Force to allow it)"
                    : $"the prefix '{_prefix}' has no objects (use -Force to allow emptying the folder)";
            }
            else if (_options.MaxDelete >= 0 && _deletes.Count > _options.MaxDelete)
            {
                reason = $"{_deletes.Count} deletions exceed -MaxDelete {_options.MaxDelete}";
            }

            if (reason is not null)
            {
                _summary.DeletesWithheld = _deletes.Count;
                _summary.DeletesWithheldReason = reason;
                _summary.Errors++;
                ChittyLog.Warning($"Not deleting {_deletes.Count} file(s): {reason}.");
                _deletes.Clear();
            }
        }

        private SyncStateEntry? CachedHashes(LocalFile file)
        {
            if (_options.Rehash)
            {
                return null;
            }

            lock (_state.Gate)
            {
                return _state.Files.TryGetValue(file.RelativePath, out var e) && e.Size == file.Size && e.ModifiedTicks == file.LastWriteUtc.Ticks ? e : null;
            }
        }

        // Decides, for files present on both sides with the same size, whether the content is the same.
        private async Task CompareAsync(List<PlanItem> items)
        {
            var identical = new List<PlanItem>();
            await ForEachAsync(items, _options.Transfers, async item =>
            {
                try
                {
                    item.Hashes ??= await HashAsync(item.Local!).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    Fail(item, Upload ? "Upload" : "Download", ex, TimeSpan.Zero);
                    return;
                }

                var remote = item.Remote!;
                var hashes = item.Hashes;
                var same = remote.ETag == hashes.Md5 || (hashes.RemoteETag is not null && remote.ETag == hashes.RemoteETag);
                if (!same && remote.IsMultipartETag)
                {
                    // A multipart ETag is not the MD5 of the content: the uploader's sha256 metadata decides.
                    RemoteObjectInfo? info;
                    try
                    {
                        info = await Store.HeadAsync(remote.Key, _ct).ConfigureAwait(false);
                    }
                    catch (ObjectStoreException ex)
                    {
                        // This file cannot be compared now; the others can.
                        Fail(item, Upload ? "Upload" : "Download", ex, TimeSpan.Zero);
                        return;
                    }

                    same = info?.Sha256 is not null && info.Sha256 == hashes.Sha256;
                }

                lock (_gate)
                {
                    if (same)
                    {
                        identical.Add(item);
                    }
                    else
                    {
                        _transfers.Add(item);
                    }
                }
            }).ConfigureAwait(false);

            foreach (var item in identical)
            {
                _summary.FilesSkipped++;
                _summary.BytesSkipped += item.Size;
                _present.Add(item.RelativePath);
                if (!_options.PlanOnly)
                {
                    Remember(item.RelativePath, item.Hashes!, item.Remote!.ETag);
                }
            }

            _transfers.Sort((a, b) => string.CompareOrdinal(a.RelativePath, b.RelativePath));
        }

        // Hashes a file and ties the hashes to the size and time it had before and after the read.
        private async Task<SyncStateEntry> HashAsync(LocalFile file)
        {
            var before = new FileInfo(file.FullPath);
            var size = before.Length;
            var ticks = before.LastWriteTimeUtc.Ticks;
            var hashes = await ContentHasher.HashFileAsync(file.FullPath, _ct).ConfigureAwait(false);
            var after = new FileInfo(file.FullPath);
            if (after.Length != size || after.LastWriteTimeUtc.Ticks != ticks || hashes.Length != size)
            {
                throw new IOException($"'{file.FullPath}' changed while it was being read; it will be synced next time.");
            }

            lock (_gate)
            {
                _summary.BytesHashed += hashes.Length;
                _summary.FilesHashed++;
            }

            return new SyncStateEntry { Size = size, ModifiedTicks = ticks, Sha256 = hashes.Sha256, Md5 = hashes.Md5 };
        }

        private void Remember(string rel, SyncStateEntry hashes, string remoteETag)
        {
            lock (_state.Gate)
            {
                _state.Files.TryGetValue(rel, out var old);
                _state.Files[rel] = new SyncStateEntry
                {
                    Size = hashes.Size,
                    ModifiedTicks = hashes.ModifiedTicks,
                    Sha256 = hashes.Sha256,
                    Md5 = hashes.Md5,
                    RemoteETag = remoteETag,
                    // A report covers content: the same content at the same key needs no new report.
                    Reported = old is not null && old.Reported && old.Sha256 == hashes.Sha256 && old.RemoteETag == remoteETag,
                };
            }
        }

        private void EmitPlan()
        {
            foreach (var item in _transfers)
            {
                _summary.PlannedBytes += item.Size;
                if (Upload)
                {
                    _summary.PlannedUploads++;
                }
                else
                {
                    _summary.PlannedDownloads++;
                }

                Emit(ResultFor(item, Upload ? SyncAction.PlannedUpload : SyncAction.PlannedDownload, Upload ? "Upload" : "Download"));
            }

            foreach (var item in _deletes)
            {
                _summary.PlannedDeletes++;
                Emit(ResultFor(item, SyncAction.PlannedDelete, "Delete"));
            }
        }

        private ChittySyncResult ResultFor(PlanItem item, SyncAction action, string operation) => new()
        {
            Action = action,
            Operation = operation,
            RelativePath = item.RelativePath,
            R2Key = item.Key,
            Size = item.Size,
            Sha256 = item.Hashes?.Sha256,
            LocalPath = item.FullPath,
            Modified = item.Local is not null ? new DateTimeOffset(item.Local.LastWriteUtc, TimeSpan.Zero) : item.Remote?.LastModified,
        };

        private async Task TransferAsync()
        {
            _progress.Start(_transfers.Count, _transfers.Sum(t => t.Size));
            await ForEachAsync(_transfers, _options.Transfers, async item =>
            {
                var watch = Stopwatch.StartNew();
                var large = item.Size >= _options.LargeTransferThreshold ? _progress.BeginTransfer(item.RelativePath, item.Size) : null;
                try
                {
                    if (Upload)
                    {
                        await UploadOneAsync(item, watch, large).ConfigureAwait(false);
                    }
                    else
                    {
                        await DownloadOneAsync(item, watch, large).ConfigureAwait(false);
                    }
                }
                catch (OperationCanceledException) when (_ct.IsCancellationRequested)
                {
                    throw;
                }
                catch (Exception ex)
                {
                    Fail(item, Upload ? "Upload" : "Download", ex, watch.Elapsed);
                }
                finally
                {
                    if (large is not null)
                    {
                        _progress.EndTransfer(large);
                    }

                    _progress.FileDone();
                    MaybeSaveState();
                }
            }).ConfigureAwait(false);
        }

        private async Task UploadOneAsync(PlanItem item, Stopwatch watch, SyncTransferProgress? large)
        {
            // R2 answers KeyTooLongError only after the body was sent (and s3rver fails on the file system):
            // refuse it up front, saying what to shorten.
            var keyBytes = System.Text.Encoding.UTF8.GetByteCount(item.Key);
            if (keyBytes > MaxKeyBytes)
            {
                throw new ObjectStoreException($"The key of '{item.RelativePath}' would be {keyBytes:N0} bytes, over the {MaxKeyBytes:N0} bytes R2 allows: shorten its path or the prefix.", item.Key, "KeyTooLong");
            }

            var hashes = item.Hashes ?? await HashAsync(item.Local!).ConfigureAwait(false);
            item.Hashes = hashes;
            var modified = new DateTimeOffset(new DateTime(hashes.ModifiedTicks, DateTimeKind.Utc));
            var uploadId = item.Size >= Store.Options.MultipartThreshold ? ResumableUploadFor(item.Key, hashes.Sha256) : null;
            var result = await Store.UploadFileAsync(item.FullPath, item.Key, hashes.Sha256, hashes.Md5, modified,
                bytes => _progress.AddBytes(bytes, large),
                id =>
                {
                    lock (_state.Gate)
                    {
                        // A new upload replaces the one that could not be resumed: that one is no longer wanted.
                        if (uploadId is not null && uploadId != id)
                        {
                            _resuming.Remove(uploadId);
                        }

                        uploadId = id;
                        _resuming.Add(id);
                        _state.PendingUploads[id] = new PendingUpload { Key = item.Key, UploadId = id, Sha256 = hashes.Sha256 };
                    }

                    // A crash from here on leaves parts behind: the next run must know to resume or abort them.
                    ForceSaveState();
                },
                _ct, uploadId).ConfigureAwait(false);
            ForgetPending(uploadId);
            Remember(item.RelativePath, hashes, result.ETag);
            lock (_gate)
            {
                _summary.FilesUploaded++;
                _summary.BytesUploaded += item.Size;
                _present.Add(item.RelativePath);
            }

            var r = ResultFor(item, SyncAction.Uploaded, "Upload");
            r.Duration = watch.Elapsed;
            Emit(r);
        }

        private async Task DownloadOneAsync(PlanItem item, Stopwatch watch, SyncTransferProgress? large)
        {
            var directory = Path.GetDirectoryName(item.FullPath)!;
            Directory.CreateDirectory(directory);
            if (Directory.Exists(item.FullPath))
            {
                throw new IOException($"'{item.FullPath}' is a folder; the object '{item.Key}' cannot be written there.");
            }

            // The temporary name keeps at most 60 characters of the final one, so a name near the file
            // system's 255-byte limit does not fail only because of the added dot and suffix.
            var name = Path.GetFileName(item.FullPath);
            if (name.Length > 60)
            {
                name = name.Substring(0, char.IsHighSurrogate(name[59]) ? 59 : 60);
            }

            var temp = Path.Combine(directory, "." + name + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + LocalScanner.PartialSuffix);
            try
            {
                DownloadResult result;
                using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, FileOptions.Asynchronous))
                {
                    result = await Store.DownloadAsync(item.Key, file, bytes => _progress.AddBytes(bytes, large), _ct).ConfigureAwait(false);
                    await file.FlushAsync(_ct).ConfigureAwait(false);
                    file.Flush(flushToDisk: true);
                }

                var modified = result.Info.FileModified ?? result.Info.LastModified ?? DateTimeOffset.UtcNow;
                File.SetLastWriteTimeUtc(temp, modified.UtcDateTime);
                if (File.Exists(item.FullPath))
                {
                    File.Replace(temp, item.FullPath, null);
                }
                else
                {
                    File.Move(temp, item.FullPath);
                }

                var written = new FileInfo(item.FullPath);
                var hashes = new SyncStateEntry { Size = written.Length, ModifiedTicks = written.LastWriteTimeUtc.Ticks, Sha256 = result.Sha256, Md5 = result.Md5 };
                item.Hashes = hashes;
                Remember(item.RelativePath, hashes, result.Info.ETag);
                lock (_gate)
                {
                    _summary.FilesDownloaded++;
                    _summary.BytesDownloaded += result.Size;
                }

                if (result.VerifiedBy == "size")
                {
                    ChittyLog.Verbose($"'{item.Key}' has a multipart ETag and no sha256 metadata: only its length could be checked.");
                }

                var r = ResultFor(item, SyncAction.Downloaded, "Download");
                r.Modified = modified;
                r.Duration = watch.Elapsed;
                Emit(r);
            }
            finally
            {
                if (File.Exists(temp))
                {
                    File.Delete(temp);
                }
            }
        }

        private async Task DeleteAsync()
        {
            if (_deletes.Count == 0)
            {
                return;
            }

            if (_summary.Errors > 0)
            {
                _summary.DeletesWithheld = _deletes.Count;
                _summary.DeletesWithheldReason = "not every transfer succeeded";
                ChittyLog.Warning($"Not deleting {_deletes.Count} file(s): not every transfer succeeded.");
                return;
            }

            _progress.Phase(SyncPhase.Deleting);
            var watch = Stopwatch.StartNew();
            if (Upload)
            {
                var failures = (await Store.DeleteAsync(_deletes.Select(d => d.Key).ToList(), _ct).ConfigureAwait(false)).ToDictionary(f => f.Key, StringComparer.Ordinal);
                foreach (var item in _deletes)
                {
                    if (failures.TryGetValue(item.Key, out var failure))
                    {
                        Fail(item, "Delete", new ObjectStoreException($"'{item.Key}' was not deleted: {failure.Code}: {failure.Message}", item.Key, failure.Code), watch.Elapsed);
                    }
                    else
                    {
                        Deleted(item, watch.Elapsed);
                    }
                }
            }
            else
            {
                foreach (var item in _deletes)
                {
                    _ct.ThrowIfCancellationRequested();
                    try
                    {
                        File.Delete(item.FullPath);
                        lock (_state.Gate)
                        {
                            _state.Files.Remove(item.RelativePath);
                        }

                        Deleted(item, watch.Elapsed);
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        Fail(item, "Delete", ex, watch.Elapsed);
                    }
                }
            }
        }

        private void Deleted(PlanItem item, TimeSpan elapsed)
        {
            lock (_gate)
            {
                _summary.FilesDeleted++;
                _summary.BytesDeleted += item.Size;
            }

            var r = ResultFor(item, SyncAction.Deleted, "Delete");
            r.Duration = elapsed;
            Emit(r);
        }

        // The state only describes files that still exist locally.
        private void ForgetVanishedFiles()
        {
            lock (_state.Gate)
            {
                foreach (var rel in _state.Files.Keys.ToList())
                {
                    if (!File.Exists(Path.Combine(_root, rel)))
                    {
                        _state.Files.Remove(rel);
                    }
                }
            }
        }

        private async Task ReportAsync()
        {
            if (_options.NoReport)
            {
                return;
            }

            if (_engine._api is null)
            {
                ChittyLog.Verbose("No API client: the sync report is not sent.");
                return;
            }

            var items = new List<(string Rel, SyncReportItem Item)>();
            lock (_state.Gate)
            {
                foreach (var rel in _present.OrderBy(r => r, StringComparer.Ordinal))
                {
                    if (_state.Files.TryGetValue(rel, out var e) && !e.Reported)
                    {
                        items.Add((rel, new SyncReportItem
                        {
                            R2Key = _prefix + rel,
                            Sha256 = e.Sha256,
                            Size = e.Size,
                            Modified = new DateTimeOffset(new DateTime(e.ModifiedTicks, DateTimeKind.Utc)),
                        }));
                    }
                }
            }

            if (items.Count == 0)
            {
                return;
            }

            _progress.Phase(SyncPhase.Reporting);
            var confirmed = 0;
            void MarkReported(int upTo)
            {
                lock (_state.Gate)
                {
                    for (var i = confirmed; i < upTo; i++)
                    {
                        if (_state.Files.TryGetValue(items[i].Rel, out var e))
                        {
                            e.Reported = true;
                        }
                    }
                }

                confirmed = upTo;
            }

            try
            {
                var result = await _engine._api.SendSyncReportAsync(_prefix, _options.Source, items.Select(i => i.Item).ToList(), _ct, _options.ReportBatchSize, MarkReported).ConfigureAwait(false);
                _summary.ReportedItems = result.Count;
                _summary.ReportEventId = result.EventId;
            }
            catch (ChittyApiException ex)
            {
                _summary.ReportedItems = confirmed;
                _summary.ReportError = ex.Message;
                _summary.Errors++;
                ChittyLog.Warning($"The sync report failed after {confirmed} of {items.Count} items; the rest is sent by the next sync: {ex.Message}");
            }
        }

        private void Fail(PlanItem item, string operation, Exception ex, TimeSpan elapsed)
        {
            lock (_gate)
            {
                _summary.Errors++;
            }

            var r = ResultFor(item, SyncAction.Failed, operation);
            r.Error = ex.Message;
            r.Exception = ex;
            r.Duration = elapsed;
            Emit(r);
        }

        private void Emit(ChittySyncResult result)
        {
            if (result.Action == SyncAction.Failed && result.Exception is null)
            {
                result.Exception = new InvalidOperationException(result.Error);
            }

            if (result.Action == SyncAction.Failed && result.Operation == "Download" && result.Error?.StartsWith("Refused", StringComparison.Ordinal) == true)
            {
                lock (_gate)
                {
                    _summary.Errors++;
                }
            }

            _onResult?.Invoke(result);
        }

        private void ForgetPending(string? uploadId)
        {
            if (uploadId is null)
            {
                return;
            }

            lock (_state.Gate)
            {
                _state.PendingUploads.Remove(uploadId);
            }
        }

        private void MaybeSaveState()
        {
            var now = _watch.ElapsedTicks;
            if (now - Interlocked.Read(ref _lastSaveTicks) < Stopwatch.Frequency * 5)
            {
                return;
            }

            ForceSaveState();
        }

        // Waits for a save in progress instead of skipping: that save may have serialized the state before the
        // caller's change (a just-started multipart upload), and a crash must not lose the upload id.
        private void ForceSaveState()
        {
            lock (_saveGate)
            {
                try
                {
                    _state.Save();
                    Interlocked.Exchange(ref _lastSaveTicks, _watch.ElapsedTicks);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    ChittyLog.Verbose($"Could not save the sync state yet: {ex.Message}");
                }
            }
        }

        private async Task ForEachAsync<T>(IReadOnlyList<T> items, int degree, Func<T, Task> body)
        {
            var next = -1;
            var workers = Enumerable.Range(0, Math.Min(degree, items.Count)).Select(_ => Task.Run(async () =>
            {
                while (true)
                {
                    _ct.ThrowIfCancellationRequested();
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

    // Aggregates byte counts from the workers and reports snapshots at most four times a second.
    private sealed class ProgressTracker
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

        public ProgressTracker(IProgress<SyncProgress>? sink) => _sink = sink;

        public void Phase(SyncPhase phase)
        {
            lock (_gate)
            {
                _phase = phase;
            }

            Report(force: true);
        }

        public void Start(int files, long bytes)
        {
            lock (_gate)
            {
                _phase = SyncPhase.Transferring;
                _filesTotal = files;
                _bytesTotal = bytes;
                _transferStart = _watch.Elapsed;
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
}
