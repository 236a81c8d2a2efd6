using System.Diagnostics;
using System.Net.Sockets;
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
public sealed class LinkAndSpecialFileTests : SyncCmdletTest
{
    public LinkAndSpecialFileTests(S3rverProcess s3rver)
        : base(s3rver, "links")
    {
        Directory.CreateDirectory(Outside);
        File.WriteAllText(Path.Combine(Folder, "a.txt"), "alpha");
        File.WriteAllText(Path.Combine(Outside, "x.txt"), "outside");
    }

    private string Outside => Path.Combine(Root, "outside");

    [Fact]
    public async Task A_download_never_writes_through_a_directory_link_out_of_the_folder()
    {
        Directory.CreateSymbolicLink(Path.Combine(Folder, "sub"), Outside);
        await PutAsync("sub/x.txt", "remote");
        await PutAsync("sub/new/y.txt", "remote");
        await PutAsync("a.txt", "alpha");
        await PutAsync("b.txt", "beta");

        var result = Sync("$folder -Summary -Direction Download");

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
        var result = Sync("$folder -Summary -Mirror");

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
        var first = Sync("$folder -Summary -Direction Both");
        Assert.Empty(first.Errors);
        Assert.Equal(3, SummaryOf(first).FilesUploaded);

        Directory.Delete(Path.Combine(Folder, "sub"), recursive: true);
        Directory.CreateSymbolicLink(Path.Combine(Folder, "sub"), Outside);
        var second = Sync("$folder -Summary -Direction Both");

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
        var third = Sync("$folder -Summary -Direction Both");
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
        var linkedRoot = Path.Combine(Root, "linked-root");
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
        var result = Sync("$folder -Summary");

        Assert.Empty(result.Errors);
        Assert.Single(result.Warnings, w => w.Contains("'pipe' is a named pipe", StringComparison.Ordinal));
        Assert.Single(result.Warnings, w => w.Contains("'socket' is a socket", StringComparison.Ordinal));
        Assert.Equal(new Dictionary<string, string> { ["a.txt"] = "alpha", ["pipe"] = "a remote file of that name" }, await RemoteAsync());
        Assert.Equal(1, SummaryOf(result).FilesUploaded);
    }
}
