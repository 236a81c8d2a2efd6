using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using ChittyConnect.Tests.Infrastructure;
using Xunit;

namespace ChittyConnect.Tests.Emulator;

public sealed partial class EmulatorS3Tests
{
    [Fact]
    public async Task With_an_s3_endpoint_both_upload_paths_store_the_exact_bytes_in_the_bucket()
    {
        await using var s3 = await S3rverProcess.StartAsync();
        await using var host = await EmulatorHost.StartAsync(o =>
        {
            o.S3Endpoint = s3.Endpoint;
            o.S3Bucket = "emulator-test";
            o.S3AccessKey = "S3RVER";
            o.S3SecretKey = "S3RVER";
        });
        using var client = host.CreateClient();
        var large = Enumerable.Range(0, 1_500_000).Select(i => (byte)(i % 251)).ToArray();
        var small = "small file"u8.ToArray();

        var (_, direct, _) = await client.PostAsync("api/files/upload", new { name = "small.txt", session_id = "s1", content_base64 = Convert.ToBase64String(small), sha256 = HttpJson.Sha256Hex(small), mime = "text/plain" });
        var (_, presign, _) = await client.PostAsync("api/files/presign", new { name = "large.bin", size = large.Length, session_id = "s1", mime = "application/octet-stream", sha256 = HttpJson.Sha256Hex(large) });
        var put = new HttpRequestMessage(HttpMethod.Put, new Uri((string)presign!["upload_url"]!).AbsolutePath.TrimStart('/')) { Content = new ByteArrayContent(large) };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        var (status, body, _) = await client.SendJsonAsync(put);

        Assert.Equal(200, status);
        Assert.Equal(large.Length, (long)body!["size"]!);
        Assert.Equal(small, await client.GetByteArrayAsync("_emulator/blobs/" + (string)direct!["r2_key"]!));
        Assert.Equal(large, await client.GetByteArrayAsync("_emulator/blobs/" + (string)presign["r2_key"]!));
        // s3rver keeps what it was sent: an aws-chunked body would show up here with its framing.
        var stored = Directory.GetFiles(s3.DataDirectory, "*large.bin._S3rver_object", SearchOption.AllDirectories);
        Assert.Equal(large.Length, new FileInfo(Assert.Single(stored)).Length);
    }

    /// <summary>s3rver (npm, installed by <c>npm ci</c> at the repository root) on a free loopback port.</summary>
    private sealed partial class S3rverProcess : IAsyncDisposable
    {
        private readonly Process _process;

        private S3rverProcess(Process process, Uri endpoint, string dataDirectory)
        {
            _process = process;
            Endpoint = endpoint;
            DataDirectory = dataDirectory;
        }

        public Uri Endpoint { get; }

        public string DataDirectory { get; }

        public static async Task<S3rverProcess> StartAsync()
        {
            var script = FindScript();
            var data = Path.Combine(Path.GetTempPath(), "chitty-s3rver-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(data);
            var start = new ProcessStartInfo("node")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { script, "-d", data, "-a", "127.0.0.1", "-p", "0" })
            {
                start.ArgumentList.Add(arg);
            }

            start.Environment["NODE_OPTIONS"] = "--openssl-legacy-provider";
            var process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
            process.ErrorDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (true)
            {
                var line = await process.StandardOutput.ReadLineAsync(timeout.Token)
                    ?? throw new InvalidOperationException("s3rver exited before listening");
                var match = ListeningLine().Match(line);
                if (match.Success)
                {
                    // Keep draining stdout so that s3rver never blocks on a full pipe.
                    _ = process.StandardOutput.ReadToEndAsync();
                    return new S3rverProcess(process, new Uri($"http://127.0.0.1:{match.Groups[1].Value}"), data);
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        private static string FindScript()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                var script = Path.Combine(dir.FullName, "node_modules", "s3rver", "bin", "s3rver.js");
                if (File.Exists(script))
                {
                    return script;
                }
            }

            throw new InvalidOperationException("s3rver is not installed: run `npm ci` at the repository root.");
        }

        [GeneratedRegex(@"listening on 127\.0\.0\.1:(\d+)")]
        private static partial Regex ListeningLine();
    }
}
