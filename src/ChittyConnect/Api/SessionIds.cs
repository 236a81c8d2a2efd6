using System;

namespace ChittyConnect.Api;

/// <summary>
/// The session ids the module sends. A session id becomes a URL path segment (/api/v1/sessions/{id}), the
/// R2 folder files/{id}/ and part of resource URIs, so it is held to the service's safe characters (those
/// its file names keep: letters, digits, '_', '.' and '-'), and may not be '.' or '..'.
/// </summary>
public static class SessionIds
{
    /// <summary>The longest session id accepted.</summary>
    public const int MaxLength = 128;

    /// <summary>Why <paramref name="id"/> cannot be a session id, or null when it can.</summary>
    public static string? Problem(string id)
    {
        if (id.Length == 0 || id.Length > MaxLength)
        {
            return $"a session id has 1 to {MaxLength} characters";
        }

        var colon = id.IndexOf(':');
        if (colon > 0)
        {
            // What an rclone user types for a destination: remote:path.
            return $"it looks like an rclone remote:path ('{id.Substring(0, colon)}:' then '{id.Substring(colon + 1)}'), which is not a destination here. "
                + "Sync-ChittyFolder syncs to the connection's R2 bucket: read the remote's endpoint, keys and bucket with "
                + $"Connect-Chitty ... -RcloneRemote {id.Substring(0, colon)}:<bucket>, and give the path with Sync-ChittyFolder -Prefix";
        }

        foreach (var c in id)
        {
            if (!(c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '_' or '.' or '-'))
            {
                return $"'{c}' is not allowed in a session id (only letters A-Z and a-z, digits, '_', '.' and '-')";
            }
        }

        if (id == "." || id == "..")
        {
            return "a session id cannot be '.' or '..'";
        }

        return null;
    }
}
