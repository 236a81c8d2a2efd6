namespace ChittyConnect.Sync;

/// <summary>A multipart upload that was started and not yet completed or aborted.</summary>
internal sealed class PendingUpload
{
    public string Key { get; set; } = string.Empty;

    public string UploadId { get; set; } = string.Empty;

    /// <summary>SHA-256 of the content being uploaded: the upload is resumed only for that same content.</summary>
    public string? Sha256 { get; set; }
}
