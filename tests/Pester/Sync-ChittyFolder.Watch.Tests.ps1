#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Sync-ChittyFolder -Watch against the local stack, as a user leaves it running: in a thread job, changed on
# both sides (locally by hand, remotely by rclone), through an outage of the store, stopped by Stop-Job and
# by SIGTERM. Each wait has a deadline and then asserts what a user would see; none retries a failed check.

BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:rclone = Get-Command rclone -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $rclone) { throw 'rclone is not installed (apt-get install -y rclone; .ci/run does it): the remote changes are made with it.' }
    $script:stack = Start-ChittyStack
    $script:work = Join-Path ([IO.Path]::GetTempPath()) ("chitty-pester-watch-" + [guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Path $work | Out-Null
    $script:savedConfigDir = $env:CHITTY_CONFIG_DIR
    $env:CHITTY_CONFIG_DIR = Join-Path $work 'config'
    $script:connection = Connect-Chitty -Endpoint $stack.EmulatorUri -ApiKey $stack.SecureApiKey -ChittyId $stack.ChittyId -SessionId $stack.SessionId `
        -R2Endpoint $stack.S3Uri -Bucket $stack.Bucket -R2Credential $stack.S3Credential

    # rclone sees the bucket through its own S3 client: what it lists is what another tool sees.
    $script:rcloneEnv = @{
        RCLONE_CONFIG_WATCHSTACK_TYPE              = 's3'
        RCLONE_CONFIG_WATCHSTACK_PROVIDER          = 'Other'
        RCLONE_CONFIG_WATCHSTACK_ENDPOINT          = $stack.S3Uri.AbsoluteUri.TrimEnd('/')
        RCLONE_CONFIG_WATCHSTACK_ACCESS_KEY_ID     = $stack.S3AccessKey
        RCLONE_CONFIG_WATCHSTACK_SECRET_ACCESS_KEY = $stack.S3SecretKey
        RCLONE_CONFIG_WATCHSTACK_FORCE_PATH_STYLE  = 'true'
    }
    function Invoke-Rclone {
        $saved = @{}
        foreach ($name in $rcloneEnv.Keys) { $saved[$name] = [Environment]::GetEnvironmentVariable($name); Set-ProcessVariable $name $rcloneEnv[$name] }
        $savedCa = $env:AWS_CA_BUNDLE
        $env:AWS_CA_BUNDLE = $null
        try {
            $out = $args[0] | & $rclone.Source -q @($args[1..($args.Count - 1)]) 2>&1
            if ($LASTEXITCODE -ne 0) { throw "rclone $($args[1..($args.Count - 1)] -join ' ') failed: $out" }
            $out
        }
        finally {
            foreach ($name in $saved.Keys) { Set-ProcessVariable $name $saved[$name] }
            $env:AWS_CA_BUNDLE = $savedCa
        }
    }
    function Get-Remote([string] $Prefix) { @(Invoke-Rclone $null lsf -R --files-only "watchstack:$($stack.Bucket)/$Prefix" | Sort-Object) }
    function Get-RemoteText([string] $Key) { (Invoke-Rclone $null cat "watchstack:$($stack.Bucket)/$Key") -join "`n" }
    function Set-RemoteText([string] $Key, [string] $Text) { $null = Invoke-Rclone $Text rcat "watchstack:$($stack.Bucket)/$Key" }
    function Remove-Remote([string] $Key) { $null = Invoke-Rclone $null deletefile "watchstack:$($stack.Bucket)/$Key" }
    function Get-Local([string] $Folder) { @(Get-ChildItem -LiteralPath $Folder -Recurse -File | ForEach-Object { [IO.Path]::GetRelativePath($Folder, $_.FullName).Replace('\', '/') } | Sort-Object) }

    function Start-Watch([string] $Folder, [string] $Prefix, [int] $PollInterval) {
        $job = Start-ThreadJob -ScriptBlock {
            param($Manifest, $Connection, $Folder, $Prefix, $PollInterval)
            Import-Module $Manifest
            # Store retries within a run end after 2 s: the outage test sees the run fail and the watch back off.
            Sync-ChittyFolder $Folder -Prefix $Prefix -Direction Both -Watch -PollInterval $PollInterval -RetryTimeoutSec 2 -Connection $Connection
        } -ArgumentList $ManifestPath, $connection, $Folder, $Prefix, $PollInterval
        $job | Add-Member -NotePropertyName Results -NotePropertyValue ([Collections.Generic.List[object]]::new())
        $job | Add-Member -NotePropertyName Warnings -NotePropertyValue ([Collections.Generic.List[string]]::new())
        $job
    }

    # Collects the watch's results until $Condition holds; fails at the deadline or when the watch ended.
    function Wait-Watch($Job, [scriptblock] $Condition, [int] $Seconds = 20) {
        $deadline = [datetime]::UtcNow.AddSeconds($Seconds)
        while ($true) {
            foreach ($r in @(Receive-Job $Job -WarningVariable warned -WarningAction SilentlyContinue)) { $Job.Results.Add($r) }
            foreach ($w in $warned) { $Job.Warnings.Add("$w") }
            if (& $Condition) { return }
            if ($Job.State -notin 'NotStarted', 'Running') { throw "The watch ended ($($Job.State)): $($Job.ChildJobs[0].Error)" }
            if ([datetime]::UtcNow -gt $deadline) { throw "Not seen within $Seconds s: $Condition" }
            Start-Sleep -Milliseconds 200
        }
    }
}

AfterAll {
    Get-Job | Remove-Job -Force -ErrorAction SilentlyContinue
    if ($script:restarted) { Stop-Process -Id $script:restarted.Id -Force -ErrorAction SilentlyContinue }
    Disconnect-Chitty
    $env:CHITTY_CONFIG_DIR = $script:savedConfigDir
    if ($script:stack) { Stop-ChittyStack -Stack $script:stack }
    if ($script:work) { Remove-Item -LiteralPath $script:work -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'Sync-ChittyFolder -Watch, polling every 2 s' {
    BeforeAll {
        $script:folder = Join-Path $work 'watched'
        New-Item -ItemType Directory -Path $folder | Out-Null
        Set-Content -LiteralPath (Join-Path $folder 'a.txt') -Value 'first'
        Set-Content -LiteralPath (Join-Path $folder 'c.txt') -Value 'to be renamed'
        # Enough files that the deletes below stay under -MaxDeletePercent (50).
        foreach ($n in 1..4) { Set-Content -LiteralPath (Join-Path $folder "keep$n.txt") -Value "keep $n" }
        $script:prefix = 'watch/'
        $script:watch = Start-Watch $folder $prefix 2
    }

    It 'syncs the folder first, then sends a new local file as it appears' {
        Wait-Watch $watch { (Get-Remote $prefix) -contains 'c.txt' }
        Set-Content -LiteralPath (Join-Path $folder 'b.txt') -Value 'new'
        Wait-Watch $watch { $watch.Results | Where-Object { $_.Action -eq 'Uploaded' -and $_.RelativePath -eq 'b.txt' } }
        Get-Remote $prefix | Should -Be @('a.txt', 'b.txt', 'c.txt', 'keep1.txt', 'keep2.txt', 'keep3.txt', 'keep4.txt')
        Get-RemoteText "${prefix}b.txt" | Should -Be 'new'
    }

    It 'refuses a second watch of the same folder with a clear error' {
        { Sync-ChittyFolder $folder -Prefix 'elsewhere/' -Watch -ErrorAction Stop } |
            Should -Throw -ErrorId 'ChittySyncWatchRunning,ChittyConnect.PowerShell.Commands.SyncChittyFolderCommand' -ExpectedMessage '*already being watched*'
    }

    It 'sends a local edit, delete and rename (as a delete and a new file)' {
        $mark = $watch.Results.Count
        Set-Content -LiteralPath (Join-Path $folder 'a.txt') -Value 'edited'
        Remove-Item -LiteralPath (Join-Path $folder 'b.txt')
        Move-Item -LiteralPath (Join-Path $folder 'c.txt') -Destination (Join-Path $folder 'd.txt')
        Wait-Watch $watch { @($watch.Results | Select-Object -Skip $mark).Count -ge 4 }
        $recent = $watch.Results | Select-Object -Skip $mark
        ($recent | Where-Object RelativePath -eq 'a.txt').Action | Should -Be 'Uploaded'
        ($recent | Where-Object RelativePath -eq 'b.txt').Action | Should -Be 'DeletedRemote'
        ($recent | Where-Object RelativePath -eq 'c.txt').Action | Should -Be 'DeletedRemote'
        ($recent | Where-Object RelativePath -eq 'd.txt').Action | Should -Be 'Uploaded'
        Get-Remote $prefix | Should -Be @('a.txt', 'd.txt', 'keep1.txt', 'keep2.txt', 'keep3.txt', 'keep4.txt')
        Get-RemoteText "${prefix}a.txt" | Should -Be 'edited'
    }

    It 'brings a remote edit, new file and delete made by rclone into the folder' {
        Set-RemoteText "${prefix}a.txt" 'edited remotely'
        Set-RemoteText "${prefix}sub/e.txt" 'from rclone'
        Remove-Remote "${prefix}d.txt"
        Wait-Watch $watch { ((Get-Local $folder) -join ',') -eq 'a.txt,keep1.txt,keep2.txt,keep3.txt,keep4.txt,sub/e.txt' -and (Get-Content -Raw (Join-Path $folder 'a.txt')).Trim() -eq 'edited remotely' }
        (Get-Content -Raw (Join-Path $folder 'sub/e.txt')).Trim() | Should -Be 'from rclone'
    }

    It 'keeps a change made while the store is down and sends it once the store is back' {
        $port = $stack.S3Uri.Port
        # The stack runs s3rver under a watchdog: end both.
        $stack.S3Process.Kill($true)
        $null = $stack.S3Process.WaitForExit(10000)
        Set-Content -LiteralPath (Join-Path $folder 'during-outage.txt') -Value 'kept'
        Wait-Watch $watch { $watch.Warnings -like 'Run failed*' } -Seconds 30
        # The same s3rver, on the same port and data, as after a restart of the store.
        $s3rverArgs = @((Join-Path $RepoRoot 'build/s3rver-r2.js'), '--address', '127.0.0.1', '--port', $port, '--silent',
            '--directory', (Join-Path $stack.TempRoot 's3'), '--configure-bucket', $stack.Bucket)
        $env:NODE_OPTIONS = '--openssl-legacy-provider'
        try { $script:restarted = Start-Process -FilePath node -ArgumentList $s3rverArgs -PassThru -RedirectStandardOutput (Join-Path $work 's3rver.out') }
        finally { $env:NODE_OPTIONS = $null }
        Wait-Watch $watch { $watch.Results | Where-Object { $_.Action -eq 'Uploaded' -and $_.RelativePath -eq 'during-outage.txt' } } -Seconds 60
        Get-RemoteText "${prefix}during-outage.txt" | Should -Be 'kept'
    }

    It 'ends within a few seconds of Stop-Job, with the state saved' {
        $timer = [Diagnostics.Stopwatch]::StartNew()
        $watch | Stop-Job
        $timer.Elapsed.TotalSeconds | Should -BeLessThan 5
        $watch.State | Should -Be 'Stopped'
        # Saved state: a one-off sync afterwards finds nothing to do, and the folder can be watched again.
        Sync-ChittyFolder $folder -Prefix $prefix -Direction Both | Should -BeNullOrEmpty
    }
}

Describe 'Sync-ChittyFolder -Watch, events and no polls' {
    BeforeAll {
        $script:folder2 = Join-Path $work 'device-b'
        New-Item -ItemType Directory -Path $folder2 | Out-Null
        Set-Content -LiteralPath (Join-Path $folder2 'shared.txt') -Value 'base'
        $script:prefix2 = "files/$($stack.SessionId)/"
        # An hour between polls: whatever arrives within seconds came by an event or a local change.
        $script:watch2 = Start-Watch $folder2 $prefix2 3600
        Wait-Watch $watch2 { $watch2.Results | Where-Object { $_.Action -eq 'Uploaded' -and $_.RelativePath -eq 'shared.txt' } }
    }

    AfterAll { $watch2 | Stop-Job }

    It 'pulls what another device syncs up, on its context.files.synced event' {
        $deviceA = Join-Path $work 'device-a'
        New-Item -ItemType Directory -Path $deviceA | Out-Null
        Set-Content -LiteralPath (Join-Path $deviceA 'from-a.txt') -Value 'sent by A'
        # Device A is another machine: its sync state is its own.
        $null = Sync-ChittyFolder $deviceA -Prefix "$prefix2" -NoDelete -StateDirectory (Join-Path $work 'device-a-state')
        # The run that downloads it has listed the prefix before it writes the file.
        Wait-Watch $watch2 { $watch2.Results | Where-Object { $_.Action -eq 'Downloaded' -and $_.RelativePath -eq 'from-a.txt' } } -Seconds 15
        Get-Content -Raw (Join-Path $folder2 'from-a.txt') | Should -BeLike 'sent by A*'
    }

    It 'keeps both versions of a file edited on both sides' {
        # The remote edit makes no event (rclone does not report) and no poll comes; the events of the watch's
        # own sync reports start no run (it knows their event ids). So no run comes between the two edits, and
        # the local edit's run (over that path, by HEAD) finds both changed.
        Set-RemoteText "${prefix2}shared.txt" 'remote side'
        Set-Content -LiteralPath (Join-Path $folder2 'shared.txt') -Value 'local side'
        Wait-Watch $watch2 { $watch2.Results | Where-Object Action -eq 'Conflict' }
        $conflict = $watch2.Results | Where-Object Action -eq 'Conflict'
        $conflict.RelativePath | Should -Be 'shared.txt'
        (Get-Content -Raw (Join-Path $folder2 'shared.txt')).Trim() | Should -Be 'remote side'
        Get-Content -Raw (Join-Path $folder2 $conflict.ConflictPath) | Should -BeLike 'local side*'
        Wait-Watch $watch2 { (Get-Remote $prefix2) -contains [IO.Path]::GetFileName($conflict.ConflictPath) }
    }
}

Describe 'Sync-ChittyFolder -Watch in Start-Job (a process of its own)' {
    BeforeAll {
        $script:folder4 = Join-Path $work 'in-a-job'
        New-Item -ItemType Directory -Path $folder4 | Out-Null
        Set-Content -LiteralPath (Join-Path $folder4 'a.txt') -Value 'first'
        $script:prefix4 = 'watch-job/'
        # The job's process connects by itself (a connection object does not cross processes); CHITTY_CONFIG_DIR
        # is inherited, so it keeps its sync state where this session looks.
        $settings = @{
            Endpoint = $stack.EmulatorUri.AbsoluteUri; ApiKey = $stack.ApiKey; ChittyId = $stack.ChittyId; SessionId = $stack.SessionId
            R2Endpoint = $stack.S3Uri.AbsoluteUri; Bucket = $stack.Bucket; AccessKey = $stack.S3AccessKey; SecretKey = $stack.S3SecretKey
        }
        $script:job4 = Start-Job -ScriptBlock {
            param($Manifest, $S, $Folder, $Prefix)
            Import-Module $Manifest
            $connection = Connect-Chitty -Endpoint $S.Endpoint -ApiKey (ConvertTo-SecureString $S.ApiKey -AsPlainText -Force) -ChittyId $S.ChittyId -SessionId $S.SessionId `
                -R2Endpoint $S.R2Endpoint -Bucket $S.Bucket -R2Credential ([pscredential]::new($S.AccessKey, (ConvertTo-SecureString $S.SecretKey -AsPlainText -Force)))
            Sync-ChittyFolder $Folder -Prefix $Prefix -Direction Both -Watch -PollInterval 3600 -QuietPeriodSec 0.5 -Connection $connection
        } -ArgumentList $ManifestPath, $settings, $folder4, $prefix4
        $job4 | Add-Member -NotePropertyName Results -NotePropertyValue ([Collections.Generic.List[object]]::new())
        $job4 | Add-Member -NotePropertyName Warnings -NotePropertyValue ([Collections.Generic.List[string]]::new())
    }

    AfterAll { $job4 | Remove-Job -Force -ErrorAction SilentlyContinue }

    It 'syncs an edit, and Stop-Job ends it within a few seconds with the state saved' {
        # A new process loads PowerShell and the module first.
        Wait-Watch $job4 { $job4.Results | Where-Object { $_.Action -eq 'Uploaded' -and $_.RelativePath -eq 'a.txt' } } -Seconds 90
        Set-Content -LiteralPath (Join-Path $folder4 'a.txt') -Value 'edited while a job watches'
        Wait-Watch $job4 { @($job4.Results | Where-Object { $_.Action -eq 'Uploaded' -and $_.RelativePath -eq 'a.txt' }).Count -ge 2 }
        Get-RemoteText "${prefix4}a.txt" | Should -Be 'edited while a job watches'

        $timer = [Diagnostics.Stopwatch]::StartNew()
        $job4 | Stop-Job
        $timer.Elapsed.TotalSeconds | Should -BeLessThan 5
        $job4.State | Should -Be 'Stopped'
        # Saved state and released locks: a one-off sync at once finds nothing to do.
        Sync-ChittyFolder $folder4 -Prefix $prefix4 -Direction Both | Should -BeNullOrEmpty
    }
}

Describe 'examples/watch: Start-ChittyWatch.ps1 as systemd runs it' -Skip:$IsWindows {
    BeforeAll {
        $script:folder3 = Join-Path $work 'service'
        New-Item -ItemType Directory -Path $folder3 | Out-Null
        Set-Content -LiteralPath (Join-Path $folder3 'kept.txt') -Value 'by the service'
        # 'Import-Module ChittyConnect' as on an installed machine: the repository under that name on PSModulePath.
        $modules = Join-Path $work 'modules'
        New-Item -ItemType Directory -Path $modules | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $modules 'ChittyConnect') -Target $RepoRoot | Out-Null
        $environment = @{
            PSModulePath                = $modules
            CHITTY_ENDPOINT             = $stack.EmulatorUri.AbsoluteUri
            CHITTY_API_KEY              = $stack.ApiKey
            CHITTY_ID                   = $stack.ChittyId
            CHITTY_SESSION_ID           = $stack.SessionId
            CHITTY_R2_ENDPOINT          = $stack.S3Uri.AbsoluteUri
            CHITTY_R2_BUCKET            = $stack.Bucket
            CHITTY_R2_ACCESS_KEY_ID     = $stack.S3AccessKey
            CHITTY_R2_SECRET_ACCESS_KEY = $stack.S3SecretKey
            CHITTY_CONFIG_DIR           = $env:CHITTY_CONFIG_DIR
        }
        $start = [Diagnostics.ProcessStartInfo]::new([Environment]::ProcessPath)
        if ([IO.Path]::GetFileNameWithoutExtension($start.FileName) -eq 'dotnet') { $start.ArgumentList.Add((Join-Path $PSHOME 'pwsh.dll')) }
        foreach ($a in '-NoProfile', '-NonInteractive', '-File', (Join-Path $RepoRoot 'examples/watch/Start-ChittyWatch.ps1'),
            '-Path', $folder3, '-Direction', 'Upload', '-PollInterval', '3600', '-LogFile', (Join-Path $work 'service.jsonl')) { $start.ArgumentList.Add($a) }
        foreach ($name in $environment.Keys) { $start.Environment[$name] = $environment[$name] }
        $start.RedirectStandardOutput = $true
        $start.RedirectStandardError = $true
        $script:service = [Diagnostics.Process]::Start($start)
        $script:serviceOut = $service.StandardOutput.ReadToEndAsync()
        $script:serviceErr = $service.StandardError.ReadToEndAsync()
    }

    AfterAll { if (-not $service.HasExited) { $service.Kill($true) } }

    It 'syncs, then ends within a few seconds of SIGTERM with its state saved' {
        # The example syncs the folder's default prefix.
        $servicePrefix = "files/$($stack.SessionId)/sync/service/"
        $deadline = [datetime]::UtcNow.AddSeconds(60)
        # Its -LogFile line is written as the result is: the upload is done and reported.
        $log = Join-Path $work 'service.jsonl'
        while (-not ((Test-Path $log) -and (Get-Content $log | ConvertFrom-Json | Where-Object { $_.PSObject.Properties['action'] -and $_.action -eq 'Uploaded' -and $_.relativePath -eq 'kept.txt' }))) {
            if ($service.HasExited) { throw "The service ended: $($serviceErr.Result)" }
            if ([datetime]::UtcNow -gt $deadline) { throw 'kept.txt was not sent within 60 s.' }
            Start-Sleep -Milliseconds 250
        }

        $timer = [Diagnostics.Stopwatch]::StartNew()
        & kill -TERM $service.Id
        $service.WaitForExit(10000) | Should -BeTrue
        $timer.Elapsed.TotalSeconds | Should -BeLessThan 5
        Get-Remote $servicePrefix | Should -Be @('kept.txt')
        # The state was saved and both locks released: a one-off sync at once finds nothing to do.
        Sync-ChittyFolder $folder3 -Direction Upload -NoDelete | Should -BeNullOrEmpty
    }
}
