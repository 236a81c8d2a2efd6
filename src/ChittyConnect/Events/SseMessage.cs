namespace ChittyConnect.Events;

/// <summary>One dispatched server-sent event, as the WHATWG event-stream interpretation produces it.</summary>
public sealed class SseMessage
{
    /// <summary>Creates a message.</summary>
    /// <param name="eventName">The <c>event:</c> field, or <c>message</c> when the event had none.</param>
    /// <param name="data">The <c>data:</c> lines joined by <c>\n</c>.</param>
    /// <param name="lastEventId">The last event ID in force when the event was dispatched, or <see langword="null"/> if none was ever set.</param>
    public SseMessage(string eventName, string data, string? lastEventId)
    {
        EventName = eventName;
        Data = data;
        LastEventId = lastEventId;
    }

    /// <summary>The <c>event:</c> field, <c>message</c> by default.</summary>
    public string EventName { get; }

    /// <summary>The data lines joined by <c>\n</c>, without a trailing newline.</summary>
    public string Data { get; }

    /// <summary>
    /// The last event ID string at dispatch time. Like the browser's <c>lastEventId</c>, it carries over to later
    /// events that have no <c>id:</c> field; <see langword="null"/> when no ID was ever received.
    /// </summary>
    public string? LastEventId { get; }
}
