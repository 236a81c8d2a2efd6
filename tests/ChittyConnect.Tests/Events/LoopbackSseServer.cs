using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ChittyConnect.Tests.Infrastructure;

namespace ChittyConnect.Tests.Events;

/// <summary>
/// A raw-socket HTTP/1.1 server on 127.0.0.1 whose every connection is scripted by the test, so that it can split
/// writes, send garbage and end streams exactly where a test wants.
/// </summary>
internal sealed class LoopbackSseServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<SseConnection, Task> _handler;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _connections = new();
    private readonly Task _acceptLoop;
    private int _count;

    public LoopbackSseServer(Func<SseConnection, Task> handler)
    {
        _handler = handler;
        _listener.Start();
        BaseUri = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _acceptLoop = AcceptLoopAsync();
    }

    public Uri BaseUri { get; }

    /// <summary>The request of every connection, in the order they came.</summary>
    public ConcurrentQueue<SseRequest> Requests { get; } = new();

    /// <summary>Ends when the server is disposed; a handler awaits it to hold a stream open.</summary>
    public CancellationToken Stopping => _stop.Token;

    public async ValueTask DisposeAsync()
    {
        await LoopbackAccept.StopAsync(_listener, _stop, _acceptLoop);

        await Task.WhenAll(_connections.ToArray()).WaitAsync(TimeSpan.FromSeconds(5));
        _stop.Dispose();
    }

    private Task AcceptLoopAsync() => LoopbackAccept.LoopAsync(_listener, _stop.Token, client =>
    {
        var index = Interlocked.Increment(ref _count) - 1;
        _connections.Add(Task.Run(() => ServeAsync(client, index)));
    });

    private async Task ServeAsync(TcpClient client, int index)
    {
        using (client)
        {
            var stream = client.GetStream();
            try
            {
                var request = await ReadRequestAsync(stream, index);
                Requests.Enqueue(request);
                await _handler(new SseConnection(stream, request, _stop.Token));
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
            }
            catch (IOException)
            {
                // The client went away; that is its right.
            }
        }
    }

    private static async Task<SseRequest> ReadRequestAsync(NetworkStream stream, int index)
    {
        var bytes = new List<byte>();
        var one = new byte[1];
        while (!(bytes.Count >= 4 && bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n'))
        {
            if (await stream.ReadAsync(one) == 0)
            {
                throw new IOException("The client closed before sending a request.");
            }

            bytes.Add(one[0]);
        }

        var lines = Encoding.ASCII.GetString(bytes.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        return new SseRequest(index, lines[0], headers);
    }
}

internal sealed record SseRequest(int Index, string RequestLine, IReadOnlyDictionary<string, string> Headers)
{
    public string Target => RequestLine.Split(' ')[1];
}

internal sealed class SseConnection
{
    private readonly NetworkStream _stream;

    public SseConnection(NetworkStream stream, SseRequest request, CancellationToken stopping)
    {
        _stream = stream;
        Request = request;
        Stopping = stopping;
    }

    public SseRequest Request { get; }

    public int Index => Request.Index;

    public CancellationToken Stopping { get; }

    public Task StartAsync(int status = 200, string contentType = "text/event-stream") =>
        SendAsync($"HTTP/1.1 {status} Status\r\nContent-Type: {contentType}\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n");

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    public Task SendEventAsync(string json) => SendAsync($"data: {json}\n\n");

    /// <summary>Keeps the stream open, silent, until the server is disposed.</summary>
    public async Task HoldAsync()
    {
        try
        {
            await Task.Delay(Timeout.Infinite, Stopping);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
