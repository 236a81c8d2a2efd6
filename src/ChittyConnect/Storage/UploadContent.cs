using System.Buffers;
using System.IO;
using System.Security.Cryptography;
using System.Threading.Tasks;
using System.Threading;
using System;
using ChittyConnect.Files;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

/// <summary>
/// What a multipart upload sends, one part at a time: a file read from disk, or bytes made from it as they
/// are needed (<see cref="Crypt.EncryptedObjectStore"/>'s ciphertext). Every part is hashed before it is
/// sent: its SHA-256 signs the request and its MD5 goes as Content-MD5 and is checked against the ETag.
/// </summary>
internal abstract class UploadContent : IDisposable
{
    /// <summary>The local file the content comes from (for messages and the change check).</summary>
    public string Path { get; }

    /// <summary>The local file's size when this began (what the parts are made from).</summary>
    protected long FileLength { get; }

    private readonly FileVersion _version;

    protected UploadContent(string path)
    {
        Path = path;
        var info = new FileInfo(path);
        _version = new FileVersion(info.Length, info.LastWriteTimeUtc);
        FileLength = _version.Size;
    }

    /// <summary>Bytes the upload sends.</summary>
    public abstract long Length { get; }

    /// <summary>
    /// Part <paramref name="index"/> (0-based) of a multipart upload in parts of <paramref name="partSize"/>
    /// bytes, hashed, with a body that sends it; dispose it once the part is stored.
    /// </summary>
    public abstract Task<UploadPart> ReadPartAsync(int index, long partSize, BandwidthLimiter? limiter, Action<long>? progress, CancellationToken cancellationToken);

    /// <summary>
    /// The MD5 of part <paramref name="index"/> without sending it, to recognize a part an interrupted upload
    /// already stored; null when the content cannot be made again alike.
    /// </summary>
    public abstract Task<byte[]?> PartMd5ForResumeAsync(int index, long partSize, CancellationToken cancellationToken);

    /// <summary>
    /// Before a multipart upload is completed: throws ContentChanged when the parts sent (and kept) are not,
    /// together, the content whose SHA-256 is <paramref name="sha256"/> (null: nothing to check).
    /// </summary>
    public virtual Task VerifyAsync(string? sha256, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Size of part <paramref name="index"/>.</summary>
    protected long SizeOf(int index, long partSize) => Math.Min(partSize, Length - (index * partSize));

    /// <summary>True when the local file's size or last-write time is no longer what it was when this began.</summary>
    public bool FileChanged() => !_version.IsCurrentAt(Path);

    public virtual void Dispose()
    {
    }
}

/// <summary>One part ready to send: its hashes and its body.</summary>
internal sealed class UploadPart : IDisposable
{
    private readonly Action? _release;

    public UploadPart(byte[] md5, string sha256, Stream body, Action? release = null)
    {
        Md5 = md5;
        Sha256 = sha256;
        Body = body;
        _release = release;
    }

    public byte[] Md5 { get; }

    /// <summary>Lower-case hex.</summary>
    public string Sha256 { get; }

    public Stream Body { get; }

    public void Dispose()
    {
        Body.Dispose();
        _release?.Invoke();
    }
}

/// <summary>
/// A file sent as it is, streamed from disk (constant memory). A part's MD5 and SHA-256 go with it, so the
/// store stores only bytes that were hashed. They come from the read that hashed the whole file for the
/// caller when the caller kept them (<see cref="PartHashes"/> of this part size): the send is then the only
/// read of the file here. Otherwise one sequential read of the file, ahead of the transfers, hashes the
/// parts and the whole file, and the upload completes only when the whole file so hashed is the content the
/// caller hashed, so a file rewritten in place between the caller's hashing and the upload (size and time
/// unchanged) never becomes an object labelled with the other content's SHA-256.
/// </summary>
internal sealed class FileUploadContent : UploadContent
{
    private const int ReadBuffer = 1024 * 1024;

    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private readonly PartHashes? _known;
    private readonly Func<string, Stream> _open;
    private TaskCompletionSource<(byte[] Md5, string Sha256)>[]? _parts;
    private Task<string>? _whole;

    /// <param name="path">The file.</param>
    /// <param name="known">The hashes of its parts, made by the read that made the SHA-256 the upload is labelled with; null when not known.</param>
    /// <param name="open">Opens the file for reading (<see cref="OpenRead"/>; tests count the reads through it).</param>
    public FileUploadContent(string path, PartHashes? known, Func<string, Stream> open) : base(path)
    {
        Length = FileLength;
        _known = known;
        _open = open;
    }

    public override long Length { get; }

    /// <summary>Opens a file to read it once from start to end, or a window of it.</summary>
    public static Stream OpenRead(string path) =>
        new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.SequentialScan);

    public override async Task<UploadPart> ReadPartAsync(int index, long partSize, BandwidthLimiter? limiter, Action<long>? progress, CancellationToken cancellationToken)
    {
        var (md5, sha256) = await PartHashAsync(index, partSize, cancellationToken).ConfigureAwait(false);
        return new UploadPart(md5, sha256, Body(index * partSize, SizeOf(index, partSize), limiter, progress, cancellationToken));
    }

    /// <summary>A body that sends <paramref name="size"/> bytes of the file from <paramref name="offset"/>.</summary>
    public UploadBodyStream Body(long offset, long size, BandwidthLimiter? limiter, Action<long>? progress, CancellationToken cancellationToken) =>
        new(_open(Path), offset, size, limiter, progress, cancellationToken);

    public override async Task<byte[]?> PartMd5ForResumeAsync(int index, long partSize, CancellationToken cancellationToken) =>
        (await PartHashAsync(index, partSize, cancellationToken).ConfigureAwait(false)).Md5;

    public override async Task VerifyAsync(string? sha256, CancellationToken cancellationToken)
    {
        if (sha256 is null || _whole is null)
        {
            return;
        }

        var whole = await _whole.ConfigureAwait(false);
        if (!string.Equals(whole, sha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new ObjectStoreException($"'{Path}' is no longer the content that was hashed (SHA-256 {whole}, not {sha256}); the upload is not completed and the file will be sent again next time.", Path, "ContentChanged");
        }
    }

    /// <summary>MD5 and SHA-256 of one window of the file, in one read.</summary>
    public (byte[] Md5, string Sha256) Hash(long offset, long size, CancellationToken cancellationToken)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var file = Open();
        file.Position = offset;
        Read(file, size, cancellationToken, (buffer, count) =>
        {
            md5.AppendData(buffer, 0, count);
            sha.AppendData(buffer, 0, count);
        });
        return (md5.GetHashAndReset(), ContentHasher.ToHex(sha.GetHashAndReset()));
    }

    public override void Dispose()
    {
        // The hashing read stops at its next buffer; it owns its file handle.
        _stop.Cancel();
    }

    private async Task<(byte[] Md5, string Sha256)> PartHashAsync(int index, long partSize, CancellationToken cancellationToken)
    {
        if (_known is not null && _known.Fit(Length, partSize))
        {
            return (_known.Md5(index), _known.Sha256(index));
        }

        TaskCompletionSource<(byte[] Md5, string Sha256)>[] parts;
        lock (_gate)
        {
            if (_parts is null)
            {
                var count = (int)((Length + partSize - 1) / partSize);
                _parts = new TaskCompletionSource<(byte[] Md5, string Sha256)>[count];
                for (var i = 0; i < count; i++)
                {
                    _parts[i] = new TaskCompletionSource<(byte[] Md5, string Sha256)>(TaskCreationOptions.RunContinuationsAsynchronously);
                }

                var all = _parts;
                _whole = Task.Run(() => HashInOrder(all, partSize, _stop.Token));
            }

            parts = _parts;
        }

        var hashed = parts[index].Task;
        if (!hashed.IsCompleted)
        {
            var waiting = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            using (cancellationToken.Register(() => waiting.TrySetCanceled()))
            {
                await Task.WhenAny(hashed, waiting.Task).ConfigureAwait(false);
            }

            cancellationToken.ThrowIfCancellationRequested();
        }

        return await hashed.ConfigureAwait(false);
    }

    // One read of the whole file in order: each part's MD5 and SHA-256 as soon as its last byte is read, and
    // the SHA-256 of everything read. A failure fails every part not yet hashed.
    private string HashInOrder(TaskCompletionSource<(byte[] Md5, string Sha256)>[] parts, long partSize, CancellationToken cancellationToken)
    {
        var index = 0;
        try
        {
            using var whole = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
            using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            using var file = Open();
            for (; index < parts.Length; index++)
            {
                Read(file, SizeOf(index, partSize), cancellationToken, (buffer, count) =>
                {
                    whole.AppendData(buffer, 0, count);
                    md5.AppendData(buffer, 0, count);
                    sha.AppendData(buffer, 0, count);
                });
                parts[index].TrySetResult((md5.GetHashAndReset(), ContentHasher.ToHex(sha.GetHashAndReset())));
            }

            return ContentHasher.ToHex(whole.GetHashAndReset());
        }
        catch (Exception ex)
        {
            for (; index < parts.Length; index++)
            {
                parts[index].TrySetException(ex);
            }

            throw;
        }
    }

    private Stream Open() => _open(Path);

    private void Read(Stream file, long size, CancellationToken cancellationToken, Action<byte[], int> consume)
    {
        var chunk = (int)Math.Min(ReadBuffer, Math.Max(size, 1));
        var buffer = ArrayPool<byte>.Shared.Rent(chunk);
        try
        {
            var left = size;
            while (left > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var read = file.Read(buffer, 0, (int)Math.Min(chunk, left));
                if (read == 0)
                {
                    throw new ObjectStoreException($"'{Path}' became shorter while it was being uploaded; it will be sent again next time.", Path, "ContentChanged");
                }

                consume(buffer, read);
                left -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
