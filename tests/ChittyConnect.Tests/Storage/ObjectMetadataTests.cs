using ChittyConnect.Storage;
using Xunit;

namespace ChittyConnect.Tests.Storage;

/// <summary>The object metadata in the forms rclone writes and reads (x-amz-meta-mtime, x-amz-meta-md5chksum).</summary>
public sealed class ObjectMetadataTests
{
    private static readonly DateTimeOffset s_time = new DateTimeOffset(2024, 3, 1, 10, 0, 0, TimeSpan.Zero).AddTicks(1_234_567);

    [Theory]
    [InlineData("1709287200.123456700", 1_234_567)]  // rclone's own form
    [InlineData("1709287200.1234567", 1_234_567)]
    [InlineData("1709287200.000000000", 0)]
    [InlineData("1709287200", 0)]                   // integer seconds
    [InlineData("1709287200123", 1_230_000)]        // the module's earlier milliseconds
    [InlineData(" 1709287200.5 ", 5_000_000)]
    public void ReadsEveryFormOfTheTime(string value, long extraTicks)
    {
        Assert.True(ObjectMetadata.TryParseMtime(value, out var time));

        Assert.Equal(new DateTimeOffset(2024, 3, 1, 10, 0, 0, TimeSpan.Zero).AddTicks(extraTicks), time);
    }

    [Fact]
    public void WritesRclonesFormAndReadsItBack()
    {
        var written = ObjectMetadata.FormatMtime(s_time);

        Assert.Equal("1709287200.123456700", written);
        Assert.True(ObjectMetadata.TryParseMtime(written, out var back));
        Assert.Equal(s_time, back);
        Assert.Equal("-2.500000000", ObjectMetadata.FormatMtime(new DateTimeOffset(1970, 1, 1, 0, 0, 0, TimeSpan.Zero).AddSeconds(-1.5)));
        Assert.True(ObjectMetadata.TryParseMtime("-2.500000000", out var before1970));
        Assert.Equal(new DateTimeOffset(1969, 12, 31, 23, 59, 58, 500, TimeSpan.Zero), before1970);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("2024-03-01T10:00:00Z")]
    [InlineData("1e9")]
    [InlineData("99999999999999999999999")]
    [InlineData("-99999999999.5")]
    [InlineData("1709287200.1.2")]
    [InlineData("-20000000000")]  // 1336: no file system the module runs on dates a file so
    [InlineData("253402300800.0")]  // 10000-01-01
    public void AValueThatCannotBeATimeIsRefusedWithoutAnException(string? value)
    {
        Assert.False(ObjectMetadata.TryParseMtime(value, out _));
    }

    [Fact]
    public void Md5ChecksumIsTheBase64OfTheDigest()
    {
        // `md5sum | xxd -r -p | base64` of the same content, as rclone wrote it on s3rver.
        Assert.Equal("eN4wK0JKdOlGJWDPyZc+2Q==", ObjectMetadata.FormatMd5Checksum("78de302b424a74e9462560cfc9973ed9"));
        Assert.Equal("78de302b424a74e9462560cfc9973ed9", ObjectMetadata.ParseMd5Checksum("eN4wK0JKdOlGJWDPyZc+2Q=="));
        Assert.Null(ObjectMetadata.ParseMd5Checksum("not base64!"));
        Assert.Null(ObjectMetadata.ParseMd5Checksum(Convert.ToBase64String(new byte[20])));
        Assert.Null(ObjectMetadata.ParseMd5Checksum(null));
    }
}
