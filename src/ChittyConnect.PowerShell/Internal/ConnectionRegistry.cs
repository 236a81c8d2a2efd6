using System;
using System.Collections.Concurrent;
using System.Management.Automation.Runspaces;
using ChittyConnect.Configuration;

namespace ChittyConnect.PowerShell.Internal;

/// <summary>The current connection of each runspace (so two runspaces in one process never share one).</summary>
internal static class ConnectionRegistry
{
    private static readonly ConcurrentDictionary<Guid, ChittyConnection> s_current = new();

    private static Guid Key => Runspace.DefaultRunspace?.InstanceId ?? Guid.Empty;

    public static ChittyConnection? Current => s_current.TryGetValue(Key, out var connection) ? connection : null;

    public static void SetCurrent(ChittyConnection connection)
    {
        if (s_current.TryGetValue(Key, out var previous) && !ReferenceEquals(previous, connection))
        {
            previous.Dispose();
        }

        s_current[Key] = connection;
    }

    public static ChittyConnection? Remove() => s_current.TryRemove(Key, out var connection) ? connection : null;

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
}
