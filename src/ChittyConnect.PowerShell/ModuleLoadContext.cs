using System;
using System.Collections.Generic;
using System.IO;
using System.Reflection;
using System.Runtime.Loader;
using System.Threading;

namespace ChittyConnect.PowerShell;

/// <summary>
/// PowerShell 7: the module's own AssemblyLoadContext, after Microsoft's "Resolving PowerShell module
/// assembly dependency conflicts". PowerShell loads the cmdlet assembly into the default context; when
/// the default context cannot find one of its references that the dependency folder holds (the library,
/// ChittyConnect.dll, above all), <see cref="ResolveFromDefault"/> loads it here, and everything that
/// assembly references is then resolved by <see cref="Load"/>:
/// <list type="bullet">
/// <item>an assembly the running .NET or PowerShell provides at the version asked or newer
/// (System.Text.Json, System.Memory, ...) comes from the default context, so types the cmdlets and the
/// library exchange are one and the same;</item>
/// <item>anything else of the dependency folder (AWSSDK.Core, AWSSDK.S3, ...) is loaded here, and only
/// here, whatever other versions the session has loaded or loads later in the default context or
/// another module's context;</item>
/// <item>the rest is left to the default context.</item>
/// </list>
/// The type is compiled against System.Runtime.Loader 4.3.0 (a reference assembly only) rather than put
/// in a second assembly built for .NET: the module stays one netstandard2.0 build that Windows PowerShell
/// also loads, the runtime's own System.Runtime.Loader answers the reference on PowerShell 7, and
/// <see cref="ModuleInitializer"/> touches this type only there.
/// <para>
/// The hook on the default context is process-wide, so it answers a request only when it is the cmdlet assembly's
/// to answer: a name the cmdlet assembly references, at a version no newer than the copy the dependency folder holds.
/// Another module's request for a newer System.Text.Json (or any other name) is left to that module's own resolver.
/// The other way, jborean93's (PSOpenAD: a small loader assembly in the default context creates the context, loads
/// the cmdlet assembly into it and hands it to <c>Import-Module -Assembly</c> from a .psm1), needs no hook at all,
/// but it costs a second assembly and a script root module, a separate path for Windows PowerShell, and a
/// reflection work-around for re-imports (PowerShell/PowerShell#20710); with the hook this narrow, one
/// netstandard2.0 assembly named in the manifest keeps serving both editions.
/// </para>
/// </summary>
internal sealed class ModuleLoadContext : AssemblyLoadContext
{
    private static ModuleLoadContext? s_instance;

    private readonly string _folder;
    private readonly Dictionary<string, Version?> _cmdletReferences;
    private readonly Dictionary<string, string> _platformAssemblies;

    private ModuleLoadContext(string folder, Assembly cmdletAssembly)
    {
        _folder = folder;
        _cmdletReferences = new Dictionary<string, Version?>(StringComparer.OrdinalIgnoreCase);
        foreach (var reference in cmdletAssembly.GetReferencedAssemblies())
        {
            if (reference.Name is not null && File.Exists(PathOf(reference.Name)))
            {
                _cmdletReferences[reference.Name] = AssemblyName.GetAssemblyName(PathOf(reference.Name)).Version;
            }
        }

        _platformAssemblies = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var trusted = AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES") as string ?? string.Empty;
        foreach (var path in trusted.Split(new[] { Path.PathSeparator }, StringSplitOptions.RemoveEmptyEntries))
        {
            _platformAssemblies[Path.GetFileNameWithoutExtension(path)] = path;
        }
    }

    internal static void Register(string dependencyFolder, Assembly cmdletAssembly)
    {
        Volatile.Write(ref s_instance, new ModuleLoadContext(dependencyFolder, cmdletAssembly));
        Default.Resolving += ResolveFromDefault;
    }

    /// <inheritdoc />
    protected override Assembly? Load(AssemblyName assemblyName)
    {
        if (assemblyName.Name is null)
        {
            return null;
        }

        var path = PathOf(assemblyName.Name);
        if (!File.Exists(path) || PlatformProvides(assemblyName))
        {
            return null;
        }

        return LoadFromAssemblyPath(path);
    }

    /// <summary>
    /// Answers the default context only for the cmdlet assembly's own references that the dependency
    /// folder holds, and only at a version that folder's copy satisfies. Any other failed resolution in the
    /// session (another module's, AWS.Tools', a newer System.Text.Json) is not this module's to answer and
    /// is never handed one of its assemblies.
    /// </summary>
    private static Assembly? ResolveFromDefault(AssemblyLoadContext context, AssemblyName assemblyName)
    {
        var instance = Volatile.Read(ref s_instance);
        if (instance is null || assemblyName.Name is null
            || !instance._cmdletReferences.TryGetValue(assemblyName.Name, out var carried)
            || (assemblyName.Version is { } asked && (carried is null || carried < asked)))
        {
            return null;
        }

        return instance.LoadFromAssemblyName(assemblyName);
    }

    private bool PlatformProvides(AssemblyName assemblyName)
    {
        if (!_platformAssemblies.TryGetValue(assemblyName.Name!, out var path))
        {
            return false;
        }

        var version = AssemblyName.GetAssemblyName(path).Version;
        return assemblyName.Version is null || (version is not null && version >= assemblyName.Version);
    }

    private string PathOf(string assemblyName) => Path.Combine(_folder, assemblyName + ".dll");
}
