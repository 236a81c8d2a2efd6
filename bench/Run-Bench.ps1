#Requires -Version 7.2
<#
.SYNOPSIS
Benchmarks Sync-ChittyFolder against rclone and the AWS CLI, side by side, on a local s3rver.

.DESCRIPTION
Each scenario gets a fresh s3rver on 127.0.0.1 (build/ChittyStack.psm1, Start-ChittyStack -S3Only) and
its own generated data set (deterministic: fixed seeds). Each contender runs as a whole process, the way a
scheduled task runs it:

  module  dotnet pwsh.dll -NoProfile -NonInteractive -c "Import-Module ChittyConnect.psd1; Connect-Chitty;
          Sync-ChittyFolder <dir> -Prefix <p> -Transfers 8 -NoReport -Summary"
  rclone  rclone sync <dir> bench:<bucket>/<p> --checksum --transfers 8
  aws     /usr/bin/aws s3 sync <dir> s3://<bucket>/<p> --delete --endpoint-url <s3rver>

under /usr/bin/time -v (peak RSS, CPU), in rotating order, several rounds each. Each contender syncs into
its own prefix of the same bucket of the same s3rver. -NoReport everywhere: the sync report goes to the
ChittyConnect service, which rclone and the AWS CLI do not talk to, so no emulator runs.

Writes bench/results.md (full run) and puts its table into README.md's Benchmarks section; a -Quick run
(tiny data sets, one round) writes bench/work/results-quick.md only. Peers missing on the machine are
installed with apt-get (rclone, awscli, time). Everything generated lives in bench/work, removed at the end.

.PARAMETER Configuration
The build configuration whose module (./bin, imported through ./ChittyConnect.psd1) is measured; it is the
one build.ps1 -Task Bench has just built.

.PARAMETER Quick
A smoke run: tiny versions of every scenario, one round each.

.EXAMPLE
dotnet pwsh -NoProfile -File build.ps1 -Task Bench -Quick
#>
[CmdletBinding()]
param(
    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    [switch] $Quick
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$RepoRoot = Split-Path -Parent $PSScriptRoot
$WorkRoot = Join-Path $PSScriptRoot 'work'
$Manifest = Join-Path $RepoRoot 'ChittyConnect.psd1'
$Contenders = @('module', 'rclone', 'aws')
$Aws = '/usr/bin/aws'
$Rclone = '/usr/bin/rclone'
$Time = '/usr/bin/time'
$Transfers = 8
$MiB = 1024 * 1024

# Sizes and rounds. The full run must stay within ~40 minutes on a loaded 2-core machine: the first syncs
# of S4 (4 GiB per contender) and S6 (20,000 PUTs per contender) are the expensive parts, so they get
# fewer rounds.
$Plan = if ($Quick) {
    @{
        S1 = @{ Files = 60; Size = 4KB; Rounds = 1 }
        S2 = @{ Rounds = 1 }
        S3 = @{ Files = 100; Size = 4KB; Rounds = 1 }
        S4 = @{ Files = 4; Size = 1MB; Rounds = 1 }
        S5 = @{ Size = 8MB; Rounds = 1 }
        S6 = @{ Files = 300; Size = 1KB; FirstRounds = 1; NoopRounds = 1 }
        StartupRounds = 2
    }
}
else {
    @{
        S1 = @{ Files = 2000; Size = 4KB; Rounds = 3 }
        S2 = @{ Rounds = 3 }
        S3 = @{ Files = 2000; Size = 4KB; Rounds = 3 }
        S4 = @{ Files = 400; Size = 10MB; Rounds = 2 }
        S5 = @{ Size = 256MB; Rounds = 3 }
        S6 = @{ Files = 20000; Size = 1KB; FirstRounds = 1; NoopRounds = 2 }
        StartupRounds = 3
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
        $folder = Join-Path $Path ('d{0:000}' -f [int][Math]::Floor($i / $perFolder))
        if ($i % $perFolder -eq 0) { $null = [IO.Directory]::CreateDirectory($folder) }
        $random.NextBytes($buffer)
        [IO.File]::WriteAllBytes((Join-Path $folder ('f{0:00000}.bin' -f $i)), $buffer)
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

# --- Running one contender ------------------------------------------------------------------------------

function Get-ProcessCpuSeconds([int] $ProcessId) {
    # utime + stime of a running process, from /proc (clock ticks of 1/100 s on Linux).
    $stat = [IO.File]::ReadAllText("/proc/$ProcessId/stat")
    $fields = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
    ([long]$fields[11] + [long]$fields[12]) / 100.0
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

function Get-ContenderCommand([string] $Contender, [string] $Source, [string] $Prefix, $Stack) {
    switch ($Contender) {
        'module' {
            $script = "`$ErrorActionPreference = 'Stop'; Import-Module '$Manifest'; `$null = Connect-Chitty; " +
                "`$s = @(Sync-ChittyFolder -Path '$Source' -Prefix '$Prefix' -Transfers $Transfers -NoReport -Summary)[-1]; " +
                # One line by -f: ConvertTo-Json would add about 0.2 s of its own loading to every run.
                "'CHITTY-SUMMARY {0} {1} {2} {3} {4} {5} {6} {7} {8} {9} {10}' -f `$s.FilesUploaded, `$s.FilesSkipped, `$s.FilesHashed, `$s.BytesHashed, " +
                "`$s.Requests.List, `$s.Requests.Put, `$s.Requests.Get, `$s.Requests.Head, `$s.Requests.Delete, `$s.Requests.Multipart, " +
                "[long]`$s.Elapsed.TotalMilliseconds"
            return @(Get-PwshCommand) + @('-NoProfile', '-NonInteractive', '-Command', $script)
        }
        'rclone' { return @($Rclone, 'sync', $Source, "bench:$($Stack.Bucket)/$Prefix", '--checksum', '--transfers', "$Transfers") }
        'aws' {
            return @($Aws, 's3', 'sync', $Source, "s3://$($Stack.Bucket)/$Prefix", '--delete', '--only-show-errors',
                '--endpoint-url', $Stack.S3Uri.AbsoluteUri.TrimEnd('/'))
        }
    }
}

function Get-ContenderEnvironment([string] $Contender, $Stack, [string] $StateDir) {
    $endpoint = $Stack.S3Uri.AbsoluteUri.TrimEnd('/')
    switch ($Contender) {
        'module' {
            @{
                # Connect-Chitty reads these; the API endpoint is never called (-NoReport).
                CHITTY_ENDPOINT = 'http://127.0.0.1:9'
                CHITTY_API_KEY = 'bench-key'
                CHITTY_ID = 'CT-BENCH'
                CHITTY_SESSION_ID = 'bench'
                CHITTY_R2_ENDPOINT = $endpoint
                CHITTY_R2_BUCKET = $Stack.Bucket
                CHITTY_R2_ACCESS_KEY_ID = $Stack.S3AccessKey
                CHITTY_R2_SECRET_ACCESS_KEY = $Stack.S3SecretKey
                CHITTY_CONFIG_DIR = $StateDir
                NO_COLOR = '1'
            }
        }
        'rclone' {
            @{
                RCLONE_CONFIG = '/dev/null'
                RCLONE_CONFIG_BENCH_TYPE = 's3'
                RCLONE_CONFIG_BENCH_PROVIDER = 'Other'
                RCLONE_CONFIG_BENCH_ENDPOINT = $endpoint
                RCLONE_CONFIG_BENCH_ACCESS_KEY_ID = $Stack.S3AccessKey
                RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY = $Stack.S3SecretKey
                RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE = 'true'
            }
        }
        'aws' {
            @{
                AWS_ACCESS_KEY_ID = $Stack.S3AccessKey
                AWS_SECRET_ACCESS_KEY = $Stack.S3SecretKey
                AWS_DEFAULT_REGION = 'us-east-1'
                AWS_CONFIG_FILE = '/dev/null'
                AWS_SHARED_CREDENTIALS_FILE = '/dev/null'
                AWS_PAGER = ''
            }
        }
    }
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
    # rclone (Go) would try to load the machine's CA bundle for plain HTTP too; keep every peer equal.
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
        if ($m.Success) { [double]$m.Groups[1].Value } else { [double]::NaN }
    }
    [pscustomobject]@{
        Seconds = $watch.Elapsed.TotalSeconds
        PeakRssMB = (Get-TimeField 'Maximum resident set size (kbytes)') / 1024
        CpuSeconds = (Get-TimeField 'User time (seconds)') + (Get-TimeField 'System time (seconds)')
        S3CpuSeconds = $s3After - $s3Before
        StdOut = $stdout
    }
}

function Invoke-Contender([string] $Contender, [string] $Source, [string] $Prefix, $Stack, [string] $StateDir) {
    $command = Get-ContenderCommand $Contender $Source $Prefix $Stack
    $environment = Get-ContenderEnvironment $Contender $Stack $StateDir
    $run = Invoke-Timed -Command $command -Environment $environment -S3Pid $Stack.S3rverPid -Label $Contender
    $summary = $null
    if ($Contender -eq 'module') {
        $line = @($run.StdOut -split "`n" | Where-Object { $_.StartsWith('CHITTY-SUMMARY ') }) | Select-Object -Last 1
        if ($line) {
            $n = @($line.Trim().Split(' ') | Select-Object -Skip 1 | ForEach-Object { [long]$_ })
            $summary = [pscustomobject]@{
                FilesUploaded = $n[0]; FilesSkipped = $n[1]; FilesHashed = $n[2]; BytesHashed = $n[3]
                Requests = [pscustomobject]@{ List = $n[4]; Put = $n[5]; Get = $n[6]; Head = $n[7]; Delete = $n[8]; Multipart = $n[9] }
                SyncSeconds = $n[10] / 1000.0
            }
        }
    }
    # The Sync-ChittyFolder call alone, as the module timed it: the whole process less PowerShell's start-up,
    # Import-Module and Connect-Chitty.
    $run | Add-Member -NotePropertyName SyncSeconds -NotePropertyValue $(if ($summary) { $summary.SyncSeconds } else { [double]::NaN })
    $run | Add-Member -NotePropertyName Summary -NotePropertyValue $summary -PassThru
}

# --- Scenarios ------------------------------------------------------------------------------------------

$Results = [Collections.Generic.List[object]]::new()

function Add-Sample($Scenario, [string] $Contender, $Run) {
    $Scenario.Samples[$Contender].Add($Run)
    $extra = if ($Run.Summary) {
        $s = $Run.Summary
        " [uploaded $($s.FilesUploaded), skipped $($s.FilesSkipped), hashed $($s.FilesHashed), requests $(Format-Requests $s.Requests)]"
    }
    Write-Host ('    {0,-6} {1,8:0.00} s  rss {2,6:0} MB  cpu {3,6:0.00} s  s3rver cpu {4,6:0.00} s{5}' -f $Contender, $Run.Seconds, $Run.PeakRssMB, $Run.CpuSeconds, $Run.S3CpuSeconds, $extra)
}

function Format-Requests($Requests) {
    if ($null -eq $Requests) { return '?' }
    "LIST $($Requests.List) PUT $($Requests.Put) GET $($Requests.Get) HEAD $($Requests.Head) DELETE $($Requests.Delete) MULTIPART $($Requests.Multipart)"
}

function New-Scenario([string] $Id, [string] $Title, [string] $Goal, [double] $GoalRatio) {
    $scenario = [pscustomobject]@{
        Id = $Id; Title = $Title; Goal = $Goal; GoalRatio = $GoalRatio; Note = ''
        Samples = @{}
        Setup = @{}
    }
    foreach ($c in $Contenders) { $scenario.Samples[$c] = [Collections.Generic.List[object]]::new() }
    $Results.Add($scenario)
    $scenario
}

function Get-Order([int] $Round) {
    # Rotates the contenders so that none always runs first (cold caches) or last.
    $n = $Contenders.Count
    @(for ($i = 0; $i -lt $n; $i++) { $Contenders[($i + $Round) % $n] })
}

function Use-S3rver([string] $Name, [scriptblock] $Body) {
    $stack = Start-ChittyStack -S3Only -Configuration $Configuration
    $stack | Add-Member -NotePropertyName S3rverPid -NotePropertyValue (Get-S3rverPid $stack)
    Write-Host "    s3rver $($stack.S3Uri) (pid $($stack.S3rverPid)) for $Name"
    try {
        & $Body $stack
    }
    finally {
        Stop-ChittyStack -Stack $stack
    }
}

function Invoke-FirstSyncScenario($Scenario, [string] $Source, [int] $Rounds) {
    # Every run uploads everything into a fresh prefix (and, for the module, a fresh state).
    Use-S3rver $Scenario.Id {
        param($stack)
        for ($r = 0; $r -lt $Rounds; $r++) {
            foreach ($c in Get-Order $r) {
                $state = Join-Path $WorkRoot "$($Scenario.Id)/state-$c-$r"
                $run = Invoke-Contender $c $Source "$($Scenario.Id.ToLowerInvariant())/$c/r$r/" $stack $state
                Add-Sample $Scenario $c $run
            }
        }
    }
}

function Invoke-ResyncScenario($Scenario, [string] $Source, [int] $Rounds, [scriptblock] $BeforeRound, [switch] $RecordSetup) {
    # One untimed (but recorded) first sync per contender, then timed re-syncs of the same prefix.
    Use-S3rver $Scenario.Id {
        param($stack)
        Write-Host '    first sync (setup)'
        foreach ($c in $Contenders) {
            $run = Invoke-Contender $c $Source "$($Scenario.Id.ToLowerInvariant())/$c/" $stack (Join-Path $WorkRoot "$($Scenario.Id)/state-$c")
            $Scenario.Setup[$c] = $run
            Write-Host ('    {0,-6} {1,8:0.00} s  rss {2,6:0} MB' -f $c, $run.Seconds, $run.PeakRssMB)
        }
        for ($r = 0; $r -lt $Rounds; $r++) {
            if ($BeforeRound) { & $BeforeRound $r }
            foreach ($c in Get-Order $r) {
                $run = Invoke-Contender $c $Source "$($Scenario.Id.ToLowerInvariant())/$c/" $stack (Join-Path $WorkRoot "$($Scenario.Id)/state-$c")
                Add-Sample $Scenario $c $run
            }
        }
    }
}

function Measure-Startup {
    # The fixed cost of each contender's process before it does any work: what a scheduled run pays.
    $startup = [ordered]@{}
    $commands = [ordered]@{
        'pwsh -NoProfile (empty command)' = @(Get-PwshCommand) + @('-NoProfile', '-NonInteractive', '-Command', 'exit 0')
        'pwsh + Import-Module + Connect-Chitty' = @(Get-PwshCommand) + @('-NoProfile', '-NonInteractive', '-Command',
            "Import-Module '$Manifest'; `$null = Connect-Chitty -Endpoint http://127.0.0.1:9 -ApiKey (ConvertTo-SecureString x -AsPlainText -Force) -ChittyId CT-BENCH")
        'pwsh -NoProfile (empty command), POWERSHELL_TELEMETRY_OPTOUT=1' = @(Get-PwshCommand) + @('-NoProfile', '-NonInteractive', '-Command', 'exit 0')
        'rclone version' = @($Rclone, 'version')
        'aws --version' = @($Aws, '--version')
    }
    foreach ($name in $commands.Keys) {
        $environment = if ($name -like '*TELEMETRY_OPTOUT*') { @{ POWERSHELL_TELEMETRY_OPTOUT = '1' } } else { @{} }
        $runs = @(for ($i = 0; $i -lt $Plan.StartupRounds + 1; $i++) { Invoke-Timed -Command $commands[$name] -Environment $environment -Label $name })
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

# --- Report ---------------------------------------------------------------------------------------------

function Get-Stats($Samples, [string] $Property = 'Seconds') {
    $values = @($Samples | ForEach-Object { $_.$Property })
    [pscustomobject]@{
        Median = Get-Median $values
        Min = ($values | Measure-Object -Minimum).Minimum
        Max = ($values | Measure-Object -Maximum).Maximum
        Count = $values.Count
    }
}

function Format-Time($Stats) {
    if ($Stats.Count -eq 0) { return 'n/a' }
    if ($Stats.Count -eq 1) { return '{0:0.00} s' -f $Stats.Median }
    '{0:0.00} s ({1:0.00}-{2:0.00})' -f $Stats.Median, $Stats.Min, $Stats.Max
}

function Get-MachineDescription {
    $cpu = (Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
    $memKb = [long](([regex]::Match((Get-Content /proc/meminfo -Raw), 'MemTotal:\s+(\d+)')).Groups[1].Value)
    $os = (Get-Content /etc/os-release | Where-Object { $_ -like 'PRETTY_NAME=*' }) -replace '^PRETTY_NAME="?|"$', ''
    $rcloneVersion = (& $Rclone version | Select-Object -First 1)
    $awsVersion = (& $Aws --version 2>&1 | Select-Object -First 1)
    $nodeVersion = (& node --version)
    $s3rverVersion = (Get-Content (Join-Path $RepoRoot 'node_modules/s3rver/package.json') -Raw | ConvertFrom-Json).version
    $moduleVersion = (Import-PowerShellDataFile $Manifest).ModuleVersion
    [ordered]@{
        'CPU' = "$cpu, $(& nproc) cores (nproc)"
        'Memory' = '{0:0.0} GiB' -f ($memKb / 1MB)
        'OS' = "$os, kernel $(& uname -r)"
        'ChittyConnect' = "$moduleVersion ($Configuration), PowerShell $($PSVersionTable.PSVersion) on .NET $([Environment]::Version)"
        'rclone' = $rcloneVersion
        'AWS CLI' = $awsVersion
        's3rver' = "$s3rverVersion on Node.js $nodeVersion (one process, one core at most)"
    }
}

function Get-LoadAverage { (Get-Content /proc/loadavg -Raw).Split(' ')[0..2] -join ' ' }

function New-ResultsMarkdown($Startup, [string] $LoadBefore, [string] $LoadAfter, [TimeSpan] $Elapsed) {
    $lines = [Collections.Generic.List[string]]::new()
    $lines.Add('| Scenario | Goal (module / rclone) | Module | rclone | AWS CLI | Module / rclone | AWS CLI / rclone | Met | Module: Sync-ChittyFolder call alone (its ratio to rclone) | Peak RSS MB (module / rclone / aws) | s3rver CPU s per run (module / rclone / aws) |')
    $lines.Add('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    foreach ($s in $Results) {
        $t = @{}; $rss = @{}; $s3 = @{}
        foreach ($c in $Contenders) {
            $t[$c] = Get-Stats $s.Samples[$c]
            $rss[$c] = (Get-Stats $s.Samples[$c] 'PeakRssMB').Max
            $s3[$c] = (Get-Stats $s.Samples[$c] 'S3CpuSeconds').Median
        }
        $ratio = $t['module'].Median / $t['rclone'].Median
        $awsRatio = $t['aws'].Median / $t['rclone'].Median
        $met = if ($s.GoalRatio -gt 0) { if ($ratio -le $s.GoalRatio) { 'yes' } else { 'no' } } else { '-' }
        if ($s.Id -like 'S2*' -or $s.Id -like 'S6*') {
            if ($s.Note -match 'NOT' -and $met -eq 'yes') { $met = 'no' }
        }
        if ($s.Id -like 'S6*') {
            $met = if ($rss['module'] -le 250) { 'yes (RSS)' } else { 'no (RSS)' }
        }
        $title = $s.Title + $(if ($s.Note) { "<br>$($s.Note)" } else { '' })
        $call = Get-Stats @($s.Samples['module'] | Where-Object { -not [double]::IsNaN($_.SyncSeconds) }) 'SyncSeconds'
        $callText = if ($call.Count -gt 0) { '{0} ({1:0.00})' -f (Format-Time $call), ($call.Median / $t['rclone'].Median) } else { 'n/a' }
        $lines.Add(('| {0} | {1} | {2} | {3} | {4} | {5:0.00} | {6:0.00} | {7} | {8} | {9:0} / {10:0} / {11:0} | {12:0.00} / {13:0.00} / {14:0.00} |' -f
                $title, $s.Goal, (Format-Time $t['module']), (Format-Time $t['rclone']), (Format-Time $t['aws']), $ratio, $awsRatio, $met, $callText,
                $rss['module'], $rss['rclone'], $rss['aws'], $s3['module'], $s3['rclone'], $s3['aws']))
    }
    $table = $lines -join "`n"

    $machine = Get-MachineDescription
    $doc = [Collections.Generic.List[string]]::new()
    $doc.Add('# Benchmarks: Sync-ChittyFolder, rclone and the AWS CLI')
    $doc.Add('')
    $doc.Add("Measured $((Get-Date).ToUniversalTime().ToString('yyyy-MM-dd HH:mm')) UTC by ``bench/Run-Bench.ps1``$(if ($Quick) { ' -Quick (tiny data sets: a smoke run, not a measurement)' }) in $([int]$Elapsed.TotalMinutes) min.")
    $doc.Add('Times are wall-clock seconds of the whole process (start-up included): median (min-max) of the rounds;')
    $doc.Add('ratios are of medians. Peak RSS is the largest of the rounds (`/usr/bin/time -v`).')
    $doc.Add('')
    $doc.Add($table)
    $doc.Add('')
    $doc.Add('## Machine')
    $doc.Add('')
    foreach ($k in $machine.Keys) { $doc.Add("- ${k}: $($machine[$k])") }
    $doc.Add("- Load average (1/5/15 min) before: $LoadBefore; after: $LoadAfter (other work was running on this machine).")
    $doc.Add('')
    $doc.Add('## Start-up (not sync work), median of {0} runs' -f $Plan.StartupRounds)
    $doc.Add('')
    $doc.Add('| Process | Time | Peak RSS MB |')
    $doc.Add('| --- | --- | --- |')
    foreach ($k in $Startup.Keys) {
        $doc.Add(('| {0} | {1:0.00} s ({2:0.00}-{3:0.00}) | {4:0} |' -f $k, $Startup[$k].Median, $Startup[$k].Min, $Startup[$k].Max, $Startup[$k].PeakRssMB))
    }
    $doc.Add('')
    $doc.Add('## How each contender runs')
    $doc.Add('')
    $doc.Add("- module: ``pwsh -NoProfile -NonInteractive -Command `"Import-Module ./ChittyConnect.psd1; Connect-Chitty; Sync-ChittyFolder <dir> -Prefix <p> -Transfers $Transfers -NoReport -Summary`"`` (the pinned PowerShell as ``dotnet pwsh.dll``; connection from CHITTY_* variables; state in its own CHITTY_CONFIG_DIR; the summary's counts printed as one line with ``-f``, as ``ConvertTo-Json`` would add about 0.2 s of its own loading to every run).")
    $doc.Add("- rclone: ``rclone sync <dir> bench:<bucket>/<p> --checksum --transfers $Transfers`` (remote from RCLONE_CONFIG_BENCH_*: s3, provider Other, force path style).")
    $doc.Add('- AWS CLI: `/usr/bin/aws s3 sync <dir> s3://<bucket>/<p> --delete --endpoint-url <s3rver>` (its default 10 concurrent requests; it compares size and time, not content).')
    $doc.Add('- Each scenario has a fresh s3rver (127.0.0.1, plain HTTP); each contender syncs into its own prefix of its bucket; the contenders take turns in rotating order.')
    $doc.Add('- `-NoReport` for the module throughout: the sync report goes to the ChittyConnect service, which the other two do not talk to, so no emulator runs.')
    $doc.Add('- First syncs (S1, S5, S6 first) upload into a fresh prefix every round; re-syncs (S2, S3, S4, S6 no-op) follow one untimed first sync per contender.')
    $doc.Add('')
    $analysis = Join-Path $PSScriptRoot 'analysis.md'
    if (Test-Path -LiteralPath $analysis) {
        # Hand-written: where the time goes and what limits each scenario (kept across runs).
        $doc.Add((Get-Content -LiteralPath $analysis -Raw).TrimEnd())
        $doc.Add('')
    }
    $doc.Add('## Re-run')
    $doc.Add('')
    $doc.Add('```sh')
    $doc.Add('dotnet tool restore && npm ci')
    $doc.Add('dotnet pwsh -NoProfile -File build.ps1 -Task Bench          # about 20 minutes; writes bench/results.md and the README table')
    $doc.Add('dotnet pwsh -NoProfile -File build.ps1 -Task Bench -Quick   # smoke run, about two minutes; writes bench/work/results-quick.md')
    $doc.Add('```')
    [pscustomobject]@{ Table = $table; Document = ($doc -join "`n") + "`n"; Machine = $machine }
}

function Update-Readme([string] $Table, $Machine) {
    $readme = Join-Path $RepoRoot 'README.md'
    $text = [IO.File]::ReadAllText($readme)
    $start = '<!-- bench:start -->'
    $end = '<!-- bench:end -->'
    $block = @(
        $start
        "Latest full run ($((Get-Date).ToUniversalTime().ToString('yyyy-MM-dd')), $($Machine['CPU']), $($Machine['Memory']); s3rver on loopback; details, start-up times and the machine in ``bench/results.md``):"
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

# --- Main -----------------------------------------------------------------------------------------------

Install-Peers
if (-not (Test-Path -LiteralPath (Join-Path $RepoRoot 'bin/ChittyConnect.PowerShell.dll'))) {
    throw "The module is not built: run 'dotnet pwsh -NoProfile -File build.ps1 -Task Build -Configuration $Configuration'."
}
if (-not (Test-Path -LiteralPath (Join-Path $RepoRoot 'node_modules/s3rver'))) {
    throw "s3rver is not installed: run 'npm ci' in $RepoRoot."
}
if (Test-Path -LiteralPath $WorkRoot) { Remove-Item -LiteralPath $WorkRoot -Recurse -Force }
$null = New-Item -ItemType Directory -Path $WorkRoot

# Room for the data sets and s3rver's copies of them (one scenario at a time; S4 needs the most:
# 4 GiB of files and three contenders' 4 GiB copies).
$needGiB = if ($Quick) { 1 } else { 18 }
$freeGiB = [IO.DriveInfo]::new($WorkRoot).AvailableFreeSpace / 1GB
$tmpFreeGiB = [IO.DriveInfo]::new([IO.Path]::GetTempPath()).AvailableFreeSpace / 1GB
if ([Math]::Min($freeGiB, $tmpFreeGiB) -lt $needGiB) {
    throw ('Not enough disk space: {0:0} GiB free in {1} and {2:0} GiB in {3}; the benchmark needs {4} GiB.' -f $freeGiB, $WorkRoot, $tmpFreeGiB, [IO.Path]::GetTempPath(), $needGiB)
}

Import-Module (Join-Path $RepoRoot 'build/ChittyStack.psm1') -Force
$loadBefore = Get-LoadAverage
$total = [Diagnostics.Stopwatch]::StartNew()
Write-Step "Benchmark ($(if ($Quick) { 'quick' } else { 'full' })), load average $loadBefore"

try {
    Write-Step 'Start-up of each contender'
    $startup = Measure-Startup

    # S1 and S2 share a data set: S2 re-syncs what S1 uploads.
    $small = Join-Path $WorkRoot 'data/small'
    New-SmallFiles $small $Plan.S1.Files $Plan.S1.Size 1
    Write-Step "S1: first sync of $($Plan.S1.Files) files of $($Plan.S1.Size / 1KB) KiB"
    $s1 = New-Scenario 'S1' "S1 first sync, $($Plan.S1.Files) x $($Plan.S1.Size / 1KB) KiB" '<= 0.5' 0.5
    Invoke-FirstSyncScenario $s1 $small $Plan.S1.Rounds

    Write-Step 'S2: re-sync of S1, nothing changed'
    $s2 = New-Scenario 'S2' "S2 re-sync of S1, nothing changed" '<= 1.0, no file read, no HEAD/GET' 1.0
    Invoke-ResyncScenario $s2 $small $Plan.S2.Rounds
    $reads = @($s2.Samples['module'] | ForEach-Object { $_.Summary } | Where-Object { $_ })
    $clean = $reads.Count -gt 0 -and -not ($reads | Where-Object {
            $_.FilesHashed -ne 0 -or $_.BytesHashed -ne 0 -or $_.Requests.Get -ne 0 -or $_.Requests.Head -ne 0 -or $_.Requests.Put -ne 0 })
    $s2.Note = if ($clean) {
        "module: 0 files read (FilesHashed 0, BytesHashed 0), requests $(Format-Requests $reads[0].Requests) in every round"
    }
    else {
        "module: NOT clean: $(($reads | ForEach-Object { "hashed $($_.FilesHashed) files, $(Format-Requests $_.Requests)" }) -join '; ')"
    }

    $changing = Join-Path $WorkRoot 'data/changing'
    New-SmallFiles $changing $Plan.S3.Files $Plan.S3.Size 3
    Write-Step "S3: re-sync after 1% of $($Plan.S3.Files) files changed"
    $s3 = New-Scenario 'S3' "S3 re-sync, 1% of $($Plan.S3.Files) files changed" '<= 0.5' 0.5
    Invoke-ResyncScenario $s3 $changing $Plan.S3.Rounds -BeforeRound {
        param($round)
        $n = Update-SomeFiles $changing 0.01 (1000 + $round)
        Write-Host "    round $($round + 1): $n files changed"
    }
    Remove-Item -LiteralPath (Join-Path $WorkRoot 'data') -Recurse -Force

    $large = Join-Path $WorkRoot 'data/large'
    Write-Step "S4: generating $($Plan.S4.Files) files of $($Plan.S4.Size / 1MB) MiB"
    New-LargeFiles $large $Plan.S4.Files $Plan.S4.Size 4
    Write-Step "S4: re-sync, nothing changed, of $($Plan.S4.Files) x $($Plan.S4.Size / 1MB) MiB"
    $s4 = New-Scenario 'S4' ("S4 re-sync, nothing changed, {0} x {1} MiB ({2:0.#} GiB)" -f $Plan.S4.Files, ($Plan.S4.Size / 1MB), ($Plan.S4.Files * $Plan.S4.Size / 1GB)) '<= 0.2' 0.2
    Invoke-ResyncScenario $s4 $large $Plan.S4.Rounds
    $s4.Note = 'first sync (setup, one run): ' + (($Contenders | ForEach-Object { '{0} {1:0.0} s' -f $_, $s4.Setup[$_].Seconds }) -join ', ')
    Remove-Item -LiteralPath (Join-Path $WorkRoot 'data') -Recurse -Force

    $one = Join-Path $WorkRoot 'data/one'
    New-LargeFiles $one 1 $Plan.S5.Size 5
    Write-Step "S5: first sync of one $($Plan.S5.Size / 1MB) MiB file"
    $s5 = New-Scenario 'S5' "S5 first sync, one $($Plan.S5.Size / 1MB) MiB file" '<= 0.6' 0.6
    Invoke-FirstSyncScenario $s5 $one $Plan.S5.Rounds
    Remove-Item -LiteralPath (Join-Path $WorkRoot 'data') -Recurse -Force

    $many = Join-Path $WorkRoot 'data/many'
    New-SmallFiles $many $Plan.S6.Files $Plan.S6.Size 6
    Write-Step "S6: first sync and no-op re-sync of $($Plan.S6.Files) files of $($Plan.S6.Size / 1KB) KiB"
    $s6a = New-Scenario 'S6a' "S6 first sync, $($Plan.S6.Files) x $($Plan.S6.Size / 1KB) KiB" 'report; RSS <= 250 MB' 0
    Invoke-FirstSyncScenario $s6a $many $Plan.S6.FirstRounds
    $s6b = New-Scenario 'S6b' "S6 no-op re-sync, $($Plan.S6.Files) files" 'report; RSS <= 250 MB' 0
    Invoke-ResyncScenario $s6b $many $Plan.S6.NoopRounds
    Remove-Item -LiteralPath (Join-Path $WorkRoot 'data') -Recurse -Force
}
finally {
    # The data sets are large: never leave them behind, also after a failure.
    foreach ($dir in 'data', 'S1', 'S2', 'S3', 'S4', 'S5', 'S6a', 'S6b') {
        $path = Join-Path $WorkRoot $dir
        if (Test-Path -LiteralPath $path) { Remove-Item -LiteralPath $path -Recurse -Force }
    }
}

$total.Stop()
$report = New-ResultsMarkdown $startup $loadBefore (Get-LoadAverage) $total.Elapsed
if ($Quick) {
    $out = Join-Path $WorkRoot 'results-quick.md'
    [IO.File]::WriteAllText($out, $report.Document)
}
else {
    $out = Join-Path $PSScriptRoot 'results.md'
    [IO.File]::WriteAllText($out, $report.Document)
    Update-Readme $report.Table $report.Machine
}
Write-Host ''
Write-Host $report.Table
Write-Host ''
Write-Step "Results: $out ($([int]$total.Elapsed.TotalMinutes) min $($total.Elapsed.Seconds) s)"
