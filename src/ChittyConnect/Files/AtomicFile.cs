using System;
using System.IO;

namespace ChittyConnect.Files;

/// <summary>
/// Crash-safe replacement of a file: the new content is written (and flushed) to a temporary file beside it,
/// which then takes the target's place in one rename, so a reader sees the old file or the new one, never a part.
/// </summary>
internal static class AtomicFile
{
    /// <summary>
    /// A temporary name in <paramref name="directory"/> beside the file named <paramref name="name"/>: a dot
    /// (hidden), the name, a random tag and <paramref name="suffix"/>. It keeps at most 60 characters of the
    /// name, so a name near the file system's 255-byte limit does not fail only because of what is added.
    /// </summary>
    public static string TempPathBeside(string directory, string name, string suffix = ".tmp")
    {
        if (name.Length > 60)
        {
            name = name.Substring(0, char.IsHighSurrogate(name[59]) ? 59 : 60);
        }

        return Path.Combine(directory, "." + name + "." + Guid.NewGuid().ToString("N").Substring(0, 8) + suffix);
    }

    /// <summary>
    /// Puts the complete, flushed <paramref name="temp"/> in the place of <paramref name="target"/> (which may not
    /// exist yet) in one rename.
    /// </summary>
    public static void Replace(string temp, string target)
    {
        if (File.Exists(target))
        {
            File.Replace(temp, target, null);
        }
        else
        {
            File.Move(temp, target);
        }
    }

    /// <summary>
    /// Writes through <paramref name="write"/> to a temporary file that <paramref name="create"/> makes beside
    /// <paramref name="target"/>, then puts it in the target's place unless <paramref name="write"/> answers
    /// false (nothing to replace); the temporary file never outlives the call.
    /// </summary>
    public static void Write(string target, Func<string, FileStream> create, Func<FileStream, bool> write)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(target))!;
        var temp = TempPathBeside(directory, Path.GetFileName(target));
        try
        {
            bool replace;
            using (var stream = create(temp))
            {
                replace = write(stream);
                if (replace)
                {
                    stream.Flush(flushToDisk: true);
                }
            }

            if (replace)
            {
                Replace(temp, target);
            }
        }
        finally
        {
            DeleteLeftover(temp);
        }
    }

    /// <summary>Removes <paramref name="temp"/> when a failed or skipped replacement left it behind.</summary>
    public static void DeleteLeftover(string temp)
    {
        if (File.Exists(temp))
        {
            File.Delete(temp);
        }
    }
}
