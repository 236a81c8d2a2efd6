# Dot-sourced by bench/Run-Bench.ps1 (which holds the settings: $Plan, $WorkRoot, $Transfers, ...): bench/results.md
# and the README table, rendered from the saved results (so that -ReportOnly renders the same).

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
    $groups = [ordered]@{ Defaults = 'the defaults, in a session'; Loopback = 'in a session, loopback'; Wan = 'in a session, over the WAN proxy'; Https = 'in a session, HTTPS'; Scale = '' }
    foreach ($g in $groups.Keys) {
        foreach ($s in @($Data.Scenarios | Where-Object { $_.Group -eq $g })) {
            if ($g -eq 'Scale' -and $s.GoalText -eq 'report') { continue }
            $c = if (@(Get-Samples $s $s.GoalContender).Count) { $s.GoalContender } else { 'process' }
            $module = Get-Stats (Get-Samples $s $c)
            $rclone = Get-Stats (Get-Samples $s 'rclone')
            $aws = Get-Stats (Get-Samples $s 'aws')
            $goal = if ($g -eq 'Scale') { $s.GoalText }
            elseif ($s.GoalRatio -le 0 -and $s.PSObject.Properties['FloorGoal']) { "<= $($s.FloorGoal) x the floor" }
            else { "<= $($s.GoalRatio)" }
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

function New-DefaultsTable($Scenarios) {
    # The module without -Transfers beside -Transfers 8 and rclone --transfers 8 (issue 21, item 1).
    $lines = [Collections.Generic.List[string]]::new()
    # Goals against rclone (the ratio) and, where issue 21 sets one, against the floor (FloorGoal).
    $lines.Add('| Scenario | Goal | Module, defaults | Module, -Transfers 8 | rclone | Defaults / rclone | -Transfers 8 / rclone | Floor | Defaults / floor | Met | Requests on the wire (defaults / -Transfers 8 / rclone) |')
    $lines.Add('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
    foreach ($s in $Scenarios) {
        $t = @{}
        foreach ($c in 'defaults', 'session', 'rclone') { $t[$c] = Get-Stats (Get-Samples $s $c) }
        $verdict = Get-Verdict $s
        $floorGoal = if ($s.PSObject.Properties['FloorGoal']) { [double]$s.FloorGoal } else { 0 }
        $floorRatio = if ($s.Floor) { $t['defaults'].Median / $s.Floor.Seconds } else { [double]::NaN }
        $goals = @()
        $met = @()
        if ($s.GoalRatio -gt 0) { $goals += "<= $($s.GoalRatio) of rclone"; $met += $verdict.Text }
        if ($floorGoal -gt 0) {
            $goals += "<= $floorGoal x the floor"
            $met += '{0} ({1} x the floor)' -f $(if ($floorRatio -le $floorGoal) { 'yes' } else { 'no' }), (Format-Number $floorRatio)
        }
        $wire = (@('defaults', 'session', 'rclone') | ForEach-Object { Get-WirePerFile $s $_ }) -join ' / '
        $title = $s.Title + $(if (@($s.Notes).Count) { '<br>' + (@($s.Notes) -join '<br>') } else { '' })
        $lines.Add(('| {0} | {1} | {2} | {3} | {4} | {5} | {6} | {7} | {8} | {9} | {10} |' -f $title, $(if ($goals.Count) { $goals -join '; ' } else { '-' }), (Format-Time $t['defaults']), (Format-Time $t['session']),
                (Format-Time $t['rclone']), (Format-Number $verdict.Ratio), (Format-Number ($t['session'].Median / $t['rclone'].Median)), (Format-Floor $s), (Format-Number $floorRatio),
                $(if ($met.Count) { $met -join '; ' } else { '-' }), $wire))
    }
    $lines -join "`n"
}

function Add-GoalSection($Doc, $Data, [string] $GroupName, [string] $Heading) {
    $scenarios = @($Data.Scenarios | Where-Object { $_.Group -eq $GroupName })
    if (-not $scenarios.Count) { return }
    $Doc.Add('')
    $Doc.Add($Heading)
    $Doc.Add('')
    $Doc.Add($(if ($GroupName -eq 'Defaults') { New-DefaultsTable $scenarios } else { New-GoalTable $scenarios -Wire:($GroupName -eq 'Wan') }))
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
    $defaults = @($Data.Scenarios | Where-Object { $_.Group -eq 'Defaults' })
    if ($defaults.Count) {
        # The headline: what people run (no -Transfers), with -Transfers 8 beside it (issue 21).
        $doc.Add('')
        $doc.Add('## Headline: the defaults, with -Transfers 8 beside them (issue 21)')
        $doc.Add('')
        $doc.Add('In a session: loopback (DL, D5), the WAN proxy (DW: 30 ms each way, 100 Mbit/s) and the WAN proxy at 150 ms each way (DF, a far region); the module without -Transfers (''defaults''), with -Transfers 8, and rclone --transfers 8. A first sync''s floor over the link sends 64 PUTs at a time (the window''s cap); DW4''s floor is the link''s rate (computed).')
        $doc.Add('')
        $doc.Add((New-DefaultsTable $defaults))
        $measurements = $Data.PSObject.Properties['Measurements']
        if ($measurements -and $measurements.Value) {
            foreach ($p in $measurements.Value.PSObject.Properties) {
                $doc.Add('')
                $doc.Add("### $($p.Name): ``$($p.Value.Command)``$(if ($p.Value.ExitCode -ne 0) { " (exit code $($p.Value.ExitCode))" })")
                $doc.Add('')
                $doc.Add('```text')
                foreach ($line in @($p.Value.Lines)) { $doc.Add($line) }
                $doc.Add('```')
            }
        }
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
    $doc.Add('dotnet pwsh -NoProfile -File bench/Run-Bench.ps1 -Group Issue21  # every goal of issue 21, the defaults as the headline: about 17 minutes')
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
