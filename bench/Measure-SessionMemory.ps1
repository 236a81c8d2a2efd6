#Requires -Version 7.2
<#
.SYNOPSIS
Measures one PowerShell session across several large syncs: a first sync of -Files files of 1 KiB in
folders of 1,000, then -NoOps no-op re-syncs of them; each call's time, peak RSS and the RSS left while the
session is idle; then rclone's no-op of the same prefix and the listing's floor.

.DESCRIPTION
Starts a private store (build/ChittyStack.psm1): s3rver, or with -Store Lean the lean stand-in
bench/s3-lean.js (keys and ETags in memory, bodies checked and dropped; what it leaves out is in
bench/analysis.md). Writes the files into -Folder unless it already holds them (so a large data set is
made once and reused), and runs Sync-ChittyFolder on them in this one session: the first sync, then the
no-ops. Before each call the process's peak RSS (VmHWM) is reset to its current RSS by writing 5 to
/proc/self/clear_refs, so the peak printed is the call's own; "idle" is the RSS two seconds after the call
returned, with the managed heap's size then. Then, on the same prefix:
  rclone  `rclone sync <folder> <prefix> --checksum --transfers 8`, a whole process (it hashes every file
          and lists the folders 8 at a time): its time and peak RSS (/usr/bin/time);
  floor   bench/s3-floor.js listing every key of the prefix alone, one page after the other and as the
          module's ranged listing asks (the ranges between the split points the module would take).
Prints the uptime (load) before and after, and one Markdown row per figure for docs/scale.md. Linux only.
Build the module first (build.ps1 -Task Build).

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-SessionMemory.ps1 -Files 100000 -NoOps 2 -Store Lean -Folder /var/tmp/scale-100k
#>
[CmdletBinding()]
param(
    [ValidateRange(1000, 1000000)] [int] $Files = 100000,
    [ValidateRange(1, 10)] [int] $NoOps = 3,
    [ValidateSet('S3rver', 'Lean')] [string] $Store = 'S3rver',
    # Where the files are written (kept after the run); by default a temporary folder, removed at the end.
    [string] $Folder,
    [switch] $SkipRclone
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
        # What the RSS is made of: anonymous memory (the managed heap, native allocations, JIT code, stacks)
        # and file pages (the runtime's and the assemblies' images).
        Anon = [int][regex]::Match($status, 'RssAnon:\s+(\d+)').Groups[1].Value / 1024
        File = [int][regex]::Match($status, 'RssFile:\s+(\d+)').Groups[1].Value / 1024
        # What the collector holds committed: the heap, its free space and what it keeps for the next allocations.
        GcCommitted = [int]([GC]::GetGCMemoryInfo().TotalCommittedBytes / 1MB)
        Threads = [int][regex]::Match($status, 'Threads:\s+(\d+)').Groups[1].Value
    }
}

function Format-RssParts($rss) { 'anon {0:0} MB, file {1:0} MB, GC committed {2:0} MB, {3} threads' -f $rss.Anon, $rss.File, $rss.GcCommitted, $rss.Threads }

# -Files files of 1 KiB, 1,000 a folder (d0000/f0000.bin ...), each different (its name at its start).
function New-ScaleFiles([string] $Path, [int] $Count) {
    $body = [byte[]]::new(1024)
    [Random]::new(7).NextBytes($body)
    for ($d = 0; $d * 1000 -lt $Count; $d++) {
        $dir = [IO.Directory]::CreateDirectory((Join-Path $Path ('d{0:0000}' -f $d))).FullName
        for ($i = 0; $i -lt 1000 -and $d * 1000 + $i -lt $Count; $i++) {
            $head = [Text.Encoding]::ASCII.GetBytes(('{0:0000}/{1:0000} ' -f $d, $i))
            [Array]::Copy($head, $body, $head.Length)
            [IO.File]::WriteAllBytes((Join-Path $dir ('f{0:0000}.bin' -f $i)), $body)
        }
    }
}

function Measure-Floor([string] $Prefix, [string] $SplitFile) {
    $floorArgs = @((Join-Path $PSScriptRoot 's3-floor.js'), 'list', '--endpoint', $stack.S3Uri.AbsoluteUri.TrimEnd('/'), '--bucket', $stack.Bucket, '--prefix', $Prefix)
    if ($SplitFile) { $floorArgs += @('--split-after-file', $SplitFile) }
    $line = & node @floorArgs | Where-Object { $_ -like 's3-floor *' }
    $line.Substring('s3-floor '.Length) | ConvertFrom-Json
}

$uptime = { (Get-Content /proc/loadavg).Split(' ')[0..2] -join ' ' }
$work = Join-Path ([IO.Path]::GetTempPath()) ("chitty-memory-bench-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
$keepFolder = [bool]$Folder
if (-not $Folder) { $Folder = Join-Path $work 'folder' }
$null = New-Item -ItemType Directory $work, $Folder -Force
$stack = Start-ChittyStack -S3Only -LeanS3:($Store -eq 'Lean')
$savedConfig = $env:CHITTY_CONFIG_DIR
$rows = [Collections.Generic.List[string]]::new()
try {
    $have = @(Get-ChildItem -LiteralPath $Folder -Directory).Count * 1000
    if ($have -ne [Math]::Ceiling($Files / 1000) * 1000) {
        $watch = [Diagnostics.Stopwatch]::StartNew()
        New-ScaleFiles $Folder $Files
        '{0:N0} files written in {1:0.0} s' -f $Files, $watch.Elapsed.TotalSeconds
    }

    "load before: $(& $uptime); store: $Store ($($stack.S3Uri))"
    $env:CHITTY_CONFIG_DIR = Join-Path $work 'config'
    Connect-Chitty -Endpoint http://127.0.0.1:9/ -ApiKey (ConvertTo-SecureString 'bench' -AsPlainText -Force) -ChittyId bench `
        -SessionId bench -R2Endpoint $stack.S3Uri -Bucket $stack.Bucket -R2Credential $stack.S3Credential | Out-Null
    $rss = Get-RssMB
    '{0,-11} RSS {1,4:0} MB ({2})' -f 'before', $rss.Now, (Format-RssParts $rss)
    $calls = @('first sync') + @(1..$NoOps | ForEach-Object { "no-op $_" })
    foreach ($call in $calls) {
        [IO.File]::WriteAllText("/proc/$PID/clear_refs", '5')
        $allocated = [GC]::GetTotalAllocatedBytes($false)
        $collections = 0..2 | ForEach-Object { [GC]::CollectionCount($_) }
        $summary = Sync-ChittyFolder -Path $Folder -Prefix 'memory/' -NoReport -Summary | Where-Object { $_ -is [ChittyConnect.Sync.ChittySyncSummary] }
        if ($summary.FilesUploaded + $summary.FilesSkipped -ne $Files) { throw "${call}: $($summary.FilesUploaded) uploaded and $($summary.FilesSkipped) skipped of $Files ($($summary.Errors) errors)." }
        $peak = (Get-RssMB).Peak
        Start-Sleep -Seconds 2
        $seconds = $summary.Elapsed.TotalSeconds
        $idle = Get-RssMB
        # What the call allocated, and the collections of each generation it caused (the session's own few included).
        '{0,-11} allocated {1:N0} MB, collections gen0/gen1/gen2 {2}' -f $call, (([GC]::GetTotalAllocatedBytes($false) - $allocated) / 1MB),
            ((0..2 | ForEach-Object { [GC]::CollectionCount($_) - $collections[$_] }) -join '/')
        '{0,-11} {1,7:N2} s  peak RSS {2,4:0} MB  idle after {3,4:0} MB ({4}; managed heap {5,4:0} MB)  load {6}' -f $call, $seconds, $peak, $idle.Now, (Format-RssParts $idle), ([GC]::GetTotalMemory($false) / 1MB), (& $uptime)
        $rows.Add(('| {0:N0} | {1}, in a session | {2:0.0} s | {3:0.000} ms | {4:0} MB | {5} |' -f $Files, $call, $seconds, ($seconds * 1000 / $Files), $peak, (& $uptime)))
    }

    if (-not $SkipRclone) {
        $env:RCLONE_CONFIG = '/dev/null'
        $env:RCLONE_CONFIG_SCALE_TYPE = 's3'
        $env:RCLONE_CONFIG_SCALE_PROVIDER = 'Other'
        $env:RCLONE_CONFIG_SCALE_ENDPOINT = $stack.S3Uri.AbsoluteUri.TrimEnd('/')
        $env:RCLONE_CONFIG_SCALE_ACCESS_KEY_ID = $stack.S3AccessKey
        $env:RCLONE_CONFIG_SCALE_SECRET_ACCESS_KEY = $stack.S3SecretKey
        $env:RCLONE_CONFIG_SCALE_FORCE_PATH_STYLE = 'true'
        $timeFile = Join-Path $work 'rclone.time'
        $savedCa = $env:AWS_CA_BUNDLE
        $env:AWS_CA_BUNDLE = $null
        & /usr/bin/time -f '%e %M' -o $timeFile /usr/bin/rclone sync $Folder "scale:$($stack.Bucket)/memory/" --checksum --transfers 8 --stats 0 2>&1 | Select-Object -Last 3
        $env:AWS_CA_BUNDLE = $savedCa
        if ($LASTEXITCODE -ne 0) { throw "rclone exited with $LASTEXITCODE" }
        $t = (Get-Content $timeFile | Select-Object -Last 1).Split(' ')
        '{0,-11} {1,7:N2} s  peak RSS {2,4:0} MB (whole process)  load {3}' -f 'rclone no-op', [double]$t[0], ([double]$t[1] / 1024), (& $uptime)
        $rows.Add(('| {0:N0} | rclone sync --checksum, no-op (whole process) | {1:0.0} s | {2:0.000} ms | {3:0} MB | {4} |' -f $Files, [double]$t[0], ([double]$t[0] * 1000 / $Files), ([double]$t[1] / 1024), (& $uptime)))
    }

    # The listing alone: one page after the other, and in the ranges the module takes for these keys.
    $keys = foreach ($d in Get-ChildItem -LiteralPath $Folder -Directory) { foreach ($f in [IO.Directory]::EnumerateFiles($d.FullName)) { 'memory/' + $d.Name + '/' + [IO.Path]::GetFileName($f) } }
    $splitFile = Join-Path $work 'splits.txt'
    [IO.File]::WriteAllLines($splitFile, [string[]][ChittyConnect.Storage.RangedListing]::SplitPoints([string[]]$keys, $keys.Count))
    foreach ($ranged in $false, $true) {
        $floor = Measure-Floor 'memory/' $(if ($ranged) { $splitFile })
        if ($floor.keys -ne $Files) { throw "The floor listed $($floor.keys) keys of $Files." }
        $what = if ($ranged) { "the listing alone, $($floor.ranges) ranges at once" } else { 'the listing alone, one page after the other' }
        '{0,-11} {1,7:N2} s  {2} pages  ({3})' -f 'floor', $floor.seconds, $floor.pages, $what
        $rows.Add(('| {0:N0} | floor: {1} ({2} pages) | {3:0.0} s | {4:0.000} ms | | {5} |' -f $Files, $what, $floor.pages, $floor.seconds, ($floor.seconds * 1000 / $Files), (& $uptime)))
    }
    ''
    "Rows for docs/scale.md (store: $Store):"
    $rows
}
finally {
    $env:CHITTY_CONFIG_DIR = $savedConfig
    $stack | Stop-ChittyStack
    $remove = if ($keepFolder) { Join-Path $work 'config' } else { $work }
    Remove-Item -LiteralPath $remove -Recurse -Force -ErrorAction SilentlyContinue
    if ($keepFolder) { Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue }
}
