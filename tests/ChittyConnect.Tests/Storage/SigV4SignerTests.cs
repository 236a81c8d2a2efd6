using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using ChittyConnect.Storage;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>
/// The lean signer against the AWS documentation's SigV4 examples ("Signature Calculations for the Authorization
/// Header: Transferring Payload in a Single Chunk", Examples: GET Object and PUT Object) and against the AWS SDK's
/// own signature of the same PutObject, for keys that need encoding.
/// </summary>
public sealed class SigV4SignerTests
{
    private const string ExampleAccessKey = "AKIAIOSFODNN7EXAMPLE";
    private const string ExampleSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    private const string EmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    private static readonly DateTime ExampleTime = new(2013, 5, 24, 0, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void The_aws_documentation_get_object_example_signs_exactly()
    {
        var signer = new SigV4Signer(ExampleAccessKey, ExampleSecret, "us-east-1", "s3");
        var signed = signer.Sign("GET", "/test.txt", "", new Dictionary<string, string>
        {
            ["Host"] = "examplebucket.s3.amazonaws.com",
            ["Range"] = "bytes=0-9",
            ["x-amz-content-sha256"] = EmptySha256,
            ["x-amz-date"] = "20130524T000000Z",
        }, EmptySha256, ExampleTime);

        Assert.Equal("GET\n/test.txt\n\nhost:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\n"
            + $"x-amz-content-sha256:{EmptySha256}\nx-amz-date:20130524T000000Z\n\nhost;range;x-amz-content-sha256;x-amz-date\n{EmptySha256}",
            signed.CanonicalRequest);
        Assert.Equal("AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
            signed.StringToSign);
        Assert.Equal("f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", signed.Signature);
        Assert.Equal("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
            signed.Authorization);
    }

    [Fact]
    public void The_aws_documentation_put_object_example_signs_exactly_with_the_dollar_encoded_once()
    {
        var payload = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("Welcome to Amazon S3.")));
        Assert.Equal("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072", payload);
        var canonicalUri = "/" + SigV4Signer.UriEncode("test$file.text", keepSlash: true);
        Assert.Equal("/test%24file.text", canonicalUri);

        var signer = new SigV4Signer(ExampleAccessKey, ExampleSecret, "us-east-1", "s3");
        var signed = signer.Sign("PUT", canonicalUri, "", new Dictionary<string, string>
        {
            ["Host"] = "examplebucket.s3.amazonaws.com",
            ["Date"] = "Fri, 24 May 2013 00:00:00 GMT",
            ["x-amz-date"] = "20130524T000000Z",
            ["x-amz-storage-class"] = "REDUCED_REDUNDANCY",
            ["x-amz-content-sha256"] = payload,
        }, payload, ExampleTime);

        Assert.Equal("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", signed.SignedHeaders);
        Assert.Equal("98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd", signed.Signature);
    }

    [Theory]
    [InlineData("b", "a b/c d.txt", "/b/a%20b/c%20d.txt")]
    [InlineData("b", "naïve/café €.bin", "/b/na%C3%AFve/caf%C3%A9%20%E2%82%AC.bin")]
    [InlineData("b", "a+b=c&d;e,f@g:h$i", "/b/a%2Bb%3Dc%26d%3Be%2Cf%40g%3Ah%24i")]
    [InlineData("b", "tilde~star*(paren)!'.-_", "/b/tilde~star%2A%28paren%29%21%27.-_")]
    [InlineData("b", "already%20encoded#hash?q", "/b/already%2520encoded%23hash%3Fq")]
    [InlineData("b", "日本/ファイル", "/b/%E6%97%A5%E6%9C%AC/%E3%83%95%E3%82%A1%E3%82%A4%E3%83%AB")]
    public void Object_paths_keep_unreserved_characters_and_slashes_and_encode_the_rest_once(string bucket, string key, string expected)
    {
        Assert.Equal(expected, SigV4Signer.EncodePath(bucket, key));
        // What goes on the wire is what was signed: System.Uri must not re-encode or decode any of it.
        Assert.Equal(expected, new Uri("http://127.0.0.1:9000" + expected).AbsolutePath);
    }

    public static TheoryData<string> SpecialKeys => new()
    {
        "files/dir one/naïve café.txt",
        "files/a+b=c&d;e,f@g:h$i.txt",
        "files/tilde~star*(paren)!'[x]{y}.txt",
        "files/日本語/ファイル #1.bin",
        "files/already%20encoded.txt",
    };

    [Theory]
    [MemberData(nameof(SpecialKeys))]
    public async Task The_signature_equals_the_aws_sdks_for_the_same_put_object(string key)
    {
        var capture = new CapturingHandler();
        using var sdk = new AmazonS3Client(new BasicAWSCredentials("AKIDEXAMPLE", "secret/with+chars"), new AmazonS3Config
        {
            ServiceURL = "http://127.0.0.1:9000",
            ForcePathStyle = true,
            AuthenticationRegion = "auto",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            MaxErrorRetry = 0,
            HttpClientFactory = new CapturingFactory(capture),
        });
        var body = Encoding.UTF8.GetBytes("hello, signer");
        var put = new PutObjectRequest
        {
            BucketName = "chitty-files",
            Key = key,
            InputStream = new MemoryStream(body),
            ContentType = "application/octet-stream",
            UseChunkEncoding = false,
            MD5Digest = Convert.ToBase64String(MD5.HashData(body)),
        };
        put.Metadata.Add("sha256", Convert.ToHexStringLower(SHA256.HashData(body)));
        put.Metadata.Add("mtime", "1700000000000");
        await sdk.PutObjectAsync(put);

        var sent = Assert.Single(capture.Requests);
        var authorization = sent.Headers["authorization"];
        var signedHeaders = Field(authorization, "SignedHeaders=").Split(';');
        var sdkSignature = Field(authorization, "Signature=");
        var amzDate = DateTime.ParseExact(sent.Headers["x-amz-date"], "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);

        var canonicalUri = SigV4Signer.EncodePath("chitty-files", key);
        Assert.Equal(sent.Path, canonicalUri);
        var mine = new SigV4Signer("AKIDEXAMPLE", "secret/with+chars", "auto", "s3").Sign("PUT", canonicalUri, "",
            signedHeaders.Select(h => new KeyValuePair<string, string>(h, sent.Headers[h])), sent.Headers["x-amz-content-sha256"], amzDate);

        Assert.Equal(sdkSignature, mine.Signature);
    }

    private static string Field(string authorization, string name)
    {
        var start = authorization.IndexOf(name, StringComparison.Ordinal) + name.Length;
        var end = authorization.IndexOf(',', start);
        return (end < 0 ? authorization[start..] : authorization[start..end]).Trim();
    }

    internal sealed record CapturedRequest(string Path, Dictionary<string, string> Headers);

    /// <summary>Records each request's raw path and headers (lower-case names) and answers 200 with the body's MD5 as ETag.</summary>
    internal sealed class CapturingHandler : HttpMessageHandler
    {
        public List<CapturedRequest> Requests { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase)
            {
                ["host"] = request.Headers.Host ?? request.RequestUri!.Authority,
            };
            foreach (var h in request.Headers)
            {
                headers[h.Key.ToLowerInvariant()] = string.Join(",", h.Value);
            }

            var body = Array.Empty<byte>();
            if (request.Content is not null)
            {
                foreach (var h in request.Content.Headers)
                {
                    headers[h.Key.ToLowerInvariant()] = string.Join(",", h.Value);
                }

                body = await request.Content.ReadAsByteArrayAsync(cancellationToken);
            }

            lock (Requests)
            {
                Requests.Add(new CapturedRequest(request.RequestUri!.AbsolutePath, headers));
            }

            var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Array.Empty<byte>()) };
            response.Headers.TryAddWithoutValidation("ETag", "\"" + Convert.ToHexStringLower(MD5.HashData(body)) + "\"");
            return response;
        }
    }

    private sealed class CapturingFactory : HttpClientFactory
    {
        private readonly HttpMessageHandler _handler;

        public CapturingFactory(HttpMessageHandler handler) => _handler = handler;

        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => new(_handler, disposeHandler: false);
    }
}
