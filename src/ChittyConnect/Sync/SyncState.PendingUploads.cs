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
