using System;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Configuration;
using ChittyConnect.Diagnostics;
using ChittyConnect.Hashing;

namespace ChittyConnect.Storage;

/// <summary>
/// Compiles, once per process and on a background thread, what a session's first S3 requests would otherwise
/// compile on the user's path: the AWS SDK's client set-up, request pipeline, SigV4 signer, endpoint rules,
/// marshallers and XML unmarshallers (shipped as IL only: about 1,200 methods at tier 0, seconds on a busy
/// machine), and the module's transport and store code around them. It runs one request of every kind a sync
/// makes (<see cref="R2ObjectStore.WarmUpAsync"/>) through a store of its own whose requests are answered in
/// memory by <see cref="OfflineS3Answers"/>: nothing leaves the process, no credential is used, no file is read.
/// <list type="bullet">
/// <item><see cref="Start"/> returns at once and runs the warm-up at most once per process (compiled code is
/// the process's, whichever runspace asks).</item>
/// <item>It shares nothing with a real store (its own client, handler and options), catches its own failures,
/// and takes no execution context from its caller (no log sink, no cancellation), so it cannot fail, write to
/// or hold up the call that started it: that call waits only where it needs a method the warm-up is compiling
/// at that moment, as it would have waited for compiling it itself.</item>
/// </list>
/// </summary>
internal static class S3Warmup
{
    private static int s_started;

    /// <summary>Starts the warm-up unless this process has started it before.</summary>
    public static void Start()
    {
        if (Interlocked.Exchange(ref s_started, 1) != 0)
        {
            return;
        }

        _ = Launch(new OfflineS3Answers());
    }

    /// <summary>
    /// One warm-up on the thread pool whose requests <paramref name="answers"/> answers, with none of the
    /// caller's execution context; the task never fails: its result is the warm-up's failure, or null.
    /// </summary>
    internal static Task<Exception?> Launch(HttpMessageHandler answers)
    {
        using (ExecutionContext.SuppressFlow())
        {
            return Task.Run(() => RunAsync(answers));
        }
    }

    private static async Task<Exception?> RunAsync(HttpMessageHandler answers)
    {
        try
        {
            var settings = new ChittyConnectionSettings
            {
                R2Endpoint = new Uri("http://s3-warmup.invalid/"),
                Bucket = "warmup",
                R2AccessKeyId = "warmup",
                R2SecretAccessKey = new ChittySecret("warmup"),
            };
            // No retries and no outage to ride out: a failing answer ends the warm-up at once.
            var options = new R2StoreOptions { MaxRetries = 0, RetryTimeout = TimeSpan.Zero };
            using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            using var store = new R2ObjectStore(settings, options, ObjectStoreDialect.R2, real =>
            {
                real.Dispose();
                return answers;
            });
            await store.WarmUpAsync("warmup/", timeout.Token).ConfigureAwait(false);
            return null;
        }
        catch (Exception ex)
        {
            ChittyLog.Debug($"The S3 warm-up stopped: {ex.Message}");
            return ex;
        }
    }
}

/// <summary>
/// Answers every request <see cref="R2ObjectStore.WarmUpAsync"/> makes as S3 would, from memory: one object of
/// 4 KiB of zeros under any key, ETags that are the MD5 of what was sent (a PUT's or a part's) or of the parts
/// named (a completion), so the store's checks of every answer pass. Keeps nothing between requests.
/// </summary>
internal sealed class OfflineS3Answers : HttpMessageHandler
{
    private const string Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";
    private static readonly byte[] s_object = new byte[4096];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var query = request.RequestUri!.Query;
        var key = Uri.UnescapeDataString(request.RequestUri.AbsolutePath.TrimStart('/'));
        var sent = request.Content is null ? Array.Empty<byte>() : await request.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
        var method = request.Method.Method;
        return method switch
        {
            "GET" when query.Contains("list-type=2") => Xml(
                $"<ListBucketResult xmlns=\"{Namespace}\"><Name>warmup</Name><Prefix>warmup/</Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys>" +
                "<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>" +
                $"<Contents><Key>warmup/object</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>\"{Md5Hex(s_object)}\"</ETag>" +
                $"<Size>{s_object.Length}</Size><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"),
            "HEAD" or "GET" => Object(method == "GET"),
            "PUT" => WithETag(new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Array.Empty<byte>()) }, Md5Hex(sent)),
            "POST" when query.Contains("uploads") => Xml(
                $"<InitiateMultipartUploadResult xmlns=\"{Namespace}\"><Bucket>warmup</Bucket><Key>{key}</Key><UploadId>warmup-upload</UploadId></InitiateMultipartUploadResult>"),
            "POST" when query.Contains("uploadId") => Xml(
                $"<CompleteMultipartUploadResult xmlns=\"{Namespace}\"><Location>http://s3-warmup.invalid/{key}</Location><Bucket>warmup</Bucket><Key>{key}</Key>" +
                $"<ETag>\"{R2ObjectStore.MultipartETag(PartETags(sent))}\"</ETag></CompleteMultipartUploadResult>"),
            "POST" when query.Contains("delete") => Xml($"<DeleteResult xmlns=\"{Namespace}\"><Deleted><Key>warmup/object</Key></Deleted></DeleteResult>"),
            "DELETE" => new HttpResponseMessage(HttpStatusCode.NoContent) { Content = new ByteArrayContent(Array.Empty<byte>()) },
            _ => new HttpResponseMessage(HttpStatusCode.NotImplemented) { Content = new ByteArrayContent(Array.Empty<byte>()) },
        };
    }

    private static HttpResponseMessage Object(bool withBody)
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(withBody ? s_object : Array.Empty<byte>()) };
        response.Content.Headers.ContentLength = s_object.Length;
        response.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/octet-stream");
        response.Content.Headers.LastModified = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        response.Headers.TryAddWithoutValidation("x-amz-meta-mtime", ObjectMetadata.FormatMtime(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));
        return WithETag(response, Md5Hex(s_object));
    }

    private static HttpResponseMessage Xml(string body)
    {
        var response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new ByteArrayContent(Encoding.UTF8.GetBytes("<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + body)) };
        response.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/xml");
        return response;
    }

    private static HttpResponseMessage WithETag(HttpResponseMessage response, string etag)
    {
        response.Headers.TryAddWithoutValidation("ETag", "\"" + etag + "\"");
        response.Headers.TryAddWithoutValidation("x-amz-request-id", "warmup");
        return response;
    }

    private static string Md5Hex(byte[] bytes)
    {
        using var md5 = MD5.Create();
        return ContentHasher.ToHex(md5.ComputeHash(bytes));
    }

    // The part ETags a CompleteMultipartUpload names, in order, without their quotes.
    private static string[] PartETags(byte[] body)
    {
        var matches = Regex.Matches(Encoding.UTF8.GetString(body), "<ETag>(?:&quot;|\")?([0-9a-fA-F]{32})(?:&quot;|\")?</ETag>");
        var etags = new string[matches.Count];
        for (var i = 0; i < etags.Length; i++)
        {
            etags[i] = matches[i].Groups[1].Value;
        }

        return etags;
    }
}
