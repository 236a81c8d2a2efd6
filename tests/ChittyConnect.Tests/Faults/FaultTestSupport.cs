using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using ChittyConnect.Configuration;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Faults;

/// <summary>
/// s3rver and the emulator, each behind its own <see cref="FaultProxy"/>, plus independent views of both that
/// bypass the proxies (to check what really landed).
/// </summary>
internal sealed class FaultStack : IAsyncDisposable
{
    private FaultStack(S3rverProcess s3rver, EmulatorHost emulator, FaultProxy s3Proxy, FaultProxy apiProxy)
    {
        S3rver = s3rver;
        Emulator = emulator;
        S3Proxy = s3Proxy;
        ApiProxy = apiProxy;
        Raw = s3rver.CreateRawClient();
    }

    public S3rverProcess S3rver { get; }
    public EmulatorHost Emulator { get; }
    public FaultProxy S3Proxy { get; }
    public FaultProxy ApiProxy { get; }

    /// <summary>Straight to s3rver, not through the proxy.</summary>
    public AmazonS3Client Raw { get; }

    public static async Task<FaultStack> StartAsync(S3rverProcess s3rver, int seed)
    {
        var emulator = await EmulatorHost.StartAsync(o => o.RateLimitPerMinute = 100_000);
        var s3Proxy = new FaultProxy(s3rver.Endpoint, FaultStyle.S3Xml, seed);
        var apiProxy = new FaultProxy(emulator.BaseUri, FaultStyle.Json, seed + 1);
        return new FaultStack(s3rver, emulator, s3Proxy, apiProxy);
    }

    /// <summary>Settings that reach both servers through the proxies, with short timeouts.</summary>
    public ChittyConnectionSettings Settings(TimeSpan timeout)
    {
        var settings = SettingsFor(ApiProxy.Uri, S3Proxy.Uri, S3rver.Bucket);
        settings.RequestTimeout = timeout;
        settings.MaxRetries = 4;
        return settings;
    }

    /// <summary>The emulator's key and identity at <paramref name="api"/>, s3rver's keys for <paramref name="bucket"/> at <paramref name="r2"/>.</summary>
    public static ChittyConnectionSettings SettingsFor(Uri api, Uri r2, string bucket) => new()
    {
        Endpoint = api,
        ApiKey = new ChittySecret(EmulatorHost.ApiKey),
        ChittyId = EmulatorHost.ChittyId,
        SessionId = EmulatorHost.SessionId,
        R2Endpoint = r2,
        Bucket = bucket,
        R2AccessKeyId = S3rverProcess.AccessKey,
        R2SecretAccessKey = new ChittySecret(S3rverProcess.SecretKey),
    };

    /// <summary>Every object under <paramref name="prefix"/> (relative key to SHA-256), listed and read straight from s3rver.</summary>
    public async Task<Dictionary<string, string>> RemoteHashesAsync(string prefix)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        var request = new ListObjectsV2Request { BucketName = S3rver.Bucket, Prefix = prefix };
        ListObjectsV2Response listing;
        do
        {
            listing = await Raw.ListObjectsV2Async(request);
            foreach (var o in listing.S3Objects ?? new List<S3Object>())
            {
                using var get = await Raw.GetObjectAsync(S3rver.Bucket, o.Key);
                using var sha = SHA256.Create();
                result[o.Key[prefix.Length..]] = Convert.ToHexStringLower(await sha.ComputeHashAsync(get.ResponseStream));
            }

            request.ContinuationToken = listing.NextContinuationToken;
        }
        while (listing.IsTruncated == true);

        return result;
    }

    /// <summary>
    /// The unfinished multipart uploads under <paramref name="prefix"/>, read from s3rver's store: s3rver 3.7.1
    /// answers ListMultipartUploads with 501 NotImplemented, so its uploads folder is the listing.
    /// </summary>
    public IReadOnlyList<string> OpenUploads(string prefix)
    {
        var folder = Path.Combine(S3rver.DataDirectory, S3rver.Bucket, "._S3rver_uploads");
        if (!Directory.Exists(folder))
        {
            return Array.Empty<string>();
        }

        return Directory.GetDirectories(folder)
            .Select(d => (Id: Path.GetFileName(d), KeyFile: Path.Combine(d, "key")))
            .Where(u => File.Exists(u.KeyFile) && File.ReadAllText(u.KeyFile).StartsWith(prefix, StringComparison.Ordinal))
            .Select(u => u.Id + " " + File.ReadAllText(u.KeyFile))
            .ToList();
    }

    /// <summary>The parts of the open upload <paramref name="uploadId"/> that s3rver received whole (it writes a part's MD5 once all of it is there).</summary>
    public int PartsReceived(string uploadId) =>
        Directory.GetFiles(Path.Combine(S3rver.DataDirectory, S3rver.Bucket, "._S3rver_uploads", uploadId), "*.md5").Length;

    /// <summary>The emulator's context_files rows of the test session, by URI.</summary>
    public async Task<Dictionary<string, JsonNode>> ContextFilesAsync()
    {
        var rows = (JsonArray)await Emulator.InspectAsync("_emulator/context-files?session_id=" + EmulatorHost.SessionId);
        return rows.Select(r => r!).ToDictionary(r => (string)r["file_uri"]!, r => r, StringComparer.Ordinal);
    }

    /// <summary>Asserts that every local file is in the bucket byte for byte, nothing else is, and the service has a report row for each.</summary>
    public async Task AssertMirroredAndReportedAsync(string localRoot, string prefix)
    {
        var local = Directory.EnumerateFiles(localRoot, "*", SearchOption.AllDirectories)
            .Where(f => !f.EndsWith(".chittypart", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(localRoot, f).Replace('\\', '/'), f => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(f))), StringComparer.Ordinal);
        var remote = await RemoteHashesAsync(prefix);
        Assert.Equal(local.Keys.Order(StringComparer.Ordinal), remote.Keys.Order(StringComparer.Ordinal));
        foreach (var pair in local)
        {
            Assert.True(pair.Value == remote[pair.Key], $"'{pair.Key}' differs in the bucket");
        }

        var files = await ContextFilesAsync();
        foreach (var pair in local)
        {
            Assert.True(files.TryGetValue("r2://" + prefix + pair.Key, out var row), $"the report lacks '{pair.Key}'");
            Assert.Equal(pair.Value, (string?)row!["sha256"]);
            Assert.Equal(new FileInfo(Path.Combine(localRoot, pair.Key)).Length, (long)row["file_size"]!);
        }

        Assert.Empty(OpenUploads(prefix));
    }

    public async ValueTask DisposeAsync()
    {
        Raw.Dispose();
        await S3Proxy.DisposeAsync();
        await ApiProxy.DisposeAsync();
        await Emulator.DisposeAsync();
    }
}
