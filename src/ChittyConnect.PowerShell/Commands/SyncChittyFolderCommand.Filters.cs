using System;
using System.IO;
using System.Management.Automation;
using ChittyConnect.Filters;

namespace ChittyConnect.PowerShell.Commands;

// The rclone filter parameters (-ExcludeFrom, -Exclude, -Include) and the rules they build.
public sealed partial class SyncChittyFolderCommand
{
    /// <summary>rclone filter files of exclude patterns (the guide's ~/.rcloneignore).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? ExcludeFrom { get; set; }

    /// <summary>rclone exclude patterns.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Exclude { get; set; }

    /// <summary>rclone include patterns: only matching files take part.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string[]? Include { get; set; }
    private FilterRules BuildFilters()
    {
        if (ExcludeFrom is null && Exclude is null && Include is null)
        {
            return FilterRules.Empty;
        }

        try
        {
            var builder = new FilterRulesBuilder();
            foreach (var file in ExcludeFrom ?? Array.Empty<string>())
            {
                var path = SessionState.Path.GetUnresolvedProviderPathFromPSPath(file);
                if (!File.Exists(path))
                {
                    ThrowTerminatingError(new ErrorRecord(
                        new FileNotFoundException($"-ExcludeFrom '{file}': no such file ('{path}'). Give the path of an rclone filter file, such as ~/.rcloneignore.", path),
                        "ChittyPathNotFound", ErrorCategory.ObjectNotFound, file));
                }

                builder.AddExcludeFrom(path);
            }

            foreach (var pattern in Exclude ?? Array.Empty<string>())
            {
                builder.AddExclude(pattern);
            }

            foreach (var pattern in Include ?? Array.Empty<string>())
            {
                builder.AddInclude(pattern);
            }

            return builder.Build();
        }
        catch (Exception ex) when (ex is FilterSyntaxException or IOException or UnauthorizedAccessException)
        {
            ThrowTerminatingError(ErrorFor(ex, ExcludeFrom));
            return null!;
        }
    }
}
