using System.Security.Cryptography;
using ChittyConnect.Hashing;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Hashing;

/// <summary>File hashing on each of its paths (small in one read, large streamed, very large on two cores).</summary>
public sealed class ContentHasherTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("chitty-hash-").FullName;

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(ContentHasher.SmallFileLimit)]
    [InlineData(ContentHasher.SmallFileLimit + 1)]
    [InlineData(ContentHasher.TwoCoreLimit - 1)]
    [InlineData(ContentHasher.TwoCoreLimit)]
    [InlineData(3 * ContentHasher.TwoCoreLimit + 12_345)]
    public async Task Every_size_gets_the_true_sha256_and_md5_and_reports_every_byte(long size)
    {
        var content = SyncTestContext.RandomBytes((int)size, (int)(size % 1000) + 3);
        var path = Path.Combine(_dir, $"f{size}.bin");
        await File.WriteAllBytesAsync(path, content);
        long reported = 0;

        var hashes = await ContentHasher.HashFileAsync(path, CancellationToken.None, n => reported += n);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), hashes.Sha256);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(content)), hashes.Md5);
        Assert.Equal(size, hashes.Length);
        Assert.Equal(size, reported);
    }

    [Theory]
    [InlineData(3 * 1024 * 1024, 1024 * 1024)]
    [InlineData(5 * 1024 * 1024 + 7, 1_500_001)]
    [InlineData(2 * 1024 * 1024 + 1, 2 * 1024 * 1024)]
    public async Task With_a_part_size_the_same_read_gives_every_part_its_md5_and_sha256(int size, long partSize)
    {
        var content = SyncTestContext.RandomBytes(size, 17);
        var path = Path.Combine(_dir, "parts.bin");
        await File.WriteAllBytesAsync(path, content);

        var hashes = await ContentHasher.HashFileAsync(path, CancellationToken.None, partSize: partSize);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), hashes.Sha256);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(content)), hashes.Md5);
        var parts = Assert.IsType<PartHashes>(hashes.Parts);
        Assert.Equal((int)((size + partSize - 1) / partSize), parts.Count);
        for (var i = 0; i < parts.Count; i++)
        {
            var slice = content.AsSpan((int)(i * partSize), (int)Math.Min(partSize, size - i * partSize)).ToArray();
            Assert.Equal(MD5.HashData(slice), parts.Md5(i));
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(slice)), parts.Sha256(i));
        }
    }

    [Fact]
    public async Task A_file_of_one_part_or_without_md5_gets_no_part_hashes()
    {
        var path = Path.Combine(_dir, "one.bin");
        await File.WriteAllBytesAsync(path, SyncTestContext.RandomBytes(1024 * 1024, 4));

        Assert.Null((await ContentHasher.HashFileAsync(path, CancellationToken.None, partSize: 1024 * 1024)).Parts);
        Assert.Null((await ContentHasher.HashFileAsync(path, CancellationToken.None, withMd5: false, partSize: 512 * 1024)).Parts);
    }

    [Fact]
    public async Task Cancelling_a_two_core_hash_stops_it_with_a_cancellation()
    {
        var path = Path.Combine(_dir, "big.bin");
        await File.WriteAllBytesAsync(path, SyncTestContext.RandomBytes((int)(4 * ContentHasher.TwoCoreLimit), 5));
        using var cts = new CancellationTokenSource();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ContentHasher.HashFileAsync(path, cts.Token, _ => cts.Cancel()));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
