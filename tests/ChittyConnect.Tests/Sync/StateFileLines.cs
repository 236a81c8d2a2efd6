using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json.Nodes;
using ChittyConnect.Sync;

namespace ChittyConnect.Tests.Sync;

/// <summary>What a state file written by the module says, read as its lines (SyncStateFormat) for assertions.</summary>
internal static class StateFileLines
{
    /// <summary>The version its first line names.</summary>
    public static int Version(string path) => int.Parse(File.ReadLines(path).First().Substring(SyncState.Signature.Length + 1));

    /// <summary>The fields of every line of <paramref name="tag"/> (F a file, P a pending upload, M a path being moved), unescaped.</summary>
    public static List<string[]> Records(string path, string tag) =>
        File.ReadLines(path).Skip(1).Select(SyncStateFormat.Split).Where(f => f[0] == tag).ToList();

    /// <summary>The files' entries by relative path.</summary>
    public static Dictionary<string, SyncStateEntry> Files(string path) =>
        Records(path, "F").Select(SyncStateFormat.ParseEntry).ToDictionary(e => e.RelativePath, e => e.Entry);

    /// <summary>
    /// The state as a JSON state of <paramref name="version"/>, as earlier modules wrote it: 1 before machine
    /// ids, 2 with the machine that wrote it.
    /// </summary>
    public static string AsJson(string path, int version)
    {
        var files = new JsonObject();
        foreach (var (rel, e) in Files(path))
        {
            files[rel] = new JsonObject
            {
                ["size"] = e.Size,
                ["mtime"] = e.ModifiedTicks,
                ["sha256"] = e.Sha256,
                ["md5"] = e.Md5,
                ["etag"] = e.RemoteETag,
                ["reported"] = e.Reported,
            };
        }

        var json = new JsonObject { ["version"] = version, ["identity"] = Records(path, "identity").Single()[1] };
        if (version >= 2)
        {
            json["machine"] = Records(path, "machine").Single()[1];
        }

        json["files"] = files;
        json["pending"] = new JsonArray();
        return json.ToJsonString();
    }
}
