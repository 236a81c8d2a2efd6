#Requires -Version 7.2
<#
.SYNOPSIS
Times the listing of a prefix on s3rver in one range and in 2, 3, 4 or 8 start-after ranges at once, on
loopback and through bench/wan-proxy.js: the measurement that sets how many keys the module's ranged
listing puts in one range (RangedListing).

.DESCRIPTION
Starts s3rver (build/ChittyStack.psm1, Start-ChittyStack -S3Only) and one WAN proxy for each -DelayMs above
0 (100 Mbit/s, one round trip per new connection, as Run-Bench's), fills one prefix per key count with
bench/s3-floor.js (folders of 100 keys, as Run-Bench's small data set), and lists each prefix with
s3-floor.js: the ranges cut the keys into equal parts (at the key that ends each), listed at once, each
after its start-after key up to its last key, as the module asks. Each row is the median of -Rounds runs
(the link's and the ranges' order rotating), in seconds of the floor client's own clock (node's start-up
excluded), with the pages it asked for and s3rver's CPU.

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-ListingRanges.ps1 -Keys 2000, 4000 -DelayMs 0, 30, 150
#>
[CmdletBinding()]
param(
    [int[]] $Keys = @(2000, 4000),
    [int[]] $Ranges = @(1, 2, 3, 4, 8),
    [int[]] $DelayMs = @(0, 30, 150),
    [int] $Rounds = 5
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$RepoRoot = Split-Path -Parent $PSScriptRoot
$WorkRoot = Join-Path ([IO.Path]::GetTempPath()) ('chitty-ranges-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
$ProxyScript = Join-Path $PSScriptRoot 'wan-proxy.js'
$FloorScript = Join-Path $PSScriptRoot 's3-floor.js'
$WanLink = @{ DelayMs = 30; Mbit = 100; HandshakeRtt = 1 }
$Invariant = [Globalization.CultureInfo]::InvariantCulture
. (Join-Path $PSScriptRoot 'BenchStack.ps1')
Import-Module (Join-Path $RepoRoot 'build/ChittyStack.psm1') -Force

function Invoke-Floor([string[]] $Arguments) {
    $out = & node $FloorScript @Arguments
    if ($LASTEXITCODE -ne 0) { throw "s3-floor.js $($Arguments -join ' ') failed: $out" }
    (@($out) | Where-Object { $_.StartsWith('s3-floor ') } | Select-Object -Last 1).Substring(9) | ConvertFrom-Json
}

$null = New-Item -ItemType Directory -Path $WorkRoot
$stack = Start-ChittyStack -S3Only
$proxies = @{}
try {
    $direct = $stack.S3Uri.AbsoluteUri.TrimEnd('/')
    $s3Pid = Get-S3rverPid $stack
    $endpoints = [ordered]@{}
    foreach ($delay in $DelayMs) {
        if ($delay -le 0) { $endpoints['loopback'] = $direct; continue }
        $proxies[$delay] = Start-WanProxy $stack.S3Uri @('floor') $delay
        $endpoints["$delay ms each way"] = "http://127.0.0.1:$($proxies[$delay].Ports['floor'])"
    }
    Write-Host "s3rver $direct; load average $((Get-Content /proc/loadavg -Raw).Split(' ')[0..2] -join ' ')"

    $rows = [Collections.Generic.List[object]]::new()
    foreach ($n in $Keys) {
        $prefix = "k$n/"
        # Folders of 100 keys, as Run-Bench's small data set (s3rver walks its folders for every page).
        for ($d = 0; $d * 100 -lt $n; $d++) {
            $null = Invoke-Floor @('put', '--endpoint', $direct, '--bucket', $stack.Bucket, '--prefix', ('{0}d{1:0000}/' -f $prefix, $d), '--count', "$([Math]::Min(100, $n - $d * 100))", '--size', '16', '--concurrency', '16')
        }
        $all = @(for ($d = 0; $d * 100 -lt $n; $d++) { for ($i = 0; $i -lt [Math]::Min(100, $n - $d * 100); $i++) { '{0}d{1:0000}/f{2:000000}.bin' -f $prefix, $d, $i } })
        $splitFiles = @{}
        foreach ($r in $Ranges) {
            $file = Join-Path $WorkRoot "splits-$n-$r.txt"
            [IO.File]::WriteAllLines($file, [string[]]@(for ($i = 1; $i -lt $r; $i++) { $all[[int][Math]::Floor($i * $n / $r) - 1] }))
            $splitFiles[$r] = $file
        }
        foreach ($link in $endpoints.Keys) {
            $samples = @{}
            foreach ($r in $Ranges) { $samples[$r] = [Collections.Generic.List[object]]::new() }
            for ($round = 0; $round -lt $Rounds; $round++) {
                for ($j = 0; $j -lt $Ranges.Count; $j++) {
                    $r = $Ranges[($j + $round) % $Ranges.Count]
                    $cpu = Get-ProcessCpuSeconds $s3Pid
                    $result = Invoke-Floor @('list', '--endpoint', $endpoints[$link], '--bucket', $stack.Bucket, '--prefix', $prefix, '--split-after-file', $splitFiles[$r], '--concurrency', '8')
                    if ($result.keys -ne $n) { throw "$r ranges of $prefix listed $($result.keys) keys, not $n." }
                    $samples[$r].Add([pscustomobject]@{ Seconds = [double]$result.seconds; Pages = [int]$result.requests; S3Cpu = (Get-ProcessCpuSeconds $s3Pid) - $cpu })
                }
            }
            foreach ($r in $Ranges) {
                $row = [pscustomobject]@{
                    Keys = $n
                    Link = $link
                    Ranges = $r
                    Seconds = [Math]::Round((Get-Median ($samples[$r].Seconds)), 3)
                    Min = [Math]::Round(($samples[$r].Seconds | Measure-Object -Minimum).Minimum, 3)
                    Max = [Math]::Round(($samples[$r].Seconds | Measure-Object -Maximum).Maximum, 3)
                    Pages = $samples[$r][0].Pages
                    S3CpuSeconds = [Math]::Round((Get-Median ($samples[$r].S3Cpu)), 3)
                }
                $rows.Add($row)
                Write-Host ('{0,6} keys  {1,-18} {2} range(s): {3:0.000} s ({4:0.000}-{5:0.000}), {6} pages, s3rver CPU {7:0.000} s' -f $row.Keys, $row.Link, $row.Ranges, $row.Seconds, $row.Min, $row.Max, $row.Pages, $row.S3CpuSeconds)
            }
        }
    }
    Write-Host "load average after: $((Get-Content /proc/loadavg -Raw).Split(' ')[0..2] -join ' ')"
    $rows
}
finally {
    foreach ($p in $proxies.Values) { Stop-WanProxy $p }
    Stop-ChittyStack -Stack $stack
    Remove-Item -LiteralPath $WorkRoot -Recurse -Force -ErrorAction SilentlyContinue
}
