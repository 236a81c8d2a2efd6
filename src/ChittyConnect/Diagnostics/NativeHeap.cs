using System;
using System.Runtime.InteropServices;

namespace ChittyConnect.Diagnostics;

/// <summary>
/// The C allocator's memory that the process's threads have freed, given back to the system when a run ends.
/// glibc keeps what a thread frees in that thread's arena for its next allocations, and a large run touches
/// many threads (the thread pool grows under it) and many native allocations (hashing, sockets, the JIT
/// compiling the run's code): in a long-lived PowerShell session the most any run ever needed would otherwise
/// stay resident for the rest of the session. malloc_trim(0)
/// returns the free pages of every arena; it frees nothing in use and costs a few milliseconds. Linux with
/// glibc only: elsewhere (Windows' heap, macOS, musl without the call) nothing is asked, and a C library
/// without it ends the asking for the process.
/// </summary>
internal static class NativeHeap
{
    private static readonly bool IsLinux = RuntimeInformation.IsOSPlatform(OSPlatform.Linux);
    private static volatile bool _unavailable;

    /// <summary>Asks the C allocator to give back what is freed; whether it could be asked.</summary>
    public static bool ReturnFreed()
    {
        if (!IsLinux || _unavailable)
        {
            return false;
        }

        try
        {
            NativeMethods.malloc_trim(UIntPtr.Zero);
            return true;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            _unavailable = true;
            return false;
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc")]
#pragma warning disable IDE1006 // the C name
        public static extern int malloc_trim(UIntPtr pad);
#pragma warning restore IDE1006
    }
}
