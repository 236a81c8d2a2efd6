using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Diagnostics;
using ChittyConnect.Hashing;

namespace ChittyConnect.Api;

/// <summary>
/// Uploads one local file through the API, the guide's workflows 1 and 3: small files directly in base64,
/// large ones by presign + PUT streamed in constant memory. Always sends sha256 and mime, and checks
/// afterwards that what was sent is what was hashed and what the server received.
/// </summary>
public static class FileUploader
{
    /// <summary>Files under this size go direct with <see cref="UploadMethod.Auto"/> (the service documents &lt; 5 MB).</summary>
    public const long DirectUploadLimit = 5L * 1000 * 1000;

    private const int MaxPresignedAttempts = 3;

    /// <summary>Uploads <paramref name="path"/> to <paramref name="sessionId"/>.</summary>
    /// <param name="api">The API client.</param>
    /// <param name="path">A local file (not a directory, not empty).</param>
    /// <param name="sessionId">The session to upload to.</param>
    /// <param name="method">Auto, Direct or Presigned.</param>
    /// <param name="mime">The MIME type, or null to derive it from the extension.</param>
    /// <param name="bytesSent">Called with each count of bytes read for sending (progress).</param>
    /// <param name="cancellationToken">Stops the upload.</param>
    public static async Task<ChittyFile> UploadAsync(ChittyApiClient api, string path, string sessionId, UploadMethod method,
        string? mime, Action<long>? bytesSent, CancellationToken cancellationToken)
    {
        var info = new FileInfo(path);
        if (Directory.Exists(path))
        {
            throw new ArgumentException($"'{path}' is a directory. Send-ChittyFile uploads files; use Sync-ChittyFolder for a folder, or pipe Get-ChildItem -File -Recurse.");
        }

        if (!info.Exists)
        {
            throw new FileNotFoundException($"File '{path}' does not exist.", path);
        }

        if (info.Length == 0)
        {
            // A pipe, socket or device shows a length of 0 too: it is never opened (a pipe's read would wait forever).
            throw new ArgumentException(Sync.LocalFileKind.SpecialKind(path) is { } kind
                ? $"'{path}' is {kind}, not a regular file: Send-ChittyFile uploads regular files only."
                : $"'{path}' is empty (0 bytes): ChittyConnect does not accept empty uploads.");
        }

        if (string.IsNullOrWhiteSpace(sessionId))
        {
            throw new ArgumentException("A session id is required: pass -SessionId or connect with -SessionId.");
        }

        var name = info.Name;
        mime = string.IsNullOrWhiteSpace(mime) ? MimeTypes.ForFileName(name) : mime!;
        var effective = method == UploadMethod.Auto
            ? (info.Length < DirectUploadLimit ? UploadMethod.Direct : UploadMethod.Presigned)
            : method;
        if (effective == UploadMethod.Direct && info.Length >= DirectUploadLimit)
        {
            throw new ArgumentException($"'{path}' is {info.Length:N0} bytes, too large for a direct upload (under {DirectUploadLimit:N0} bytes). Use -Method Presigned or Auto.");
        }

        var file = effective == UploadMethod.Direct
            ? await UploadDirectAsync(api, info, name, sessionId, mime, bytesSent, cancellationToken).ConfigureAwait(false)
            : await UploadPresignedAsync(api, info, name, sessionId, mime, bytesSent, cancellationToken).ConfigureAwait(false);
        file.Path = info.FullName;
        return file;
    }

    private static async Task<ChittyFile> UploadDirectAsync(ChittyApiClient api, FileInfo info, string name, string sessionId, string mime,
        Action<long>? bytesSent, CancellationToken cancellationToken)
    {
        // One read serves both the hash and the body, so they cannot disagree.
        byte[] content;
        using (var stream = OpenRead(info.FullName))
        {
            content = new byte[stream.Length];
            var read = 0;
            while (read < content.Length)
            {
                var n = await stream.ReadAsync(content, read, content.Length - read, cancellationToken).ConfigureAwait(false);
                if (n == 0)
                {
                    throw new IOException($"'{info.FullName}' became shorter while it was read.");
                }

                read += n;
            }
        }

        var sha256 = ContentHasher.Sha256(new ArraySegment<byte>(content));
        bytesSent?.Invoke(content.Length);
        var key = await api.UploadDirectAsync(name, sessionId, new ArraySegment<byte>(content), sha256, mime, cancellationToken).ConfigureAwait(false);
        return new ChittyFile { Name = name, Size = content.Length, Sha256 = sha256, Mime = mime, R2Key = key, SessionId = sessionId, Method = UploadMethod.Direct };
    }

    private static async Task<ChittyFile> UploadPresignedAsync(ChittyApiClient api, FileInfo info, string name, string sessionId, string mime,
        Action<long>? bytesSent, CancellationToken cancellationToken)
    {
        ContentHashes before;
        using (var stream = OpenRead(info.FullName))
        {
            before = await ContentHasher.HashStreamAsync(stream, cancellationToken).ConfigureAwait(false);
        }

        for (var attempt = 1; ; attempt++)
        {
            var presign = await api.PresignAsync(name, before.Length, sessionId, mime, before.Sha256, cancellationToken).ConfigureAwait(false);
            long sent = 0;
            try
            {
                using var file = OpenRead(info.FullName);
                using var hashing = new HashingReadStream(file, n =>
                {
                    sent += n;
                    bytesSent?.Invoke(n);
                });
                var (key, received) = await api.PutPresignedAsync(presign, hashing, before.Length, mime, cancellationToken).ConfigureAwait(false);
                var after = hashing.GetHashes();
                if (after.Sha256 != before.Sha256 || after.Length != before.Length)
                {
                    throw new IOException($"'{info.FullName}' changed while it was uploaded (SHA-256 {before.Sha256} before, {after.Sha256} sent). Upload it again once it is no longer being written.");
                }

                if (received >= 0 && received != before.Length)
                {
                    throw new ChittyApiException(ChittyErrorKind.InvalidResponse, 200, "size_mismatch",
                        $"The server received {received:N0} bytes of '{name}' but {before.Length:N0} were sent; the stored object is incomplete.",
                        "PUT", "/" + api.ToEndpointPath(presign.UploadUrl));
                }

                // The service's PUT indexes the file as active (context_files, r2://<key>): say so.
                return new ChittyFile { Name = name, Size = before.Length, Sha256 = before.Sha256, Mime = mime, R2Key = key, SessionId = sessionId, Method = UploadMethod.Presigned, Active = true };
            }
            catch (ChittyApiException ex) when (attempt < MaxPresignedAttempts && (ex.IsTransient || ex.Code == "invalid_or_expired_token"))
            {
                // The token is single-use: a retry needs a fresh presign.
                bytesSent?.Invoke(-sent);
                ChittyLog.Verbose($"Upload of '{name}' failed ({ex.Code}); presigning again, attempt {attempt + 1} of {MaxPresignedAttempts}.");
            }
        }
    }

    private static FileStream OpenRead(string path) =>
        new(path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, FileOptions.Asynchronous | FileOptions.SequentialScan);
}
