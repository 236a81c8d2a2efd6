#Requires -Version 7.2
<#
.SYNOPSIS
Shows how one PowerShell session's memory behaves across several large syncs: a first sync of -Files small
files, then -NoOps no-op re-syncs of them, each call's peak RSS and the RSS left while the session is idle.

.DESCRIPTION
Starts a private s3rver (build/ChittyStack.psm1), writes -Files files of a few bytes in folders of 1,000,
and runs Sync-ChittyFolder on them in this one session: the first sync, then the no-ops. Before each call
the process's peak RSS (VmHWM) is reset to its current RSS by writing 5 to /proc/self/clear_refs, so the
peak printed is the call's own; "idle" is the RSS two seconds after the call returned, with the managed
heap's size then. Linux only. Build
the module first (build.ps1 -Task Build).

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-SessionMemory.ps1 -Files 100000 -NoOps 3
#>
[CmdletBinding()]
param(
    [ValidateRange(1000, 1000000)] [int] $Files = 100000,
    [ValidateRange(1, 10)] [int] $NoOps = 3
)
$ErrorActionPreference = 'Stop'
if (-not $IsLinux) { throw 'This measurement reads /proc: it runs on Linux only.' }
$repo = Split-Path $PSScriptRoot -Parent
Import-Module (Join-Path $repo 'build/ChittyStack.psm1') -Force
Import-Module (Join-Path $repo 'ChittyConnect.psd1') -Force

function Get-RssMB {
    $status = [IO.File]::ReadAllText("/proc/$PID/status")
    [pscustomobject]@{
        Now = [int][regex]::Match($status, 'VmRSS:\s+(\d+)').Groups[1].Value / 1024
        Peak = [int][regex]::Match($status, 'VmHWM:\s+(\d+)').Groups[1].Value / 1024
    }
}

$work = Join-Path ([IO.Path]::GetTempPath()) ("chitty-memory-bench-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
$folder = Join-Path $work 'folder'
$null = New-Item -ItemType Directory $folder
$stack = Start-ChittyStack -S3Only
$savedConfig = $env:CHITTY_CONFIG_DIR
try {
    for ($d = 0; $d * 1000 -lt $Files; $d++) {
        $dir = [IO.Directory]::CreateDirectory((Join-Path $folder "d$d")).FullName
        for ($i = 0; $i -lt 1000 -and $d * 1000 + $i -lt $Files; $i++) { [IO.File]::WriteAllText((Join-Path $dir "f$i.txt"), "file $d $i") }
    }

    $env:CHITTY_CONFIG_DIR = Join-Path $work 'config'
    Connect-Chitty -Endpoint http://127.0.0.1:9/ -ApiKey (ConvertTo-SecureString 'bench' -AsPlainText -Force) -ChittyId bench `
        -SessionId bench -R2Endpoint $stack.S3Uri -Bucket $stack.Bucket -R2Credential $stack.S3Credential | Out-Null
    $rss = Get-RssMB
    '{0,-11} RSS {1,4:0} MB' -f 'before', $rss.Now
    $calls = @('first sync') + @(1..$NoOps | ForEach-Object { "no-op $_" })
    foreach ($call in $calls) {
        [IO.File]::WriteAllText("/proc/$PID/clear_refs", '5')
        $summary = Sync-ChittyFolder -Path $folder -Prefix 'memory/' -NoReport -Summary | Where-Object { $_ -is [ChittyConnect.Sync.ChittySyncSummary] }
        if ($summary.FilesUploaded + $summary.FilesSkipped -ne $Files) { throw "${call}: $($summary.FilesUploaded) uploaded and $($summary.FilesSkipped) skipped of $Files ($($summary.Errors) errors)." }
        $peak = (Get-RssMB).Peak
        Start-Sleep -Seconds 2
        '{0,-11} {1,7:N2} s  peak RSS {2,4:0} MB  idle after {3,4:0} MB (managed heap {4,4:0} MB)' -f $call, $summary.Elapsed.TotalSeconds, $peak, (Get-RssMB).Now, ([GC]::GetTotalMemory($false) / 1MB)
    }
}
finally {
    $env:CHITTY_CONFIG_DIR = $savedConfig
    $stack | Stop-ChittyStack
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
