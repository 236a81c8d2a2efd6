using System.Text.Json;
using System.Text.Json.Nodes;
using ChittyConnect.Emulator.Infrastructure;
using ChittyConnect.Emulator.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ChittyConnect.Emulator.Endpoints;

/// <summary><c>/_emulator/*</c>: what tests and the demo look at or arm; not part of the service, no key needed.</summary>
internal static class InspectionEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/_emulator/sync-events", (HttpContext c, EmulatorState s) => SyncEventsAsync(c, s));
        app.MapGet("/_emulator/context-files", (HttpContext c, EmulatorState s) => ContextFilesAsync(c, s));
        app.MapGet("/_emulator/requests", (HttpContext c, EmulatorState s) =>
            Js.WriteJsonAsync(c, 200, new JsonArray(s.Requests().Select(r => (JsonNode?)new JsonObject
            {
                ["method"] = r.Method,
                ["path"] = r.Path,
                ["status"] = r.Status,
            }).ToArray())));
        app.MapDelete("/_emulator/requests", (EmulatorState s) =>
        {
            s.ClearRequests();
            return Results.NoContent();
        });
        app.MapGet("/_emulator/blobs/{**key}", (HttpContext c, EmulatorState s, string key) => BlobAsync(c, s, key));
        app.MapPost("/_emulator/fault", (HttpContext c, EmulatorState s) => FaultAsync(c, s));

        // The service's session store reloads saved sessions only in a start-up hook its access path skips:
        // after it restarts, every session is gone. This is that restart.
        app.MapPost("/_emulator/sessions/restart", async (HttpContext c, EmulatorState s) =>
        {
            var removed = await s.Database.ClearSessionsAsync().ConfigureAwait(false);
            await Js.WriteJsonAsync(c, 200, new JsonObject { ["ok"] = true, ["removed"] = removed }).ConfigureAwait(false);
        });
        app.MapDelete("/_emulator/fault", (EmulatorState s) =>
        {
            s.ClearFaults();
            return Results.NoContent();
        });
    }

    private static async Task SyncEventsAsync(HttpContext context, EmulatorState state)
    {
        var rows = await state.Database.ListSyncEventsAsync().ConfigureAwait(false);
        var result = new JsonArray();
        foreach (var row in rows)
        {
            var metadata = ParseOrNull(row.Metadata) as JsonObject;
            result.Add(new JsonObject
            {
                ["event_id"] = row.EventId,
                ["session_id"] = row.SessionId,
                ["event_type"] = row.EventType,
                ["source"] = row.Source,
                ["items_count"] = row.ItemsCount,
                ["bytes_synced"] = row.BytesSynced,
                ["status"] = row.Status,
                ["error_message"] = row.ErrorMessage,
                ["synced_at"] = row.SyncedAt,
                ["path_prefix"] = metadata?["path_prefix"]?.DeepClone(),
                ["items"] = metadata?["items"]?.DeepClone() ?? new JsonArray(),
            });
        }

        await Js.WriteJsonAsync(context, 200, result).ConfigureAwait(false);
    }

    private static async Task ContextFilesAsync(HttpContext context, EmulatorState state)
    {
        var sessionId = context.Request.Query["session_id"].ToString();
        var rows = await state.Database.ListContextFilesAsync(sessionId.Length > 0 ? sessionId : null, activeOnly: false, limit: null)
            .ConfigureAwait(false);
        await Js.WriteJsonAsync(context, 200, new JsonArray(rows.Select(r => (JsonNode?)new JsonObject
        {
            ["id"] = r.Id,
            ["session_id"] = r.SessionId,
            ["chitty_id"] = r.ChittyId,
            ["file_uri"] = r.FileUri,
            ["file_name"] = r.FileName,
            ["file_size"] = r.FileSize,
            ["sha256"] = r.Sha256,
            ["mime_type"] = r.MimeType,
            ["is_active"] = r.IsActive ? 1 : 0,
            ["last_accessed"] = r.LastAccessed,
            ["synced_at"] = r.SyncedAt,
            ["metadata"] = ParseOrNull(r.Metadata),
        }).ToArray())).ConfigureAwait(false);
    }

    private static async Task BlobAsync(HttpContext context, EmulatorState state, string key)
    {
        var blob = await state.Blobs.GetAsync(key, context.RequestAborted).ConfigureAwait(false);
        if (blob is null)
        {
            await Middleware.WriteNotFoundAsync(context).ConfigureAwait(false);
            return;
        }

        context.Response.ContentType = blob.ContentType;
        context.Response.ContentLength = blob.Content.Length;
        await context.Response.Body.WriteAsync(blob.Content, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task FaultAsync(HttpContext context, EmulatorState state)
    {
        var body = await Js.ReadJsonAsync(context).ConfigureAwait(false);
        var input = body.Node as JsonObject;
        if (input is null || input["status"] is not JsonValue statusValue || !statusValue.TryGetValue<int>(out var status)
            || status < 100 || status > 599)
        {
            await Js.WriteJsonAsync(context, 400, new JsonObject
            {
                ["error"] = "invalid_request",
                ["message"] = "Expected {\"status\":503,\"count\":1,\"retryAfter\":1,\"path\":\"/api/...\",\"method\":\"PUT\",\"body\":\"...\",\"contentType\":\"text/html\"}",
            }).ConfigureAwait(false);
            return;
        }

        var count = input["count"] is JsonValue c && c.TryGetValue<int>(out var n) ? n : 1;
        int? retryAfter = input["retryAfter"] is JsonValue r && r.TryGetValue<int>(out var seconds) ? seconds : null;
        static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var text) ? text : null;
        state.AddFault(new Fault
        {
            Status = status,
            PathPrefix = Text(input["path"]) ?? "/",
            Method = Text(input["method"]),
            RetryAfterSeconds = retryAfter,
            Body = Text(input["body"]),
            ContentType = Text(input["contentType"]),
            Remaining = Math.Max(1, count),
        });
        await Js.WriteJsonAsync(context, 200, new JsonObject { ["ok"] = true }).ConfigureAwait(false);
    }

    private static JsonNode? ParseOrNull(string? json)
    {
        if (json is null)
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return json;
        }
    }
}
