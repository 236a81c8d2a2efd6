using Xunit;

namespace ChittyConnect.Tests.Infrastructure;

/// <summary>A fact about Unix file types (pipes, sockets): reported as skipped, with the reason, on Windows.</summary>
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute()
    {
        if (OperatingSystem.IsWindows())
        {
            Skip = "Windows folders hold no named pipes, sockets or devices.";
        }
    }
}
