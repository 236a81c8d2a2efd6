using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace ChittyConnect.Tests.BadInput;

/// <summary>One request a <see cref="LoopbackHttpStub"/> received.</summary>
internal sealed record StubRequest(string Method, string Target, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string? Header(string name) => Headers.TryGetValue(name.ToLowerInvariant(), out var value) ? value : null;
}

/// <summary>What a <see cref="LoopbackHttpStub"/> answers.</summary>
internal sealed record StubResponse(int Status, string Body = "", string ContentType = "application/json", IReadOnlyDictionary<string, string>? Headers = null)
{
    /// <summary>Closes the connection once the whole request, body included, was read: a server that fails mid-way.</summary>
    public static readonly StubResponse Drop = new(0);

    /// <summary>Keeps the connection open without a byte of answer until the stub is disposed: a server that hangs.</summary>
    public static readonly StubResponse Never = new(-1);
}

/// <summary>
/// A raw-socket HTTP/1.1 server on 127.0.0.1 (optionally TLS with a self-signed certificate) that records every
/// request with its headers and answers what the test scripts: for answers no real server gives (a redirect to
/// another port, an upload URL naming another host, a certificate nobody trusts), and for servers that fail
/// after the body arrived or never answer at all.
/// </summary>
internal sealed class LoopbackHttpStub : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<StubRequest, StubResponse> _handler;
    private readonly X509Certificate2? _certificate;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public LoopbackHttpStub(Func<StubRequest, StubResponse> handler, bool selfSignedTls = false)
    {
        _handler = handler;
        _certificate = selfSignedTls ? CreateSelfSigned() : null;
        _listener.Start();
        BaseUri = new Uri($"{(selfSignedTls ? "https" : "http")}://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _loop = Task.Run(AcceptLoopAsync);
    }

    public Uri BaseUri { get; }

    public ConcurrentQueue<StubRequest> Requests { get; } = new();

    /// <summary>TCP connections accepted, whether or not a request came through them.</summary>
    public int Connections;

    /// <summary>TLS handshakes the client abandoned (it refused the certificate).</summary>
    public int FailedHandshakes;

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try
        {
            await _loop.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception)
        {
            // The listener was stopped under the accept.
        }

        _certificate?.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            Interlocked.Increment(ref Connections);
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                Stream stream = client.GetStream();
                if (_certificate is not null)
                {
                    var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                    try
                    {
                        await ssl.AuthenticateAsServerAsync(_certificate, clientCertificateRequired: false, checkCertificateRevocation: false);
                    }
                    catch (Exception)
                    {
                        Interlocked.Increment(ref FailedHandshakes);
                        return;
                    }

                    stream = ssl;
                }

                var request = await ReadRequestAsync(stream);
                if (request is null)
                {
                    return;
                }

                Requests.Enqueue(request);
                var response = _handler(request);
                if (ReferenceEquals(response, StubResponse.Drop))
                {
                    return;
                }

                if (ReferenceEquals(response, StubResponse.Never))
                {
                    await Task.Delay(Timeout.Infinite, _stop.Token).ContinueWith(_ => { });
                    return;
                }

                var body = Encoding.UTF8.GetBytes(response.Body);
                var head = new StringBuilder($"HTTP/1.1 {response.Status} {ReasonOf(response.Status)}\r\n");
                head.Append($"Content-Type: {response.ContentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n");
                foreach (var pair in response.Headers ?? new Dictionary<string, string>())
                {
                    head.Append($"{pair.Key}: {pair.Value}\r\n");
                }

                head.Append("\r\n");
                await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()));
                await stream.WriteAsync(body);
                await stream.FlushAsync();
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task<StubRequest?> ReadRequestAsync(Stream stream)
    {
        var buffer = new List<byte>();
        var one = new byte[1];
        while (true)
        {
            if (await stream.ReadAsync(one) == 0)
            {
                return null;
            }

            buffer.Add(one[0]);
            var n = buffer.Count;
            if (n >= 4 && buffer[n - 4] == '\r' && buffer[n - 3] == '\n' && buffer[n - 2] == '\r' && buffer[n - 1] == '\n')
            {
                break;
            }
        }

        var lines = Encoding.ASCII.GetString(buffer.ToArray()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        var parts = lines[0].Split(' ');
        var headers = new Dictionary<string, string>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
        }

        var body = Array.Empty<byte>();
        if (headers.TryGetValue("content-length", out var lengthText) && int.TryParse(lengthText, out var length) && length > 0)
        {
            body = new byte[length];
            var read = 0;
            while (read < length)
            {
                var r = await stream.ReadAsync(body.AsMemory(read));
                if (r == 0)
                {
                    break;
                }

                read += r;
            }
        }

        return new StubRequest(parts[0], parts[1], headers, body);
    }

    private static string ReasonOf(int status) => status switch
    {
        200 => "OK",
        302 => "Found",
        307 => "Temporary Redirect",
        403 => "Forbidden",
        _ => "Status",
    };

    private static X509Certificate2 CreateSelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Re-imported so SslStream on Linux gets a certificate whose private key it can use.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }
}
