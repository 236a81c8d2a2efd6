using System.Globalization;

namespace ChittyConnect.Emulator;

/// <summary>An API key known to the emulator, bound to one ChittyID and one session.</summary>
/// <param name="Key">The secret sent as <c>Authorization: Bearer</c> or <c>X-ChittyOS-API-Key</c>.</param>
/// <param name="ChittyId">The ChittyID (tenant) the key belongs to.</param>
/// <param name="SessionId">The session the key is bound to (sync-report and whoami use it).</param>
/// <param name="IsActive">False for a key that answers 401 "API key is inactive".</param>
public sealed record EmulatorApiKey(string Key, string ChittyId, string SessionId, bool IsActive = true)
{
    private const string Shape = "key=chittyId:sessionId[:inactive][,name=<name>][,scopes=<scope>+<scope>...]";

    /// <summary>The scopes a key has when none are given.</summary>
    public static readonly IReadOnlyList<string> DefaultScopes = new[] { "read", "write" };

    /// <summary>The key record's name, which whoami reports as <c>tenant.name</c>; the ChittyID when none is given.</summary>
    public string? Name { get; init; }

    /// <summary>The key record's scopes, which whoami reports as <c>scopes</c>.</summary>
    public IReadOnlyList<string> Scopes { get; init; } = DefaultScopes;

    /// <summary>The name whoami reports.</summary>
    public string DisplayName => Name ?? ChittyId;

    /// <summary>
    /// Parses <c>key=chittyId:sessionId</c>, optionally followed by <c>:inactive</c>, then by <c>,name=...</c> and
    /// <c>,scopes=a+b</c> (scopes joined by <c>+</c>; a name cannot hold a comma).
    /// </summary>
    /// <exception cref="FormatException">The text does not have that shape.</exception>
    public static EmulatorApiKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new FormatException($"An API key must look like {Shape}, not '{text}'.");
        }

        var key = text[..eq].Trim();
        var fields = text[(eq + 1)..].Split(',');
        var parts = fields[0].Split(':');
        var inactive = parts.Length == 3 && string.Equals(parts[2].Trim(), "inactive", StringComparison.OrdinalIgnoreCase);
        if ((parts.Length != 2 && !inactive) || parts[0].Trim().Length == 0 || parts[1].Trim().Length == 0)
        {
            throw new FormatException($"An API key must look like {Shape}, not '{text}'.");
        }

        string? name = null;
        IReadOnlyList<string>? scopes = null;
        foreach (var field in fields.Skip(1))
        {
            var separator = field.IndexOf('=', StringComparison.Ordinal);
            var label = separator < 0 ? field.Trim() : field[..separator].Trim();
            var value = separator < 0 ? string.Empty : field[(separator + 1)..].Trim();
            switch (label)
            {
                case "name" when value.Length > 0:
                    name = value;
                    break;
                case "scopes":
                    scopes = value.Split('+', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                default:
                    throw new FormatException($"An API key must look like {Shape}, not '{text}' ('{field}' is neither name=... nor scopes=...).");
            }
        }

        return new EmulatorApiKey(key, parts[0].Trim(), parts[1].Trim(), !inactive)
        {
            Name = name,
            Scopes = scopes ?? DefaultScopes,
        };
    }

    /// <summary>The key in the form <see cref="Parse"/> reads.</summary>
    public override string ToString()
    {
        var text = $"{Key}={ChittyId}:{SessionId}{(IsActive ? string.Empty : ":inactive")}";
        if (Name is not null)
        {
            text += ",name=" + Name;
        }

        if (!Scopes.SequenceEqual(DefaultScopes))
        {
            text += ",scopes=" + string.Join('+', Scopes);
        }

        return text;
    }
}

/// <summary>Everything that configures one emulator instance; the command line maps onto it one to one.</summary>
public sealed class EmulatorOptions
{
    /// <summary>The demo key used when no key is configured.</summary>
    public static readonly EmulatorApiKey DemoKey = new("demo-key", "chitty-demo", "demo-session");

    /// <summary>Environment variable holding keys as <c>k1=id1:s1;k2=id2:s2</c>.</summary>
    public const string KeysEnvironmentVariable = "CHITTY_EMULATOR_KEYS";

    /// <summary>Production host that presigned upload URLs name when <see cref="ProductionUploadUrls"/> is set.</summary>
    public const string ProductionBaseUrl = "https://api.chitty.cc";

    /// <summary>Kestrel URLs (';'-separated); port 0 picks a free port. Loopback by default.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:0";

    /// <summary>SQLite database file; null creates a temporary file that is deleted on dispose.</summary>
    public string? DatabasePath { get; set; }

    /// <summary>API keys; empty means the single <see cref="DemoKey"/>.</summary>
    public IList<EmulatorApiKey> Keys { get; } = new List<EmulatorApiKey>();

    /// <summary>Folder for blobs; when neither this nor <see cref="S3Endpoint"/> is set a temporary folder is used.</summary>
    public string? BlobDirectory { get; set; }

    /// <summary>S3-compatible endpoint (for example s3rver) that stores the blobs instead of a folder.</summary>
    public Uri? S3Endpoint { get; set; }

    /// <summary>Bucket in <see cref="S3Endpoint"/>; created at start if missing.</summary>
    public string? S3Bucket { get; set; }

    /// <summary>Access key id for <see cref="S3Endpoint"/>.</summary>
    public string? S3AccessKey { get; set; }

    /// <summary>Secret access key for <see cref="S3Endpoint"/>.</summary>
    public string? S3SecretKey { get; set; }

    /// <summary>When true, presign answers <c>https://api.chitty.cc/...</c> upload URLs as production does.</summary>
    public bool ProductionUploadUrls { get; set; }

    /// <summary>Interval between SSE heartbeats.</summary>
    public TimeSpan SseHeartbeatInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>When positive, every SSE stream is ended after this long, as the service does with idle streams.</summary>
    public TimeSpan SseMaxDuration { get; set; } = TimeSpan.Zero;

    /// <summary>Lifetime of presigned upload tokens (the service: one hour).</summary>
    public TimeSpan UploadTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Clock for everything the API stores or reports (tests substitute it); timers use real time.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>True when the process form runs: SIGTERM and Ctrl+C stop the host.</summary>
    public bool HandleConsoleSignals { get; set; }

    /// <summary>Per-key request budget per minute reported in the X-RateLimit-* headers (not enforced); the service reports 200.</summary>
    public int RateLimitPerMinute { get; set; } = 200;

    /// <summary>The keys in effect: <see cref="Keys"/>, or the demo key when there are none.</summary>
    public IReadOnlyList<EmulatorApiKey> EffectiveKeys => Keys.Count > 0 ? Keys.ToList() : new[] { DemoKey };

    /// <summary>True when no key was configured and the demo key is in effect.</summary>
    public bool UsesDemoKey => Keys.Count == 0;

    /// <summary>The command-line synopsis.</summary>
    public const string Usage =
        "ChittyConnect.Emulator [--urls http://127.0.0.1:0] [--db <sqlite file>]\n" +
        "  --key <apiKey>=<chittyId>:<sessionId>[:inactive][,name=<name>][,scopes=<a>+<b>]\n" +
        "                               (repeatable; or env CHITTY_EMULATOR_KEYS=\"k1=id1:s1;k2=id2:s2\")\n" +
        "  [--blob-dir <dir>] | [--s3-endpoint <url> --s3-bucket <name> --s3-access-key <k> --s3-secret-key <s>]\n" +
        "  [--production-upload-urls]   upload_url uses https://api.chitty.cc (default: the host that was called)\n" +
        "  [--sse-heartbeat-seconds N]  default 15\n" +
        "  [--sse-max-seconds N]        end each SSE stream after N seconds; default 0 = never";

    /// <summary>Parses the command line; <paramref name="environmentKeys"/> is the value of CHITTY_EMULATOR_KEYS, used when no --key is given.</summary>
    /// <exception cref="ArgumentException">An unknown option, a missing value or an invalid one.</exception>
    public static EmulatorOptions Parse(IReadOnlyList<string> args, string? environmentKeys)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new EmulatorOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inlineValue = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 2 && !arg.StartsWith("--key=", StringComparison.Ordinal))
            {
                inlineValue = arg[(eq + 1)..];
                arg = arg[..eq];
            }
            else if (arg.StartsWith("--key=", StringComparison.Ordinal))
            {
                inlineValue = arg["--key=".Length..];
                arg = "--key";
            }

            string Value()
            {
                if (inlineValue is not null)
                {
                    return inlineValue;
                }

                if (i + 1 >= args.Count)
                {
                    throw new ArgumentException($"Option {arg} needs a value.");
                }

                return args[++i];
            }

            switch (arg)
            {
                case "--urls":
                    options.Urls = Value();
                    break;
                case "--db":
                    options.DatabasePath = Value();
                    break;
                case "--key":
                    options.Keys.Add(ParseKey(Value()));
                    break;
                case "--blob-dir":
                    options.BlobDirectory = Value();
                    break;
                case "--s3-endpoint":
                    options.S3Endpoint = Uri.TryCreate(Value(), UriKind.Absolute, out var uri)
                        ? uri
                        : throw new ArgumentException("--s3-endpoint needs an absolute URL.");
                    break;
                case "--s3-bucket":
                    options.S3Bucket = Value();
                    break;
                case "--s3-access-key":
                    options.S3AccessKey = Value();
                    break;
                case "--s3-secret-key":
                    options.S3SecretKey = Value();
                    break;
                case "--production-upload-urls":
                    options.ProductionUploadUrls = true;
                    break;
                case "--sse-heartbeat-seconds":
                    options.SseHeartbeatInterval = TimeSpan.FromSeconds(ParseSeconds(arg, Value(), allowZero: false));
                    break;
                case "--sse-max-seconds":
                    options.SseMaxDuration = TimeSpan.FromSeconds(ParseSeconds(arg, Value(), allowZero: true));
                    break;
                default:
                    throw new ArgumentException($"Unknown option '{args[i]}'.");
            }
        }

        if (options.Keys.Count == 0 && !string.IsNullOrWhiteSpace(environmentKeys))
        {
            foreach (var item in environmentKeys.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                options.Keys.Add(ParseKey(item));
            }
        }

        options.Validate();
        return options;
    }

    /// <summary>Checks that the options are consistent.</summary>
    /// <exception cref="ArgumentException">They are not.</exception>
    public void Validate()
    {
        if (S3Endpoint is not null)
        {
            if (BlobDirectory is not null)
            {
                throw new ArgumentException("Give either --blob-dir or --s3-endpoint, not both.");
            }

            if (string.IsNullOrEmpty(S3Bucket) || string.IsNullOrEmpty(S3AccessKey) || string.IsNullOrEmpty(S3SecretKey))
            {
                throw new ArgumentException("--s3-endpoint needs --s3-bucket, --s3-access-key and --s3-secret-key.");
            }
        }

        if (SseHeartbeatInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("The SSE heartbeat interval must be positive.");
        }

        var duplicate = Keys.GroupBy(k => k.Key, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"The API key '{duplicate.Key}' is given twice.");
        }
    }

    private static EmulatorApiKey ParseKey(string text)
    {
        try
        {
            return EmulatorApiKey.Parse(text);
        }
        catch (FormatException ex)
        {
            throw new ArgumentException(ex.Message, ex);
        }
    }

    private static double ParseSeconds(string option, string text, bool allowZero)
    {
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
            || seconds < 0 || (!allowZero && seconds == 0) || double.IsInfinity(seconds))
        {
            throw new ArgumentException($"{option} needs a {(allowZero ? "non-negative" : "positive")} number of seconds, not '{text}'.");
        }

        return seconds;
    }
}
