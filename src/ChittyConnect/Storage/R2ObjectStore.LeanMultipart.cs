using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using System.Xml;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

// The requests of a multipart upload without the AWS SDK. Each part is read twice: once to hash it (MD5 for
// Content-MD5 and the ETag check, SHA-256 to sign the payload), once to send it, straight from the file in
// constant memory. The SDK over plain HTTP read each part three times and hashed it twice.
public sealed partial class R2ObjectStore
{
    private const int PartReadBuffer = 1024 * 1024;

    private Task<string> CreateMultipartAsync(string key, string sha256, DateTimeOffset modified, CancellationToken cancellationToken)
    {
        var request = new LeanRequest(HttpMethod.Post, "MULTIPART-CREATE", key, SigV4Signer.EncodePath(Bucket, key), Requests.AddMultipart)
        {
            Query = "uploads=",
            Headers = new[]
            {
                Header("content-type", "application/octet-stream"),
                Header("x-amz-meta-" + Sha256MetadataKey, sha256),
                Header("x-amz-meta-" + MtimeMetadataKey, modified.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)),
            },
            // A POST without a body still says what type its object will have.
            Content = () =>
            {
                var content = new ByteArrayContent(Array.Empty<byte>());
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                return content;
            },
        };
        return SendLeanAsync(request, async (response, token) =>
        {
            var xml = await ReadXmlAsync(response, token).ConfigureAwait(false);
            var uploadId = ReadElement(xml, "InitiateMultipartUploadResult", "UploadId");
            return string.IsNullOrEmpty(uploadId) ? throw new XmlException("The answer has no UploadId.") : uploadId!;
        }, cancellationToken);
    }

    private async Task<(string ETag, string Md5)> LeanUploadPartAsync(string path, string key, string uploadId, int number, long offset, long size,
        Action<long>? progress, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (md5, sha256) = HashSegment(path, offset, size, cancellationToken);
            var md5Hex = ContentHasher.ToHex(md5);
            var sent = new SentBytes(progress);
            var query = "partNumber=" + number.ToString(CultureInfo.InvariantCulture) + "&uploadId=" + SigV4Signer.UriEncode(uploadId, keepSlash: false);
            var request = new LeanRequest(HttpMethod.Put, "PART " + number.ToString(CultureInfo.InvariantCulture), key, SigV4Signer.EncodePath(Bucket, key), Requests.AddMultipart)
            {
                Query = query,
                PayloadSha256 = sha256,
                Headers = new[]
                {
                    Header("content-length", size.ToString(CultureInfo.InvariantCulture)),
                    Header("content-md5", Convert.ToBase64String(md5)),
                },
                Content = () =>
                {
                    var content = new FileSegmentContent(path, offset, size, _limiter, sent);
                    content.Headers.ContentLength = size;
                    content.Headers.ContentMD5 = md5;
                    return content;
                },
            };
            var etag = await SendLeanAsync(request, (response, _) => Task.FromResult(ETagOf(response)), cancellationToken).ConfigureAwait(false);
            if (etag != md5Hex)
            {
                throw new ObjectStoreException($"'{key}' part {number}: the store answered ETag {etag}, not the MD5 {md5Hex} of the bytes sent.", key, "ETagMismatch");
            }

            return (etag, md5Hex);
        }
        finally
        {
            _slots.Release();
        }
    }

    private Task<string> CompleteMultipartAsync(string key, string uploadId, IReadOnlyList<string> etags, CancellationToken cancellationToken)
    {
        var xml = new StringBuilder(64 + etags.Count * 90).Append("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        for (var i = 0; i < etags.Count; i++)
        {
            xml.Append("<Part><PartNumber>").Append((i + 1).ToString(CultureInfo.InvariantCulture))
                .Append("</PartNumber><ETag>\"").Append(etags[i]).Append("\"</ETag></Part>");
        }

        var body = Encoding.UTF8.GetBytes(xml.Append("</CompleteMultipartUpload>").ToString());
        var bodySha = ContentHasher.Sha256(new ArraySegment<byte>(body));

        var request = new LeanRequest(HttpMethod.Post, "MULTIPART-COMPLETE", key, SigV4Signer.EncodePath(Bucket, key), Requests.AddMultipart)
        {
            Query = "uploadId=" + SigV4Signer.UriEncode(uploadId, keepSlash: false),
            PayloadSha256 = bodySha,
            Headers = new[]
            {
                Header("content-length", body.Length.ToString(CultureInfo.InvariantCulture)),
                Header("content-type", "application/xml"),
            },
            Content = () =>
            {
                var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/xml");
                return content;
            },
        };
        return SendLeanAsync(request, async (response, token) =>
        {
            // S3 may answer 200 and still fail: the error then is the body, sent after the headers.
            var answer = await ReadXmlAsync(response, token).ConfigureAwait(false);
            var code = ReadElement(answer, "Error", "Code");
            if (code is not null)
            {
                var message = ReadElement(answer, "Error", "Message") ?? code;
                var failure = new ObjectStoreException($"S3 MULTIPART-COMPLETE '{key}' failed: {code}: {message}", key, code, (int)response.StatusCode);
                throw IsRetryable(500, code) ? new IOException(failure.Message, failure) : failure;
            }

            var etag = ReadElement(answer, "CompleteMultipartUploadResult", "ETag");
            return etag is null ? throw new XmlException("The answer has no ETag.") : NormalizeETag(etag);
        }, cancellationToken);
    }

    private static string ETagOf(HttpResponseMessage response) => NormalizeETag(
        response.Headers.ETag?.Tag ?? (response.Headers.TryGetValues("ETag", out var values) ? string.Join(",", values) : null));

    // MD5 and SHA-256 of one window of a file, in one read.
    private static (byte[] Md5, string Sha256) HashSegment(string path, long offset, long size, CancellationToken cancellationToken)
    {
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.SequentialScan);
        file.Position = offset;
        var chunk = (int)Math.Min(PartReadBuffer, Math.Max(size, 1));
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
                    throw new ObjectStoreException($"'{path}' became shorter while it was being uploaded; it will be sent again next time.", path, "ContentChanged");
                }

                md5.AppendData(buffer, 0, read);
                sha.AppendData(buffer, 0, read);
                left -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return (md5.GetHashAndReset(), ContentHasher.ToHex(sha.GetHashAndReset()));
    }

    private static async Task<byte[]> ReadXmlAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        using (var body = await response.Content.ReadAsStreamAsync().ConfigureAwait(false))
        {
            await body.CopyToAsync(buffer, 81920, cancellationToken).ConfigureAwait(false);
        }

        return buffer.ToArray();
    }

    // The text of the first <root><name> in a small XML answer; null when the root is another element or has no
    // such child. A body that is not XML throws XmlException (retried as a cut-off answer).
    private static string? ReadElement(byte[] xml, string root, string name)
    {
        using var reader = XmlReader.Create(new MemoryStream(xml), s_xml);
        reader.MoveToContent();
        if (reader.LocalName != root)
        {
            return null;
        }

        var depth = reader.Depth;
        while (reader.Read())
        {
            if (reader.NodeType == XmlNodeType.Element && reader.Depth == depth + 1 && reader.LocalName == name)
            {
                return reader.ReadElementContentAsString();
            }
        }

        return null;
    }

    // One window of a file as a request body, read as it is sent, in limiter-sized chunks when a limit applies.
    private sealed class FileSegmentContent : HttpContent
    {
        private readonly string _path;
        private readonly long _offset;
        private readonly long _length;
        private readonly BandwidthLimiter? _limiter;
        private readonly SentBytes _sent;

        public FileSegmentContent(string path, long offset, long length, BandwidthLimiter? limiter, SentBytes sent)
        {
            _path = path;
            _offset = offset;
            _length = length;
            _limiter = limiter;
            _sent = sent;
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            using var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.SequentialScan);
            file.Position = _offset;
            var size = _limiter is null ? (int)Math.Min(PartReadBuffer, Math.Max(_length, 1)) : BandwidthLimiter.MaxChunk;
            var buffer = ArrayPool<byte>.Shared.Rent(size);
            try
            {
                await CopyAsync(file, stream, buffer, size).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        private async Task CopyAsync(FileStream file, Stream stream, byte[] buffer, int size)
        {
            var done = 0L;
            while (done < _length)
            {
                var count = (int)Math.Min(size, _length - done);
                var read = file.Read(buffer, 0, count);
                if (read == 0)
                {
                    throw new IOException("The file became shorter while it was being uploaded.");
                }

                if (_limiter is not null)
                {
                    await _limiter.WaitAsync(read, CancellationToken.None).ConfigureAwait(false);
                }

                await stream.WriteAsync(buffer, 0, read).ConfigureAwait(false);
                done += read;
                _sent.Reached(done);
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return true;
        }
    }
}
