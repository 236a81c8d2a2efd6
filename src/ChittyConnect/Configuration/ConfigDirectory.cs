using System;
using System.IO;
using System.Runtime.InteropServices;
using ChittyConnect.Files;

namespace ChittyConnect.Configuration;

/// <summary>Where the module keeps profiles (and where owner-only files are made).</summary>
public static class ConfigDirectory
{
    /// <summary>CHITTY_CONFIG_DIR, else %APPDATA%\ChittyConnect on Windows, else $XDG_CONFIG_HOME/chittyconnect or ~/.config/chittyconnect.</summary>
    public static string Root
    {
        get
        {
            var overridden = Environment.GetEnvironmentVariable(EnvironmentNames.ConfigDirectory);
            if (!string.IsNullOrWhiteSpace(overridden))
            {
                return Path.GetFullPath(overridden);
            }

            if (IsWindows)
            {
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData), "ChittyConnect");
            }

            var xdg = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME");
            return Path.Combine(string.IsNullOrWhiteSpace(xdg) ? Path.Combine(Home, ".config") : xdg, "chittyconnect");
        }
    }

    /// <summary>
    /// Where this machine's own data lives, which must not roam to another machine (the sync state, the
    /// machine id when the system has none): CHITTY_STATE_DIR, else CHITTY_CONFIG_DIR (one folder for
    /// everything, as tests and portable installs set it), else %LOCALAPPDATA%\ChittyConnect on Windows,
    /// else $XDG_STATE_HOME/chittyconnect or ~/.local/state/chittyconnect.
    /// </summary>
    public static string LocalRoot
    {
        get
        {
            foreach (var name in new[] { EnvironmentNames.StateDirectory, EnvironmentNames.ConfigDirectory })
            {
                var overridden = Environment.GetEnvironmentVariable(name);
                if (!string.IsNullOrWhiteSpace(overridden))
                {
                    return Path.GetFullPath(overridden);
                }
            }

            if (IsWindows)
            {
                return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "ChittyConnect");
            }

            var xdg = Environment.GetEnvironmentVariable("XDG_STATE_HOME");
            return Path.Combine(string.IsNullOrWhiteSpace(xdg) ? Path.Combine(Home, ".local", "state") : xdg, "chittyconnect");
        }
    }

    private static string Home => Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    /// <summary>True on Windows (DPAPI is available there).</summary>
    public static bool IsWindows => RuntimeInformation.IsOSPlatform(OSPlatform.Windows);

    /// <summary>Creates <paramref name="path"/> (and parents); owner-only (0700) off Windows.</summary>
    public static void EnsurePrivateDirectory(string path)
    {
        Directory.CreateDirectory(path);
        if (!IsWindows)
        {
            _ = NativeMethods.chmod(path, 0x1C0); // 0700
        }
    }

    /// <summary>
    /// Writes <paramref name="content"/> to <paramref name="path"/> atomically (temp file, flush, rename),
    /// owner-only (0600) off Windows from before the first byte is written.
    /// </summary>
    public static void WritePrivateFile(string path, byte[] content)
    {
        EnsurePrivateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.Write(path, temp => CreatePrivateFile(temp, 4096), stream =>
        {
            stream.Write(content, 0, content.Length);
            return true;
        });
    }

    /// <summary>
    /// Creates the new file <paramref name="path"/> for writing, owner-only (0600) off Windows before the first
    /// byte is written.
    /// </summary>
    public static FileStream CreatePrivateFile(string path, int bufferSize)
    {
        var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize);
        if (!IsWindows && NativeMethods.chmod(path, 0x180) != 0) // 0600
        {
            var errno = Marshal.GetLastWin32Error();
            stream.Dispose();
            File.Delete(path);
            throw new IOException($"Could not make '{path}' readable by its owner only (errno {errno}).");
        }

        return stream;
    }

    private static class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
#pragma warning disable IDE1006 // the C name
        public static extern int chmod(string path, uint mode);
#pragma warning restore IDE1006
    }
}
