using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net.Http;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using System.Xml;

namespace ChittyConnect.Storage;

// ListObjectsV2 without the AWS SDK: a no-op sync is one listing per 1,000 keys, so its cost is the
// listing's cost, and loading and warming up the SDK would be most of it.
public sealed partial class R2ObjectStore
{
    private static readonly XmlReaderSettings s_xml = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreComments = true,
        IgnoreWhitespace = true,
        IgnoreProcessingInstructions = true,
    };

    /// <summary>
    /// Checks that the bucket exists and these credentials may list it (one request for one key), like
    /// the guide's "rclone lsd". Throws <see cref="ObjectStoreException"/> when not.
    /// </summary>
    public async Task ProbeAsync(CancellationToken cancellationToken)
    {
        await ListPageAsync(string.Empty, null, 1, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists every object under <paramref name="prefix"/>, following all pages.</summary>
    public async Task<IReadOnlyList<RemoteObject>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var result = new List<RemoteObject>();
        string? token = null;
        do
        {
            var page = await ListPageAsync(prefix, token, 1000, cancellationToken).ConfigureAwait(false);
            result.AddRange(page.Objects);
            token = page.IsTruncated ? page.NextContinuationToken : null;
        }
        while (!string.IsNullOrEmpty(token));

        return result;
    }

    private Task<ListPage> ListPageAsync(string prefix, string? continuationToken, int maxKeys, CancellationToken cancellationToken)
    {
        // Sorted by name, as SigV4 signs them. encoding-type=url keeps keys with characters XML 1.0 cannot
        // carry intact; a store that ignores it (s3rver) says so by leaving EncodingType out of its answer.
        var query = new StringBuilder();
        if (continuationToken is not null)
        {
            query.Append("continuation-token=").Append(SigV4Signer.UriEncode(continuationToken, keepSlash: false)).Append('&');
        }

        query.Append("encoding-type=url&list-type=2&max-keys=").Append(maxKeys.ToString(CultureInfo.InvariantCulture))
            .Append("&prefix=").Append(SigV4Signer.UriEncode(prefix, keepSlash: false));
        var request = new LeanRequest(HttpMethod.Get, "LIST", prefix, "/" + SigV4Signer.UriEncode(Bucket, keepSlash: false), Requests.AddList)
        {
            Query = query.ToString(),
        };
        // The whole page first (about 250 KB per 1,000 keys): the XML reader then never blocks on the network.
        return SendLeanAsync(request, async (response, token) =>
            ParseListPage(new MemoryStream(await ReadXmlAsync(response, token).ConfigureAwait(false))), cancellationToken);
    }

    /// <summary>Reads one ListObjectsV2 answer (ListBucketResult).</summary>
    internal static ListPage ParseListPage(Stream xml)
    {
        var page = new ListPage();
        var raw = new List<(string Key, long Size, string ETag, DateTimeOffset? Modified)>();
        var urlEncoded = false;
        using var reader = XmlReader.Create(xml, s_xml);
        reader.MoveToContent();
        if (reader.LocalName != "ListBucketResult")
        {
            throw new XmlException($"Expected a ListBucketResult, not <{reader.LocalName}>.");
        }

        if (reader.IsEmptyElement)
        {
            return page;
        }

        reader.Read();
        while (reader.NodeType != XmlNodeType.EndElement && !reader.EOF)
        {
            if (reader.NodeType != XmlNodeType.Element)
            {
                reader.Read();
                continue;
            }

            switch (reader.LocalName)
            {
                case "Contents":
                    raw.Add(ReadContents(reader));
                    break;
                case "IsTruncated":
                    page.IsTruncated = string.Equals(reader.ReadElementContentAsString().Trim(), "true", StringComparison.OrdinalIgnoreCase);
                    break;
                case "NextContinuationToken":
                    page.NextContinuationToken = reader.ReadElementContentAsString();
                    break;
                case "EncodingType":
                    urlEncoded = string.Equals(reader.ReadElementContentAsString().Trim(), "url", StringComparison.OrdinalIgnoreCase);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        if (reader.NodeType != XmlNodeType.EndElement)
        {
            throw new XmlException("The listing ended before </ListBucketResult>.");
        }

        foreach (var (key, size, etag, modified) in raw)
        {
            page.Objects.Add(new RemoteObject(urlEncoded ? DecodeListedKey(key) : key, size, etag, modified));
        }

        return page;
    }

    private static (string Key, long Size, string ETag, DateTimeOffset? Modified) ReadContents(XmlReader reader)
    {
        string? key = null;
        long size = 0;
        var etag = string.Empty;
        DateTimeOffset? modified = null;
        if (reader.IsEmptyElement)
        {
            throw new XmlException("A listed object without a key.");
        }

        reader.Read();
        while (reader.NodeType != XmlNodeType.EndElement && !reader.EOF)
        {
            if (reader.NodeType != XmlNodeType.Element)
            {
                reader.Read();
                continue;
            }

            switch (reader.LocalName)
            {
                case "Key":
                    key = reader.ReadElementContentAsString();
                    break;
                case "Size":
                    size = long.Parse(reader.ReadElementContentAsString().Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture);
                    break;
                case "ETag":
                    etag = NormalizeETag(reader.ReadElementContentAsString());
                    break;
                case "LastModified":
                    modified = DateTimeOffset.TryParse(reader.ReadElementContentAsString().Trim(), CultureInfo.InvariantCulture,
                        DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var when) ? when : null;
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }

        reader.ReadEndElement();
        return (key ?? throw new XmlException("A listed object without a key."), size, etag, modified);
    }

    // S3's url encoding of listed keys is form encoding: '+' stands for a space, "%2B" for a plus.
    private static string DecodeListedKey(string key) => Uri.UnescapeDataString(key.Replace('+', ' '));

    /// <summary>One page of a listing.</summary>
    internal sealed class ListPage
    {
        public List<RemoteObject> Objects { get; } = new();

        public bool IsTruncated { get; set; }

        public string? NextContinuationToken { get; set; }
    }
}
