using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using ChittyConnect.Configuration;
using ChittyConnect.Diagnostics;
using ChittyConnect.Hashing;

namespace ChittyConnect.Sync;

/// <summary>
/// Where a target's state file lives: one file per (folder, endpoint, bucket, prefix), named by a hash of
/// that identity, in this machine's local sync-state folder.
/// </summary>
internal static class SyncStateLocation
{
    // The folders whose roaming states this process has moved already.
    private static readonly HashSet<string> s_migrated = new(StringComparer.Ordinal);

    /// <summary>The state file for this target under <paramref name="directory"/> (default: <see cref="DefaultDirectory"/>).</summary>
    public static string PathFor(string? directory, string localPath, Uri endpoint, string bucket, string prefix, out string identity)
    {
        identity = NormalizeFolder(localPath) + "\n" + TargetOf(endpoint, bucket, prefix);
        return FileFor(directory ?? DefaultDirectory(), identity, StateExtension);
    }

    /// <summary>The extension of a state file: sorted lines (<see cref="SyncStateFormat"/>).</summary>
    public const string StateExtension = ".state";

    /// <summary>
    /// Where versions that kept the state as JSON kept this target's state (same name, ".json"), or null
    /// when <paramref name="statePath"/> is not a state file's name: read once, when no state is there yet.
    /// </summary>
    internal static string? LegacyPathOf(string statePath) =>
        statePath.EndsWith(StateExtension, StringComparison.Ordinal)
            ? statePath.Substring(0, statePath.Length - StateExtension.Length) + ".json"
            : null;

    /// <summary>What a sync writes to, as the state files name it: endpoint, bucket and prefix.</summary>
    internal static string TargetOf(Uri endpoint, string bucket, string prefix) =>
        string.Join("\n", endpoint.GetLeftPart(UriPartial.Authority).ToLowerInvariant(), bucket, prefix);

    /// <summary>The file in <paramref name="directory"/> named by a hash of <paramref name="identity"/>.</summary>
    internal static string FileFor(string directory, string identity, string extension)
    {
        using var sha = SHA256.Create();
        var hash = ContentHasher.ToHex(sha.ComputeHash(Encoding.UTF8.GetBytes(identity))).Substring(0, 32);
        return Path.Combine(directory, hash + extension);
    }

    /// <summary>
    /// The machine's local sync-state folder (<see cref="ConfigDirectory.LocalRoot"/>/sync-state). The first
    /// call of a process moves the states earlier versions kept in the roaming configuration folder there.
    /// </summary>
    public static string DefaultDirectory()
    {
        var directory = Path.Combine(ConfigDirectory.LocalRoot, "sync-state");
        lock (s_migrated)
        {
            if (s_migrated.Add(directory))
            {
                MoveStates(Path.Combine(ConfigDirectory.Root, "sync-state"), directory);
            }
        }

        return directory;
    }

    /// <summary>
    /// Moves the state files of <paramref name="from"/> into <paramref name="to"/>, keeping any that is there
    /// already; the lock files and an emptied <paramref name="from"/> go. Returns how many moved. A state
    /// another process is using stays for a later run to move.
    /// </summary>
    public static int MoveStates(string from, string to)
    {
        var fromFull = Path.GetFullPath(from).TrimEnd(Path.DirectorySeparatorChar);
        if (!Directory.Exists(fromFull) || string.Equals(fromFull, Path.GetFullPath(to).TrimEnd(Path.DirectorySeparatorChar), StringComparison.Ordinal))
        {
            return 0;
        }

        var moved = 0;
        try
        {
            ConfigDirectory.EnsurePrivateDirectory(to);
            var states = Directory.EnumerateFiles(fromFull, "*" + StateExtension).Concat(Directory.EnumerateFiles(fromFull, "*.json")).ToList();
            foreach (var state in states)
            {
                var target = Path.Combine(to, Path.GetFileName(state));
                try
                {
                    // Under the state's lock, so a sync of an older version running now does not lose it.
                    using (var held = new FileStream(state + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
                    {
                        if (!File.Exists(target))
                        {
                            File.Move(state, target);
                            moved++;
                        }
                    }

                    File.Delete(state + ".lock");
                }
                catch (IOException ex)
                {
                    ChittyLog.Verbose($"The sync state '{state}' was not moved to '{to}' this time: {ex.Message}");
                }
            }

            if (!Directory.EnumerateFileSystemEntries(fromFull).Any())
            {
                Directory.Delete(fromFull);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            ChittyLog.Warning($"The sync states in '{fromFull}' could not be moved to '{to}': {ex.Message}");
        }

        if (moved > 0)
        {
            ChittyLog.Verbose($"Moved {moved} sync state(s) from '{fromFull}' to this machine's own folder '{to}'.");
        }

        return moved;
    }

    private static string NormalizeFolder(string path)
    {
        var full = Path.GetFullPath(path).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar);
        // Windows paths differ only in case for the same folder.
        return Path.DirectorySeparatorChar == '\\' ? full.ToUpperInvariant() : full;
    }
}
