using System;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using ChittyConnect.Hashing;

namespace ChittyConnect.Configuration;

/// <summary>
/// A stable id of this machine, the same for every user and process on it: the system's own id (systemd's
/// /etc/machine-id on Linux, MachineGuid on Windows, IOPlatformUUID on macOS), else a random id kept in
/// <see cref="ConfigDirectory.LocalRoot"/>, which does not roam. Only a hash of the system's id is ever
/// shown or written, as machine-id(5) asks of applications.
/// </summary>
public static class MachineId
{
    private static readonly Lazy<string> s_current = new(Compute);

    /// <summary>This machine's id: 32 hex digits.</summary>
    public static string Current => s_current.Value;

    private static string Compute()
    {
        var raw = SystemId() ?? LocalId();
        using var sha = SHA256.Create();
        return ContentHasher.ToHex(sha.ComputeHash(Encoding.UTF8.GetBytes("chittyconnect-machine\n" + raw))).Substring(0, 32);
    }

    private static string? SystemId()
    {
        try
        {
            if (ConfigDirectory.IsWindows)
            {
                // Microsoft.Win32.Registry is not in netstandard2.0; both runtimes this module loads in have it.
                var registry = Type.GetType("Microsoft.Win32.Registry, Microsoft.Win32.Registry") ?? Type.GetType("Microsoft.Win32.Registry, mscorlib");
                var getValue = registry?.GetMethod("GetValue", new[] { typeof(string), typeof(string), typeof(object) });
                return NonEmpty(getValue?.Invoke(null, new object?[] { @"HKEY_LOCAL_MACHINE\SOFTWARE\Microsoft\Cryptography", "MachineGuid", null }) as string);
            }

            if (RuntimeInformation.IsOSPlatform(OSPlatform.OSX))
            {
                return NonEmpty(PlatformUuid());
            }

            foreach (var file in new[] { "/etc/machine-id", "/var/lib/dbus/machine-id" })
            {
                if (File.Exists(file) && NonEmpty(File.ReadAllText(file).Trim()) is { } id)
                {
                    return id;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Reflection.TargetInvocationException or System.Security.SecurityException or System.ComponentModel.Win32Exception)
        {
            Diagnostics.ChittyLog.Verbose($"The system's machine id could not be read ({ex.Message}); a local one is used.");
        }

        return null;
    }

    private static string? PlatformUuid()
    {
        using var ioreg = Process.Start(new ProcessStartInfo("ioreg", "-rd1 -c IOPlatformExpertDevice") { RedirectStandardOutput = true, UseShellExecute = false, CreateNoWindow = true });
        if (ioreg is null)
        {
            return null;
        }

        var output = ioreg.StandardOutput.ReadToEnd();
        ioreg.WaitForExit();
        var match = Regex.Match(output, "\"IOPlatformUUID\"\\s*=\\s*\"([^\"]+)\"");
        return match.Success ? match.Groups[1].Value : null;
    }

    // Made once and kept: the first process to write it wins, the others read what it wrote.
    private static string LocalId()
    {
        var path = Path.Combine(ConfigDirectory.LocalRoot, "machine-id");
        if (File.Exists(path) && NonEmpty(File.ReadAllText(path).Trim()) is { } existing)
        {
            return existing;
        }

        ConfigDirectory.EnsurePrivateDirectory(ConfigDirectory.LocalRoot);
        try
        {
            using var stream = ConfigDirectory.CreatePrivateFile(path, 64);
            var bytes = Encoding.ASCII.GetBytes(Guid.NewGuid().ToString("N"));
            stream.Write(bytes, 0, bytes.Length);
        }
        catch (IOException) when (File.Exists(path))
        {
            // Another process made it first.
        }

        return File.ReadAllText(path).Trim();
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
