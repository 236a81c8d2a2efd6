using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

/// <summary>What <see cref="SigV4Signer.Sign"/> produced, the intermediate strings included (for tests and logs).</summary>
internal sealed class SigV4Signature
{
    public string CanonicalRequest { get; init; } = string.Empty;
    public string StringToSign { get; init; } = string.Empty;
    public string SignedHeaders { get; init; } = string.Empty;
    public string Signature { get; init; } = string.Empty;
    public string Authorization { get; init; } = string.Empty;
}

/// <summary>
/// AWS Signature Version 4 for the Authorization header with a signed payload in a single chunk, the way S3
/// (and R2) check it. Lean on purpose: the module already has the payload's SHA-256, so signing costs four
/// cached HMACs per day and two per request instead of the SDK's pipeline and its second read of the body.
/// </summary>
internal sealed class SigV4Signer
{
    private const string Algorithm = "AWS4-HMAC-SHA256";
    private readonly string _accessKeyId;
    private readonly byte[] _secret;
    private readonly string _region;
    private readonly string _service;
    private readonly object _gate = new();
    private string? _keyDate;
    private byte[]? _key;

    public SigV4Signer(string accessKeyId, string secretAccessKey, string region, string service)
    {
        _accessKeyId = accessKeyId;
        _secret = Encoding.UTF8.GetBytes("AWS4" + secretAccessKey);
        _region = region;
        _service = service;
    }

    /// <summary>
    /// Signs a request. <paramref name="canonicalUri"/> is the path exactly as sent (already encoded once,
    /// see <see cref="EncodePath"/>: S3 does not encode it a second time); <paramref name="canonicalQuery"/>
    /// is the sorted, encoded query ("" for none); every header in <paramref name="headers"/> is signed.
    /// </summary>
    public SigV4Signature Sign(string method, string canonicalUri, string canonicalQuery,
        IEnumerable<KeyValuePair<string, string>> headers, string payloadSha256, DateTime utcNow)
    {
        var amzDate = utcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var date = amzDate.Substring(0, 8);
        var sorted = headers
            .Select(h => new KeyValuePair<string, string>(h.Key.Trim().ToLowerInvariant(), CanonicalValue(h.Value)))
            .OrderBy(h => h.Key, StringComparer.Ordinal)
            .ToList();
        var signedHeaders = string.Join(";", sorted.Select(h => h.Key));
        var canonical = new StringBuilder(512)
            .Append(method).Append('\n')
            .Append(canonicalUri).Append('\n')
            .Append(canonicalQuery).Append('\n');
        foreach (var h in sorted)
        {
            canonical.Append(h.Key).Append(':').Append(h.Value).Append('\n');
        }

        canonical.Append('\n').Append(signedHeaders).Append('\n').Append(payloadSha256);
        var canonicalRequest = canonical.ToString();
        var scope = date + "/" + _region + "/" + _service + "/aws4_request";
        var stringToSign = Algorithm + "\n" + amzDate + "\n" + scope + "\n" + Sha256Hex(canonicalRequest);
        var signature = ContentHasher.ToHex(Hmac(SigningKey(date), stringToSign));
        return new SigV4Signature
        {
            CanonicalRequest = canonicalRequest,
            StringToSign = stringToSign,
            SignedHeaders = signedHeaders,
            Signature = signature,
            Authorization = $"{Algorithm} Credential={_accessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}",
        };
    }

    /// <summary>The x-amz-date value of <paramref name="utcNow"/>.</summary>
    public static string AmzDate(DateTime utcNow) => utcNow.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary>
    /// The path-style path of an object, "/bucket/key", with every character but RFC 3986's unreserved ones
    /// (A-Z a-z 0-9 - . _ ~) and the segment separator '/' percent-encoded as upper-case UTF-8 bytes. This is
    /// both what goes on the wire and the canonical URI (S3 signs the path encoded once).
    /// </summary>
    public static string EncodePath(string bucket, string key) => "/" + UriEncode(bucket, keepSlash: false) + "/" + UriEncode(key, keepSlash: true);

    /// <summary>SigV4's UriEncode: unreserved characters kept, '/' kept when asked, everything else %XX of its UTF-8.</summary>
    public static string UriEncode(string value, bool keepSlash)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        var result = new StringBuilder(bytes.Length * 2);
        foreach (var b in bytes)
        {
            var c = (char)b;
            if (c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '-' or '.' or '_' or '~' || (keepSlash && c == '/'))
            {
                result.Append(c);
            }
            else
            {
                result.Append('%').Append(HexDigits[b >> 4]).Append(HexDigits[b & 0xF]);
            }
        }

        return result.ToString();
    }

    private const string HexDigits = "0123456789ABCDEF";

    // Header values are trimmed and inner runs of spaces collapse to one.
    private static string CanonicalValue(string value)
    {
        var trimmed = value.Trim();
        if (trimmed.IndexOf("  ", StringComparison.Ordinal) < 0)
        {
            return trimmed;
        }

        var sb = new StringBuilder(trimmed.Length);
        var lastSpace = false;
        foreach (var c in trimmed)
        {
            if (c == ' ' && lastSpace)
            {
                continue;
            }

            lastSpace = c == ' ';
            sb.Append(c);
        }

        return sb.ToString();
    }

    // kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"), once a day.
    private byte[] SigningKey(string date)
    {
        lock (_gate)
        {
            if (_key is null || _keyDate != date)
            {
                var k = Hmac(_secret, date);
                k = Hmac(k, _region);
                k = Hmac(k, _service);
                _key = Hmac(k, "aws4_request");
                _keyDate = date;
            }

            return _key;
        }
    }

    private static byte[] Hmac(byte[] key, string data)
    {
        using var hmac = new HMACSHA256(key);
        return hmac.ComputeHash(Encoding.UTF8.GetBytes(data));
    }

    private static string Sha256Hex(string data)
    {
        using var sha = SHA256.Create();
        return ContentHasher.ToHex(sha.ComputeHash(Encoding.UTF8.GetBytes(data)));
    }
}
