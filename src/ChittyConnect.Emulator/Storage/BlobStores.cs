using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace ChittyConnect.Emulator.Storage;

/// <summary>A stored object as read back.</summary>
internal sealed record StoredBlob(byte[] Content, string ContentType);

/// <summary>Where uploaded objects go: the emulator's stand-in for the service's R2 binding.</summary>
internal interface IBlobStore : IDisposable
{
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>Stores the whole stream under <paramref name="key"/> and returns the number of bytes stored.</summary>
    Task<long> PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken);

    Task<StoredBlob?> GetAsync(string key, CancellationToken cancellationToken);
}

/// <summary>Objects as files under a folder; the key's segments become subfolders.</summary>
internal sealed class FolderBlobStore : IBlobStore
{
    private const string ContentTypeSuffix = ".content-type";
    private readonly string _root;

    public FolderBlobStore(string root)
    {
        _root = Path.GetFullPath(root);
    }

    public Task InitializeAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_root);
        return Task.CompletedTask;
    }

    public async Task<long> PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken)
    {
        var path = PathFor(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // Written aside and moved so that a reader never sees half an object.
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".partial";
        long length;
        await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true))
        {
            await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            length = file.Length;
        }

        File.Move(temp, path, overwrite: true);
        await File.WriteAllTextAsync(path + ContentTypeSuffix, contentType, cancellationToken).ConfigureAwait(false);
        return length;
    }

    public async Task<StoredBlob?> GetAsync(string key, CancellationToken cancellationToken)
    {
        var path = PathFor(key);
        if (!File.Exists(path))
        {
            return null;
        }

        var bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        var contentType = File.Exists(path + ContentTypeSuffix)
            ? await File.ReadAllTextAsync(path + ContentTypeSuffix, cancellationToken).ConfigureAwait(false)
            : "application/octet-stream";
        return new StoredBlob(bytes, contentType);
    }

    public void Dispose()
    {
    }

    private string PathFor(string key)
    {
        // Keys come from clients: keep every one inside the root whatever '..' or absolute parts it has.
        var segments = key.Split('/', StringSplitOptions.RemoveEmptyEntries)
            .Select(s => s is "." or ".." ? "_" + s : s)
            .Select(s => string.Concat(s.Select(c => Path.GetInvalidFileNameChars().Contains(c) || c == '\\' ? '_' : c)));
        var path = Path.GetFullPath(Path.Combine(new[] { _root }.Concat(segments).ToArray()));
        if (!path.StartsWith(_root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Invalid object key '{key}'.");
        }

        return path;
    }
}

/// <summary>
/// Objects in an S3-compatible endpoint, configured as R2 must be: path-style, region auto, checksums only
/// when required and no aws-chunked payloads (s3rver would store the chunk framing verbatim).
/// </summary>
internal sealed class S3BlobStore : IBlobStore
{
    private readonly AmazonS3Client _client;
    private readonly string _bucket;

    public S3BlobStore(Uri endpoint, string bucket, string accessKey, string secretKey)
    {
        _bucket = bucket;
        var config = new AmazonS3Config
        {
            ServiceURL = endpoint.ToString(),
            ForcePathStyle = true,
            AuthenticationRegion = "auto",
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            UseHttp = endpoint.Scheme == Uri.UriSchemeHttp,
        };
        _client = new AmazonS3Client(new BasicAWSCredentials(accessKey, secretKey), config);
    }

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception ex) when (ex.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
        {
        }
    }

    public async Task<long> PutAsync(string key, Stream content, string contentType, CancellationToken cancellationToken)
    {
        // A request body has no length up front; spool it so the PUT carries a Content-Length, never chunks.
        var spool = Path.Combine(Path.GetTempPath(), "chitty-emulator-" + Guid.NewGuid().ToString("N"));
        await using var file = new FileStream(spool, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 81920,
            FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        await content.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
        var length = file.Length;
        file.Position = 0;
        await _client.PutObjectAsync(new PutObjectRequest
        {
            BucketName = _bucket,
            Key = key,
            InputStream = file,
            AutoCloseStream = false,
            ContentType = contentType,
            UseChunkEncoding = false,
        }, cancellationToken).ConfigureAwait(false);
        return length;
    }

    public async Task<StoredBlob?> GetAsync(string key, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _client.GetObjectAsync(_bucket, key, cancellationToken).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            await response.ResponseStream.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
            return new StoredBlob(buffer.ToArray(), response.Headers.ContentType ?? "application/octet-stream");
        }
        catch (AmazonS3Exception ex) when (ex.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public void Dispose() => _client.Dispose();
}
