using System.Collections;
using Amazon.S3;
using Amazon.S3.Model;
using ChittyConnect.Sync;

namespace ChittyConnect.Tests.Infrastructure;

/// <summary>
/// What a test of Sync-ChittyFolder against s3rver starts from: a temporary root holding the synced folder
/// (created, empty) and the state folder, a key prefix no other test uses, the cmdlet hosted in-process, and a
/// plain S3 client that fills and reads the bucket as another tool would. Disposing removes the root; the
/// objects stay under their own prefix.
/// </summary>
public abstract class SyncCmdletTest : IDisposable
{
    /// <param name="s3rver">The collection's s3rver.</param>
    /// <param name="name">Names the root folder and the prefix, so a leftover says which test it is from.</param>
    protected SyncCmdletTest(S3rverProcess s3rver, string name)
    {
        S3rver = s3rver;
        var id = Guid.NewGuid().ToString("N")[..8];
        Root = Path.Combine(Path.GetTempPath(), "chitty-" + name + "-" + id);
        Prefix = "files/" + name + "-" + id + "/";
        Directory.CreateDirectory(Folder);
        Raw = s3rver.CreateRawClient();
    }

    protected S3rverProcess S3rver { get; }

    /// <summary>The temporary root: the synced folder and the state folder are in it.</summary>
    protected string Root { get; }

    /// <summary>The synced folder, Root/folder.</summary>
    protected string Folder => Path.Combine(Root, "folder");

    /// <summary>The prefix the folder is synced to, ending in '/'.</summary>
    protected string Prefix { get; }

    /// <summary>A plain S3 client on s3rver, for the objects another tool puts and reads.</summary>
    protected AmazonS3Client Raw { get; }

    private protected PowerShellRunner Ps { get; } = new();

    /// <summary>
    /// Runs "Sync-ChittyFolder -Connection $conn -Prefix $prefix -NoReport -StateDirectory (Join-Path $root state)"
    /// followed by <paramref name="arguments"/>, which may use $folder, $root and $x (from <paramref name="extra"/>).
    /// </summary>
    private protected PowerShellResult Sync(string arguments, ChittyConnection? connection = null, IDictionary? extra = null)
    {
        var parameters = new Hashtable { ["conn"] = connection ?? new ChittyConnection(S3rver.Settings()), ["folder"] = Folder, ["prefix"] = Prefix, ["root"] = Root };
        foreach (DictionaryEntry pair in extra ?? new Hashtable())
        {
            parameters[pair.Key] = pair.Value;
        }

        return Ps.Run("param($conn, $folder, $prefix, $root, $x) Sync-ChittyFolder -Connection $conn -Prefix $prefix -NoReport -StateDirectory (Join-Path $root state) " + arguments, parameters, TimeSpan.FromSeconds(60));
    }

    /// <summary>Puts <paramref name="content"/> at Prefix + <paramref name="relative"/> as a plain S3 client does.</summary>
    protected Task PutAsync(string relative, string content) => Raw.PutObjectAsync(new PutObjectRequest
    {
        BucketName = S3rver.Bucket,
        Key = Prefix + relative,
        ContentBody = content,
        UseChunkEncoding = false,
    });

    /// <summary>The keys under the prefix, relative to it, in ordinal order.</summary>
    protected async Task<List<string>> RemoteKeysAsync()
    {
        var listing = await Raw.ListObjectsV2Async(new ListObjectsV2Request { BucketName = S3rver.Bucket, Prefix = Prefix });
        return (listing.S3Objects ?? new List<S3Object>()).Select(o => o.Key[Prefix.Length..]).OrderBy(k => k, StringComparer.Ordinal).ToList();
    }

    /// <summary>The objects under the prefix (relative key to content), as a plain S3 client reads them.</summary>
    protected async Task<Dictionary<string, string>> RemoteAsync()
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in await RemoteKeysAsync())
        {
            using var get = await Raw.GetObjectAsync(S3rver.Bucket, Prefix + key);
            using var reader = new StreamReader(get.ResponseStream);
            result[key] = await reader.ReadToEndAsync();
        }

        return result;
    }

    /// <summary>The one ChittySyncSummary of a run with -Summary.</summary>
    private protected static ChittySyncSummary SummaryOf(PowerShellResult result) =>
        (ChittySyncSummary)result.Output.Single(o => o.BaseObject is ChittySyncSummary).BaseObject;

    public void Dispose()
    {
        Ps.Dispose();
        Raw.Dispose();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }

        GC.SuppressFinalize(this);
    }
}
