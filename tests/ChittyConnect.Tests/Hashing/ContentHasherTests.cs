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
