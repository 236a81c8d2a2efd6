using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using ChittyConnect.Tests.Infrastructure;

namespace ChittyConnect.Tests.Faults;

/// <summary>What the proxy does to one request instead of relaying it faithfully.</summary>
public enum FaultKind
{
    /// <summary>500, without forwarding.</summary>
    Status500,

    /// <summary>503 without Retry-After, without forwarding.</summary>
    Status503,

    /// <summary>503 with Retry-After: 1, without forwarding.</summary>
    Status503RetryAfter,

    /// <summary>429 without Retry-After, without forwarding.</summary>
    Status429,

    /// <summary>429 with Retry-After: 1, without forwarding.</summary>
    Status429RetryAfter,

    /// <summary>The connection is reset before the request reaches the server.</summary>
    ResetBeforeForward,

    /// <summary>The server handles the request; the client's connection is reset before any byte of the answer.</summary>
    ResetAfterForward,

    /// <summary>The head and half of the body are relayed, then the connection is reset.</summary>
    ResetMidBody,

    /// <summary>The head claims more bytes than the body has; the body is sent, then the connection is closed.</summary>
    Truncated,

    /// <summary>The server handles the request; the answer is held back past the client's timeout.</summary>
    Slow,
}

/// <summary>How error bodies look: S3's XML or the API's JSON.</summary>
public enum FaultStyle
{
    S3Xml,
    Json,
}

/// <summary>One request seen by the proxy.</summary>
public sealed record ProxyLogEntry(int Id, string Method, string PathAndQuery, FaultKind? Fault, int Status);

/// <summary>A request about to be forwarded, for hooks that pause or watch.</summary>
public sealed record ProxyRequest(int Id, string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, int BodyLength);

/// <summary>
/// A reverse proxy on 127.0.0.1 in front of one HTTP/1.1 server (s3rver or the emulator) that injects faults into
/// a share of the requests, chosen by a seeded RNG. Each client connection carries one request (the proxy answers
/// with Connection: close), so a fault never spills into another request. The Host header is relayed unchanged,
/// which keeps SigV4 signatures valid.
/// </summary>
public sealed class FaultProxy : IAsyncDisposable
{
    private static readonly FaultKind[] s_allKinds = Enum.GetValues<FaultKind>();

    private readonly TcpListener _listener;
    private readonly Uri _upstream;
    private readonly FaultStyle _style;
    private readonly Random _random;
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _acceptLoop;
    private readonly ConcurrentDictionary<int, Task> _connections = new();
    private int _nextId;

    public FaultProxy(Uri upstream, FaultStyle style, int seed)
    {
        _upstream = upstream;
        _style = style;
        _random = new Random(seed);
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Uri = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>The proxy's base URL.</summary>
    public Uri Uri { get; }

    /// <summary>Share of requests faulted, 0 to 1.</summary>
    public double Rate { get; set; }

    /// <summary>The faults drawn from, uniformly.</summary>
    public IReadOnlyList<FaultKind> Kinds { get; set; } = s_allKinds;

    /// <summary>Requests this returns false for are never faulted.</summary>
    public Func<ProxyRequest, bool>? Faultable { get; set; }

    /// <summary>How long a <see cref="FaultKind.Slow"/> answer is held back.</summary>
    public TimeSpan SlowDelay { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>Awaited before a request is forwarded (after the fault draw): crash tests kill the client here.</summary>
    public Func<ProxyRequest, Task>? BeforeForward { get; set; }

    /// <summary>Awaited when half of an unfaulted answer's body has reached the client (crash tests kill the client here).</summary>
    public Func<ProxyRequest, Task>? MidBody { get; set; }

    /// <summary>Every request, in the order they finished.</summary>
    public ConcurrentQueue<ProxyLogEntry> Log { get; } = new();

    /// <summary>For each text/event-stream answer, the body bytes that reached the client.</summary>
    public ConcurrentQueue<StringBuilder> StreamTranscripts { get; } = new();

    /// <summary>The faults injected so far, by kind.</summary>
    public IReadOnlyDictionary<FaultKind, int> FaultCounts() =>
        Log.Where(e => e.Fault is not null).GroupBy(e => e.Fault!.Value).ToDictionary(g => g.Key, g => g.Count());

    /// <summary>
    /// Waits (at most <paramref name="timeout"/>) until every request the proxy has taken so far is answered or
    /// dropped: after a client is killed, the requests the proxy had read whole still reach the upstream.
    /// </summary>
    public Task QuietAsync(TimeSpan timeout) => Task.WhenAny(Task.WhenAll(_connections.Values), Task.Delay(timeout));

    public async ValueTask DisposeAsync()
    {
        await LoopbackAccept.StopAsync(_listener, _stop, _acceptLoop);

        await Task.WhenAny(Task.WhenAll(_connections.Values), Task.Delay(TimeSpan.FromSeconds(5)));
        _stop.Dispose();
    }

    private Task AcceptLoopAsync() => LoopbackAccept.LoopAsync(_listener, _stop.Token, client =>
    {
        var id = Interlocked.Increment(ref _nextId);
        var task = Task.Run(async () =>
        {
            try
            {
                await HandleAsync(id, client);
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // The client went away (its timeout, or a killed process): nothing to relay to.
            }
            finally
            {
                client.Dispose();
                _connections.TryRemove(id, out _);
            }
        });
        _connections[id] = task;
    });

    private FaultKind? Draw(ProxyRequest request)
    {
        if (Rate <= 0 || (Faultable is { } faultable && !faultable(request)))
        {
            return null;
        }

        lock (_gate)
        {
            var kinds = Kinds;
            return _random.NextDouble() < Rate ? kinds[_random.Next(kinds.Count)] : null;
        }
    }

    private async Task HandleAsync(int id, TcpClient client)
    {
        client.NoDelay = true;
        var clientStream = client.GetStream();
        var reader = new HeadReader(clientStream);
        var head = await reader.ReadHeadAsync(_stop.Token);
        if (head is null)
        {
            return;
        }

        var (requestLine, headers) = ParseHead(head);
        var parts = requestLine.Split(' ');
        var method = parts[0];
        var target = parts[1];
        if (headers.TryGetValue("Expect", out var expect) && expect.Contains("100-continue", StringComparison.OrdinalIgnoreCase))
        {
            await clientStream.WriteAsync(Encoding.ASCII.GetBytes("HTTP/1.1 100 Continue\r\n\r\n"), _stop.Token);
            headers.Remove("Expect");
        }

        byte[] body;
        if (headers.TryGetValue("Transfer-Encoding", out var te) && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = await reader.ReadChunkedAsync(_stop.Token);
            headers.Remove("Transfer-Encoding");
            headers["Content-Length"] = body.Length.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            var length = headers.TryGetValue("Content-Length", out var cl) ? long.Parse(cl, CultureInfo.InvariantCulture) : 0;
            body = await reader.ReadExactlyAsync((int)length, _stop.Token);
        }

        var request = new ProxyRequest(id, method, target, headers, body.Length);
        var fault = Draw(request);
        if (BeforeForward is { } hook)
        {
            await hook(request);
        }

        switch (fault)
        {
            case FaultKind.Status500:
            case FaultKind.Status503:
            case FaultKind.Status503RetryAfter:
            case FaultKind.Status429:
            case FaultKind.Status429RetryAfter:
                var status = fault is FaultKind.Status500 ? 500 : fault is FaultKind.Status503 or FaultKind.Status503RetryAfter ? 503 : 429;
                var retryAfter = fault is FaultKind.Status503RetryAfter or FaultKind.Status429RetryAfter;
                await WriteErrorAsync(clientStream, status, retryAfter);
                Log.Enqueue(new ProxyLogEntry(id, method, target, fault, status));
                return;
            case FaultKind.ResetBeforeForward:
                Log.Enqueue(new ProxyLogEntry(id, method, target, fault, 0));
                Reset(client);
                return;
        }

        var response = await ForwardAsync(method, target, headers, body);
        switch (fault)
        {
            case FaultKind.ResetAfterForward:
                Log.Enqueue(new ProxyLogEntry(id, method, target, fault, response.Status));
                Reset(client);
                return;
            case FaultKind.Slow:
                // Logged now: the client has usually given up by the time the answer goes out.
                Log.Enqueue(new ProxyLogEntry(id, method, target, fault, response.Status));
                await Task.Delay(SlowDelay, _stop.Token);
                fault = null;
                break;
        }

        if (response.Stream is not null)
        {
            await RelayStreamAsync(client, clientStream, response, fault);
            Log.Enqueue(new ProxyLogEntry(id, method, target, fault, response.Status));
            return;
        }

        var responseBody = response.Body!;
        var hasBody = method != "HEAD" && response.Status is not (204 or 304);
        switch (fault)
        {
            case FaultKind.ResetMidBody when hasBody:
                await clientStream.WriteAsync(Encoding.ASCII.GetBytes(BuildHead(response, responseBody.Length)), _stop.Token);
                await clientStream.WriteAsync(responseBody.AsMemory(0, responseBody.Length / 2), _stop.Token);
                await clientStream.FlushAsync(_stop.Token);
                Log.Enqueue(new ProxyLogEntry(id, method, target, fault, response.Status));
                Reset(client);
                return;
            case FaultKind.Truncated when hasBody:
                await clientStream.WriteAsync(Encoding.ASCII.GetBytes(BuildHead(response, responseBody.Length + 64)), _stop.Token);
                await clientStream.WriteAsync(responseBody, _stop.Token);
                await clientStream.FlushAsync(_stop.Token);
                Log.Enqueue(new ProxyLogEntry(id, method, target, fault, response.Status));
                client.Client.Shutdown(SocketShutdown.Both);
                return;
            case FaultKind.ResetMidBody or FaultKind.Truncated:
                // No body to cut (HEAD, 204): reset before the head instead.
                Log.Enqueue(new ProxyLogEntry(id, method, target, fault, response.Status));
                Reset(client);
                return;
        }

        // A HEAD's Content-Length is the length of the object it describes (what a client compares), not of
        // a body: it is passed on as the store gave it.
        var announced = method == "HEAD" && long.TryParse(response.Header("Content-Length"), NumberStyles.None, CultureInfo.InvariantCulture, out var described) ? described : responseBody.Length;
        await clientStream.WriteAsync(Encoding.ASCII.GetBytes(BuildHead(response, announced)), _stop.Token);
        if (hasBody && MidBody is { } midBody && responseBody.Length > 1)
        {
            await clientStream.WriteAsync(responseBody.AsMemory(0, responseBody.Length / 2), _stop.Token);
            await clientStream.FlushAsync(_stop.Token);
            await midBody(request);
            await clientStream.WriteAsync(responseBody.AsMemory(responseBody.Length / 2), _stop.Token);
        }
        else if (hasBody)
        {
            await clientStream.WriteAsync(responseBody, _stop.Token);
        }

        await clientStream.FlushAsync(_stop.Token);
        Log.Enqueue(new ProxyLogEntry(id, method, target, fault, response.Status));
        client.Client.Shutdown(SocketShutdown.Send);
    }

    private async Task RelayStreamAsync(TcpClient client, NetworkStream clientStream, UpstreamResponse response, FaultKind? fault)
    {
        using var upstream = response.Connection!;
        var transcript = new StringBuilder();
        StreamTranscripts.Enqueue(transcript);
        // Close-delimited: the proxy de-chunks, so what the client receives is exactly the transcript.
        await clientStream.WriteAsync(Encoding.ASCII.GetBytes(BuildHead(response, null)), _stop.Token);
        await clientStream.FlushAsync(_stop.Token);
        int cutAfter;
        lock (_gate)
        {
            cutAfter = fault is FaultKind.ResetMidBody or FaultKind.Truncated ? 1 + _random.Next(400) : int.MaxValue;
        }

        var sent = 0;
        var buffer = new byte[8192];
        while (true)
        {
            var read = await response.Stream!.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                break;
            }

            var n = Math.Min(read, cutAfter - sent);
            await clientStream.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
            await clientStream.FlushAsync(_stop.Token);
            lock (transcript)
            {
                transcript.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }

            sent += n;
            if (sent >= cutAfter)
            {
                if (fault is FaultKind.ResetMidBody)
                {
                    Reset(client);
                }
                else
                {
                    client.Client.Shutdown(SocketShutdown.Both);
                }

                return;
            }
        }

        client.Client.Shutdown(SocketShutdown.Send);
    }

    private async Task<UpstreamResponse> ForwardAsync(string method, string target, Dictionary<string, string> headers, byte[] body)
    {
        var connection = new TcpClient { NoDelay = true };
        try
        {
            await connection.ConnectAsync(_upstream.Host, _upstream.Port, _stop.Token);
            var stream = connection.GetStream();
            var head = new StringBuilder();
            head.Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\n");
            foreach (var (name, value) in headers)
            {
                if (!name.Equals("Connection", StringComparison.OrdinalIgnoreCase) && !name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase))
                {
                    head.Append(name).Append(": ").Append(value).Append("\r\n");
                }
            }

            head.Append("Connection: close\r\n\r\n");
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), _stop.Token);
            await stream.WriteAsync(body, _stop.Token);
            await stream.FlushAsync(_stop.Token);
            var reader = new HeadReader(stream);
            var responseHead = await reader.ReadHeadAsync(_stop.Token) ?? throw new IOException("The upstream closed without answering.");
            var lines = responseHead.Split("\r\n");
            var statusParts = lines[0].Split(' ', 3);
            var response = new UpstreamResponse
            {
                Status = int.Parse(statusParts[1], CultureInfo.InvariantCulture),
                Reason = statusParts.Length > 2 ? statusParts[2] : string.Empty,
                Headers = lines.Skip(1).Where(l => l.Length > 0).Select(l =>
                {
                    var colon = l.IndexOf(':');
                    return (l[..colon].Trim(), l[(colon + 1)..].Trim());
                }).ToList(),
            };
            var chunked = response.Header("Transfer-Encoding")?.Contains("chunked", StringComparison.OrdinalIgnoreCase) == true;
            if (response.Header("Content-Type")?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) == true)
            {
                response.Connection = connection;
                response.Stream = chunked ? new DechunkingStream(reader) : new RemainderStream(reader);
                connection = null;
                return response;
            }

            if (method == "HEAD" || response.Status is 204 or 304)
            {
                response.Body = Array.Empty<byte>();
            }
            else if (chunked)
            {
                response.Body = await reader.ReadChunkedAsync(_stop.Token);
            }
            else if (response.Header("Content-Length") is { } length)
            {
                response.Body = await reader.ReadExactlyAsync(int.Parse(length, CultureInfo.InvariantCulture), _stop.Token);
            }
            else
            {
                response.Body = await reader.ReadToEndAsync(_stop.Token);
            }

            return response;
        }
        finally
        {
            connection?.Dispose();
        }
    }

    private async Task WriteErrorAsync(NetworkStream stream, int status, bool retryAfter)
    {
        var (code, reason) = status switch
        {
            500 => ("InternalError", "Internal Server Error"),
            503 => ("SlowDown", "Service Unavailable"),
            _ => ("TooManyRequests", "Too Many Requests"),
        };
        var body = _style == FaultStyle.S3Xml
            ? $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>Injected fault</Message><RequestId>fault</RequestId></Error>"
            : $"{{\"error\":\"{code}\",\"message\":\"Injected fault\"}}";
        var bytes = Encoding.UTF8.GetBytes(body);
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {status} {reason}\r\n");
        head.Append(_style == FaultStyle.S3Xml ? "Content-Type: application/xml\r\n" : "Content-Type: application/json\r\n");
        if (retryAfter)
        {
            head.Append("Retry-After: 1\r\n");
        }

        head.Append(CultureInfo.InvariantCulture, $"Content-Length: {bytes.Length}\r\nConnection: close\r\n\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head.ToString()), _stop.Token);
        await stream.WriteAsync(bytes, _stop.Token);
        await stream.FlushAsync(_stop.Token);
    }

    private static string BuildHead(UpstreamResponse response, long? contentLength)
    {
        var head = new StringBuilder();
        head.Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {response.Status} {response.Reason}\r\n");
        foreach (var (name, value) in response.Headers)
        {
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                || name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            head.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        if (contentLength is { } length)
        {
            head.Append(CultureInfo.InvariantCulture, $"Content-Length: {length}\r\n");
        }

        head.Append("Connection: close\r\n\r\n");
        return head.ToString();
    }

    private static (string RequestLine, Dictionary<string, string> Headers) ParseHead(string head)
    {
        var lines = head.Split("\r\n");
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
        {
            var colon = line.IndexOf(':');
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        return (lines[0], headers);
    }

    private static void Reset(TcpClient client)
    {
        // Linger 0 makes Close send RST instead of FIN.
        client.Client.LingerState = new LingerOption(true, 0);
        client.Client.Close();
    }

    private sealed class UpstreamResponse
    {
        public int Status { get; init; }
        public string Reason { get; init; } = string.Empty;
        public List<(string Name, string Value)> Headers { get; init; } = new();
        public byte[]? Body { get; set; }
        public Stream? Stream { get; set; }
        public TcpClient? Connection { get; set; }

        public string? Header(string name) => Headers.FirstOrDefault(h => h.Name.Equals(name, StringComparison.OrdinalIgnoreCase)).Value;
    }

    /// <summary>Reads an HTTP head and then body bytes from one stream, keeping what it read ahead.</summary>
    private sealed class HeadReader
    {
        private readonly Stream _stream;
        private byte[] _buffer = new byte[16384];
        private int _start;
        private int _end;

        public HeadReader(Stream stream) => _stream = stream;

        public async Task<string?> ReadHeadAsync(CancellationToken ct)
        {
            while (true)
            {
                var span = _buffer.AsSpan(_start, _end - _start);
                var index = span.IndexOf("\r\n\r\n"u8);
                if (index >= 0)
                {
                    var head = Encoding.ASCII.GetString(_buffer, _start, index);
                    _start += index + 4;
                    return head;
                }

                if (!await FillAsync(ct))
                {
                    return null;
                }
            }
        }

        public async Task<int> ReadAsync(Memory<byte> destination, CancellationToken ct)
        {
            if (_end == _start && !await FillAsync(ct))
            {
                return 0;
            }

            var n = Math.Min(destination.Length, _end - _start);
            _buffer.AsMemory(_start, n).CopyTo(destination);
            _start += n;
            return n;
        }

        public async Task<byte[]> ReadExactlyAsync(int length, CancellationToken ct)
        {
            var result = new byte[length];
            var done = 0;
            while (done < length)
            {
                var n = await ReadAsync(result.AsMemory(done), ct);
                if (n == 0)
                {
                    throw new IOException($"The stream ended after {done} of {length} bytes.");
                }

                done += n;
            }

            return result;
        }

        public async Task<byte[]> ReadToEndAsync(CancellationToken ct)
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16384];
            int n;
            while ((n = await ReadAsync(chunk, ct)) > 0)
            {
                buffer.Write(chunk, 0, n);
            }

            return buffer.ToArray();
        }

        public async Task<string?> ReadLineAsync(CancellationToken ct)
        {
            var line = new StringBuilder();
            var one = new byte[1];
            while (true)
            {
                if (await ReadAsync(one, ct) == 0)
                {
                    return line.Length == 0 ? null : line.ToString();
                }

                if (one[0] == '\n')
                {
                    return line.ToString().TrimEnd('\r');
                }

                line.Append((char)one[0]);
            }
        }

        public async Task<int> ReadChunkSizeAsync(CancellationToken ct)
        {
            var line = await ReadLineAsync(ct) ?? throw new IOException("The chunked body ended early.");
            return int.Parse(line.Split(';')[0].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
        }

        public async Task<byte[]> ReadChunkedAsync(CancellationToken ct)
        {
            using var buffer = new MemoryStream();
            while (true)
            {
                var size = await ReadChunkSizeAsync(ct);
                if (size == 0)
                {
                    while (!string.IsNullOrEmpty(await ReadLineAsync(ct)))
                    {
                    }

                    return buffer.ToArray();
                }

                buffer.Write(await ReadExactlyAsync(size, ct));
                await ReadLineAsync(ct);
            }
        }

        private async Task<bool> FillAsync(CancellationToken ct)
        {
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var n = await _stream.ReadAsync(_buffer.AsMemory(_end), ct);
            _end += n;
            return n > 0;
        }
    }

    /// <summary>A body read once, forward: what else a Stream offers is refused.</summary>
    private abstract class ForwardReadStream : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>The rest of a close-delimited body.</summary>
    private sealed class RemainderStream : ForwardReadStream
    {
        private readonly HeadReader _reader;

        public RemainderStream(HeadReader reader) => _reader = reader;

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => new(_reader.ReadAsync(buffer, cancellationToken));
    }

    /// <summary>A chunked body, de-chunked as it arrives.</summary>
    private sealed class DechunkingStream : ForwardReadStream
    {
        private readonly HeadReader _reader;
        private int _left;
        private bool _done;

        public DechunkingStream(HeadReader reader) => _reader = reader;

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_done)
            {
                return 0;
            }

            if (_left == 0)
            {
                try
                {
                    _left = await _reader.ReadChunkSizeAsync(cancellationToken);
                }
                catch (IOException)
                {
                    _done = true;
                    return 0;
                }

                if (_left == 0)
                {
                    _done = true;
                    return 0;
                }
            }

            var n = await _reader.ReadAsync(buffer[..Math.Min(buffer.Length, _left)], cancellationToken);
            if (n == 0)
            {
                _done = true;
                return 0;
            }

            _left -= n;
            if (_left == 0)
            {
                await _reader.ReadLineAsync(cancellationToken);
            }

            return n;
        }

    }
}
