using System.Text;
using ChittyConnect.Events;
using Xunit;

namespace ChittyConnect.Tests.Events;

public sealed class SseParserTests
{
    private const string Sample =
        "\uFEFF: a comment\r\n" +
        "retry: 1500\n" +
        "event: update\r" +
        "id: 42\r\n" +
        "data: {\"type\":\"first\",\r\n" +
        "data:  \"x\":\"é€😀\"}\n" +
        "\r\n" +
        "data:second\r" +
        "\r" +
        "unknown: field\n" +
        "data\n" +
        "data: \n" +
        "\n";

    [Theory]
    [InlineData("\n")]
    [InlineData("\r")]
    [InlineData("\r\n")]
    public void EveryLineEndingEndsLinesAndEvents(string eol)
    {
        var result = Parse($"event: a{eol}data: one{eol}data: two{eol}{eol}data: three{eol}{eol}");

        Assert.Collection(
            result.Messages,
            m =>
            {
                Assert.Equal("a", m.EventName);
                Assert.Equal("one\ntwo", m.Data);
            },
            m =>
            {
                Assert.Equal("message", m.EventName);
                Assert.Equal("three", m.Data);
            });
    }

    [Fact]
    public void MixedLineEndingsInOneStreamAreEachOneLineEnd()
    {
        // "\n\r" is two line ends (an LF, then a CR), so it ends the event; "\r\n" is one.
        var result = Parse("data: a\r\ndata: b\n\rdata: c\r\n\r\n");

        Assert.Equal(new[] { "a\nb", "c" }, result.Messages.Select(m => m.Data));
    }

    [Fact]
    public void TheSampleGivesTheSpecifiedEvents()
    {
        var result = Parse(Sample);
        AssertSample(result);
    }

    [Fact]
    public void SplittingTheBytesAtAnyPositionGivesTheSameEvents()
    {
        var bytes = Encoding.UTF8.GetBytes(Sample);
        for (var split = 0; split <= bytes.Length; split++)
        {
            var result = ParseBytes(bytes, split);
            AssertSample(result);
        }
    }

    [Fact]
    public void FeedingOneByteAtATimeGivesTheSameEvents()
    {
        var bytes = Encoding.UTF8.GetBytes(Sample);
        var result = new Result();
        var parser = result.CreateParser();
        for (var i = 0; i < bytes.Length; i++)
        {
            parser.Feed(bytes, i, 1);
        }

        AssertSample(result);
        Assert.Equal("42", parser.LastEventId);
        Assert.Equal(1500, parser.RetryMilliseconds);
    }

    [Fact]
    public void CommentsAreIgnoredAndDoNotDispatch()
    {
        var result = Parse(": hello\n:\ndata: x\n: in the middle\ndata: y\n\n:trailing\n\n");

        var message = Assert.Single(result.Messages);
        Assert.Equal("x\ny", message.Data);
    }

    [Fact]
    public void AnEventWithoutDataIsNotDispatchedButItsIdIsKept()
    {
        var result = Parse("id: 5\nevent: nothing\n\ndata: x\n\n");

        var message = Assert.Single(result.Messages);
        Assert.Equal("message", message.EventName);
        Assert.Equal("5", message.LastEventId);
    }

    [Fact]
    public void TheLastEventIdCarriesOverAndAnEmptyIdResetsIt()
    {
        var result = Parse("id: 1\ndata: a\n\ndata: b\n\nid\ndata: c\n\n");

        Assert.Equal(new[] { "1", "1", "" }, result.Messages.Select(m => m.LastEventId));
    }

    [Fact]
    public void AnIdContainingNulIsIgnored()
    {
        var result = Parse("id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n");

        Assert.Equal(new[] { "1", "1" }, result.Messages.Select(m => m.LastEventId));
    }

    [Theory]
    [InlineData("retry: 3000", 3000)]
    [InlineData("retry:0", 0)]
    [InlineData("retry: 12a", null)]
    [InlineData("retry: -5", null)]
    [InlineData("retry: 1.5", null)]
    [InlineData("retry:", null)]
    [InlineData("retry:  7", null)]
    public void RetryTakesOnlyDigits(string line, int? expected)
    {
        var result = new Result();
        var parser = result.CreateParser();
        var bytes = Encoding.UTF8.GetBytes(line + "\n\n");
        parser.Feed(bytes, 0, bytes.Length);

        Assert.Equal(expected, parser.RetryMilliseconds);
    }

    [Fact]
    public void OnlyOneSpaceAfterTheColonIsStripped()
    {
        var result = Parse("data:  two spaces\ndata:none\n\n");

        Assert.Equal(" two spaces\nnone", Assert.Single(result.Messages).Data);
    }

    [Fact]
    public void ABomIsStrippedOnlyAtTheStart()
    {
        var result = Parse("\uFEFFdata: a\n\n\uFEFFdata: b\n\ndata: c\n\n");

        // The second BOM makes "\uFEFFdata" an unknown field, so "b" is lost as in a browser.
        Assert.Equal(new[] { "a", "c" }, result.Messages.Select(m => m.Data));
    }

    [Fact]
    public void AnIncompleteEventAtTheEndIsDiscarded()
    {
        var result = new Result();
        var parser = result.CreateParser();
        var bytes = Encoding.UTF8.GetBytes("data: a\n\ndata: half");
        parser.Feed(bytes, 0, bytes.Length);
        parser.Complete();
        var next = Encoding.UTF8.GetBytes("data: b\n\n");
        parser.Feed(next, 0, next.Length);

        Assert.Equal(new[] { "a", "b" }, result.Messages.Select(m => m.Data));
    }

    [Fact]
    public void AnOversizedEventIsSkippedWithOneWarningAndTheNextIsParsed()
    {
        var big = new string('x', 5000);
        var text = $"data: small\n\nid: 9\ndata: {big}\ndata: {big}\n: comment\nevent: big\n\ndata: after\n\n";
        var result = Parse(text, maxEventBytes: 1024);

        Assert.Equal(new[] { "small", "after" }, result.Messages.Select(m => m.Data));
        Assert.Equal("message", result.Messages[1].EventName);
        var warning = Assert.Single(result.Warnings);
        Assert.Contains("1024", warning);
    }

    [Fact]
    public void AnOversizedEventSplitAcrossReadsIsSkipped()
    {
        var bytes = Encoding.UTF8.GetBytes($"data: {new string('y', 3000)}\n\ndata: after\n\n");
        for (var split = 1; split < bytes.Length; split += 97)
        {
            var result = ParseBytes(bytes, split, maxEventBytes: 1000);

            Assert.Equal("after", Assert.Single(result.Messages).Data);
            Assert.Single(result.Warnings);
        }
    }

    [Fact]
    public void MultiMegabyteLinesAreSkippedWithoutBufferingThem()
    {
        var result = new Result();
        var parser = result.CreateParser(maxEventBytes: 64 * 1024);
        var chunk = Encoding.UTF8.GetBytes(new string('z', 1024 * 1024));
        var start = Encoding.UTF8.GetBytes("data: ");
        parser.Feed(start, 0, start.Length);
        for (var i = 0; i < 8; i++)
        {
            parser.Feed(chunk, 0, chunk.Length);
        }

        // An equally long comment costs nothing and warns nothing.
        var comment = Encoding.UTF8.GetBytes("\n\n:");
        parser.Feed(comment, 0, comment.Length);
        for (var i = 0; i < 8; i++)
        {
            parser.Feed(chunk, 0, chunk.Length);
        }

        var end = Encoding.UTF8.GetBytes("\ndata: ok\n\n");
        parser.Feed(end, 0, end.Length);

        Assert.Equal("ok", Assert.Single(result.Messages).Data);
        Assert.Single(result.Warnings);
    }

    [Fact]
    public void InvalidUtf8BecomesReplacementCharacters()
    {
        var bytes = new byte[] { (byte)'d', (byte)'a', (byte)'t', (byte)'a', (byte)':', 0xFF, 0xC3, (byte)'\n', (byte)'\n' };
        var result = ParseBytes(bytes, 6);

        Assert.Equal("\uFFFD\uFFFD", Assert.Single(result.Messages).Data);
    }

    [Fact]
    public async Task ReadToEndAsyncParsesAStream()
    {
        var result = new Result();
        var parser = result.CreateParser();
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(Sample));

        await parser.ReadToEndAsync(stream, onRead: null, CancellationToken.None);

        AssertSample(result);
    }

    private static void AssertSample(Result result)
    {
        Assert.Empty(result.Warnings);
        Assert.Collection(
            result.Messages,
            m =>
            {
                Assert.Equal("update", m.EventName);
                Assert.Equal("{\"type\":\"first\",\n \"x\":\"é€😀\"}", m.Data);
                Assert.Equal("42", m.LastEventId);
            },
            m =>
            {
                Assert.Equal("message", m.EventName);
                Assert.Equal("second", m.Data);
                Assert.Equal("42", m.LastEventId);
            },
            m => Assert.Equal("\n", m.Data));
    }

    private static Result Parse(string text, int maxEventBytes = SseParser.DefaultMaxEventBytes) =>
        ParseBytes(Encoding.UTF8.GetBytes(text), split: 0, maxEventBytes);

    private static Result ParseBytes(byte[] bytes, int split, int maxEventBytes = SseParser.DefaultMaxEventBytes)
    {
        var result = new Result();
        var parser = result.CreateParser(maxEventBytes);
        parser.Feed(bytes, 0, split);
        parser.Feed(bytes, split, bytes.Length - split);
        return result;
    }

    private sealed class Result
    {
        public List<SseMessage> Messages { get; } = new();

        public List<string> Warnings { get; } = new();

        public SseParser CreateParser(int maxEventBytes = SseParser.DefaultMaxEventBytes) =>
            new(Messages.Add, Warnings.Add, maxEventBytes);
    }
}
