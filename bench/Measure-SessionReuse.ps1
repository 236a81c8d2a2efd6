#Requires -Version 7.2
<#
.SYNOPSIS
Times no-op Sync-ChittyFolder calls in one session over the WAN proxy, on the transport the previous call
left and on a fresh one, and counts the TCP connections each call opens: what reusing the S3 transport
saves per call.

.DESCRIPTION
Starts s3rver alone (build/ChittyStack.psm1) and bench/wan-proxy.js in front of it with Run-Bench.ps1's
link (30 ms each way, 100 Mbit/s, one round trip per new connection), imports the built module into this
PowerShell, connects, syncs -Files x 4 KiB files once (the first sync also warms the session up), then
times -Rounds pairs of no-op re-syncs, each measured by a stopwatch around the call as Run-Bench.ps1's
session contender does (its W2 scenario). Prints each call's seconds, requests and new connections, then
the median and range of each kind. A few minutes in all; run it after build.ps1 -Task Build.

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-SessionReuse.ps1 -Rounds 7
#>
[CmdletBinding()]
param(
    [int] $Files = 2000,
    [int] $Rounds = 7
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$repo = Split-Path -Parent $PSScriptRoot
Import-Module (Join-Path $repo 'build/ChittyStack.psm1')
Import-Module (Join-Path $repo 'ChittyConnect.psd1')
# Run-Bench.ps1's link and its WAN proxy helpers (Start-WanProxy, Get-ProxyCounts, Stop-WanProxy, Get-Median;
# BenchStack.ps1 brings BenchSupport.ps1's Write-SmallFiles).
$ProxyScript = Join-Path $PSScriptRoot 'wan-proxy.js'
$WanLink = @{ DelayMs = 30; Mbit = 100; HandshakeRtt = 1 }
. (Join-Path $PSScriptRoot 'BenchStack.ps1')

$work = Join-Path $PSScriptRoot "work/session-reuse-$PID"
$data = Join-Path $work 'data'
$stack = Start-ChittyStack -S3Only
$proxy = $null
try {
    $proxy = Start-WanProxy -Upstream $stack.S3Uri -Names 'session'
    $port = $proxy.Ports['session']
    $connections = { (Get-ProxyCounts $proxy).session.connections }
    Write-SmallFiles $data -Count $Files -Seed 11

    # Each round times one call on the transport the previous call left (reused) and one after Remove-Module
    # and Import-Module, which release the kept transports (fresh: a new client and connection, as every call
    # made before the reuse), in turns, so both see the same load on the machine.
    $connect = {
        $null = Connect-Chitty -Endpoint 'http://127.0.0.1:9' -ApiKey (ConvertTo-SecureString 'bench-key' -AsPlainText -Force) -ChittyId CT-BENCH `
            -SessionId bench -R2Endpoint "http://127.0.0.1:$port" -Bucket $stack.Bucket -R2Credential $stack.S3Credential
    }
    $env:CHITTY_CONFIG_DIR = Join-Path $work 'config'
    $sync = { @(Sync-ChittyFolder -Path $data -Prefix 'reuse/' -Transfers 8 -NoReport -Summary)[-1] }
    & $connect
    $first = & $sync
    Write-Host ("first sync: {0:0.00} s, {1} uploaded" -f $first.Elapsed.TotalSeconds, $first.FilesUploaded)

    $seconds = @{ reused = [Collections.Generic.List[double]]::new(); fresh = [Collections.Generic.List[double]]::new() }
    foreach ($round in 1..$Rounds) {
        foreach ($mode in @(if ($round % 2) { 'fresh', 'reused' } else { 'reused', 'fresh' })) {
            if ($mode -eq 'fresh') {
                Remove-Module ChittyConnect
                Import-Module (Join-Path $repo 'ChittyConnect.psd1')
                & $connect
            }
            $before = & $connections
            $watch = [Diagnostics.Stopwatch]::StartNew()
            $summary = & $sync
            $watch.Stop()
            $opened = (& $connections) - $before
            Write-Host ("round {0} {1,-6}: {2:0.000} s, {3} LIST, {4} uploaded, {5} new connection(s)" -f $round, $mode, $watch.Elapsed.TotalSeconds,
                $summary.Requests.List, $summary.FilesUploaded, $opened)
            $seconds[$mode].Add($watch.Elapsed.TotalSeconds)
        }
    }
    foreach ($mode in 'fresh', 'reused') {
        $range = $seconds[$mode] | Measure-Object -Minimum -Maximum
        Write-Host ("no-op of {0} files over the WAN proxy, {1} transport, {2} rounds: median {3:0.000} s (range {4:0.000}-{5:0.000})" -f $Files, $mode, $Rounds,
            (Get-Median $seconds[$mode]), $range.Minimum, $range.Maximum)
    }
}
finally {
    Stop-WanProxy $proxy
    Stop-ChittyStack -Stack $stack
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
