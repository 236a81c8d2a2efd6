using System.Collections.Generic;
using System.IO;
using System.Management.Automation;
using Microsoft.PowerShell.Commands;

namespace ChittyConnect.PowerShell.Internal;

/// <summary>Resolves -Path (wildcards) and -LiteralPath to file-system paths, reporting what does not resolve.</summary>
internal static class PathResolver
{
    public static List<string> Resolve(PSCmdlet cmdlet, string path, bool literal)
    {
        var result = new List<string>();
        try
        {
            if (literal)
            {
                var resolved = cmdlet.SessionState.Path.GetUnresolvedProviderPathFromPSPath(path, out var provider, out _);
                if (provider.ImplementingType != typeof(FileSystemProvider))
                {
                    WriteNotFileSystem(cmdlet, path);
                    return result;
                }

                if (!File.Exists(resolved) && !Directory.Exists(resolved))
                {
                    WriteNotFound(cmdlet, path);
                    return result;
                }

                result.Add(resolved);
                return result;
            }

            foreach (var resolved in cmdlet.GetResolvedProviderPathFromPSPath(path, out var wildcardProvider))
            {
                if (wildcardProvider.ImplementingType != typeof(FileSystemProvider))
                {
                    WriteNotFileSystem(cmdlet, path);
                    return result;
                }

                result.Add(resolved);
            }

            if (result.Count == 0 && !WildcardPattern.ContainsWildcardCharacters(path))
            {
                WriteNotFound(cmdlet, path);
            }
        }
        catch (ItemNotFoundException)
        {
            WriteNotFound(cmdlet, path);
        }
        catch (System.Management.Automation.DriveNotFoundException ex)
        {
            cmdlet.WriteError(new ErrorRecord(ex, "ChittyPathNotFound", ErrorCategory.ObjectNotFound, path));
        }
        catch (ProviderNotFoundException ex)
        {
            cmdlet.WriteError(new ErrorRecord(ex, "ChittyPathNotFound", ErrorCategory.ObjectNotFound, path));
        }

        return result;
    }

    private static void WriteNotFound(PSCmdlet cmdlet, string path) =>
        cmdlet.WriteError(new ErrorRecord(new FileNotFoundException($"Cannot find path '{path}' because it does not exist.", path),
            "ChittyPathNotFound", ErrorCategory.ObjectNotFound, path));

    private static void WriteNotFileSystem(PSCmdlet cmdlet, string path) =>
        cmdlet.WriteError(new ErrorRecord(new System.ArgumentException($"'{path}' is not a file-system path."),
            "ChittyNotFileSystemPath", ErrorCategory.InvalidArgument, path));
}
