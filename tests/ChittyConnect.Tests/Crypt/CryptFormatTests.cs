using System.Security.Cryptography;
using System.Text;
using ChittyConnect.Configuration;
using ChittyConnect.Crypt;
using Xunit;

namespace ChittyConnect.Tests.Crypt;

/// <summary>The crypt primitives on their own: EME vectors, sizes, streams, names, obscure, failures.</summary>
public sealed class CryptFormatTests
{
    private static readonly RcloneCryptKey s_key = RcloneCryptKey.Derive(new ChittySecret("unit-test password"));

    [Theory]
    [InlineData(16, true, EmeVectors.Encrypt16)]
    [InlineData(512, true, EmeVectors.Encrypt512)]
    [InlineData(512, false, EmeVectors.Decrypt512)]
    [InlineData(2048, true, EmeVectors.Encrypt2048)]
    public void EmeGivesRfjakobsVectors(int length, bool encrypt, string expectedHex)
    {
        using var aes = Eme.CreateAes(new byte[32]);

        var output = Eme.Transform(aes, new byte[16], new byte[length], encrypt);

        Assert.Equal(expectedHex, Convert.ToHexStringLower(output));
    }

    [Theory]
    [InlineData(16)]
    [InlineData(48)]
    [InlineData(2048)]
    public void EmeDecryptionUndoesEncryption(int length)
    {
        var data = RandomNumberGenerator.GetBytes(length);
        var tweak = RandomNumberGenerator.GetBytes(16);
        using var aes = Eme.CreateAes(RandomNumberGenerator.GetBytes(32));

        var enciphered = Eme.Transform(aes, tweak, data, encrypt: true);

        Assert.NotEqual(data, enciphered);
        Assert.Equal(data, Eme.Transform(aes, tweak, enciphered, encrypt: false));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(2064)]
    public void EmeRefusesLengthsOutsideItsRange(int length)
    {
        using var aes = Eme.CreateAes(new byte[32]);

        Assert.Throws<ArgumentException>(() => Eme.Transform(aes, new byte[16], new byte[length], encrypt: true));
    }

    [Theory]
    [InlineData(0L, 32L)]
    [InlineData(1L, 49L)]
    [InlineData(65536L, 32L + 65552L)]
    [InlineData(65537L, 32L + 65552L + 17L)]
    [InlineData(256L * 1024 * 1024, 32L + (4096L * 65552L))]
    public void SizesFollowRclonesFormula(long plain, long encrypted)
    {
        Assert.Equal(encrypted, RcloneCryptFormat.EncryptedSize(plain));
        Assert.Equal(plain, RcloneCryptFormat.DecryptedSize(encrypted));
    }

    [Theory]
    [InlineData(31L)]
    [InlineData(33L)]
    [InlineData(48L)]
    [InlineData(32L + 65552L + 16L)]
    public void ImpossibleEncryptedSizesAreRefused(long encrypted)
    {
        var error = Assert.Throws<RcloneCryptException>(() => RcloneCryptFormat.DecryptedSize(encrypted));

        Assert.Equal(RcloneCryptException.Truncated, error.Code);
    }

    [Fact]
    public void NonceCarriesAcrossAllItsBytes()
    {
        var nonce = new byte[24];
        Array.Fill(nonce, (byte)0xff, 0, 8);
        RcloneCryptFormat.AddToNonce(nonce, 1);
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 1 }, nonce[..9]);

        var full = Enumerable.Repeat((byte)0xff, 24).ToArray();
        RcloneCryptFormat.AddToNonce(full, 1);
        Assert.All(full, b => Assert.Equal(0, b));

        var stepped = new byte[24];
        stepped[0] = 0xfe;
        RcloneCryptFormat.AddToNonce(stepped, 0x0103);
        Assert.Equal(new byte[] { 0x01, 0x02 }, stepped[..2]);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(65535)]
    [InlineData(65536)]
    [InlineData(65537)]
    [InlineData((3 * 65536) + 5)]
    public void StreamsRoundTripInOddReadSizes(int size)
    {
        var plain = RandomNumberGenerator.GetBytes(size);

        var encrypted = ReadAll(new RcloneEncryptingStream(new MemoryStream(plain), s_key), 7001);
        var decrypted = ReadAll(new RcloneDecryptingStream(new MemoryStream(encrypted), s_key), 4099);

        Assert.Equal(RcloneCryptFormat.EncryptedSize(size), encrypted.Length);
        Assert.Equal("RCLONE\0\0", Encoding.ASCII.GetString(encrypted, 0, 8));
        Assert.Equal(plain, decrypted);
    }

    [Fact]
    public void ADisposedEncryptingStreamRefusesToRead()
    {
        // Its block buffers went back to the shared pool: reading them now would read another user's bytes.
        var stream = new RcloneEncryptingStream(new MemoryStream(new byte[100_000]), s_key);
        var buffer = new byte[70_000];
        Assert.True(stream.Read(buffer, 0, buffer.Length) > 0);

        stream.Dispose();

        Assert.Throws<ObjectDisposedException>(() => stream.Read(buffer, 0, buffer.Length));
    }

    [Fact]
    public void AnUnseekableSourceEncryptsTheSame()
    {
        var plain = RandomNumberGenerator.GetBytes((2 * 65536) + 100);
        var nonce = RcloneEncryptingStream.NewNonce();

        var fromSeekable = ReadAll(new RcloneEncryptingStream(new MemoryStream(plain), s_key, nonce), 65536);
        var fromPipe = ReadAll(new RcloneEncryptingStream(new ForwardOnlyStream(plain), s_key, nonce), 1000);

        Assert.Equal(fromSeekable, fromPipe);
    }

    [Fact]
    public void IdenticalBlocksEncryptDifferentlyUnderTheSteppedNonce()
    {
        var encrypted = ReadAll(new RcloneEncryptingStream(new MemoryStream(new byte[2 * 65536]), s_key), 65536);

        var first = encrypted.AsSpan(32, 65552).ToArray();
        var second = encrypted.AsSpan(32 + 65552, 65552).ToArray();
        Assert.NotEqual(first, second);
    }

    [Fact]
    public void ASeekedRangeEqualsTheSameRangeReadInOrder()
    {
        var plain = RandomNumberGenerator.GetBytes((5 * 65536) + 333);
        var nonce = RcloneEncryptingStream.NewNonce();
        var whole = ReadAll(new RcloneEncryptingStream(new MemoryStream(plain), s_key, nonce), 8192);

        using var part = new RcloneEncryptingStream(new MemoryStream(plain), s_key, nonce);
        Assert.Equal(whole.Length, part.Length);
        foreach (var (start, length) in new[] { (150_000L, 150_000), (0L, 10), (whole.Length - 50, 50), (65552L + 32, 65552) })
        {
            part.Position = start;
            var range = new byte[length];
            var filled = 0;
            while (filled < length)
            {
                var n = part.Read(range, filled, length - filled);
                Assert.True(n > 0);
                filled += n;
            }

            Assert.Equal(whole.AsSpan((int)start, length).ToArray(), range);
        }
    }

    [Fact]
    public void AWrongKeyFailsAuthenticationWithAClearMessage()
    {
        var encrypted = ReadAll(new RcloneEncryptingStream(new MemoryStream(new byte[100]), s_key), 4096);
        var other = RcloneCryptKey.Derive(new ChittySecret("another password"));

        var error = Assert.Throws<RcloneCryptException>(() => ReadAll(new RcloneDecryptingStream(new MemoryStream(encrypted), other), 4096));

        Assert.Equal(RcloneCryptException.BadBlock, error.Code);
        Assert.Contains("password or salt is wrong", error.Message);
        Assert.DoesNotContain("another password", error.Message);
    }

    [Fact]
    public void AnAlteredByteInALaterBlockFailsBeforeThatBlockIsReturned()
    {
        var plain = RandomNumberGenerator.GetBytes(3 * 65536);
        var encrypted = ReadAll(new RcloneEncryptingStream(new MemoryStream(plain), s_key), 65536);
        encrypted[32 + (2 * 65552) + 100] ^= 1;
        using var decrypting = new RcloneDecryptingStream(new MemoryStream(encrypted), s_key);
        var buffer = new byte[65536];

        Assert.Equal(65536, decrypting.Read(buffer, 0, buffer.Length));
        Assert.Equal(65536, decrypting.Read(buffer, 0, buffer.Length));
        var error = Assert.Throws<RcloneCryptException>(() => decrypting.Read(buffer, 0, buffer.Length));

        Assert.Equal(RcloneCryptException.BadBlock, error.Code);
        Assert.Contains("Block 2", error.Message);
    }

    [Theory]
    [InlineData("", RcloneCryptException.Truncated)]
    [InlineData("RCLONE\0\0short", RcloneCryptException.Truncated)]
    [InlineData("NOTRCLONE-and-then-enough-bytes-for-a-header", RcloneCryptException.BadMagic)]
    public void ContentThatIsNotRcloneCryptIsNamed(string content, string code)
    {
        var error = Assert.Throws<RcloneCryptException>(() =>
            ReadAll(new RcloneDecryptingStream(new MemoryStream(Encoding.ASCII.GetBytes(content)), s_key), 4096));

        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void ABlockWithoutDataIsACutNotAnEmptyBlock()
    {
        var encrypted = ReadAll(new RcloneEncryptingStream(new MemoryStream(new byte[10]), s_key), 4096);

        var error = Assert.Throws<RcloneCryptException>(() =>
            ReadAll(new RcloneDecryptingStream(new MemoryStream(encrypted[..(32 + 16)]), s_key), 4096));

        Assert.Equal(RcloneCryptException.Truncated, error.Code);
    }

    [Fact]
    public async Task AsyncReadsDecryptTheSame()
    {
        var plain = RandomNumberGenerator.GetBytes(200_000);
        var encrypted = ReadAll(new RcloneEncryptingStream(new MemoryStream(plain), s_key), 65536);
        await using var decrypting = new RcloneDecryptingStream(new MemoryStream(encrypted), s_key);
        using var output = new MemoryStream();

        await decrypting.CopyToAsync(output, 12345);

        Assert.Equal(plain, output.ToArray());
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(65536, 7)]
    [InlineData((2 * 65536) + 17, 65552)]
    [InlineData((2 * 65536) + 17, 100_000)]
    [InlineData((81 * 65536) + 17, 7)]
    [InlineData((81 * 65536) + 17, 1_000_000)]
    [InlineData(64 * 65536, 65552)]
    public async Task TheWriteSideDecryptsWhateverTheWriteSizes(int size, int writeSize)
    {
        var plain = RandomNumberGenerator.GetBytes(size);
        var encrypted = ReadAll(new RcloneEncryptingStream(new MemoryStream(plain), s_key), 65536);
        using var output = new MemoryStream();
        var writer = new RcloneDecryptingWriteStream(output, s_key);

        for (var offset = 0; offset < encrypted.Length; offset += writeSize)
        {
            await writer.WriteAsync(encrypted, offset, Math.Min(writeSize, encrypted.Length - offset));
        }

        await writer.CompleteAsync(CancellationToken.None);
        Assert.Equal(plain, output.ToArray());
        Assert.Equal(size, writer.PlainBytes);
    }

    [Fact]
    public async Task TheWriteSideWritesNothingOfABlockThatFailsAndRefusesACut()
    {
        var encrypted = ReadAll(new RcloneEncryptingStream(new MemoryStream(new byte[1000]), s_key), 65536);
        using var output = new MemoryStream();
        var wrong = new RcloneDecryptingWriteStream(output, RcloneCryptKey.Derive(new ChittySecret("wrong")));
        await wrong.WriteAsync(encrypted, 0, encrypted.Length);

        var bad = await Assert.ThrowsAsync<RcloneCryptException>(() => wrong.CompleteAsync(CancellationToken.None));
        Assert.Equal(RcloneCryptException.BadBlock, bad.Code);
        Assert.Equal(0, output.Length);

        var cut = new RcloneDecryptingWriteStream(new MemoryStream(), s_key);
        await cut.WriteAsync(encrypted, 0, 40);
        Assert.Equal(RcloneCryptException.Truncated, (await Assert.ThrowsAsync<RcloneCryptException>(() => cut.CompleteAsync(CancellationToken.None))).Code);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(40)]
    [InlineData(70)]
    public async Task AnAlteredBlockStopsTheWriteSideAfterExactlyTheBlocksBeforeIt(int altered)
    {
        // 81 blocks: the writer opens them in batches on several threads; what it writes must still stop at the altered one.
        var plain = RandomNumberGenerator.GetBytes((81 * 65536) + 17);
        var encrypted = ReadAll(new RcloneEncryptingStream(new MemoryStream(plain), s_key), 65536);
        encrypted[RcloneCryptFormat.FileHeaderSize + (altered * RcloneCryptFormat.BlockSize) + 100] ^= 1;
        using var output = new MemoryStream();
        var writer = new RcloneDecryptingWriteStream(output, s_key);

        var failed = await Assert.ThrowsAsync<RcloneCryptException>(async () =>
        {
            for (var offset = 0; offset < encrypted.Length; offset += 300_000)
            {
                await writer.WriteAsync(encrypted, offset, Math.Min(300_000, encrypted.Length - offset));
            }

            await writer.CompleteAsync(CancellationToken.None);
        });

        Assert.Equal(RcloneCryptException.BadBlock, failed.Code);
        Assert.Contains($"Block {altered} failed", failed.Message);
        Assert.Equal(plain.AsSpan(0, altered * 65536).ToArray(), output.ToArray());
        Assert.Equal(altered * 65536L, writer.PlainBytes);
    }

    [Theory]
    [InlineData("file.txt")]
    [InlineData("a/b/c/deep.txt")]
    [InlineData("Ünïcödé ファイル/名前 with spaces.md")]
    [InlineData("exactly-16-bytes")]
    public void NamesRoundTripSegmentBySegment(string path)
    {
        using var names = new RcloneNameCipher(s_key);

        var encrypted = names.EncryptPath(path);

        Assert.Equal(path.Split('/').Length, encrypted.Split('/').Length);
        Assert.Matches("^[0-9a-v/]+$", encrypted);
        Assert.Equal(encrypted, names.EncryptPath(path));
        Assert.Equal(path, names.DecryptPath(encrypted));
    }

    [Fact]
    public void NamesWithACommonStartShareNoPrefix()
    {
        using var names = new RcloneNameCipher(s_key);

        var a = names.EncryptPath("report-2026-01.pdf");
        var b = names.EncryptPath("report-2026-02.pdf");

        Assert.NotEqual(a[0], b[0]);
    }

    [Fact]
    public void OffModeAppendsBin()
    {
        using var names = new RcloneNameCipher(s_key, RcloneNameEncryption.Off);

        Assert.Equal("a/b.txt.bin", names.EncryptPath("a/b.txt"));
        Assert.Equal("a/b.txt", names.DecryptPath("a/b.txt.bin"));
        Assert.False(names.TryDecryptPath("a/b.txt", out _));
        Assert.False(names.TryDecryptPath(".bin", out _));
    }

    [Theory]
    [InlineData("plain-name.txt")]
    [InlineData("0123456789abcdef")]
    [InlineData("abc")]
    public void NamesTheseKeysDidNotEncryptAreRefused(string name)
    {
        using var names = new RcloneNameCipher(s_key);

        var error = Assert.Throws<RcloneCryptException>(() => names.DecryptPath(name));

        Assert.Equal(RcloneCryptException.BadName, error.Code);
    }

    [Fact]
    public void ANameOfAnotherPasswordDoesNotDecrypt()
    {
        using var mine = new RcloneNameCipher(s_key);
        using var theirs = new RcloneNameCipher(RcloneCryptKey.Derive(new ChittySecret("theirs")));

        Assert.False(mine.TryDecryptPath(theirs.EncryptPath("secret-plans.txt"), out _));
    }

    [Fact]
    public void ObscureRoundTripsAndBadInputIsNotEchoed()
    {
        var obscured = RcloneObscure.Obscure(new ChittySecret("pässword"));

        Assert.Matches("^[A-Za-z0-9_-]+$", obscured);
        Assert.Equal("pässword", RcloneObscure.Reveal(obscured).Reveal());
        var error = Assert.Throws<ArgumentException>(() => RcloneObscure.Reveal("not obscured!"));
        Assert.DoesNotContain("not obscured!", error.Message);
    }

    [Fact]
    public void KeysPrintAsAMask()
    {
        Assert.Equal(ChittySecret.Mask, s_key.ToString());
    }

    internal static byte[] ReadAll(Stream stream, int chunk)
    {
        using (stream)
        {
            using var output = new MemoryStream();
            var buffer = new byte[chunk];
            int n;
            while ((n = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                output.Write(buffer, 0, n);
            }

            return output.ToArray();
        }
    }

    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            // Short reads, as a pipe gives them.
            var n = Math.Min(Math.Min(count, 3000), data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
