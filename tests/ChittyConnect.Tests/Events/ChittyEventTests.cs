using System.Text.Json;
using ChittyConnect.Events;
using Xunit;

namespace ChittyConnect.Tests.Events;

public sealed class ChittyEventTests
{
    [Theory]
    [InlineData("\"2025-01-02T03:04:05.678Z\"", 1735787045678)]
    [InlineData("\"2025-01-02T04:04:05.678+01:00\"", 1735787045678)]
    [InlineData("\"2025-01-02T03:04:05.678\"", 1735787045678)]
    [InlineData("1735787045678", 1735787045678)]
    [InlineData("\"1735787045678\"", 1735787045678)]
    [InlineData("1735787045", 1735787045000)]
    public void TimestampsAreReadAsIsoStringsOrEpochNumbers(string json, long expectedMs)
    {
        var created = ChittyEvent.TryCreate(new SseMessage("message", $"{{\"type\":\"t\",\"timestamp\":{json}}}", null), out var e, out _);

        Assert.True(created);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(expectedMs), e!.Timestamp);
    }

    [Theory]
    [InlineData("\"yesterday\"")]
    [InlineData("null")]
    [InlineData("{}")]
    [InlineData("-5")]
    public void AnUnreadableTimestampIsNull(string json)
    {
        ChittyEvent.TryCreate(new SseMessage("message", $"{{\"type\":\"t\",\"timestamp\":{json}}}", null), out var e, out _);

        Assert.Null(e!.Timestamp);
    }

    [Fact]
    public void TheEventCarriesThePayloadFields()
    {
        const string raw = """{"type":"context.files.synced","sessionId":"s","pathPrefix":"docs/","count":2,"eventId":"e"}""";

        Assert.True(ChittyEvent.TryCreate(new SseMessage("message", raw, "9"), out var e, out var error));

        Assert.Null(error);
        Assert.Equal("context.files.synced", e!.Type);
        Assert.Equal("s", e.SessionId);
        Assert.Equal(raw, e.Raw);
        Assert.Equal("9", e.EventId);
        Assert.Equal("message", e.EventName);
        Assert.Equal(2, e.Json.GetProperty("count").GetInt32());
        Assert.Equal(JsonValueKind.Object, ((JsonElement)e.Data).ValueKind);
        Assert.Equal("context.files.synced (s)", e.ToString());
    }

    [Fact]
    public void APayloadWithoutTypeIsTypedByTheEventName()
    {
        Assert.True(ChittyEvent.TryCreate(new SseMessage("ping", "[1,2]", null), out var e, out _));

        Assert.Equal("ping", e!.Type);
        Assert.Null(e.SessionId);
    }

    [Fact]
    public void APayloadThatIsNotJsonIsRefusedWithAReason()
    {
        Assert.False(ChittyEvent.TryCreate(new SseMessage("message", "{oops", null), out var e, out var error));

        Assert.Null(e);
        Assert.Contains("{oops", error, StringComparison.Ordinal);
    }
}

public sealed class WildcardMatcherTests
{
    [Theory]
    [InlineData("context.files.synced", "context.files.synced", true)]
    [InlineData("context.files.synced", "CONTEXT.FILES.*", true)]
    [InlineData("context.files.synced", "*synced", true)]
    [InlineData("context.files.synced", "*.files.*", true)]
    [InlineData("context.files.synced", "context.files.sync?d", true)]
    [InlineData("context.files.synced", "*", true)]
    [InlineData("context.files.synced", "context.files", false)]
    [InlineData("context.files.synced", "context.files.sync", false)]
    [InlineData("context.files.synced", "?context.files.synced", false)]
    [InlineData("context.files.synced", "*uploaded", false)]
    [InlineData("", "*", true)]
    [InlineData("", "?", false)]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*a*a*a*c", false)]
    public void MatchesStarAndQuestionMarkIgnoringCase(string input, string pattern, bool expected)
    {
        Assert.Equal(expected, WildcardMatcher.IsMatch(input, pattern));
    }

    [Fact]
    public void NoPatternsMatchEverything()
    {
        Assert.True(WildcardMatcher.IsMatchAny("x", Array.Empty<string>()));
        Assert.True(WildcardMatcher.IsMatchAny("x", null));
        Assert.False(WildcardMatcher.IsMatchAny("x", new[] { "y", "z*" }));
    }
}
