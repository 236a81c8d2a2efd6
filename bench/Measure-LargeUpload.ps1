#Requires -Version 7.2
<#
.SYNOPSIS
One large file hashed and uploaded in parts through the store, with the parts' hashes kept from the hashing
read (one read to hash, one to send) against without them (the upload hashes the parts by a read of its own),
in alternating rounds of one process under the same load.

.DESCRIPTION
Starts s3rver alone (build/ChittyStack.psm1, another process), imports the built module, makes one store
with the default options, writes -MiB of random bytes, and per round and mode: hashes the file as the sync
does (ContentHasher.HashFileAsync, with the store's part size or without), uploads it to a key of its own,
and prints the wall time and this process's CPU for the hash and the upload together. Report `uptime`
beside the figures.

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-LargeUpload.ps1 -MiB 256 -Rounds 3
#>
[CmdletBinding()]
param(
    [int] $MiB = 256,
    [int] $Rounds = 3
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$repo = Split-Path -Parent $PSScriptRoot
Import-Module (Join-Path $repo 'build/ChittyStack.psm1')
Import-Module (Join-Path $repo 'ChittyConnect.psd1')
. (Join-Path $PSScriptRoot 'BenchSupport.ps1')
$work = Join-Path $PSScriptRoot "work/large-upload-$PID"
$stack = Start-ChittyStack -S3Only
$store = $null
try {
    $null = [IO.Directory]::CreateDirectory($work)
    $file = Join-Path $work 'one.bin'
    Write-RandomFile $file -MiB $MiB -Seed 5
    $store = New-BenchStore $stack
    $none = [Threading.CancellationToken]::None
    $length = (Get-Item $file).Length
    $process = [Diagnostics.Process]::GetCurrentProcess()
    $figures = @{ 'parts kept' = [Collections.Generic.List[object]]::new(); 'parts read again' = [Collections.Generic.List[object]]::new() }
    foreach ($round in 0..$Rounds) {
        foreach ($mode in @(if ($round % 2) { 'parts kept', 'parts read again' } else { 'parts read again', 'parts kept' })) {
            $process.Refresh()
            $cpu = $process.TotalProcessorTime
            $watch = [Diagnostics.Stopwatch]::StartNew()
            $partSize = if ($mode -eq 'parts kept') { $store.PartSizeFor($length) } else { 0 }
            $hashes = [ChittyConnect.Hashing.ContentHasher]::HashFileAsync($file, $none, $null, $true, $partSize).GetAwaiter().GetResult()
            $hashSeconds = $watch.Elapsed.TotalSeconds
            $result = $store.UploadFileAsync($file, "large/$round-$($mode -replace ' ', '-').bin", $hashes.Sha256, $hashes.Md5, [DateTimeOffset]::UtcNow,
                $null, $null, $none, [NullString]::Value, $null, $hashes.Parts).GetAwaiter().GetResult()
            $watch.Stop()
            $process.Refresh()
            $cpuSeconds = ($process.TotalProcessorTime - $cpu).TotalSeconds
            # Round 0 warms the process up (its first multipart upload) and is not counted.
            $label = if ($round -eq 0) { 'warm-up' } else { "round $round" }
            Write-Host ("{0} {1,-16}: {2:0.00} s (hash {3:0.00} s, upload {4:0.00} s), CPU {5:0.00} s, {6} parts" -f $label, $mode, $watch.Elapsed.TotalSeconds,
                $hashSeconds, ($watch.Elapsed.TotalSeconds - $hashSeconds), $cpuSeconds, $result.Parts)
            if ($round -gt 0) { $figures[$mode].Add([pscustomobject]@{ Seconds = $watch.Elapsed.TotalSeconds; Cpu = $cpuSeconds; Hash = $hashSeconds }) }
        }
    }
    foreach ($mode in 'parts read again', 'parts kept') {
        $s = @($figures[$mode].Seconds | Sort-Object); $c = @($figures[$mode].Cpu | Sort-Object); $h = @($figures[$mode].Hash | Sort-Object)
        $mid = [int][Math]::Floor(($s.Count - 1) / 2)
        Write-Host ("{0}: median {1:0.00} s (range {2:0.00}-{3:0.00}), hash median {7:0.00} s, CPU median {4:0.00} s (range {5:0.00}-{6:0.00})" -f $mode, $s[$mid], $s[0], $s[-1], $c[$mid], $c[0], $c[-1], $h[$mid])
    }
    Write-Host "uptime: $(uptime)"
}
finally {
    if ($store) { $store.Dispose() }
    Stop-ChittyStack -Stack $stack
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
