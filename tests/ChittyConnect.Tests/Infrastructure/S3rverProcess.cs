using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using ChittyConnect.Configuration;
using Xunit;

namespace ChittyConnect.Tests.Infrastructure;

/// <summary>
/// A private s3rver (node_modules/s3rver) on 127.0.0.1 with a fresh data directory and one bucket,
/// started once per test collection and killed on dispose. Plain HTTP; <see cref="HttpsS3rverProcess"/>
/// serves HTTPS.
/// </summary>
public class S3rverProcess : IAsyncLifetime
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "chitty-s3rver-" + Guid.NewGuid().ToString("N")[..8]);
    private Process? _process;
    private readonly List<string> _output = new();

    public S3rverProcess()
        : this(https: false)
    {
    }

    /// <param name="https">Serve HTTPS with a certificate from a CA made at start (<see cref="CertificateAuthority"/>).</param>
    protected S3rverProcess(bool https)
    {
        if (https)
        {
            CertificateAuthority = TestCertificateAuthority.Create(_directory + "-tls");
        }
    }

    /// <summary>The CA of the HTTPS server's certificate; null for plain HTTP.</summary>
    public TestCertificateAuthority? CertificateAuthority { get; }

    public string Bucket { get; } = "chitty-test";

    /// <summary>s3rver's data folder (fault tests look at its unfinished multipart uploads there).</summary>
    public string DataDirectory => _directory;

    public Uri Endpoint { get; private set; } = new("http://127.0.0.1/");

    public static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ChittyConnect.PowerShell.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("ChittyConnect.PowerShell.sln not found above " + AppContext.BaseDirectory);
    }

    public ChittyConnectionSettings Settings(string sessionId = "sess-test") => new()
    {
        Endpoint = new Uri("http://127.0.0.1:9/"),
        ApiKey = new ChittySecret("test-key"),
        ChittyId = "CHITTY-TEST",
        SessionId = sessionId,
        R2Endpoint = Endpoint,
        Bucket = Bucket,
        R2AccessKeyId = AccessKey,
        R2SecretAccessKey = new ChittySecret(SecretKey),
    };

    /// <summary>An SDK client straight to s3rver (no proxy, no module code), for independent checks.</summary>
    public Amazon.S3.AmazonS3Client CreateRawClient() => new(
        new Amazon.Runtime.BasicAWSCredentials(AccessKey, SecretKey),
        new Amazon.S3.AmazonS3Config
        {
            ServiceURL = Endpoint.GetLeftPart(UriPartial.Authority),
            ForcePathStyle = true,
            AuthenticationRegion = "auto",
            RequestChecksumCalculation = Amazon.Runtime.RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = Amazon.Runtime.ResponseChecksumValidation.WHEN_REQUIRED,
            HttpClientFactory = CertificateAuthority is null ? null : new TrustingClientFactory(CertificateAuthority),
        });

    /// <summary>An HTTP client for this server: over HTTPS it trusts the server's CA and nothing else.</summary>
    public HttpClient CreateHttpClient() => CertificateAuthority is null ? new HttpClient() : new HttpClient(CertificateAuthority.TrustOnly());

    public Task InitializeAsync() => StartAsync(port: 0);

    /// <summary>Kills the server as an outage would, keeping its data directory (and so its objects and uploads).</summary>
    public void Stop()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>Starts the server again after <see cref="Stop"/>, on the same port and over the same data directory.</summary>
    public Task StartAgainAsync() => StartAsync(Endpoint.Port);

    /// <summary>The node command line of the server, listening on <paramref name="port"/> (0: one the OS picks).</summary>
    protected virtual List<string> ServerArguments(int port)
    {
        // s3rver with R2's multipart answers, as the local stack runs it.
        var script = Path.Combine(RepoRoot(), "build", "s3rver-r2.js");
        if (!File.Exists(Path.Combine(RepoRoot(), "node_modules", "s3rver", "bin", "s3rver.js")))
        {
            throw new InvalidOperationException("s3rver is not installed: run 'npm ci' in the repository root.");
        }

        var arguments = new List<string> { script, "-d", _directory, "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent", "--no-vhost-buckets" };
        if (CertificateAuthority is not null)
        {
            arguments.AddRange(["--key", CertificateAuthority.KeyPath, "--cert", CertificateAuthority.CertificatePath]);
        }

        // Last: it takes the arguments after it as the bucket's configuration files.
        arguments.AddRange(["--configure-bucket", Bucket]);
        return arguments;
    }

    private async Task StartAsync(int port)
    {
        Directory.CreateDirectory(_directory);
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in ServerArguments(port))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["NODE_OPTIONS"] = "--openssl-legacy-provider";
        var listening = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            lock (_output)
            {
                _output.Add(e.Data);
            }

            // s3rver picks the port (-p 0) and prints it, so there is no race for a free port; a restart asks for
            // the same one again.
            var m = Regex.Match(e.Data, @"listening on ([\d.]+):(\d+)");
            if (m.Success)
            {
                var scheme = CertificateAuthority is null ? "http" : "https";
                listening.TrySetResult(new Uri($"{scheme}://{m.Groups[1].Value}:{m.Groups[2].Value}/"));
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_output)
                {
                    _output.Add(e.Data);
                }
            }
        };
        _process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException("s3rver exited: " + string.Join("\n", _output)));
        _process.Start();
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var done = await Task.WhenAny(listening.Task, Task.Delay(TimeSpan.FromSeconds(30)));
        if (done != listening.Task)
        {
            throw new TimeoutException("s3rver did not start within 30 s: " + string.Join("\n", _output));
        }

        Endpoint = await listening.Task;
        await WaitUntilAnswersAsync();
    }

    public Task DisposeAsync()
    {
        try
        {
            if (_process is { HasExited: false })
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        finally
        {
            _process?.Dispose();
            foreach (var directory in new[] { _directory, _directory + "-tls" })
            {
                try
                {
                    Directory.Delete(directory, recursive: true);
                }
                catch (IOException)
                {
                    // Already gone (DirectoryNotFoundException), or a handle closing late.
                }
            }
        }

        return Task.CompletedTask;
    }

    private async Task WaitUntilAnswersAsync()
    {
        using var http = CreateHttpClient();
        http.Timeout = TimeSpan.FromSeconds(2);
        for (var i = 0; i < 50; i++)
        {
            try
            {
                using var response = await http.GetAsync(Endpoint);
                return;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException("s3rver does not answer at " + Endpoint);
    }
}

/// <summary>s3rver over HTTPS, with a certificate for 127.0.0.1 from a CA that only the tests trust.</summary>
public sealed class HttpsS3rverProcess : S3rverProcess
{
    public HttpsS3rverProcess()
        : base(https: true)
    {
    }
}

/// <summary>Gives the SDK an HttpClient that trusts the test CA (the SDK's own factory trusts the system's roots).</summary>
internal sealed class TrustingClientFactory(TestCertificateAuthority authority) : Amazon.Runtime.HttpClientFactory
{
    public override HttpClient CreateHttpClient(Amazon.Runtime.IClientConfig clientConfig) => new(authority.TrustOnly());
}

[CollectionDefinition(Name)]
public sealed class S3rverCollection : ICollectionFixture<S3rverProcess>
{
    public const string Name = "s3rver";
}

[CollectionDefinition(Name)]
public sealed class HttpsS3rverCollection : ICollectionFixture<HttpsS3rverProcess>
{
    public const string Name = "s3rver-https";
}

/// <summary>
/// bench/s3-lean.js, the benchmark's in-memory S3 stand-in (keys, ETags and metadata only; no bodies to
/// read back), for tests of what it answers: listings, PUT checks, deletions.
/// </summary>
public sealed class LeanS3Process : S3rverProcess
{
    protected override List<string> ServerArguments(int port) =>
        [Path.Combine(RepoRoot(), "bench", "s3-lean.js"), "--address", "127.0.0.1", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bucket", Bucket];
}
