using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using System.Threading;
using System;
using ChittyConnect.Diagnostics;
using ChittyConnect.Files;
using ChittyConnect.Storage;

namespace ChittyConnect.Sync;

/// <summary>
/// Carries out a plan: the transfers in parallel, then the deletes, and only when every transfer succeeded
/// (a delete after a failed copy could remove the only version left). The state learns of each finished
/// transfer or delete as it happens and is saved every few seconds, so a killed run is resumed, not redone.
/// </summary>
internal sealed class SyncExecutor
{
    private readonly SyncRun _run;
    private readonly SyncPlanner _planner;
    private readonly object _saveGate = new();
    private long _lastSaveTicks;

    // Set by the first upload the store refused for its write condition (it does not support conditional
    // writes): every later upload would be refused alike, so none more is sent.
    private int _conditionsRefused;

    public SyncExecutor(SyncRun run, SyncPlanner planner)
    {
        _run = run;
        _planner = planner;
    }

    private IObjectStore Store => _run.Store;

    private SyncState State => _run.State;

    private CancellationToken Token => _run.Token;

    private bool TwoWay => _run.Options.Direction == SyncDirection.Both;

    /// <summary>Writes <paramref name="transfers"/> as Planned* results and totals; changes nothing.</summary>
    public void EmitTransfers(IReadOnlyList<SyncPlanItem> transfers)
    {
        var summary = _run.Summary;
        foreach (var item in transfers)
        {
            summary.PlannedBytes += item.Size;
            if (item.Step is SyncStep.Upload or SyncStep.KeepBoth)
            {
                summary.PlannedUploads++;
            }

            if (item.Step is SyncStep.Download or SyncStep.KeepBoth)
            {
                summary.PlannedDownloads++;
            }

            var action = item.Conflict != SyncConflict.None ? SyncAction.PlannedConflict
                : item.Step == SyncStep.Upload ? SyncAction.PlannedUpload : SyncAction.PlannedDownload;
            _run.Emit(_run.ResultFor(item, action, _run.PublicOperation(item.Step)));
        }
    }

    /// <summary>Writes the guarded plan's deletes as Planned* results and totals (a withheld one as an error); changes nothing.</summary>
    public void EmitDeletes(SyncPlan plan)
    {
        var summary = _run.Summary;
        if (plan.DeletesWithheld)
        {
            summary.Errors++;
        }

        foreach (var item in plan.Deletes)
        {
            summary.PlannedDeletes++;
            var action = !TwoWay ? SyncAction.PlannedDelete
                : item.Step == SyncStep.DeleteLocal ? SyncAction.PlannedDeleteLocal : SyncAction.PlannedDeleteRemote;
            _run.Emit(_run.ResultFor(item, action, _run.PublicOperation(item.Step)));
        }
    }

    /// <summary>
    /// Carries out what is left of the plan once every window is planned and guarded: its transfers (those a
    /// run that can delete held), then (when every transfer of the run succeeded) its deletes.
    /// </summary>
    public async Task FinishAsync(SyncPlan plan)
    {
        await TransferAsync(plan.Transfers).ConfigureAwait(false);
        if (_run.Summary.UploadsNotSent > 0)
        {
            ChittyLog.Warning($"{_run.Summary.UploadsNotSent} more file(s) were not uploaded: the store refused the first upload's conditional write (see the error) and would refuse each of them alike. Nothing was deleted; they are sent by a sync to a store that supports conditional writes.");
        }

        await DeleteAsync(plan.Deletes).ConfigureAwait(false);
        if (plan.DeletesWithheld)
        {
            _run.Count(s => s.Errors++);
        }
    }

    /// <summary>
    /// Transfers <paramref name="transfers"/> in parallel (one window's, or the whole plan's), each recorded in
    /// the state as it finishes. The paths are journaled as moving before the first byte moves: a kill between
    /// a transfer and its record must not lose the report.
    /// </summary>
    public async Task TransferAsync(IReadOnlyList<SyncPlanItem> transfers)
    {
        if (transfers.Count > 0)
        {
            State.BeginMoving(transfers.Select(t => t.RelativePath).Concat(transfers.Where(t => t.ConflictPath is not null).Select(t => t.ConflictPath!)));
            try
            {
                State.Checkpoint();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ChittyLog.Verbose($"Could not save the sync state before the transfers: {ex.Message}");
            }
        }

        _run.Progress.AddWork(transfers.Count, transfers.Sum(t => t.Size));
        await _run.ForEachAsync(transfers, _run.Options.Transfers, async item =>
        {
            var watch = Stopwatch.StartNew();
            var large = item.Size >= _run.Options.LargeTransferThreshold ? _run.Progress.BeginTransfer(item.RelativePath, item.Size) : null;
            try
            {
                if (Sends(item) && Volatile.Read(ref _conditionsRefused) != 0)
                {
                    NotSent();
                }
                else
                {
                    await TransferOneAsync(item, watch, large).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (Token.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex)
            {
                if (ex is ObjectStoreException { Code: ObjectStoreException.ConditionalWriteUnsupported } && Interlocked.Exchange(ref _conditionsRefused, 1) != 0)
                {
                    // An upload under way at the same time met the refusal first: its error says it for the run.
                    NotSent();
                }
                else
                {
                    _run.Fail(item, SyncFailureReason.TransferFailed, ex, watch.Elapsed);
                }
            }
            finally
            {
                if (large is not null)
                {
                    _run.Progress.EndTransfer(large);
                }

                _run.Progress.FileDone();
                MaybeCheckpoint();
            }
        }).ConfigureAwait(false);
    }

    private static bool Sends(SyncPlanItem item) => item.Step is SyncStep.Upload or SyncStep.KeepBoth;

    private void NotSent() => _run.Count(s => s.UploadsNotSent++);

    private Task TransferOneAsync(SyncPlanItem item, Stopwatch watch, SyncTransferProgress? large) => item.Step switch
    {
        SyncStep.Upload => UploadOneAsync(item, watch, large),
        SyncStep.Download => DownloadOneAsync(item, watch, large),
        _ => KeepBothAsync(item, watch, large),
    };

    // The upload replaces only the version the plan saw (or creates the key only where it saw none): when
    // another writer came in between, the store refuses it, both versions stay, and the path is decided again.
    private async Task UploadOneAsync(SyncPlanItem item, Stopwatch watch, SyncTransferProgress? large)
    {
        try
        {
            await SendAsync(item.RelativePath, item.Key, item.Local!.FullPath, item, large, WriteCondition.For(item.Remote)).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (ex.Code == ObjectStoreException.RemoteChanged && !item.DecidedAgain)
        {
            ChittyLog.Verbose($"{ex.Message} Deciding '{item.RelativePath}' again.");
            _run.Count(s => s.RemoteChangedDuringRun++);
            if (await _planner.DecideAgainAsync(item).ConfigureAwait(false) is { } again)
            {
                await TransferOneAsync(again, watch, large).ConfigureAwait(false);
            }

            return;
        }

        var r = _run.ResultFor(item, ConflictOr(item, SyncAction.Uploaded), SyncOperation.Upload);
        r.Duration = watch.Elapsed;
        _run.Emit(r);
    }

    private SyncAction ConflictOr(SyncPlanItem item, SyncAction action)
    {
        if (item.Conflict == SyncConflict.None)
        {
            return action;
        }

        _run.Count(s => s.Conflicts++);
        return SyncAction.Conflict;
    }

    // Uploads the file at fullPath (the plan's local version) as key, where the key holds what condition
    // names, and records it under relativePath.
    private async Task SendAsync(string relativePath, string key, string fullPath, SyncPlanItem item, SyncTransferProgress? large, WriteCondition condition)
    {
        // R2 answers KeyTooLongError only after the body was sent (and s3rver fails on the file system):
        // refuse it up front, saying what to shorten.
        var keyBytes = System.Text.Encoding.UTF8.GetByteCount(key);
        if (keyBytes > SyncEngine.MaxKeyBytes)
        {
            throw new ObjectStoreException($"The key of '{relativePath}' would be {keyBytes:N0} bytes, over the {SyncEngine.MaxKeyBytes:N0} bytes R2 allows: shorten its path or the prefix.", key, "KeyTooLong");
        }

        var hashes = item.Hashes ?? await _run.HashAsync(item.Local!).ConfigureAwait(false);
        item.Hashes = hashes;
        var modified = new DateTimeOffset(new DateTime(hashes.ModifiedTicks, DateTimeKind.Utc));
        var uploadId = hashes.Size >= Store.Options.MultipartThreshold ? State.ClaimResumable(key, hashes.Sha256) : null;
        UploadResult result;
        string? started = null;
        var creating = false;
        try
        {
            result = await Store.UploadFileAsync(fullPath, key, hashes.Sha256, hashes.Md5, modified,
                bytes => _run.Progress.AddBytes(bytes, large),
                id =>
                {
                    State.AddPending(key, id, hashes.Sha256, uploadId);
                    uploadId = started = id;
                    // A crash from here on leaves parts behind: the next run must know to resume or abort them.
                    CheckpointNow();
                },
                Token, uploadId, condition, _run.TakePartHashes(fullPath, hashes.Sha256),
                () =>
                {
                    // On disk before the store can make an upload whose id a crash would keep from the state.
                    creating = true;
                    State.NoteCreating(key);
                    CheckpointNow();
                }).ConfigureAwait(false);
        }
        catch (ObjectStoreException ex) when (creating && started is null && ex.Code != "AnswerLost" && !StoreOutage.IsOutage(ex))
        {
            // The store refused the CreateMultipartUpload (the key changed meanwhile, access denied): no upload
            // was made, and a sweep would only risk another device's upload of the key.
            State.CreateRefused(key);
            throw;
        }
        catch (ObjectStoreException ex) when (ex.Code == ObjectStoreException.RemoteChanged && started is not null)
        {
            // The store aborted the upload this call began (it cannot complete over the other version):
            // nothing to resume.
            State.RemovePending(started);
            throw;
        }
        catch (ObjectStoreException ex) when (ex.ObjectRemoved)
        {
            // The upload replaced the agreed version and what it stored was removed (the file changed while it
            // was sent): the key holds neither version, by this sync's doing, not a remote delete. Remembering
            // the old version would make the next run take the empty key for one (a conflict, or with nothing
            // else under the prefix the empty-side guard); forgotten, the path is a new local file again.
            State.Forget(relativePath);
            throw;
        }

        State.RemovePending(uploadId);
        State.Remember(relativePath, hashes, result.ETag, transferred: true);
        _run.Count(s =>
        {
            s.FilesUploaded++;
            s.BytesUploaded += hashes.Size;
        });
        _run.MarkInAgreement(relativePath);
    }

    // Both sides changed: the local version moves aside under its conflict name and is uploaded as such,
    // then the remote version is downloaded to the name. Each step leaves both versions somewhere, so a run
    // killed between them loses nothing: the next run uploads the moved copy and downloads the remote
    // version to the name it no longer finds.
    private async Task KeepBothAsync(SyncPlanItem item, Stopwatch watch, SyncTransferProgress? large)
    {
        var conflictPath = item.ConflictPath!;
        var conflictFull = LocalScanner.ResolveInside(_run.Root, conflictPath, out var problem)
            ?? throw new IOException($"The conflict copy '{conflictPath}' cannot be written: {problem}.");
        LocalScanner.EnsureNoLink(_run.Root, conflictFull);
        // Hashed before the move (which keeps size and time), so the hashes stay tied to what is uploaded.
        item.Hashes ??= await _run.HashAsync(item.Local!).ConfigureAwait(false);
        EnsureUnchangedLocally(item);
        Directory.CreateDirectory(Path.GetDirectoryName(conflictFull)!);
        File.Move(item.Local!.FullPath, conflictFull);
        // The conflict copy's name is new: it never replaces an object someone else wrote under it.
        await SendAsync(conflictPath, _run.Prefix + conflictPath, conflictFull, item, large, WriteCondition.Absent).ConfigureAwait(false);
        item.Local = null;
        await ReceiveAsync(item, large).ConfigureAwait(false);
        _run.Count(s => s.Conflicts++);
        var r = _run.ResultFor(item, SyncAction.Conflict, SyncOperation.KeepBoth);
        r.Duration = watch.Elapsed;
        _run.Emit(r);
    }

    // Two-way: the plan decided on the local file as it was then; an edit made since must not be lost
    // to a download over it or a delete.
    private void EnsureUnchangedLocally(SyncPlanItem item)
    {
        if (!TwoWay)
        {
            return;
        }

        var same = item.Local is null
            ? FileVersion.Of(item.FullPath) is null
            : item.Local.Version.IsCurrentAt(item.Local.FullPath);
        if (!same)
        {
            throw new IOException($"'{item.FullPath}' changed during the sync; it is left as it is and synced next time.");
        }
    }

    private async Task DownloadOneAsync(SyncPlanItem item, Stopwatch watch, SyncTransferProgress? large)
    {
        var modified = await ReceiveAsync(item, large).ConfigureAwait(false);
        var r = _run.ResultFor(item, ConflictOr(item, SyncAction.Downloaded), SyncOperation.Download);
        r.Modified = modified;
        r.Duration = watch.Elapsed;
        _run.Emit(r);
    }

    // Downloads the object to the plan's local path (through a temporary file renamed over it) and records it.
    private async Task<DateTimeOffset> ReceiveAsync(SyncPlanItem item, SyncTransferProgress? large)
    {
        // Checked before any folder is made: a link on the way would put them, and the file, outside the folder.
        LocalScanner.EnsureNoLink(_run.Root, item.FullPath);
        var directory = Path.GetDirectoryName(item.FullPath)!;
        Directory.CreateDirectory(directory);
        if (Directory.Exists(item.FullPath))
        {
            throw new IOException($"'{item.FullPath}' is a folder; the object '{item.Key}' cannot be written there.");
        }

        var temp = AtomicFile.TempPathBeside(directory, Path.GetFileName(item.FullPath), LocalScanner.PartialSuffix);
        try
        {
            DownloadResult result;
            // Unbuffered: the store writes whole chunks (80 KiB, or a decrypted batch), and a buffer here would
            // be 64 KiB more for every object, however small. Written behind: a large file's pages go to disk as
            // it arrives, so the fsync that makes it durable before it is renamed and recorded is short.
            using (var file = new WriteBehindFileStream(new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous)))
            {
                result = await Store.DownloadAsync(item.Key, file, bytes => _run.Progress.AddBytes(bytes, large), Token).ConfigureAwait(false);
                await file.FlushAsync(Token).ConfigureAwait(false);
                file.FlushToDisk();
            }

            var modified = result.Info.FileModified ?? result.Info.LastModified ?? DateTimeOffset.UtcNow;
            File.SetLastWriteTimeUtc(temp, modified.UtcDateTime);
            EnsureUnchangedLocally(item);
            item.BackupPath = BackUp(item);
            AtomicFile.Replace(temp, item.FullPath);

            var written = new FileInfo(item.FullPath);
            var hashes = new SyncStateEntry { Size = written.Length, ModifiedTicks = written.LastWriteTimeUtc.Ticks, Sha256 = result.Sha256, Md5 = result.Md5 };
            item.Hashes = hashes;
            State.Remember(item.RelativePath, hashes, result.Info.ETag, transferred: true);
            _run.MarkInAgreement(item.RelativePath);
            _run.Count(s =>
            {
                s.FilesDownloaded++;
                s.BytesDownloaded += result.Size;
            });
            if (result.VerifiedBy == "size")
            {
                ChittyLog.Verbose($"'{item.Key}' has a multipart ETag and no sha256 or md5chksum metadata: only its length could be checked.");
            }

            return modified;
        }
        finally
        {
            AtomicFile.DeleteLeftover(temp);
        }
    }

    private async Task DeleteAsync(List<SyncPlanItem> deletes)
    {
        if (deletes.Count == 0)
        {
            return;
        }

        if (_run.Summary.Errors > 0)
        {
            _run.Count(s =>
            {
                s.DeletesWithheld += deletes.Count;
                s.DeletesWithheldReason = "not every transfer succeeded";
                s.DeletesWithheldBecause = SyncWithholdReason.TransferFailed;
            });
            ChittyLog.Warning($"Not deleting {deletes.Count} file(s): not every transfer succeeded.");
            return;
        }

        _run.Progress.Phase(SyncPhase.Deleting);
        var watch = Stopwatch.StartNew();
        var remote = deletes.Where(d => d.Step == SyncStep.DeleteRemote).ToList();
        if (remote.Count > 0)
        {
            var failures = (await Store.DeleteAsync(remote.Select(d => d.Key).ToList(), Token).ConfigureAwait(false)).ToDictionary(f => f.Key, StringComparer.Ordinal);
            foreach (var item in remote)
            {
                if (failures.TryGetValue(item.Key, out var failure))
                {
                    _run.Fail(item, SyncFailureReason.DeleteFailed, new ObjectStoreException($"'{item.Key}' was not deleted: {failure.Code}: {failure.Message}", item.Key, failure.Code), watch.Elapsed);
                }
                else
                {
                    Deleted(item, watch.Elapsed);
                }
            }
        }

        foreach (var item in deletes.Where(d => d.Step == SyncStep.DeleteLocal))
        {
            Token.ThrowIfCancellationRequested();
            try
            {
                EnsureUnchangedLocally(item);
                LocalScanner.EnsureNoLink(_run.Root, item.FullPath);
                item.BackupPath = BackUp(item);
                if (item.BackupPath is null)
                {
                    File.Delete(item.FullPath);
                }

                Deleted(item, watch.Elapsed);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _run.Fail(item, SyncFailureReason.DeleteFailed, ex, watch.Elapsed);
            }
        }
    }

    // -BackupDirectory: the local file at the item's path moves there, to the same relative path (a name taken
    // there gets ".backup-2", "-3", ... before its extension), instead of being replaced or deleted. Returns
    // where it went; null without a backup folder or a file to keep. A move that fails fails the path, and the
    // file stays where it was.
    private string? BackUp(SyncPlanItem item)
    {
        var folder = _run.Options.BackupDirectory;
        if (folder is null || !File.Exists(item.FullPath))
        {
            return null;
        }

        var wanted = Path.Combine(folder, item.RelativePath.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(wanted)!);
        var (stem, extension) = (Path.Combine(Path.GetDirectoryName(wanted)!, Path.GetFileNameWithoutExtension(wanted)), Path.GetExtension(wanted));
        var target = wanted;
        for (var n = 2; File.Exists(target) || Directory.Exists(target); n++)
        {
            target = stem + ".backup-" + n.ToString(System.Globalization.CultureInfo.InvariantCulture) + extension;
        }

        File.Move(item.FullPath, target);
        _run.Count(s => s.FilesBackedUp++);
        return target;
    }

    private void Deleted(SyncPlanItem item, TimeSpan elapsed)
    {
        State.Forget(item.RelativePath);
        _run.Count(s =>
        {
            s.FilesDeleted++;
            s.BytesDeleted += item.Size;
        });
        var action = !TwoWay ? SyncAction.Deleted : item.Step == SyncStep.DeleteLocal ? SyncAction.DeletedLocal : SyncAction.DeletedRemote;
        var r = _run.ResultFor(item, action, _run.PublicOperation(item.Step));
        r.Duration = elapsed;
        _run.Emit(r);
    }

    // A checkpoint (the state's journal: what changed since the last one) at most every 5 seconds. Workers that
    // finish while one is being written skip it (the next checkpoint or the final save records them).
    private void MaybeCheckpoint()
    {
        if (!SaveDue() || !Monitor.TryEnter(_saveGate))
        {
            return;
        }

        try
        {
            if (SaveDue())
            {
                CheckpointNow();
            }
        }
        finally
        {
            Monitor.Exit(_saveGate);
        }
    }

    private bool SaveDue() => _run.Watch.ElapsedTicks - Interlocked.Read(ref _lastSaveTicks) >= Stopwatch.Frequency * 5;

    // Waits for a checkpoint in progress instead of skipping: that one may have taken the changes before the
    // caller's (a just-started multipart upload), and a crash must not lose the upload id.
    private void CheckpointNow()
    {
        lock (_saveGate)
        {
            try
            {
                State.Checkpoint();
                Interlocked.Exchange(ref _lastSaveTicks, _run.Watch.ElapsedTicks);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                ChittyLog.Verbose($"Could not journal the sync state yet: {ex.Message}");
            }
        }
    }
}
