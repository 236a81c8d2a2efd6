using ChittyConnect.Hashing;
using ChittyConnect.Sync;
using Xunit;

namespace ChittyConnect.Tests.Hashing;

public sealed class PackedHexTests
{
    public static readonly TheoryData<string?> Texts = new()
    {
        null,
        "",
        "0123456789abcdef0123456789abcdef",
        new string('e', 64),
        "0123456789ABCDEF0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef-12",
        "abc",
        "not hex at all",
    };

    [Theory]
    [MemberData(nameof(Texts))]
    public void A_packed_text_compares_and_measures_as_the_text_itself(string? text)
    {
        var packed = PackedHex.Pack(text);

        Assert.Equal(text, PackedHex.Unpack(packed));
        Assert.Equal(text?.Length ?? 0, PackedHex.TextLength(packed));
        Assert.True(PackedHex.Is(packed, text));
        foreach (var other in Texts)
        {
            Assert.Equal(other == text, PackedHex.Is(packed, other));
            Assert.Equal(other == text, PackedHex.Same(packed, PackedHex.Pack(other)));
        }
    }

    [Fact]
    public void Hex_text_is_packed_into_half_its_length_in_bytes_and_other_text_is_kept()
    {
        Assert.Equal(new byte[] { 0x01, 0xab }, PackedHex.Pack("01ab"));
        Assert.Equal("01AB", PackedHex.Pack("01AB"));
        Assert.Equal("01a", PackedHex.Pack("01a"));
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef")]
    [InlineData("0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210-2")]
    [InlineData("", "\"rclone-crypt\"")]
    public void An_entry_made_of_another_entrys_hashes_reads_as_one_made_of_their_text(string md5, string etag)
    {
        var hashes = new SyncStateEntry { Size = 7, ModifiedTicks = 42, Sha256 = new string('a', 64), Md5 = md5, RemoteETag = "older" };

        var entry = SyncStateEntry.Of(hashes, etag, reported: true);

        var expected = new SyncStateEntry { Size = 7, ModifiedTicks = 42, Sha256 = new string('a', 64), Md5 = md5, RemoteETag = etag, Reported = true };
        Assert.True(entry.SameAs(expected));
        Assert.Equal((expected.Sha256, expected.Md5, expected.RemoteETag), (entry.Sha256, entry.Md5, entry.RemoteETag));
        Assert.True(entry.Is(hashes, etag, reported: true));
        Assert.False(entry.Is(hashes, etag, reported: false));
        Assert.False(entry.Is(hashes, "other", reported: true));
        Assert.True(entry.RemoteETagIs(etag));
        Assert.False(entry.RemoteETagIs((string?)null));
        Assert.True(entry.RemoteETagIs(new ChittyConnect.Storage.RemoteObject("k", 7, etag, null)));
        Assert.True(entry.SameContentAs(hashes));
        Assert.Equal((64, md5.Length), (entry.Sha256Length, entry.Md5Length));
    }
}
