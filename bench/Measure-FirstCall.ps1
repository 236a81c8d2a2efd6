#Requires -Version 7.2
<#
.SYNOPSIS
Times the first call of a fresh PowerShell session beside the same call once the session is warm, for the
bench's S1 (first sync of many small files), S2 (its no-op), S5 (one large file in parts) and S5D (that
file downloaded into an empty folder), with the JIT each call compiled, and rclone's whole run of each
beside them in the same run.

.DESCRIPTION
Starts s3rver alone (build/ChittyStack.psm1), makes the files, then runs one child `pwsh -NoProfile` per
scenario: it imports the built module, connects, and makes the scenario's call twice (S1 and S5 to a new
prefix each time, S2 over the prefix this script synced beforehand, S5D from the two prefixes S5 filled
into a new folder each time), each timed by a stopwatch around it, with the process CPU, the methods
compiled and the time spent compiling them (System.Runtime.JitInfo, every thread: tier-1 recompiles on the
background thread included) around it. After each scenario rclone runs it -RcloneRounds times as the
guide runs it (`sync --checksum --transfers 8`, a whole process, S2 over a prefix rclone filled). Prints
one line per call and `uptime` before and after. Run it after build.ps1 -Task Build.

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-FirstCall.ps1 -Files 2000 -LargeMiB 256
#>
[CmdletBinding()]
param(
    [int] $Files = 2000,
    [int] $LargeMiB = 256,
    [string[]] $Scenario = @('S1', 'S2', 'S5', 'S5D'),
    [int] $RcloneRounds = 2,
    # A folder: each scenario's child process lists there every method its runtime compiles, with its tier
    # (DOTNET_JitStdOutFile with DOTNET_JitDisasmSummary), one file per scenario.
    [string] $JitSummary,
    # Seconds each child waits between Connect-Chitty and its first call: how much of the first call's cost
    # the background warm-up Connect-Chitty starts takes away when it has the time to finish.
    [double] $PauseAfterConnect = 0,
    # Internal: run as the child of one scenario, in these folders.
    [string] $Child,
    [string] $Small,
    [string] $Large,
    [string] $State
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$repo = Split-Path -Parent $PSScriptRoot
if ($Child) {
    Import-Module (Join-Path $repo 'ChittyConnect.psd1')
    $null = Connect-Chitty
    if ($PauseAfterConnect -gt 0) { Start-Sleep -Milliseconds ([int]($PauseAfterConnect * 1000)) }
    $process = [Diagnostics.Process]::GetCurrentProcess()
    foreach ($call in 1, 2) {
        $sync = switch ($Child) {
            'S1' { @{ Path = $Small; Prefix = "s1/call$call/"; StateDirectory = "$State/s1-$call" } }
            'S2' { @{ Path = $Small; Prefix = 's2/'; StateDirectory = "$State/s2" } }
            'S5' { @{ Path = $Large; Prefix = "s5/call$call/"; StateDirectory = "$State/s5-$call" } }
            'S5D' { @{ Path = "$Large-down$call"; Prefix = "s5/call$call/"; StateDirectory = "$State/s5d-$call"; Direction = 'Download' } }
        }
        $process.Refresh()
        $cpu = $process.TotalProcessorTime
        $methods = [System.Runtime.JitInfo]::GetCompiledMethodCount($false)
        $jit = [System.Runtime.JitInfo]::GetCompilationTime($false)
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $summary = @(Sync-ChittyFolder @sync -NoReport -Summary)[-1]
        $watch.Stop()
        $process.Refresh()
        [pscustomobject]@{
            Scenario = $Child
            Call = if ($call -eq 1) { 'first of session' } else { 'warm' }
            Seconds = $watch.Elapsed.TotalSeconds
            CpuSeconds = ($process.TotalProcessorTime - $cpu).TotalSeconds
            JitMethods = [System.Runtime.JitInfo]::GetCompiledMethodCount($false) - $methods
            JitSeconds = ([System.Runtime.JitInfo]::GetCompilationTime($false) - $jit).TotalSeconds
            Moved = $summary.FilesUploaded + $summary.FilesDownloaded
        } | ConvertTo-Json -Compress
    }
    return
}
Import-Module (Join-Path $repo 'build/ChittyStack.psm1')
. (Join-Path $PSScriptRoot 'BenchSupport.ps1')

function Invoke-Rclone([string] $Name, [string[]] $Arguments) {
    # rclone as a whole process, as its users wait for it; never with AWS_CA_BUNDLE.
    $watch = [Diagnostics.Stopwatch]::StartNew()
    & /usr/bin/env -u AWS_CA_BUNDLE /usr/bin/rclone @Arguments --checksum --transfers 8
    if ($LASTEXITCODE -ne 0) { throw "rclone $($Arguments -join ' ') failed with exit code $LASTEXITCODE." }
    Write-Host ('{0} rclone          : {1,7:0.000} s' -f $Name, $watch.Elapsed.TotalSeconds)
}

$work = Join-Path $PSScriptRoot "work/first-call-$PID"
$small = Join-Path $work 'small'
$large = Join-Path $work 'large'
$stack = Start-ChittyStack -S3Only
try {
    Write-Host "uptime: $(uptime)"
    Write-SmallFiles $small -Count $Files -Seed 21
    $null = [IO.Directory]::CreateDirectory($large)
    Write-RandomFile (Join-Path $large 'one.bin') -MiB $LargeMiB -Seed 22
    Set-BenchConnectionEnvironment $stack -ConfigDirectory (Join-Path $work 'config')
    $env:RCLONE_CONFIG = '/dev/null'
    $env:RCLONE_CONFIG_BENCH_TYPE = 's3'
    $env:RCLONE_CONFIG_BENCH_PROVIDER = 'Other'
    $env:RCLONE_CONFIG_BENCH_ENDPOINT = $stack.S3Uri.AbsoluteUri.TrimEnd('/')
    $env:RCLONE_CONFIG_BENCH_ACCESS_KEY_ID = $stack.S3AccessKey
    $env:RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY = $stack.S3SecretKey
    $env:RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE = 'true'
    $remote = "bench:$($stack.Bucket)"

    $manifest = Join-Path $repo 'ChittyConnect.psd1'
    $state = Join-Path $work 'state'
    if ($Scenario -contains 'S2') {
        # S2's prefix is filled by this process first: the child's two calls are both no-ops.
        Import-Module $manifest
        $null = Connect-Chitty
        $null = Sync-ChittyFolder -Path $small -Prefix 's2/' -StateDirectory "$state/s2" -NoReport
        Remove-Module ChittyConnect
    }
    foreach ($name in $Scenario) {
        Push-Location $repo
        if ($JitSummary) {
            $null = [IO.Directory]::CreateDirectory($JitSummary)
            $env:DOTNET_JitStdOutFile = Join-Path $JitSummary "$name.txt"
            $env:DOTNET_JitDisasmSummary = '1'
        }
        try { $lines = & dotnet pwsh -NoProfile -File $PSCommandPath -Child $name -Small $small -Large $large -State $state -PauseAfterConnect $PauseAfterConnect }
        finally {
            Pop-Location
            Remove-Item Env:DOTNET_JitStdOutFile, Env:DOTNET_JitDisasmSummary -ErrorAction SilentlyContinue
        }
        foreach ($line in $lines) {
            $r = $line | ConvertFrom-Json
            Write-Host ('{0} {1,-16}: {2,7:0.000} s, CPU {3,6:0.00} s, JIT {4,5} methods / {5:0.00} s, {6} moved' -f $r.Scenario, $r.Call, $r.Seconds,
                $r.CpuSeconds, $r.JitMethods, $r.JitSeconds, $r.Moved)
        }
        for ($round = 1; $round -le $RcloneRounds; $round++) {
            switch ($name) {
                'S1' { Invoke-Rclone $name @('sync', $small, "$remote/s1/rclone$round/") }
                'S2' {
                    if ($round -eq 1) { & /usr/bin/env -u AWS_CA_BUNDLE /usr/bin/rclone sync $small "$remote/s2/rclone/" --checksum --transfers 8 }
                    Invoke-Rclone $name @('sync', $small, "$remote/s2/rclone/")
                }
                'S5' { Invoke-Rclone $name @('sync', $large, "$remote/s5/rclone$round/") }
                'S5D' {
                    # From the prefixes the module filled: the same object, as the module's download reads it.
                    Invoke-Rclone $name @('sync', "$remote/s5/call$round/", "$large-rclone$round")
                }
            }
        }
    }
    Write-Host "uptime: $(uptime)"
}
finally {
    Stop-ChittyStack -Stack $stack
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
