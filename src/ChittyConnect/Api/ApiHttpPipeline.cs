using System;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading;
using System.Threading.Tasks;
using ChittyConnect.Configuration;

namespace ChittyConnect.Api;

/// <summary>
/// Sends one attempt of an API request: to the configured endpoint only (never where a redirect or an answer points),
/// with the API key, and reads at most <see cref="ChittyApiClient.MaxResponseBytes"/> of the answer. Owns the one
/// HttpClient of a connection; thread-safe.
/// </summary>
internal sealed class ApiHttpPipeline : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly ChittySecret _apiKey;
    private readonly string _chittyId;

    /// <summary>Creates the pipeline; <paramref name="handler"/> replaces the network for tests (and is not disposed).</summary>
    public ApiHttpPipeline(Uri endpoint, ChittySecret apiKey, string chittyId, HttpMessageHandler? handler)
    {
        _endpoint = endpoint;
        _apiKey = apiKey;
        _chittyId = chittyId;
        _http = handler is null ? new HttpClient(CreateHandler(), disposeHandler: true) : new HttpClient(handler, disposeHandler: false);
        _http.Timeout = Timeout.InfiniteTimeSpan; // each call has its own deadline, see ApiCallRunner
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("ChittyConnect.PowerShell",
            typeof(ApiHttpPipeline).Assembly.GetName().Version?.ToString(3) ?? "0"));
    }

    /// <summary>The API's base URL.</summary>
    public Uri Endpoint => _endpoint;

    /// <summary>The scheme, host and port requests go to, for messages.</summary>
    public string Origin => _endpoint.GetLeftPart(UriPartial.Authority);

    /// <summary>
    /// The absolute URL of <paramref name="request"/>; refuses, before anything is sent, a path that leads outside the
    /// endpoint (a path taken from an answer, the presign upload_url, can itself be an absolute URL).
    /// </summary>
    public Uri Resolve(ApiRequest request, ApiAnswerReader answers)
    {
        var uri = new Uri(_endpoint, request.Path);
        if (!_endpoint.IsBaseOf(uri) || !string.Equals(uri.GetLeftPart(UriPartial.Authority), Origin, StringComparison.OrdinalIgnoreCase))
        {
            throw answers.InvalidResponse(request.Method, request.Path, $"the service pointed to {uri.GetLeftPart(UriPartial.Path)}, outside {_endpoint}; the request was not sent.");
        }

        return uri;
    }

    /// <summary>Sends one attempt with <paramref name="content"/> as its body; the caller disposes the answer.</summary>
    public async Task<HttpResponseMessage> SendAsync(ApiRequest request, Uri uri, HttpContent? content, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(request.Method, uri);
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _apiKey.Reveal());
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (request.SendChittyId)
        {
            message.Headers.Add("X-ChittyID", _chittyId);
        }

        message.Content = content;
        return await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The answer's body, refused (never buffered) beyond <see cref="ChittyApiClient.MaxResponseBytes"/>.</summary>
    public static async Task<byte[]> ReadBodyAsync(HttpResponseMessage response, ApiRequest request, CancellationToken cancellationToken)
    {
        const int max = ChittyApiClient.MaxResponseBytes;
        if (response.Content.Headers.ContentLength > max)
        {
            throw ApiAnswerReader.InvalidResponseCore(request.Method, request.Path, $"the response is {response.Content.Headers.ContentLength} bytes, over the {max} allowed.");
        }

        using var stream = await response.Content.ReadAsStreamAsync().ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[16384];
        int read;
        while ((read = await stream.ReadAsync(chunk, 0, chunk.Length, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > max)
            {
                throw ApiAnswerReader.InvalidResponseCore(request.Method, request.Path, $"the response is over the {max} bytes allowed.");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <inheritdoc />
    public void Dispose() => _http.Dispose();

    private static HttpMessageHandler CreateHandler()
    {
        // Certificate validation is left at its default (on). Redirects are not followed: a redirect
        // must not carry the API key to another host.
        return new HttpClientHandler { AllowAutoRedirect = false, AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate };
    }
}
