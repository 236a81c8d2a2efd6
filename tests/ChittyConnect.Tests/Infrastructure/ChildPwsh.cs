using System.Diagnostics;

namespace ChittyConnect.Tests.Infrastructure;

/// <summary>
/// A script run by a fresh <c>dotnet pwsh</c> from the repository root, for what one process cannot
/// show: an environment read at process start (SSL_CERT_FILE), a process that gets killed.
/// </summary>
internal static class ChildPwsh
{
    /// <summary>Starts <paramref name="scriptPath"/> with its arguments; output and errors are redirected.</summary>
    public static Process Start(string scriptPath, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = S3rverProcess.RepoRoot(),
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "pwsh", "-NoProfile", "-NonInteractive", "-File", scriptPath }.Concat(arguments))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["NO_COLOR"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return Process.Start(start) ?? throw new InvalidOperationException("dotnet pwsh did not start.");
    }

    /// <summary>Runs the script to its end (killed after <paramref name="timeout"/>) and returns what it printed.</summary>
    public static async Task<(int ExitCode, string Output, string Errors)> RunAsync(
        string scriptPath, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout)
    {
        using var process = Start(scriptPath, arguments, environment);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{scriptPath} did not finish within {timeout.TotalSeconds:0} s.");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
