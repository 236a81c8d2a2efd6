using System;
using System.Globalization;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using ChittyConnect.Configuration;

namespace ChittyConnect.Api;

/// <summary>
/// Reads the service's answers: a success must be a JSON object without <c>ok:false</c>/<c>success:false</c>; every
/// failure shape of the contract (shared/chittyconnect-api.md: <c>{error,message}</c>, <c>{success:false,error:{code}}</c>,
/// <c>{error:"sentence"}</c>, plain text, HTML, a redirect) becomes one <see cref="ChittyApiException"/> with status, code,
/// message and request id, with the API key scrubbed from every text. Stateless and thread-safe.
/// </summary>
internal sealed class ApiAnswerReader
{
    private readonly Uri _endpoint;
    private readonly ChittySecret _apiKey;

    public ApiAnswerReader(Uri endpoint, ChittySecret apiKey)
    {
        _endpoint = endpoint;
        _apiKey = apiKey;
    }

    /// <summary>The JSON object of a 2xx answer; throws when it is not one, or says <c>ok:false</c>.</summary>
    public JsonDocument ParseSuccess(ApiRequest request, HttpResponseMessage response, byte[] body)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            throw InvalidResponse(request.Method, request.Path,
                $"the server answered {(int)response.StatusCode} with {Describe(response, body)} instead of JSON. Is {_endpoint} the ChittyConnect API?");
        }

        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw InvalidResponse(request.Method, request.Path, "the server answered JSON that is not an object.");
        }

        // Some endpoints answer 200 with {"ok":false} or {"success":false}: that is a failure too.
        var root = doc.RootElement;
        if ((root.GetChild("ok") is { ValueKind: JsonValueKind.False }) || (root.GetChild("success") is { ValueKind: JsonValueKind.False }))
        {
            var error = ErrorFromJson(request, (int)response.StatusCode, root, response);
            doc.Dispose();
            throw error;
        }

        return doc;
    }

    /// <summary>The exception a non-2xx answer stands for.</summary>
    public ChittyApiException ParseError(ApiRequest request, HttpResponseMessage response, byte[] body)
    {
        var status = (int)response.StatusCode;
        if (status is >= 300 and < 400)
        {
            // Not followed (see CreateHandler): say where it pointed, so a moved endpoint is easy to fix.
            var location = response.Headers.Location?.ToString() ?? "(no Location)";
            return new ChittyApiException(ChittyErrorKind.InvalidResponse, status, "redirect",
                _apiKey.Scrub($"{request.Method} /{request.Path} was redirected ({status}) to {location}; redirects are not followed, so that the API key goes only to {_endpoint}. If the service moved, connect to its new address."),
                request.Method.Method, "/" + request.Path, RequestId(response, null));
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                return ErrorFromJson(request, status, doc.RootElement, response);
            }
        }
        catch (JsonException)
        {
            // Not JSON: the 404 of an unknown route is plain text, a proxy may answer HTML.
        }

        var code = status == 404 ? "not_found" : "http_" + status.ToString(CultureInfo.InvariantCulture);
        var text = status == 404
            ? $"{request.Method} /{request.Path} does not exist on {_endpoint} (404: {Describe(response, body)}). Check the endpoint URL."
            : $"{request.Method} /{request.Path} failed with {status} {response.ReasonPhrase}: {Describe(response, body)}";
        return new ChittyApiException(ChittyApiException.KindOf(status), status, code, _apiKey.Scrub(text), request.Method.Method, "/" + request.Path, RequestId(response, null));
    }

    private ChittyApiException ErrorFromJson(ApiRequest request, int status, JsonElement root, HttpResponseMessage response)
    {
        string? code = null;
        string? message = null;
        if (root.GetChild("error") is { } error)
        {
            if (error.ValueKind == JsonValueKind.Object)
            {
                code = error.GetString("code");
                message = error.GetString("message");
            }
            else if (error.ValueKind == JsonValueKind.String)
            {
                var text = error.GetString() ?? string.Empty;
                // {"error":"invalid_request","message":"..."} carries a code; {"error":"Invalid API key"} a sentence.
                if (text.IndexOf(' ') < 0 && root.GetString("message") is { } detail)
                {
                    code = text;
                    message = detail;
                }
                else if (text.IndexOf(' ') < 0)
                {
                    code = text;
                    message = text.Replace('_', ' ');
                }
                else
                {
                    message = text;
                }
            }
        }

        message ??= root.GetString("message") ?? "the request failed";
        code ??= status switch
        {
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            429 => "rate_limited",
            _ => "http_" + status.ToString(CultureInfo.InvariantCulture),
        };
        var kind = status is >= 200 and < 300 ? ChittyErrorKind.InvalidResponse : ChittyApiException.KindOf(status);
        var full = $"{request.Method} /{request.Path} failed ({status} {code}): {message}";
        return new ChittyApiException(kind, status, code, _apiKey.Scrub(full), request.Method.Method, "/" + request.Path, RequestId(response, root));
    }

    private static string? RequestId(HttpResponseMessage response, JsonElement? root)
    {
        if (response.Headers.TryGetValues("X-Request-Id", out var values))
        {
            return values.FirstOrDefault();
        }

        return root?.GetChild("metadata")?.GetString("requestId");
    }

    private static string Describe(HttpResponseMessage response, byte[] body)
    {
        var type = response.Content.Headers.ContentType?.MediaType ?? "no content type";
        if (body.Length == 0)
        {
            return $"an empty body ({type})";
        }

        var text = Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 200));
        var clean = new string(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray()).Trim();
        return $"'{clean}{(body.Length > 200 ? "..." : string.Empty)}' ({type}, {body.Length} bytes)";
    }

    /// <summary><paramref name="text"/> with the API key masked.</summary>
    public string Scrub(string text) => _apiKey.Scrub(text);

    /// <summary>An answer the contract does not allow, its detail scrubbed of the key.</summary>
    public ChittyApiException InvalidResponse(HttpMethod method, string path, string detail) => InvalidResponseCore(method, path, _apiKey.Scrub(detail));

    /// <summary>An answer the contract does not allow, for a detail that cannot hold the key.</summary>
    public static ChittyApiException InvalidResponseCore(HttpMethod method, string path, string detail) =>
        new(ChittyErrorKind.InvalidResponse, 0, "invalid_response", $"{method} /{path}: {detail}", method.Method, "/" + path);
}
