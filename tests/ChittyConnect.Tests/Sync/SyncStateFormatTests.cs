using System.IO;
using ChittyConnect.Sync;
using Xunit;

namespace ChittyConnect.Tests.Sync;

public class SyncStateFormatTests
{
    [Theory]
    [InlineData("plain/name.txt", "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef", true)]
    [InlineData("tab\there, new\nline, cr\r and back\\slash", "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef-3", false)]
    [InlineData("=:-", "", "0123456789abcdef0123456789abcdef", false)]
    [InlineData("no-etag", "0123456789abcdef0123456789abcdef", null, true)]
    [InlineData("an etag that looks like a marker", "0123456789abcdef0123456789abcdef", "-", false)]
    public void An_entry_reads_back_as_written_whatever_its_name_and_etag_hold(string path, string md5, string? etag, bool reported)
    {
        var entry = new SyncStateEntry { Size = 12345, ModifiedTicks = 638673456789012345, Sha256 = new string('e', 64), Md5 = md5, RemoteETag = etag, Reported = reported };
        using var text = new StringWriter { NewLine = "\n" };

        SyncStateFormat.WriteEntry(text, path, entry);

        var line = text.ToString().TrimEnd('\n');
        Assert.DoesNotContain('\n', line);
        var (readPath, read) = SyncStateFormat.ParseEntry(SyncStateFormat.Split(line));
        Assert.Equal(path, readPath);
        Assert.Equal((entry.Size, entry.ModifiedTicks, entry.Sha256, entry.Md5, entry.RemoteETag, entry.Reported), (read.Size, read.ModifiedTicks, read.Sha256, read.Md5, read.RemoteETag, read.Reported));
    }

    [Theory]
    [InlineData("F\tonly\tthree")]
    [InlineData("F\ta\t1\t2\tsha\tmd5\tetag-without-marker\tr")]
    [InlineData("F\ta\t1\t2\tsha\tmd5\t=\tmaybe")]
    [InlineData("F\ta\tnot-a-size\t2\tsha\tmd5\t=\tr")]
    [InlineData("F\ta\\q\t1\t2\tsha\tmd5\t=\tr")]
    public void A_damaged_line_is_refused_not_guessed_at(string line)
    {
        Assert.ThrowsAny<System.FormatException>(() => SyncStateFormat.ParseEntry(SyncStateFormat.Split(line)));
    }

    // The fields of each case are separated by '|'.
    [Theory]
    [InlineData("F|a/b.txt|=|-|r")]
    [InlineData("|a|")]
    [InlineData("")]
    [InlineData("one")]
    [InlineData("x|||y")]
    [InlineData("tab\there|back\\slash|")]
    [InlineData("|new\nline|F|q\r")]
    public void Fields_split_back_as_joined_with_or_without_escapes(string joined)
    {
        var fields = joined.Split('|');

        Assert.Equal(fields, SyncStateFormat.Split(SyncStateFormat.Join(fields)));
    }
}
