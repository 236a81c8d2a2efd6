using System;
using System.IO;
using System.Management.Automation;
using System.Reflection;

namespace ChittyConnect.PowerShell;

/// <summary>
/// Lets the module's own dependencies (System.Text.Json and theirs) load from its folder when the
/// host asks for a version other than the one shipped: Windows PowerShell 5.1 has no binding redirects for a
/// module, so a netstandard2.0 dependency graph would otherwise fail there with FileLoadException. In
/// PowerShell 7 the handler is only a fallback: it runs when the host's own resolution has failed.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    private static readonly string s_folder = Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? string.Empty;
    private static int s_registered;

    /// <inheritdoc />
    public void OnImport()
    {
        if (System.Threading.Interlocked.Exchange(ref s_registered, 1) == 0)
        {
            AppDomain.CurrentDomain.AssemblyResolve += Resolve;
        }
    }

    private static Assembly? Resolve(object? sender, ResolveEventArgs args)
    {
        var name = new AssemblyName(args.Name);
        if (name.Name is null)
        {
            return null;
        }

        var candidate = Path.Combine(s_folder, name.Name + ".dll");
        if (!File.Exists(candidate))
        {
            return null;
        }

        foreach (var loaded in AppDomain.CurrentDomain.GetAssemblies())
        {
            if (string.Equals(loaded.GetName().Name, name.Name, StringComparison.OrdinalIgnoreCase))
            {
                return loaded;
            }
        }

        return Assembly.LoadFrom(candidate);
    }
}
