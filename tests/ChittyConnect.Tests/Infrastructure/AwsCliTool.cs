using System.Diagnostics;
using System.Text;

namespace ChittyConnect.Tests.Infrastructure;

/// <summary>
/// The AWS CLI (/usr/bin/aws) against s3rver with a private config: it uploads in parts from
/// <see cref="MultipartThreshold"/> on and writes no metadata at all, so its objects in parts carry no hash
/// anyone can check (the case the module must compare by content). Missing, it fails the test with the way
/// to install it.
/// </summary>
public sealed class AwsCliTool : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("chitty-aws-").FullName;
    private readonly Uri _endpoint;

    public AwsCliTool(Uri endpoint, string multipartThreshold = "100KB")
    {
        _endpoint = endpoint;
        Executable = new[] { "/usr/bin" }.Concat((Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
            .Where(d => d.Length > 0).Select(d => Path.Combine(d, "aws")).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("The AWS CLI is not installed, and these tests fill a bucket with it. Install it (Debian: apt-get install -y awscli) and run the tests again.");
        MultipartThreshold = multipartThreshold;
        // Checksums only when required: s3rver knows nothing of the trailing checksums newer CLIs send.
        File.WriteAllText(ConfigPath, $"[default]\nregion = us-east-1\nrequest_checksum_calculation = when_required\nresponse_checksum_validation = when_required\ns3 =\n  multipart_threshold = {multipartThreshold}\n  multipart_chunksize = 5MB\n");
    }

    public string Executable { get; }

    public string MultipartThreshold { get; }

    private string ConfigPath => Path.Combine(_directory, "config");

    /// <summary>Runs `aws --endpoint-url ... args`; returns its standard output, or throws with its error output.</summary>
    public string Run(params string[] args)
    {
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("--endpoint-url");
        start.ArgumentList.Add(_endpoint.GetLeftPart(UriPartial.Authority));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("AWS_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        start.Environment["AWS_CONFIG_FILE"] = ConfigPath;
        start.Environment["AWS_SHARED_CREDENTIALS_FILE"] = Path.Combine(_directory, "credentials");
        start.Environment["AWS_ACCESS_KEY_ID"] = S3rverProcess.AccessKey;
        start.Environment["AWS_SECRET_ACCESS_KEY"] = S3rverProcess.SecretKey;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("aws did not start.");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"aws {string.Join(' ', args)} did not finish in 120 s.");
        }

        return process.ExitCode == 0
            ? stdout
            : throw new InvalidOperationException($"aws {string.Join(' ', args)} exited {process.ExitCode}: {stderr.Result}");
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
