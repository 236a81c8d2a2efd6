using System.Text;
using System.Text.Json.Nodes;
using ChittyConnect.Emulator.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace ChittyConnect.Emulator.Endpoints;

/// <summary><c>GET /sse</c>: one <c>data: &lt;json&gt;</c> line per event, no event/id fields, no key needed.</summary>
internal static class SseEndpoint
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/sse", (HttpContext c, EmulatorState s, IHostApplicationLifetime l) => StreamAsync(c, s, l));
        app.MapGet("/sse/health", (HttpContext c, EmulatorState s) =>
        {
            AddCorsHeaders(c);
            // Stamped in epoch milliseconds, as the stream's own events are.
            return Js.WriteJsonAsync(c, 200, new JsonObject { ["status"] = "available", ["timestamp"] = s.Time.GetUtcNow().ToUnixTimeMilliseconds() });
        });
    }

    private static async Task StreamAsync(HttpContext context, EmulatorState state, IHostApplicationLifetime lifetime)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
        if (state.Options.SseMaxDuration > TimeSpan.Zero)
        {
            stop.CancelAfter(state.Options.SseMaxDuration);
        }

        var token = stop.Token;
        var sessionId = context.Request.Query["sessionId"].ToString();
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        AddCorsHeaders(context);

        // Subscribed before "connected" is written, so that nothing broadcast after a client saw it is lost.
        using var subscription = state.Events.Subscribe();
        subscription.Enqueue(new JsonObject
        {
            ["type"] = "connected",
            ["sessionId"] = sessionId.Length > 0 ? sessionId : null,
            ["timestamp"] = state.Time.GetUtcNow().ToUnixTimeMilliseconds(),
            ["message"] = "ChittyConnect streaming active",
        });
        var heartbeats = HeartbeatAsync(subscription, state, token);
        try
        {
            await foreach (var json in subscription.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                await context.Response.WriteAsync("data: " + json + "\n\n", Encoding.UTF8, token).ConfigureAwait(false);
                await context.Response.Body.FlushAsync(token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
            // The end of a stream (max duration, shutdown, client gone) is normal: the response just ends.
        }
        catch (IOException)
        {
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await heartbeats.ConfigureAwait(false);
        }
    }

    // The service allows its own web app, and says the answer depends on the Origin.
    private static void AddCorsHeaders(HttpContext context)
    {
        context.Response.Headers.AccessControlAllowOrigin = "https://connect.chitty.cc";
        context.Response.Headers.Vary = "Origin";
    }

    private static async Task HeartbeatAsync(Events.EventBroadcaster.Subscription subscription, EmulatorState state, CancellationToken token)
    {
        try
        {
            while (true)
            {
                await Task.Delay(state.Options.SseHeartbeatInterval, token).ConfigureAwait(false);
                subscription.Enqueue(new JsonObject
                {
                    ["type"] = "heartbeat",
                    ["timestamp"] = state.Time.GetUtcNow().ToUnixTimeMilliseconds(),
                    ["uptime"] = (long)(state.Time.GetUtcNow() - state.StartedAt).TotalSeconds,
                });
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
