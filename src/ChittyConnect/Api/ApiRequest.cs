using System;
using System.IO;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text.Json;

namespace ChittyConnect.Api;

/// <summary>
/// One API call as the endpoints describe it: method, path, a body made anew for each attempt, and whether sending it
/// twice is harmless. <see cref="ApiCallRunner"/> runs it.
/// </summary>
internal sealed class ApiRequest
{
    public ApiRequest(HttpMethod method, string path)
    {
        Method = method;
        Path = path;
    }

    public HttpMethod Method { get; }

    /// <summary>The path relative to the endpoint, without a leading slash.</summary>
    public string Path { get; }

    /// <summary>The path as messages show it.</summary>
    public string DisplayPath => "/" + Path;

    /// <summary>Makes the body anew for each attempt.</summary>
    public Func<HttpContent>? Body { get; set; }

    /// <summary>
    /// True when the service ends in the same state however often it receives this request (a read, an upsert),
    /// so that an attempt that may have been processed (a timeout, a dropped connection, a 500) can be sent again.
    /// False: sent again only when it was certainly not processed (a 429 or 503, or a failure before its body left).
    /// </summary>
    public bool SafeToRepeat { get; set; } = true;

    public bool SendChittyId { get; set; }

    /// <summary>The call's deadline, retries included, when it is not the connection's RequestTimeout.</summary>
    public TimeSpan? Deadline { get; set; }

    /// <summary>A UTF-8 JSON object body, serialized once and sent as is by each attempt.</summary>
    public static Func<HttpContent> Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        var bytes = buffer.ToArray();
        return () =>
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            return content;
        };
    }
}
