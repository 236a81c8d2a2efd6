using System.Text.Json.Nodes;
using ChittyConnect.Emulator.Infrastructure;
using ChittyConnect.Emulator.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ChittyConnect.Emulator.Endpoints;

/// <summary><c>/api/context/files/*</c> and <c>/api/registry/whoami</c>.</summary>
internal static class ContextEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapPost("/api/context/files/set-active", (HttpContext c, EmulatorState s) => SetActiveAsync(c, s));
        app.MapPost("/api/context/files/sync-report", (HttpContext c, EmulatorState s) => SyncReportAsync(c, s));
        app.MapGet("/api/registry/whoami", (HttpContext c, EmulatorState s) => WhoAmIAsync(c, s));
    }

    private static async Task SetActiveAsync(HttpContext context, EmulatorState state)
    {
        var body = await Js.ReadJsonAsync(context).ConfigureAwait(false);
        if (!body.IsValid)
        {
            await BadJson(context, body.Error!).ConfigureAwait(false);
            return;
        }

        var input = body.Object;
        // const { session_id, files = [] } = body || {}: only undefined takes the default.
        var filesNode = input.ContainsKey("files") ? input["files"] : new JsonArray();
        if (!Js.Truthy(input["session_id"]) || filesNode is not JsonArray files)
        {
            await InvalidRequest(context).ConfigureAwait(false);
            return;
        }

        var sessionId = Js.ToJsString(input["session_id"]);
        var chittyId = context.ApiKey().ChittyId;
        if (files.Count > 0)
        {
            var now = state.Time.GetUtcNow().ToUnixTimeSeconds();
            var rows = files.Select(f => f is JsonObject file && file["uri"] is not null
                    ? new ContextFileRow(
                        Guid.NewGuid().ToString(),
                        sessionId,
                        chittyId,
                        Js.ToJsString(file["uri"]),
                        Js.StringOrNull(file["name"]),
                        Js.NumberOrNull(file["size"]),
                        Js.StringOrNull(file["sha256"]),
                        Js.StringOrNull(file["mime"]),
                        IsActive: true,
                        now,
                        now,
                        (Js.Truthy(file["metadata"]) ? file["metadata"]!.ToJsonString() : "{}"))
                    : null)
                .ToList();
            // A file without a uri fails the whole D1 batch; the service logs it and still answers 200.
            await state.Database.UpsertContextFilesAsync(rows).ConfigureAwait(false);
        }

        state.Events.Broadcast(new JsonObject
        {
            ["type"] = "context.files.updated",
            ["sessionId"] = Js.Clone(input["session_id"]),
            ["files"] = files.DeepClone(),
        });
        await Js.WriteJsonAsync(context, 200, new JsonObject { ["ok"] = true, ["count"] = files.Count }).ConfigureAwait(false);
    }

    private static async Task SyncReportAsync(HttpContext context, EmulatorState state)
    {
        var body = await Js.ReadJsonAsync(context).ConfigureAwait(false);
        if (!body.IsValid)
        {
            await BadJson(context, body.Error!).ConfigureAwait(false);
            return;
        }

        var input = body.Object;
        var itemsNode = input.ContainsKey("items") ? input["items"] : new JsonArray();
        if (itemsNode is not JsonArray items)
        {
            await InvalidRequest(context).ConfigureAwait(false);
            return;
        }

        var source = input.ContainsKey("source") ? Js.ToJsString(input["source"]) : "rclone";
        var apiKey = context.ApiKey();
        var eventId = Guid.NewGuid().ToString();
        var now = state.Time.GetUtcNow().ToUnixTimeSeconds();

        // The service sums item.size || 0; an item that is not an object throws and skips both writes.
        if (items.All(i => i is JsonObject))
        {
            var totalBytes = items.Sum(i => Js.NumberOrNull(i!["size"]) ?? 0);
            var metadata = new JsonObject
            {
                ["path_prefix"] = Js.Clone(input["path_prefix"]),
                ["items"] = items.DeepClone(),
            };
            await state.Database.InsertSyncEventAsync(new SyncEventRow(
                eventId, apiKey.SessionId, "file_sync", source, items.Count, totalBytes, "success", null, now, metadata.ToJsonString()))
                .ConfigureAwait(false);

            if (items.Count > 0)
            {
                var rows = items.Select(i =>
                {
                    var item = (JsonObject)i!;
                    var r2Key = Js.Truthy(item["r2_key"]) ? Js.ToJsString(item["r2_key"]) : null;
                    return (ContextFileRow?)new ContextFileRow(
                        Guid.NewGuid().ToString(),
                        apiKey.SessionId,
                        apiKey.ChittyId,
                        r2Key is not null ? "r2://" + r2Key : Js.StringOrNull(item["uri"]) ?? "unknown",
                        r2Key is not null ? r2Key.Split('/')[^1] : Js.StringOrNull(item["name"]),
                        Js.NumberOrNull(item["size"]),
                        Js.StringOrNull(item["sha256"]),
                        MimeType: null,
                        IsActive: true,
                        now,
                        now,
                        Metadata: null);
                }).ToList();
                await state.Database.UpsertContextFilesAsync(rows).ConfigureAwait(false);
            }
        }

        state.Events.Broadcast(new JsonObject
        {
            ["type"] = "context.files.synced",
            ["sessionId"] = apiKey.SessionId,
            ["pathPrefix"] = Js.Truthy(input["path_prefix"]) ? Js.Clone(input["path_prefix"]) : string.Empty,
            ["count"] = items.Count,
            ["eventId"] = eventId,
        });
        await Js.WriteJsonAsync(context, 200, new JsonObject { ["ok"] = true, ["count"] = items.Count, ["eventId"] = eventId })
            .ConfigureAwait(false);
    }

    private static async Task WhoAmIAsync(HttpContext context, EmulatorState state)
    {
        var apiKey = context.ApiKey();
        var files = await state.Database.ListContextFilesAsync(apiKey.SessionId, activeOnly: true, limit: 10).ConfigureAwait(false);
        await Js.WriteJsonAsync(context, 200, new JsonObject
        {
            ["success"] = true,
            ["data"] = new JsonObject
            {
                ["tenant"] = new JsonObject
                {
                    ["chitty_id"] = apiKey.ChittyId,
                    ["name"] = apiKey.DisplayName,
                    ["account_type"] = "standard",
                },
                ["session"] = new JsonObject
                {
                    ["session_id"] = apiKey.SessionId,
                    // The service reports the time of the call here, not when the session began.
                    ["created_at"] = Js.Iso(state.Time.GetUtcNow()),
                    ["last_activity"] = Js.Iso(state.Time.GetUtcNow()),
                    ["active_files"] = new JsonArray(files.Select(f => (JsonNode?)new JsonObject
                    {
                        ["uri"] = f.FileUri,
                        ["name"] = f.FileName,
                        ["size"] = f.FileSize,
                        ["sha256"] = f.Sha256,
                        ["mime"] = f.MimeType,
                        ["last_accessed"] = Js.Iso(DateTimeOffset.FromUnixTimeSeconds(f.LastAccessed)),
                    }).ToArray()),
                    ["active_tasks"] = new JsonArray(),
                },
                ["scopes"] = new JsonArray(apiKey.Scopes.Select(s => (JsonNode?)s).ToArray()),
                ["flags"] = new JsonObject
                {
                    ["mcp_enabled"] = true,
                    ["context_consciousness_enabled"] = true,
                    ["memory_cloude_enabled"] = true,
                    ["beta_features"] = new JsonArray("presigned_uploads", "task_tracking", "context_sync"),
                },
                ["quota"] = new JsonObject
                {
                    ["storage_bytes"] = 1073741824L,
                    ["api_calls_remaining"] = state.Options.RateLimitPerMinute,
                },
            },
        }).ConfigureAwait(false);
    }

    private static Task BadJson(HttpContext context, string message) =>
        Js.WriteJsonAsync(context, 400, new JsonObject { ["error"] = "bad_json", ["message"] = message });

    // As the service answers here: the code alone, no message.
    private static Task InvalidRequest(HttpContext context) =>
        Js.WriteJsonAsync(context, 400, new JsonObject { ["error"] = "invalid_request" });
}
