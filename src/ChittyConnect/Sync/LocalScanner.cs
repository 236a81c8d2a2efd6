using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using ChittyConnect.Diagnostics;
using ChittyConnect.Filters;

namespace ChittyConnect.Sync;

/// <summary>A local file the scan selected.</summary>
internal sealed class LocalFile
{
    public LocalFile(string relativePath, string fullPath, long size, DateTime lastWriteUtc)
    {
        RelativePath = relativePath;
        FullPath = fullPath;
        Size = size;
        LastWriteUtc = lastWriteUtc;
    }

    public string RelativePath { get; }
    public string FullPath { get; }
    public long Size { get; }
    public DateTime LastWriteUtc { get; }
}

/// <summary>Walks a folder, pruning excluded directories, and never following links.</summary>
internal static class LocalScanner
{
    /// <summary>Suffix of a download in progress; such files are never synced.</summary>
    public const string PartialSuffix = ".chittypart";

    /// <summary>
    /// Every selected file under <paramref name="root"/>, keyed by '/'-separated relative path.
    /// <paramref name="errors"/> lists directories that could not be read and names that were refused (a
    /// control character): their files are unknown or unsynced, so deleting on the strength of this scan
    /// would be wrong.
    /// </summary>
    public static Dictionary<string, LocalFile> Scan(string root, FilterRules filters, List<string> errors, System.Threading.CancellationToken cancellationToken)
    {
        var files = new Dictionary<string, LocalFile>(StringComparer.Ordinal);
        var pending = new Stack<(DirectoryInfo Dir, string Relative)>();
        pending.Push((new DirectoryInfo(root), string.Empty));
        while (pending.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var (dir, relative) = pending.Pop();
            FileSystemInfo[] entries;
            try
            {
                entries = dir.GetFileSystemInfos();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException)
            {
                errors.Add($"Could not read the folder '{dir.FullName}': {ex.Message}");
                continue;
            }

            foreach (var entry in entries.OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                var rel = relative.Length == 0 ? entry.Name : relative + "/" + entry.Name;
                if (ControlCharacter(entry.Name) is { } control)
                {
                    // A key with a control character breaks XML requests (DeleteObjects) and most tools reading
                    // the bucket; the name is refused here, before anything is sent.
                    errors.Add($"'{Printable(rel)}' was not synced: its name contains the control character U+{(int)control:X4}; rename it.");
                    continue;
                }

                // Links are not followed (as rclone without -L): a directory link can loop, and a file link
                // would upload content that lives outside the folder.
                if ((entry.Attributes & FileAttributes.ReparsePoint) != 0)
                {
                    ChittyLog.Verbose($"Skipping link '{rel}'.");
                    continue;
                }

                if (entry is DirectoryInfo sub)
                {
                    if (filters.IncludeDirectory(rel))
                    {
                        pending.Push((sub, rel));
                    }
                }
                else if (entry is FileInfo file && !file.Name.EndsWith(PartialSuffix, StringComparison.Ordinal) && filters.IncludeFile(rel))
                {
                    files[rel] = new LocalFile(rel, file.FullName, file.Length, file.LastWriteTimeUtc);
                }
            }
        }

        return files;
    }

    private static char? ControlCharacter(string name)
    {
        foreach (var c in name)
        {
            if (char.IsControl(c))
            {
                return c;
            }
        }

        return null;
    }

    // The name with each control character written as \uXXXX, so the message shows where it is.
    private static string Printable(string name)
    {
        var text = new System.Text.StringBuilder(name.Length + 8);
        foreach (var c in name)
        {
            text.Append(char.IsControl(c) ? "\\u" + ((int)c).ToString("X4", System.Globalization.CultureInfo.InvariantCulture) : c.ToString());
        }

        return text.ToString();
    }

    private static readonly char[] s_invalidNameChars = Path.GetInvalidFileNameChars().Concat(new[] { '\\', ':' }).Distinct().ToArray();

    private static readonly HashSet<string> s_windowsReserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
        "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
    };

    /// <summary>
    /// The local path for a relative path taken from an object key, or an explanation of why it would
    /// land outside <paramref name="root"/> or cannot be a file name here. Backslashes and colons are
    /// refused everywhere, so a key means the same thing on every OS.
    /// </summary>
    public static string? ResolveInside(string root, string relativePath, out string? problem)
    {
        problem = null;
        if (relativePath.Length == 0 || relativePath.StartsWith("/", StringComparison.Ordinal))
        {
            problem = "it is an absolute path";
            return null;
        }

        var windows = RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
        foreach (var segment in relativePath.Split('/'))
        {
            if (segment.Length == 0 || segment == "." || segment == "..")
            {
                problem = $"it has a '{segment}' path segment";
                return null;
            }

            if (segment.IndexOfAny(s_invalidNameChars) >= 0 || segment.Any(char.IsControl))
            {
                problem = $"'{segment}' contains a character not allowed in file names (\\, :, control characters or one the OS refuses)";
                return null;
            }

            var stem = segment.Split('.')[0];
            if (windows && (s_windowsReserved.Contains(stem) || segment.EndsWith(".", StringComparison.Ordinal) || segment.EndsWith(" ", StringComparison.Ordinal)))
            {
                problem = $"'{segment}' is not a valid file name on Windows";
                return null;
            }
        }

        var fullRoot = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var full = Path.GetFullPath(Path.Combine(fullRoot, relativePath.Replace('/', Path.DirectorySeparatorChar)));
        if (!full.StartsWith(fullRoot, windows ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
        {
            problem = "it resolves outside the folder";
            return null;
        }

        return full;
    }
}
