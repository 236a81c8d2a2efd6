using System.Security.Cryptography;
using System.Text.Json;
using ChittyConnect.Hashing;
using ChittyConnect.Storage;
using ChittyConnect.Tests.Infrastructure;
using ChittyConnect.Tests.Sync;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>
/// How often a file uploaded in parts is read: once to hash it (the whole file and every part), once to send
/// it. The store's reads are counted through its file seam; the object is checked by rclone.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class LargeFileReadTests
{
    private const int Size = 3 * 1024 * 1024 + 123;

    private readonly S3rverProcess _s3rver;

    public LargeFileReadTests(S3rverProcess s3rver) => _s3rver = s3rver;

    /// <summary>The part hashes an upload is given beside the file's own hashes.</summary>
    public enum PartHashes
    {
        /// <summary>Those of the hashing read, with the store's part size: the upload uses them.</summary>
        OfTheStoresPartSize,
        /// <summary>None: the upload hashes the parts by a read of its own.</summary>
        None,
        /// <summary>Those of another part size: not used, the upload hashes the parts itself.</summary>
        OfAnotherPartSize,
    }

    [Theory]
    [InlineData(PartHashes.OfTheStoresPartSize, 1, 31)]
    [InlineData(PartHashes.None, 2, 32)]
    [InlineData(PartHashes.OfAnotherPartSize, 2, 33)]
    public async Task An_upload_in_parts_reads_the_file_to_send_it_and_again_only_without_part_hashes_of_its_part_size(
        PartHashes given, int readsOfTheFile, int seed)
    {
        var reads = new ReadCounter();
        using var ctx = new SyncTestContext(_s3rver, openFile: reads.Open);
        var content = SyncTestContext.RandomBytes(Size, seed);
        var path = ctx.Write("big.bin", content);
        var partSize = given switch
        {
            PartHashes.OfTheStoresPartSize => ctx.Store.PartSizeFor(Size),
            PartHashes.OfAnotherPartSize => 2 * 1024 * 1024,
            _ => 0,
        };
        long hashed = 0;
        var hashes = await ContentHasher.HashFileAsync(path, CancellationToken.None, n => hashed += n, partSize: partSize);

        var result = await ctx.Store.UploadFileAsync(path, ctx.Prefix + "big.bin", hashes.Sha256, hashes.Md5, DateTimeOffset.UtcNow,
            null, null, CancellationToken.None, parts: given == PartHashes.None ? null : hashes.Parts);

        Assert.Equal(4, result.Parts);
        Assert.Equal(Size, hashed);
        Assert.Equal(readsOfTheFile * (long)Size, reads.Bytes);
        AssertRcloneSeesTheFile(ctx, content);
    }

    [Fact]
    public async Task A_sync_reads_a_new_large_file_once_to_hash_it_and_once_to_send_it()
    {
        var reads = new ReadCounter();
        using var ctx = new SyncTestContext(_s3rver, openFile: reads.Open);
        var content = SyncTestContext.RandomBytes(Size, 34);
        ctx.Write("big.bin", content);

        var (summary, _) = await ctx.SyncAsync();

        Assert.True(summary.Success);
        Assert.Equal(1, summary.FilesUploaded);
        Assert.Equal(Size, summary.BytesHashed);
        Assert.Equal(Size, reads.Bytes);
        AssertRcloneSeesTheFile(ctx, content);
    }

    // A small object and one of several parts and reads.
    [Theory]
    [InlineData(300_000)]
    [InlineData(9 * 1024 * 1024 + 7)]
    public async Task A_download_of_an_object_rclone_sent_in_parts_is_verified_as_it_is_written_without_reading_it_back(int size)
    {
        using var ctx = new SyncTestContext(_s3rver);
        var content = SyncTestContext.RandomBytes(size, 35);
        var source = Path.Combine(ctx.Root, "rclone");
        Directory.CreateDirectory(source);
        File.WriteAllBytes(Path.Combine(source, "big.bin"), content);
        using (var rclone = RcloneMetadataInteropTests.Rclone(ctx))
        {
            rclone.Run("copy", "--s3-upload-cutoff", "100k", "--s3-chunk-size", "5M", source, RcloneMetadataInteropTests.Remote(ctx));
        }

        using var written = new MemoryStream();
        var result = await ctx.Store.DownloadAsync(ctx.Prefix + "big.bin", new WriteOnlyStream(written), null, CancellationToken.None);

        Assert.Equal("md5chksum", result.VerifiedBy);
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(content)), result.Md5);
        Assert.Equal(SyncTestContext.Sha256(content), result.Sha256);
        Assert.Equal(content, written.ToArray());
    }

    [Fact]
    public async Task A_large_download_whose_bytes_are_not_those_its_sha256_metadata_names_fails_naming_the_sha256_it_received()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var content = SyncTestContext.RandomBytes(9 * 1024 * 1024, 36);
        var put = new Amazon.S3.Model.PutObjectRequest { BucketName = _s3rver.Bucket, Key = ctx.Prefix + "big.bin", InputStream = new MemoryStream(content), UseChunkEncoding = false };
        put.Metadata.Add("sha256", SyncTestContext.Sha256(SyncTestContext.RandomBytes(16, 37)));
        await ctx.Raw.PutObjectAsync(put);

        var ex = await Assert.ThrowsAsync<ObjectStoreException>(() => ctx.Store.DownloadAsync(ctx.Prefix + "big.bin", Stream.Null, null, CancellationToken.None));

        Assert.Equal("Sha256Mismatch", ex.Code);
        Assert.True(ex.Message.Contains(SyncTestContext.Sha256(content)), ex.Message);
    }

    [Fact]
    public async Task A_large_download_into_a_destination_that_fails_to_write_fails_with_that_failure_and_ends()
    {
        using var ctx = new SyncTestContext(_s3rver);
        var put = new Amazon.S3.Model.PutObjectRequest { BucketName = _s3rver.Bucket, Key = ctx.Prefix + "big.bin", InputStream = new MemoryStream(SyncTestContext.RandomBytes(9 * 1024 * 1024, 38)), UseChunkEncoding = false };
        await ctx.Raw.PutObjectAsync(put);
        using var full = new FullDisk(3 * 1024 * 1024);

        var ex = await Assert.ThrowsAsync<IOException>(() => ctx.Store.DownloadAsync(ctx.Prefix + "big.bin", full, null, CancellationToken.None));

        Assert.Equal("No space left on the test's disk", ex.Message);
        Assert.Equal(3 * 1024 * 1024, full.Length);
    }

    // rclone finds the object's MD5 (its md5chksum metadata, the ETag being a multipart one) equal to the
    // file's and `rclone check` finds the folder and the prefix alike; the sha256 metadata is the file's.
    private void AssertRcloneSeesTheFile(SyncTestContext ctx, byte[] content)
    {
        using var rclone = RcloneMetadataInteropTests.Rclone(ctx);
        var remote = RcloneMetadataInteropTests.Remote(ctx);
        using var listing = JsonDocument.Parse(rclone.Run("lsjson", "--hash", remote));
        var entry = Assert.Single(listing.RootElement.EnumerateArray());
        Assert.Equal(Convert.ToHexStringLower(MD5.HashData(content)), entry.GetProperty("Hashes").GetProperty("md5").GetString());
        var (exit, _, error) = rclone.TryRun("check", ctx.Local, remote);
        Assert.True(exit == 0, error);
        var head = ctx.Raw.GetObjectMetadataAsync(_s3rver.Bucket, ctx.Prefix + "big.bin").GetAwaiter().GetResult();
        Assert.Equal(SyncTestContext.Sha256(content), head.Metadata["sha256"]);
        Assert.EndsWith("-4\"", head.ETag);
    }

    // A destination that can only be written: a read of what was written would fail.
    private sealed class WriteOnlyStream(Stream inner) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    // A destination that takes <paramref name="room"/> bytes, then fails every write as a full disk does.
    private sealed class FullDisk(long room) : Stream
    {
        private long _written;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;

        public override long Position
        {
            get => _written;
            set => throw new NotSupportedException();
        }

        // As a disk that fills up: what fits is written, then the write fails, whatever the pieces' sizes.
        public override void Write(byte[] buffer, int offset, int count)
        {
            var fits = (int)Math.Min(count, room - _written);
            _written += fits;
            if (fits < count)
            {
                throw new IOException("No space left on the test's disk");
            }
        }

        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    // Counts the bytes read from every file the store opens.
    private sealed class ReadCounter
    {
        private long _bytes;

        public long Bytes => Interlocked.Read(ref _bytes);

        public Stream Open(string path) => new CountingStream(FileUploadContent.OpenRead(path), this);

        private sealed class CountingStream : Stream
        {
            private readonly Stream _inner;
            private readonly ReadCounter _counter;

            public CountingStream(Stream inner, ReadCounter counter) => (_inner, _counter) = (inner, counter);

            public override bool CanRead => true;
            public override bool CanSeek => true;
            public override bool CanWrite => false;
            public override long Length => _inner.Length;

            public override long Position
            {
                get => _inner.Position;
                set => _inner.Position = value;
            }

            public override int Read(byte[] buffer, int offset, int count)
            {
                var read = _inner.Read(buffer, offset, count);
                Interlocked.Add(ref _counter._bytes, read);
                return read;
            }

            public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            {
                var read = await _inner.ReadAsync(buffer, offset, count, cancellationToken);
                Interlocked.Add(ref _counter._bytes, read);
                return read;
            }

            public override void Flush() { }
            public override long Seek(long offset, SeekOrigin origin) => _inner.Seek(offset, origin);
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                {
                    _inner.Dispose();
                }

                base.Dispose(disposing);
            }
        }
    }
}
