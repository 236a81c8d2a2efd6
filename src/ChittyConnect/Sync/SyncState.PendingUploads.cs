using System;
using System.Collections.Generic;
using System.Linq;

namespace ChittyConnect.Sync;

// The multipart uploads a run started and did not finish, so a later run resumes (same content) or aborts them.
// Held whole in both modes (streamed too): there are as many as multipart uploads begun and not ended.
internal sealed partial class SyncState
{
    // The pending uploads this run resumes or began (not saved: each run claims its own).
    private readonly HashSet<string> _claimed = new(StringComparer.Ordinal);

    public Dictionary<string, PendingUpload> PendingUploads { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The keys whose CreateMultipartUpload was sent and whose upload id was not recorded (yet), with when it was
    /// sent: a crash between the store's answer and <see cref="AddPending"/>, or an answer that was lost, leaves an
    /// upload no state names, which <see cref="SyncEngine"/> finds by key and date at the end of a whole run and
    /// aborts. Saved and journaled as "I key unix-ms", and "J key" once swept; held whole in both modes.
    /// </summary>
    public Dictionary<string, DateTimeOffset> UploadsBeingCreated { get; } = new(StringComparer.Ordinal);

    // The keys of UploadsBeingCreated this run found in the state: the upload of such a key that this run
    // records does not tell that the earlier run's is gone, so only a sweep ends them.
    private readonly HashSet<string> _createdEarlier = new(StringComparer.Ordinal);

    /// <summary>
    /// The multipart uploads recorded as started and not finished that this run neither resumed nor began:
    /// their file is gone, changed or no longer selected, so their parts only cost storage.
    /// </summary>
    public IReadOnlyList<PendingUpload> UnclaimedPending()
    {
        lock (_gate)
        {
            return PendingUploads.Values.Where(u => !_claimed.Contains(u.UploadId)).ToList();
        }
    }

    /// <summary>
    /// The id of the upload an earlier run began of this content to <paramref name="key"/>, if any; it is
    /// claimed for this run (so it is not aborted as a leftover).
    /// </summary>
    public string? ClaimResumable(string key, string sha256)
    {
        lock (_gate)
        {
            var pending = PendingUploads.Values.FirstOrDefault(u => u.Key == key && u.Sha256 == sha256);
            if (pending is not null)
            {
                _claimed.Add(pending.UploadId);
            }

            return pending?.UploadId;
        }
    }

    /// <summary>
    /// Notes that a CreateMultipartUpload of <paramref name="key"/> is about to be sent; the caller checkpoints
    /// before sending it. A key an earlier run left noted keeps its earlier time.
    /// </summary>
    public void NoteCreating(string key)
    {
        lock (_gate)
        {
            if (!UploadsBeingCreated.ContainsKey(key))
            {
                var now = DateTimeOffset.UtcNow;
                UploadsBeingCreated[key] = now;
                Journal(SyncStateFormat.Join("I", key, now.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture)));
            }
        }
    }

    /// <summary>The keys noted as being created, for the sweep, with the time from which their uploads are suspect.</summary>
    public IReadOnlyList<KeyValuePair<string, DateTimeOffset>> CreatingToSweep()
    {
        lock (_gate)
        {
            return UploadsBeingCreated.ToList();
        }
    }

    /// <summary>
    /// Forgets a key this run noted as being created when its CreateMultipartUpload was refused outright (no
    /// upload was made); one an earlier run noted stays for the sweep.
    /// </summary>
    public void CreateRefused(string key)
    {
        lock (_gate)
        {
            EndOwnNote(key);
        }
    }

    /// <summary>Forgets a key noted as being created, once no upload of it is left that no state names.</summary>
    public void SweptCreating(string key)
    {
        lock (_gate)
        {
            if (UploadsBeingCreated.Remove(key))
            {
                _createdEarlier.Remove(key);
                Journal(SyncStateFormat.Join("J", key));
            }
        }
    }

    // Ends the note of a key this run made (called under _gate); a note an earlier run left stays for the sweep.
    private void EndOwnNote(string key)
    {
        if (!_createdEarlier.Contains(key) && UploadsBeingCreated.Remove(key))
        {
            Journal(SyncStateFormat.Join("J", key));
        }
    }

    // Reads an "I" line of the state or its journal (the earlier of two times of one key stands). The time has
    // the 13 digits of every time from 2001 to 2286: a line a kill cut short in its time is refused (the sweep
    // would otherwise reach back to an upload another device began long before).
    private void LoadCreating(string key, string unixMs)
    {
        if (unixMs.Length != 13 || !long.TryParse(unixMs, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var ms))
        {
            throw new FormatException($"bad time '{unixMs}' of an upload being created");
        }

        var at = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        if (!UploadsBeingCreated.TryGetValue(key, out var earlier) || at < earlier)
        {
            UploadsBeingCreated[key] = at;
        }

        _createdEarlier.Add(key);
    }

    /// <summary>
    /// Records a started multipart upload of the content <paramref name="sha256"/>, so the next run can resume
    /// it after a crash; the one it replaces (that could not be resumed) is left to be aborted.
    /// </summary>
    public void AddPending(string key, string uploadId, string sha256, string? replaces)
    {
        lock (_gate)
        {
            if (replaces is not null && replaces != uploadId)
            {
                _claimed.Remove(replaces);
            }

            _claimed.Add(uploadId);
            PendingUploads[uploadId] = new PendingUpload { Key = key, UploadId = uploadId, Sha256 = sha256 };
            Journal(SyncStateFormat.Join("P", key, uploadId, sha256));
            // The upload this run noted is now named; one an earlier run noted may still be out there.
            EndOwnNote(key);
        }
    }

    /// <summary>Forgets a multipart upload that completed or was aborted.</summary>
    public void RemovePending(string? uploadId)
    {
        if (uploadId is null)
        {
            return;
        }

        lock (_gate)
        {
            if (PendingUploads.Remove(uploadId))
            {
                Journal(SyncStateFormat.Join("Q", uploadId));
            }
        }
    }
}
