using System;
using System.Buffers;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Hashing;
using ChittyConnect.Storage;

namespace ChittyConnect.Crypt;

/// <summary>
/// A file's rclone crypt ciphertext as upload content (the parts of a multipart upload, or the whole of a
/// small file as the one part of a PUT), made a part at a time when the part is about to be sent: encrypted into memory (parts in parallel on the thread pool, so on every core), hashed, and sent
/// from there, so no ciphertext reaches the disk and each byte is encrypted once. At most
/// <c>partsInMemory</c> parts are held at once, whatever the number of transfers. Every part comes from
/// the one nonce drawn for this upload; a later run draws another, so an interrupted upload starts afresh.
/// </summary>
internal sealed class EncryptedUploadContent : UploadContent
{
    private readonly RcloneCryptKey _key;
    private readonly byte[] _nonce = RcloneEncryptingStream.NewNonce();
    private readonly SemaphoreSlim _memory;

    public EncryptedUploadContent(string path, RcloneCryptKey key, int partsInMemory) : base(path)
    {
        _key = key;
        _memory = new SemaphoreSlim(Math.Max(1, partsInMemory));
        Length = RcloneCryptFormat.EncryptedSize(FileLength);
    }

    public override long Length { get; }

    public override async Task<UploadPart> ReadPartAsync(int index, long partSize, BandwidthLimiter? limiter, Action<long>? progress, CancellationToken cancellationToken)
    {
        var (offset, size) = (index * partSize, SizeOf(index, partSize));
        await _memory.WaitAsync(cancellationToken).ConfigureAwait(false);
        var buffer = ArrayPool<byte>.Shared.Rent((int)size);
        try
        {
            var (md5, sha256) = await Task.Run(() => Encrypt(offset, (int)size, buffer, cancellationToken), cancellationToken).ConfigureAwait(false);
            var body = new UploadBodyStream(buffer, (int)size, limiter, progress, cancellationToken);
            return new UploadPart(md5, sha256, body, () =>
            {
                ArrayPool<byte>.Shared.Return(buffer);
                _memory.Release();
            });
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            _memory.Release();
            throw;
        }
    }

    public override Task<byte[]?> PartMd5ForResumeAsync(int index, long partSize, CancellationToken cancellationToken) => Task.FromResult<byte[]?>(null);

    public override void Dispose() => _memory.Dispose();

    private (byte[] Md5, string Sha256) Encrypt(long offset, int size, byte[] buffer, CancellationToken cancellationToken)
    {
        using (var file = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.SequentialScan))
        using (var encrypting = new RcloneEncryptingStream(file, _key, _nonce))
        {
            var filled = encrypting.ReadAt(offset, buffer, size);
            cancellationToken.ThrowIfCancellationRequested();
            if (filled != size)
            {
                throw new ObjectStoreException($"'{Path}' became shorter while it was being encrypted; it will be sent again next time.", Path, "ContentChanged");
            }
        }

        using var md5 = MD5.Create();
        using var sha = SHA256.Create();
        return (md5.ComputeHash(buffer, 0, size), ContentHasher.ToHex(sha.ComputeHash(buffer, 0, size)));
    }
}
