#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# Sync-ChittyFolder as a user runs it: the built module imported from the repo root, the local stack
# (s3rver + emulator) started for this file, a fixture folder synced up, re-synced, changed and restored.

BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:stack = Start-ChittyStack
    # Sync state goes to the config directory: inside the test folder.
    $script:testWork = Enter-ChittyTestWork 'sync'
    $script:work = $testWork.Path
    Connect-ChittyTestStack -Stack $stack | Out-Null

    $script:folder = Join-Path $work 'chittyos-data'
    function New-Fixture([string] $Relative, [string] $Content) {
        $path = Join-Path $folder $Relative
        New-Item -ItemType Directory -Path (Split-Path $path) -Force | Out-Null
        [IO.File]::WriteAllText($path, $Content)
    }
    New-Fixture 'notes.md' '# notes'
    New-Fixture 'reports/2026 Q1/summary é.txt' 'quarterly'
    New-Fixture 'empty.txt' ''
    New-Fixture 'cache/tmp.bin' 'cache'
    New-Fixture 'draft.tmp' 'draft'
    $script:ignore = Join-Path $work '.rcloneignore'
    Set-Content -LiteralPath $ignore -Value @('# like the guide''s ~/.rcloneignore', '*.tmp', 'cache/')

    function Get-Emulator([string] $Path) {
        # Invoke-RestMethod writes a JSON array as one object: enumerate it.
        Invoke-RestMethod -Uri ([Uri]::new([Uri]$stack.EmulatorUri, $Path)) | ForEach-Object { $_ }
    }
}

AfterAll {
    Exit-ChittyTestWork $script:testWork -Stack $script:stack
}

Describe 'Sync-ChittyFolder' {
    It '-WhatIf lists the planned uploads and changes nothing' {
        $plan = Sync-ChittyFolder $folder -ExcludeFrom $ignore -WhatIf
        $plan.Action | Sort-Object -Unique | Should -Be 'PlannedUpload'
        $plan.RelativePath | Sort-Object | Should -Be @('empty.txt', 'notes.md', 'reports/2026 Q1/summary é.txt')
        @(Get-Emulator '_emulator/sync-events').Count | Should -Be 0
        Test-Path (Join-Path $env:CHITTY_CONFIG_DIR 'sync-state') | Should -BeFalse
    }

    It 'uploads the selected files, reports them, and composes with Where-Object' {
        $uploaded = Sync-ChittyFolder $folder -ExcludeFrom $ignore -LogFile (Join-Path $work 'sync.log') |
            Where-Object Action -eq Uploaded
        # The folder's own prefix: files/<session>/sync/<folder name>/.
        $uploaded.R2Key | Sort-Object | Should -Be @(
            "files/$($stack.SessionId)/sync/chittyos-data/empty.txt",
            "files/$($stack.SessionId)/sync/chittyos-data/notes.md",
            "files/$($stack.SessionId)/sync/chittyos-data/reports/2026 Q1/summary é.txt")
        $uploaded | ForEach-Object { $_.Sha256 | Should -Match '^[0-9a-f]{64}$' }

        $events = @(Get-Emulator '_emulator/sync-events')
        $events.Count | Should -Be 1
        $events[0].source | Should -Be 'chittyconnect-powershell'
        $events[0].items_count | Should -Be 3
        ($events[0].items | ForEach-Object r2_key | Sort-Object) | Should -Be ($uploaded.R2Key | Sort-Object)

        $log = Get-Content (Join-Path $work 'sync.log') | ForEach-Object { $_ | ConvertFrom-Json }
        ($log | Where-Object type -eq action).Count | Should -Be 3
        ($log | Where-Object type -eq summary).filesUploaded | Should -Be 3
        # A scheduled task's log says when each run began and ended, as ISO 8601 times with their offset.
        $summaryLine = Get-Content (Join-Path $work 'sync.log') | Where-Object { $_ -match '"type":"summary"' }
        $summaryLine | Should -Match '"startTime":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+[+-]\d\d:\d\d","endTime":"\d{4}-\d\d-\d\dT[^"]+"'
    }

    It 're-runs as a no-op: no output, one listing, nothing read, no new report' {
        $out = Sync-ChittyFolder $folder -ExcludeFrom $ignore -InformationVariable info
        $out | Should -BeNullOrEmpty
        $summary = ($info | Where-Object Tags -contains 'ChittySyncSummary').MessageData
        $summary.FilesSkipped | Should -Be 3
        $summary.BytesHashed | Should -Be 0
        $summary.Requests.Total | Should -Be 1
        @(Get-Emulator '_emulator/sync-events').Count | Should -Be 1
    }

    It 'mirrors a change and a deletion, and -Summary makes the summary the only output, which Export-Csv writes as one row' {
        Set-Content -LiteralPath (Join-Path $folder 'notes.md') -Value '# notes, edited'
        Remove-Item -LiteralPath (Join-Path $folder 'empty.txt')
        $before = [DateTimeOffset]::Now
        $out = @(Sync-ChittyFolder $folder -ExcludeFrom $ignore -Summary -Verbose 4>&1)
        $after = [DateTimeOffset]::Now
        $summary = @($out | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] })
        $summary.Count | Should -Be 1
        $summary[0].StartTime | Should -BeGreaterOrEqual $before
        $summary[0].EndTime | Should -BeLessOrEqual $after
        ($summary[0].EndTime - $summary[0].StartTime) | Should -Be $summary[0].Elapsed
        $summary[0].GetType().Name | Should -Be 'ChittySyncSummary'
        $summary[0].FilesUploaded | Should -Be 1
        $summary[0].FilesDeleted | Should -Be 1
        $out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -like 'Deleted empty.txt*' } | Should -Not -BeNullOrEmpty
        $csv = Join-Path $work 'runs.csv'
        $summary | Export-Csv -LiteralPath $csv
        @(Import-Csv -LiteralPath $csv).Count | Should -Be 1
        (Import-Csv -LiteralPath $csv).FilesDeleted | Should -Be '1'
        [DateTimeOffset]::Parse((Import-Csv -LiteralPath $csv).StartTime) | Should -BeGreaterOrEqual $before.AddSeconds(-1)
    }

    It 'without -Summary writes file results only, and the summary to the information stream' {
        Set-Content -LiteralPath (Join-Path $folder 'notes.md') -Value '# notes, edited again'
        $out = @(Sync-ChittyFolder $folder -ExcludeFrom $ignore -InformationVariable info 6>$null)
        @($out | ForEach-Object { $_.GetType().Name } | Sort-Object -Unique) | Should -Be @('ChittySyncResult')
        ($info | Where-Object Tags -Contains 'ChittySyncSummary').MessageData.FilesUploaded | Should -Be 1
    }

    It 'downloads the prefix into a new folder' {
        $target = Join-Path $work 'restored'
        $out = Sync-ChittyFolder $target -Prefix "files/$($stack.SessionId)/sync/chittyos-data" -Direction Download
        ($out | Where-Object Action -eq Downloaded).Count | Should -Be 2
        Get-Content -LiteralPath (Join-Path $target 'reports/2026 Q1/summary é.txt') -Raw | Should -Be 'quarterly'
    }

    It 'refuses to sync a missing folder with a stable error id' {
        { Sync-ChittyFolder (Join-Path $work 'not-mounted') -ErrorAction Stop } |
            Should -Throw -ErrorId 'ChittySyncSourceMissing,ChittyConnect.PowerShell.Commands.SyncChittyFolderCommand'
    }

    It 'withholds deletions beyond -MaxDelete and says so as an error record' {
        Get-ChildItem -LiteralPath $folder -File -Recurse | Remove-Item
        New-Fixture 'only.txt' 'only'
        # Every file the sync had is gone: beyond -MaxDeletePercent the run stops, and says so.
        { Sync-ChittyFolder $folder -ExcludeFrom $ignore -ErrorAction Stop } |
            Should -Throw -ErrorId 'ChittySyncTooManyDeletes,ChittyConnect.PowerShell.Commands.SyncChittyFolderCommand'
        Sync-ChittyFolder $folder -ExcludeFrom $ignore -MaxDeletePercent 100 -MaxDelete 1 -ErrorVariable errs -ErrorAction SilentlyContinue | Out-Null
        $errs.FullyQualifiedErrorId | Should -Contain 'ChittySyncDeletesWithheld,ChittyConnect.PowerShell.Commands.SyncChittyFolderCommand'
    }

    It 'drives examples/Sync-TwoDevices.ps1: both edits kept as a conflict, shown, resolved, and both devices alike' {
        $example = Join-Path $RepoRoot 'examples/Sync-TwoDevices.ps1'
        $result = & $example -WorkFolder (Join-Path $work 'two-devices') 6>$null

        @($result).Count | Should -Be 1
        $result.Conflict.Action | Should -Be 'Conflict'
        $result.Conflict.RelativePath | Should -Be 'plan.md'
        $result.Conflict.ConflictPath | Should -Match '^plan\.conflict-local-\d{8}T\d{6}Z\.md$'
        $result.Laptop.Keys | Should -Be @('agenda.md', 'notes/café.txt', 'plan.md')
        $result.Laptop['plan.md'] | Should -BeLike '*send the invitations (laptop)*order the catering (desktop)*'
        $result.Desktop.Keys | Should -Be $result.Laptop.Keys
        foreach ($name in $result.Laptop.Keys) { $result.Desktop[$name] | Should -BeExactly $result.Laptop[$name] }
        # The bucket holds what the two folders hold: the delete and the resolution went up too.
        $remote = Sync-ChittyFolder (Join-Path $work 'two-devices-check') -Prefix $result.Prefix -Direction Download
        $remote.RelativePath | Sort-Object | Should -Be @('agenda.md', 'notes/café.txt', 'plan.md')
    }
}
