#Requires -Version 7.2
<#
.SYNOPSIS
A long-lived PowerShell session for bench/Run-Bench.ps1: the module imported once, then Sync-ChittyFolder
calls on request, each timed by its caller (this script), as in an interactive session or an admin script.

.DESCRIPTION
Reads one JSON command per line on stdin and answers each with one line "BENCH-REPLY <json>" on stdout:
  {"Op":"connect","Environment":{...}}  sets the environment variables (CHITTY_*), then Connect-Chitty
  {"Op":"sync","Path":...,"Prefix":...,"Transfers":8}
                                        one Sync-ChittyFolder -NoReport -Summary call (Transfers 0: without
                                        -Transfers, the defaults); the reply has the call's wall seconds (a
                                        stopwatch around the call) and its summary
  {"Op":"exit"}                         ends the session
A failed command answers {"Error":"..."}; the session goes on. Prints "BENCH-READY" once the module is
imported.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)]
    [string] $Manifest
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
Import-Module $Manifest

function Write-Reply($Value) {
    [Console]::Out.WriteLine('BENCH-REPLY ' + ($Value | ConvertTo-Json -Compress -Depth 4))
    [Console]::Out.Flush()
}

function Get-RuntimeCounters {
    # What the runtime did during a call: JIT, allocation, collections, thread-pool work, lock contention.
    @{
        JitMs = [System.Runtime.JitInfo]::GetCompilationTime($false).TotalMilliseconds
        JitMethods = [System.Runtime.JitInfo]::GetCompiledMethodCount($false)
        AllocatedMB = [GC]::GetTotalAllocatedBytes($false) / 1MB
        Gen0 = [GC]::CollectionCount(0)
        Gen1 = [GC]::CollectionCount(1)
        Gen2 = [GC]::CollectionCount(2)
        ThreadPoolItems = [Threading.ThreadPool]::CompletedWorkItemCount
        LockContentions = [Threading.Monitor]::LockContentionCount
    }
}

[Console]::Out.WriteLine('BENCH-READY')
[Console]::Out.Flush()

while ($null -ne ($line = [Console]::In.ReadLine())) {
    if (-not $line.Trim()) { continue }
    $command = $line | ConvertFrom-Json
    try {
        switch ($command.Op) {
            'connect' {
                foreach ($p in $command.Environment.PSObject.Properties) {
                    [Environment]::SetEnvironmentVariable($p.Name, [string]$p.Value)
                }
                $null = Connect-Chitty
                Write-Reply @{ Connected = $true }
            }
            'sync' {
                $before = Get-RuntimeCounters
                $watch = [Diagnostics.Stopwatch]::StartNew()
                $fixed = if ($command.Transfers -gt 0) { @{ Transfers = $command.Transfers } } else { @{} }
                $summary = @(Sync-ChittyFolder -Path $command.Path -Prefix $command.Prefix @fixed -NoReport -Summary)[-1]
                $watch.Stop()
                $after = Get-RuntimeCounters
                $runtime = @{}
                foreach ($k in $after.Keys) { $runtime[$k] = $after[$k] - $before[$k] }
                Write-Reply @{
                    Seconds = $watch.Elapsed.TotalSeconds
                    Runtime = $runtime
                    FilesUploaded = $summary.FilesUploaded
                    FilesSkipped = $summary.FilesSkipped
                    FilesHashed = $summary.FilesHashed
                    BytesHashed = $summary.BytesHashed
                    Errors = $summary.Errors
                    Requests = @{
                        List = $summary.Requests.List; Put = $summary.Requests.Put; Get = $summary.Requests.Get
                        Head = $summary.Requests.Head; Delete = $summary.Requests.Delete; Multipart = $summary.Requests.Multipart
                    }
                    SyncSeconds = $summary.Elapsed.TotalSeconds
                }
            }
            'exit' { return }
            default { throw "Unknown command '$($command.Op)'." }
        }
    }
    catch {
        Write-Reply @{ Error = "$_" }
    }
}
