using System.Net.Sockets;

namespace ChittyConnect.Tests.Infrastructure;

/// <summary>The accept loop of the raw-socket loopback servers of the tests.</summary>
internal static class LoopbackAccept
{
    /// <summary>
    /// Hands every accepted client to <paramref name="accepted"/> (which must not block) until
    /// <paramref name="stop"/> is cancelled; a client that reset before it was accepted is skipped.
    /// </summary>
    public static async Task LoopAsync(TcpListener listener, CancellationToken stop, Action<TcpClient> accepted)
    {
        while (!stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await listener.AcceptTcpClientAsync(stop);
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            accepted(client);
        }
    }

    /// <summary>
    /// Cancels <paramref name="stop"/>, stops the listener and waits for <paramref name="acceptLoop"/>, which may
    /// end with the error of the accept the stop interrupted; the caller then waits for its own connections.
    /// </summary>
    public static async Task StopAsync(TcpListener listener, CancellationTokenSource stop, Task acceptLoop)
    {
        stop.Cancel();
        listener.Stop();
        try
        {
            await acceptLoop;
        }
        catch (Exception)
        {
            // The listener was stopped under the accept.
        }
    }
}
