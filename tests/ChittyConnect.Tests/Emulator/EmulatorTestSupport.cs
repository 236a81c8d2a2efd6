using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Xunit;

namespace ChittyConnect.Tests.Emulator;

/// <summary>A clock the test moves by hand.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private DateTimeOffset _now;

    public ManualTimeProvider(DateTimeOffset start)
    {
        _now = start;
    }

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}

/// <summary>Reads an SSE response line by line, as the wire carries it.</summary>
internal sealed class SseReader : IAsyncDisposable
{
    private readonly HttpResponseMessage _response;
    private readonly StreamReader _reader;
    private readonly CancellationTokenSource _timeout = new(TimeSpan.FromSeconds(20));

    private SseReader(HttpResponseMessage response, StreamReader reader)
    {
        _response = response;
        _reader = reader;
    }

    public HttpResponseMessage Response => _response;

    /// <summary>Every line read so far, blank ones included.</summary>
    public List<string> Lines { get; } = new();

    public static async Task<SseReader> OpenAsync(HttpClient client, string sessionId)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, "sse?sessionId=" + Uri.EscapeDataString(sessionId));
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var stream = await response.Content.ReadAsStreamAsync();
        return new SseReader(response, new StreamReader(stream, Encoding.UTF8));
    }

    /// <summary>The next event's JSON, or null at the end of the stream. Fails the test rather than hang.</summary>
    public async Task<JsonObject?> NextAsync()
    {
        while (true)
        {
            var line = await _reader.ReadLineAsync(_timeout.Token);
            if (line is null)
            {
                return null;
            }

            Lines.Add(line);
            if (line.Length == 0)
            {
                continue;
            }

            Assert.StartsWith("data: ", line);
            var blank = await _reader.ReadLineAsync(_timeout.Token);
            Lines.Add(blank ?? "<eof>");
            Assert.Equal(string.Empty, blank);
            return (JsonObject)JsonNode.Parse(line["data: ".Length..])!;
        }
    }

    /// <summary>The next event that is not a heartbeat.</summary>
    public async Task<JsonObject?> NextNonHeartbeatAsync()
    {
        while (true)
        {
            var next = await NextAsync();
            if (next is null || (string?)next["type"] != "heartbeat")
            {
                return next;
            }
        }
    }

    public ValueTask DisposeAsync()
    {
        _reader.Dispose();
        _response.Dispose();
        _timeout.Dispose();
        return ValueTask.CompletedTask;
    }
}

internal static class HttpJson
{
    public static async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> PostAsync(this HttpClient client, string path, object body)
    {
        var response = await client.PostAsJsonAsync(path, body);
        return ((int)response.StatusCode, await ReadAsync(response), response);
    }

    public static async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> PostRawAsync(this HttpClient client, string path, string body)
    {
        var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        return ((int)response.StatusCode, await ReadAsync(response), response);
    }

    public static async Task<(int Status, JsonNode? Body, HttpResponseMessage Response)> SendJsonAsync(this HttpClient client, HttpRequestMessage request)
    {
        var response = await client.SendAsync(request);
        return ((int)response.StatusCode, await ReadAsync(response), response);
    }

    public static async Task<JsonNode?> ReadAsync(HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return text.Length == 0 ? null : JsonNode.Parse(text);
    }

    public static string Sha256Hex(byte[] bytes) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
}
