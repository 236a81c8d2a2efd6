using System;
using System.Globalization;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

// The single PUT: streamed from the file, signed with its SHA-256 (see R2ObjectStore.Lean.cs).
public sealed partial class R2ObjectStore
{
    /// <summary>True when a key has a "." or ".." segment, which System.Uri would fold into another key.</summary>
    internal static bool HasDotSegment(string key)
    {
        foreach (var segment in key.Split('/'))
        {
            if (segment is "." or "..")
            {
                return true;
            }
        }

        return false;
    }

    // A file streamed from disk in one read (after one hashing read when the caller has no MD5). The payload is
    // signed with the SHA-256 the caller hashed and carries its MD5, so R2 refuses content that is not what was
    // hashed, and the ETag (the MD5 of what the store received) is checked against it here as well.
    private async Task<UploadResult> StreamPutAsync(string path, string key, long length, string sha256, string? md5, DateTimeOffset modified,
        Action<long>? progress, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            byte[] md5Bytes;
            if (md5 is null)
            {
                var (hashedMd5, hashedSha) = HashSegment(path, 0, length, cancellationToken);
                if (hashedSha != sha256)
                {
                    throw new ObjectStoreException($"'{path}' changed after it was hashed; it will be sent again next time.", key, "ContentChanged");
                }

                md5Bytes = hashedMd5;
            }
            else
            {
                md5Bytes = FromHex(md5);
            }

            var expected = ContentHasher.ToHex(md5Bytes);
            var etag = await SendPutAsync(key, length, sha256, md5Bytes, modified,
                sent => new FileSegmentContent(path, 0, length, _limiter, sent), progress, cancellationToken).ConfigureAwait(false);
            if (etag != expected)
            {
                await DiscardAsync(key).ConfigureAwait(false);
                throw new ObjectStoreException($"'{key}': the store answered ETag {etag}, not the MD5 {expected} of the file as hashed (it changed, or the transfer was corrupted); it will be sent again next time.", key, "ETagMismatch");
            }

            return new UploadResult { Key = key, ETag = etag, Size = length };
        }
        finally
        {
            _slots.Release();
        }
    }

    // Sends the PUT (retried by SendLeanAsync); returns the normalized ETag.
    private Task<string> SendPutAsync(string key, long length, string sha256, byte[] md5, DateTimeOffset modified,
        Func<SentBytes, HttpContent> body, Action<long>? progress, CancellationToken cancellationToken)
    {
        var md5Base64 = Convert.ToBase64String(md5);
        var mtime = modified.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var sent = new SentBytes(progress);
        var request = new LeanRequest(HttpMethod.Put, "PUT", key, SigV4Signer.EncodePath(Bucket, key), Requests.AddPut)
        {
            PayloadSha256 = sha256,
            Headers = new[]
            {
                Header("content-length", length.ToString(CultureInfo.InvariantCulture)),
                Header("content-md5", md5Base64),
                Header("content-type", "application/octet-stream"),
                Header("x-amz-meta-" + Sha256MetadataKey, sha256),
                Header("x-amz-meta-" + MtimeMetadataKey, mtime),
            },
            Content = () =>
            {
                var content = body(sent);
                content.Headers.ContentLength = length;
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                content.Headers.ContentMD5 = md5;
                return content;
            },
        };
        return SendLeanAsync(request, (response, _) => Task.FromResult(ETagOf(response)), cancellationToken);
    }
}
