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

    [ValidateSet('Loopback', 'Wan', 'Https', 'Scale')]
    [string[]] $Group = @('Loopback', 'Wan', 'Https', 'Scale'),

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
        Scale = @{ Files = 100000; SubsetFiles = 20000; Size = 1KB }; ScaleNoopRounds = 2
        StartupRounds = 3
        WarmupFiles = 50
    }
}

function Write-Step([string] $Message) {
    Write-Host "==> $Message"
}

function Get-Median([double[]] $Values) {
    $sorted = @($Values | Sort-Object)
    if ($sorted.Count -eq 0) { return [double]::NaN }
    $mid = [int][Math]::Floor($sorted.Count / 2)
    if ($sorted.Count % 2) { return $sorted[$mid] }
    ($sorted[$mid - 1] + $sorted[$mid]) / 2
}

function Install-Peers {
    # The peers come from Debian, as the guide's users get them: rclone 1.60 and awscli.
    $missing = @()
    if (-not (Test-Path -LiteralPath $Rclone)) { $missing += 'rclone' }
    if (-not (Test-Path -LiteralPath $Aws)) { $missing += 'awscli' }
    if (-not (Test-Path -LiteralPath $Time)) { $missing += 'time' }
    if ($missing.Count -eq 0) { return }
    Write-Step "Installing $($missing -join ', ') (apt-get)"
    & apt-get update | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "apt-get update failed with exit code $LASTEXITCODE." }
    & apt-get install -y @missing | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "apt-get install -y $($missing -join ' ') failed with exit code $LASTEXITCODE." }
}

function Get-PwshCommand {
    # The pinned PowerShell runs as `dotnet pwsh.dll`; an installed pwsh runs as itself.
    $exe = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') {
        return @($exe, (Join-Path $PSHOME 'pwsh.dll'))
    }
    @($exe)
}

# --- Data sets (deterministic: the same seed gives the same bytes on every machine) -------------------

function New-SmallFiles([string] $Path, [int] $Count, [int] $Size, [int] $Seed) {
    $random = [Random]::new($Seed)
    $buffer = [byte[]]::new($Size)
    $perFolder = 100
    for ($i = 0; $i -lt $Count; $i++) {
        $folder = [IO.Path]::Combine($Path, ('d{0:0000}' -f [int][Math]::Floor($i / $perFolder)))
        if ($i % $perFolder -eq 0) { $null = [IO.Directory]::CreateDirectory($folder) }
        $random.NextBytes($buffer)
        [IO.File]::WriteAllBytes([IO.Path]::Combine($folder, ('f{0:000000}.bin' -f $i)), $buffer)
    }
}

function New-LargeFiles([string] $Path, [int] $Count, [long] $Size, [int] $Seed) {
    # One random block, stamped with the file and MiB index at each MiB, so every file (and every part)
    # has its own content without generating gigabytes of random numbers.
    $null = [IO.Directory]::CreateDirectory($Path)
    $block = [byte[]]::new([Math]::Min($Size, 16MB))
    [Random]::new($Seed).NextBytes($block)
    for ($i = 0; $i -lt $Count; $i++) {
        $file = [IO.File]::Create((Join-Path $Path ('big{0:0000}.bin' -f $i)))
        try {
            $written = 0L
            $mib = 0
            while ($written -lt $Size) {
                $n = [int][Math]::Min($block.Length, $Size - $written)
                for ($at = 0; $at -lt $n; $at += $MiB) {
                    [BitConverter]::GetBytes([long]$i).CopyTo($block, $at)
                    [BitConverter]::GetBytes([long]$mib++).CopyTo($block, $at + 8)
                }
                $file.Write($block, 0, $n)
                $written += $n
            }
        }
        finally {
            $file.Dispose()
        }
    }
}

function Update-SomeFiles([string] $Path, [double] $Fraction, [int] $Seed) {
    # Rewrites a fixed share of the files with new content of the same size (only the content changes).
    $files = @(Get-ChildItem -LiteralPath $Path -Recurse -File | Sort-Object FullName)
    $count = [Math]::Max(1, [int][Math]::Round($files.Count * $Fraction))
    $random = [Random]::new($Seed)
    $step = [Math]::Max(1, [int][Math]::Floor($files.Count / $count))
    for ($k = 0; $k -lt $count; $k++) {
        $file = $files[($k * $step + $Seed) % $files.Count]
        $buffer = [byte[]]::new($file.Length)
        $random.NextBytes($buffer)
        [IO.File]::WriteAllBytes($file.FullName, $buffer)
    }
    $count
}

# --- Processes: CPU, memory, s3rver --------------------------------------------------------------------

function Get-ProcessCpuSeconds([int] $ProcessId) {
    # utime + stime of a running process, from /proc (clock ticks of 1/100 s on Linux).
    $stat = [IO.File]::ReadAllText("/proc/$ProcessId/stat")
    $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
    ([long]$fields[11] + [long]$fields[12]) / 100.0
}

function Get-PeakRssMB([int] $ProcessId) {
    $m = [regex]::Match([IO.File]::ReadAllText("/proc/$ProcessId/status"), 'VmHWM:\s+(\d+) kB')
    [long]$m.Groups[1].Value / 1024
}

function Reset-PeakRss([int] $ProcessId) {
    # Writing 5 to clear_refs resets the process's peak RSS (VmHWM) to its current RSS.
    [IO.File]::WriteAllText("/proc/$ProcessId/clear_refs", '5')
}

function Get-S3rverPid($Stack) {
    # The stack runs s3rver under a watchdog (build/watchdog.js): its CPU is the watchdog's child's.
    $watchdog = $Stack.S3Process.Id
    $children = "/proc/$watchdog/task/$watchdog/children"
    if (Test-Path -LiteralPath $children) {
        foreach ($child in ([IO.File]::ReadAllText($children).Trim() -split '\s+' | Where-Object { $_ })) {
            $cmdline = [IO.File]::ReadAllText("/proc/$child/cmdline")
            if ($cmdline -like '*s3rver*') { return [int]$child }
        }
    }
    $watchdog
}

function Invoke-Timed {
    # Runs one command under /usr/bin/time -v; returns wall seconds, peak RSS, CPU and the output.
    param([string[]] $Command, [hashtable] $Environment = @{}, [int] $S3Pid = 0, [string] $Label)
    $timeFile = Join-Path $WorkRoot 'time-v.txt'
    $psi = [Diagnostics.ProcessStartInfo]::new($Time)
    foreach ($a in @('-v', '-o', $timeFile) + $Command) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    $psi.WorkingDirectory = $WorkRoot
    # rclone must run without AWS_CA_BUNDLE; the AWS CLI gets it only where a scenario sets it.
    $null = $psi.Environment.Remove('AWS_CA_BUNDLE')
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = $Environment[$k] }
    $s3Before = if ($S3Pid) { Get-ProcessCpuSeconds $S3Pid } else { 0 }
    $watch = [Diagnostics.Stopwatch]::StartNew()
    $process = [Diagnostics.Process]::Start($psi)
    $out = $process.StandardOutput.ReadToEndAsync()
    $err = $process.StandardError.ReadToEndAsync()
    $process.WaitForExit()
    $watch.Stop()
    $s3After = if ($S3Pid) { Get-ProcessCpuSeconds $S3Pid } else { 0 }
    $stdout = $out.GetAwaiter().GetResult()
    $stderr = $err.GetAwaiter().GetResult()
    $timeText = if (Test-Path -LiteralPath $timeFile) { Get-Content -LiteralPath $timeFile -Raw } else { '' }
    if ($process.ExitCode -ne 0) {
        throw "$Label failed (exit code $($process.ExitCode)): $($Command -join ' ')`n$stdout`n$stderr`n$timeText"
    }
    function Get-TimeField([string] $Name) {
        $m = [regex]::Match($timeText, [regex]::Escape($Name) + ':\s*([\d.]+)')
        if ($m.Success) { [double]::Parse($m.Groups[1].Value, $Invariant) } else { [double]::NaN }
    }
    [pscustomobject]@{
        Seconds = $watch.Elapsed.TotalSeconds
        PeakRssMB = (Get-TimeField 'Maximum resident set size (kbytes)') / 1024
        CpuSeconds = (Get-TimeField 'User time (seconds)') + (Get-TimeField 'System time (seconds)')
        S3CpuSeconds = $s3After - $s3Before
        StdOut = $stdout
    }
}

# --- The local stack, the WAN proxy and the module's session --------------------------------------------

function Test-HttpsStack {
    (Get-Command Start-ChittyStack).Parameters.ContainsKey('Https')
}

function Get-StackTrust($Stack) {
    # What the HTTPS stack's clients must trust: its CA (PEM; for the AWS CLI and the floor client), and
    # that CA followed by the system's roots (for SSL_CERT_FILE: .NET on Linux and rclone).
    $ca = $Stack.PSObject.Properties['CertificateAuthorityPath']
    $bundle = $Stack.PSObject.Properties['TrustBundlePath']
    if (-not $ca -or -not $ca.Value -or -not (Test-Path -LiteralPath $ca.Value)) {
        throw "The HTTPS stack names no CA file (properties: $(($Stack.PSObject.Properties.Name) -join ', '))."
    }
    [pscustomobject]@{ CaFile = [string]$ca.Value; TrustBundle = $(if ($bundle -and $bundle.Value) { [string]$bundle.Value } else { [string]$ca.Value }) }
}

function Start-WanProxy([uri] $Upstream, [string[]] $Names) {
    $psi = [Diagnostics.ProcessStartInfo]::new('node')
    $arguments = @($ProxyScript, '--upstream', "$($Upstream.Host):$($Upstream.Port)", '--delay-ms', "$($WanLink.DelayMs)",
        '--mbit', "$($WanLink.Mbit)", '--handshake-rtt', "$($WanLink.HandshakeRtt)", '--max-seconds', '2400',
        '--idle-seconds', '900', '--parent-pid', "$PID")
    foreach ($name in $Names) { $arguments += @('--listen', $name) }
    foreach ($a in $arguments) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.UseShellExecute = $false
    $process = [Diagnostics.Process]::Start($psi)
    $ports = @{}
    while ($true) {
        $line = $process.StandardOutput.ReadLine()
        if ($null -eq $line) { throw "The WAN proxy exited with code $($process.ExitCode) before it was ready." }
        if ($line -match '^wan-proxy listening (\S+) (\d+)$') { $ports[$Matches[1]] = [int]$Matches[2] }
        if ($line -eq 'wan-proxy ready') { break }
    }
    [pscustomobject]@{ Process = $process; Ports = $ports }
}

function Get-ProxyCounts($Proxy) {
    $Proxy.Process.StandardInput.WriteLine('counts')
    $Proxy.Process.StandardInput.Flush()
    while ($true) {
        $line = $Proxy.Process.StandardOutput.ReadLine()
        if ($null -eq $line) { throw 'The WAN proxy has exited.' }
        if ($line.StartsWith('wan-proxy counts ')) { return $line.Substring(17) | ConvertFrom-Json }
    }
}

function Stop-WanProxy($Proxy) {
    if ($null -eq $Proxy) { return }
    try {
        $Proxy.Process.StandardInput.Close()
        if (-not $Proxy.Process.WaitForExit(5000)) { $Proxy.Process.Kill() }
    }
    finally {
        $Proxy.Process.Dispose()
    }
}

function Start-SyncSession([hashtable] $Environment) {
    $psi = [Diagnostics.ProcessStartInfo]::new((Get-PwshCommand)[0])
    foreach ($a in @((Get-PwshCommand) | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $SessionScript, '-Manifest', $Manifest)) {
        $psi.ArgumentList.Add($a)
    }
    $psi.RedirectStandardInput = $true
    $psi.RedirectStandardOutput = $true
    $psi.UseShellExecute = $false
    $psi.WorkingDirectory = $WorkRoot
    $null = $psi.Environment.Remove('AWS_CA_BUNDLE')
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = $Environment[$k] }
    $process = [Diagnostics.Process]::Start($psi)
    while (($line = $process.StandardOutput.ReadLine()) -ne 'BENCH-READY') {
        if ($null -eq $line) { throw "The module's session exited with code $($process.ExitCode) before it was ready." }
    }
    [pscustomobject]@{ Process = $process }
}

function Send-SessionCommand($Session, [hashtable] $Command) {
    $Session.Process.StandardInput.WriteLine(($Command | ConvertTo-Json -Compress -Depth 4))
    $Session.Process.StandardInput.Flush()
    while ($true) {
        $line = $Session.Process.StandardOutput.ReadLine()
        if ($null -eq $line) { throw "The module's session has exited (code $($Session.Process.ExitCode))." }
        if ($line.StartsWith('BENCH-REPLY ')) {
            $reply = $line.Substring(12) | ConvertFrom-Json
            if ($reply.PSObject.Properties['Error']) { throw "The module's session: $($reply.Error)" }
            return $reply
        }
    }
}

function Stop-SyncSession($Session) {
    if ($null -eq $Session) { return }
    try {
        $Session.Process.StandardInput.WriteLine('{"Op":"exit"}')
        $Session.Process.StandardInput.Close()
        if (-not $Session.Process.WaitForExit(10000)) { $Session.Process.Kill() }
    }
    catch [System.IO.IOException] {
        # It has exited already.
    }
    finally {
        $Session.Process.Dispose()
    }
}

function Get-ModuleEnvironment([string] $Endpoint, $Ctx) {
    @{
        # Connect-Chitty reads these; the API endpoint is never called (-NoReport).
        CHITTY_ENDPOINT = 'http://127.0.0.1:9'
        CHITTY_API_KEY = 'bench-key'
        CHITTY_ID = 'CT-BENCH'
        CHITTY_SESSION_ID = 'bench'
        CHITTY_R2_ENDPOINT = $Endpoint
        CHITTY_R2_BUCKET = $Ctx.Stack.Bucket
        CHITTY_R2_ACCESS_KEY_ID = $Ctx.Stack.S3AccessKey
        CHITTY_R2_SECRET_ACCESS_KEY = $Ctx.Stack.S3SecretKey
        CHITTY_CONFIG_DIR = $Ctx.StateDir
    }
}

function Use-Stack {
    # Starts s3rver (over HTTPS with -Https), the WAN proxy in front of it (-Wan) and the module's session,
    # connected and warmed up by one call on another prefix; runs $Body with them; stops them all.
    param([string] $Name, [scriptblock] $Body, [switch] $Https, [switch] $Wan)
    $stackArgs = @{ S3Only = $true; Configuration = $Configuration }
    if ($Https) { $stackArgs['Https'] = $true }
    $stack = Start-ChittyStack @stackArgs
    $proxy = $null
    $session = $null
    try {
        $ctx = [pscustomobject]@{
            Name = $Name
            Stack = $stack
            S3Pid = Get-S3rverPid $stack
            CaFile = $null
            TrustBundle = $null
            StateDir = Join-Path $WorkRoot "state/$Name"
            Endpoints = @{}
            Proxy = $null
            Session = $null
        }
        if ($Https) {
            $trust = Get-StackTrust $stack
            $ctx.CaFile = $trust.CaFile
            $ctx.TrustBundle = $trust.TrustBundle
        }
        $direct = $stack.S3Uri.AbsoluteUri.TrimEnd('/')
        $names = @('session', 'process', 'rclone', 'aws', 'floor')
        if ($Wan) {
            $proxy = Start-WanProxy $stack.S3Uri $names
            $ctx.Proxy = $proxy
            foreach ($n in $names) { $ctx.Endpoints[$n] = "http://127.0.0.1:$($proxy.Ports[$n])" }
        }
        else {
            foreach ($n in $names) { $ctx.Endpoints[$n] = $direct }
        }
        Write-Host "    s3rver $direct (pid $($ctx.S3Pid))$(if ($Wan) { ', through the WAN proxy' })$(if ($Https) { ', HTTPS' })"
        $environment = @{ NO_COLOR = '1'; CHITTY_CONFIG_DIR = $ctx.StateDir }
        if ($ctx.TrustBundle) { $environment['SSL_CERT_FILE'] = $ctx.TrustBundle }
        $session = Start-SyncSession $environment
        $ctx.Session = $session
        $null = Send-SessionCommand $session @{ Op = 'connect'; Environment = (Get-ModuleEnvironment $ctx.Endpoints['session'] $ctx) }
        # One warm-up call on another prefix that meets both paths a timed call can take: half of its files
        # were synced before (by a module process with the session's endpoint and state folder: the state
        # knows them and the listing returns them), the other half are new.
        $warm = Join-Path $WorkRoot "warmup-$Name"
        $half = [int]($Plan.WarmupFiles / 2)
        if (Test-Path -LiteralPath $warm) { Remove-Item -LiteralPath $warm -Recurse -Force }
        New-SmallFiles (Join-Path $warm 'a') $half 4KB 98
        $warmCtx = $ctx.PSObject.Copy()
        $warmCtx.Endpoints = @{ process = $ctx.Endpoints['session'] }
        $warmCtx.Proxy = $null
        $null = Invoke-Contender 'process' $warm 'warmup/' $warmCtx
        New-SmallFiles (Join-Path $warm 'b') ($Plan.WarmupFiles - $half) 4KB 99
        $w = Send-SessionCommand $session @{ Op = 'sync'; Path = $warm; Prefix = 'warmup/'; Transfers = $Transfers }
        Write-Host ('    session warmed up: {0:0.00} s for {1} files on another prefix ({2} new, {3} unchanged)' -f $w.Seconds, $Plan.WarmupFiles, $w.FilesUploaded, $w.FilesSkipped)
        & $Body $ctx
    }
    finally {
        Stop-SyncSession $session
        Stop-WanProxy $proxy
        Stop-ChittyStack -Stack $stack
    }
}

# --- Running one contender ------------------------------------------------------------------------------

function ConvertFrom-RequestCounts([string] $Text) {
    $requests = [ordered]@{}
    foreach ($pair in ($Text -split ',' | Where-Object { $_ })) {
        $name, $value = $pair -split '=', 2
        $n = 0L
        if ([long]::TryParse($value, [ref] $n)) { $requests[$name] = $n }
    }
    $requests
}

function Get-ProcessCommand([string] $Contender, [string] $Source, [string] $Prefix, $Ctx) {
    $endpoint = $Ctx.Endpoints[$Contender]
    switch ($Contender) {
        'process' {
            # Stopwatches split the process: Import-Module, Connect-Chitty, the call. One line by
            # String.Format: ConvertTo-Json would add about 0.2 s of its own loading to every run.
            $script = "`$ErrorActionPreference = 'Stop'; `$w = [Diagnostics.Stopwatch]::StartNew(); Import-Module '$Manifest'; `$i = `$w.Elapsed.TotalSeconds; " +
                "`$null = Connect-Chitty; `$c = `$w.Elapsed.TotalSeconds; `$j = [System.Runtime.JitInfo]::GetCompilationTime(`$false).TotalMilliseconds; " +
                "`$s = @(Sync-ChittyFolder -Path '$Source' -Prefix '$Prefix' -Transfers $Transfers -NoReport -Summary)[-1]; `$e = `$w.Elapsed.TotalSeconds; " +
                "`$jt = [System.Runtime.JitInfo]::GetCompilationTime(`$false).TotalMilliseconds; " +
                "[string]::Format([Globalization.CultureInfo]::InvariantCulture, 'CHITTY-SUMMARY {0} {1} {2} {3} {4} {5} {6} {7} {8} {9} {10} {11} {12}', `$i, (`$c - `$i), (`$e - `$c), " +
                "`$s.FilesUploaded, `$s.FilesSkipped, `$s.FilesHashed, `$s.BytesHashed, `$s.Elapsed.TotalSeconds, `$s.Errors, " +
                "`$jt, [System.Runtime.JitInfo]::GetCompiledMethodCount(`$false), (`$jt - `$j), " +
                "((`$s.Requests.PSObject.Properties | ForEach-Object { `$_.Name + '=' + `$_.Value }) -join ','))"
            return @(Get-PwshCommand) + @('-NoProfile', '-NonInteractive', '-Command', $script)
        }
        'rclone' { return @($Rclone, 'sync', $Source, "bench:$($Ctx.Stack.Bucket)/$Prefix", '--checksum', '--transfers', "$Transfers") }
        'aws' {
            return @($Aws, 's3', 'sync', $Source, "s3://$($Ctx.Stack.Bucket)/$Prefix", '--delete', '--only-show-errors', '--endpoint-url', $endpoint)
        }
    }
}

function Get-ProcessEnvironment([string] $Contender, $Ctx) {
    $endpoint = $Ctx.Endpoints[$Contender]
    $environment = switch ($Contender) {
        'process' { Get-ModuleEnvironment $endpoint $Ctx }
        'rclone' {
            @{
                RCLONE_CONFIG = '/dev/null'
                RCLONE_CONFIG_BENCH_TYPE = 's3'
                RCLONE_CONFIG_BENCH_PROVIDER = 'Other'
                RCLONE_CONFIG_BENCH_ENDPOINT = $endpoint
                RCLONE_CONFIG_BENCH_ACCESS_KEY_ID = $Ctx.Stack.S3AccessKey
                RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY = $Ctx.Stack.S3SecretKey
                RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE = 'true'
            }
        }
        'aws' {
            @{
                AWS_ACCESS_KEY_ID = $Ctx.Stack.S3AccessKey
                AWS_SECRET_ACCESS_KEY = $Ctx.Stack.S3SecretKey
                AWS_DEFAULT_REGION = 'us-east-1'
                AWS_CONFIG_FILE = '/dev/null'
                AWS_SHARED_CREDENTIALS_FILE = '/dev/null'
                AWS_PAGER = ''
            }
        }
    }
    if ($Ctx.CaFile) {
        # The AWS CLI trusts AWS_CA_BUNDLE; .NET and Go read SSL_CERT_FILE.
        if ($Contender -eq 'aws') { $environment['AWS_CA_BUNDLE'] = $Ctx.CaFile } else { $environment['SSL_CERT_FILE'] = $Ctx.TrustBundle }
    }
    $environment
}

function Invoke-Contender([string] $Contender, [string] $Source, [string] $Prefix, $Ctx) {
    $before = if ($Ctx.Proxy) { Get-ProxyCounts $Ctx.Proxy } else { $null }
    if ($Contender -eq 'session') {
        $id = $Ctx.Session.Process.Id
        Reset-PeakRss $id
        $cpuBefore = Get-ProcessCpuSeconds $id
        $s3Before = Get-ProcessCpuSeconds $Ctx.S3Pid
        $reply = Send-SessionCommand $Ctx.Session @{ Op = 'sync'; Path = $Source; Prefix = $Prefix; Transfers = $Transfers }
        $sample = [ordered]@{
            Seconds = [double]$reply.Seconds
            PeakRssMB = Get-PeakRssMB $id
            CpuSeconds = (Get-ProcessCpuSeconds $id) - $cpuBefore
            S3CpuSeconds = (Get-ProcessCpuSeconds $Ctx.S3Pid) - $s3Before
            CallSeconds = [double]$reply.Seconds
            CallJitMs = [double]$reply.Runtime.JitMs
            Runtime = $reply.Runtime
            Summary = [ordered]@{
                FilesUploaded = $reply.FilesUploaded; FilesSkipped = $reply.FilesSkipped; FilesHashed = $reply.FilesHashed
                BytesHashed = $reply.BytesHashed; Errors = $reply.Errors; SyncSeconds = $reply.SyncSeconds
                Requests = $reply.Requests
            }
        }
    }
    else {
        $run = Invoke-Timed -Command (Get-ProcessCommand $Contender $Source $Prefix $Ctx) -Environment (Get-ProcessEnvironment $Contender $Ctx) -S3Pid $Ctx.S3Pid -Label $Contender
        $sample = [ordered]@{ Seconds = $run.Seconds; PeakRssMB = $run.PeakRssMB; CpuSeconds = $run.CpuSeconds; S3CpuSeconds = $run.S3CpuSeconds }
        if ($Contender -eq 'process') {
            $line = @($run.StdOut -split "`n" | Where-Object { $_.StartsWith('CHITTY-SUMMARY ') }) | Select-Object -Last 1
            if (-not $line) { throw "The module's process printed no summary:`n$($run.StdOut)" }
            $f = $line.Trim().Split(' ')
            $n = { param($i) [double]::Parse($f[$i], $Invariant) }
            $sample['ImportSeconds'] = & $n 1
            $sample['ConnectSeconds'] = & $n 2
            $sample['CallSeconds'] = & $n 3
            $sample['Summary'] = [ordered]@{
                FilesUploaded = [long]$f[4]; FilesSkipped = [long]$f[5]; FilesHashed = [long]$f[6]; BytesHashed = [long]$f[7]
                SyncSeconds = & $n 8; Errors = [long]$f[9]; Requests = ConvertFrom-RequestCounts $(if ($f.Count -gt 13) { $f[13] } else { '' })
            }
            $sample['ProcessJitMs'] = & $n 10
            $sample['ProcessJitMethods'] = & $n 11
            $sample['CallJitMs'] = & $n 12
        }
    }
    if ($Ctx.Proxy) {
        $after = Get-ProxyCounts $Ctx.Proxy
        $name = $Contender
        $methods = [ordered]@{}
        foreach ($p in $after.$name.methods.PSObject.Properties) {
            $was = $before.$name.methods.PSObject.Properties[$p.Name]
            $methods[$p.Name] = [long]$p.Value - $(if ($was) { [long]$was.Value } else { 0 })
        }
        $sample['WireRequests'] = [long]$after.$name.requests - [long]$before.$name.requests
        $sample['WireMethods'] = $methods
        $sample['WireConnections'] = [long]$after.$name.connections - [long]$before.$name.connections
        $sample['WireBytesUp'] = [long]$after.$name.bytesUp - [long]$before.$name.bytesUp
    }
    if ($sample.Contains('Summary') -and $sample.Summary.Errors -gt 0) {
        throw "The module reported $($sample.Summary.Errors) errors syncing $Source to $Prefix."
    }
    [pscustomobject]$sample
}

# --- Scenarios ------------------------------------------------------------------------------------------

$Results = [Collections.Generic.List[object]]::new()

function New-Scenario {
    param([string] $Id, [string] $Group, [string] $Title, [string[]] $Contenders, [int] $Files, [double] $GoalRatio = 0,
        [string] $GoalContender = 'session', [string] $GoalText = '')
    $scenario = [pscustomobject]@{
        Id = $Id; Group = $Group; Title = $Title; Files = $Files
        GoalRatio = $GoalRatio; GoalContender = $GoalContender; GoalText = $GoalText
        Contenders = $Contenders
        Samples = [ordered]@{}
        Setup = [ordered]@{}
        Floor = $null
        Notes = [Collections.Generic.List[string]]::new()
    }
    foreach ($c in $Contenders) { $scenario.Samples[$c] = [Collections.Generic.List[object]]::new() }
    $Results.Add($scenario)
    $scenario
}

function Get-Order([string[]] $Contenders, [int] $Round) {
    # Rotates the contenders so that none always runs first (cold caches) or last.
    $n = $Contenders.Count
    @(for ($i = 0; $i -lt $n; $i++) { $Contenders[($i + $Round) % $n] })
}

function Format-Sample([string] $Contender, $Sample) {
    $extra = ''
    if ($Sample.PSObject.Properties['Summary']) {
        $s = $Sample.Summary
        $extra += " [uploaded $($s.FilesUploaded), skipped $($s.FilesSkipped), hashed $($s.FilesHashed), requests $(Format-Requests $s.Requests)]"
    }
    if ($Sample.PSObject.Properties['ImportSeconds']) {
        $extra += ' [import {0:0.00} connect {1:0.00} call {2:0.00}]' -f $Sample.ImportSeconds, $Sample.ConnectSeconds, $Sample.CallSeconds
    }
    if ($Sample.PSObject.Properties['Runtime']) {
        $rt = $Sample.Runtime
        $extra += ' [jit {0:0} ms, alloc {1:0} MB, gc {2}/{3}/{4}]' -f $rt.JitMs, $rt.AllocatedMB, $rt.Gen0, $rt.Gen1, $rt.Gen2
    }
    if ($Sample.PSObject.Properties['ProcessJitMs']) { $extra += ' [jit {0:0} ms in the call, {1:0} ms in the process]' -f $Sample.CallJitMs, $Sample.ProcessJitMs }
    if ($Sample.PSObject.Properties['WireRequests']) { $extra += " [wire: $($Sample.WireRequests) requests, $($Sample.WireConnections) connections]" }
    '    {0,-7} {1,8:0.00} s  rss {2,6:0} MB  cpu {3,6:0.00} s  s3rver cpu {4,6:0.00} s{5}' -f $Contender, $Sample.Seconds, $Sample.PeakRssMB, $Sample.CpuSeconds, $Sample.S3CpuSeconds, $extra
}

function Format-Requests($Requests) {
    if ($null -eq $Requests) { return '?' }
    $pairs = if ($Requests -is [Collections.IDictionary]) { $Requests.GetEnumerator() | ForEach-Object { "$($_.Key) $($_.Value)" } }
    else { $Requests.PSObject.Properties | ForEach-Object { "$($_.Name) $($_.Value)" } }
    ($pairs | Where-Object { $_ -notmatch ' 0$' }) -join ', '
}

function Add-Sample($Scenario, [string] $Contender, $Sample) {
    $Scenario.Samples[$Contender].Add($Sample)
    Write-Host (Format-Sample $Contender $Sample)
}

function Invoke-Rounds {
    # Each round runs every contender once, in rotating order; $PrefixFor gives (contender, round) -> prefix.
    param($Scenario, $Ctx, [string] $Source, [int] $Rounds, [scriptblock] $PrefixFor, [scriptblock] $BeforeRound)
    for ($r = 0; $r -lt $Rounds; $r++) {
        if ($BeforeRound) { & $BeforeRound $r }
        foreach ($c in Get-Order $Scenario.Contenders $r) {
            Add-Sample $Scenario $c (Invoke-Contender $c $Source (& $PrefixFor $c $r) $Ctx)
        }
    }
}

function Invoke-Setup {
    # One untimed (but recorded) first sync per prefix, before the timed re-syncs.
    param($Scenario, $Ctx, [string] $Source, [string[]] $Contenders, [scriptblock] $PrefixFor)
    Write-Host '    first sync (setup)'
    foreach ($c in $Contenders) {
        $sample = Invoke-Contender $c $Source (& $PrefixFor $c 0) $Ctx
        $Scenario.Setup[$c] = $sample
        Write-Host (Format-Sample $c $sample)
    }
}

function Measure-Floor {
    # The scenario's floor: only the requests it must make (bench/s3-floor.js), on the same server. Each
    # step's seconds are the floor client's own (node's start-up excluded); s3rver's CPU is measured around it.
    param($Scenario, $Ctx, [object[]] $Steps, [string] $Text)
    $seconds = 0.0
    $s3 = 0.0
    $requests = 0
    foreach ($step in $Steps) {
        $arguments = @('node', $FloorScript) + $step + @('--endpoint', $Ctx.Endpoints['floor'], '--bucket', $Ctx.Stack.Bucket, '--concurrency', "$Transfers")
        if ($Ctx.CaFile) { $arguments += @('--ca-file', $Ctx.CaFile) }
        $run = Invoke-Timed -Command $arguments -S3Pid $Ctx.S3Pid -Label 's3-floor'
        $line = @($run.StdOut -split "`n" | Where-Object { $_.StartsWith('s3-floor ') }) | Select-Object -Last 1
        $result = $line.Substring(9) | ConvertFrom-Json
        $seconds += [double]$result.seconds
        $s3 += $run.S3CpuSeconds
        $requests += [int]$result.requests
    }
    $Scenario.Floor = [pscustomobject]@{ Seconds = $seconds; S3CpuSeconds = $s3; Requests = $requests; Text = $Text; Computed = $false }
    Write-Host ('    floor   {0,8:0.00} s  s3rver cpu {1,6:0.00} s  ({2}; {3} requests)' -f $seconds, $s3, $Text, $requests)
}

$RunInfo = [ordered]@{}

function Save-Results {
    # After every scenario: a run that is stopped keeps what it measured.
    $data = [ordered]@{
        Date = (Get-Date).ToUniversalTime().ToString('yyyy-MM-dd HH:mm')
        Quick = [bool]$Quick
        Plan = $Plan
        Wan = $WanLink
        Transfers = $Transfers
    }
    foreach ($k in $RunInfo.Keys) { $data[$k] = $RunInfo[$k] }
    $data['Scenarios'] = $Results
    [IO.File]::WriteAllText((Get-ResultsJsonPath), ($data | ConvertTo-Json -Depth 12))
}

function Get-ResultsJsonPath {
    if ($Quick) { Join-Path $WorkRoot 'results-quick.json' } else { $JsonPath }
}

function Measure-Startup {
    # The fixed cost of each contender's process before it does any work: what a scheduled run pays.
    $startup = [ordered]@{}
    $commands = [ordered]@{
        'pwsh -NoProfile -c exit' = @(Get-PwshCommand) + @('-NoProfile', '-NonInteractive', '-Command', 'exit 0')
        'pwsh + Import-Module + Connect-Chitty' = @(Get-PwshCommand) + @('-NoProfile', '-NonInteractive', '-Command',
            "Import-Module '$Manifest'; `$null = Connect-Chitty -Endpoint http://127.0.0.1:9 -ApiKey (ConvertTo-SecureString x -AsPlainText -Force) -ChittyId CT-BENCH")
        'rclone version' = @($Rclone, 'version')
        'aws --version' = @($Aws, '--version')
    }
    foreach ($name in $commands.Keys) {
        $runs = @(for ($i = 0; $i -lt $Plan.StartupRounds + 1; $i++) { Invoke-Timed -Command $commands[$name] -Label $name })
        # The first run only warms the disk cache.
        $runs = @($runs | Select-Object -Skip 1)
        $startup[$name] = [pscustomobject]@{
            Median = Get-Median ($runs.Seconds)
            Min = ($runs.Seconds | Measure-Object -Minimum).Minimum
            Max = ($runs.Seconds | Measure-Object -Maximum).Maximum
            PeakRssMB = Get-Median ($runs.PeakRssMB)
        }
        Write-Host ('    {0,-40} {1,6:0.00} s' -f $name, $startup[$name].Median)
    }
    $startup
}

function Invoke-SmallFileScenarios {
    # A first sync of the small data set (rounds into fresh prefixes), then re-syncs of the last round's
    # prefixes: nothing changed, and (when ChangedRounds > 0) after 1% of the files changed. Ids are
    # <Tag>1, <Tag>2, <Tag>3; $Over says how the clients reach s3rver, for the titles of the floors.
    param($Ctx, [string] $Small, [string] $Tag, [string] $Group, [string[]] $Contenders, [double[]] $Goals,
        [int] $FirstRounds, [int] $NoopRounds, [int] $ChangedRounds, [int] $ChangeSeed, [string] $Over)
    $files = $Plan.Small.Files
    $kib = $Plan.Small.Size / 1KB
    $p = $Tag.ToLowerInvariant()
    Write-Step "${Tag}1: first sync of $files files of $kib KiB$Over"
    $first = New-Scenario "${Tag}1" $Group "${Tag}1 first sync, $files x $kib KiB" $Contenders $files $Goals[0]
    $last = $FirstRounds - 1
    Invoke-Rounds $first $Ctx $Small $FirstRounds { param($c, $r) "${p}1/$c/r$r/" }
    Measure-Floor $first $Ctx @(, @('put', '--prefix', "floor/${p}1/", '--count', "$files", '--size', "$($Plan.Small.Size)")) "$files PUTs of $kib KiB, $Transfers at a time$Over"
    Save-Results

    Write-Step "${Tag}2: re-sync of ${Tag}1, nothing changed$Over"
    $noop = New-Scenario "${Tag}2" $Group "${Tag}2 no-op re-sync of ${Tag}1" $Contenders $files $Goals[1]
    Invoke-Rounds $noop $Ctx $Small $NoopRounds { param($c, $r) "${p}1/$c/r$last/" }
    Measure-Floor $noop $Ctx @(, @('list', '--prefix', "${p}1/rclone/r$last/")) "a bare listing of $files keys$Over"
    $reads = @(foreach ($c in 'session', 'process') { Get-Samples $noop $c | ForEach-Object { $_.Summary } })
    $dirty = @($reads | Where-Object { $_.FilesHashed -ne 0 -or $_.BytesHashed -ne 0 -or $_.FilesUploaded -ne 0 })
    $noop.Notes.Add($(if ($dirty.Count -eq 0) { "module: 0 files read, requests $(Format-Requests $reads[0].Requests) in every run" }
            else { "module: NOT clean: $(($dirty | ForEach-Object { "hashed $($_.FilesHashed), uploaded $($_.FilesUploaded)" }) -join '; ')" }))
    Save-Results
    if ($ChangedRounds -le 0) { return }

    Write-Step "${Tag}3: re-sync after 1% of $files files changed$Over"
    $changed = New-Scenario "${Tag}3" $Group "${Tag}3 re-sync, 1% of $files files changed" $Contenders $files $Goals[2]
    Invoke-Rounds $changed $Ctx $Small $ChangedRounds { param($c, $r) "${p}1/$c/r$last/" } {
        param($round)
        $script:changedFiles = Update-SomeFiles $Small 0.01 ($ChangeSeed + $round)
        Write-Host "    round $($round + 1): $script:changedFiles files changed"
    }
    Measure-Floor $changed $Ctx @(@('list', '--prefix', "${p}1/rclone/r$last/"), @('put', '--prefix', "floor/${p}3/", '--count', "$script:changedFiles", '--size', "$($Plan.Small.Size)")) "a listing of $files keys and $script:changedFiles PUTs$Over"
    # Requests per file in this scenario are per changed file.
    $changed.Files = $script:changedFiles
    Save-Results
}

function Invoke-OneFileScenario {
    # A first sync of one large file into a fresh prefix every round; its floor is one multipart upload of
    # the same size in 16 MiB parts, measured, or computed (-ComputedFloor) from the WAN link's rate.
    param($Ctx, [string] $One, [string] $Id, [string] $Group, [string[]] $Contenders, [double] $Goal, [int] $Rounds, [string] $Over, [switch] $ComputedFloor)
    $mib = $Plan.One.Size / 1MB
    Write-Step "${Id}: first sync of one $mib MiB file$Over"
    $scenario = New-Scenario $Id $Group "$Id first sync, one $mib MiB file" $Contenders 1 $Goal
    Invoke-Rounds $scenario $Ctx $One $Rounds { param($c, $r) "$($Id.ToLowerInvariant())/$c/r$r/" }
    if ($ComputedFloor) {
        # Not measured (it would cost another full upload): the bytes at the link's rate, plus the round
        # trips of a multipart upload (connect, create, the parts in parallel, complete).
        $rtt = 2 * $WanLink.DelayMs / 1000
        $scenario.Floor = [pscustomobject]@{ Seconds = $Plan.One.Size * 8 / ($WanLink.Mbit * 1e6) + 4 * $rtt; S3CpuSeconds = [double]::NaN
            Requests = 2 + [Math]::Ceiling($Plan.One.Size / 16MB); Text = "computed: $mib MiB at $($WanLink.Mbit) Mbit/s and 4 round trips"; Computed = $true }
    }
    else {
        Measure-Floor $scenario $Ctx @(, @('multipart', '--prefix', "floor/$($Id.ToLowerInvariant())/", '--size', "$($Plan.One.Size)", '--part-size', "$(16MB)")) "one multipart upload of $mib MiB in 16 MiB parts$Over"
    }
    Save-Results
}

function Invoke-LoopbackGroup {
    $all = @('session', 'process', 'rclone', 'aws')
    $small = Join-Path $WorkRoot 'data/small'
    New-SmallFiles $small $Plan.Small.Files $Plan.Small.Size 1
    Use-Stack 'loopback-small' {
        param($ctx)
        Invoke-SmallFileScenarios $ctx $small 'S' 'Loopback' $all @(0.55, 0.35, 0.35) $Plan.SmallRounds $Plan.NoopRounds $Plan.ChangedRounds 1000 ''
    }
    Remove-Item -LiteralPath (Join-Path $WorkRoot 'data') -Recurse -Force

    $large = Join-Path $WorkRoot 'data/large'
    $mibEach = $Plan.Large.Size / 1MB
    Write-Step "S4: generating $($Plan.Large.Files) files of $mibEach MiB"
    New-LargeFiles $large $Plan.Large.Files $Plan.Large.Size 4
    Use-Stack 'loopback-large' {
        param($ctx)
        Write-Step "S4: no-op re-sync of $($Plan.Large.Files) x $mibEach MiB"
        $s4 = New-Scenario 'S4' 'Loopback' ('S4 no-op re-sync, {0} x {1} MiB ({2:0.#} GiB)' -f $Plan.Large.Files, $mibEach, ($Plan.Large.Files * $Plan.Large.Size / 1GB)) $all $Plan.Large.Files 0.05
        # The session and the process share one prefix and one state: a no-op changes neither.
        $prefix = { param($c, $r) if ($c -in 'session', 'process') { 's4/module/' } else { "s4/$c/" } }
        Invoke-Setup $s4 $ctx $large @('process', 'rclone', 'aws') $prefix
        Invoke-Rounds $s4 $ctx $large $Plan.LargeRounds $prefix
        Measure-Floor $s4 $ctx @(, @('list', '--prefix', 's4/rclone/')) "a bare listing of $($Plan.Large.Files) keys"
        $s4.Notes.Add('first sync (setup, one run): ' + ((@('process', 'rclone', 'aws') | ForEach-Object { '{0} {1:0.0} s' -f $_, $s4.Setup[$_].Seconds }) -join ', '))
        Save-Results
    }
    Remove-Item -LiteralPath (Join-Path $WorkRoot 'data') -Recurse -Force

    $one = Join-Path $WorkRoot 'data/one'
    New-LargeFiles $one 1 $Plan.One.Size 5
    Use-Stack 'loopback-one' {
        param($ctx)
        Invoke-OneFileScenario $ctx $one 'S5' 'Loopback' $all 0.8 $Plan.OneRounds ''
    }
    Remove-Item -LiteralPath (Join-Path $WorkRoot 'data') -Recurse -Force
}

function Invoke-WanGroup {
    # The module's whole process is not run over the WAN: it adds the same start-up as on loopback.
    $clients = @('session', 'rclone', 'aws')
    $small = Join-Path $WorkRoot 'data/small'
    New-SmallFiles $small $Plan.Small.Files $Plan.Small.Size 11
    Use-Stack 'wan-small' -Wan {
        param($ctx)
        Invoke-SmallFileScenarios $ctx $small 'W' 'Wan' $clients @(0.6, 0.5, 0.5) $Plan.WanFirstRounds $Plan.WanNoopRounds $Plan.WanChangedRounds 2000 ' through the WAN proxy'
    }
    Remove-Item -LiteralPath (Join-Path $WorkRoot 'data') -Recurse -Force

    $one = Join-Path $WorkRoot 'data/one'
    New-LargeFiles $one 1 $Plan.One.Size 15
    Use-Stack 'wan-one' -Wan {
        param($ctx)
        Invoke-OneFileScenario $ctx $one 'W4' 'Wan' $clients 0.9 $Plan.WanOneRounds ' through the WAN proxy' -ComputedFloor
    }
    Remove-Item -LiteralPath (Join-Path $WorkRoot 'data') -Recurse -Force
}

function Invoke-HttpsGroup {
    if (-not (Test-HttpsStack)) {
        Write-Step 'HTTPS: the local stack has no HTTPS mode (Start-ChittyStack -Https); the group is left out'
        return
    }
    $all = @('session', 'process', 'rclone', 'aws')
    $small = Join-Path $WorkRoot 'data/small'
    New-SmallFiles $small $Plan.Small.Files $Plan.Small.Size 21
    $one = Join-Path $WorkRoot 'data/one'
    New-LargeFiles $one 1 $Plan.One.Size 25
    Use-Stack 'https' -Https {
        param($ctx)
        Invoke-SmallFileScenarios $ctx $small 'H' 'Https' $all @(0.55, 0.35, 0.35) $Plan.HttpsFirstRounds $Plan.HttpsNoopRounds 0 0 ' over TLS'
        Invoke-OneFileScenario $ctx $one 'H5' 'Https' $all 0.8 $Plan.HttpsOneRounds ' over TLS'
    }
    Remove-Item -LiteralPath (Join-Path $WorkRoot 'data') -Recurse -Force
}

function Add-StateSize($Scenario, $Ctx) {
    # The module's state file that the scenario's first sync has just written (the newest in the state folder).
    $file = Get-ChildItem -LiteralPath (Join-Path $Ctx.StateDir 'sync-state') -Filter '*.json' | Sort-Object LastWriteTimeUtc | Select-Object -Last 1
    $Scenario | Add-Member -NotePropertyName StateBytes -NotePropertyValue $file.Length
    $Scenario.Notes.Add(('state file {0:0.0} MB, {1:0} bytes per file' -f ($file.Length / 1MB), ($file.Length / $Scenario.Files)))
    Write-Host "    $($Scenario.Notes[-1])"
}

function Invoke-ScaleGroup {
    # Flat folders of 100 files each: s3rver's delimiter listing (rclone's default) omits folders that hold
    # only folders, so no level holds folders alone.
    $root = Join-Path $WorkRoot 'data/many'
    $subset = Join-Path $WorkRoot 'data/many-subset'
    Write-Step "X: generating $($Plan.Scale.Files) and $($Plan.Scale.SubsetFiles) files of $($Plan.Scale.Size / 1KB) KiB"
    $watch = [Diagnostics.Stopwatch]::StartNew()
    New-SmallFiles $root $Plan.Scale.Files $Plan.Scale.Size 60
    New-SmallFiles $subset $Plan.Scale.SubsetFiles $Plan.Scale.Size 61
    Write-Host ('    generated in {0:0.0} s' -f $watch.Elapsed.TotalSeconds)
    $module = @('session', 'process')
    Use-Stack 'scale' {
        param($ctx)
        $n = $Plan.Scale.SubsetFiles
        Write-Step "X1: $n files, the module alone (figures per file for docs/scale.md)"
        $x1 = New-Scenario 'X1' 'Scale' "X1 first sync, $n x 1 KiB" @('process') $n 0 -GoalText 'report'
        Invoke-Rounds $x1 $ctx $subset 1 { param($c, $r) 'x20k/' }
        Add-StateSize $x1 $ctx
        $x1b = New-Scenario 'X1b' 'Scale' "X1 no-op re-sync, $n files" $module $n 0 -GoalText 'report'
        Invoke-Rounds $x1b $ctx $subset $Plan.ScaleNoopRounds { param($c, $r) 'x20k/' }
        Save-Results

        $n = $Plan.Scale.Files
        Write-Step "X2: first sync of $n files: the module as a whole process, and rclone"
        $x2 = New-Scenario 'X2' 'Scale' "X2 first sync, $n x 1 KiB" @('process', 'rclone') $n 0 -GoalText 'peak RSS <= 400 MB'
        Invoke-Rounds $x2 $ctx $root 1 { param($c, $r) if ($c -eq 'process') { 'x/module/' } else { "x/$c/" } }
        Add-StateSize $x2 $ctx
        Save-Results

        Write-Step "X3: no-op re-sync of $n files"
        $x3 = New-Scenario 'X3' 'Scale' "X3 no-op re-sync, $n files" @('session', 'process', 'rclone') $n 0.5 -GoalText '<= 0.5 of rclone; peak RSS <= 400 MB'
        Invoke-Rounds $x3 $ctx $root $Plan.ScaleNoopRounds { param($c, $r) if ($c -in $module) { 'x/module/' } else { "x/$c/" } }
        Measure-Floor $x3 $ctx @(, @('list', '--prefix', 'x/rclone/')) "a bare listing of $n keys"
        Save-Results
    }
    Remove-Item -LiteralPath (Join-Path $WorkRoot 'data') -Recurse -Force
}

# --- Report (from the saved results, so that -ReportOnly renders the same) -----------------------------

function Get-Samples($Scenario, [string] $Contender) {
    $property = $Scenario.Samples.PSObject.Properties[$Contender]
    $samples = if ($Scenario.Samples -is [Collections.IDictionary]) { if ($Scenario.Samples.Contains($Contender)) { $Scenario.Samples[$Contender] } }
    elseif ($property) { $property.Value }
    @($samples | Where-Object { $null -ne $_ })
}

function Get-Stats($Samples, [string] $Property = 'Seconds') {
    $values = @($Samples | Where-Object { $null -ne $_ -and $_.PSObject.Properties[$Property] } | ForEach-Object { [double]$_.$Property } | Where-Object { -not [double]::IsNaN($_) })
    [pscustomobject]@{
        Median = Get-Median $values
        Min = if ($values.Count) { ($values | Measure-Object -Minimum).Minimum } else { [double]::NaN }
        Max = if ($values.Count) { ($values | Measure-Object -Maximum).Maximum } else { [double]::NaN }
        Count = $values.Count
    }
}

function Format-Time($Stats) {
    if ($Stats.Count -eq 0) { return 'n/a' }
    if ($Stats.Count -eq 1) { return '{0:0.00} s' -f $Stats.Median }
    '{0:0.00} s ({1:0.00}-{2:0.00})' -f $Stats.Median, $Stats.Min, $Stats.Max
}

function Format-Number([double] $Value, [string] $Format = '0.00') {
    if ([double]::IsNaN($Value) -or [double]::IsInfinity($Value)) { return 'n/a' }
    $Value.ToString($Format, $Invariant)
}

function Get-Verdict($Scenario) {
    # Met or missed, by how much; where the floor sits above the goal, the goal is 1.3 x the floor.
    $module = Get-Stats (Get-Samples $Scenario $Scenario.GoalContender)
    $rclone = Get-Stats (Get-Samples $Scenario 'rclone')
    $ratio = $module.Median / $rclone.Median
    $goalSeconds = $Scenario.GoalRatio * $rclone.Median
    $rss = (Get-Stats @(foreach ($c in 'session', 'process') { Get-Samples $Scenario $c }) 'PeakRssMB').Max
    $floor = $Scenario.Floor
    $v = [ordered]@{ Ratio = $ratio; GoalSeconds = $goalSeconds; Text = '-'; FloorRule = $false }
    if ($Scenario.Group -eq 'Scale') {
        $parts = @()
        $rssMet = $rss -le 400
        $parts += '{0} (RSS {1:0} MB)' -f $(if ($rssMet) { 'yes' } else { 'no' }), $rss
        if ($Scenario.GoalRatio -gt 0) {
            $parts += '{0} (no-op {1} of rclone)' -f $(if ($ratio -le $Scenario.GoalRatio) { 'yes' } else { 'no' }), (Format-Number $ratio)
        }
        $v.Text = $parts -join '; '
        return [pscustomobject]$v
    }
    if ($Scenario.GoalRatio -le 0 -or $module.Count -eq 0 -or $rclone.Count -eq 0) { return [pscustomobject]$v }
    if ($ratio -le $Scenario.GoalRatio) {
        $v.Text = 'yes'
    }
    elseif ($floor -and $floor.Seconds -gt $goalSeconds) {
        $v.FloorRule = $true
        $bound = 1.3 * $floor.Seconds
        $v.Text = '{0}: floor {1} s above goal {2} s; module {3}x floor (goal <= 1.3x)' -f $(if ($module.Median -le $bound) { 'yes' } else { 'no' }),
            (Format-Number $floor.Seconds), (Format-Number $goalSeconds), (Format-Number ($module.Median / $floor.Seconds))
    }
    else {
        $v.Text = 'no: {0} s over the goal ({1}x)' -f (Format-Number ($module.Median - $goalSeconds)), (Format-Number ($ratio / $Scenario.GoalRatio))
    }
    [pscustomobject]$v
}

function Format-Floor($Scenario) {
    $floor = $Scenario.Floor
    if (-not $floor) { return '-' }
    if ($floor.Computed) { return '{0} s ({1})' -f (Format-Number $floor.Seconds), $floor.Text }
    '{0} s, s3rver CPU {1} s, {2} ms a request ({3})' -f (Format-Number $floor.Seconds), (Format-Number $floor.S3CpuSeconds),
        (Format-Number ($floor.S3CpuSeconds * 1000 / [Math]::Max(1, $floor.Requests)) '0.0'), $floor.Text
}

function Get-WirePerFile($Scenario, [string] $Contender) {
    $wire = Get-Stats (Get-Samples $Scenario $Contender) 'WireRequests'
    if ($wire.Count -eq 0) { return 'n/a' }
    '{0:0} ({1})' -f $wire.Median, (Format-Number ($wire.Median / [Math]::Max(1, $Scenario.Files)) '0.00#')
}

function New-GoalTable($Scenarios, [switch] $Wire) {
    $lines = [Collections.Generic.List[string]]::new()
    $head = '| Scenario | Goal (module in session / rclone) | Module, in session | rclone | AWS CLI | Module / rclone | AWS CLI / rclone | Floor: the requests alone | Met | Peak RSS MB (session / rclone / aws) |'
    $rule = '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'
    if ($Wire) {
        $head += ' Requests on the wire (per file): module / rclone / aws |'
        $rule += ' --- |'
    }
    else {
        $head += ' s3rver CPU s per run (module / rclone / aws) |'
        $rule += ' --- |'
    }
    $lines.Add($head)
    $lines.Add($rule)
    foreach ($s in $Scenarios) {
        $t = @{}
        foreach ($c in 'session', 'rclone', 'aws') { $t[$c] = Get-Stats (Get-Samples $s $c) }
        $rss = foreach ($c in 'session', 'rclone', 'aws') { Format-Number (Get-Stats (Get-Samples $s $c) 'PeakRssMB').Max '0' }
        $verdict = Get-Verdict $s
        $title = $s.Title + $(if (@($s.Notes).Count) { '<br>' + (@($s.Notes) -join '<br>') } else { '' })
        $row = '| {0} | <= {1} | {2} | {3} | {4} | {5} | {6} | {7} | {8} | {9} |' -f $title, $s.GoalRatio, (Format-Time $t['session']), (Format-Time $t['rclone']),
            (Format-Time $t['aws']), (Format-Number $verdict.Ratio), (Format-Number ($t['aws'].Median / $t['rclone'].Median)), (Format-Floor $s), $verdict.Text, ($rss -join ' / ')
        if ($Wire) {
            $row += ' {0} |' -f ((@('session', 'rclone', 'aws') | ForEach-Object { Get-WirePerFile $s $_ }) -join ' / ')
        }
        else {
            $row += ' {0} |' -f ((@('session', 'rclone', 'aws') | ForEach-Object { Format-Number (Get-Stats (Get-Samples $s $_) 'S3CpuSeconds').Median }) -join ' / ')
        }
        $lines.Add($row)
    }
    $lines -join "`n"
}

function Get-Overhead($Data) {
    # The module's own cost in a scheduled task: its no-op of the small data set as a whole process, less an
    # empty `pwsh -NoProfile -c exit`; split by the process's own stopwatches.
    $s2 = @($Data.Scenarios | Where-Object { $_.Id -eq 'S2' }) | Select-Object -First 1
    if (-not $s2 -or -not $Data.PSObject.Properties['Startup']) { return $null }
    $empty = $Data.Startup.'pwsh -NoProfile -c exit'.Median
    $samples = @(Get-Samples $s2 'process')
    $whole = (Get-Stats $samples).Median
    [pscustomobject]@{
        Files = $s2.Files
        Empty = $empty
        Whole = $whole
        Overhead = $whole - $empty
        Import = (Get-Stats $samples 'ImportSeconds').Median
        Connect = (Get-Stats $samples 'ConnectSeconds').Median
        Call = (Get-Stats $samples 'CallSeconds').Median
    }
}

function New-ProcessTable($Data) {
    $lines = [Collections.Generic.List[string]]::new()
    $lines.Add('| Scenario | Module, whole process | of which Import-Module / Connect-Chitty / the call | rclone | AWS CLI | Module / rclone | AWS CLI / rclone | Peak RSS MB (module / rclone / aws) |')
    $lines.Add('| --- | --- | --- | --- | --- | --- | --- | --- |')
    $rows = 0
    foreach ($s in @($Data.Scenarios | Where-Object { $_.Group -eq 'Loopback' -or $_.Group -eq 'Https' })) {
        $p = @(Get-Samples $s 'process')
        if (-not $p.Count) { continue }
        $t = @{}
        foreach ($c in 'process', 'rclone', 'aws') { $t[$c] = Get-Stats (Get-Samples $s $c) }
        $split = '{0} / {1} / {2} s' -f (Format-Number (Get-Stats $p 'ImportSeconds').Median), (Format-Number (Get-Stats $p 'ConnectSeconds').Median), (Format-Number (Get-Stats $p 'CallSeconds').Median)
        $rss = foreach ($c in 'process', 'rclone', 'aws') { Format-Number (Get-Stats (Get-Samples $s $c) 'PeakRssMB').Max '0' }
        $lines.Add(('| {0} | {1} | {2} | {3} | {4} | {5} | {6} | {7} |' -f $s.Title, (Format-Time $t['process']), $split, (Format-Time $t['rclone']), (Format-Time $t['aws']),
                (Format-Number ($t['process'].Median / $t['rclone'].Median)), (Format-Number ($t['aws'].Median / $t['rclone'].Median)), ($rss -join ' / ')))
        $rows++
    }
    if ($rows -eq 0) { return '' }
    $lines -join "`n"
}

function New-ProfileTable($Data) {
    # Where the module's own time goes, from the runtime's counters (medians of the rounds).
    $lines = [Collections.Generic.List[string]]::new()
    $lines.Add('| Scenario | Session: call s / its CPU s / s3rver CPU s | Session: JIT ms / allocated MB / GCs gen0-1-2 / thread-pool items | Process: Import-Module / Connect-Chitty / call s | Process: JIT ms in the call / in the whole process (methods) |')
    $lines.Add('| --- | --- | --- | --- | --- |')
    foreach ($s in @($Data.Scenarios | Where-Object { $_.Group -ne 'Wan' })) {
        $session = @(Get-Samples $s 'session')
        $process = @(Get-Samples $s 'process')
        $runtime = @($session | Where-Object { $_.PSObject.Properties['Runtime'] } | ForEach-Object { $_.Runtime })
        $rt = { param($name, $format) Format-Number (Get-Stats $runtime $name).Median $format }
        $a = if ($session.Count) { '{0} / {1} / {2}' -f (Format-Number (Get-Stats $session).Median), (Format-Number (Get-Stats $session 'CpuSeconds').Median), (Format-Number (Get-Stats $session 'S3CpuSeconds').Median) } else { '-' }
        $b = if ($runtime.Count) { '{0} / {1} / {2}-{3}-{4} / {5}' -f (& $rt 'JitMs' '0'), (& $rt 'AllocatedMB' '0'), (& $rt 'Gen0' '0'), (& $rt 'Gen1' '0'), (& $rt 'Gen2' '0'), (& $rt 'ThreadPoolItems' '0') } else { '-' }
        $c = if ($process.Count) { '{0} / {1} / {2}' -f (Format-Number (Get-Stats $process 'ImportSeconds').Median), (Format-Number (Get-Stats $process 'ConnectSeconds').Median), (Format-Number (Get-Stats $process 'CallSeconds').Median) } else { '-' }
        $d = if ($process.Count) { '{0} / {1} ({2})' -f (Format-Number (Get-Stats $process 'CallJitMs').Median '0'), (Format-Number (Get-Stats $process 'ProcessJitMs').Median '0'), (Format-Number (Get-Stats $process 'ProcessJitMethods').Median '0') } else { '-' }
        $lines.Add(('| {0} | {1} | {2} | {3} | {4} |' -f $s.Title, $a, $b, $c, $d))
    }
    $lines -join "`n"
}

function Get-ScaleGrowth($Data) {
    # What each file beyond the smaller data set adds: the slope between the two sizes, per file.
    $byId = @{}
    foreach ($s in @($Data.Scenarios | Where-Object { $_.Group -eq 'Scale' })) { $byId[$s.Id] = $s }
    if (-not ($byId['X1'] -and $byId['X2'] -and $byId['X1b'] -and $byId['X3'])) { return $null }
    $extra = $byId['X2'].Files - $byId['X1'].Files
    if ($extra -le 0) { return $null }
    $slope = {
        param($small, $large, [string] $contender, [string] $property, [double] $scale)
        $a = (Get-Stats (Get-Samples $small $contender) $property).Median
        $b = (Get-Stats (Get-Samples $large $contender) $property).Median
        Format-Number (($b - $a) * $scale / $extra) '0.000'
    }
    $parts = @(
        'first sync (process): {0} ms and {1} KB of peak RSS per file' -f (& $slope $byId['X1'] $byId['X2'] 'process' 'CallSeconds' 1000), (& $slope $byId['X1'] $byId['X2'] 'process' 'PeakRssMB' 1024)
        'no-op in a session: {0} ms and {1} KB per file' -f (& $slope $byId['X1b'] $byId['X3'] 'session' 'Seconds' 1000), (& $slope $byId['X1b'] $byId['X3'] 'session' 'PeakRssMB' 1024)
        'no-op as a process: {0} ms (the call) and {1} KB per file' -f (& $slope $byId['X1b'] $byId['X3'] 'process' 'CallSeconds' 1000), (& $slope $byId['X1b'] $byId['X3'] 'process' 'PeakRssMB' 1024)
    )
    $state = @($byId['X1'], $byId['X2'] | Where-Object { $_.PSObject.Properties['StateBytes'] })
    if ($state.Count -eq 2) { $parts += 'state file {0} bytes per file' -f (Format-Number (($state[1].StateBytes - $state[0].StateBytes) / $extra) '0') }
    "Each file from $($byId['X1'].Files) to $($byId['X2'].Files) added: " + ($parts -join '; ') + '.'
}

function New-ScaleTable($Data) {
    $lines = [Collections.Generic.List[string]]::new()
    $lines.Add('| Scenario | Goal | Module, in session | Module, whole process (the call) | rclone | Module / rclone (session; process) | Peak RSS MB (session / process / rclone) | Module: ms per file (in session; the call in the process) | Floor | Met |')
    $lines.Add('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    foreach ($s in @($Data.Scenarios | Where-Object { $_.Group -eq 'Scale' })) {
        $session = Get-Stats (Get-Samples $s 'session')
        $process = Get-Stats (Get-Samples $s 'process')
        $call = Get-Stats (Get-Samples $s 'process') 'CallSeconds'
        $rclone = Get-Stats (Get-Samples $s 'rclone')
        $rss = foreach ($c in 'session', 'process', 'rclone') { Format-Number (Get-Stats (Get-Samples $s $c) 'PeakRssMB').Max '0' }
        $perFile = '{0}; {1}' -f (Format-Number ($session.Median * 1000 / $s.Files) '0.000'), (Format-Number ($call.Median * 1000 / $s.Files) '0.000')
        $ratios = '{0}; {1}' -f (Format-Number ($session.Median / $rclone.Median)), (Format-Number ($process.Median / $rclone.Median))
        $processText = if ($process.Count) { '{0} ({1})' -f (Format-Time $process), (Format-Time $call) } else { 'n/a' }
        $title = $s.Title + $(if (@($s.Notes).Count) { '<br>' + (@($s.Notes) -join '<br>') } else { '' })
        $lines.Add(('| {0} | {1} | {2} | {3} | {4} | {5} | {6} | {7} | {8} | {9} |' -f $title, $s.GoalText, (Format-Time $session), $processText, (Format-Time $rclone),
                $ratios, ($rss -join ' / '), $perFile, (Format-Floor $s), (Get-Verdict $s).Text))
    }
    $lines -join "`n"
}

function New-SummaryTable($Data) {
    # The README's table: one line per scenario, the goal's contender against rclone.
    $lines = [Collections.Generic.List[string]]::new()
    $lines.Add('| Scenario | Goal: module / rclone | Module | rclone | AWS CLI | Module / rclone | Floor | Met |')
    $lines.Add('| --- | --- | --- | --- | --- | --- | --- | --- |')
    $groups = [ordered]@{ Loopback = 'in a session, loopback'; Wan = 'in a session, over the WAN proxy'; Https = 'in a session, HTTPS'; Scale = '' }
    foreach ($g in $groups.Keys) {
        foreach ($s in @($Data.Scenarios | Where-Object { $_.Group -eq $g })) {
            if ($g -eq 'Scale' -and $s.GoalText -eq 'report') { continue }
            $c = if (@(Get-Samples $s $s.GoalContender).Count) { $s.GoalContender } else { 'process' }
            $module = Get-Stats (Get-Samples $s $c)
            $rclone = Get-Stats (Get-Samples $s 'rclone')
            $aws = Get-Stats (Get-Samples $s 'aws')
            $goal = if ($g -eq 'Scale') { $s.GoalText } else { "<= $($s.GoalRatio)" }
            $floor = if ($s.Floor) { '{0} s' -f (Format-Number $s.Floor.Seconds) } else { '-' }
            $where = if ($g -eq 'Scale') { if ($c -eq 'process') { 'whole process' } else { 'in a session' } } else { $groups[$g] }
            $lines.Add(('| {0} ({1}) | {2} | {3} | {4} | {5} | {6} | {7} | {8} |' -f $s.Title, $where, $goal,
                    (Format-Time $module), (Format-Time $rclone), (Format-Time $aws), (Format-Number ($module.Median / $rclone.Median)), $floor, (Get-Verdict $s).Text))
        }
    }
    $overhead = Get-Overhead $Data
    if ($overhead) {
        $lines.Add(('| Scheduled task: the module''s own cost above `pwsh -NoProfile -c exit` for a no-op of {0} files (Import-Module {1} s, Connect-Chitty {2} s, the call {3} s) | <= 0.25 s | {4} s | | | | | {5} |' -f
                $overhead.Files, (Format-Number $overhead.Import), (Format-Number $overhead.Connect), (Format-Number $overhead.Call), (Format-Number $overhead.Overhead),
                $(if ($overhead.Overhead -le 0.25) { 'yes' } else { 'no: {0} s over' -f (Format-Number ($overhead.Overhead - 0.25)) })))
    }
    $lines -join "`n"
}

function Add-GoalSection($Doc, $Data, [string] $GroupName, [string] $Heading) {
    $scenarios = @($Data.Scenarios | Where-Object { $_.Group -eq $GroupName })
    if (-not $scenarios.Count) { return }
    $Doc.Add('')
    $Doc.Add($Heading)
    $Doc.Add('')
    $Doc.Add((New-GoalTable $scenarios -Wire:($GroupName -eq 'Wan')))
    if ($GroupName -eq 'Wan') {
        $Doc.Add('')
        $Doc.Add('Requests on the wire are counted by the proxy (each client has its own port): the median per run, and per file synced (per changed file in W3).')
    }
}

function New-ResultsMarkdown($Data) {
    $doc = [Collections.Generic.List[string]]::new()
    $doc.Add('# Benchmarks: Sync-ChittyFolder, rclone and the AWS CLI')
    $doc.Add('')
    $doc.Add("Measured $($Data.Date) UTC by ``bench/Run-Bench.ps1``$(if ($Data.Quick) { ' -Quick (tiny data sets: a smoke run, not a measurement)' }) in $($Data.Minutes) min (groups: $(@($Data.Groups) -join ', ')).")
    $doc.Add('Times are wall-clock seconds: median (min-max) of the rounds; ratios are of medians. "Module, in session" is')
    $doc.Add('one Sync-ChittyFolder call in a long-lived PowerShell with the module imported, connected and warmed up,')
    $doc.Add('timed by its caller; rclone and the AWS CLI are whole processes. Peak RSS is the largest of the rounds')
    $doc.Add('(`/usr/bin/time -v`; for the session its VmHWM, reset before each call). A floor is the time the server')
    $doc.Add('takes for only the requests the scenario must make (`bench/s3-floor.js`, 8 at a time); where it sits above')
    $doc.Add('the goal, the goal becomes 1.3 x the floor.')
    if ($Data.PSObject.Properties['Failures'] -and @($Data.Failures).Count) {
        $doc.Add('')
        $doc.Add('**Failed groups** (their scenarios are missing or incomplete): ' + (@($Data.Failures) -join '; '))
    }
    $doc.Add('')
    $doc.Add('## Summary')
    $doc.Add('')
    $doc.Add((New-SummaryTable $Data))
    Add-GoalSection $doc $Data 'Loopback' '## 1. In a session, s3rver on loopback'
    $processTable = New-ProcessTable $Data
    if ($processTable) {
        $doc.Add('')
        $doc.Add('## 2. In a scheduled task: whole processes')
        $doc.Add('')
        $doc.Add($processTable)
    }
    $overhead = Get-Overhead $Data
    if ($overhead) {
        $doc.Add('')
        $doc.Add(('The module''s own overhead for a no-op of {0} files as a whole process: {1} s (the process, {2} s, less `pwsh -NoProfile -c exit`, {3} s); inside it Import-Module took {4} s, Connect-Chitty {5} s and the call {6} s. Goal <= 0.25 s: {7}.' -f
                $overhead.Files, (Format-Number $overhead.Overhead), (Format-Number $overhead.Whole), (Format-Number $overhead.Empty), (Format-Number $overhead.Import),
                (Format-Number $overhead.Connect), (Format-Number $overhead.Call), $(if ($overhead.Overhead -le 0.25) { 'met' } else { 'missed' })))
    }
    Add-GoalSection $doc $Data 'Wan' "## 3. In a session, over a wide-area link (bench/wan-proxy.js: $($Data.Wan.DelayMs) ms each way, $($Data.Wan.Mbit) Mbit/s shared, one round trip per new connection)"
    $scale = @($Data.Scenarios | Where-Object { $_.Group -eq 'Scale' })
    if ($scale.Count) {
        $doc.Add('')
        $doc.Add('## 4. Scale: many files of 1 KiB')
        $doc.Add('')
        $doc.Add((New-ScaleTable $Data))
        $growth = Get-ScaleGrowth $Data
        if ($growth) {
            $doc.Add('')
            $doc.Add($growth)
        }
        $doc.Add('')
        $doc.Add('The first syncs run once (the module as a whole process, whose call is timed inside it); the AWS CLI is left out at this scale (its first sync of 100,000 files alone would take most of the run''s budget; its figures at 2,000 files are in section 1). `docs/scale.md` has the figures per file and the design for 1,000,000 files.')
    }
    Add-GoalSection $doc $Data 'Https' '## 5. In a session, HTTPS to s3rver'
    if (@($Data.Scenarios | Where-Object { $_.Group -ne 'Wan' }).Count) {
        $doc.Add('')
        $doc.Add('## The module''s own profile (runtime counters around each call)')
        $doc.Add('')
        $doc.Add((New-ProfileTable $Data))
    }
    $doc.Add('')
    $doc.Add('## Machine')
    $doc.Add('')
    foreach ($p in $Data.Machine.PSObject.Properties) { $doc.Add("- $($p.Name): $($p.Value)") }
    $doc.Add("- Load average (1/5/15 min) before: $($Data.LoadBefore); after: $($Data.LoadAfter).")
    if ($Data.PSObject.Properties['Startup']) {
        $doc.Add('')
        $doc.Add("## Start-up (not sync work), median of $($Data.Plan.StartupRounds) runs")
        $doc.Add('')
        $doc.Add('| Process | Time | Peak RSS MB |')
        $doc.Add('| --- | --- | --- |')
        foreach ($p in $Data.Startup.PSObject.Properties) {
            $doc.Add(('| {0} | {1:0.00} s ({2:0.00}-{3:0.00}) | {4:0} |' -f $p.Name, $p.Value.Median, $p.Value.Min, $p.Value.Max, $p.Value.PeakRssMB))
        }
    }
    $doc.Add('')
    $doc.Add('## How each contender runs')
    $doc.Add('')
    $doc.Add("- Module in a session: ``bench/SyncSession.ps1`` in one ``pwsh -NoProfile -NonInteractive`` per s3rver: ``Import-Module ./ChittyConnect.psd1``, ``Connect-Chitty`` (CHITTY_* variables), one warm-up ``Sync-ChittyFolder`` of $($Data.Plan.WarmupFiles) files to another prefix (half of them synced before by a module process, so that the call meets both the unchanged and the new path), then each ``Sync-ChittyFolder <dir> -Prefix <p> -Transfers $($Data.Transfers) -NoReport -Summary`` timed by a stopwatch around the call.")
    $doc.Add("- Module as a whole process: ``pwsh -NoProfile -NonInteractive -Command `"Import-Module; Connect-Chitty; Sync-ChittyFolder ...`"`` (the pinned PowerShell as ``dotnet pwsh.dll``), with stopwatches around each of the three; its state in the same CHITTY_CONFIG_DIR as the session's.")
    $doc.Add("- rclone: ``rclone sync <dir> bench:<bucket>/<p> --checksum --transfers $($Data.Transfers)`` (remote from RCLONE_CONFIG_BENCH_*: s3, provider Other, force path style; AWS_CA_BUNDLE unset, SSL_CERT_FILE for HTTPS).")
    $doc.Add('- AWS CLI: `/usr/bin/aws s3 sync <dir> s3://<bucket>/<p> --delete --endpoint-url <s3rver>` (its default 10 concurrent requests; it compares size and time, not content; AWS_CA_BUNDLE for HTTPS).')
    $doc.Add('- Each data set gets a fresh s3rver; each contender syncs into its own prefix (the module''s session and process share one for the no-op of large files and at scale, where a no-op changes nothing); the contenders take turns in rotating order. First syncs upload into a fresh prefix every round; S2/S3 (W2/W3, H2) re-sync the prefixes of S1''s (W1''s, H1''s) last round; S4 re-syncs after one recorded first sync.')
    $doc.Add('- `-NoReport` for the module throughout: the sync report goes to the ChittyConnect service, which the other two do not talk to, so no emulator runs.')
    $doc.Add('')
    $analysis = Join-Path $PSScriptRoot 'analysis.md'
    if (Test-Path -LiteralPath $analysis) {
        # Hand-written: where the time goes and what limits each scenario.
        $doc.Add((Get-Content -LiteralPath $analysis -Raw).TrimEnd())
        $doc.Add('')
    }
    $doc.Add('## Re-run')
    $doc.Add('')
    $doc.Add('```sh')
    $doc.Add('dotnet tool restore && npm ci')
    $doc.Add('dotnet pwsh -NoProfile -File build.ps1 -Task Bench          # about 30 minutes (17 without -Group Scale); bench/results.json, bench/results.md, the README table')
    $doc.Add('dotnet pwsh -NoProfile -File build.ps1 -Task Bench -Quick   # smoke run, about three minutes; bench/work/results-quick.md')
    $doc.Add('dotnet pwsh -NoProfile -File bench/Run-Bench.ps1 -ReportOnly  # results.md and the README table again from results.json')
    $doc.Add('```')
    ($doc -join "`n") + "`n"
}

function Update-Readme([string] $Table, $Data) {
    $readme = Join-Path $RepoRoot 'README.md'
    $text = [IO.File]::ReadAllText($readme)
    $start = '<!-- bench:start -->'
    $end = '<!-- bench:end -->'
    $block = @(
        $start
        "Latest full run ($($Data.Date) UTC, $($Data.Machine.CPU), $($Data.Machine.Memory); s3rver; every figure, the machine and the analysis in ``bench/results.md``):"
        ''
        $Table
        $end
    ) -join "`n"
    $i = $text.IndexOf($start)
    $j = $text.IndexOf($end)
    if ($i -lt 0 -or $j -lt $i) {
        Write-Warning "README.md has no $start ... $end block: the table is only in bench/results.md."
        return
    }
    $text = $text.Substring(0, $i) + $block + $text.Substring($j + $end.Length)
    [IO.File]::WriteAllText($readme, $text)
}

function Write-Report {
    $path = Get-ResultsJsonPath
    if (-not (Test-Path -LiteralPath $path)) { throw "There are no results to render: $path is missing (run the benchmark first)." }
    $data = Get-Content -LiteralPath $path -Raw | ConvertFrom-Json
    # A run still going (or stopped) has not written its closing figures yet.
    foreach ($name in 'Minutes', 'LoadAfter') {
        if (-not $data.PSObject.Properties[$name]) { $data | Add-Member -NotePropertyName $name -NotePropertyValue '(not finished)' }
    }
    $document = New-ResultsMarkdown $data
    if ($data.Quick) {
        $out = Join-Path $WorkRoot 'results-quick.md'
        [IO.File]::WriteAllText($out, $document)
    }
    else {
        $out = Join-Path $PSScriptRoot 'results.md'
        [IO.File]::WriteAllText($out, $document)
        Update-Readme (New-SummaryTable $data) $data
    }
    Write-Host ''
    Write-Host (New-SummaryTable $data)
    Write-Host ''
    Write-Step "Results: $out"
}

function Get-MachineDescription {
    $cpu = (Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
    $memKb = [long](([regex]::Match((Get-Content /proc/meminfo -Raw), 'MemTotal:\s+(\d+)')).Groups[1].Value)
    $os = (Get-Content /etc/os-release | Where-Object { $_ -like 'PRETTY_NAME=*' }) -replace '^PRETTY_NAME="?|"$', ''
    [ordered]@{
        'CPU' = "$cpu, $(& nproc) cores (nproc)"
        'Memory' = '{0:0.0} GiB' -f ($memKb / 1MB)
        'OS' = "$os, kernel $(& uname -r)"
        'ChittyConnect' = "$((Import-PowerShellDataFile $Manifest).ModuleVersion) ($Configuration, commit $(& git -C $RepoRoot rev-parse --short HEAD)), PowerShell $($PSVersionTable.PSVersion) on .NET $([Environment]::Version)"
        'rclone' = (& $Rclone version | Select-Object -First 1)
        'AWS CLI' = (& $Aws --version 2>&1 | Select-Object -First 1)
        's3rver' = "$((Get-Content (Join-Path $RepoRoot 'node_modules/s3rver/package.json') -Raw | ConvertFrom-Json).version) on Node.js $(& node --version) (one process, one core at most)"
    }
}

function Get-LoadAverage { (Get-Content /proc/loadavg -Raw).Split(' ')[0..2] -join ' ' }

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
