using System;
using System.Collections.Concurrent;
using System.Management.Automation.Runspaces;
using ChittyConnect.Configuration;

namespace ChittyConnect.PowerShell.Internal;

/// <summary>
/// The current connection of each runspace, so that two runspaces in one process never share one. A connection
/// lives as long as its runspace: when the runspace closes (the end of a ForEach-Object -Parallel, a disposed
/// PowerShell instance) its connection is removed and disposed, so short-lived runspaces leave nothing behind.
/// </summary>
internal static class ConnectionRegistry
{
    private static readonly ConcurrentDictionary<Guid, ChittyConnection> s_current = new();

    private static Guid Key => Runspace.DefaultRunspace?.InstanceId ?? Guid.Empty;

    public static ChittyConnection? Current => s_current.TryGetValue(Key, out var connection) ? connection : null;

    public static void SetCurrent(ChittyConnection connection)
    {
        var runspace = Runspace.DefaultRunspace;
        var key = runspace?.InstanceId ?? Guid.Empty;
        if (s_current.TryGetValue(key, out var previous))
        {
            if (!ReferenceEquals(previous, connection))
            {
                previous.Dispose();
            }
        }
        else if (runspace is not null)
        {
            // Once per runspace: Remove unsubscribes.
            runspace.StateChanged += OnRunspaceStateChanged;
        }

        s_current[key] = connection;
    }

    public static ChittyConnection? Remove()
    {
        if (Runspace.DefaultRunspace is { } runspace)
        {
            runspace.StateChanged -= OnRunspaceStateChanged;
        }

        return s_current.TryRemove(Key, out var connection) ? connection : null;
    }

    /// <summary>Whether the runspace <paramref name="runspaceId"/> still has a current connection here.</summary>
    public static bool Holds(Guid runspaceId) => s_current.ContainsKey(runspaceId);

    /// <summary>The current connection, else one made from CHITTY_* environment variables (which then becomes current).</summary>
    public static ChittyConnection? CurrentOrEnvironment(out bool fromEnvironment)
    {
        fromEnvironment = false;
        var current = Current;
        if (current is not null)
        {
            return current;
        }

        var settings = ChittyConnectionSettings.FromEnvironment();
        if (settings is null)
        {
            return null;
        }

        var connection = new ChittyConnection(settings);
        SetCurrent(connection);
        fromEnvironment = true;
        return connection;
    }

    private static void OnRunspaceStateChanged(object? sender, RunspaceStateEventArgs e)
    {
        if (sender is not Runspace runspace || e.RunspaceStateInfo.State is not (RunspaceState.Closed or RunspaceState.Broken))
        {
            return;
        }

        runspace.StateChanged -= OnRunspaceStateChanged;
        if (s_current.TryRemove(runspace.InstanceId, out var connection))
        {
            connection.Dispose();
        }
    }
}
