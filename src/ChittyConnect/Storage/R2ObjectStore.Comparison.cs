using System;
using System.Buffers;
using System.IO;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;
using Amazon.S3.Model;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

// Whether an object holds given content, from the cheapest evidence that settles it: the ETag of a single
// PUT, else the sha256 or md5chksum metadata a HEAD reads, else the content itself, read and compared.
public sealed partial class R2ObjectStore
{
    /// <summary>
    /// Whether <paramref name="remote"/> (as listed) holds the content of the local file <paramref name="path"/>;
    /// <paramref name="hashes"/> are the file's when already known (a missing MD5 or the whole of them are read
    /// from the file when needed).
    /// </summary>
    public Task<ContentComparison> CompareAsync(RemoteObject remote, string path, ContentHashes? hashes, CancellationToken cancellationToken)
    {
        if (remote is null)
        {
            throw new ArgumentNullException(nameof(remote));
        }

        var known = hashes is { } h && h.Md5.Length > 0 ? h : (ContentHashes?)null;
        return CompareAsync(remote, () => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan),
            known, cancellationToken);
    }

    /// <summary>
    /// Whether <paramref name="remote"/> holds exactly the bytes <paramref name="openExpected"/> gives (of the
    /// object's listed size; any other length is a difference). <paramref name="known"/>: their hashes when
    /// known, else they are hashed once if a hash of the object can settle it.
    /// </summary>
    internal async Task<ContentComparison> CompareAsync(RemoteObject remote, Func<Stream> openExpected, ContentHashes? known, CancellationToken cancellationToken)
    {
        var result = new ContentComparison();
        if (!remote.IsMultipartETag && remote.ETag.Length == 32)
        {
            var md5 = known?.Md5 ?? (await HashExpectedAsync(openExpected, result, cancellationToken).ConfigureAwait(false)).Md5;
            result.Same = md5 == remote.ETag;
            result.By = ComparedBy.ETag;
            return result;
        }

        var info = await HeadAsync(remote.Key, cancellationToken).ConfigureAwait(false);
        if (info is null || info.Size != remote.Size)
        {
            // Gone or replaced since the listing: the plan's version of it is not this content.
            result.By = ComparedBy.Changed;
            return result;
        }

        if (info.Sha256 is not null || info.ContentMd5 is not null)
        {
            var hashes = known ?? await HashExpectedAsync(openExpected, result, cancellationToken).ConfigureAwait(false);
            result.Same = info.Sha256 is not null ? info.Sha256 == hashes.Sha256 : info.ContentMd5 == hashes.Md5;
            result.By = info.Sha256 is not null ? ComparedBy.Sha256 : ComparedBy.Md5Checksum;
            return result;
        }

        result.By = ComparedBy.Content;
        result.Same = await SameBytesAsync(remote, openExpected, result, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Reads <paramref name="count"/> bytes of <paramref name="key"/> from <paramref name="offset"/> (one ranged
    /// GET); fewer when the object is shorter.
    /// </summary>
    internal async Task<byte[]> ReadRangeAsync(string key, long offset, int count, CancellationToken cancellationToken)
    {
        var slot = await _window.EnterAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var request = new GetObjectRequest { BucketName = Bucket, Key = key, ByteRange = new ByteRange(offset, offset + count - 1) };
            using var response = await _s3.CallAsync("GET", key, Requests.AddGet, () => S3.GetObjectAsync(request, cancellationToken), cancellationToken, _window.Throttled).ConfigureAwait(false);
            var buffer = new byte[count];
            var filled = await ReadFullyAsync(response.ResponseStream, buffer, count, key, cancellationToken).ConfigureAwait(false);
            if (filled < count)
            {
                Array.Resize(ref buffer, filled);
            }

            return buffer;
        }
        finally
        {
            _window.Exit(slot);
        }
    }

    private static async Task<ContentHashes> HashExpectedAsync(Func<Stream> openExpected, ContentComparison result, CancellationToken cancellationToken)
    {
        using var stream = openExpected();
        var hashes = await ContentHasher.HashStreamAsync(stream, cancellationToken).ConfigureAwait(false);
        result.LocalBytesRead += hashes.Length;
        return hashes;
    }

    // The object's bytes against the expected ones, a buffer at a time; stops at the first difference.
    private async Task<bool> SameBytesAsync(RemoteObject remote, Func<Stream> openExpected, ContentComparison result, CancellationToken cancellationToken)
    {
        var slot = await _window.EnterAsync(cancellationToken).ConfigureAwait(false);
        var theirs = ArrayPool<byte>.Shared.Rent(81920);
        var ours = ArrayPool<byte>.Shared.Rent(81920);
        try
        {
            using var expected = openExpected();
            using var response = await _s3.CallAsync("GET", remote.Key, Requests.AddGet,
                () => S3.GetObjectAsync(new GetObjectRequest { BucketName = Bucket, Key = remote.Key }, cancellationToken), cancellationToken, _window.Throttled).ConfigureAwait(false);
            using var body = response.ResponseStream;
            while (true)
            {
                if (_limiter is not null)
                {
                    await _limiter.WaitAsync(BandwidthLimiter.MaxChunk, cancellationToken).ConfigureAwait(false);
                }

                var want = _limiter is null ? theirs.Length : BandwidthLimiter.MaxChunk;
                var read = await ReadFullyAsync(body, theirs, want, remote.Key, cancellationToken).ConfigureAwait(false);
                result.RemoteBytesRead += read;
                var local = await ReadFullyAsync(expected, ours, read == 0 ? 1 : read, remoteKey: null, cancellationToken).ConfigureAwait(false);
                result.LocalBytesRead += local;
                if (local != read || !theirs.AsSpan(0, read).SequenceEqual(ours.AsSpan(0, read)))
                {
                    return false;
                }

                if (read == 0)
                {
                    return true;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(theirs);
            ArrayPool<byte>.Shared.Return(ours);
            _window.Exit(slot);
        }
    }

    // A read of the object (remoteKey given) that breaks off is the store's failure; a local read's is the file's.
    private static async Task<int> ReadFullyAsync(Stream stream, byte[] buffer, int count, string? remoteKey, CancellationToken cancellationToken)
    {
        var filled = 0;
        try
        {
            while (filled < count)
            {
                var read = await stream.ReadAsync(buffer, filled, count - filled, cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                filled += read;
            }
        }
        catch (Exception ex) when (remoteKey is not null && ex is HttpRequestException or IOException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
        {
            var code = ex is IdleTimeoutException ? "Timeout" : "NetworkError";
            throw new ObjectStoreException($"Reading '{remoteKey}' broke off: {ex.Message}", remoteKey, code, 0, ex);
        }

        return filled;
    }
}
