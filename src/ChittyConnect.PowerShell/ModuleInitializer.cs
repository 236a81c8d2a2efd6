using System;
using System.Management.Automation;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ChittyConnect.PowerShell;

/// <summary>
/// Makes the module's private assemblies loadable. The built module keeps only this cmdlet assembly in
/// its folder; the library (ChittyConnect.dll) and everything it depends on (AWSSDK.Core, AWSSDK.S3 and
/// the rest) sit in the sub-folder <see cref="DependencyFolderName"/>, where neither PowerShell's probing
/// nor the runtime's finds them, so every one of them is loaded by the rules below and no other way.
/// <list type="bullet">
/// <item>PowerShell 7: they load in the module's own <see cref="ModuleLoadContext"/>, beside any other
/// version of the same assemblies that the session holds (AWS.Tools' AWSSDK.Core, for one), whichever
/// was loaded first.</item>
/// <item>Windows PowerShell 5.1 has no load contexts: <see cref="DesktopAssemblyResolver"/> loads them
/// into the one AppDomain, standing in for the binding redirects a module cannot have.</item>
/// </list>
/// PowerShell runs <see cref="OnImport"/> before any cmdlet of the module binds, and the cmdlets are the
/// only code here that reaches the library; it runs <see cref="OnRemove"/> on Remove-Module.
/// </summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer, IModuleAssemblyCleanup
{
    /// <summary>The sub-folder of the module's folder that holds its private assemblies.</summary>
    public const string DependencyFolderName = "dependencies";

    private static readonly object s_lock = new();
    private static bool s_registered;

    /// <inheritdoc />
    public void OnImport()
    {
        // Once per process; an import in another runspace waits until the first one has registered.
        lock (s_lock)
        {
            if (!s_registered)
            {
                Register();
                s_registered = true;
            }
        }
    }

    /// <summary>
    /// Remove-Module: the S3 transports kept between calls are released (connections closed), here and for
    /// every runspace of the process, since they are shared; a call running in another runspace keeps its
    /// transport until it ends, and that runspace's next call builds a new one. The load context and the
    /// resolvers stay: a loaded assembly cannot be unloaded, and a later import uses them again.
    /// </summary>
    public void OnRemove(PSModuleInfo psModuleInfo) => Internal.StoreTransports.Release();

    private static void Register()
    {
        var moduleFolder = System.IO.Path.GetDirectoryName(typeof(ModuleInitializer).Assembly.Location) ?? string.Empty;
        var dependencyFolder = System.IO.Path.Combine(moduleFolder, DependencyFolderName);
        var inLoadContext = false;
        if (!System.IO.Directory.Exists(dependencyFolder))
        {
            // A build output with the library beside this assembly (the xunit tests load it so): the
            // host resolves everything itself and there is nothing to isolate.
        }
        else if (RuntimeInformation.FrameworkDescription.StartsWith(".NET Framework", StringComparison.Ordinal))
        {
            DesktopAssemblyResolver.Register(moduleFolder, dependencyFolder);
        }
        else
        {
            RegisterLoadContext(dependencyFolder);
            inLoadContext = true;
        }

        // The library is loaded now rather than by the first cmdlet that needs it: PowerShell resolves a
        // type name ([ChittyConnect.Sync.ChittySyncResult]) only among loaded assemblies, and scripts
        // name the library's types before they run a cmdlet.
        var library = LoadLibrary();
        if (inLoadContext)
        {
            LibraryTypeAccelerators.Add(library);
        }
    }

    // The only method that names AssemblyLoadContext's subclass, and it runs on PowerShell 7 only:
    // Windows PowerShell, which has no such type, never compiles it.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void RegisterLoadContext(string dependencyFolder) =>
        ModuleLoadContext.Register(dependencyFolder, typeof(ModuleInitializer).Assembly);

    // A method of its own: the JIT resolves the library's type when it compiles the method that names
    // it, and that must happen after the resolvers are registered.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static System.Reflection.Assembly LoadLibrary() => typeof(ChittyConnection).Assembly;
}
