using System.Text.Json.Nodes;
using ChittyConnect.Emulator.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ChittyConnect.Emulator.Endpoints;

/// <summary><c>/api/v1/sessions</c>: the Durable Object session store, with its <c>{success,error:{code}}</c> shape.</summary>
internal static class SessionEndpoints
{
    /// <summary>The service version whose behaviour the emulator reproduces (shared/chittyconnect-api.md).</summary>
    public const string ServiceVersion = "2.2.0";

    private static readonly TimeSpan s_sessionLifetime = TimeSpan.FromHours(24);

    public static void Map(WebApplication app)
    {
        // The one /api route that needs no key (Middleware.AuthenticateAsync lets it through).
        app.MapGet(Middleware.StatusPath, (HttpContext c, EmulatorState s) => Js.WriteJsonAsync(c, 200, new JsonObject
        {
            ["status"] = "ok",
            ["service"] = "chittyconnect",
            ["version"] = ServiceVersion,
            ["timestamp"] = Js.Iso(s.Time.GetUtcNow()),
        }));
        app.MapPost("/api/v1/sessions", (HttpContext c, EmulatorState s) => CreateAsync(c, s));
        app.MapGet("/api/v1/sessions", (HttpContext c, EmulatorState s) => ListAsync(c, s));
        app.MapGet("/api/v1/sessions/{id}", (HttpContext c, EmulatorState s, string id) => GetAsync(c, s, id));
        app.MapMethods("/api/v1/sessions/{id}", new[] { "PATCH" }, (HttpContext c, EmulatorState s, string id) => PatchAsync(c, s, id));
    }

    private static async Task CreateAsync(HttpContext context, EmulatorState state)
    {
        var body = await Js.ReadJsonAsync(context).ConfigureAwait(false);
        if (!body.IsValid || body.Node is null)
        {
            // The service destructures c.req.json() inside its try: bad JSON (or null) is a 500.
            await Error(context, 500, "SESSION_CREATE_FAILED", body.Error ?? "Cannot destructure property 'chittyId' of null").ConfigureAwait(false);
            return;
        }

        var input = body.Object;
        if (!Js.Truthy(input["chittyId"]) || !Js.Truthy(input["sessionId"]))
        {
            await Error(context, 400, "MISSING_REQUIRED_FIELDS", "chittyId and sessionId are required").ConfigureAwait(false);
            return;
        }

        var chittyId = Js.ToJsString(input["chittyId"]);
        var sessionId = Js.ToJsString(input["sessionId"]);
        var now = Js.NowMs(state.Time);
        var metadata = Js.Truthy(input["metadata"]) ? Js.Clone(input["metadata"]) : new JsonObject();
        var session = new JsonObject
        {
            ["id"] = sessionId,
            ["chittyId"] = chittyId,
            ["created"] = now,
            ["updated"] = now,
            ["expires"] = now + (long)s_sessionLifetime.TotalMilliseconds,
            ["metadata"] = metadata,
            ["state"] = "active",
            ["decisions"] = new JsonArray(),
            ["interactions"] = 0,
        };
        await state.Database.PutSessionAsync(chittyId, sessionId, now, now + (long)s_sessionLifetime.TotalMilliseconds, session).ConfigureAwait(false);
        await Js.WriteJsonAsync(context, 200, new JsonObject
        {
            ["success"] = true,
            ["data"] = session.DeepClone(),
            ["metadata"] = new JsonObject
            {
                ["timestamp"] = Js.Iso(state.Time.GetUtcNow()),
                ["requestId"] = Guid.NewGuid().ToString(),
            },
        }).ConfigureAwait(false);
    }

    private static async Task ListAsync(HttpContext context, EmulatorState state)
    {
        var chittyId = context.Request.Headers["X-ChittyID"].ToString();
        if (string.IsNullOrEmpty(chittyId))
        {
            await MissingChittyId(context).ConfigureAwait(false);
            return;
        }

        var sessions = await state.Database.ListSessionsAsync(chittyId, Js.NowMs(state.Time)).ConfigureAwait(false);
        await Js.WriteJsonAsync(context, 200, new JsonObject
        {
            ["success"] = true,
            ["data"] = new JsonObject
            {
                ["count"] = sessions.Count,
                ["sessions"] = new JsonArray(sessions.Select(s => (JsonNode?)s).ToArray()),
            },
        }).ConfigureAwait(false);
    }

    private static async Task GetAsync(HttpContext context, EmulatorState state, string id)
    {
        var chittyId = context.Request.Headers["X-ChittyID"].ToString();
        if (string.IsNullOrEmpty(chittyId))
        {
            await MissingChittyId(context).ConfigureAwait(false);
            return;
        }

        var session = await state.Database.GetSessionAsync(chittyId, id, Js.NowMs(state.Time)).ConfigureAwait(false);
        if (session is null)
        {
            await Error(context, 404, "SESSION_NOT_FOUND", "Session not found").ConfigureAwait(false);
            return;
        }

        await Js.WriteJsonAsync(context, 200, new JsonObject { ["success"] = true, ["data"] = session }).ConfigureAwait(false);
    }

    private static async Task PatchAsync(HttpContext context, EmulatorState state, string id)
    {
        var chittyId = context.Request.Headers["X-ChittyID"].ToString();
        if (string.IsNullOrEmpty(chittyId))
        {
            await MissingChittyId(context).ConfigureAwait(false);
            return;
        }

        var body = await Js.ReadJsonAsync(context).ConfigureAwait(false);
        if (!body.IsValid)
        {
            await Error(context, 500, "SESSION_UPDATE_FAILED", body.Error!).ConfigureAwait(false);
            return;
        }

        var now = Js.NowMs(state.Time);
        var session = await state.Database.GetSessionAsync(chittyId, id, now).ConfigureAwait(false);
        if (session is null)
        {
            await Error(context, 404, "SESSION_NOT_FOUND", "Session not found").ConfigureAwait(false);
            return;
        }

        // {...existing, ...updates, updated: Date.now()}: a shallow merge.
        foreach (var (name, value) in body.Object.ToArray())
        {
            session[name] = Js.Clone(value);
        }

        session["updated"] = now;
        var expires = session["expires"] is JsonValue e && e.TryGetValue<double>(out var ms) ? (long)ms : long.MaxValue;
        await state.Database.PutSessionAsync(chittyId, id, now, expires, session).ConfigureAwait(false);
        await Js.WriteJsonAsync(context, 200, new JsonObject { ["success"] = true, ["data"] = session.DeepClone() }).ConfigureAwait(false);
    }

    private static Task MissingChittyId(HttpContext context) =>
        Error(context, 400, "MISSING_CHITTYID", "X-ChittyID header is required");

    private static Task Error(HttpContext context, int status, string code, string message) =>
        Js.WriteJsonAsync(context, status, new JsonObject
        {
            ["success"] = false,
            ["error"] = new JsonObject { ["code"] = code, ["message"] = message },
        });
}
