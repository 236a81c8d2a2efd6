using System.Diagnostics;
using System.Text;

namespace ChittyConnect.Tests.Infrastructure;

/// <summary>
/// rclone itself (Debian's 1.60 on the test machines), run with a private rclone.conf in a temporary
/// folder, so the crypt tests check the module against the real thing. Missing rclone fails the test
/// with the way to install it; it is never a silent skip.
/// </summary>
public sealed class RcloneTool : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("chitty-rclone-").FullName;
    private readonly StringBuilder _config = new();

    public RcloneTool()
    {
        Executable = Locate();
    }

    public string Executable { get; }

    public string ConfigPath => Path.Combine(_directory, "rclone.conf");

    public static string Locate()
    {
        foreach (var dir in new[] { "/usr/bin" }.Concat((Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator)))
        {
            foreach (var name in new[] { "rclone", "rclone.exe" })
            {
                var candidate = Path.Combine(dir, name);
                if (dir.Length > 0 && File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        throw new InvalidOperationException(
            "rclone is not installed, and the crypt tests check the module against rclone itself. " +
            "Install it (Debian: apt-get install -y rclone; .ci/run does this on CI) and run the tests again.");
    }

    /// <summary>Adds a crypt remote over <paramref name="remote"/> (a local folder or "s3remote:bucket/prefix").</summary>
    public void AddCrypt(string name, string remote, string password, string? salt = null, string filenameEncryption = "standard")
    {
        _config.AppendLine($"[{name}]").AppendLine("type = crypt").AppendLine($"remote = {remote}")
            .AppendLine($"filename_encryption = {filenameEncryption}").AppendLine("directory_name_encryption = true")
            .AppendLine($"password = {Obscure(password)}");
        if (salt is not null)
        {
            _config.AppendLine($"password2 = {Obscure(salt)}");
        }

        _config.AppendLine();
        File.WriteAllText(ConfigPath, _config.ToString());
    }

    /// <summary>Adds an S3 remote for s3rver (path style, its fixed keys).</summary>
    public void AddS3(string name, Uri endpoint, string accessKey, string secretKey)
    {
        _config.AppendLine($"[{name}]").AppendLine("type = s3").AppendLine("provider = Other")
            .AppendLine($"access_key_id = {accessKey}").AppendLine($"secret_access_key = {secretKey}")
            .AppendLine($"endpoint = {endpoint.GetLeftPart(UriPartial.Authority)}").AppendLine("force_path_style = true")
            .AppendLine("region = auto").AppendLine();
        File.WriteAllText(ConfigPath, _config.ToString());
    }

    /// <summary>`rclone obscure`: the form rclone.conf keeps passwords in.</summary>
    public string Obscure(string password) => Run("obscure", password).Trim();

    /// <summary>Runs rclone; returns its standard output, or throws with its error output when it fails.</summary>
    public string Run(params string[] args)
    {
        var result = TryRun(args);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"rclone {string.Join(' ', args)} exited {result.ExitCode}: {result.StandardError}");
        }

        return result.StandardOutput;
    }

    /// <summary>Runs rclone and returns its exit code and outputs.</summary>
    public (int ExitCode, string StandardOutput, string StandardError) TryRun(params string[] args)
    {
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(ConfigPath);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // Debian's rclone would read this bundle for https; the tests speak plain http to 127.0.0.1.
        start.Environment.Remove("AWS_CA_BUNDLE");
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("RCLONE_", StringComparison.Ordinal)).ToList())
        {
            start.Environment.Remove(key);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("rclone did not start.");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"rclone {string.Join(' ', args)} did not finish in 120 s.");
        }

        return (process.ExitCode, stdout, stderr.Result);
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
