using System.Net;
using System.Net.Http;

namespace ChittyConnect.Tests.Api;

/// <summary>Answers requests from a script, for edge cases a real server does not produce on demand.</summary>
internal sealed class StubHandler : HttpMessageHandler
{
    private readonly Func<HttpRequestMessage, int, CancellationToken, Task<HttpResponseMessage>> _respond;
    private int _calls;

    public StubHandler(Func<HttpRequestMessage, int, CancellationToken, Task<HttpResponseMessage>> respond) => _respond = respond;

    public StubHandler(Func<HttpRequestMessage, int, HttpResponseMessage> respond) => _respond = (r, n, _) => Task.FromResult(respond(r, n));

    public List<(HttpMethod Method, Uri Uri, string? Authorization, string? Body)> Requests { get; } = new();

    public int Calls => _calls;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
        lock (Requests)
        {
            Requests.Add((request.Method, request.RequestUri!, request.Headers.Authorization?.ToString(), body));
        }

        var n = Interlocked.Increment(ref _calls);
        return await _respond(request, n, cancellationToken);
    }

    public static HttpResponseMessage Json(HttpStatusCode status, string json) =>
        new(status) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };

    public static HttpResponseMessage Text(HttpStatusCode status, string text, string mediaType = "text/plain") =>
        new(status) { Content = new StringContent(text, System.Text.Encoding.UTF8, mediaType) };
}
