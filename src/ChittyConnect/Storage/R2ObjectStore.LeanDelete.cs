using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using System.Xml;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

// DeleteObjects without the AWS SDK: a sync that removes files stays off the SDK too.
public sealed partial class R2ObjectStore
{
    private const int DeleteBatch = 1000;

    /// <summary>
    /// Deletes <paramref name="keys"/> in batches of 1,000 (quiet mode). Returns the keys the store refused;
    /// throws <see cref="ObjectStoreException"/> when a whole batch fails.
    /// </summary>
    public async Task<IReadOnlyList<DeleteFailure>> DeleteAsync(IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var failures = new List<DeleteFailure>();
        for (var offset = 0; offset < keys.Count; offset += DeleteBatch)
        {
            var batch = keys.Skip(offset).Take(DeleteBatch).ToList();
            failures.AddRange(await DeleteBatchAsync(batch, cancellationToken).ConfigureAwait(false));
        }

        return failures;
    }

    private Task<List<DeleteFailure>> DeleteBatchAsync(IReadOnlyList<string> batch, CancellationToken cancellationToken)
    {
        var body = DeleteRequestBody(batch);
        byte[] md5;
        using (var m = MD5.Create())
        {
            md5 = m.ComputeHash(body);
        }

        var sha = ContentHasher.Sha256(new ArraySegment<byte>(body));

        var target = batch.Count == 1 ? batch[0] : batch.Count.ToString(CultureInfo.InvariantCulture) + " keys";
        var request = new LeanRequest(HttpMethod.Post, "DELETE", target, "/" + SigV4Signer.UriEncode(Bucket, keepSlash: false), Requests.AddDelete)
        {
            Query = "delete=",
            PayloadSha256 = sha,
            Headers = new[]
            {
                Header("content-length", body.Length.ToString(CultureInfo.InvariantCulture)),
                // DeleteObjects requires it: the store checks the list of keys it is about to delete.
                Header("content-md5", Convert.ToBase64String(md5)),
                Header("content-type", "application/xml"),
            },
            Content = () =>
            {
                var content = new ByteArrayContent(body);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/xml");
                content.Headers.ContentMD5 = md5;
                return content;
            },
        };
        return SendLeanAsync(request, async (response, token) => ParseDeleteResult(await ReadXmlAsync(response, token).ConfigureAwait(false)), cancellationToken);
    }

    internal static byte[] DeleteRequestBody(IReadOnlyList<string> keys)
    {
        using var buffer = new MemoryStream();
        var settings = new XmlWriterSettings { Encoding = new UTF8Encoding(false), OmitXmlDeclaration = false };
        using (var writer = XmlWriter.Create(buffer, settings))
        {
            writer.WriteStartElement("Delete", "http://s3.amazonaws.com/doc/2006-03-01/");
            writer.WriteElementString("Quiet", "true");
            foreach (var key in keys)
            {
                writer.WriteStartElement("Object");
                writer.WriteElementString("Key", key);
                writer.WriteEndElement();
            }

            writer.WriteEndElement();
        }

        return buffer.ToArray();
    }

    // A DeleteResult lists, in quiet mode, only the keys that were not deleted.
    internal static List<DeleteFailure> ParseDeleteResult(byte[] xml)
    {
        var failures = new List<DeleteFailure>();
        using var reader = XmlReader.Create(new MemoryStream(xml), s_xml);
        reader.MoveToContent();
        if (reader.LocalName != "DeleteResult")
        {
            throw new XmlException($"Expected a DeleteResult, not <{reader.LocalName}>.");
        }

        while (reader.Read())
        {
            if (reader.NodeType != XmlNodeType.Element || reader.LocalName != "Error" || reader.Depth != 1)
            {
                continue;
            }

            string? key = null, code = null, message = null;
            using (var error = reader.ReadSubtree())
            {
                error.Read();
                while (!error.EOF)
                {
                    // Reading an element's content moves past it, onto the next node: no Read() after it.
                    if (error.NodeType == XmlNodeType.Element && error.Depth == 1)
                    {
                        switch (error.LocalName)
                        {
                            case "Key":
                                key = error.ReadElementContentAsString();
                                continue;
                            case "Code":
                                code = error.ReadElementContentAsString();
                                continue;
                            case "Message":
                                message = error.ReadElementContentAsString();
                                continue;
                            default:
                                error.Skip();
                                continue;
                        }
                    }

                    error.Read();
                }
            }

            if (key is not null)
            {
                failures.Add(new DeleteFailure(key, code ?? "Error", message ?? code ?? "not deleted"));
            }
        }

        return failures;
    }
}
