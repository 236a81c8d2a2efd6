using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using ChittyConnect.Api;
using ChittyConnect.Storage;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;

namespace ChittyConnect.Tests.Sync;

/// <summary>Counts the HTTP requests the S3 client really sends, by kind.</summary>
public sealed class CountingHandler : DelegatingHandler
{
    public CountingHandler(HttpMessageHandler inner, RequestLog log) : base(inner) => Requests = log;

    public RequestLog Requests { get; }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var query = request.RequestUri!.Query;
        var kind = request.Method.Method switch
        {
            "GET" when query.Contains("list-type") || query.Contains("uploads") => "LIST",
            "GET" => "GET",
            "HEAD" => "HEAD",
            "PUT" when query.Contains("partNumber") => "PART",
            "PUT" => "PUT",
            "POST" when query.Contains("delete") => "DELETE",
            "POST" => "MULTIPART",
            "DELETE" => "ABORT",
            _ => request.Method.Method,
        };
        Requests.Enqueue(kind);
        if (kind == "LIST" && System.Web.HttpUtility.ParseQueryString(query)["start-after"] is { } startAfter)
        {
            Requests.AddStartAfter(startAfter);
        }

        Requests.AddUserAgent(request.Headers.UserAgent.ToString());
        return base.SendAsync(request, cancellationToken);
    }
}

/// <summary>The requests seen on the wire, shared by every HttpClient the SDK creates.</summary>
public sealed class RequestLog
{
    private readonly ConcurrentQueue<string> _kinds = new();
    private readonly ConcurrentQueue<string> _userAgents = new();
    private readonly ConcurrentQueue<string> _startAfters = new();

    /// <summary>The start-after key of every listing request that had one (a range's pages after the first each repeat it).</summary>
    public IReadOnlyCollection<string> StartAfters => _startAfters;

    public void AddStartAfter(string key) => _startAfters.Enqueue(key);

    /// <summary>The User-Agent of every request, in order.</summary>
    public IReadOnlyCollection<string> UserAgents => _userAgents;

    public void AddUserAgent(string userAgent) => _userAgents.Enqueue(userAgent);

    public void Enqueue(string kind) => _kinds.Enqueue(kind);

    public int Count(string kind) => _kinds.Count(r => r == kind);

    public int Total => _kinds.Count;

    public void Clear()
    {
        _kinds.Clear();
        _userAgents.Clear();
        _startAfters.Clear();
    }

    public override string ToString() => string.Join(",", _kinds);
}

/// <summary>Stands in for the sync-report endpoint and records what it was sent.</summary>
public sealed class ReportRecorder : HttpMessageHandler
{
    public List<JsonElement> Reports { get; } = new();

    public bool Fail { get; set; }

    public IEnumerable<JsonElement> Items => Reports.SelectMany(r => r.GetProperty("items").EnumerateArray());

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.RequestUri!.AbsolutePath != "/api/context/files/sync-report")
        {
            return new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("Not Found") };
        }

        if (Fail)
        {
            return new HttpResponseMessage(HttpStatusCode.BadRequest) { Content = new StringContent("{\"error\":\"invalid_request\",\"message\":\"test failure\"}", Encoding.UTF8, "application/json") };
        }

        var body = JsonDocument.Parse(await request.Content!.ReadAsStringAsync(cancellationToken)).RootElement.Clone();
        lock (Reports)
        {
            Reports.Add(body);
        }

        var count = body.GetProperty("items").GetArrayLength();
        return new HttpResponseMessage(HttpStatusCode.OK)
        {
            Content = new StringContent($"{{\"ok\":true,\"count\":{count},\"eventId\":\"{Guid.NewGuid()}\"}}", Encoding.UTF8, "application/json"),
        };
    }
}

/// <summary>A local folder, a private prefix, a state directory, and clients wired to count requests.</summary>
public sealed class SyncTestContext : IDisposable
{
    private readonly S3rverProcess _s3rver;

    public SyncTestContext(S3rverProcess s3rver, Action<R2StoreOptions>? configure = null, Func<HttpMessageHandler, HttpMessageHandler>? wrapHandler = null,
        Func<string, Stream>? openFile = null)
    {
        _s3rver = s3rver;
        Root = Path.Combine(Path.GetTempPath(), "chitty-sync-" + Guid.NewGuid().ToString("N")[..8]);
        Local = Path.Combine(Root, "folder");
        StateDirectory = Path.Combine(Root, "state");
        Directory.CreateDirectory(Local);
        Prefix = "files/test-" + Guid.NewGuid().ToString("N")[..8] + "/";
        var options = new R2StoreOptions
        {
            PartSize = 1024 * 1024,
            MultipartThreshold = 2 * 1024 * 1024,
            MaxRetries = 1,
            IdleTimeout = TimeSpan.FromSeconds(60),
        };
        configure?.Invoke(options);
        // The counter sees what reaches the wire, after any disturbance the test adds.
        Store = S3rverStores.Create(s3rver.Settings(), options, 1024 * 1024,
            inner => new CountingHandler(wrapHandler is null ? inner : wrapHandler(inner), Wire), openFile);
        Api = new ChittyApiClient(s3rver.Settings(), Reports, ChittyConnect.Retry.RetryPolicy.ForApi(s3rver.Settings().MaxRetries, TimeSpan.FromMilliseconds(1)));
        Engine = new SyncEngine(Store, Api);
        Raw = s3rver.CreateRawClient();
    }

    public string Root { get; }
    public string Local { get; }
    public string StateDirectory { get; }
    public string Prefix { get; }
    public R2ObjectStore Store { get; }
    public ChittyApiClient Api { get; }
    public SyncEngine Engine { get; }
    public ReportRecorder Reports { get; } = new();
    public RequestLog Wire { get; } = new();

    /// <summary>An independent S3 client, to check what is really in the bucket.</summary>
    public AmazonS3Client Raw { get; }

    public SyncOptions Options(Action<SyncOptions>? configure = null)
    {
        var options = new SyncOptions { LocalPath = Local, Prefix = Prefix, StateDirectory = StateDirectory, Transfers = 4 };
        configure?.Invoke(options);
        return options;
    }

    /// <summary>An engine over the same store that takes the local file system as case-insensitive (as on Windows and macOS).</summary>
    public SyncEngine CaseInsensitiveEngine() => new(Store, Api, _ => true);

    public async Task<(ChittySyncSummary Summary, List<ChittySyncResult> Results)> SyncAsync(Action<SyncOptions>? configure = null, CancellationToken cancellationToken = default, Action<ChittySyncResult>? onResult = null,
        SyncEngine? engine = null)
    {
        var results = new ConcurrentQueue<ChittySyncResult>();
        Wire.Clear();
        var summary = await (engine ?? Engine).RunAsync(Options(configure), r =>
        {
            results.Enqueue(r);
            onResult?.Invoke(r);
        }, null, cancellationToken);
        return (summary, results.OrderBy(r => r.RelativePath, StringComparer.Ordinal).ToList());
    }

    public string Write(string relative, string content) => Write(relative, Encoding.UTF8.GetBytes(content));

    public string Write(string relative, byte[] content)
    {
        var path = Path.Combine(Local, relative.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>Writes <paramref name="count"/> numbered files, f00.txt ("content 0") onwards for stem "f".</summary>
    public void WriteNumbered(int count, string stem = "f", string content = "content ")
    {
        for (var i = 0; i < count; i++)
        {
            Write($"{stem}{i:00}.txt", content + i);
        }
    }

    /// <summary>Deletes the first <paramref name="count"/> files <see cref="WriteNumbered"/> wrote.</summary>
    public void DeleteNumbered(int count, string stem = "f")
    {
        for (var i = 0; i < count; i++)
        {
            File.Delete(Path.Combine(Local, $"{stem}{i:00}.txt"));
        }
    }

    public static byte[] RandomBytes(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>The standard fixture tree: nesting, spaces, non-ASCII, an empty file, a multipart-sized file.</summary>
    public Dictionary<string, byte[]> WriteFixtureTree()
    {
        var files = new Dictionary<string, byte[]>
        {
            ["readme.txt"] = Encoding.UTF8.GetBytes("hello chitty"),
            ["docs/notes with spaces.md"] = Encoding.UTF8.GetBytes("# notes\n"),
            ["docs/deep/er/still/file.json"] = Encoding.UTF8.GetBytes("{\"a\":1}"),
            ["données/résumé ü 日本.txt"] = Encoding.UTF8.GetBytes("non-ascii ✓"),
            ["empty.bin"] = Array.Empty<byte>(),
            ["big/video.bin"] = RandomBytes(3 * 1024 * 1024 + 12345, 1),
        };
        foreach (var pair in files)
        {
            Write(pair.Key, pair.Value);
        }

        return files;
    }

    /// <summary>Every object under the prefix with its content, read with a separate client.</summary>
    public async Task<Dictionary<string, byte[]>> RemoteContentAsync()
    {
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        var listing = await Raw.ListObjectsV2Async(new ListObjectsV2Request { BucketName = Store.Bucket, Prefix = Prefix });
        foreach (var o in listing.S3Objects ?? new List<S3Object>())
        {
            using var get = await Raw.GetObjectAsync(Store.Bucket, o.Key);
            using var buffer = new MemoryStream();
            await get.ResponseStream.CopyToAsync(buffer);
            result[o.Key.Substring(Prefix.Length)] = buffer.ToArray();
        }

        return result;
    }

    public async Task PutRawAsync(string key, string content)
    {
        await Raw.PutObjectAsync(new PutObjectRequest { BucketName = Store.Bucket, Key = key, ContentBody = content, UseChunkEncoding = false });
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    public void Dispose()
    {
        Store.Dispose();
        Api.Dispose();
        Raw.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
