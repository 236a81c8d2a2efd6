using System.Net;
using System.Net.Sockets;

namespace ChittyConnect.Tests.Infrastructure;

/// <summary>
/// A TCP relay on 127.0.0.1 in front of one server that passes every byte through unchanged (keep-alive
/// included, unlike <see cref="Faults.FaultProxy"/>) and counts the connections clients open and hold:
/// what a test needs to see whether a client reuses its connections.
/// </summary>
public sealed class CountingTcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _upstream;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private int _accepted;
    private int _open;

    public CountingTcpRelay(Uri upstream)
    {
        _upstream = upstream;
        _listener.Start();
        Uri = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The relay's base URL.</summary>
    public Uri Uri { get; }

    /// <summary>Client connections accepted so far.</summary>
    public int Accepted => Volatile.Read(ref _accepted);

    /// <summary>Client connections not yet closed by either side.</summary>
    public int Open => Volatile.Read(ref _open);

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
        _stop.Dispose();
    }

    private Task AcceptLoopAsync() => LoopbackAccept.LoopAsync(_listener, _stop.Token, client =>
    {
        Interlocked.Increment(ref _accepted);
        Interlocked.Increment(ref _open);
        _ = RelayAsync(client);
    });

    // Ends only when the client closes (or the relay stops). When the server closes a connection between
    // requests (s3rver, like any Node server, drops a keep-alive connection after 5 idle seconds), the client's
    // connection stays open and its next request goes to a new server connection: what is counted is the
    // client's own use of connections, whatever the server's keep-alive timeout. A server that closes while a
    // request is unanswered closes the client's connection too, as the client would see on the wire.
    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        {
            var fromClient = client.GetStream();
            var buffer = new byte[64 * 1024];
            Upstream? upstream = null;
            try
            {
                while (true)
                {
                    var read = await fromClient.ReadAsync(buffer, _stop.Token);
                    if (read == 0)
                    {
                        break;
                    }

                    if (upstream is null || upstream.Closed)
                    {
                        upstream?.Dispose();
                        upstream = await Upstream.ConnectAsync(_upstream, client, _stop.Token);
                    }

                    await upstream.SendAsync(buffer.AsMemory(0, read), _stop.Token);
                }
            }
            catch (Exception)
            {
                // A reset or the relay stopping: the connection is over either way.
            }
            finally
            {
                upstream?.Dispose();
            }
        }

        Interlocked.Decrement(ref _open);
    }

    private sealed class Upstream : IDisposable
    {
        private readonly TcpClient _server = new();
        private volatile bool _awaitingAnswer;
        private Task _answers = Task.CompletedTask;

        public bool Closed => _answers.IsCompleted;

        public static async Task<Upstream> ConnectAsync(Uri endpoint, TcpClient client, CancellationToken cancellationToken)
        {
            var upstream = new Upstream();
            await upstream._server.ConnectAsync(endpoint.Host, endpoint.Port, cancellationToken);
            upstream._answers = upstream.PumpAnswersAsync(client, cancellationToken);
            return upstream;
        }

        public async Task SendAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
        {
            _awaitingAnswer = true;
            await _server.GetStream().WriteAsync(bytes, cancellationToken);
        }

        public void Dispose() => _server.Dispose();

        private async Task PumpAnswersAsync(TcpClient client, CancellationToken cancellationToken)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                int read;
                while ((read = await _server.GetStream().ReadAsync(buffer, cancellationToken)) > 0)
                {
                    _awaitingAnswer = false;
                    await client.GetStream().WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }
            catch (Exception)
            {
                // The server reset the connection: handled below like a close.
            }

            if (_awaitingAnswer)
            {
                client.Client.Close();
            }
        }
    }
}
