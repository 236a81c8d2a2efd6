using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using ChittyConnect.Configuration;
using ChittyConnect.Files;

namespace ChittyConnect.Sync;

/// <summary>
/// Which folder of this machine writes to a prefix. The default prefix ends in the folder's name, so two folders
/// of one name (~/work/notes and ~/home/notes) would meet in one prefix: their files would mix, a two-way run of
/// one would bring the other's files into it, and a delete in one would reach the other. Other devices sharing
/// the prefix are the point of a sync, so the claim is kept per machine, beside the sync states.
/// </summary>
/// <remarks>
/// Only runs that write to the prefix (upload and two-way) claim it or are refused by a claim: a download into a
/// second folder is a copy, which cannot touch the first folder's files. A claim whose folder no longer exists
/// passes to the next folder with files that syncs there: the folder was moved, renamed or removed.
/// </remarks>
internal static class PrefixClaim
{
    /// <summary>
    /// Refuses (<c>SyncPrefixInUse</c>) a run of <paramref name="root"/> when another existing folder of this
    /// machine claimed the prefix.
    /// </summary>
    public static void Check(string stateDirectory, string root, Uri endpoint, string bucket, string prefix)
    {
        var claimant = Read(PathFor(stateDirectory, endpoint, bucket, prefix));
        if (claimant is not null && !SameFolder(claimant, root) && Directory.Exists(claimant))
        {
            throw new SyncException(
                $"The prefix '{bucket}/{prefix}' is synced with the folder '{claimant}' on this machine. Two folders in one prefix would mix their files, and a delete in one would reach the other. Give '{root}' a prefix of its own with -Prefix. Nothing was changed.",
                "SyncPrefixInUse");
        }
    }

    /// <summary>
    /// Claims the prefix for <paramref name="root"/>. Called only for a folder that has files to write there: an
    /// empty folder synced by mistake writes nothing, and must not keep the right folder out.
    /// </summary>
    public static void Claim(string stateDirectory, string root, Uri endpoint, string bucket, string prefix)
    {
        var path = PathFor(stateDirectory, endpoint, bucket, prefix);
        if (string.Equals(Read(path), root, StringComparison.Ordinal))
        {
            return;
        }

        Directory.CreateDirectory(stateDirectory);
        var bytes = Encoding.UTF8.GetBytes(root);
        // Owner-only, as the states beside it: it names a folder of the user's.
        AtomicFile.Write(path, temp => ConfigDirectory.CreatePrivateFile(temp, 4096), stream =>
        {
            stream.Write(bytes, 0, bytes.Length);
            return true;
        });
    }

    /// <summary>The claim file of a target: one per endpoint, bucket and prefix.</summary>
    internal static string PathFor(string stateDirectory, Uri endpoint, string bucket, string prefix) =>
        SyncStateLocation.FileFor(stateDirectory, SyncStateLocation.TargetOf(endpoint, bucket, prefix), ".prefix");

    private static string? Read(string path)
    {
        try
        {
            var text = File.ReadAllText(path, Encoding.UTF8).Trim();
            return text.Length == 0 ? null : text;
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    // Windows and macOS name one folder in any case, by default.
    private static bool SameFolder(string a, string b) =>
        string.Equals(a, b, RuntimeInformation.IsOSPlatform(OSPlatform.Windows) || RuntimeInformation.IsOSPlatform(OSPlatform.OSX)
            ? StringComparison.OrdinalIgnoreCase
            : StringComparison.Ordinal);
}
