# Dot-sourced by bench/Run-Bench.ps1 (which holds the settings: $Plan, $WorkRoot, $Transfers, ...): the
# contenders and what they run against: helpers, s3rver and the WAN proxy (build/ChittyStack.psm1), the
# module's long-lived session, and one timed run of one contender with its CPU, memory and requests.

. (Join-Path $PSScriptRoot 'BenchSupport.ps1')

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

function New-ChildStartInfo([string[]] $CommandLine, [hashtable] $Environment) {
    # A child of the bench in $WorkRoot, its standard output read by the bench, with $Environment over this
    # process's variables but AWS_CA_BUNDLE: rclone must run without it; the AWS CLI gets it only where a
    # scenario sets it.
    $psi = [Diagnostics.ProcessStartInfo]::new($CommandLine[0])
    foreach ($a in @($CommandLine | Select-Object -Skip 1)) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true
    $psi.UseShellExecute = $false
    $psi.WorkingDirectory = $WorkRoot
    $null = $psi.Environment.Remove('AWS_CA_BUNDLE')
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = $Environment[$k] }
    $psi
}

function Invoke-Timed {
    # Runs one command under /usr/bin/time -v; returns wall seconds, peak RSS, CPU and the output.
    param([string[]] $Command, [hashtable] $Environment = @{}, [int] $S3Pid = 0, [string] $Label)
    $timeFile = Join-Path $WorkRoot 'time-v.txt'
    $psi = New-ChildStartInfo (@($Time, '-v', '-o', $timeFile) + $Command) $Environment
    $psi.RedirectStandardError = $true
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

function Start-WanProxy([uri] $Upstream, [string[]] $Names, [int] $DelayMs = $WanLink.DelayMs) {
    $psi = [Diagnostics.ProcessStartInfo]::new('node')
    $arguments = @($ProxyScript, '--upstream', "$($Upstream.Host):$($Upstream.Port)", '--delay-ms', "$DelayMs",
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
    $psi = New-ChildStartInfo (@(Get-PwshCommand) + @('-NoProfile', '-NonInteractive', '-File', $SessionScript, '-Manifest', $Manifest)) $Environment
    $psi.RedirectStandardInput = $true
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
    Get-BenchConnectionEnvironment $Ctx.Stack $Endpoint $Ctx.StateDir
}

function Use-Stack {
    # Starts s3rver (over HTTPS with -Https), the WAN proxy in front of it (-Wan) and the module's session,
    # connected and warmed up by one call on another prefix; runs $Body with them; stops them all. -DelayMs sets
    # the WAN proxy's delay each way (default $WanLink's).
    param([string] $Name, [scriptblock] $Body, [switch] $Https, [switch] $Wan, [int] $DelayMs = $WanLink.DelayMs)
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
            $proxy = Start-WanProxy $stack.S3Uri $names $DelayMs
            $ctx.Proxy = $proxy
            foreach ($n in $names) { $ctx.Endpoints[$n] = "http://127.0.0.1:$($proxy.Ports[$n])" }
        }
        else {
            foreach ($n in $names) { $ctx.Endpoints[$n] = $direct }
        }
        Write-Host "    s3rver $direct (pid $($ctx.S3Pid))$(if ($Wan) { ", through the WAN proxy ($DelayMs ms each way)" })$(if ($Https) { ', HTTPS' })"
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
    # 'defaults' is the same session as 'session', its call without -Transfers.
    if ($Contender -in 'session', 'defaults') {
        $id = $Ctx.Session.Process.Id
        Reset-PeakRss $id
        $cpuBefore = Get-ProcessCpuSeconds $id
        $s3Before = Get-ProcessCpuSeconds $Ctx.S3Pid
        $reply = Send-SessionCommand $Ctx.Session @{ Op = 'sync'; Path = $Source; Prefix = $Prefix; Transfers = $(if ($Contender -eq 'defaults') { 0 } else { $Transfers }) }
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
        $name = if ($Contender -eq 'defaults') { 'session' } else { $Contender }
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
