#Requires -Version 7.2
<#
.SYNOPSIS
One large object downloaded by the store into a file as the sync writes it: by one GET, and by ranged GETs
side by side (-Streams of -ChunkMiB each), alternating in one process with rclone's whole run of the same
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
dotnet pwsh -NoProfile -File bench/Measure-LargeDownload.ps1 -MiB 256 -Rounds 5 -Streams 2,4,8
#>
[CmdletBinding()]
param(
    [int] $MiB = 256,
    [int] $Rounds = 3,
    # Ranged GETs in flight per download for each ranged mode; 1 is the single GET.
    [int[]] $Streams = @(1, 4),
    [int] $ChunkMiB = 8,
    [switch] $NoRclone
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$repo = Split-Path -Parent $PSScriptRoot
Import-Module (Join-Path $repo 'build/ChittyStack.psm1')
Import-Module (Join-Path $repo 'ChittyConnect.psd1')
. (Join-Path $PSScriptRoot 'BenchSupport.ps1')
$work = Join-Path $PSScriptRoot "work/large-download-$PID"
$stack = Start-ChittyStack -S3Only
$stores = @{}
try {
    Write-Host "uptime: $(uptime)"
    $null = [IO.Directory]::CreateDirectory($work)
    $file = Join-Path $work 'one.bin'
    Write-RandomFile $file -MiB $MiB -Seed 7
    $none = [Threading.CancellationToken]::None
    $internal = [Reflection.BindingFlags]'NonPublic,Instance'
    foreach ($n in $Streams) {
        # The ranged download's knobs are internal: set here as the tests set them.
        $options = [ChittyConnect.Storage.R2StoreOptions]::new()
        $type = $options.GetType()
        $type.GetProperty('RangedDownloadStreams', $internal).SetValue($options, [int]$n)
        $type.GetProperty('RangedDownloadThreshold', $internal).SetValue($options, [long]$(if ($n -le 1) { [long]::MaxValue } else { 1MB }))
        $type.GetProperty('RangedDownloadChunk', $internal).SetValue($options, [long]($ChunkMiB * 1MB))
        $stores[$n] = New-BenchStore $stack $options
    }
    $first = $stores[$Streams[0]]
    $hashes = [ChittyConnect.Hashing.ContentHasher]::HashFileAsync($file, $none, $null, $true, $first.PartSizeFor((Get-Item $file).Length)).GetAwaiter().GetResult()
    $null = $first.UploadFileAsync($file, 'large/one.bin', $hashes.Sha256, $hashes.Md5, [DateTimeOffset]::UtcNow,
        $null, $null, $none, [NullString]::Value, $null, $hashes.Parts).GetAwaiter().GetResult()

    $env:RCLONE_CONFIG = '/dev/null'
    $env:RCLONE_CONFIG_BENCH_TYPE = 's3'
    $env:RCLONE_CONFIG_BENCH_PROVIDER = 'Other'
    $env:RCLONE_CONFIG_BENCH_ENDPOINT = $stack.S3Uri.AbsoluteUri.TrimEnd('/')
    $env:RCLONE_CONFIG_BENCH_ACCESS_KEY_ID = $stack.S3AccessKey
    $env:RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY = $stack.S3SecretKey
    $env:RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE = 'true'

    $modes = @($Streams | ForEach-Object { if ($_ -le 1) { 'one GET' } else { "$_ ranges" } })
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
            $watch = [Diagnostics.Stopwatch]::StartNew()
            if ($mode -eq 'rclone') {
                & /usr/bin/env -u AWS_CA_BUNDLE /usr/bin/rclone sync "bench:$($stack.Bucket)/large/" $target --checksum --transfers 8
                if ($LASTEXITCODE -ne 0) { throw "rclone failed with exit code $LASTEXITCODE." }
                $verified = 'rclone'
            }
            else {
                $store = $stores[$(if ($mode -eq 'one GET') { 1 } else { [int]($mode -split ' ')[0] })]
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
            Remove-Item -LiteralPath $target -Recurse -Force
            $label = if ($round -eq 0) { 'warm-up' } else { "round $round" }
            $cpuText = if ($mode -eq 'rclone') { '' } else { ', CPU {0:0.00} s' -f $cpuSeconds }
            Write-Host ("{0} {1,-9}: {2:0.00} s{3} ({4})" -f $label, $mode, $watch.Elapsed.TotalSeconds, $cpuText, $verified)
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
    Stop-ChittyStack -Stack $stack
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
