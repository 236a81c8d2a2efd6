using System;
using System.Collections.Generic;
using System.Management.Automation;
using System.Reflection;

namespace ChittyConnect.PowerShell;

/// <summary>
/// Keeps the library's public types reachable by name from PowerShell 7 (<c>[ChittyConnect.Sync.ChittySyncResult]</c>,
/// <c>-is</c>, <c>::new()</c>) although the library loads in <see cref="ModuleLoadContext"/>: PowerShell
/// resolves type names only in the default load context, so each public type is registered as a type
/// accelerator under its own full name while the module is imported. PowerShell offers no public API for
/// this; its TypeAccelerators class is reached by reflection, and where a PowerShell lacks it the types
/// are still what the cmdlets emit and take, only not nameable in a script.
/// </summary>
internal static class LibraryTypeAccelerators
{
    private static readonly List<string> s_added = new();

    internal static void Add(Assembly library)
    {
        var add = Accelerators()?.GetMethod("Add", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(string), typeof(Type) }, null);
        if (add is null)
        {
            return;
        }

        lock (s_added)
        {
            foreach (var type in library.GetExportedTypes())
            {
                if (type.FullName is { } name && !type.IsNested)
                {
                    add.Invoke(null, new object[] { name, type });
                    s_added.Add(name);
                }
            }
        }
    }

    internal static void Remove()
    {
        var remove = Accelerators()?.GetMethod("Remove", BindingFlags.Public | BindingFlags.Static, null, new[] { typeof(string) }, null);
        lock (s_added)
        {
            foreach (var name in s_added)
            {
                remove?.Invoke(null, new object[] { name });
            }

            s_added.Clear();
        }
    }

    private static Type? Accelerators() => typeof(PSObject).Assembly.GetType("System.Management.Automation.TypeAccelerators");
}
