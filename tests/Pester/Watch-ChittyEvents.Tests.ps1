#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }

Describe 'Watch-ChittyEvents' {
    BeforeAll {
        . $PSScriptRoot/_Common.ps1
        # The emulator ends every stream after 2 s, so a watch of a few seconds crosses several reconnects,
        # and it sends a heartbeat every second.
        $script:Stack = Start-ChittyStack -EmulatorArgs @('--sse-max-seconds', '2', '--sse-heartbeat-seconds', '1')
        $script:Connection = Connect-ChittyTestStack -Stack $Stack
        $script:Work = Join-Path ([IO.Path]::GetTempPath()) ('chitty-watch-' + [guid]::NewGuid().ToString('N').Substring(0, 12))
        $null = New-Item -ItemType Directory -Path $Work

        function New-TestFile([string] $Name, [string] $Folder = $script:Work) {
            $file = Join-Path $Folder $Name
            $null = New-Item -ItemType Directory -Path (Split-Path $file) -Force
            Set-Content -LiteralPath $file -Value "content of $Name $([guid]::NewGuid())" -NoNewline
            $file
        }
    }

    AfterAll {
        $script:Stack | Stop-ChittyStack
        if ($script:Work) { Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction SilentlyContinue }
    }

    It 'writes the uploads of another runspace as events with their types and payloads' {
        $files = 'one.txt', 'two.txt', 'three.txt' | ForEach-Object { New-TestFile $_ }
        $uploader = $null
        try {
            # The uploads start once the watch is connected: the service does not replay earlier events.
            $events = Watch-ChittyEvents -Type connected, 'context.files.up*' -First 4 -Timeout 60 | ForEach-Object {
                if ($_.Type -eq 'connected') {
                    $uploader = Start-ThreadJob -ScriptBlock {
                        param($Manifest, $Connection, $Files)
                        Import-Module $Manifest
                        $Files | Send-ChittyFile -Connection $Connection
                    } -ArgumentList $ManifestPath, $Connection, $files
                }
                $_
            }
            $sent = $uploader | Receive-Job -Wait -AutoRemoveJob -ErrorAction Stop
        }
        finally {
            if ($uploader) { $uploader | Remove-Job -Force -ErrorAction SilentlyContinue }
        }

        $events.Count | Should -Be 4
        $events[0].Type | Should -Be 'connected'
        $uploaded = $events | Select-Object -Skip 1
        $uploaded.Type | Should -Be (@('context.files.uploaded') * 3)
        $uploaded | ForEach-Object { $_ | Should -BeOfType ([ChittyConnect.Events.ChittyEvent]) }
        $uploaded.SessionId | Should -Be (@($Stack.SessionId) * 3)
        ($uploaded.Data.file.name | Sort-Object) | Should -Be @('one.txt', 'three.txt', 'two.txt')
        ($uploaded.Data.file.r2_key | Sort-Object) | Should -Be ($sent.R2Key | Sort-Object)
        # The service stamps connected and heartbeats, not file events: those carry the time they were received.
        $events[0].Timestamp | Should -BeOfType ([DateTimeOffset])
        $uploaded | ForEach-Object { $_.Timestamp | Should -BeNullOrEmpty; $_.Received | Should -BeOfType ([DateTimeOffset]) }
        $uploaded | ForEach-Object { ($_.Raw | ConvertFrom-Json).file.sha256 | Should -Be $_.Data.file.sha256 }
    }

    It 'loses none of the events sent after each of three stream ends, and says connected once' {
        $reconnects = 0
        $output = Watch-ChittyEvents -Type connected, context.files.uploaded -First 4 -Timeout 60 -Verbose 4>&1 | ForEach-Object {
            if ($_ -is [System.Management.Automation.VerboseRecord]) {
                if ($_.Message -like 'Reconnected to*') {
                    # Sent right after a reconnect: the stream is open and must deliver it.
                    $null = Send-ChittyFile -Path (New-TestFile "after-reconnect-$reconnects.txt")
                    $reconnects++
                }
            }
            else {
                $_
            }
        }

        $reconnects | Should -Be 3
        $output.Type | Should -Be @('connected', 'context.files.uploaded', 'context.files.uploaded', 'context.files.uploaded')
        ($output | Select-Object -Skip 1).Data.file.name |
            Should -Be @('after-reconnect-0.txt', 'after-reconnect-1.txt', 'after-reconnect-2.txt')
    }

    It 'writes the stream''s own events only with -IncludeStreamEvents or when -Type names them' {
        $quiet = Watch-ChittyEvents -Type '*' -Timeout 3
        $beats = Watch-ChittyEvents -Type nothing.at.all -IncludeStreamEvents -First 3 -Timeout 30
        $named = Watch-ChittyEvents -Type heartbeat -First 1 -Timeout 30

        $quiet | Should -BeNullOrEmpty
        $named.Type | Should -Be 'heartbeat'
        $beats.Type | Should -Be @('connected', 'heartbeat', 'heartbeat')
        $beats | Select-Object -Skip 1 | ForEach-Object { $_.SessionId | Should -BeNullOrEmpty }
        $beats[1].Data.uptime | Should -BeOfType ([long])
    }

    It 'writes exactly -First objects, and shows the stream''s own events with -Verbose' {
        $uploader = $null
        try {
            $output = Watch-ChittyEvents -First 2 -Timeout 60 -Verbose 4>&1 | ForEach-Object {
                if ($_ -is [System.Management.Automation.VerboseRecord]) {
                    if (-not $uploader -and $_.Message -like "The stream sent 'connected'*") {
                        $uploader = Start-ThreadJob -ScriptBlock {
                            param($Manifest, $Connection, $Files)
                            Import-Module $Manifest
                            $Files | Send-ChittyFile -Connection $Connection
                        } -ArgumentList $ManifestPath, $Connection, @('a.txt', 'b.txt', 'c.txt' | ForEach-Object { New-TestFile "first-$_" })
                    }
                    $_.Message
                }
                else { $_ }
            }
            $null = $uploader | Wait-Job -Timeout 60
        }
        finally {
            if ($uploader) { $uploader | Remove-Job -Force -ErrorAction SilentlyContinue }
        }

        $events = @($output | Where-Object { $_ -is [ChittyConnect.Events.ChittyEvent] })
        $events.Count | Should -Be 2
        $events.Type | Should -Be @('context.files.uploaded', 'context.files.uploaded')
        $output | Where-Object { $_ -is [string] } | Should -Contain "The stream sent 'connected': ChittyConnect streaming active."
    }

    It 'ends at -Timeout short of -First with the error ChittyWatchTimeout after what it wrote' {
        $errors = $null
        $out = Watch-ChittyEvents -Type heartbeat -First 1000 -Timeout 2.5 -ErrorVariable errors -ErrorAction SilentlyContinue

        @($out).Count | Should -BeGreaterThan 0
        @($out).Count | Should -BeLessThan 1000
        $errors.Count | Should -Be 1
        $errors[0].FullyQualifiedErrorId | Should -Be 'ChittyWatchTimeout,ChittyConnect.PowerShell.Commands.WatchChittyEventsCommand'
        $errors[0].CategoryInfo.Category | Should -Be 'OperationTimeout'
    }

    It 'ends at -Timeout without output or error when nothing matches' {
        $errors = $null
        $elapsed = Measure-Command {
            $script:out = Watch-ChittyEvents -Type context.files.committed -Timeout 2 -ErrorVariable errors
        }

        $script:out | Should -BeNullOrEmpty
        $errors | Should -BeNullOrEmpty
        $elapsed | Should -BeGreaterOrEqual ([timespan]::FromSeconds(1.9))
    }

    It 'stops promptly and without an error when the pipeline is stopped' {
        $runspace = [runspacefactory]::CreateRunspace()
        $runspace.Open()
        $ps = [powershell]::Create($runspace)
        try {
            $null = $ps.AddCommand('Import-Module').AddParameter('Name', $ManifestPath).Invoke()
            $ps.Commands.Clear()
            $seen = [hashtable]::Synchronized(@{})
            $null = $ps.AddScript('param($Connection, $Seen) Watch-ChittyEvents -Connection $Connection -IncludeStreamEvents | ForEach-Object { $Seen.Type = $_.Type }').
                AddArgument($Connection).AddArgument($seen)
            $null = $ps.BeginInvoke()
            $deadline = [DateTime]::UtcNow.AddSeconds(30)
            while (-not $seen.ContainsKey('Type') -and [DateTime]::UtcNow -lt $deadline) {
                Start-Sleep -Milliseconds 50
            }
            $seen['Type'] | Should -Be 'connected'

            $stopwatch = [System.Diagnostics.Stopwatch]::StartNew()
            $ps.Stop()
            $stopwatch.Stop()

            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
            # Count, not the items: enumerating a stream of a running PowerShell blocks until it ends.
            $ps.Streams.Error.Count | Should -Be 0
            $stopwatch.Elapsed | Should -BeLessThan ([timespan]::FromSeconds(2))
        }
        finally {
            $ps.Stop()
            $ps.Dispose()
            $runspace.Dispose()
        }
    }

    It 'fails with a stable error id when the endpoint has no event stream' {
        # The emulator under a path it does not serve: /missing/sse is a 404, which no retry can fix.
        $settings = [ChittyConnect.Configuration.ChittyConnectionSettings]@{
            Endpoint  = [uri]"$($Stack.EmulatorUri.AbsoluteUri.TrimEnd('/'))/missing/"
            ApiKey    = [ChittyConnect.Configuration.ChittySecret]::new($Stack.ApiKey)
            ChittyId  = $Stack.ChittyId
            SessionId = $Stack.SessionId
        }
        $bad = [ChittyConnect.ChittyConnection]::new($settings)

        { Watch-ChittyEvents -Connection $bad -Timeout 20 -ErrorAction Stop } |
            Should -Throw -ErrorId 'ChittyNotFound,ChittyConnect.PowerShell.Commands.WatchChittyEventsCommand'
    }

    It 'drives examples/Watch-And-Pull.ps1: a second device pulls what the first one syncs' {
        # The same folder name on both devices: the same default prefix, files/<session>/sync/shared/.
        $source = Join-Path $Work 'device-a/shared'
        $target = Join-Path $Work 'device-b/shared'
        $null = New-TestFile 'notes/today.md' $source
        $null = New-TestFile 'report.txt' $source
        $example = Join-Path $RepoRoot 'examples/Watch-And-Pull.ps1'
        $device = Start-ThreadJob -ScriptBlock {
            param($Manifest, $Example, $Connection, $Target)
            Import-Module $Manifest
            & $Example -Path $Target -Connection $Connection -First 1
        } -ArgumentList $ManifestPath, $example, $Connection, $target
        try {
            # Syncs until device B has pulled once: the first may come before its watch is connected.
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            $round = 0
            while ($device.State -in 'NotStarted', 'Running' -and [DateTime]::UtcNow -lt $deadline) {
                $null = New-TestFile "round-$round.txt" $source
                $null = Sync-ChittyFolder -Path $source -Direction Upload
                $round++
                $null = Wait-Job $device -Timeout 2
            }
            $device.State | Should -Be 'Completed'
            $pulled = $device | Receive-Job -ErrorAction Stop
        }
        finally {
            $device | Stop-Job -PassThru | Remove-Job -Force -ErrorAction SilentlyContinue
        }

        $pulled | Should -Not -BeNullOrEmpty
        Test-Path -LiteralPath (Join-Path $target 'notes/today.md') | Should -BeTrue
        Get-Content -LiteralPath (Join-Path $target 'report.txt') -Raw | Should -Be (Get-Content -LiteralPath (Join-Path $source 'report.txt') -Raw)
    }
}
