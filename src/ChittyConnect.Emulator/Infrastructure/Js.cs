using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace ChittyConnect.Emulator.Infrastructure;

/// <summary>Outcome of reading a JSON request body the way the service's <c>c.req.json()</c> does.</summary>
internal readonly record struct JsonBody(bool IsValid, JsonNode? Node, string? Error)
{
    /// <summary>The body as an object; JSON that is not an object destructures to nothing, as in JavaScript.</summary>
    public JsonObject Object => Node as JsonObject ?? new JsonObject();
}

/// <summary>
/// The JavaScript semantics the service's handlers rely on (truthiness, <c>String(x)</c>), so that the
/// emulator answers the same odd inputs the same way.
/// </summary>
internal static class Js
{
    private static readonly JsonSerializerOptions s_relaxed = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task<JsonBody> ReadJsonAsync(HttpContext context)
    {
        string text;
        using (var reader = new StreamReader(context.Request.Body, Encoding.UTF8))
        {
            text = await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false);
        }

        try
        {
            var node = JsonNode.Parse(text);
            if (node is JsonObject obj)
            {
                // Materialize now: a duplicate property would otherwise throw later, outside the handler's error path.
                _ = obj.Count;
            }

            return new JsonBody(true, node, null);
        }
        catch (JsonException ex)
        {
            return new JsonBody(false, null, "Unexpected token in JSON: " + ex.Message);
        }
        catch (ArgumentException ex)
        {
            return new JsonBody(false, null, ex.Message);
        }
    }

    public static bool Truthy(JsonNode? node)
    {
        if (node is null)
        {
            return false;
        }

        if (node is not JsonValue value)
        {
            return true;
        }

        return value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>().Length > 0,
            JsonValueKind.Number => value.TryGetValue<double>(out var d) && d != 0 && !double.IsNaN(d),
            JsonValueKind.True => true,
            _ => false,
        };
    }

    /// <summary>JavaScript's <c>String(x)</c> for the values a client can send.</summary>
    public static string ToJsString(JsonNode? node)
    {
        if (node is null)
        {
            return "null";
        }

        if (node is JsonValue value && value.GetValueKind() == JsonValueKind.String)
        {
            return value.GetValue<string>();
        }

        if (node is JsonValue number && number.GetValueKind() == JsonValueKind.Number && number.TryGetValue<double>(out var d))
        {
            return d.ToString("R", CultureInfo.InvariantCulture);
        }

        return node switch
        {
            JsonObject => "[object Object]",
            JsonArray array => string.Join(",", array.Select(n => n is null ? string.Empty : ToJsString(n))),
            _ => node.ToJsonString(),
        };
    }

    /// <summary><c>x || null</c> for a field stored as text.</summary>
    public static string? StringOrNull(JsonNode? node) => Truthy(node) ? ToJsString(node) : null;

    /// <summary><c>x || null</c> for a field stored as an integer (a numeric string counts, as SQLite would coerce it).</summary>
    public static long? NumberOrNull(JsonNode? node)
    {
        if (!Truthy(node) || node is not JsonValue value)
        {
            return null;
        }

        if (value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<double>(out var d))
        {
            return (long)d;
        }

        return value.GetValueKind() == JsonValueKind.String
            && double.TryParse(value.GetValue<string>(), NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)
            ? (long)parsed
            : null;
    }

    /// <summary>A deep copy, for putting a request's value into a response or event.</summary>
    public static JsonNode? Clone(JsonNode? node) => node?.DeepClone();

    /// <summary>
    /// The browser's forgiving base64 (<c>atob</c>): ASCII whitespace ignored, padding optional.
    /// </summary>
    public static bool TryDecodeBase64(string text, out byte[] bytes)
    {
        bytes = Array.Empty<byte>();
        var builder = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (c is ' ' or '\t' or '\n' or '\f' or '\r')
            {
                continue;
            }

            builder.Append(c);
        }

        var s = builder.ToString();
        if (s.Length % 4 == 0 && s.EndsWith("==", StringComparison.Ordinal))
        {
            s = s[..^2];
        }
        else if (s.Length % 4 == 0 && s.EndsWith('='))
        {
            s = s[..^1];
        }

        if (s.Length % 4 == 1 || s.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '+' || c == '/')))
        {
            return false;
        }

        s = s.PadRight(s.Length + ((4 - (s.Length % 4)) % 4), '=');
        try
        {
            bytes = Convert.FromBase64String(s);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public static Task WriteJsonAsync(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        return context.Response.WriteAsync(body.ToJsonString(s_relaxed), context.RequestAborted);
    }

    /// <summary>Epoch milliseconds as the service's <c>Date.now()</c>.</summary>
    public static long NowMs(TimeProvider time) => time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>ISO 8601 as the service's <c>toISOString()</c>.</summary>
    public static string Iso(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
