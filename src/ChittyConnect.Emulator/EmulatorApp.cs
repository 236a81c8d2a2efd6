using ChittyConnect.Emulator.Endpoints;
using ChittyConnect.Emulator.Infrastructure;
using ChittyConnect.Emulator.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace ChittyConnect.Emulator;

/// <summary>
/// A running ChittyConnect emulator. The process (Program) and in-process tests start it the same way:
/// <c>await using var app = await EmulatorApp.StartAsync(options);</c> then talk to <see cref="BaseUri"/>.
/// </summary>
public sealed class EmulatorApp : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly EmulatorState _state;
    private readonly string? _tempDatabase;
    private readonly string? _tempBlobDirectory;
    private int _disposed;

    private EmulatorApp(WebApplication app, EmulatorState state, Uri baseUri, string? tempDatabase, string? tempBlobDirectory)
    {
        _app = app;
        _state = state;
        BaseUri = baseUri;
        _tempDatabase = tempDatabase;
        _tempBlobDirectory = tempBlobDirectory;
    }

    /// <summary>The URL the emulator really listens on (the bound port when 0 was asked for), e.g. <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseUri { get; }

    /// <summary>The options it was started with.</summary>
    public EmulatorOptions Options => _state.Options;

    /// <summary>The SQLite file in use.</summary>
    public string DatabasePath => _state.Database.Path;

    /// <summary>The API keys it accepts (the demo key when none was configured).</summary>
    public IReadOnlyList<EmulatorApiKey> Keys => Options.EffectiveKeys;

    /// <summary>Number of SSE streams currently open.</summary>
    public int OpenEventStreams => _state.Events.SubscriberCount;

    /// <summary>The line the process prints once listening.</summary>
    public string ReadyLine => $"ChittyConnect emulator ready on {BaseUri.GetLeftPart(UriPartial.Authority)}";

    /// <summary>Builds and starts an emulator; returns once it is listening.</summary>
    /// <exception cref="ArgumentException">The options are inconsistent.</exception>
    public static async Task<EmulatorApp> StartAsync(EmulatorOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();

        string? tempDatabase = null;
        var databasePath = options.DatabasePath;
        if (databasePath is null)
        {
            tempDatabase = databasePath = Path.Combine(Path.GetTempPath(), $"chitty-emulator-{Guid.NewGuid():N}.db");
        }

        string? tempBlobs = null;
        IBlobStore blobs;
        if (options.S3Endpoint is not null)
        {
            blobs = new S3BlobStore(options.S3Endpoint, options.S3Bucket!, options.S3AccessKey!, options.S3SecretKey!);
        }
        else
        {
            var directory = options.BlobDirectory;
            if (directory is null)
            {
                tempBlobs = directory = Path.Combine(Path.GetTempPath(), $"chitty-emulator-blobs-{Guid.NewGuid():N}");
            }

            blobs = new FolderBlobStore(directory);
        }

        EmulatorState? state = null;
        WebApplication? app = null;
        try
        {
            await blobs.InitializeAsync(cancellationToken).ConfigureAwait(false);
            var databaseDirectory = Path.GetDirectoryName(Path.GetFullPath(databasePath));
            if (!string.IsNullOrEmpty(databaseDirectory))
            {
                Directory.CreateDirectory(databaseDirectory);
            }

            state = new EmulatorState(options, new EmulatorDatabase(databasePath), blobs);
            app = Build(options, state);
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault()
                ?? throw new InvalidOperationException("The emulator started without a listening address.");
            var baseUri = new Uri(address.EndsWith('/') ? address : address + "/");
            return new EmulatorApp(app, state, baseUri, tempDatabase, tempBlobs);
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync().ConfigureAwait(false);
            }

            if (state is not null)
            {
                state.Dispose();
            }
            else
            {
                blobs.Dispose();
            }

            DeleteTemporaryFiles(tempDatabase, tempBlobs);
            throw;
        }
    }

    /// <summary>Completes when the host is asked to stop (SIGTERM/Ctrl+C in the process form, or <paramref name="cancellationToken"/>).</summary>
    public Task WaitForShutdownAsync(CancellationToken cancellationToken = default) => _app.WaitForShutdownAsync(cancellationToken);

    /// <summary>Stops listening and ends open SSE streams.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await _app.StopAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _app.DisposeAsync().ConfigureAwait(false);
        _state.Dispose();
        DeleteTemporaryFiles(_tempDatabase, _tempBlobDirectory);
    }

    private static WebApplication Build(EmulatorOptions options, EmulatorState state)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(EmulatorApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Presigned PUTs carry whole large files.
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.AddServerHeader = false;
        });

        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        // Warnings go to stderr so that stdout holds nothing but the ready line.
        builder.Logging.AddConsole(console => console.LogToStandardErrorThreshold = LogLevel.Trace);

        builder.Services.Configure<HostOptions>(host => host.ShutdownTimeout = TimeSpan.FromSeconds(5));
        if (!options.HandleConsoleSignals)
        {
            builder.Services.AddSingleton<IHostLifetime, InProcessLifetime>();
        }

        builder.Services.AddSingleton(state);

        var app = builder.Build();
        app.Use((context, next) => Middleware.RecordAsync(context, next, state));
        app.Use(Middleware.ApiCorsAsync);
        app.Use((context, next) => Middleware.FaultAsync(context, next, state));
        app.UseRouting();
        app.Use((context, next) => Middleware.AuthenticateAsync(context, next, state));
        app.Use(Middleware.NotFoundAsync);

        SessionEndpoints.Map(app);
        FileEndpoints.Map(app);
        ContextEndpoints.Map(app);
        SseEndpoint.Map(app);
        InspectionEndpoints.Map(app);
        return app;
    }

    private static void DeleteTemporaryFiles(string? database, string? blobDirectory)
    {
        try
        {
            if (database is not null)
            {
                SqliteConnection.ClearAllPools();
                foreach (var path in new[] { database, database + "-wal", database + "-shm" })
                {
                    File.Delete(path);
                }
            }

            if (blobDirectory is not null && Directory.Exists(blobDirectory))
            {
                Directory.Delete(blobDirectory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>In-process hosts leave console signals to their own process.</summary>
    private sealed class InProcessLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
