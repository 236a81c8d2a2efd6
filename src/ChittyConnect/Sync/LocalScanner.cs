using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System;
using ChittyConnect.Diagnostics;
using ChittyConnect.Files;
using ChittyConnect.Filters;

namespace ChittyConnect.Sync;

/// <summary>A local file the scan selected.</summary>
/// <remarks>
/// A scan holds one per file, so the full path is not kept but made from the folder (one string for all)
/// and the relative path when asked for.
/// </remarks>
internal sealed class LocalFile
{
    private readonly string _root;

    public LocalFile(string root, string relativePath, long size, DateTime lastWriteUtc)
    {
        _root = root;
        RelativePath = relativePath;
        Size = size;
        LastWriteUtc = lastWriteUtc;
    }

    public string RelativePath { get; }
    public string FullPath => LocalScanner.FullPathOf(_root, RelativePath);

    /// <summary>The folder the relative path is in.</summary>
    public string Root => _root;
    public long Size { get; }
    public DateTime LastWriteUtc { get; }

    /// <summary>The size and last-write time the scan found.</summary>
    public FileVersion Version => new(Size, LastWriteUtc);
}

/// <summary>What a scan found: the selected files, the entries it skipped, and what it could not read.</summary>
internal sealed class LocalScan
{
    /// <summary>Selected files by '/'-separated relative path (ordinal).</summary>
    public Dictionary<string, LocalFile> Files { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Relative paths of the links and the special files (pipes, sockets, devices) the scan passed over.
    /// Nothing is known of what lies at or under them, so the files there on the other side are neither
    /// transferred nor deleted, and the state's entries there are neither used nor forgotten.
    /// </summary>
    public HashSet<string> Skipped { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Folders that could not be read and names that were refused (a control character): their files are
    /// unknown or unsynced, so deleting on the strength of this scan would be wrong.
    /// </summary>
    public List<string> Errors { get; } = new();

    /// <summary>Whether <paramref name="relativePath"/> is a skipped entry or lies under one.</summary>
    public bool IsSkipped(string relativePath)
    {
        if (Skipped.Count == 0)
        {
            return false;
        }

        // The path itself, then each folder above it.
        for (var end = relativePath.Length; end > 0; end = relativePath.LastIndexOf('/', end - 1))
        {
            if (Skipped.Contains(relativePath.Substring(0, end)))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>
/// Walks a folder, pruning excluded directories. Only regular files and folders are read: links are never
/// followed (as rclone without -L: a directory link can loop or lead out of the folder, and a file link would
/// upload content that lives elsewhere), and pipes, sockets and devices are never opened (a pipe's read waits
/// for a writer forever). Each such entry is reported once, as a warning.
/// </summary>
internal static class LocalScanner
{
    /// <summary>Suffix of a download in progress; such files are never synced.</summary>
    public const string PartialSuffix = ".chittypart";

    /// <summary>The path of <paramref name="relativePath"/> ('/'-separated) in the folder <paramref name="root"/>.</summary>
    public static string FullPathOf(string root, string relativePath) =>
        Path.Combine(root, Path.DirectorySeparatorChar == '/' ? relativePath : relativePath.Replace('/', Path.DirectorySeparatorChar));

    /// <summary>Every selected file under <paramref name="root"/>, keyed by '/'-separated relative path.</summary>
    public static LocalScan Scan(string root, FilterRules filters, CancellationToken cancellationToken)
    {
        var scan = new LocalScan();
        foreach (var file in WalkSorted(root, filters, scan, cancellationToken))
        {
            scan.Files.Add(file.RelativePath, file);
        }

        return scan;
    }

    /// <summary>Whether <paramref name="root"/> holds at least one selected file (the walk stops at the first).</summary>
    public static bool HasFile(string root, FilterRules filters, CancellationToken cancellationToken) =>
        Walk(root, filters, new LocalScan(), warn: false, cancellationToken).Any();

    /// <summary>
    /// The selected files under <paramref name="root"/>, by the rules of <see cref="Scan"/>, in
    /// <see cref="Storage.RangedListing.KeyOrder"/> of their relative paths: the order in which the store
    /// lists their keys. Lazy: a folder is read when the walk reaches it, so what it holds is what it holds
    /// then, and memory is the folders on the current path (each one's entries, sorted once), not the files.
    /// A folder takes its place as its name with '/' after it, as its files' keys do ("a.txt" before "a/").
    /// </summary>
    /// <remarks>
    /// The links and special files passed over go to <paramref name="sink"/>'s <see cref="LocalScan.Skipped"/>
    /// (with their warning) and the folders that could not be read and the refused names to its
    /// <see cref="LocalScan.Errors"/>, as they are met; its <see cref="LocalScan.Files"/> is left as it is. A
    /// link or special file takes its place by its name alone, so when a file is yielded, every entry that
    /// sorts before it has been examined: a skipped path is in the sink before any key at or under it.
    /// </remarks>
    public static IEnumerable<LocalFile> WalkSorted(string root, FilterRules filters, LocalScan sink, CancellationToken cancellationToken) =>
        Walk(root, filters, sink, warn: true, cancellationToken);

    private static IEnumerable<LocalFile> Walk(string root, FilterRules filters, LocalScan sink, bool warn, CancellationToken cancellationToken)
    {
        root = Path.GetFullPath(root);
        // The folders from the root down to where the walk is, each with its entries still to examine.
        var path = new Stack<SortedFolder>();
        if (SortedFolder.Read(new DirectoryInfo(root), string.Empty, sink) is { } top)
        {
            path.Push(top);
        }

        while (path.Count > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var folder = path.Peek();
            if (folder.Next() is not { } entry)
            {
                path.Pop();
                continue;
            }

            var rel = folder.Relative.Length == 0 ? entry.Name : folder.Relative + "/" + entry.Name;
            switch (Examine(root, entry, rel, filters, sink, warn, out var file))
            {
                case EntryKind.Folder when SortedFolder.Read((DirectoryInfo)entry, rel, sink) is { } inner:
                    path.Push(inner);
                    break;
                case EntryKind.File:
                    yield return file!;
                    break;
            }
        }
    }

    // One folder's entries in key order, and how far the walk has examined them.
    private sealed class SortedFolder
    {
        private readonly FileSystemInfo[] _entries;
        private int _next;

        private SortedFolder(string relative, FileSystemInfo[] entries)
        {
            Relative = relative;
            _entries = entries;
        }

        public string Relative { get; }

        public FileSystemInfo? Next() => _next < _entries.Length ? _entries[_next++] : null;

        // The folder's entries sorted, or null (with an error in the sink) when it cannot be read.
        public static SortedFolder? Read(DirectoryInfo dir, string relative, LocalScan sink)
        {
            FileSystemInfo[] entries;
            try
            {
                entries = dir.GetFileSystemInfos();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException)
            {
                sink.Errors.Add($"Could not read the folder '{dir.FullName}': {ex.Message}");
                return null;
            }

            var keys = new string[entries.Length];
            for (var i = 0; i < entries.Length; i++)
            {
                keys[i] = SortKey(entries[i]);
            }

            Array.Sort(keys, entries, Storage.RangedListing.KeyOrder);
            return new SortedFolder(relative, entries);
        }

        // A folder the walk enters sorts as its files' keys begin; a link to one, never entered, by its name.
        private static string SortKey(FileSystemInfo entry) =>
            entry is DirectoryInfo && (entry.Attributes & FileAttributes.ReparsePoint) == 0 ? entry.Name + "/" : entry.Name;
    }

    private enum EntryKind
    {
        Excluded,
        Folder,
        File,
        Passed,
    }

    // What one entry is to a sync, by the scan's rules; a selected file is given back, a refused name counted
    // among the scan's errors, a link or special file among what it skipped (with its warning).
    private static EntryKind Examine(string root, FileSystemInfo entry, string rel, FilterRules filters, LocalScan scan, bool warn, out LocalFile? selected)
    {
        selected = null;
        if (ControlCharacter(entry.Name) is { } control)
        {
            // A key with a control character breaks XML requests (DeleteObjects) and most tools reading
            // the bucket; the name is refused here, before anything is sent.
            scan.Errors.Add($"'{Printable(rel)}' was not synced: its name contains the control character U+{(int)control:X4}; rename it.");
            return EntryKind.Passed;
        }

        if (entry.Name.IndexOf('\uFFFD') >= 0 && !entry.Exists)
        {
            // A name's bytes that are not UTF-8 read as U+FFFD, so the name is not the one on disk: no path made
            // of it opens the entry (nothing is known of it: it would read as a link), and names that differ only
            // there would share one key.
            scan.Errors.Add($"'{Printable(rel)}' was not synced: its name is not valid UTF-8 (shown with U+FFFD where it is not); rename it.");
            return EntryKind.Passed;
        }

        var isDirectory = entry is DirectoryInfo;
        if (!(isDirectory ? filters.IncludeDirectory(rel) : filters.IncludeFile(rel)))
        {
            return EntryKind.Excluded;
        }

        if ((entry.Attributes & FileAttributes.ReparsePoint) != 0)
        {
            Skip(scan, rel, warn, $"'{rel}' is a link, which Sync-ChittyFolder does not follow: it was skipped, and what the other side holds at '{rel}' is neither transferred nor deleted.");
            return EntryKind.Passed;
        }

        if (isDirectory)
        {
            return EntryKind.Folder;
        }

        if (entry is not FileInfo file || file.Name.EndsWith(PartialSuffix, StringComparison.Ordinal))
        {
            return EntryKind.Excluded;
        }

        // Pipes, sockets and devices report a length of 0, so only empty files need the extra stat.
        if (file.Length == 0 && LocalFileKind.SpecialKind(file.FullName) is { } kind)
        {
            Skip(scan, rel, warn, $"'{rel}' is {kind}, not a regular file: it was skipped, and what the other side holds at '{rel}' is neither transferred nor deleted.");
            return EntryKind.Passed;
        }

        selected = new LocalFile(root, rel, file.Length, file.LastWriteTimeUtc);
        return EntryKind.File;
    }

    /// <summary>
    /// Looks at the single path <paramref name="relativePath"/> by the rules of <see cref="Scan"/>: a selected
    /// file there is added to <paramref name="scan"/>. Returns false when one path cannot settle it, so that
    /// only a whole scan can: a folder there now (what is in it, or was in it, is unknown), or a link, a
    /// special file or a refused name on the way (the scan keeps such paths out of a run, with a warning).
    /// True also when the path or a folder above it is excluded, or nothing is there.
    /// </summary>
    public static bool ScanPath(string root, string relativePath, FilterRules filters, LocalScan scan)
    {
        root = Path.GetFullPath(root);
        var segments = relativePath.Split('/');
        var full = root;
        var rel = string.Empty;
        for (var i = 0; i < segments.Length; i++)
        {
            full = Path.Combine(full, segments[i]);
            rel = i == 0 ? segments[i] : rel + "/" + segments[i];
            FileSystemInfo entry = new FileInfo(full);
            if (!entry.Exists)
            {
                entry = new DirectoryInfo(full);
                if (!entry.Exists)
                {
                    return true;
                }
            }

            var last = i == segments.Length - 1;
            var probe = new LocalScan();
            // Quietly: a path it cannot settle goes to a whole scan, which warns of it.
            switch (Examine(root, entry, rel, filters, probe, warn: false, out var file))
            {
                case EntryKind.Excluded:
                    return true;
                case EntryKind.Folder when !last:
                    continue;
                case EntryKind.File when last:
                    scan.Files[rel] = file!;
                    return true;
                default:
                    return false;
            }
        }

        return true;
    }

    private static void Skip(LocalScan scan, string relativePath, bool warn, string warning)
    {
        scan.Skipped.Add(relativePath);
        if (warn)
        {
            ChittyLog.Warning(warning);
        }
    }

    /// <summary>
    /// Throws when a link lies on the way from <paramref name="root"/> to <paramref name="fullPath"/> (the
    /// path itself included): a write or delete there would act outside the folder, or on what the link
    /// points to. The root itself may be a link; the user named it.
    /// </summary>
    public static void EnsureNoLink(string root, string fullPath)
    {
        var fullRoot = Path.GetFullPath(root).TrimEnd(Path.DirectorySeparatorChar);
        var full = Path.GetFullPath(fullPath);
        if (full.Length <= fullRoot.Length)
        {
            return;
        }

        var relative = full.Substring(fullRoot.Length).TrimStart(Path.DirectorySeparatorChar);
        var current = fullRoot;
        foreach (var segment in relative.Split(Path.DirectorySeparatorChar))
        {
            current = Path.Combine(current, segment);
            FileAttributes attributes;
            try
            {
                attributes = File.GetAttributes(current);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                // Nothing exists from here on, so no link either.
                return;
            }

            if ((attributes & FileAttributes.ReparsePoint) != 0)
            {
                throw new IOException($"'{current}' is a link, which Sync-ChittyFolder does not follow: nothing is written or deleted through it.");
            }
        }
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
