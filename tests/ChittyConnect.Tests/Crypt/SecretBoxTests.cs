using System;
using ChittyConnect.Crypt;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Macs;
using Org.BouncyCastle.Crypto.Parameters;
using Xunit;

namespace ChittyConnect.Tests.Crypt;

/// <summary>
/// NaCl secretbox, with each of its ciphers (BouncyCastle's, kept for Windows PowerShell, and the vectorised
/// core that .NET 8 and later load), against NaCl's own vector and against BouncyCastle's XSalsa20 and
/// Poly1305 used as the library documents them (ProcessBytes), for every length around the keystream's
/// 64-byte blocks.
/// </summary>
public sealed class SecretBoxTests
{
    /// <summary>The ciphers a SecretBox can run on, by name.</summary>
    public static TheoryData<string> Ciphers => new(CipherNames);

    private static readonly string[] CipherNames = { "BouncyCastle", "Vector" };

    /// <summary>The vectorised core; this machine (as CI's) has 256-bit vectors, so it loads.</summary>
    internal static ISecretBoxCore VectorCore =>
        VectorSecretBoxCore.CreateIfSupported() ?? throw new InvalidOperationException("This machine has no hardware 256-bit vectors, so the vectorised core does not load.");

    /// <summary>A box on the named cipher.</summary>
    internal static SecretBox Box(byte[] key, string cipher) => new(key, cipher == "Vector" ? VectorCore : null);

    [Theory]
    [MemberData(nameof(Ciphers))]
    public void SealGivesNaclsVector(string cipher)
    {
        // golang.org/x/crypto/nacl/secretbox TestSecretBox: generated with the C implementation of NaCl.
        var key = Filled(32, 1);
        var nonce = Filled(24, 2);
        var message = Filled(64, 3);
        var sealedBox = new byte[message.Length + SecretBox.TagSize];

        Box(key, cipher).Seal(message, 0, message.Length, nonce, sealedBox, 0);

        Assert.Equal(
            "8442bc313f4626f1359e3b50122b6ce6fe66ddfe7d39d14e637eb4fd5b45beadab55198df6ab5368439792a23c87db70acb6156dc5ef957ac04f6276cf6093b84be77ff0849cc33e34b7254d5a8f65ad",
            Convert.ToHexString(sealedBox).ToLowerInvariant());
    }

    [Theory]
    [MemberData(nameof(LengthsByCipher))]
    public void SealEqualsTheLibrarysByteWiseCipherAndOpenUndoesIt(string cipher, int length)
    {
        var random = new Random(length);
        var key = Random(random, 32);
        var nonce = Random(random, 24);
        var message = Random(random, length);
        // At an offset on both sides, as rclone's blocks sit in larger buffers.
        var sealedBox = new byte[length + SecretBox.TagSize + 7];
        var box = Box(key, cipher);

        box.Seal(message, 0, length, nonce, sealedBox, 7);

        Assert.Equal(Convert.ToHexString(ReferenceSeal(key, nonce, message)), Convert.ToHexString(sealedBox, 7, length + SecretBox.TagSize));
        var opened = new byte[length + 3];
        Assert.True(box.Open(sealedBox, 7, length + SecretBox.TagSize, nonce, opened, 3));
        Assert.Equal(message, opened.AsSpan(3).ToArray());
    }

    public static TheoryData<string, int> LengthsByCipher()
    {
        var data = new TheoryData<string, int>();
        foreach (var cipher in CipherNames)
        {
            foreach (var length in new[] { 0, 1, 31, 32, 33, 63, 64, 65, 95, 96, 97, 1000, 65536 })
            {
                data.Add(cipher, length);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Ciphers))]
    public void OpenRefusesAnAlteredByteAndDecryptsNothing(string cipher)
    {
        var random = new Random(5);
        var key = Random(random, 32);
        var nonce = Random(random, 24);
        var message = Random(random, 200);
        var sealedBox = new byte[message.Length + SecretBox.TagSize];
        var box = Box(key, cipher);
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

    /// <summary>secretbox composed from BouncyCastle's own calls: keystream bytes 0-31 key Poly1305, the rest encrypt.</summary>
    internal static byte[] ReferenceSeal(byte[] key, byte[] nonce, byte[] message)
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

    internal static byte[] Filled(int length, byte value)
    {
        var bytes = new byte[length];
        Array.Fill(bytes, value);
        return bytes;
    }

    internal static byte[] Random(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
