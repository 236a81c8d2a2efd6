using System;
using System.IO;
using System.Reflection;

namespace ChittyConnect.Crypt;

/// <summary>
/// Finds the vectorised secretbox (ChittyConnect.Crypt.Vector.dll, built for .NET 8) at run time. The
/// library targets netstandard2.0 so that one build serves Windows PowerShell 5.1 and PowerShell 7, and
/// netstandard2.0 cannot name System.Runtime.Intrinsics; the encryption of a large upload is CPU-bound, so
/// on .NET 8 or later the assembly beside the library does the cipher, loaded by name into the library's
/// own load context (the module's, under PowerShell 7). Where it cannot load (Windows PowerShell, .NET
/// before 8, no 256-bit vectors, the file missing) <see cref="Fastest"/> is null and BouncyCastle's scalar
/// cipher runs: the same bytes either way (SecretBoxTests hold both to BouncyCastle's output).
/// </summary>
internal static class SecretBoxCores
{
    /// <summary>The assembly that holds the vectorised core.</summary>
    public const string VectorAssemblyName = "ChittyConnect.Crypt.Vector";

    private static readonly Lazy<ISecretBoxCore?> s_fastest = new(LoadVector);

    /// <summary>The vectorised core, or null where BouncyCastle's cipher is the one to use.</summary>
    public static ISecretBoxCore? Fastest => s_fastest.Value;

    private static ISecretBoxCore? LoadVector()
    {
        // .NET Framework reports 4 here, .NET Core 3.x 3; .NET 5 and later their own major version.
        if (Environment.Version.Major < 8)
        {
            return null;
        }

        try
        {
            var assembly = Assembly.Load(new AssemblyName(VectorAssemblyName));
            var create = assembly.GetType("ChittyConnect.Crypt.VectorSecretBoxCore", throwOnError: true)!
                .GetMethod("CreateIfSupported", BindingFlags.Public | BindingFlags.Static);
            return create?.Invoke(null, null) as ISecretBoxCore;
        }
        catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException or TypeLoadException or TargetInvocationException)
        {
            return null;
        }
    }
}
