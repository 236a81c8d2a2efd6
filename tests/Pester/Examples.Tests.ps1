#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }

# The examples as their comments say to run them: the module installed by name (the package, with
# Install-PSResource, in a home with nothing else in it), each script run in a new process from a folder
# that is not the repository, the scheduled-sync script from where its comment copies it (~/bin), and
# its cron and systemd lines run as the scheduler would, with only the variables the scheduler sets.
BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:Stack = Start-ChittyStack
    $script:Connection = Connect-ChittyTestStack -Stack $Stack
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ('chitty-example-' + [guid]::NewGuid().ToString('N').Substring(0, 12))
    $script:UserHome = (Install-ChittyPackage -Work $Work).Home
    $script:Elsewhere = Join-Path $Work 'elsewhere'
    $null = New-Item -ItemType Directory -Path $Elsewhere -Force
    # Where the scheduled-sync comment copies the script; the other examples keep their folder, copied out of the repository.
    $null = New-Item -ItemType Directory -Path (Join-Path $UserHome 'bin') -Force
    Copy-Item -LiteralPath (Join-Path $RepoRoot 'examples/Invoke-ScheduledSync.ps1') -Destination (Join-Path $UserHome 'bin')
    Copy-Item -LiteralPath (Join-Path $RepoRoot 'examples') -Destination $Elsewhere -Recurse
    $script:Scheduled = Join-Path $UserHome 'bin/Invoke-ScheduledSync.ps1'

    # The stack's CHITTY_* variables; the module's configuration (profiles, state) in the clean home.
    function Get-ExampleEnvironment([switch] $WithoutStack) {
        $environment = Get-CleanHomeEnvironment -UserHome $UserHome
        if (-not $WithoutStack) {
            $stackEnvironment = Get-ChittyStackEnvironment -Stack $Stack
            foreach ($name in $stackEnvironment.Keys) { $environment[$name] = $stackEnvironment[$name] }
        }
        $environment
    }

    function Invoke-ScheduledSyncExample([string] $Arguments, [hashtable] $Environment = (Get-ExampleEnvironment)) {
        Invoke-ChittyPwsh -Environment $Environment -WorkingDirectory $Elsewhere -Command "& '$Scheduled' $Arguments; exit `$LASTEXITCODE"
    }

    function Read-RunLog([string] $Path) {
        @(Get-Content -LiteralPath $Path | ForEach-Object { $_ | ConvertFrom-Json })
    }

    function New-ExampleFolder([string] $Name, [hashtable] $Files) {
        $folder = Join-Path $Work $Name
        foreach ($relative in $Files.Keys) {
            $path = Join-Path $folder $relative
            $null = New-Item -ItemType Directory -Path (Split-Path $path) -Force
            Set-Content -LiteralPath $path -Value $Files[$relative] -NoNewline
        }
        $folder
    }
}

AfterAll {
    $script:Stack | Stop-ChittyStack
    if ($script:Work) { Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'examples/Invoke-ScheduledSync.ps1' {
    It 'syncs -Path into -Prefix with the installed module from another folder, -NoDelete keeping what the folder lacks, and logs the run' {
        $prefix = "backup/$($Stack.SessionId)/scheduled"
        $other = New-ExampleFolder 'other-device' @{ 'theirs.txt' = 'another device' }
        $null = Sync-ChittyFolder -Path $other -Prefix $prefix
        $folder = New-ExampleFolder 'scheduled' @{ 'a.txt' = 'alpha'; 'sub/b.txt' = 'beta' }
        $log = Join-Path $Work 'logs/scheduled.log'

        $run = Invoke-ScheduledSyncExample "-Path '$folder' -Prefix '$prefix' -NoDelete -LogFile '$log' -IgnoreFile '$(Join-Path $Work 'none')'"

        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        $remote = Get-RcloneMd5 -Stack $Stack -Path "$($Stack.Bucket)/$prefix"
        $remote.Keys | Sort-Object | Should -Be @('a.txt', 'sub/b.txt', 'theirs.txt')
        $remote['sub/b.txt'] | Should -Be (Get-FileHash -LiteralPath (Join-Path $folder 'sub/b.txt') -Algorithm MD5).Hash.ToLowerInvariant()
        $lines = Read-RunLog $log
        ($lines | Where-Object type -eq 'run').message | Should -Contain "Run of '$Scheduled' for '$folder' started"
        @($lines | Where-Object { $_.PSObject.Properties['action'] -and $_.action -eq 'Uploaded' }).Count | Should -Be 2
        ($lines | Where-Object type -eq 'run' | Select-Object -Last 1).message | Should -Match '^Sync complete: 2 uploaded, 0 deleted'
    }

    It 'logs a run that fails before its sync starts, and exits 2: <Case>' -ForEach @(
        @{ Case = 'the folder is missing'; Arguments = "-Path '{work}/no-such-folder' -Prefix backup/missing"; WithoutStack = $false; Why = 'no-such-folder' }
        @{ Case = 'a profile that does not exist'; Arguments = "-Path '{work}/scheduled' -Profile nosuchprofile"; WithoutStack = $true; Why = 'nosuchprofile' }
    ) {
        $log = Join-Path $Work "logs/failed-$([guid]::NewGuid().ToString('N').Substring(0, 6)).log"
        $null = New-ExampleFolder 'scheduled' @{ 'a.txt' = 'alpha' }

        $run = Invoke-ScheduledSyncExample "$($Arguments.Replace('{work}', $Work)) -LogFile '$log'" -Environment (Get-ExampleEnvironment -WithoutStack:$WithoutStack)

        $run.ExitCode | Should -Be 2 -Because ($run.Output -join "`n")
        $messages = (Read-RunLog $log | Where-Object type -eq 'run').message
        $messages[0] | Should -BeLike "Run of '$Scheduled' for '*' started"
        $messages[-1] | Should -Match '^Sync did not run: '
        $messages[-1] | Should -Match $Why
    }

    It 'logs and exits 2 when the module is not installed' {
        $bare = Join-Path $Work 'bare-home'
        $null = New-Item -ItemType Directory -Path $bare -Force
        $environment = Get-CleanHomeEnvironment -UserHome $bare
        $log = Join-Path $Work 'logs/no-module.log'

        $run = Invoke-ChittyPwsh -Environment $environment -WorkingDirectory $Elsewhere -Command "& '$Scheduled' -Path '$Work' -LogFile '$log'; exit `$LASTEXITCODE"

        $run.ExitCode | Should -Be 2 -Because ($run.Output -join "`n")
        (Read-RunLog $log | Select-Object -Last 1).message | Should -Match "^Sync did not run: .*ChittyConnect"
    }

    It 're-creates its session when the service lost it, and leaves an existing one alone' {
        $folder = New-ExampleFolder 'sessions' @{ 'notes.txt' = 'scheduled sync' }
        $prefix = "backup/$($Stack.SessionId)/sessions"
        $arguments = "-Path '$folder' -Prefix '$prefix' -IgnoreFile '$(Join-Path $Work 'none')' -LogFile '$(Join-Path $Work 'logs/sessions.log')'"
        $null = New-ChittySession -SessionId $Stack.SessionId -Metadata @{ device = 'first' }
        $kept = Invoke-ScheduledSyncExample $arguments
        $kept.ExitCode | Should -Be 0 -Because ($kept.Output -join "`n")
        ($kept.Output -join "`n") | Should -Not -Match 're-created'
        (Get-ChittySession -SessionId $Stack.SessionId).Metadata.device | Should -Be 'first'

        # The service's session store restarts and forgets every session.
        $null = Invoke-RestMethod -Method Post -Uri ([uri]::new($Stack.EmulatorUri, '_emulator/sessions/restart'))
        { Get-ChittySession -SessionId $Stack.SessionId -ErrorAction Stop } | Should -Throw -ErrorId 'ChittySessionNotFound*'

        $recreated = Invoke-ScheduledSyncExample $arguments
        $recreated.ExitCode | Should -Be 0 -Because ($recreated.Output -join "`n")
        ($recreated.Output -join "`n") | Should -Match "Session '$([regex]::Escape($Stack.SessionId))' was missing on the service .* re-created it"
        $session = Get-ChittySession -SessionId $Stack.SessionId
        $session.Id | Should -Be $Stack.SessionId
        $session.Metadata.createdBy | Should -Be 'Invoke-ScheduledSync.ps1'
    }

    Context 'scheduled as its comment says' {
        BeforeAll {
            # A profile saved once, as the comment asks, into the clean home's configuration folder.
            $save = Invoke-ChittyPwsh -Environment (Get-ExampleEnvironment -WithoutStack) -WorkingDirectory $Elsewhere -Command @"
`$ErrorActionPreference = 'Stop'
`$cred = [pscredential]::new('$($Stack.S3AccessKey)', (ConvertTo-SecureString '$($Stack.S3SecretKey)' -AsPlainText -Force))
Connect-Chitty -Endpoint '$($Stack.EmulatorUri)' -ApiKey (ConvertTo-SecureString '$($Stack.ApiKey)' -AsPlainText -Force) -ChittyId '$($Stack.ChittyId)' -SessionId '$($Stack.SessionId)' -R2Endpoint '$($Stack.S3Uri)' -Bucket '$($Stack.Bucket)' -R2Credential `$cred -Save -Name work | Out-Null
"@
            if ($save.ExitCode -ne 0) { throw "Saving the profile failed: $($save.Output -join "`n")" }
            # The folder the script syncs by default, the guide's ~/Documents/chittyos-data.
            $script:Documents = Join-Path $UserHome 'Documents/chittyos-data'
            # `pwsh` as an installed PowerShell puts it on the PATH (/usr/bin/pwsh): here it is this same PowerShell.
            $script:Shim = Join-Path $Work 'shim'
            $null = New-Item -ItemType Directory -Path $Shim -Force
            $pwshLine = (Get-PwshCommandLine | ForEach-Object { "'$_'" }) -join ' '
            Set-Content -LiteralPath (Join-Path $Shim 'pwsh') -Value "#!/bin/sh`nexec $pwshLine `"`$@`""
            & chmod +x (Join-Path $Shim 'pwsh')
            $script:Comment = Get-Content -LiteralPath (Join-Path $RepoRoot 'examples/Invoke-ScheduledSync.ps1') -Raw

            function Invoke-AsScheduler([string] $CommandLine, [string] $Path) {
                # Only what cron (or a systemd user manager) gives a job: HOME, LOGNAME, SHELL and a plain PATH.
                $output = & /usr/bin/env -i "HOME=$UserHome" 'LOGNAME=chitty' 'SHELL=/bin/sh' "PATH=$Shim`:$Path" /bin/sh -c $CommandLine 2>&1
                [pscustomobject]@{ Output = @($output | ForEach-Object { "$_" }); ExitCode = $LASTEXITCODE }
            }

            function Assert-SyncedByDefault([string] $Name) {
                # Wherever the module's default prefix puts it under the session: found by name, with its bytes.
                $remote = Get-RcloneMd5 -Stack $Stack -Path "$($Stack.Bucket)/files/$($Stack.SessionId)"
                $keys = @($remote.Keys | Where-Object { $_ -eq $Name -or $_ -like "*/$Name" })
                $keys.Count | Should -Be 1 -Because "one object named $Name is expected among: $($remote.Keys -join ', ')"
                $remote[$keys[0]] | Should -Be (Get-FileHash -LiteralPath (Join-Path $Documents $Name) -Algorithm MD5).Hash.ToLowerInvariant()
            }
        }

        It 'runs its cron line' {
            $line = [regex]::Match($Comment, '(?m)^\s*cron:\s+((?:\S+\s+){5})(.+)$')
            $line.Success | Should -BeTrue
            $null = New-Item -ItemType Directory -Path $Documents -Force
            Set-Content -LiteralPath (Join-Path $Documents 'cron.txt') -Value 'hourly' -NoNewline

            $run = Invoke-AsScheduler $line.Groups[2].Value.Trim() '/usr/bin:/bin'

            $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
            Assert-SyncedByDefault 'cron.txt'
            (Read-RunLog (Join-Path $UserHome '.chitty-sync.log') | Where-Object type -eq 'run' | Select-Object -Last 1).message | Should -Match '^Sync complete: '
        }

        It 'runs its systemd ExecStart line' {
            $line = [regex]::Match($Comment, '(?m)^\s*ExecStart=(.+)$')
            $line.Success | Should -BeTrue
            Set-Content -LiteralPath (Join-Path $Documents 'systemd.txt') -Value 'timer' -NoNewline

            # %h is the unit's specifier for the user's home.
            $run = Invoke-AsScheduler $line.Groups[1].Value.Trim().Replace('%h', $UserHome) '/usr/local/bin:/usr/bin:/bin'

            $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
            Assert-SyncedByDefault 'systemd.txt'
        }
    }
}

Describe 'The other examples, run as their comments say with the installed module' {
    It 'examples/Quickstart.ps1 from the CHITTY_* variables' {
        $run = Invoke-ChittyPwsh -Environment (Get-ExampleEnvironment) -WorkingDirectory $Elsewhere -Command "./examples/Quickstart.ps1; exit `$LASTEXITCODE"
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        ($run.Output -join "`n") | Should -Match 'resource://connect/'
    }

    It 'examples/SyncQuickstart.ps1 from the CHITTY_* variables (as build.ps1 -Task Demo runs it)' {
        # As on another machine than the scheduled-sync examples': on theirs, ~/Documents/chittyos-data holds the
        # default prefix of a folder of that name, and the quickstart's sample folder would be refused it.
        $environment = Get-ExampleEnvironment
        $environment.CHITTY_STATE_DIR = Join-Path $Work 'quickstart-machine-state'
        $run = Invoke-ChittyPwsh -Environment $environment -WorkingDirectory $Elsewhere -Command "./examples/SyncQuickstart.ps1; exit `$LASTEXITCODE"
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        ($run.Output -join "`n") | Should -Match '"type":"summary"'
    }

    It 'examples/Sync-TwoDevices.ps1 from the CHITTY_* variables' {
        $run = Invoke-ChittyPwsh -Environment (Get-ExampleEnvironment) -WorkingDirectory $Elsewhere -Command @"
`$result = ./examples/Sync-TwoDevices.ps1 -WorkFolder '$(Join-Path $Work 'two-devices')' 6>`$null
'conflict: ' + `$result.Conflict.Action
'alike: ' + ((`$result.Laptop.Keys -join ',') -eq (`$result.Desktop.Keys -join ','))
"@
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        $run.Output | Should -Contain 'conflict: Conflict'
        $run.Output | Should -Contain 'alike: True'
    }

    It 'examples/Watch-And-Pull.ps1 -PullFirst -First 1 from the CHITTY_* variables' {
        $source = New-ExampleFolder 'watch-source' @{ 'pulled.txt' = 'pull me' }
        $prefix = "backup/$($Stack.SessionId)/watch"
        $target = Join-Path $Work 'watch-target'

        # Its second example: catch up, then wait for one sync and pull it. The other device (a thread job of
        # the same process) syncs until the example has seen a sync: the first may come before its watch is connected.
        $run = Invoke-ChittyPwsh -Environment (Get-ExampleEnvironment) -WorkingDirectory $Elsewhere -Command @"
`$ErrorActionPreference = 'Stop'
Sync-ChittyFolder -Path '$source' -Prefix '$prefix' | Out-Null
`$otherDevice = Start-ThreadJob {
    foreach (`$round in 1..30) {
        Start-Sleep -Seconds 2
        Set-Content -LiteralPath (Join-Path '$source' "round-`$round.txt") -Value `$round
        Sync-ChittyFolder -Path '$source' -Prefix '$prefix' | Out-Null
    }
}
try { ./examples/Watch-And-Pull.ps1 -Path '$target' -Prefix '$prefix' -PullFirst -First 1 | Out-Null }
finally { `$otherDevice | Stop-Job -PassThru | Remove-Job -Force }
"@
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        Get-Content -LiteralPath (Join-Path $target 'pulled.txt') -Raw | Should -Be 'pull me'
        Test-Path -LiteralPath (Join-Path $target 'round-1.txt') | Should -BeTrue
    }
}
