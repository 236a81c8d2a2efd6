#Requires -Version 7.2
<#
.SYNOPSIS
Benchmarks Sync-ChittyFolder against rclone and the AWS CLI, side by side, the way users meet each: in a
session, in a scheduled task, over a wide-area link, at 100,000 files, and over HTTPS.

.DESCRIPTION
Every contender syncs the same generated data set (deterministic: fixed seeds) into its own prefix of one
s3rver bucket (build/ChittyStack.psm1), in rotating order, several rounds; the tables give the median and
the range of the rounds, peak RSS, s3rver's CPU per run and, through the WAN proxy, requests per file.

Contenders
  session  one long-lived PowerShell process (bench/SyncSession.ps1) with the module imported and
           connected, warmed up by one Sync-ChittyFolder call on another prefix; each call is timed by its
           caller, inside that session (what an interactive user or an admin script waits for).
  process  a whole `pwsh -NoProfile -c "Import-Module; Connect-Chitty; Sync-ChittyFolder ..."` (what a
           scheduled task waits for); it reports Import-Module, Connect-Chitty and the call apart.
  rclone   rclone sync <dir> bench:<bucket>/<p> --checksum --transfers 8 (a whole process)
  aws      /usr/bin/aws s3 sync <dir> s3://<bucket>/<p> --delete (a whole process)
The module runs with -Transfers 8 -NoReport -Summary (-NoReport: the report goes to the ChittyConnect
service, which the peers do not talk to, so no emulator runs).

Groups (-Group)
  Loopback  s3rver on 127.0.0.1: S1 first sync of 2,000 x 4 KiB, S2 no-op re-sync of it, S3 re-sync after
            1% changed, S4 no-op of 400 x 10 MiB, S5 first sync of one 256 MiB file; session, process,
            rclone and aws; each scenario's floor (bench/s3-floor.js: only the requests it must make); and
            the module's own overhead above `pwsh -NoProfile -c exit` for the no-op of 2,000 files.
  Wan       every client through bench/wan-proxy.js (30 ms each way, 100 Mbit/s shared, one round trip per
            new connection): W1-W4 as S1, S2, S3 and S5; session, rclone and aws; requests per file.
  Https     every client over TLS to s3rver (the local stack's HTTPS mode, when it has one): H1, H2, H5.
  Defaults  issue 21's defaults: D*1 first sync of 2,000 x 4 KiB and D*2 its no-op, on loopback (DL), over
            the WAN proxy (DW) and over it at 150 ms each way (DF), and DW4 one 256 MiB file over the WAN;
            the module without -Transfers ('defaults'), with -Transfers 8 (session) and rclone.
  Issue21   every goal of issue 21 in one run, the defaults as the headline of results.md: the Defaults group,
            D5 (one 256 MiB file on loopback: defaults, -Transfers 8, rclone; the session's first multipart
            call in its first round) and the measurement scripts of items 2-5 (Measure-FirstCall,
            Measure-CryptUpload -Download, Measure-PutCost), their lines shown as printed. About 17 minutes
            on a quiet 2-core machine (the Defaults group alone about 11).
  Scale     100,000 files of 1 KiB (and its first 20,000): first sync and no-op; session, process and
            rclone (the AWS CLI's first sync of 100,000 files alone would take most of the budget; its
            figures at 2,000 files are in the loopback group).

Budget: on a quiet 2-core machine the Loopback, Wan and Https groups take about 17 minutes (measured
2026-11-27, with the AWSSDK.S3 store); the Scale group adds about 12-15 (the first syncs of 100,000 files by
the module and by rclone), so the whole run is about 30 minutes. The rounds below are chosen for that
(first syncs of large data get fewer rounds). -Quick runs tiny versions of
everything, one or two rounds, in about three minutes (a smoke run, not a measurement).

Writes bench/results.json (the raw samples) and bench/results.md, and puts the summary table into README.md
between the bench:start and bench:end markers; a -Quick run writes bench/work/results-quick.md only.
-ReportOnly renders results.md and the README table again from bench/results.json (after editing
bench/analysis.md, which results.md includes). Everything generated lives in bench/work, removed at the end.

.PARAMETER Configuration
The build configuration whose module (./bin, imported through ./ChittyConnect.psd1) is measured; it is the
one build.ps1 -Task Bench has just built.

.PARAMETER Quick
A smoke run: tiny versions of every scenario, one or two rounds each.

.PARAMETER Group
The groups to run (default: all, in the order Loopback, Wan, Https, Scale).

.PARAMETER ReportOnly
Render bench/results.md and the README table from bench/results.json; run nothing.

.EXAMPLE
dotnet pwsh -NoProfile -File build.ps1 -Task Bench -Quick

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Run-Bench.ps1 -Group Wan -Quick
#>
[CmdletBinding()]
param(
    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    [switch] $Quick,

    [ValidateSet('Loopback', 'Wan', 'Https', 'Scale', 'Defaults', 'Issue21')]
    [string[]] $Group = @('Loopback', 'Wan', 'Https', 'Scale', 'Defaults'),

    [switch] $ReportOnly
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$RepoRoot = Split-Path -Parent $PSScriptRoot
$WorkRoot = Join-Path $PSScriptRoot 'work'
$Manifest = Join-Path $RepoRoot 'ChittyConnect.psd1'
$SessionScript = Join-Path $PSScriptRoot 'SyncSession.ps1'
$ProxyScript = Join-Path $PSScriptRoot 'wan-proxy.js'
$FloorScript = Join-Path $PSScriptRoot 's3-floor.js'
$JsonPath = Join-Path $PSScriptRoot 'results.json'
$Aws = '/usr/bin/aws'
$Rclone = '/usr/bin/rclone'
$Time = '/usr/bin/time'
$Transfers = 8
$MiB = 1024 * 1024
$Invariant = [Globalization.CultureInfo]::InvariantCulture
$WanLink = @{ DelayMs = 30; Mbit = 100; HandshakeRtt = 1 }

# Sizes and rounds (see the budget in the help).
$Plan = if ($Quick) {
    @{
        Small = @{ Files = 60; Size = 4KB }; SmallRounds = 1; NoopRounds = 2; ChangedRounds = 1
        Large = @{ Files = 4; Size = 1MB }; LargeRounds = 1
        One = @{ Size = 8MB }; OneRounds = 1
        WanFirstRounds = 1; WanNoopRounds = 1; WanChangedRounds = 1; WanOneRounds = 1
        HttpsFirstRounds = 1; HttpsNoopRounds = 1; HttpsOneRounds = 1
        DefaultsRounds = 1; FarRounds = 1
        Measurements = [ordered]@{
            'First call (item 3)' = @{ Script = 'Measure-FirstCall.ps1'; Arguments = @('-Files', '60', '-LargeMiB', '8') }
            'Encrypted against plain (item 4)' = @{ Script = 'Measure-CryptUpload.ps1'; Arguments = @('-SizeMiB', '8', '-Rounds', '1', '-Download') }
            'CPU per PUT (item 5)' = @{ Script = 'Measure-PutCost.ps1'; Arguments = @('-Warmup', '20', '-Puts', '100', '-Rounds', '1') }
        }
        Scale = @{ Files = 3000; SubsetFiles = 600; Size = 1KB }; ScaleNoopRounds = 1
        StartupRounds = 1
        WarmupFiles = 10
    }
}
else {
    @{
        Small = @{ Files = 2000; Size = 4KB }; SmallRounds = 3; NoopRounds = 3; ChangedRounds = 3
        Large = @{ Files = 400; Size = 10MB }; LargeRounds = 3
        One = @{ Size = 256MB }; OneRounds = 3
        WanFirstRounds = 2; WanNoopRounds = 3; WanChangedRounds = 3; WanOneRounds = 2
        HttpsFirstRounds = 2; HttpsNoopRounds = 3; HttpsOneRounds = 2
        DefaultsRounds = 3; FarRounds = 1
        Measurements = [ordered]@{
            'First call (item 3)' = @{ Script = 'Measure-FirstCall.ps1'; Arguments = @('-Files', '2000', '-LargeMiB', '256') }
            'Encrypted against plain (item 4)' = @{ Script = 'Measure-CryptUpload.ps1'; Arguments = @('-SizeMiB', '256', '-Rounds', '3', '-Download') }
            'CPU per PUT (item 5)' = @{ Script = 'Measure-PutCost.ps1'; Arguments = @('-Puts', '2000', '-Rounds', '3') }
        }
        Scale = @{ Files = 100000; SubsetFiles = 20000; Size = 1KB }; ScaleNoopRounds = 2
        StartupRounds = 3
        WarmupFiles = 50
    }
}

. (Join-Path $PSScriptRoot 'BenchStack.ps1')
. (Join-Path $PSScriptRoot 'BenchData.ps1')
. (Join-Path $PSScriptRoot 'BenchFloors.ps1')
. (Join-Path $PSScriptRoot 'BenchScenarios.ps1')
. (Join-Path $PSScriptRoot 'BenchReport.ps1')

# --- Main -----------------------------------------------------------------------------------------------

if ($ReportOnly) {
    Write-Report
    return
}

Install-Peers
if (-not (Test-Path -LiteralPath (Join-Path $RepoRoot 'bin/ChittyConnect.PowerShell.dll'))) {
    throw "The module is not built: run 'dotnet pwsh -NoProfile -File build.ps1 -Task Build -Configuration $Configuration'."
}
if (-not (Test-Path -LiteralPath (Join-Path $RepoRoot 'node_modules/s3rver'))) {
    throw "s3rver is not installed: run 'npm ci' in $RepoRoot."
}
if (Test-Path -LiteralPath $WorkRoot) { Remove-Item -LiteralPath $WorkRoot -Recurse -Force }
$null = New-Item -ItemType Directory -Path $WorkRoot

# Room for the data sets and s3rver's copies of them (one data set at a time; S4 needs the most: 4 GiB of
# files and three 4 GiB copies).
$needGiB = if ($Quick) { 1 } else { 18 }
$freeGiB = [IO.DriveInfo]::new($WorkRoot).AvailableFreeSpace / 1GB
$tmpFreeGiB = [IO.DriveInfo]::new([IO.Path]::GetTempPath()).AvailableFreeSpace / 1GB
if ([Math]::Min($freeGiB, $tmpFreeGiB) -lt $needGiB) {
    throw ('Not enough disk space: {0:0} GiB free in {1} and {2:0} GiB in {3}; the benchmark needs {4} GiB.' -f $freeGiB, $WorkRoot, $tmpFreeGiB, [IO.Path]::GetTempPath(), $needGiB)
}

Import-Module (Join-Path $RepoRoot 'build/ChittyStack.psm1') -Force
$total = [Diagnostics.Stopwatch]::StartNew()
$RunInfo['Groups'] = $Group
$RunInfo['LoadBefore'] = Get-LoadAverage
$RunInfo['Machine'] = Get-MachineDescription
Write-Step "Benchmark ($(if ($Quick) { 'quick' } else { 'full' })): $($Group -join ', '); load average $($RunInfo['LoadBefore'])"

$RunInfo['Failures'] = [Collections.Generic.List[string]]::new()
$groupRunners = [ordered]@{
    Loopback = { Write-Step 'Start-up of each contender'; $RunInfo['Startup'] = Measure-Startup; Invoke-LoopbackGroup }
    Wan = { Invoke-WanGroup }
    Https = { Invoke-HttpsGroup }
    Scale = { Invoke-ScaleGroup }
    Defaults = { Invoke-DefaultsGroup }
    Issue21 = { Invoke-Issue21Group }
}
try {
    foreach ($name in $groupRunners.Keys) {
        if ($name -notin $Group) { continue }
        try {
            & $groupRunners[$name]
        }
        catch {
            # One group's failure leaves the others to run; the report names it.
            $RunInfo['Failures'].Add("${name}: $_")
            Write-Warning "The $name group failed: $_`n$($_.ScriptStackTrace)"
            $data = Join-Path $WorkRoot 'data'
            if (Test-Path -LiteralPath $data) { Remove-Item -LiteralPath $data -Recurse -Force }
        }
    }
}
finally {
    $RunInfo['LoadAfter'] = Get-LoadAverage
    $RunInfo['Minutes'] = [Math]::Round($total.Elapsed.TotalMinutes, 1)
    Save-Results
    # The data sets are large: never leave them behind, also after a failure.
    foreach ($dir in 'data', 'state') {
        $path = Join-Path $WorkRoot $dir
        if (Test-Path -LiteralPath $path) { Remove-Item -LiteralPath $path -Recurse -Force }
    }
    Get-ChildItem -LiteralPath $WorkRoot -Directory -Filter 'warmup-*' | Remove-Item -Recurse -Force
}
Write-Report
Write-Step "Done in $([int]$total.Elapsed.TotalMinutes) min $($total.Elapsed.Seconds) s"
