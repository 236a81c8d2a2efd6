using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ChittyConnect.Emulator;

namespace ChittyConnect.Tests.Infrastructure;

/// <summary>
/// A ChittyConnect emulator started in-process on a free loopback port, with its own temporary database and
/// blob folder, and three keys: <see cref="ApiKey"/>, <see cref="OtherApiKey"/> and the inactive
/// <see cref="InactiveApiKey"/>. Its presign answers production upload URLs (https://api.chitty.cc/...), as the
/// service does, so every presigned upload a test makes goes through the client's rewrite to its endpoint.
/// Dispose it to stop it and delete its files.
/// </summary>
public sealed class EmulatorHost : IAsyncDisposable
{
    public const string ApiKey = "test-key";
    public const string ChittyId = "chitty-test";
    public const string SessionId = "session-test";
    public const string OtherApiKey = "other-key";
    public const string OtherChittyId = "chitty-other";
    public const string OtherSessionId = "session-other";
    public const string InactiveApiKey = "inactive-key";

    private readonly string _directory;

    private EmulatorHost(EmulatorApp app, string directory)
    {
        App = app;
        _directory = directory;
    }

    /// <summary>The running emulator.</summary>
    public EmulatorApp App { get; }

    /// <summary>Its base URL, e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseUri => App.BaseUri;

    /// <summary>Its blob folder, unless <c>configure</c> chose S3.</summary>
    public string BlobDirectory => Path.Combine(_directory, "blobs");

    /// <summary>Its SQLite file.</summary>
    public string DatabasePath => App.DatabasePath;

    /// <summary>
    /// Starts an emulator; <paramref name="configure"/> sees the options with the three default keys already in
    /// <see cref="EmulatorOptions.Keys"/> (clear them to use others).
    /// </summary>
    public static async Task<EmulatorHost> StartAsync(Action<EmulatorOptions>? configure = null, CancellationToken cancellationToken = default)
    {
        var directory = Path.Combine(Path.GetTempPath(), "chitty-emulator-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var options = new EmulatorOptions
        {
            Urls = "http://127.0.0.1:0",
            DatabasePath = Path.Combine(directory, "emulator.db"),
            BlobDirectory = Path.Combine(directory, "blobs"),
            ProductionUploadUrls = true,
        };
        options.Keys.Add(new EmulatorApiKey(ApiKey, ChittyId, SessionId));
        options.Keys.Add(new EmulatorApiKey(OtherApiKey, OtherChittyId, OtherSessionId));
        options.Keys.Add(new EmulatorApiKey(InactiveApiKey, "chitty-inactive", "session-inactive", IsActive: false));
        configure?.Invoke(options);
        if (options.S3Endpoint is not null)
        {
            options.BlobDirectory = null;
        }

        try
        {
            var app = await EmulatorApp.StartAsync(options, cancellationToken);
            return new EmulatorHost(app, directory);
        }
        catch
        {
            TryDelete(directory);
            throw;
        }
    }

    /// <summary>An HttpClient on the emulator sending <paramref name="apiKey"/> as a bearer token (none when null).</summary>
    public HttpClient CreateClient(string? apiKey = ApiKey)
    {
        var client = new HttpClient { BaseAddress = BaseUri, Timeout = TimeSpan.FromSeconds(30) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    /// <summary>GETs an inspection endpoint, e.g. <c>_emulator/sync-events</c>, as JSON.</summary>
    public async Task<JsonNode> InspectAsync(string relativePath)
    {
        using var client = CreateClient(apiKey: null);
        return JsonNode.Parse(await client.GetStringAsync(relativePath.TrimStart('/')))!;
    }

    /// <summary>Arms a fault: the next <paramref name="count"/> requests under <paramref name="pathPrefix"/> answer <paramref name="status"/>.</summary>
    public async Task ArmFaultAsync(int status, int count, string pathPrefix, int? retryAfterSeconds = null, string? body = null, string? contentType = null)
    {
        using var client = CreateClient(apiKey: null);
        var fault = new JsonObject { ["status"] = status, ["count"] = count, ["path"] = pathPrefix };
        if (retryAfterSeconds is { } retryAfter)
        {
            fault["retryAfter"] = retryAfter;
        }

        if (body is not null)
        {
            fault["body"] = body;
            fault["contentType"] = contentType ?? "text/plain";
        }

        using var response = await client.PostAsJsonAsync("_emulator/fault", fault);
        response.EnsureSuccessStatusCode();
    }

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        TryDelete(_directory);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
