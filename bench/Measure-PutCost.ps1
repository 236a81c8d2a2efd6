#Requires -Version 7.2
<#
.SYNOPSIS
The process CPU one PUT of a small file costs in the store (R2ObjectStore over AWSSDK.S3), warm.

.DESCRIPTION
Starts s3rver alone (build/ChittyStack.psm1, another process, so its CPU is not counted), imports the built
module, makes one store as Sync-ChittyFolder does and sends -Warmup PUTs of one 4 KiB file (hashed once,
beforehand) to keys of their own, then -Puts more, -Parallel at a time; prints the process CPU per PUT of
the measured ones, and of an empty loop of the same shape (the PowerShell around the calls). With
-TraceSeconds, waits for `dotnet-trace collect -p <PID>` (printed) before the measured PUTs.
Report `uptime` beside the figures.

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-PutCost.ps1 -Puts 2000 -Rounds 3
#>
[CmdletBinding()]
param(
    [int] $Warmup = 500,
    [int] $Puts = 2000,
    [int] $Parallel = 8,
    [int] $Rounds = 3,
    [int] $TraceSeconds = 0,
    # Alternates rounds with the SDK's endpoint rules evaluated per request (as before the store kept their
    # answer per bucket) and rounds as the store runs, in one process under the same load.
    [switch] $CompareEndpointRules
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$repo = Split-Path -Parent $PSScriptRoot
Import-Module (Join-Path $repo 'build/ChittyStack.psm1')
Import-Module (Join-Path $repo 'ChittyConnect.psd1')
. (Join-Path $PSScriptRoot 'BenchSupport.ps1')
$work = Join-Path $PSScriptRoot "work/put-cost-$PID"
$stack = Start-ChittyStack -S3Only
$store = $null
try {
    $null = [IO.Directory]::CreateDirectory($work)
    $file = Join-Path $work 'f.bin'
    $bytes = [byte[]]::new(4KB)
    [Random]::new(3).NextBytes($bytes)
    [IO.File]::WriteAllBytes($file, $bytes)
    $hashes = [ChittyConnect.Hashing.ContentHasher]::HashFileAsync($file, [Threading.CancellationToken]::None).GetAwaiter().GetResult()
    $options = [ChittyConnect.Storage.R2StoreOptions]::new()
    $options.MaxConcurrentRequests = $Parallel
    $store = New-BenchStore $stack $options
    $none = [Threading.CancellationToken]::None
    $now = [DateTimeOffset]::UtcNow
    $send = {
        param($From, $Count, $Empty)
        for ($i = $From; $i -lt $From + $Count; $i += $Parallel) {
            $tasks = [Collections.Generic.List[Threading.Tasks.Task]]::new()
            for ($j = $i; $j -lt [Math]::Min($i + $Parallel, $From + $Count); $j++) {
                if (-not $Empty) {
                    $tasks.Add($store.UploadFileAsync($file, "cost/$j.bin", $hashes.Sha256, $hashes.Md5, $now, $null, $null, $none, [NullString]::Value, $null, $null))
                }
            }
            if ($tasks.Count) { [Threading.Tasks.Task]::WaitAll($tasks.ToArray()) }
        }
    }
    $process = [Diagnostics.Process]::GetCurrentProcess()
    $cpuOf = {
        param($From, $Count, $Empty)
        $process.Refresh()
        $cpu = $process.TotalProcessorTime
        $watch = [Diagnostics.Stopwatch]::StartNew()
        & $send $From $Count $Empty
        $watch.Stop()
        $process.Refresh()
        [pscustomobject]@{ Cpu = ($process.TotalProcessorTime - $cpu).TotalMilliseconds; Seconds = $watch.Elapsed.TotalSeconds }
    }
    $first = & $cpuOf 0 1 $false
    Write-Host ("first PUT of the process: {0:0.000} s, {1:0} ms CPU" -f $first.Seconds, $first.Cpu)
    $null = & $cpuOf 1 $Warmup $false
    if ($TraceSeconds -gt 0) {
        Write-Host "attach now: dotnet-trace collect -p $PID; measuring in $TraceSeconds s"
        Start-Sleep -Seconds $TraceSeconds
    }
    $next = 1 + $Warmup
    $modes = [ordered]@{ store = $null }
    if ($CompareEndpointRules) {
        $flags = [Reflection.BindingFlags]'NonPublic,Public,Instance'
        $transport = [ChittyConnect.Storage.R2ObjectStore].GetField('_s3', $flags).GetValue($store)
        $config = $transport.GetType().GetProperty('Client', $flags).GetValue($transport).Config
        $kept = $config.EndpointProvider
        $modes = [ordered]@{ 'rules per request' = $kept.GetType().GetField('_rules', $flags).GetValue($kept); store = $kept }
    }
    $perPut = @{}
    foreach ($round in 1..$Rounds) {
        foreach ($mode in @($modes.Keys)) {
            if ($CompareEndpointRules) { $config.EndpointProvider = $modes[$mode] }
            $r = & $cpuOf $next $Puts $false
            $empty = & $cpuOf $next $Puts $true
            $next += $Puts
            if (-not $perPut.ContainsKey($mode)) { $perPut[$mode] = [Collections.Generic.List[double]]::new() }
            $perPut[$mode].Add(($r.Cpu - $empty.Cpu) / $Puts)
            Write-Host ("round {0} {1}: {2} PUTs {3} at a time in {4:0.00} s, {5:0.000} ms CPU per PUT ({6:0.000} ms of it the loop around them)" -f $round, $mode, $Puts, $Parallel,
                $r.Seconds, ($r.Cpu / $Puts), ($empty.Cpu / $Puts))
        }
    }
    foreach ($mode in @($modes.Keys)) {
        $sorted = @($perPut[$mode] | Sort-Object)
        Write-Host ("{0}: CPU per PUT, loop excluded: median {1:0.000} ms (range {2:0.000}-{3:0.000})" -f $mode, $sorted[[int][Math]::Floor(($sorted.Count - 1) / 2)], $sorted[0], $sorted[-1])
    }
    Write-Host "uptime: $(uptime)"
}
finally {
    if ($store) { $store.Dispose() }
    Stop-ChittyStack -Stack $stack
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
