using System;
using ChittyConnect.Crypt;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Macs;
using Org.BouncyCastle.Crypto.Parameters;
using Xunit;

namespace ChittyConnect.Tests.Crypt;

/// <summary>
/// NaCl secretbox against NaCl's own vector and against BouncyCastle's XSalsa20 and Poly1305 used as the
/// library documents them (ProcessBytes), for every length around the keystream's 64-byte blocks.
/// </summary>
public sealed class SecretBoxTests
{
    [Fact]
    public void SealGivesNaclsVector()
    {
        // golang.org/x/crypto/nacl/secretbox TestSecretBox: generated with the C implementation of NaCl.
        var key = Filled(32, 1);
        var nonce = Filled(24, 2);
        var message = Filled(64, 3);
        var sealedBox = new byte[message.Length + SecretBox.TagSize];

        new SecretBox(key).Seal(message, 0, message.Length, nonce, sealedBox, 0);

        Assert.Equal(
            "8442bc313f4626f1359e3b50122b6ce6fe66ddfe7d39d14e637eb4fd5b45beadab55198df6ab5368439792a23c87db70acb6156dc5ef957ac04f6276cf6093b84be77ff0849cc33e34b7254d5a8f65ad",
            Convert.ToHexString(sealedBox).ToLowerInvariant());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(95)]
    [InlineData(96)]
    [InlineData(97)]
    [InlineData(1000)]
    [InlineData(65536)]
    public void SealEqualsTheLibrarysByteWiseCipherAndOpenUndoesIt(int length)
    {
        var random = new Random(length);
        var key = Random(random, 32);
        var nonce = Random(random, 24);
        var message = Random(random, length);
        // At an offset on both sides, as rclone's blocks sit in larger buffers.
        var sealedBox = new byte[length + SecretBox.TagSize + 7];
        var box = new SecretBox(key);

        box.Seal(message, 0, length, nonce, sealedBox, 7);

        Assert.Equal(Convert.ToHexString(ReferenceSeal(key, nonce, message)), Convert.ToHexString(sealedBox, 7, length + SecretBox.TagSize));
        var opened = new byte[length + 3];
        Assert.True(box.Open(sealedBox, 7, length + SecretBox.TagSize, nonce, opened, 3));
        Assert.Equal(message, opened.AsSpan(3).ToArray());
    }

    [Fact]
    public void OpenRefusesAnAlteredByteAndDecryptsNothing()
    {
        var random = new Random(5);
        var key = Random(random, 32);
        var nonce = Random(random, 24);
        var message = Random(random, 200);
        var sealedBox = new byte[message.Length + SecretBox.TagSize];
        var box = new SecretBox(key);
        box.Seal(message, 0, message.Length, nonce, sealedBox, 0);

        for (var i = 0; i < sealedBox.Length; i += 37)
        {
            sealedBox[i] ^= 0x20;
            var opened = new byte[message.Length];
            Assert.False(box.Open(sealedBox, 0, sealedBox.Length, nonce, opened, 0));
            Assert.All(opened, b => Assert.Equal(0, b));
            sealedBox[i] ^= 0x20;
        }
    }

    // secretbox composed from the library's own calls: keystream bytes 0-31 key Poly1305, the rest encrypt.
    private static byte[] ReferenceSeal(byte[] key, byte[] nonce, byte[] message)
    {
        var salsa = new XSalsa20Engine();
        salsa.Init(true, new ParametersWithIV(new KeyParameter(key), nonce));
        var polyKey = new byte[32];
        salsa.ProcessBytes(new byte[32], 0, 32, polyKey, 0);
        var result = new byte[message.Length + 16];
        salsa.ProcessBytes(message, 0, message.Length, result, 16);
        var poly = new Poly1305();
        poly.Init(new KeyParameter(polyKey));
        poly.BlockUpdate(result, 16, message.Length);
        poly.DoFinal(result, 0);
        return result;
    }

    private static byte[] Filled(int length, byte value)
    {
        var bytes = new byte[length];
        Array.Fill(bytes, value);
        return bytes;
    }

    private static byte[] Random(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
