using System;
using System.IO;
using System.Reflection;

namespace ChittyConnect.PowerShell;

/// <summary>
/// Windows PowerShell 5.1: resolves the module's private assemblies from its dependency folder into the
/// session's one AppDomain. A module has no binding redirects there, so a request from one of its
/// assemblies for another version of a dependency than the one shipped (System.Memory asking for an older
/// System.Runtime.CompilerServices.Unsafe) would fail with FileLoadException without this. It answers
/// only requests made by the module's own assemblies, and only with an assembly its dependency folder
/// holds: another module's failed resolution (AWS.Tools looking for its AWSSDK.Core) is never handed this
/// module's copy. An assembly of the same name and version that another module loaded first is the one
/// the AppDomain uses for both (README: Windows PowerShell 5.1).
/// </summary>
internal static class DesktopAssemblyResolver
{
    private static string s_moduleFolder = string.Empty;
    private static string s_dependencyFolder = string.Empty;

    internal static void Register(string moduleFolder, string dependencyFolder)
    {
        s_moduleFolder = moduleFolder;
        s_dependencyFolder = dependencyFolder;
        AppDomain.CurrentDomain.AssemblyResolve += Resolve;
    }

    private static Assembly? Resolve(object? sender, ResolveEventArgs args)
    {
        var requested = new AssemblyName(args.Name);
        if (requested.Name is null || (args.RequestingAssembly is { } requester && !IsOwn(requester)))
        {
            return null;
        }

        var candidate = Path.Combine(s_dependencyFolder, requested.Name + ".dll");
        if (!File.Exists(candidate))
        {
            return null;
        }

        foreach (var loaded in AppDomain.CurrentDomain.GetAssemblies())
        {
            var name = loaded.GetName();
            if (string.Equals(name.Name, requested.Name, StringComparison.OrdinalIgnoreCase) &&
                (requested.Version is null || name.Version >= requested.Version))
            {
                return loaded;
            }
        }

        return Assembly.LoadFrom(candidate);
    }

    private static bool IsOwn(Assembly assembly)
    {
        if (assembly.IsDynamic)
        {
            return false;
        }

        var folder = Path.GetDirectoryName(assembly.Location);
        return string.Equals(folder, s_moduleFolder, StringComparison.OrdinalIgnoreCase) ||
            string.Equals(folder, s_dependencyFolder, StringComparison.OrdinalIgnoreCase);
    }
}
