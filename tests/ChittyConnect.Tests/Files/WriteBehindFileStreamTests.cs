using ChittyConnect.Files;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Files;

/// <summary>A download's temporary file: its data synced to disk while it is written, its failures kept for the final fsync.</summary>
public sealed class WriteBehindFileStreamTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("chitty-writebehind-").FullName;

    [Fact]
    public async Task Chunks_written_in_order_and_at_offsets_land_exactly_and_the_data_is_synced_while_it_is_written()
    {
        // 20 MiB as a ranged download writes it: the first chunk in order, the others at their offsets out of order.
        var content = SyncTestContext.RandomBytes(20 * 1024 * 1024 + 4321, 7);
        const int chunk = 3 * 1024 * 1024;
        var path = Path.Combine(_dir, "file.partial");
        var synced = new List<int>();
        using (var file = new WriteBehindFileStream(NewFile(path), fd =>
        {
            lock (synced)
            {
                synced.Add(fd);
            }

            return 0;
        }))
        {
            await file.WriteAsync(content, 0, chunk);
            var offsets = Enumerable.Range(1, (content.Length + chunk - 1) / chunk - 1).Select(i => i * chunk).Reverse();
            foreach (var offset in offsets)
            {
                file.Position = offset;
                await file.WriteAsync(content, offset, Math.Min(chunk, content.Length - offset));
            }

            file.FlushToDisk();
            Assert.InRange(file.BackgroundSyncs, OperatingSystem.IsLinux() ? 1 : 0, int.MaxValue);
        }

        Assert.Equal(content, await File.ReadAllBytesAsync(path));
        Assert.Equal(OperatingSystem.IsLinux(), synced.Count > 0);
    }

    [Fact]
    public async Task On_linux_the_real_data_sync_runs_in_the_background_and_the_file_is_whole()
    {
        var content = SyncTestContext.RandomBytes(3 * (int)WriteBehindFileStream.SyncBytes + 99, 8);
        var path = Path.Combine(_dir, "real.partial");
        using (var file = new WriteBehindFileStream(NewFile(path)))
        {
            for (var offset = 0; offset < content.Length; offset += 81920)
            {
                await file.WriteAsync(content, offset, Math.Min(81920, content.Length - offset));
            }

            file.FlushToDisk();
            Assert.Equal(OperatingSystem.IsLinux(), file.BackgroundSyncs > 0);
        }

        Assert.Equal(content, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task A_background_sync_that_failed_fails_the_final_flush_even_though_the_fsync_after_it_succeeds()
    {
        var content = SyncTestContext.RandomBytes((int)WriteBehindFileStream.SyncBytes + 1, 9);
        var path = Path.Combine(_dir, "failing.partial");
        using var file = new WriteBehindFileStream(NewFile(path), _ => 5); // EIO
        await file.WriteAsync(content, 0, content.Length);

        if (OperatingSystem.IsLinux())
        {
            var error = Assert.Throws<IOException>(() => file.FlushToDisk());
            Assert.Contains("errno 5", error.Message);
            Assert.Contains(path, error.Message);
        }
        else
        {
            // Elsewhere nothing syncs in the background: the final fsync is the only one, and it succeeds.
            file.FlushToDisk();
            Assert.Equal(0, file.BackgroundSyncs);
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static FileStream NewFile(string path) =>
        new(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
}
