#Requires -Version 7.2
<#
.SYNOPSIS
Measures what a no-op sync allocates, by type: the bytes the runtime's allocation ticks (one about every 100 KB
allocated) attribute to each type, for the third sync of a folder in one session.

.DESCRIPTION
Starts the lean S3 stand-in (bench/s3-lean.js, build/ChittyStack.psm1), syncs -Folder up twice (a first sync,
then a no-op that settles the session), then listens to the runtime's GC events (an EventListener on
Microsoft-Windows-DotNETRuntime, keyword GC, level verbose) while a third sync runs, and prints the bytes it
allocated in all and per type, most first. A type's figure is sampled (each tick stands for the ~100 KB allocated
since the last one), so small types are missed and large ones are exact to a few ticks.
Where the types do not say which code allocated them, the same run under EventPipe gives the stacks:
  DOTNET_EnableEventPipe=1 DOTNET_EventPipeOutputPath='trace-{pid}.nettrace'
  DOTNET_EventPipeConfig='Microsoft-Windows-DotNETRuntime:0x1:5'
and a reader of the .nettrace (Microsoft.Diagnostics.Tracing.TraceEvent's TraceLog, GCAllocationTick events
and their call stacks). bench/analysis.md has what both found. Build the module first (build.ps1 -Task Build).

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-NoOpAllocations.ps1 -Folder /var/tmp/scale-100k -Top 20
#>
[CmdletBinding()]
param(
    # A folder of files to sync (bench/Measure-SessionMemory.ps1 -Folder writes one).
    [Parameter(Mandatory)] [string] $Folder,
    [ValidateRange(1, 1000)] [int] $Top = 30
)
$ErrorActionPreference = 'Stop'
$repo = Split-Path $PSScriptRoot -Parent
Import-Module (Join-Path $repo 'build/ChittyStack.psm1') -Force
Import-Module (Join-Path $repo 'ChittyConnect.psd1') -Force
if (-not ('ChittyBench.AllocationTicks' -as [type])) {
    Add-Type -TypeDefinition @'
using System;
using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
namespace ChittyBench
{
    // Sums the runtime's allocation ticks by type while On.
    public sealed class AllocationTicks : EventListener
    {
        public readonly ConcurrentDictionary<string, long[]> ByType = new ConcurrentDictionary<string, long[]>();
        public volatile bool On;

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (!On || e.EventName == null || !e.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal))
            {
                return;
            }

            var name = e.Payload[e.PayloadNames.IndexOf("TypeName")] as string ?? "?";
            var amount = Convert.ToInt64(e.Payload[e.PayloadNames.IndexOf("AllocationAmount64")]);
            var row = ByType.GetOrAdd(name, _ => new long[2]);
            System.Threading.Interlocked.Increment(ref row[0]);
            System.Threading.Interlocked.Add(ref row[1], amount);
        }
    }
}
'@
}

$stack = Start-ChittyStack -S3Only -LeanS3
$config = Join-Path ([IO.Path]::GetTempPath()) ('chitty-alloc-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
$savedConfig = $env:CHITTY_CONFIG_DIR
try {
    $env:CHITTY_CONFIG_DIR = $config
    Connect-Chitty -Endpoint http://127.0.0.1:9/ -ApiKey (ConvertTo-SecureString 'bench' -AsPlainText -Force) -ChittyId bench `
        -SessionId bench -R2Endpoint $stack.S3Uri -Bucket $stack.Bucket -R2Credential $stack.S3Credential | Out-Null
    foreach ($call in 'first sync', 'no-op 1') {
        $summary = Sync-ChittyFolder -Path $Folder -Prefix 'alloc/' -NoReport -Summary | Where-Object { $_ -is [ChittyConnect.Sync.ChittySyncSummary] }
        '{0,-10} {1,8:N2} s  {2:N0} uploaded, {3:N0} skipped' -f $call, $summary.Elapsed.TotalSeconds, $summary.FilesUploaded, $summary.FilesSkipped
    }

    $listener = [ChittyBench.AllocationTicks]::new()
    $before = [GC]::GetTotalAllocatedBytes($false)
    $listener.On = $true
    $summary = Sync-ChittyFolder -Path $Folder -Prefix 'alloc/' -NoReport -Summary | Where-Object { $_ -is [ChittyConnect.Sync.ChittySyncSummary] }
    $listener.On = $false
    $allocated = [GC]::GetTotalAllocatedBytes($false) - $before
    $files = $summary.FilesSkipped + $summary.FilesUploaded
    'no-op 2    {0,8:N2} s  allocated {1:N0} MB, {2:N0} bytes a file' -f $summary.Elapsed.TotalSeconds, ($allocated / 1MB), ($allocated / [Math]::Max(1, $files))
    $listener.ByType.GetEnumerator() | Sort-Object { $_.Value[1] } -Descending | Select-Object -First $Top |
        ForEach-Object { '{0,8:N1} MB {1,7} ticks  {2}' -f ($_.Value[1] / 1MB), $_.Value[0], $_.Key }
    $listener.Dispose()
}
finally {
    $env:CHITTY_CONFIG_DIR = $savedConfig
    $stack | Stop-ChittyStack
    Remove-Item -LiteralPath $config -Recurse -Force -ErrorAction SilentlyContinue
}
