using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;

namespace ChittyConnect.Emulator.Events;

/// <summary>
/// Fans every event out to every open SSE stream, whatever session it asked for: the service does the same,
/// so clients have to filter on the event's own sessionId.
/// </summary>
internal sealed class EventBroadcaster
{
    private readonly ConcurrentDictionary<Guid, Channel<string>> _subscribers = new();

    public int SubscriberCount => _subscribers.Count;

    public Subscription Subscribe()
    {
        var id = Guid.NewGuid();
        var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        _subscribers[id] = channel;
        return new Subscription(this, id, channel);
    }

    public void Broadcast(JsonObject payload)
    {
        var json = payload.ToJsonString();
        foreach (var channel in _subscribers.Values)
        {
            channel.Writer.TryWrite(json);
        }
    }

    private void Unsubscribe(Guid id)
    {
        if (_subscribers.TryRemove(id, out var channel))
        {
            channel.Writer.TryComplete();
        }
    }

    /// <summary>One stream's queue of serialized events; disposing it leaves the broadcast.</summary>
    internal sealed class Subscription : IDisposable
    {
        private readonly EventBroadcaster _owner;
        private readonly Guid _id;
        private readonly Channel<string> _channel;

        public Subscription(EventBroadcaster owner, Guid id, Channel<string> channel)
        {
            _owner = owner;
            _id = id;
            _channel = channel;
        }

        public ChannelReader<string> Reader => _channel.Reader;

        /// <summary>Queues a message for this stream only (connected, heartbeat).</summary>
        public void Enqueue(JsonObject payload) => _channel.Writer.TryWrite(payload.ToJsonString());

        public void Dispose() => _owner.Unsubscribe(_id);
    }
}
