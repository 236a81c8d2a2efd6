using System.Collections;
using System.Diagnostics;
using System.Net.Sockets;
using Amazon.S3;
using Amazon.S3.Model;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>
/// Links and special files against s3rver, with the objects put by a plain S3 client: only regular files and
/// folders are read; a link or pipe is skipped with one warning, nothing is written or deleted through a
/// link, and what the other side holds where the scan skipped is neither transferred nor deleted.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class LinkAndSpecialFileTests : IDisposable
{
    private readonly S3rverProcess _s3rver;
    private readonly PowerShellRunner _ps = new();
    private readonly string _root = Path.Combine(Path.GetTempPath(), "chitty-links-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly string _prefix = "files/links-" + Guid.NewGuid().ToString("N")[..8] + "/";
    private readonly AmazonS3Client _raw;

    public LinkAndSpecialFileTests(S3rverProcess s3rver)
    {
        _s3rver = s3rver;
        Directory.CreateDirectory(Folder);
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Folder, "a.txt"), "alpha");
        File.WriteAllText(Path.Combine(Outside, "x.txt"), "outside");
        _raw = s3rver.CreateRawClient();
    }

    private string Folder => Path.Combine(_root, "folder");

    private string Outside => Path.Combine(_root, "outside");

    private PowerShellResult Sync(string arguments) => _ps.Run(
        "param($conn, $folder, $prefix, $root) Sync-ChittyFolder $folder -Connection $conn -Prefix $prefix -NoReport -Summary -StateDirectory (Join-Path $root state) " + arguments,
        new Hashtable { ["conn"] = new ChittyConnection(_s3rver.Settings()), ["folder"] = Folder, ["prefix"] = _prefix, ["root"] = _root },
        TimeSpan.FromSeconds(60));

    private async Task<Dictionary<string, string>> RemoteAsync()
    {
        var listing = await _raw.ListObjectsV2Async(new ListObjectsV2Request { BucketName = _s3rver.Bucket, Prefix = _prefix });
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var o in listing.S3Objects ?? new List<S3Object>())
        {
            using var get = await _raw.GetObjectAsync(_s3rver.Bucket, o.Key);
            using var reader = new StreamReader(get.ResponseStream);
            result[o.Key[_prefix.Length..]] = await reader.ReadToEndAsync();
        }

        return result;
    }

    private Task PutAsync(string relative, string content) => _raw.PutObjectAsync(new PutObjectRequest
    {
        BucketName = _s3rver.Bucket,
        Key = _prefix + relative,
        ContentBody = content,
        UseChunkEncoding = false,
    });

    private static ChittySyncSummary SummaryOf(PowerShellResult result) =>
        (ChittySyncSummary)result.Output.Single(o => o.BaseObject is ChittySyncSummary).BaseObject;

    [Fact]
    public async Task A_download_never_writes_through_a_directory_link_out_of_the_folder()
    {
        Directory.CreateSymbolicLink(Path.Combine(Folder, "sub"), Outside);
        await PutAsync("sub/x.txt", "remote");
        await PutAsync("sub/new/y.txt", "remote");
        await PutAsync("a.txt", "alpha");
        await PutAsync("b.txt", "beta");

        var result = Sync("-Direction Download");

        Assert.Empty(result.Errors);
        Assert.Equal("outside", File.ReadAllText(Path.Combine(Outside, "x.txt")));
        Assert.False(Directory.Exists(Path.Combine(Outside, "new")));
        Assert.Equal("beta", File.ReadAllText(Path.Combine(Folder, "b.txt")));
        Assert.Single(result.Warnings, w => w.Contains("'sub' is a link", StringComparison.Ordinal));
        Assert.Equal(new[] { "a.txt", "b.txt", "sub/new/y.txt", "sub/x.txt" }, (await RemoteAsync()).Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_exact_upload_mirror_skips_a_link_with_one_warning_and_keeps_the_remote_files_under_it()
    {
        Directory.CreateSymbolicLink(Path.Combine(Folder, "sub"), Outside);
        File.CreateSymbolicLink(Path.Combine(Folder, "link.txt"), Path.Combine(Outside, "x.txt"));
        await PutAsync("sub/x.txt", "remote");
        await PutAsync("link.txt", "remote");
        await PutAsync("gone.txt", "deleted locally");

        // An exact mirror (it deletes what it does not own too) still leaves what lies at a skipped link.
        var result = Sync("-Mirror");

        Assert.Empty(result.Errors);
        Assert.Single(result.Warnings, w => w.Contains("'sub' is a link", StringComparison.Ordinal));
        Assert.Single(result.Warnings, w => w.Contains("'link.txt' is a link", StringComparison.Ordinal));
        Assert.Equal(new Dictionary<string, string> { ["a.txt"] = "alpha", ["link.txt"] = "remote", ["sub/x.txt"] = "remote" }, await RemoteAsync());
        Assert.Equal(1, SummaryOf(result).FilesDeleted);
    }

    [Fact]
    public async Task A_two_way_run_where_a_folder_was_replaced_by_a_link_deletes_nothing_on_either_side()
    {
        Directory.CreateDirectory(Path.Combine(Folder, "sub"));
        File.WriteAllText(Path.Combine(Folder, "sub", "x.txt"), "synced");
        File.WriteAllText(Path.Combine(Folder, "sub", "y.txt"), "synced");
        var first = Sync("-Direction Both");
        Assert.Empty(first.Errors);
        Assert.Equal(3, SummaryOf(first).FilesUploaded);

        Directory.Delete(Path.Combine(Folder, "sub"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(Folder, "sub"), Outside);
        var second = Sync("-Direction Both");

        Assert.Empty(second.Errors);
        Assert.Single(second.Warnings, w => w.Contains("'sub' is a link", StringComparison.Ordinal));
        var summary = SummaryOf(second);
        Assert.Equal(0, summary.FilesDeleted);
        Assert.Equal(0, summary.FilesDownloaded);
        Assert.Equal(new Dictionary<string, string> { ["a.txt"] = "alpha", ["sub/x.txt"] = "synced", ["sub/y.txt"] = "synced" }, await RemoteAsync());
        Assert.Equal(new[] { "x.txt" }, Directory.GetFiles(Outside).Select(Path.GetFileName));
        Assert.Equal("outside", File.ReadAllText(Path.Combine(Outside, "x.txt")));

        // The link replaced by the folder again: the baseline was kept, so its files are in agreement.
        Directory.Delete(Path.Combine(Folder, "sub"));
        Directory.CreateDirectory(Path.Combine(Folder, "sub"));
        File.WriteAllText(Path.Combine(Folder, "sub", "x.txt"), "synced");
        File.WriteAllText(Path.Combine(Folder, "sub", "y.txt"), "synced");
        var third = Sync("-Direction Both");
        Assert.Empty(third.Errors);
        var agreed = SummaryOf(third);
        Assert.Equal((0, 0, 0, 0, 3), (agreed.FilesUploaded, agreed.FilesDownloaded, agreed.FilesDeleted, agreed.Conflicts, agreed.FilesSkipped));
    }

    [Fact]
    public void A_write_or_delete_whose_path_runs_through_a_link_is_refused_even_when_the_scan_did_not_see_it()
    {
        // A link made after the scan (the executor checks again just before it writes or deletes).
        Directory.CreateSymbolicLink(Path.Combine(Folder, "sub"), Outside);
        var through = Assert.Throws<IOException>(() => LocalScanner.EnsureNoLink(Folder, Path.Combine(Folder, "sub", "new", "x.txt")));
        Assert.Contains("is a link", through.Message, StringComparison.Ordinal);
        File.CreateSymbolicLink(Path.Combine(Folder, "link.txt"), Path.Combine(Outside, "x.txt"));
        Assert.Throws<IOException>(() => LocalScanner.EnsureNoLink(Folder, Path.Combine(Folder, "link.txt")));

        // Real folders, paths yet to be made, and a root that is itself a link (the user named it) are fine.
        LocalScanner.EnsureNoLink(Folder, Path.Combine(Folder, "a.txt"));
        LocalScanner.EnsureNoLink(Folder, Path.Combine(Folder, "real", "deeper", "y.txt"));
        var linkedRoot = Path.Combine(_root, "linked-root");
        Directory.CreateSymbolicLink(linkedRoot, Folder);
        LocalScanner.EnsureNoLink(linkedRoot, Path.Combine(linkedRoot, "a.txt"));
    }

    [UnixFact]
    public async Task A_named_pipe_and_a_socket_are_skipped_with_one_warning_each_and_the_run_finishes()
    {
        var pipe = Path.Combine(Folder, "pipe");
        using (var mkfifo = Process.Start("mkfifo", new[] { pipe }))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(Path.Combine(Folder, "socket")));
        await PutAsync("pipe", "a remote file of that name");

        // The runner's timeout fails the test should the pipe be opened (a read waits for a writer forever).
        var result = Sync(string.Empty);

        Assert.Empty(result.Errors);
        Assert.Single(result.Warnings, w => w.Contains("'pipe' is a named pipe", StringComparison.Ordinal));
        Assert.Single(result.Warnings, w => w.Contains("'socket' is a socket", StringComparison.Ordinal));
        Assert.Equal(new Dictionary<string, string> { ["a.txt"] = "alpha", ["pipe"] = "a remote file of that name" }, await RemoteAsync());
        Assert.Equal(1, SummaryOf(result).FilesUploaded);
    }

    public void Dispose()
    {
        _ps.Dispose();
        _raw.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
