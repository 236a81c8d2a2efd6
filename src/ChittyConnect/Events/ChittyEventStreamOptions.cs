using System;
using System.Collections.Generic;

namespace ChittyConnect.Events;

/// <summary>What a <see cref="ChittyEventStream"/> connects to and which events it lets through.</summary>
public sealed class ChittyEventStreamOptions
{
    /// <summary>
    /// The session to watch: sent as <c>/sse?sessionId=</c> and, unless <see cref="AllSessions"/> is set, the only
    /// session whose events pass. <see langword="null"/> connects without the query and passes every session.
    /// </summary>
    public string? SessionId { get; set; }

    /// <summary>Pass the events of every session, not only <see cref="SessionId"/>'s (the service sends them all to every stream).</summary>
    public bool AllSessions { get; set; }

    /// <summary>Wildcard patterns (<c>*</c>, <c>?</c>, case-insensitive) on the event type; empty passes every type.</summary>
    public IReadOnlyCollection<string>? TypePatterns { get; set; }

    /// <summary>
    /// Pass the stream's own events too (<c>connected</c>, once per watch, and <c>heartbeat</c>), whatever
    /// <see cref="TypePatterns"/> says. Without it they pass only when a pattern names their type exactly
    /// (<c>heartbeat</c>, not <c>*</c>), and are otherwise reported to <see cref="Verbose"/>.
    /// </summary>
    public bool IncludeTransportEvents { get; set; }

    /// <summary>The largest event kept; larger ones are skipped with a warning.</summary>
    public int MaxEventBytes { get; set; } = SseParser.DefaultMaxEventBytes;

    /// <summary>The first reconnection delay, and the one after a connection that delivered events.</summary>
    public TimeSpan InitialReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The cap of the doubling reconnection delay (a larger server <c>retry:</c> still wins).</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A connection that receives nothing for this long is dropped and reopened; the service sends a heartbeat about
    /// every 15 s, so silence this long means a dead connection. <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> disables it.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Diagnostic messages (connections, reconnects and their delays); called on a background thread.</summary>
    public Action<string>? Verbose { get; set; }

    /// <summary>Problems the stream survives (malformed payloads, oversized events); called on a background thread.</summary>
    public Action<string>? Warning { get; set; }
}
