using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using ChittyConnect.Diagnostics;
using Xunit;

namespace ChittyConnect.Tests.Diagnostics;

/// <summary>The C allocator's freed memory given back at the end of a run (what a long-lived session keeps otherwise).</summary>
[Collection(ProcessMemoryCollection.Name)]
public sealed class NativeHeapTests
{
    private const int Blocks = 400;
    private const int BlockBytes = 100 * 1024; // below glibc's mmap threshold: from an arena, kept there when freed

    [Fact]
    public void Native_memory_a_thread_freed_leaves_the_process_when_it_is_returned()
    {
        var glibc = OperatingSystem.IsLinux() && !RuntimeInformation.RuntimeIdentifier.Contains("musl", StringComparison.Ordinal);

        // 40 MB touched and freed by a thread of its own, as a run's threads leave their arenas: all but the
        // last block, which, still in use, keeps the allocator from giving back the rest on its own.
        var last = IntPtr.Zero;
        var thread = new Thread(() =>
        {
            var blocks = new IntPtr[Blocks];
            for (var i = 0; i < Blocks; i++)
            {
                blocks[i] = Marshal.AllocHGlobal(BlockBytes);
                for (var offset = 0; offset < BlockBytes; offset += 4096)
                {
                    Marshal.WriteByte(blocks[i], offset, 1);
                }
            }

            for (var i = 0; i < Blocks - 1; i++)
            {
                Marshal.FreeHGlobal(blocks[i]);
            }

            last = blocks[Blocks - 1];
        });
        thread.Start();
        thread.Join();

        var before = AnonymousKb();
        var asked = NativeHeap.ReturnFreed();
        var after = AnonymousKb();
        Marshal.FreeHGlobal(last);

        Assert.Equal(glibc, asked);
        if (glibc)
        {
            // Most of the 40 MB: the allocator may keep a little, and the test's own process moves a little.
            Assert.True(before - after >= 20 * 1024, $"Anonymous memory went from {before} KB to {after} KB: the freed 40 MB stayed.");
        }
    }

    // The process's resident anonymous memory (Linux); 0 elsewhere, where nothing is returned.
    private static long AnonymousKb()
    {
        if (!OperatingSystem.IsLinux())
        {
            return 0;
        }

        var status = File.ReadAllText("/proc/self/status");
        return long.Parse(Regex.Match(status, @"RssAnon:\s+(\d+)").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>No other test running meanwhile: a test here reads the whole process's memory.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ProcessMemoryCollection
{
    public const string Name = "process-memory";
}
