using System;
using System.Management.Automation;
using System.Reflection;

namespace ChittyConnect.PowerShell;

/// <summary>
/// Keeps the library's public types reachable by name from PowerShell 7 (<c>[ChittyConnect.Sync.ChittySyncResult]</c>,
/// <c>-is</c>, <c>::new()</c>) although the library loads in <see cref="ModuleLoadContext"/>: PowerShell
/// resolves type names only in the default load context, so each public type is registered as a type
/// accelerator under its own full name. Accelerators belong to the process, not to a runspace, and
/// stay after a Remove-Module: another runspace may still use the module, and the library, which cannot
/// be unloaded, still holds the same types. PowerShell offers no public API for this; its
/// TypeAccelerators class is reached by reflection, and where a PowerShell lacks it the types are still
/// what the cmdlets emit and take, only not nameable in a script.
/// </summary>
internal static class LibraryTypeAccelerators
{
    internal static void Add(Assembly library)
    {
        var accelerators = typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators");
        var add = accelerators?.GetMethod("Add", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(string), typeof(Type) }, null);
        if (add is null)
        {
            return;
        }

        foreach (var type in library.GetExportedTypes())
        {
            if (type.FullName is { } name && !type.IsNested)
            {
                add.Invoke(null, new object[] { name, type });
            }
        }
    }
}
