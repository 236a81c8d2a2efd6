using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using ChittyConnect.Emulator.Infrastructure;
using ChittyConnect.Emulator.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ChittyConnect.Emulator.Endpoints;

/// <summary><c>/api/files/*</c>: direct upload, presign, presigned PUT and commit, quirks included.</summary>
internal static partial class FileEndpoints
{
    /// <summary>What D1 says when a statement is bound to <c>undefined</c>, which is how the PUT fails.</summary>
    private const string D1UndefinedMessage = "D1_TYPE_ERROR: Type 'undefined' not supported for value 'undefined'";

    public static void Map(WebApplication app)
    {
        app.MapPost("/api/files/upload", (HttpContext c, EmulatorState s) => DirectUploadAsync(c, s));
        app.MapPost("/api/files/presign", (HttpContext c, EmulatorState s) => PresignAsync(c, s));
        app.MapPut("/api/files/upload/{token}", (HttpContext c, EmulatorState s, string token) => PresignedPutAsync(c, s, token));
        app.MapPost("/api/files/commit", (HttpContext c, EmulatorState s) => CommitAsync(c, s));
    }

    /// <summary><c>files/&lt;session&gt;/&lt;yyyy&gt;/&lt;mm&gt;/&lt;dd&gt;/&lt;sha256 or epoch ms&gt;-&lt;safeName&gt;</c>, dated in UTC.</summary>
    internal static string R2Key(string sessionId, JsonNode? sha256, string name, DateTimeOffset now)
    {
        var utc = now.UtcDateTime;
        var prefix = Js.Truthy(sha256) ? Js.ToJsString(sha256) : now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        var safeName = UnsafeNameCharacters().Replace(name, "_");
        return string.Create(CultureInfo.InvariantCulture, $"files/{sessionId}/{utc:yyyy}/{utc:MM}/{utc:dd}/{prefix}-{safeName}");
    }

    private static async Task DirectUploadAsync(HttpContext context, EmulatorState state)
    {
        var body = await Js.ReadJsonAsync(context).ConfigureAwait(false);
        if (!body.IsValid || body.Node is null)
        {
            await UploadFailed(context, body.Error ?? "Cannot destructure property 'name' of null").ConfigureAwait(false);
            return;
        }

        var input = body.Object;
        if (!Js.Truthy(input["name"]) || !Js.Truthy(input["session_id"]) || !Js.Truthy(input["content_base64"]))
        {
            await InvalidRequest(context, message: null).ConfigureAwait(false);
            return;
        }

        var now = state.Time.GetUtcNow();
        var name = Js.ToJsString(input["name"]);
        var sessionId = Js.ToJsString(input["session_id"]);
        var key = R2Key(sessionId, input["sha256"], name, now);
        if (!Js.TryDecodeBase64(Js.ToJsString(input["content_base64"]), out var bytes))
        {
            await UploadFailed(context, "The string to be decoded is not correctly encoded.").ConfigureAwait(false);
            return;
        }

        var mime = Js.StringOrNull(input["mime"]) ?? "application/octet-stream";
        using (var content = new MemoryStream(bytes, writable: false))
        {
            await state.Blobs.PutAsync(key, content, mime, context.RequestAborted).ConfigureAwait(false);
        }

        var file = new JsonObject { ["r2_key"] = key };
        AddIfDefined(file, "sha256", input["sha256"], input.ContainsKey("sha256"));
        file["size"] = Js.Truthy(input["size"]) ? Js.Clone(input["size"]) : bytes.Length;
        file["name"] = Js.Clone(input["name"]);
        state.Events.Broadcast(new JsonObject
        {
            ["type"] = "context.files.uploaded",
            ["sessionId"] = Js.Clone(input["session_id"]),
            ["file"] = file,
        });
        await Js.WriteJsonAsync(context, 200, new JsonObject { ["ok"] = true, ["r2_key"] = key }).ConfigureAwait(false);
    }

    private static async Task PresignAsync(HttpContext context, EmulatorState state)
    {
        var body = await Js.ReadJsonAsync(context).ConfigureAwait(false);
        if (!body.IsValid || body.Node is null)
        {
            await Js.WriteJsonAsync(context, 500, new JsonObject
            {
                ["error"] = "presign_failed",
                ["message"] = body.Error ?? "Cannot destructure property 'name' of null",
            }).ConfigureAwait(false);
            return;
        }

        var input = body.Object;
        if (!Js.Truthy(input["name"]) || !Js.Truthy(input["session_id"]) || !Js.Truthy(input["size"]))
        {
            await InvalidRequest(context, "name, session_id, and size required").ConfigureAwait(false);
            return;
        }

        var apiKey = context.ApiKey();
        var now = state.Time.GetUtcNow();
        var name = Js.ToJsString(input["name"]);
        var sessionId = Js.ToJsString(input["session_id"]);
        var key = R2Key(sessionId, input["sha256"], name, now);
        var token = Guid.NewGuid().ToString();
        var expiresAt = now + state.Options.UploadTokenLifetime;
        await state.Database.InsertUploadTokenAsync(new UploadTokenRow(
            token,
            key,
            sessionId,
            apiKey.ChittyId,
            name,
            Js.NumberOrNull(input["size"]),
            // Kept exactly as sent: a missing mime or sha256 is what later breaks the PUT.
            input["mime"] is null ? null : Js.ToJsString(input["mime"]),
            input["sha256"] is null ? null : Js.ToJsString(input["sha256"]),
            expiresAt.ToUnixTimeMilliseconds())).ConfigureAwait(false);

        var origin = state.Options.ProductionUploadUrls
            ? EmulatorOptions.ProductionBaseUrl
            : $"{context.Request.Scheme}://{context.Request.Host}";
        await Js.WriteJsonAsync(context, 200, new JsonObject
        {
            ["ok"] = true,
            ["upload_url"] = $"{origin}/api/files/upload/{token}",
            ["r2_key"] = key,
            ["expires_in"] = (long)state.Options.UploadTokenLifetime.TotalSeconds,
            ["expires_at"] = Js.Iso(expiresAt),
        }).ConfigureAwait(false);
    }

    private static async Task PresignedPutAsync(HttpContext context, EmulatorState state, string token)
    {
        var intent = await state.Database.GetUploadTokenAsync(token, Js.NowMs(state.Time)).ConfigureAwait(false);
        if (intent is null)
        {
            await Js.WriteJsonAsync(context, 401, new JsonObject { ["error"] = "invalid_or_expired_token" }).ConfigureAwait(false);
            return;
        }

        long size;
        try
        {
            size = await state.Blobs.PutAsync(intent.R2Key, context.Request.Body, intent.Mime ?? "application/octet-stream", context.RequestAborted)
                .ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await UploadFailed(context, ex.Message).ConfigureAwait(false);
            return;
        }

        // The service binds intent.sha256 and intent.mime as they are; D1 rejects undefined after the
        // object is already in R2, and the token survives because its deletion comes later.
        if (intent.Sha256 is null || intent.Mime is null)
        {
            await UploadFailed(context, D1UndefinedMessage).ConfigureAwait(false);
            return;
        }

        var nowSeconds = state.Time.GetUtcNow().ToUnixTimeSeconds();
        await state.Database.UpsertContextFilesAsync(new[]
        {
            new ContextFileRow(
                Guid.NewGuid().ToString(),
                intent.SessionId,
                intent.ChittyId,
                "r2://" + intent.R2Key,
                intent.Name,
                size,
                intent.Sha256,
                intent.Mime,
                IsActive: true,
                nowSeconds,
                nowSeconds,
                Metadata: null),
        }).ConfigureAwait(false);
        await state.Database.DeleteUploadTokenAsync(token).ConfigureAwait(false);

        state.Events.Broadcast(new JsonObject
        {
            ["type"] = "context.files.uploaded",
            ["sessionId"] = intent.SessionId,
            ["file"] = new JsonObject
            {
                ["r2_key"] = intent.R2Key,
                ["sha256"] = intent.Sha256,
                ["size"] = size,
                ["name"] = intent.Name,
            },
        });
        await Js.WriteJsonAsync(context, 200, new JsonObject { ["ok"] = true, ["r2_key"] = intent.R2Key, ["size"] = size })
            .ConfigureAwait(false);
    }

    private static async Task CommitAsync(HttpContext context, EmulatorState state)
    {
        var body = await Js.ReadJsonAsync(context).ConfigureAwait(false);
        if (!body.IsValid || body.Node is null)
        {
            await Js.WriteJsonAsync(context, 400, new JsonObject
            {
                ["error"] = "bad_json",
                ["message"] = body.Error ?? "Cannot destructure property 'r2_key' of null",
            }).ConfigureAwait(false);
            return;
        }

        var input = body.Object;
        if (!Js.Truthy(input["r2_key"]) || !Js.Truthy(input["session_id"]))
        {
            await InvalidRequest(context, message: null).ConfigureAwait(false);
            return;
        }

        var file = new JsonObject();
        foreach (var field in new[] { "r2_key", "sha256", "size", "task_id" })
        {
            AddIfDefined(file, field, input[field], input.ContainsKey(field));
        }

        state.Events.Broadcast(new JsonObject
        {
            ["type"] = "context.files.committed",
            ["sessionId"] = Js.Clone(input["session_id"]),
            ["file"] = file,
        });
        await Js.WriteJsonAsync(context, 200, new JsonObject { ["ok"] = true }).ConfigureAwait(false);
    }

    /// <summary>JSON.stringify drops undefined members but keeps explicit nulls.</summary>
    private static void AddIfDefined(JsonObject target, string name, JsonNode? value, bool present)
    {
        if (present)
        {
            target[name] = Js.Clone(value);
        }
    }

    // Presign explains the missing fields; direct upload and commit answer with the code alone, as the service does.
    private static Task InvalidRequest(HttpContext context, string? message)
    {
        var body = new JsonObject { ["error"] = "invalid_request" };
        if (message is not null)
        {
            body["message"] = message;
        }

        return Js.WriteJsonAsync(context, 400, body);
    }

    private static Task UploadFailed(HttpContext context, string message) =>
        Js.WriteJsonAsync(context, 500, new JsonObject { ["error"] = "upload_failed", ["message"] = message });

    [GeneratedRegex("[^a-zA-Z0-9_.-]")]
    private static partial Regex UnsafeNameCharacters();
}
