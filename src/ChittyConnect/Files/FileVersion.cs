using System;
using System.IO;

namespace ChittyConnect.Files;

/// <summary>
/// A local file's size and last-write time (UTC, to the tick): the one rule by which the module tells a file
/// unchanged since it was read, hashed or planned. Two versions are the same only when both agree exactly.
/// </summary>
internal readonly struct FileVersion : IEquatable<FileVersion>
{
    public FileVersion(long size, long modifiedTicks)
    {
        Size = size;
        ModifiedTicks = modifiedTicks;
    }

    public FileVersion(long size, DateTime lastWriteUtc)
        : this(size, lastWriteUtc.Ticks)
    {
    }

    public long Size { get; }

    /// <summary>Last-write time in UTC ticks.</summary>
    public long ModifiedTicks { get; }

    /// <summary>The version of the file at <paramref name="path"/> now; null when there is no file there.</summary>
    public static FileVersion? Of(string path) => Of(new FileInfo(path));

    /// <summary>The version <paramref name="info"/> describes (refreshed first); null when the file does not exist.</summary>
    public static FileVersion? Of(FileInfo info)
    {
        info.Refresh();
        return info.Exists ? new FileVersion(info.Length, info.LastWriteTimeUtc) : null;
    }

    /// <summary>True when the file at <paramref name="path"/> exists and is still this version.</summary>
    public bool IsCurrentAt(string path) => Of(path) == this;

    public bool Equals(FileVersion other) => Size == other.Size && ModifiedTicks == other.ModifiedTicks;

    public override bool Equals(object? obj) => obj is FileVersion other && Equals(other);

    public override int GetHashCode() => unchecked((Size.GetHashCode() * 397) ^ ModifiedTicks.GetHashCode());

    public static bool operator ==(FileVersion left, FileVersion right) => left.Equals(right);

    public static bool operator !=(FileVersion left, FileVersion right) => !left.Equals(right);
}
