#Requires -Version 7.2
<#
.SYNOPSIS
One large object downloaded by the store into a file as the sync writes it: by one GET, by ranged GETs
side by side (-Streams of -ChunkMiB each, whatever the first chunk's rate), and with the defaults (ranges only
when the object's own answer brought its first chunk too slowly), alternating in one process with rclone's whole run of the same
download, under the same load.

.DESCRIPTION
Starts s3rver alone (build/ChittyStack.psm1), imports the built module, uploads -MiB of random bytes once
through a store with the default options (as Sync-ChittyFolder leaves a large file: in parts, sha256 and
md5chksum metadata), then per round, in an order that turns each round, downloads it: with the module's
store into a new file (FileMode.CreateNew, unbuffered, flushed to disk: the sync's temporary file), once per
mode, and with rclone (`sync --checksum --transfers 8` of the prefix into a new folder, a whole process, as
the guide runs it). Prints wall time and, for the module, this process's CPU; medians after round 0 (the
warm-up, not counted); `uptime` before and after. Run it after build.ps1 -Task Build.

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-LargeDownload.ps1 -MiB 256 -Rounds 5 -Streams 1,2,4,8
#>
[CmdletBinding()]
param(
    [int] $MiB = 256,
    [int] $Rounds = 3,
    # Ranged GETs in flight per download, one mode each, comma-separated (a string, so that `pwsh -File`
    # passes it whole); 1 is the single GET.
    [string] $Streams = '1,4',
    [int] $ChunkMiB = 8,
    [switch] $NoRclone,
    # Through bench/wan-proxy.js with this delay each way (0: straight to s3rver), on a link of -WanMbit
    # shared by every connection, each connection holding at most 4 MiB in flight per direction (its TCP
    # window): where one stream is bounded by its window over the round trip and ranges side by side are not.
    [int] $WanDelayMs = 0,
    [int] $WanMbit = 1000
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$streamCounts = @($Streams -split ',' | ForEach-Object { [int]$_ })
$repo = Split-Path -Parent $PSScriptRoot
Import-Module (Join-Path $repo 'build/ChittyStack.psm1')
Import-Module (Join-Path $repo 'ChittyConnect.psd1')
. (Join-Path $PSScriptRoot 'BenchStack.ps1')
$work = Join-Path $PSScriptRoot "work/large-download-$PID"
$stack = Start-ChittyStack -S3Only
$stores = @{}
$proxy = $null
try {
    $endpoint = $stack.S3Uri
    if ($WanDelayMs -gt 0) {
        $ProxyScript = Join-Path $PSScriptRoot 'wan-proxy.js'
        $WanLink = @{ DelayMs = $WanDelayMs; Mbit = $WanMbit; HandshakeRtt = 1 }
        $proxy = Start-WanProxy -Upstream $stack.S3Uri -Names 'bench' -DelayMs $WanDelayMs
        $endpoint = [uri]"http://127.0.0.1:$($proxy.Ports['bench'])/"
        Write-Host "through the WAN proxy: $WanDelayMs ms each way, $WanMbit Mbit/s, 4 MiB a connection in flight"
    }
    Write-Host "uptime: $(uptime)"
    $null = [IO.Directory]::CreateDirectory($work)
    $file = Join-Path $work 'one.bin'
    Write-RandomFile $file -MiB $MiB -Seed 7
    $none = [Threading.CancellationToken]::None
    $internal = [Reflection.BindingFlags]'NonPublic,Instance'
    foreach ($n in $streamCounts) {
        # The ranged download's knobs are internal: set here as the tests set them.
        $options = [ChittyConnect.Storage.R2StoreOptions]::new()
        $type = $options.GetType()
        $type.GetProperty('RangedDownloadStreams', $internal).SetValue($options, [int]$n)
        $type.GetProperty('RangedDownloadThreshold', $internal).SetValue($options, [long]$(if ($n -le 1) { [long]::MaxValue } else { 1MB }))
        $type.GetProperty('RangedDownloadChunk', $internal).SetValue($options, [long]($ChunkMiB * 1MB))
        # Ranges whatever the first chunk's rate: the ranged path itself is measured.
        $type.GetProperty('RangedDownloadMinimumRate', $internal).SetValue($options, [double]::PositiveInfinity)
        $stores[$n] = New-BenchStore ([pscustomobject]@{ S3Uri = $endpoint; Bucket = $stack.Bucket; S3AccessKey = $stack.S3AccessKey; S3SecretKey = $stack.S3SecretKey }) $options
    }
    # 'defaults': the store as Sync-ChittyFolder makes it, choosing by the first chunk's rate.
    $stores[-1] = New-BenchStore ([pscustomobject]@{ S3Uri = $endpoint; Bucket = $stack.Bucket; S3AccessKey = $stack.S3AccessKey; S3SecretKey = $stack.S3SecretKey })
    $first = New-BenchStore $stack
    $stores[0] = $first
    $hashes = [ChittyConnect.Hashing.ContentHasher]::HashFileAsync($file, $none, $null, $true, $first.PartSizeFor((Get-Item $file).Length)).GetAwaiter().GetResult()
    $null = $first.UploadFileAsync($file, 'large/one.bin', $hashes.Sha256, $hashes.Md5, [DateTimeOffset]::UtcNow,
        $null, $null, $none, [NullString]::Value, $null, $hashes.Parts).GetAwaiter().GetResult()

    $env:RCLONE_CONFIG = '/dev/null'
    $env:RCLONE_CONFIG_BENCH_TYPE = 's3'
    $env:RCLONE_CONFIG_BENCH_PROVIDER = 'Other'
    $env:RCLONE_CONFIG_BENCH_ENDPOINT = $endpoint.AbsoluteUri.TrimEnd('/')
    $env:RCLONE_CONFIG_BENCH_ACCESS_KEY_ID = $stack.S3AccessKey
    $env:RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY = $stack.S3SecretKey
    $env:RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE = 'true'

    $s3rverPid = Get-S3rverPid $stack
    $modes = @($streamCounts | ForEach-Object { if ($_ -le 1) { 'one GET' } else { "$_ ranges" } }) + @('defaults')
    if (-not $NoRclone) { $modes += 'rclone' }
    $figures = @{}
    foreach ($mode in $modes) { $figures[$mode] = [Collections.Generic.List[object]]::new() }
    $process = [Diagnostics.Process]::GetCurrentProcess()
    foreach ($round in 0..$Rounds) {
        $order = @($modes[($round % $modes.Count)..($modes.Count - 1)]) + @(if ($round % $modes.Count) { $modes[0..(($round % $modes.Count) - 1)] })
        foreach ($mode in $order) {
            $target = Join-Path $work "down-$round-$($mode -replace ' ', '-')"
            $process.Refresh()
            $cpu = $process.TotalProcessorTime
            $s3rverCpu = Get-ProcessCpuSeconds $s3rverPid
            $allocated = [GC]::GetTotalAllocatedBytes($false)
            $gen2 = [GC]::CollectionCount(2)
            $watch = [Diagnostics.Stopwatch]::StartNew()
            if ($mode -eq 'rclone') {
                & /usr/bin/env -u AWS_CA_BUNDLE /usr/bin/rclone sync "bench:$($stack.Bucket)/large/" $target --checksum --transfers 8
                if ($LASTEXITCODE -ne 0) { throw "rclone failed with exit code $LASTEXITCODE." }
                $verified = 'rclone'
            }
            else {
                $store = $stores[$(switch ($mode) { 'one GET' { 1 } 'defaults' { -1 } default { [int]($mode -split ' ')[0] } })]
                $stream = [IO.FileStream]::new($target, [IO.FileMode]::CreateNew, [IO.FileAccess]::Write, [IO.FileShare]::None, 1, [IO.FileOptions]::Asynchronous)
                try {
                    $result = $store.DownloadAsync('large/one.bin', $stream, $null, $none).GetAwaiter().GetResult()
                    $stream.Flush($true)
                }
                finally { $stream.Dispose() }
                if ($result.Sha256 -ne $hashes.Sha256) { throw "$mode received $($result.Sha256), not $($hashes.Sha256)." }
                $verified = $result.VerifiedBy
            }
            $watch.Stop()
            $process.Refresh()
            $cpuSeconds = ($process.TotalProcessorTime - $cpu).TotalSeconds
            $s3rverSeconds = (Get-ProcessCpuSeconds $s3rverPid) - $s3rverCpu
            $allocatedMiB = ([GC]::GetTotalAllocatedBytes($false) - $allocated) / 1MB
            $gen2 = [GC]::CollectionCount(2) - $gen2
            Remove-Item -LiteralPath $target -Recurse -Force
            $label = if ($round -eq 0) { 'warm-up' } else { "round $round" }
            $cpuText = if ($mode -eq 'rclone') { '' } else { ', CPU {0:0.00} s, {1:0} MiB allocated, {2} gen2 GCs' -f $cpuSeconds, $allocatedMiB, $gen2 }
            Write-Host ("{0} {1,-9}: {2:0.00} s{3}, s3rver CPU {4:0.00} s ({5})" -f $label, $mode, $watch.Elapsed.TotalSeconds, $cpuText, $s3rverSeconds, $verified)
            if ($round -gt 0) { $figures[$mode].Add([pscustomobject]@{ Seconds = $watch.Elapsed.TotalSeconds; Cpu = $cpuSeconds }) }
        }
    }
    foreach ($mode in $modes) {
        $s = @($figures[$mode].Seconds | Sort-Object); $c = @($figures[$mode].Cpu | Sort-Object)
        $mid = [int][Math]::Floor(($s.Count - 1) / 2)
        $cpuText = if ($mode -eq 'rclone') { '' } else { ', CPU median {0:0.00} s' -f $c[$mid] }
        Write-Host ("{0}: median {1:0.00} s (range {2:0.00}-{3:0.00}){4}" -f $mode, $s[$mid], $s[0], $s[-1], $cpuText)
    }
    Write-Host "uptime: $(uptime)"
}
finally {
    foreach ($store in $stores.Values) { $store.Dispose() }
    if ($proxy) { Stop-WanProxy $proxy }
    Stop-ChittyStack -Stack $stack
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
