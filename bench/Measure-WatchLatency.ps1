#Requires -Version 7.2
<#
.SYNOPSIS
Measures Sync-ChittyFolder -Watch: how long a local edit takes to be in the bucket and a remote edit to be
in the folder (with change events, and by polling), the CPU of an idle watch over many files, and its RSS
over many change cycles.

.DESCRIPTION
Starts a private stack (s3rver and the emulator, build/ChittyStack.psm1) and, in this session, watches in
thread jobs:
- local: a two-way watch polling every hour; each of -Rounds edits is timed from the write until s3rver
  holds the new content (read from s3rver's own files, so the check costs no request);
- remote, events: the same watch; "device A" syncs an edit up with a one-off Sync-ChittyFolder, whose sync
  report makes the service send context.files.synced; timed from the end of A's sync until the folder has it;
- remote, polling: a watch polling every -PollInterval seconds; the edit is written into s3rver by rclone
  (no event); timed from rclone's return until the folder has it;
- idle: a watch of -IdleFiles files polling every 30 s; the process's CPU time over -IdleSeconds seconds
  after its first run, against the same wait with no watch; then -Rounds local edits in that folder, timed
  as the local ones above;
- memory: -Cycles edits, one run each; RSS after cycle 10 and after the last.
Prints the figures; bench/analysis.md has them. Linux only (reads /proc). Build the module first.

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-WatchLatency.ps1 -Rounds 20
#>
[CmdletBinding()]
param(
    [ValidateRange(1, 200)] [int] $Rounds = 20,
    [ValidateRange(1, 60)] [int] $PollInterval = 5,
    [ValidateRange(100, 100000)] [int] $IdleFiles = 10000,
    [ValidateRange(10, 600)] [int] $IdleSeconds = 60,
    [ValidateRange(20, 2000)] [int] $Cycles = 100
)
$ErrorActionPreference = 'Stop'
if (-not $IsLinux) { throw 'This measurement reads /proc: it runs on Linux only.' }
$repo = Split-Path $PSScriptRoot -Parent
Import-Module (Join-Path $repo 'build/ChittyStack.psm1') -Force
Import-Module (Join-Path $repo 'ChittyConnect.psd1') -Force
$manifest = Join-Path $repo 'ChittyConnect.psd1'

$stack = Start-ChittyStack
$work = Join-Path ([IO.Path]::GetTempPath()) ('chitty-bench-watch-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
$env:CHITTY_CONFIG_DIR = Join-Path $work 'config'
$jobs = @()
try {
    $connection = Connect-Chitty -Endpoint $stack.EmulatorUri -ApiKey $stack.SecureApiKey -ChittyId $stack.ChittyId -SessionId $stack.SessionId `
        -R2Endpoint $stack.S3Uri -Bucket $stack.Bucket -R2Credential $stack.S3Credential
    $s3Root = Join-Path $stack.TempRoot "s3/$($stack.Bucket)"
    function Get-StoredText([string] $Key) {
        $path = Join-Path $s3Root "$Key._S3rver_object"
        try { [IO.File]::ReadAllText($path) } catch { $null }
    }
    function Start-Watch([string] $Folder, [string] $Prefix, [int] $Poll) {
        New-Item -ItemType Directory -Path $Folder -Force | Out-Null
        Start-ThreadJob -ScriptBlock {
            param($Manifest, $Connection, $Folder, $Prefix, $Poll)
            Import-Module $Manifest
            Sync-ChittyFolder $Folder -Prefix $Prefix -Direction Both -Watch -PollInterval $Poll -Connection $Connection | Out-Null
        } -ArgumentList $manifest, $connection, $Folder, $Prefix, $Poll
    }
    function Wait-For([scriptblock] $Condition, [double] $Seconds = 60) {
        $t = [Diagnostics.Stopwatch]::StartNew()
        while (-not (& $Condition)) {
            if ($t.Elapsed.TotalSeconds -gt $Seconds) { throw "Not seen within $Seconds s: $Condition $($jobs | Receive-Job -ErrorAction Continue 2>&1 | Out-String)" }
            Start-Sleep -Milliseconds 20
        }
        $t.Elapsed.TotalSeconds
    }
    function Show([string] $Name, [double[]] $Seconds) {
        $sorted = $Seconds | Sort-Object
        $median = if ($sorted.Count % 2) { $sorted[[int][math]::Floor($sorted.Count / 2)] } else { ($sorted[$sorted.Count / 2 - 1] + $sorted[$sorted.Count / 2]) / 2 }
        '{0,-34} median {1,6:N2} s   worst {2,6:N2} s   ({3} rounds)' -f $Name, $median, $sorted[-1], $sorted.Count
    }
    function Get-RssMB { [double]([regex]::Match([IO.File]::ReadAllText("/proc/$PID/status"), 'VmRSS:\s+(\d+)').Groups[1].Value) / 1024 }

    # Local edit -> bucket, and remote edit (by another device's sync, with its event) -> folder.
    $prefix = "files/$($stack.SessionId)/"
    $folder = Join-Path $work 'watched'
    $jobs += Start-Watch $folder $prefix 3600
    $null = Wait-For { Test-Path (Join-Path $env:CHITTY_CONFIG_DIR 'sync-state') }
    Start-Sleep -Seconds 2
    $local = foreach ($i in 1..$Rounds) {
        $text = "local $i $(Get-Random)"
        $t = [Diagnostics.Stopwatch]::StartNew()
        [IO.File]::WriteAllText((Join-Path $folder 'edit.txt'), $text)
        $null = Wait-For { (Get-StoredText "${prefix}edit.txt") -eq $text }
        $t.Elapsed.TotalSeconds
        Start-Sleep -Milliseconds 500
    }
    $deviceA = Join-Path $work 'device-a'
    New-Item -ItemType Directory -Path $deviceA | Out-Null
    $events = foreach ($i in 1..$Rounds) {
        $text = "from A $i $(Get-Random)"
        [IO.File]::WriteAllText((Join-Path $deviceA 'from-a.txt'), $text)
        # Device A is another machine: its sync state (and its claim on the prefix) is its own.
        $null = Sync-ChittyFolder $deviceA -Prefix $prefix -NoDelete -StateDirectory (Join-Path $work 'device-a-state')
        $t = [Diagnostics.Stopwatch]::StartNew()
        $null = Wait-For { $p = Join-Path $folder 'from-a.txt'; (Test-Path $p) -and [IO.File]::ReadAllText($p) -eq $text }
        $t.Elapsed.TotalSeconds
        Start-Sleep -Milliseconds 500
    }

    # Remote edit -> folder by polling: rclone writes, no event.
    $pollFolder = Join-Path $work 'polled'
    $jobs += Start-Watch $pollFolder 'polled/' $PollInterval
    Start-Sleep -Seconds 3
    $rclone = @{
        RCLONE_CONFIG_B_TYPE = 's3'; RCLONE_CONFIG_B_PROVIDER = 'Other'; RCLONE_CONFIG_B_ENDPOINT = $stack.S3Uri.AbsoluteUri.TrimEnd('/')
        RCLONE_CONFIG_B_ACCESS_KEY_ID = $stack.S3AccessKey; RCLONE_CONFIG_B_SECRET_ACCESS_KEY = $stack.S3SecretKey; RCLONE_CONFIG_B_FORCE_PATH_STYLE = 'true'
    }
    foreach ($name in $rclone.Keys) { [Environment]::SetEnvironmentVariable($name, $rclone[$name]) }
    $env:AWS_CA_BUNDLE = $null
    $polled = foreach ($i in 1..$Rounds) {
        $text = "remote $i $(Get-Random)"
        $text | rclone -q rcat "b:$($stack.Bucket)/polled/r.txt"
        $t = [Diagnostics.Stopwatch]::StartNew()
        $null = Wait-For { $p = Join-Path $pollFolder 'r.txt'; (Test-Path $p) -and [IO.File]::ReadAllText($p).Trim() -eq $text } ($PollInterval + 30)
        $t.Elapsed.TotalSeconds
        # A random phase against the poll, as a real edit has.
        Start-Sleep -Milliseconds (Get-Random -Minimum 100 -Maximum ($PollInterval * 1000))
    }
    $jobs | Stop-Job
    $jobs | Remove-Job -Force
    $jobs = @()

    "Sync-ChittyFolder -Watch latency (s3rver and the emulator on this machine)"
    Show 'local edit -> bucket' $local
    Show 'remote edit -> folder, events' $events
    Show "remote edit -> folder, poll ${PollInterval} s" $polled

    # Idle CPU over many files: the watch's own first run, then -IdleSeconds of nothing.
    $idleFolder = Join-Path $work 'idle'
    foreach ($d in 0..([math]::Ceiling($IdleFiles / 1000) - 1)) {
        $dir = Join-Path $idleFolder "d$d"
        New-Item -ItemType Directory -Path $dir -Force | Out-Null
        foreach ($f in 0..([math]::Min(999, $IdleFiles - $d * 1000 - 1))) { [IO.File]::WriteAllText((Join-Path $dir "f$f.txt"), "$d/$f") }
    }
    $me = [Diagnostics.Process]::GetCurrentProcess()
    $me.Refresh(); $before = $me.TotalProcessorTime
    Start-Sleep -Seconds $IdleSeconds
    $me.Refresh(); $baseline = ($me.TotalProcessorTime - $before).TotalSeconds
    $jobs += Start-Watch $idleFolder 'idle/' 30
    $null = Wait-For { @(Get-ChildItem (Join-Path $stack.TempRoot "s3/$($stack.Bucket)/idle") -Recurse -File -Filter '*._S3rver_object' -ErrorAction SilentlyContinue).Count -ge $IdleFiles } 900
    Start-Sleep -Seconds 5
    $me.Refresh(); $before = $me.TotalProcessorTime
    Start-Sleep -Seconds $IdleSeconds
    $me.Refresh(); $idle = ($me.TotalProcessorTime - $before).TotalSeconds
    '{0,-34} {1:N2} s CPU in {2} s ({3:N2} %), without the watch {4:N2} s' -f "idle watch, $IdleFiles files, poll 30 s", $idle, $IdleSeconds, (100 * $idle / $IdleSeconds), $baseline
    # A local edit in the large folder: its run looks at that path only (a HEAD, no scan, no listing).
    $large = foreach ($i in 1..$Rounds) {
        $text = "large $i $(Get-Random)"
        $t = [Diagnostics.Stopwatch]::StartNew()
        [IO.File]::WriteAllText((Join-Path $idleFolder 'd0/f0.txt'), $text)
        $null = Wait-For { (Get-StoredText 'idle/d0/f0.txt') -eq $text }
        $t.Elapsed.TotalSeconds
        Start-Sleep -Milliseconds 500
    }
    Show "local edit -> bucket, $IdleFiles files" $large
    $jobs | Stop-Job; $jobs | Remove-Job -Force; $jobs = @()

    # RSS over many change cycles.
    $memFolder = Join-Path $work 'memory'
    # The edited file alone: an edit that lands mid-upload fails that upload, and the next run sends it again.
    New-Item -ItemType Directory -Path $memFolder | Out-Null
    $jobs += Start-Watch $memFolder 'memory/' 3600
    Start-Sleep -Seconds 3
    $rss = @{}
    foreach ($i in 1..$Cycles) {
        $text = "cycle $i"
        [IO.File]::WriteAllText((Join-Path $memFolder 'm.txt'), $text)
        $null = Wait-For { (Get-StoredText 'memory/m.txt') -eq $text }
        if ($i -eq 10 -or $i -eq $Cycles) { [GC]::Collect(); Start-Sleep -Milliseconds 500; $rss[$i] = Get-RssMB }
    }
    '{0,-34} RSS after cycle 10 {1:N0} MB, after cycle {2} {3:N0} MB' -f "memory, $Cycles change cycles", $rss[10], $Cycles, $rss[$Cycles]
}
finally {
    $jobs | Stop-Job -ErrorAction SilentlyContinue
    $jobs | Remove-Job -Force -ErrorAction SilentlyContinue
    Disconnect-Chitty -ErrorAction SilentlyContinue
    Stop-ChittyStack -Stack $stack
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
