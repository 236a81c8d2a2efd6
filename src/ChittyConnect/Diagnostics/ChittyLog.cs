using System;
using System.Threading;

namespace ChittyConnect.Diagnostics;

/// <summary>Receives the library's diagnostic messages (PowerShell's verbose, debug and warning streams).</summary>
public interface IChittyLogSink
{
    /// <summary>One line for -Verbose, e.g. each request with its status and time.</summary>
    void Verbose(string message);

    /// <summary>One line for -Debug.</summary>
    void Debug(string message);

    /// <summary>Something the user should know about that is not an error.</summary>
    void Warning(string message);
}

/// <summary>
/// The ambient log of the current operation. A cmdlet installs its sink with <see cref="Use"/>; the
/// sink flows through every await, so library code deep down logs without being handed a logger.
/// </summary>
public static class ChittyLog
{
    private static readonly AsyncLocal<IChittyLogSink?> s_current = new();

    /// <summary>Installs <paramref name="sink"/> until the returned scope is disposed.</summary>
    public static IDisposable Use(IChittyLogSink? sink)
    {
        var previous = s_current.Value;
        s_current.Value = sink;
        return new Scope(previous);
    }

    /// <summary>Writes a verbose line when a sink is installed.</summary>
    public static void Verbose(string message) => s_current.Value?.Verbose(message);

    /// <summary>Writes a debug line when a sink is installed.</summary>
    public static void Debug(string message) => s_current.Value?.Debug(message);

    /// <summary>Writes a warning when a sink is installed.</summary>
    public static void Warning(string message) => s_current.Value?.Warning(message);

    private sealed class Scope : IDisposable
    {
        private readonly IChittyLogSink? _previous;

        public Scope(IChittyLogSink? previous) => _previous = previous;

        public void Dispose() => s_current.Value = _previous;
    }
}
