using System;
using System.Globalization;
using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace ChittyConnect.Sync;

/// <summary>
/// A sync's -LogFile: one JSON line per action and one for the summary, appended (the file is shared for
/// reading) and flushed line by line, so a run that is stopped or killed leaves every line it wrote whole.
/// </summary>
internal sealed class SyncLogFile : IDisposable
{
    private readonly StreamWriter _writer;

    private SyncLogFile(StreamWriter writer) => _writer = writer;

    /// <summary>Opens <paramref name="path"/> for appending; throws IOException or UnauthorizedAccessException.</summary>
    public static SyncLogFile Open(string path) =>
        new(new StreamWriter(new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read), new UTF8Encoding(false)));

    /// <summary>One action's line.</summary>
    public void Write(ChittySyncResult r) => WriteLine(w =>
    {
        w.WriteString("type", "action");
        w.WriteString("action", r.Action.ToString());
        w.WriteString("relativePath", r.RelativePath);
        w.WriteString("r2Key", r.R2Key);
        w.WriteNumber("size", r.Size);
        if (r.Sha256 is not null) { w.WriteString("sha256", r.Sha256); }
        w.WriteNumber("durationMs", Math.Round(r.Duration.TotalMilliseconds));
        if (r.Conflict != SyncConflict.None) { w.WriteString("conflict", r.Conflict.ToString()); }
        if (r.ConflictPath is not null) { w.WriteString("conflictPath", r.ConflictPath); }
        if (r.BackupPath is not null) { w.WriteString("backupPath", r.BackupPath); }
        if (r.Error is not null) { w.WriteString("error", r.Error); }
    });

    /// <summary>The summary's line; <paramref name="completed"/> is false for a run that was stopped or failed.</summary>
    public void Write(ChittySyncSummary s, bool completed) => WriteLine(w =>
    {
        w.WriteString("type", "summary");
        w.WriteBoolean("completed", completed);
        w.WriteString("direction", s.Direction.ToString());
        w.WriteString("localPath", s.LocalPath);
        w.WriteString("bucket", s.Bucket);
        w.WriteString("prefix", s.Prefix);
        w.WriteNumber("filesUploaded", s.FilesUploaded);
        w.WriteNumber("bytesUploaded", s.BytesUploaded);
        w.WriteNumber("filesDownloaded", s.FilesDownloaded);
        w.WriteNumber("bytesDownloaded", s.BytesDownloaded);
        w.WriteNumber("filesDeleted", s.FilesDeleted);
        w.WriteNumber("filesSkipped", s.FilesSkipped);
        w.WriteNumber("conflicts", s.Conflicts);
        w.WriteNumber("errors", s.Errors);
        w.WriteNumber("deletesWithheld", s.DeletesWithheld);
        w.WriteNumber("notOwned", s.NotOwned);
        if (s.FilesBackedUp > 0) { w.WriteNumber("filesBackedUp", s.FilesBackedUp); }
        if (s.RemoteChangedDuringRun > 0) { w.WriteNumber("remoteChangedDuringRun", s.RemoteChangedDuringRun); }
        if (s.UploadsNotSent > 0) { w.WriteNumber("uploadsNotSent", s.UploadsNotSent); }
        w.WriteString("startTime", s.StartTime.ToString("o", CultureInfo.InvariantCulture));
        w.WriteString("endTime", s.EndTime.ToString("o", CultureInfo.InvariantCulture));
        w.WriteNumber("elapsedMs", Math.Round(s.Elapsed.TotalMilliseconds));
        w.WriteNumber("bytesPerSecond", Math.Round(s.BytesPerSecond));
        w.WriteNumber("bytesHashed", s.BytesHashed);
        w.WriteNumber("filesCompared", s.FilesCompared);
        w.WriteNumber("bytesCompared", s.BytesCompared);
        w.WriteStartObject("requests");
        w.WriteNumber("list", s.Requests.List);
        w.WriteNumber("put", s.Requests.Put);
        w.WriteNumber("get", s.Requests.Get);
        w.WriteNumber("head", s.Requests.Head);
        w.WriteNumber("delete", s.Requests.Delete);
        w.WriteNumber("multipart", s.Requests.Multipart);
        w.WriteEndObject();
        w.WriteNumber("reportedItems", s.ReportedItems);
        if (s.ReportEventId is not null) { w.WriteString("reportEventId", s.ReportEventId); }
        if (s.ReportError is not null) { w.WriteString("reportError", s.ReportError); }
    });

    public void Dispose() => _writer.Dispose();

    private void WriteLine(Action<Utf8JsonWriter> fields)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping keeps non-ASCII file names and '+' in times readable in the log.
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("time", DateTimeOffset.Now.ToString("o", CultureInfo.InvariantCulture));
            fields(w);
            w.WriteEndObject();
        }

        _writer.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
        _writer.Flush();
    }
}
