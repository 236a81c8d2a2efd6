using System;
using System.Runtime.InteropServices;

namespace ChittyConnect.Sync;

/// <summary>
/// Tells pipes, sockets and devices from regular files, which .NET's file classes do not: each shows as a
/// FileInfo, and opening a pipe to read it waits until some other process writes to it.
/// </summary>
internal static class LocalFileKind
{
    private static readonly bool s_unix = !RuntimeInformation.IsOSPlatform(OSPlatform.Windows);
    private static bool s_unavailable;

    /// <summary>
    /// "a named pipe", "a socket", "a character device" or "a block device" for such an entry; null for a
    /// regular file, on Windows (whose folders hold none of them), and where the file cannot be examined.
    /// </summary>
    public static string? SpecialKind(string path)
    {
        if (!s_unix || s_unavailable)
        {
            return null;
        }

        int mode;
        try
        {
            // The runtime's own lstat shim: its FileStatus layout is the same on every Unix and architecture
            // (libc's struct stat is not), and it is always there, beside the runtime that loaded us.
            var status = new byte[256];
            // Unix paths are UTF-8 bytes, and netstandard2.0 has no marshalling for UTF-8 strings.
            var utf8Path = System.Text.Encoding.UTF8.GetBytes(path + "\0");
            if (NativeMethods.LStat(utf8Path, status) != 0)
            {
                return null;
            }

            mode = BitConverter.ToInt32(status, ModeOffset);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            // A runtime without the shim (Mono): such files cannot be told apart there, as before.
            s_unavailable = true;
            return null;
        }

        return (mode & TypeMask) switch
        {
            Fifo => "a named pipe",
            Socket => "a socket",
            CharacterDevice => "a character device",
            BlockDevice => "a block device",
            _ => null,
        };
    }

    // FileStatus { int32 Flags; int32 Mode; ... } with the runtime's own S_IF* values (pal_io.h).
    private const int ModeOffset = 4;
    private const int TypeMask = 0xF000;
    private const int Fifo = 0x1000;
    private const int CharacterDevice = 0x2000;
    private const int BlockDevice = 0x6000;
    private const int Socket = 0xC000;

    private static class NativeMethods
    {
        [DllImport("libSystem.Native", EntryPoint = "SystemNative_LStat", SetLastError = true)]
        public static extern int LStat(byte[] utf8Path, byte[] status);
    }
}
