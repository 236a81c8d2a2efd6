using System.Diagnostics;
using System.Text;
using ChittyConnect.Filters;
using ChittyConnect.Storage;
using ChittyConnect.Sync;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Sync;

/// <summary>
/// The local walk in key order (<see cref="LocalScanner.WalkSorted"/>): the files <see cref="LocalScanner.Scan"/>
/// selects, in the order a store lists their keys (UTF-8 bytes), skipping and reporting what the scan skips and
/// reports, reading each folder only when it gets there.
/// </summary>
public sealed class SortedLocalWalkTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("chitty-walk-").FullName;

    // Names made of raw bytes, which only their bytes remove.
    private readonly List<(byte[] Path, bool Folder)> _rawNames = new();

    public void Dispose()
    {
        foreach (var (path, folder) in _rawNames)
        {
            _ = folder ? rmdir(path) : unlink(path);
        }

        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void Files_come_in_the_utf8_byte_order_of_their_paths_a_folder_sorting_as_its_name_and_a_slash()
    {
        // "a.txt" (0x2E) before the folder "a/" (0x2F) before "a0.txt"; "a b" and "a-b" before all three; U+FF21
        // and U+E000 before a character beyond U+FFFF (UTF-16 puts its surrogates first), as file and as folder.
        string[] names =
        [
            "a.txt", "a/x.txt", "a/b/c.txt", "a/b.txt", "a-b.txt", "a b.txt", "a0.txt", "B.txt", ".hidden", "1.txt",
            "10.txt", "9.txt", "2/1.txt", "\uFF21.txt", "\uE000x.txt", "\U0001F600.txt", "\U0001F600/in.txt", "\uFF21/in.txt",
            "naïve/é.txt", "z~.txt", "d-e/f.txt", "d/e.txt", "d.txt", "deep/er/and/deeper/f.txt",
        ];
        Write(names);

        var scan = LocalScanner.Scan(_root, FilterRules.Empty, CancellationToken.None);
        var sink = new LocalScan();
        var walked = LocalScanner.WalkSorted(_root, FilterRules.Empty, sink, CancellationToken.None).Select(f => f.RelativePath).ToList();

        var byBytes = names.OrderBy(n => Encoding.UTF8.GetBytes(n), Comparer<byte[]>.Create((x, y) => x.AsSpan().SequenceCompareTo(y))).ToList();
        Assert.Equal(byBytes, walked);
        Assert.Equal(scan.Files.Keys.OrderBy(k => k, RangedListing.KeyOrder), walked);
        // The tree tells the orders apart: an ordinal sort of the paths is not the store's order.
        Assert.NotEqual(names.Order(StringComparer.Ordinal), walked);
        Assert.Empty(sink.Files);
        Assert.Empty(sink.Errors);
        Assert.Empty(sink.Skipped);
    }

    [Fact]
    public void The_walk_selects_sizes_times_and_refused_names_as_the_scan_does()
    {
        Write(["keep.txt", "x.log", "skip/a.txt", "skipped.txt", "sub/keep.log", "sub/in.txt", "part" + LocalScanner.PartialSuffix, "bad\u0001name.txt", "sub/bad\u0002.txt"]);
        File.WriteAllText(Path.Combine(_root, "sub", "in.txt"), "longer content");
        var filters = new FilterRulesBuilder().AddExclude("*.log").AddExclude("skip/**").Build();

        var scan = LocalScanner.Scan(_root, filters, CancellationToken.None);
        var sink = new LocalScan();
        var walked = LocalScanner.WalkSorted(_root, filters, sink, CancellationToken.None).ToList();

        Assert.Equal(["keep.txt", "skipped.txt", "sub/in.txt"], walked.Select(f => f.RelativePath));
        Assert.Equal(scan.Files.Values.Select(Describe).OrderBy(d => d, StringComparer.Ordinal), walked.Select(Describe).OrderBy(d => d, StringComparer.Ordinal));
        Assert.Equal(14, walked.Single(f => f.RelativePath == "sub/in.txt").Size);
        Assert.Equal(2, sink.Errors.Count);
        Assert.Equal(scan.Errors.Order(StringComparer.Ordinal), sink.Errors.Order(StringComparer.Ordinal));
        Assert.Contains(sink.Errors, e => e.Contains("'bad\\u0001name.txt' was not synced", StringComparison.Ordinal));
    }

    [UnixFact]
    public void Links_and_special_files_are_skipped_as_the_scan_skips_them_each_before_the_files_after_it()
    {
        var outside = Directory.CreateTempSubdirectory("chitty-walk-outside-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(outside, "x.txt"), "outside");
            Write(["a.txt", "sub.txt", "sub0/in.txt", "z.txt"]);
            Directory.CreateSymbolicLink(Path.Combine(_root, "sub"), outside);
            File.CreateSymbolicLink(Path.Combine(_root, "link.txt"), Path.Combine(outside, "x.txt"));
            using (var mkfifo = Process.Start("mkfifo", new[] { Path.Combine(_root, "pipe") }))
            {
                mkfifo.WaitForExit();
                Assert.Equal(0, mkfifo.ExitCode);
            }

            var scan = LocalScanner.Scan(_root, FilterRules.Empty, CancellationToken.None);
            var sink = new LocalScan();
            var skippedWhenYielded = new Dictionary<string, string[]>();
            foreach (var file in LocalScanner.WalkSorted(_root, FilterRules.Empty, sink, CancellationToken.None))
            {
                skippedWhenYielded[file.RelativePath] = sink.Skipped.Order(StringComparer.Ordinal).ToArray();
            }

            Assert.Equal(["a.txt", "sub.txt", "sub0/in.txt", "z.txt"], skippedWhenYielded.Keys);
            Assert.Equal(scan.Skipped.Order(StringComparer.Ordinal), sink.Skipped.Order(StringComparer.Ordinal));
            Assert.Equal(["link.txt", "pipe", "sub"], sink.Skipped.Order(StringComparer.Ordinal));
            // The directory link "sub" takes its place by its name, so it is known skipped before "sub.txt" is
            // yielded: a window of keys up to "sub.txt" already knows not to touch the other side's "sub".
            Assert.Equal(["link.txt", "pipe", "sub"], skippedWhenYielded["sub.txt"]);
            Assert.Empty(skippedWhenYielded["a.txt"]);
            Assert.True(sink.IsSkipped("sub/x.txt"));
            Assert.Empty(sink.Errors);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [UnixFact]
    public void Names_that_are_not_UTF8_are_refused_with_an_error_each_and_the_other_files_walked()
    {
        // Linux names are bytes: .NET reads 0xFE and 0xFF as U+FFFD, so these two files and the folder would have
        // one key between them, and no path .NET can open leads to any of them.
        Write(["a.txt", "b\uFFFD.txt", "z.txt"]);
        CreateByName("x", 0xFE, ".txt", folder: false);
        CreateByName("x", 0xFF, ".txt", folder: false);
        CreateByName("y", 0xFF, string.Empty, folder: true);

        var sink = new LocalScan();
        var walked = LocalScanner.WalkSorted(_root, FilterRules.Empty, sink, CancellationToken.None).Select(f => f.RelativePath).ToList();
        var scan = LocalScanner.Scan(_root, FilterRules.Empty, CancellationToken.None);

        // A name that holds U+FFFD as UTF-8 (EF BF BD) is a name like any other.
        Assert.Equal(["a.txt", "b\uFFFD.txt", "z.txt"], walked);
        Assert.Equal(walked, scan.Files.Keys.OrderBy(k => k, RangedListing.KeyOrder));
        Assert.Equal(3, sink.Errors.Count);
        Assert.All(sink.Errors, e => Assert.Contains("is not valid UTF-8", e, StringComparison.Ordinal));
        Assert.Contains(sink.Errors, e => e.StartsWith("'y\uFFFD' was not synced", StringComparison.Ordinal));
        Assert.Equal(sink.Errors.Order(StringComparer.Ordinal), scan.Errors.Order(StringComparer.Ordinal));
        // Not links: nothing is said of them that is not so.
        Assert.Empty(sink.Skipped);
    }

    [Fact]
    public void Folders_are_read_as_the_walk_reaches_them_and_one_that_cannot_be_read_is_reported_and_passed()
    {
        Write(["a/1.txt", "b/2.txt", "c/3.txt"]);
        var sink = new LocalScan();

        using var walk = LocalScanner.WalkSorted(_root, FilterRules.Empty, sink, CancellationToken.None).GetEnumerator();
        Assert.True(walk.MoveNext());
        Assert.Equal("a/1.txt", walk.Current.RelativePath);
        // Once the first file is taken, b goes away and c gains a file: a walk that had read ahead would
        // still give b/2.txt and miss c/4.txt.
        Directory.Delete(Path.Combine(_root, "b"), recursive: true);
        File.WriteAllText(Path.Combine(_root, "c", "4.txt"), "4");
        var rest = new List<string>();
        while (walk.MoveNext())
        {
            rest.Add(walk.Current.RelativePath);
        }

        Assert.Equal(["c/3.txt", "c/4.txt"], rest);
        var error = Assert.Single(sink.Errors);
        Assert.Contains("Could not read the folder '" + Path.Combine(_root, "b") + "'", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cancelled_walk_stops_with_the_cancellation()
    {
        Write(["a/1.txt", "b/2.txt"]);
        using var cancel = new CancellationTokenSource();

        using var walk = LocalScanner.WalkSorted(_root, FilterRules.Empty, new LocalScan(), cancel.Token).GetEnumerator();
        Assert.True(walk.MoveNext());
        cancel.Cancel();

        Assert.Throws<OperationCanceledException>(() => walk.MoveNext());
    }

    // A file or folder in the root named by raw bytes, as a program that does not write UTF-8 names makes it.
    private void CreateByName(string before, byte raw, string after, bool folder)
    {
        var path = new List<byte>(Encoding.UTF8.GetBytes(_root + "/" + before)) { raw };
        path.AddRange(Encoding.UTF8.GetBytes(after));
        path.Add(0);
        var bytes = path.ToArray();
        // O_WRONLY | O_CREAT (Linux's values), owner read and write.
        var result = folder ? mkdir(bytes, 0x1C0) : open(bytes, 0x41, 0x180);
        Assert.True(result >= 0, $"Could not create the name (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()}).");
        _rawNames.Add((bytes, folder));
        if (!folder)
        {
            close(result);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int open(byte[] path, int flags, int mode);

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int mkdir(byte[] path, int mode);

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int close(int fd);

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int unlink(byte[] path);

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int rmdir(byte[] path);

    private static string Describe(LocalFile file) => $"{file.RelativePath} {file.Size} {file.LastWriteUtc:O} {file.FullPath}";

    private void Write(IEnumerable<string> names)
    {
        foreach (var name in names)
        {
            var path = Path.Combine(_root, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, name.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
