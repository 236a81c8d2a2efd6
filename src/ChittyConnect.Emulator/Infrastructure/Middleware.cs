using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace ChittyConnect.Emulator.Infrastructure;

/// <summary>The request pipeline pieces that sit in front of the endpoints.</summary>
internal static class Middleware
{
    public const string ApiKeyItem = "chitty.apiKey";
    public const string InspectionPrefix = "/_emulator";
    public const string StatusPath = "/api/v1/status";

    public static EmulatorApiKey ApiKey(this HttpContext context) =>
        (EmulatorApiKey)context.Items[ApiKeyItem]!;

    /// <summary>Records every request but the inspection ones, with the status it was answered with.</summary>
    public static async Task RecordAsync(HttpContext context, RequestDelegate next, EmulatorState state)
    {
        var path = context.Request.Path.Value ?? "/";
        if (path.StartsWith(InspectionPrefix, StringComparison.Ordinal))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var recorded = 0;
        void Record()
        {
            if (Interlocked.Exchange(ref recorded, 1) == 0)
            {
                state.Record(new RecordedRequest(context.Request.Method, path, context.Response.StatusCode));
            }
        }

        // Recorded when the headers go out, so that a long SSE stream shows up while it is open.
        context.Response.OnStarting(() =>
        {
            Record();
            return Task.CompletedTask;
        });
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            Record();
        }
    }

    /// <summary>
    /// The CORS headers the service's API router adds to every <c>/api</c> answer, errors and 404s included: it allows
    /// credentials, exposes three headers and, since its allowed origins are a list, says the answer depends on the Origin.
    /// </summary>
    public static Task ApiCorsAsync(HttpContext context, RequestDelegate next)
    {
        var path = context.Request.Path.Value ?? "/";
        if (path == "/api" || path.StartsWith("/api/", StringComparison.Ordinal))
        {
            var headers = context.Response.Headers;
            headers.AccessControlAllowCredentials = "true";
            headers.AccessControlExposeHeaders = "Content-Length,X-Request-ID,Mcp-Session-Id";
            headers.Vary = "Origin";
        }

        return next(context);
    }

    /// <summary>Answers with an armed fault instead of the real endpoint.</summary>
    public static async Task FaultAsync(HttpContext context, RequestDelegate next, EmulatorState state)
    {
        var path = context.Request.Path.Value ?? "/";
        var fault = path.StartsWith(InspectionPrefix, StringComparison.Ordinal) ? null : state.TakeFault(context.Request.Method, path);
        if (fault is null)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = fault.Status;
        if (fault.RetryAfterSeconds is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = retryAfter.ToString(CultureInfo.InvariantCulture);
        }

        if (fault.Body is not null)
        {
            context.Response.ContentType = fault.ContentType ?? "text/plain";
            await context.Response.WriteAsync(fault.Body, context.RequestAborted).ConfigureAwait(false);
        }
        else
        {
            await Js.WriteJsonAsync(context, fault.Status, new JsonObject
            {
                ["error"] = "emulator_fault",
                ["message"] = $"Fault injected by the emulator: {fault.Status}",
            }).ConfigureAwait(false);
        }
    }

    /// <summary>The service's API-key check on every /api/* route, known or not, but <see cref="StatusPath"/>.</summary>
    public static async Task AuthenticateAsync(HttpContext context, RequestDelegate next, EmulatorState state)
    {
        var path = context.Request.Path.Value ?? "/";
        if ((!path.StartsWith("/api/", StringComparison.Ordinal) && path != "/api")
            || (path == StatusPath && HttpMethods.IsGet(context.Request.Method)))
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var presented = context.Request.Headers["X-ChittyOS-API-Key"].ToString();
        if (string.IsNullOrEmpty(presented))
        {
            var authorization = context.Request.Headers.Authorization.ToString();
            if (authorization.StartsWith("Bearer", StringComparison.OrdinalIgnoreCase)
                && authorization.Length > "Bearer".Length
                && char.IsWhiteSpace(authorization["Bearer".Length]))
            {
                presented = authorization["Bearer".Length..].Trim();
            }
        }

        if (string.IsNullOrEmpty(presented))
        {
            await Js.WriteJsonAsync(context, 401, new JsonObject { ["error"] = "Missing API key" }).ConfigureAwait(false);
            return;
        }

        if (!state.Keys.TryGetValue(presented, out var key))
        {
            await Js.WriteJsonAsync(context, 401, new JsonObject { ["error"] = "Invalid API key" }).ConfigureAwait(false);
            return;
        }

        if (!key.IsActive)
        {
            await Js.WriteJsonAsync(context, 401, new JsonObject { ["error"] = "API key is inactive" }).ConfigureAwait(false);
            return;
        }

        var (remaining, reset) = state.CountRequest(key.Key);
        context.Response.Headers["X-RateLimit-Limit"] = state.Options.RateLimitPerMinute.ToString(CultureInfo.InvariantCulture);
        context.Response.Headers["X-RateLimit-Remaining"] = remaining.ToString(CultureInfo.InvariantCulture);
        context.Response.Headers["X-RateLimit-Reset"] = reset.ToString(CultureInfo.InvariantCulture);
        context.Items[ApiKeyItem] = key;
        await next(context).ConfigureAwait(false);
    }

    /// <summary>
    /// Unknown routes, and known paths with another method (ASP.NET's 405), answer as the service's router:
    /// 404 with a plain-text body.
    /// </summary>
    public static async Task NotFoundAsync(HttpContext context, RequestDelegate next)
    {
        var endpoint = context.GetEndpoint();
        if (endpoint is null || endpoint.DisplayName?.StartsWith("405", StringComparison.Ordinal) == true)
        {
            await WriteNotFoundAsync(context).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    public static Task WriteNotFoundAsync(HttpContext context)
    {
        context.Response.StatusCode = 404;
        context.Response.ContentType = "text/plain; charset=UTF-8";
        return context.Response.WriteAsync("404 Not Found", context.RequestAborted);
    }
}
