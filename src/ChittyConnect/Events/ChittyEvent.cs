using System;
using System.Globalization;
using System.Text.Json;

namespace ChittyConnect.Events;

/// <summary>One ChittyConnect event received over server-sent events.</summary>
public sealed class ChittyEvent
{
    /// <summary>The event type the service sends when a stream opens.</summary>
    public const string ConnectedType = "connected";

    /// <summary>The event type of the service's keep-alive events.</summary>
    public const string HeartbeatType = "heartbeat";

    // Below this an epoch number cannot be milliseconds of a plausible date (1e11 ms is March 1973) but is
    // seconds of one (1e11 s is the year 5138).
    private const double EpochSecondsBelow = 1e11;

    /// <summary>Creates an event; <see cref="TryCreate"/> builds one from a received message.</summary>
    public ChittyEvent(
        string type,
        string? sessionId,
        DateTimeOffset? timestamp,
        JsonElement json,
        string raw,
        string? eventId,
        string eventName,
        DateTimeOffset? received = null)
    {
        Type = type ?? throw new ArgumentNullException(nameof(type));
        SessionId = sessionId;
        Timestamp = timestamp;
        Json = json;
        Data = json;
        Raw = raw ?? throw new ArgumentNullException(nameof(raw));
        EventId = eventId;
        EventName = eventName ?? throw new ArgumentNullException(nameof(eventName));
        Received = received ?? DateTimeOffset.Now;
    }

    /// <summary>The payload's <c>type</c> (<c>context.files.synced</c>, <c>heartbeat</c>, ...); the SSE event name when the payload has none.</summary>
    public string Type { get; }

    /// <summary>The payload's <c>sessionId</c>; <see langword="null"/> for events that belong to no session, such as heartbeats.</summary>
    public string? SessionId { get; }

    /// <summary>The payload's <c>timestamp</c>, sent as an ISO 8601 string or as epoch milliseconds.</summary>
    public DateTimeOffset? Timestamp { get; }

    /// <summary>When this client received the event (local time); file events of the service carry no <see cref="Timestamp"/>.</summary>
    public DateTimeOffset Received { get; }

    /// <summary>
    /// The payload. The library sets it to the same <see cref="JsonElement"/> as <see cref="Json"/>; the PowerShell
    /// module replaces it with an object tree that PowerShell users can dot into.
    /// </summary>
    public object Data { get; set; }

    /// <summary>The payload as JSON; a clone that outlives the stream.</summary>
    public JsonElement Json { get; }

    /// <summary>The payload text as received (the SSE data lines joined by <c>\n</c>).</summary>
    public string Raw { get; }

    /// <summary>The SSE last event ID in force for this event, if the server sends IDs (ChittyConnect does not).</summary>
    public string? EventId { get; }

    /// <summary>The SSE <c>event:</c> field, <c>message</c> when absent (as from ChittyConnect).</summary>
    public string EventName { get; }

    /// <inheritdoc/>
    public override string ToString() => SessionId is null ? Type : $"{Type} ({SessionId})";

    /// <summary>
    /// Builds an event from a received message. A payload that is not JSON gives <see langword="false"/> and a reason
    /// to report; a JSON payload that is not an object with a <c>type</c> still gives an event, typed by the SSE event name.
    /// </summary>
    public static bool TryCreate(SseMessage message, out ChittyEvent? chittyEvent, out string? error)
    {
        if (message is null)
        {
            throw new ArgumentNullException(nameof(message));
        }

        chittyEvent = null;
        JsonElement json;
        try
        {
            using var document = JsonDocument.Parse(message.Data);
            json = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            error = $"A server-sent event payload is not valid JSON ({ex.Message}): {Abbreviate(message.Data)}";
            return false;
        }

        var type = message.EventName;
        string? sessionId = null;
        DateTimeOffset? timestamp = null;
        if (json.ValueKind == JsonValueKind.Object)
        {
            if (json.TryGetProperty("type", out var typeValue) && typeValue.ValueKind == JsonValueKind.String)
            {
                type = typeValue.GetString() ?? type;
            }

            if (json.TryGetProperty("sessionId", out var sessionValue) && sessionValue.ValueKind == JsonValueKind.String)
            {
                sessionId = sessionValue.GetString();
            }

            if (json.TryGetProperty("timestamp", out var timestampValue))
            {
                timestamp = ParseTimestamp(timestampValue);
            }
        }

        chittyEvent = new ChittyEvent(type, sessionId, timestamp, json, message.Data, message.LastEventId, message.EventName);
        error = null;
        return true;
    }

    internal static DateTimeOffset? ParseTimestamp(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Number when value.TryGetDouble(out var number):
                return FromEpoch(number);
            case JsonValueKind.String:
                var text = value.GetString();
                if (string.IsNullOrWhiteSpace(text))
                {
                    return null;
                }

                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var epoch))
                {
                    return FromEpoch(epoch);
                }

                // A time without an offset is taken as UTC: the service writes toISOString() (always Z).
                return DateTimeOffset.TryParse(
                    text,
                    CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces,
                    out var parsed)
                    ? parsed
                    : null;
            default:
                return null;
        }
    }

    private static DateTimeOffset? FromEpoch(double number)
    {
        if (double.IsNaN(number) || double.IsInfinity(number) || number < 0)
        {
            return null;
        }

        var milliseconds = number < EpochSecondsBelow ? number * 1000 : number;
        const double MaxMilliseconds = 253402300799999; // 9999-12-31T23:59:59.999Z
        if (milliseconds > MaxMilliseconds)
        {
            return null;
        }

        return DateTimeOffset.FromUnixTimeMilliseconds((long)milliseconds);
    }

    private static string Abbreviate(string text) => text.Length <= 200 ? text : text.Substring(0, 200) + "...";
}
