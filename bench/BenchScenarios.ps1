# Dot-sourced by bench/Run-Bench.ps1 (which holds the settings: $Plan, $WorkRoot, $Transfers, ...): the
# scenarios and their groups. A new scenario in a group is one block in its group's function: New-Scenario,
# Invoke-Rounds, a floor (Measure-Floor or Set-ComputedFloor), Save-Results; the report picks it up by its group.
# A new group is a function here, its name in Run-Bench.ps1's -Group and $groupRunners, and a section in
# BenchReport.ps1.

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
    # <Tag>1, <Tag>2, <Tag>3; $Over says how the clients reach s3rver, for the titles of the floors. The goals
    # are $GoalContender's; the first sync's floor sends $FloorConcurrency PUTs at a time.
    param($Ctx, [string] $Small, [string] $Tag, [string] $Group, [string[]] $Contenders, [double[]] $Goals,
        [int] $FirstRounds, [int] $NoopRounds, [int] $ChangedRounds, [int] $ChangeSeed, [string] $Over,
        [string] $GoalContender = 'session', [int] $FloorConcurrency = $Transfers)
    $files = $Plan.Small.Files
    $kib = $Plan.Small.Size / 1KB
    $p = $Tag.ToLowerInvariant()
    Write-Step "${Tag}1: first sync of $files files of $kib KiB$Over"
    $first = New-Scenario "${Tag}1" $Group "${Tag}1 first sync, $files x $kib KiB" $Contenders $files $Goals[0] $GoalContender
    $last = $FirstRounds - 1
    Invoke-Rounds $first $Ctx $Small $FirstRounds { param($c, $r) "${p}1/$c/r$r/" }
    Measure-Floor $first $Ctx @(, @('put', '--prefix', "floor/${p}1/", '--count', "$files", '--size', "$($Plan.Small.Size)")) "$files PUTs of $kib KiB, $FloorConcurrency at a time$Over" -Concurrency $FloorConcurrency
    Save-Results

    Write-Step "${Tag}2: re-sync of ${Tag}1, nothing changed$Over"
    $noop = New-Scenario "${Tag}2" $Group "${Tag}2 no-op re-sync of ${Tag}1" $Contenders $files $Goals[1] $GoalContender
    Invoke-Rounds $noop $Ctx $Small $NoopRounds { param($c, $r) "${p}1/$c/r$last/" }
    Measure-Floor $noop $Ctx @(, @('list', '--prefix', "${p}1/rclone/r$last/")) "a bare listing of $files keys$Over"
    $reads = @(foreach ($c in 'session', 'process', 'defaults') { Get-Samples $noop $c | ForEach-Object { $_.Summary } })
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
    param($Ctx, [string] $One, [string] $Id, [string] $Group, [string[]] $Contenders, [double] $Goal, [int] $Rounds, [string] $Over, [switch] $ComputedFloor,
        [string] $GoalContender = 'session')
    $mib = $Plan.One.Size / 1MB
    Write-Step "${Id}: first sync of one $mib MiB file$Over"
    $scenario = New-Scenario $Id $Group "$Id first sync, one $mib MiB file" $Contenders 1 $Goal $GoalContender
    Invoke-Rounds $scenario $Ctx $One $Rounds { param($c, $r) "$($Id.ToLowerInvariant())/$c/r$r/" }
    if ($ComputedFloor) {
        Set-ComputedFloor $scenario $Plan.One.Size
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

function Invoke-DefaultsGroup {
    # Issue 21, item 1: the module's defaults (no -Transfers: the store sizes its requests in flight by how the
    # link answers) beside -Transfers 8 and rclone --transfers 8, in one run, on loopback and over the WAN proxy
    # at 30 and 150 ms each way. The first sync's floor over the WAN sends as many PUTs at a time as the
    # defaults may (the window's cap, 64). DW4's goal is against its floor, the link's rate (computed), not rclone:
    # the table's 'Defaults / floor' column (<= 1.1).
    $clients = @('defaults', 'session', 'rclone')
    $cap = 64
    $small = Join-Path $WorkRoot 'data/small'
    New-SmallFiles $small $Plan.Small.Files $Plan.Small.Size 31
    Use-Stack 'defaults-loopback' {
        param($ctx)
        Invoke-SmallFileScenarios $ctx $small 'DL' 'Defaults' $clients @(0.55, 0.35) $Plan.DefaultsRounds $Plan.DefaultsRounds 0 0 ' (loopback)' -GoalContender 'defaults'
    }
    Use-Stack 'defaults-wan' -Wan {
        param($ctx)
        Invoke-SmallFileScenarios $ctx $small 'DW' 'Defaults' $clients @(0.25, 0.5) $Plan.DefaultsRounds $Plan.DefaultsRounds 0 0 ' through the WAN proxy' -GoalContender 'defaults' -FloorConcurrency $cap
    }
    Use-Stack 'defaults-far' -Wan -DelayMs 150 {
        param($ctx)
        Invoke-SmallFileScenarios $ctx $small 'DF' 'Defaults' $clients @(0.25, 0.5) $Plan.FarRounds $Plan.FarRounds 0 0 ' through the WAN proxy at 150 ms each way' -GoalContender 'defaults' -FloorConcurrency $cap
    }
    Remove-Item -LiteralPath (Join-Path $WorkRoot 'data') -Recurse -Force

    $one = Join-Path $WorkRoot 'data/one'
    New-LargeFiles $one 1 $Plan.One.Size 35
    Use-Stack 'defaults-wan-one' -Wan {
        param($ctx)
        Invoke-OneFileScenario $ctx $one 'DW4' 'Defaults' $clients 0 $Plan.WanOneRounds ' through the WAN proxy' -ComputedFloor -GoalContender 'defaults'
    }
    Remove-Item -LiteralPath (Join-Path $WorkRoot 'data') -Recurse -Force
    Set-FloorGoals
}

function Set-FloorGoals {
    # Issue 21's goals against a scenario's floor (the table's 'Defaults / floor' column): the first syncs over
    # the link within 2 x the floor at the cap in flight, 256 MiB within 1.1 x the link's, the loopback no-op
    # within 1.3 x a bare listing.
    $goals = @{ DW1 = 2.0; DF1 = 2.0; DW4 = 1.1; DL2 = 1.3 }
    foreach ($s in @($Results | Where-Object { $goals.ContainsKey($_.Id) })) {
        $s | Add-Member -NotePropertyName FloorGoal -NotePropertyValue $goals[$s.Id] -Force
    }
    Save-Results
}

function Invoke-Issue21Group {
    # Every goal of issue 21 in one run: item 1 (the Defaults group), item 2's S5 in a session with the
    # defaults beside -Transfers 8 and rclone (D5: 256 MiB on loopback, the session's first multipart call in
    # its first round), and the measurement scripts of items 2-5 as they print (the first call of a fresh
    # session against a warm one, encrypted against plain both ways, the CPU per PUT): bench/results.md shows
    # their lines beside the tables.
    Invoke-DefaultsGroup
    $one = Join-Path $WorkRoot 'data/one'
    New-LargeFiles $one 1 $Plan.One.Size 45
    Use-Stack 'defaults-one' {
        param($ctx)
        Invoke-OneFileScenario $ctx $one 'D5' 'Defaults' @('defaults', 'session', 'rclone') 0.8 $Plan.OneRounds ' (loopback)' -GoalContender 'defaults'
    }
    Remove-Item -LiteralPath (Join-Path $WorkRoot 'data') -Recurse -Force

    $RunInfo['Measurements'] = [ordered]@{}
    foreach ($name in $Plan.Measurements.Keys) {
        $m = $Plan.Measurements[$name]
        Write-Step "${name}: bench/$($m.Script) $($m.Arguments -join ' ')"
        $command = @(Get-PwshCommand) + @('-NoProfile', '-NonInteractive', '-File', (Join-Path $PSScriptRoot $m.Script)) + $m.Arguments
        $lines = @(& $command[0] @($command | Select-Object -Skip 1) 2>&1 | ForEach-Object { "$_" })
        $lines | ForEach-Object { Write-Host "    $_" }
        $RunInfo['Measurements'][$name] = [ordered]@{ Command = "bench/$($m.Script) $($m.Arguments -join ' ')"; ExitCode = $LASTEXITCODE; Lines = $lines }
        Save-Results
    }
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
    $file = Get-ChildItem -LiteralPath (Join-Path $Ctx.StateDir 'sync-state') -Filter '*.state' | Sort-Object LastWriteTimeUtc | Select-Object -Last 1
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
