using System;
using ChittyConnect.Crypt;
using Org.BouncyCastle.Crypto.Parameters;
using Xunit;
using BouncyPoly1305 = Org.BouncyCastle.Crypto.Macs.Poly1305;

namespace ChittyConnect.Tests.Crypt;

/// <summary>
/// The vectorised secretbox (ChittyConnect.Crypt.Vector) against BouncyCastle as the reference: sealed bytes
/// equal for random keys, nonces, lengths and offsets (across its 512-byte keystream chunks), each opening
/// what the other sealed, and its Poly1305 against RFC 8439's vectors and BouncyCastle's Poly1305.
/// </summary>
public sealed class VectorSecretBoxCoreTests
{
    [Fact]
    public void TheLibraryUsesItOnThisRuntime()
    {
        Assert.IsType<VectorSecretBoxCore>(SecretBoxCores.Fastest);
    }

    [Fact]
    public void SealsAsBouncyCastleForEveryLengthAroundItsChunksAndOpensWhatBouncyCastleSealed()
    {
        // Keystream chunks are 512 bytes and the message starts 32 bytes into the first: 480, 992, ... are edges.
        var lengths = new System.Collections.Generic.List<int>();
        for (var length = 0; length <= 1100; length++)
        {
            lengths.Add(length);
        }

        lengths.AddRange(new[] { 4064, 4065, 65535, 65536, 65537 });
        var random = new Random(21);
        foreach (var length in lengths)
        {
            var key = SecretBoxTests.Random(random, 32);
            var nonce = SecretBoxTests.Random(random, 24);
            var message = SecretBoxTests.Random(random, length);
            var (inOffset, outOffset) = (random.Next(0, 9), random.Next(0, 9));
            var plain = new byte[inOffset + length];
            message.CopyTo(plain, inOffset);
            var sealedBox = new byte[outOffset + length + SecretBox.TagSize];

            SecretBoxTests.VectorCore.Seal(key, nonce, plain, inOffset, length, sealedBox, outOffset);

            var expected = SecretBoxTests.ReferenceSeal(key, nonce, message);
            Assert.True(expected.AsSpan().SequenceEqual(sealedBox.AsSpan(outOffset)), $"Sealed {length} bytes unlike BouncyCastle.");
            var opened = new byte[length + 5];
            Assert.True(SecretBoxTests.VectorCore.Open(key, nonce, expected, 0, expected.Length, opened, 5), $"Did not open {length} bytes BouncyCastle sealed.");
            Assert.True(message.AsSpan().SequenceEqual(opened.AsSpan(5)), $"Opened {length} bytes to other plaintext.");
        }
    }

    [Fact]
    public void RefusesAnAlteredByteOrAnotherKeyAndWritesNothing()
    {
        var random = new Random(7);
        var key = SecretBoxTests.Random(random, 32);
        var nonce = SecretBoxTests.Random(random, 24);
        var message = SecretBoxTests.Random(random, 1500);
        var sealedBox = SecretBoxTests.ReferenceSeal(key, nonce, message);
        var opened = new byte[message.Length];

        for (var i = 0; i < sealedBox.Length; i += 101)
        {
            sealedBox[i] ^= 0x01;
            Assert.False(SecretBoxTests.VectorCore.Open(key, nonce, sealedBox, 0, sealedBox.Length, opened, 0));
            sealedBox[i] ^= 0x01;
        }

        var otherKey = (byte[])key.Clone();
        otherKey[31] ^= 0x80;
        Assert.False(SecretBoxTests.VectorCore.Open(otherKey, nonce, sealedBox, 0, sealedBox.Length, opened, 0));
        Assert.False(SecretBoxTests.VectorCore.Open(key, nonce, sealedBox, 0, SecretBox.TagSize - 1, opened, 0));
        Assert.All(opened, b => Assert.Equal(0, b));
    }

    [Fact]
    public void ABlockCounterPastTwoToThe32CarriesIntoItsHighWord()
    {
        // Lanes that cross 2^32 within a chunk give the blocks that a chunk starting at 2^32 gives.
        var state = new uint[16];
        Salsa20Vector.Setup(SecretBoxTests.Filled(32, 9), SecretBoxTests.Filled(24, 4), state);
        var across = new byte[Salsa20Vector.ChunkBytes];
        var after = new byte[Salsa20Vector.ChunkBytes];
        var before = new byte[Salsa20Vector.ChunkBytes];

        Salsa20Vector.Blocks(state, (1UL << 32) - 4, across);
        Salsa20Vector.Blocks(state, 1UL << 32, after);
        Salsa20Vector.Blocks(state, (1UL << 32) - 8, before);

        Assert.Equal(Convert.ToHexString(before, 256, 256), Convert.ToHexString(across, 0, 256));
        Assert.Equal(Convert.ToHexString(after, 0, 256), Convert.ToHexString(across, 256, 256));
        Assert.NotEqual(Convert.ToHexString(before, 0, 256), Convert.ToHexString(after, 0, 256));
    }

    [Theory]
    // RFC 8439 section 2.5.2.
    [InlineData("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b", "43727970746f6772617068696320466f72756d2052657365617263682047726f7570", "a8061dc1305136c6c22b8baf0c0127a9")]
    // RFC 8439 appendix A.3, vector 1: all zero.
    [InlineData("0000000000000000000000000000000000000000000000000000000000000000", "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000", "00000000000000000000000000000000")]
    // Appendix A.3, vectors 5-9: h at and around p, where the final reduction chooses.
    [InlineData("0200000000000000000000000000000000000000000000000000000000000000", "ffffffffffffffffffffffffffffffff", "03000000000000000000000000000000")]
    [InlineData("02000000000000000000000000000000ffffffffffffffffffffffffffffffff", "02000000000000000000000000000000", "03000000000000000000000000000000")]
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000", "fffffffffffffffffffffffffffffffff0ffffffffffffffffffffffffffffff11000000000000000000000000000000", "05000000000000000000000000000000")]
    [InlineData("0100000000000000000000000000000000000000000000000000000000000000", "fffffffffffffffffffffffffffffffffbfefefefefefefefefefefefefefefe01010101010101010101010101010101", "00000000000000000000000000000000")]
    [InlineData("0200000000000000000000000000000000000000000000000000000000000000", "fdffffffffffffffffffffffffffffff", "faffffffffffffffffffffffffffffff")]
    public void Poly1305GivesTheRfcsVectorsAsBouncyCastleDoes(string keyHex, string messageHex, string tagHex)
    {
        var key = Convert.FromHexString(keyHex);
        var message = Convert.FromHexString(messageHex);
        var tag = new byte[16];

        Poly1305Wide.Mac(key, message, tag);

        Assert.Equal(tagHex, Convert.ToHexString(tag).ToLowerInvariant());
        Assert.Equal(tagHex, Convert.ToHexString(BouncyCastleMac(key, message)).ToLowerInvariant());
    }

    [Fact]
    public void Poly1305EqualsBouncyCastlesForRandomKeysAndLengths()
    {
        var random = new Random(1305);
        for (var length = 0; length <= 300; length++)
        {
            var key = SecretBoxTests.Random(random, 32);
            // Every fourth message all ones: the accumulator's limbs at their largest.
            var message = length % 4 == 0 ? SecretBoxTests.Filled(length, 0xff) : SecretBoxTests.Random(random, length);
            var tag = new byte[16];

            Poly1305Wide.Mac(key, message, tag);

            Assert.Equal(Convert.ToHexString(BouncyCastleMac(key, message)), Convert.ToHexString(tag));
        }
    }

    private static byte[] BouncyCastleMac(byte[] key, byte[] message)
    {
        var poly = new BouncyPoly1305();
        poly.Init(new KeyParameter(key));
        poly.BlockUpdate(message, 0, message.Length);
        var tag = new byte[16];
        poly.DoFinal(tag, 0);
        return tag;
    }
}
