using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3.Model;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

// One request of every kind a sync makes, through the store's own code for it, for S3Warmup: a store over
// answers made in memory runs this once, so that the first real requests of a session find that code compiled.
public sealed partial class R2ObjectStore
{
    /// <summary>
    /// Lists, reads the metadata of, downloads, puts, uploads in two parts and deletes one small object under
    /// <paramref name="prefix"/>, and aborts one multipart upload. Meant for a store over
    /// <see cref="S3Warmup"/>'s answers: against a real one it would write and delete objects there.
    /// </summary>
    internal async Task WarmUpAsync(string prefix, CancellationToken cancellationToken)
    {
        var key = prefix + "object";
        await ListAsync(prefix, cancellationToken).ConfigureAwait(false);
        await HeadAsync(key, cancellationToken).ConfigureAwait(false);
        await DownloadAsync(key, Stream.Null, progress: null, cancellationToken).ConfigureAwait(false);

        var bytes = new byte[4096];
        var hashes = await ContentHasher.HashStreamAsync(new MemoryStream(bytes), cancellationToken).ConfigureAwait(false);
        var md5 = ContentHasher.FromHex(hashes.Md5);
        using (var body = new UploadBodyStream(bytes, bytes.Length, limiter: null, progress: null, cancellationToken))
        {
            await SendPutAsync(key, body, bytes.Length, md5, hashes.Sha256, hashes.Sha256, DateTimeOffset.UtcNow, condition: null, cancellationToken).ConfigureAwait(false);
        }

        var uploadId = await CreateMultipartAsync(key, hashes.Sha256, hashes.Md5, DateTimeOffset.UtcNow, keep: null, condition: null, cancellationToken).ConfigureAwait(false);
        var etags = new string[2];
        for (var i = 0; i < etags.Length; i++)
        {
            using var body = new UploadBodyStream(bytes, bytes.Length, limiter: null, progress: null, cancellationToken);
            etags[i] = await SendPartAsync(key, uploadId, i + 1, body, bytes.Length, md5, hashes.Sha256, cancellationToken).ConfigureAwait(false);
        }

        var complete = new CompleteMultipartUploadRequest
        {
            BucketName = Bucket,
            Key = key,
            UploadId = uploadId,
            PartETags = new() { new PartETag(1, Quoted(etags[0])), new PartETag(2, Quoted(etags[1])) },
        };
        await CompleteAsync(complete, MultipartETag(etags), condition: null, cancellationToken).ConfigureAwait(false);
        await AbortUploadAsync(key, uploadId, cancellationToken).ConfigureAwait(false);
        await DeleteAsync(new[] { key }, cancellationToken).ConfigureAwait(false);
    }
}
