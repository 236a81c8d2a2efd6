using System.Globalization;
using System.Net;
using System.Security;
using System.Text;

namespace ChittyConnect.Tests.Infrastructure;

/// <summary>
/// s3rver 3.7.1 answers ListParts, ListMultipartUploads and AbortMultipartUpload with 405 or NotImplemented.
/// This answers them as R2 does, from s3rver's own store on disk (an upload is a folder holding its key and,
/// for each part received whole, the part and its MD5): ListParts lists those parts, ListMultipartUploads
/// the folders (initiated when the folder was made), AbortMultipartUpload removes the folder.
/// </summary>
public static class S3rverMultipartShim
{
    /// <summary>The answer to <paramref name="method"/> <paramref name="pathAndQuery"/>, or null when s3rver answers it itself.</summary>
    public static (int Status, string Body)? Answer(string dataDirectory, string bucket, string method, string pathAndQuery)
    {
        var query = pathAndQuery.Contains('?') ? pathAndQuery[(pathAndQuery.IndexOf('?') + 1)..] : string.Empty;
        var parameters = query.Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('=', 2))
            .ToDictionary(p => p[0], p => p.Length > 1 ? WebUtility.UrlDecode(p[1]) : string.Empty, StringComparer.Ordinal);
        if (method == "GET" && parameters.ContainsKey("uploads"))
        {
            return ListUploads(dataDirectory, bucket, parameters.TryGetValue("prefix", out var prefix) ? prefix : string.Empty);
        }

        if (!parameters.TryGetValue("uploadId", out var uploadId) || parameters.ContainsKey("partNumber"))
        {
            return null;
        }

        var folder = Path.Combine(dataDirectory, bucket, "._S3rver_uploads", uploadId);
        if (method is not ("GET" or "DELETE"))
        {
            return null;
        }

        if (!Directory.Exists(folder))
        {
            return (404, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>");
        }

        if (method == "DELETE")
        {
            Directory.Delete(folder, recursive: true);
            return (204, string.Empty);
        }

        var xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListPartsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        xml.Append("<Bucket>").Append(SecurityElement.Escape(bucket)).Append("</Bucket><Key>")
            .Append(SecurityElement.Escape(File.ReadAllText(Path.Combine(folder, "key")))).Append("</Key><UploadId>")
            .Append(uploadId).Append("</UploadId><MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated>");
        var parts = Directory.GetFiles(folder, "*.md5")
            .Select(f => (Number: int.Parse(Path.GetFileNameWithoutExtension(f), CultureInfo.InvariantCulture), Md5: File.ReadAllText(f).Trim(), Part: f[..^4]))
            .Where(p => File.Exists(p.Part))
            .OrderBy(p => p.Number);
        foreach (var (number, md5, part) in parts)
        {
            xml.Append("<Part><PartNumber>").Append(number).Append("</PartNumber><LastModified>")
                .Append(File.GetLastWriteTimeUtc(part).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture))
                .Append("</LastModified><ETag>\"").Append(md5).Append("\"</ETag><Size>").Append(new FileInfo(part).Length).Append("</Size></Part>");
        }

        return (200, xml.Append("</ListPartsResult>").ToString());
    }

    private static (int Status, string Body) ListUploads(string dataDirectory, string bucket, string prefix)
    {
        var folder = Path.Combine(dataDirectory, bucket, "._S3rver_uploads");
        var xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        xml.Append("<Bucket>").Append(SecurityElement.Escape(bucket)).Append("</Bucket><Prefix>").Append(SecurityElement.Escape(prefix))
            .Append("</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>");
        var uploads = Directory.Exists(folder) ? Directory.GetDirectories(folder) : Array.Empty<string>();
        foreach (var upload in uploads.Where(d => File.Exists(Path.Combine(d, "key"))).OrderBy(d => d, StringComparer.Ordinal))
        {
            var key = File.ReadAllText(Path.Combine(upload, "key"));
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            xml.Append("<Upload><Key>").Append(SecurityElement.Escape(key)).Append("</Key><UploadId>").Append(Path.GetFileName(upload))
                .Append("</UploadId><Initiated>").Append(Directory.GetCreationTimeUtc(upload).ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture))
                .Append("</Initiated><StorageClass>STANDARD</StorageClass></Upload>");
        }

        return (200, xml.Append("</ListMultipartUploadsResult>").ToString());
    }
}

/// <summary>Puts <see cref="S3rverMultipartShim"/> in front of s3rver for an in-process client.</summary>
public sealed class S3rverMultipartShimHandler : DelegatingHandler
{
    private readonly S3rverProcess _s3rver;

    public S3rverMultipartShimHandler(S3rverProcess s3rver, HttpMessageHandler inner) : base(inner) => _s3rver = s3rver;

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (S3rverMultipartShim.Answer(_s3rver.DataDirectory, _s3rver.Bucket, request.Method.Method, request.RequestUri!.PathAndQuery) is not { } answer)
        {
            return base.SendAsync(request, cancellationToken);
        }

        return Task.FromResult(new HttpResponseMessage((HttpStatusCode)answer.Status)
        {
            Content = new StringContent(answer.Body, Encoding.UTF8, "application/xml"),
        });
    }
}
