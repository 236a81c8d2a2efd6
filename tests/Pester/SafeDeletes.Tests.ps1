#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# What a new user does on the first day, and what must survive it: README's Quick start (Send-ChittyFile
# uploads into the session) followed by every Sync example of README, and the guide's layout over a prefix
# rclone filled. A sync deletes only what it put there itself.

BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:stack = Start-ChittyStack
    $script:testWork = Enter-ChittyTestWork 'deletes'
    $script:work = $testWork.Path
    Connect-ChittyTestStack -Stack $stack | Out-Null
    $script:session = $stack.SessionId

    # The bucket as rclone lists it: the outside oracle of what is there.
    $script:rcloneConfig = Join-Path $work 'rclone.conf'
    $key = $stack.S3Credential.UserName
    Set-Content -LiteralPath $rcloneConfig -Value @(
        '[stack]', 'type = s3', 'provider = Other', "access_key_id = $key",
        "secret_access_key = $($stack.S3Credential.GetNetworkCredential().Password)",
        "endpoint = $($stack.S3Uri.GetLeftPart([UriPartial]::Authority))", 'force_path_style = true', 'region = auto')
    function Invoke-Rclone {
        $saved = $env:AWS_CA_BUNDLE
        Remove-Item Env:AWS_CA_BUNDLE -ErrorAction SilentlyContinue
        try {
            $out = & rclone --config $rcloneConfig @args 2>&1
            if ($LASTEXITCODE -ne 0) { throw "rclone $args exited $LASTEXITCODE`: $out" }
            $out
        }
        finally { if ($saved) { $env:AWS_CA_BUNDLE = $saved } }
    }
    function Get-RemoteKeys([string] $Prefix) {
        @(Invoke-Rclone lsf -R --files-only "stack:$($stack.Bucket)/$Prefix") | ForEach-Object { "$Prefix$_" } | Sort-Object
    }
    function New-Files([string] $Folder, [string[]] $Names) {
        foreach ($name in $Names) {
            $path = Join-Path $Folder $name
            New-Item -ItemType Directory -Path (Split-Path $path) -Force | Out-Null
            [IO.File]::WriteAllText($path, "$name, $([guid]::NewGuid())")
        }
    }
}

AfterAll {
    Exit-ChittyTestWork $script:testWork -Stack $script:stack
}

Describe 'A sync never deletes what it does not own' {
    It 'README''s Quick start uploads, then every Sync example of README, lose none of them' {
        $reports = Join-Path $work 'reports'
        New-Files $reports @('q1.pdf', 'q2.pdf', 'q3.pdf', 'q4.pdf', 'summary.md')
        $sent = Get-ChildItem $reports -File | Send-ChittyFile | Set-ChittyActiveFile
        $uploads = @(Get-RemoteKeys "files/$session/" | Where-Object { $_ -match "^files/$session/\d{4}/" })
        $uploads.Count | Should -Be 5

        $data = Join-Path $work 'Documents/chittyos-data'
        New-Files $data @('notes/today.md', 'a.txt', 'node_modules/x.js')
        $ignore = Join-Path $work '.rcloneignore'
        Set-Content -LiteralPath $ignore -Value 'node_modules/'
        Push-Location $work
        try {
            Sync-ChittyFolder $data -ExcludeFrom $ignore -LogFile (Join-Path $work 'sync.log') -WarningVariable w1 | Out-Null
            Sync-ChittyFolder $data -WhatIf | Out-Null
            New-Item -ItemType Directory ./data -Force | Out-Null
            New-Files (Join-Path $work 'data') @('d.txt')
            Sync-ChittyFolder ./data | Where-Object Action -eq Uploaded | Set-ChittyActiveFile | Out-Null
            $other = Join-Path $work 'other-device/chittyos-data'
            Sync-ChittyFolder $other -Direction Download | Out-Null
            Sync-ChittyFolder $data -Direction Both -WhatIf | Out-Null
            Sync-ChittyFolder $data -Direction Both | Where-Object Action -eq Conflict | Should -BeNullOrEmpty
            Sync-ChittyFolder $data -Prefix "files/$((Get-ChittyConnection).SessionId)" -WarningVariable guide | Out-Null
            Sync-ChittyFolder $data -Prefix "files/$((Get-ChittyConnection).SessionId)" -WarningVariable again | Out-Null
        }
        finally { Pop-Location }

        $remote = Get-RemoteKeys "files/$session/"
        foreach ($upload in $uploads) { $remote | Should -Contain $upload }
        $remote | Should -Contain "files/$session/sync/chittyos-data/notes/today.md"
        $remote | Should -Contain "files/$session/sync/data/d.txt"
        Get-Content -LiteralPath (Join-Path $other 'a.txt') -Raw | Should -Be (Get-Content -LiteralPath (Join-Path $data 'a.txt') -Raw)
        # The guide's layout over the whole session: what the folder never had is left, in one warning.
        @($guide).Count | Should -Be 1
        "$guide" | Should -BeLike 'Kept * file(s) under *other folders, devices or uploads*They stay; only -Mirror would delete them.'
        # Repeated with nothing to change, the run does not warn again.
        $again | Should -BeNullOrEmpty
    }

    It 'the guide''s layout over a prefix rclone filled: the first run uploads, later local deletes propagate' {
        $folder = Join-Path $work 'guide/chittyos-data'
        New-Files $folder @('a.md', 'b.md', 'c.md', 'd/e.md')
        $prefix = "files/$session-guide/"
        Invoke-Rclone sync $folder "stack:$($stack.Bucket)/$prefix" --checksum | Out-Null
        # The session's own upload beside what rclone synced, and a file added after rclone's last run.
        Invoke-Rclone copyto (Join-Path $folder 'a.md') "stack:$($stack.Bucket)/$($prefix)2026/12/07/abc-upload.pdf" | Out-Null
        New-Files $folder @('new.md')

        $first = Sync-ChittyFolder $folder -Prefix $prefix -NoReport -WarningVariable leftFirst
        $first.RelativePath | Should -Be 'new.md'
        $first.Action | Should -Be 'Uploaded'
        "$leftFirst" | Should -BeLike 'Kept 1 file(s)*2026/12/07/abc-upload.pdf*'

        Remove-Item -LiteralPath (Join-Path $folder 'b.md')
        $second = Sync-ChittyFolder $folder -Prefix $prefix -NoReport
        $second.Action | Should -Be 'Deleted'
        $second.RelativePath | Should -Be 'b.md'
        Get-RemoteKeys $prefix | Should -Be @("$($prefix)2026/12/07/abc-upload.pdf", "$($prefix)a.md", "$($prefix)c.md", "$($prefix)d/e.md", "$($prefix)new.md")
    }

    It 'two devices syncing different folders into one session with the defaults keep each other''s objects' {
        $laptop = Join-Path $work 'laptop/projects'
        $desktop = Join-Path $work 'desktop/photos'
        New-Files $laptop @('one.txt', 'two.txt', 'three.txt')
        New-Files $desktop @('p1.jpg', 'p2.jpg')
        Sync-ChittyFolder $laptop -NoReport -StateDirectory (Join-Path $work 'laptop-state') | Out-Null
        Sync-ChittyFolder $desktop -NoReport -StateDirectory (Join-Path $work 'desktop-state') | Out-Null
        Remove-Item -LiteralPath (Join-Path $laptop 'one.txt')
        Remove-Item -LiteralPath (Join-Path $desktop 'p1.jpg')
        Sync-ChittyFolder $laptop -NoReport -StateDirectory (Join-Path $work 'laptop-state') | Out-Null
        Sync-ChittyFolder $desktop -NoReport -StateDirectory (Join-Path $work 'desktop-state') | Out-Null

        Get-RemoteKeys "files/$session/sync/projects/" | Should -Be @("files/$session/sync/projects/three.txt", "files/$session/sync/projects/two.txt")
        Get-RemoteKeys "files/$session/sync/photos/" | Should -Be @("files/$session/sync/photos/p2.jpg")
    }

    It 'a file given as the folder is a clear error that never suggests -Force, and writes nothing' {
        $file = Join-Path $work 'rcloneignore'
        Set-Content -LiteralPath $file -Value '*.tmp'
        foreach ($direction in 'Upload', 'Download', 'Both') {
            $err = $null
            try { Sync-ChittyFolder $file -Direction $direction -ErrorAction Stop } catch { $err = $_ }
            $err.FullyQualifiedErrorId | Should -Be 'ChittySyncPathNotFolder,ChittyConnect.PowerShell.Commands.SyncChittyFolderCommand'
            $err.Exception.Message | Should -Not -BeLike '*-Force*'
        }
        Get-Content -LiteralPath $file | Should -Be '*.tmp'
        { Sync-ChittyFolder (Join-Path $work 'typo') -Force -Prefix "files/$session" -Mirror -ErrorAction Stop } |
            Should -Throw -ErrorId 'ChittySyncSourceMissing,ChittyConnect.PowerShell.Commands.SyncChittyFolderCommand'
    }
}

Describe '-Force over an empty folder' {
    It 'lists every deletion under -WhatIf and says in words that it deletes everything the sync put there' {
        $folder = Join-Path $work 'emptied/chittyos-data'
        New-Files $folder @('a.txt', 'b.txt')
        $prefix = "files/$session-emptied/"
        Sync-ChittyFolder $folder -Prefix $prefix -NoReport | Out-Null
        Get-ChildItem -LiteralPath $folder -File | Remove-Item

        $plan = Sync-ChittyFolder $folder -Prefix $prefix -Force -WhatIf -WarningVariable said 3>$null
        $plan.Action | Should -Be @('PlannedDelete', 'PlannedDelete')
        "$said" | Should -BeLike "*has no files: with -Force this run deletes every file it synced under *$prefix' (2 file(s))."
        Get-RemoteKeys $prefix | Should -HaveCount 2
    }
}

Describe '-WhatIf on a download' {
    It 'names the local file a download would delete, not the remote key' {
        $folder = Join-Path $work 'whatif/chittyos-data'
        $copy = Join-Path $work 'whatif-copy/chittyos-data'
        New-Files $folder @('f1.bin', 'f2.bin')
        $prefix = "files/$session-whatif/"
        Sync-ChittyFolder $folder -Prefix $prefix -NoReport | Out-Null
        Sync-ChittyFolder $copy -Prefix $prefix -Direction Download -NoReport | Out-Null
        Remove-Item -LiteralPath (Join-Path $folder 'f1.bin')
        Sync-ChittyFolder $folder -Prefix $prefix -NoReport | Out-Null

        # The "What if:" lines go to the host, which a transcript records.
        $transcript = Join-Path $work 'whatif.txt'
        Start-Transcript -LiteralPath $transcript | Out-Null
        try { $plan = Sync-ChittyFolder $copy -Prefix $prefix -Direction Download -NoReport -WhatIf }
        finally { Stop-Transcript | Out-Null }
        $plan.Action | Should -Be 'PlannedDelete'
        $said = Get-Content -Raw -LiteralPath $transcript
        $said | Should -BeLike "*Performing the operation ""Delete local file"" on target ""$(Join-Path $copy 'f1.bin')"".*"
        $said | Should -Not -BeLike "*$($prefix)f1.bin*"
        Join-Path $copy 'f1.bin' | Should -Exist
    }
}

Describe 'The sync state is the machine''s own' {
    It 'moves an earlier version''s state from the roaming config folder to the local one, once, and uses it' {
        $home_ = Join-Path $work 'home'
        $folder = Join-Path $work 'moving/chittyos-data'
        New-Files $folder @('a.txt', 'b.txt')
        $connect = @"
Import-Module ./ChittyConnect.psd1
`$cred = [pscredential]::new('$($stack.S3Credential.UserName)', (ConvertTo-SecureString '$($stack.S3Credential.GetNetworkCredential().Password)' -AsPlainText -Force))
Connect-Chitty -Endpoint '$($stack.EmulatorUri)' -ApiKey (ConvertTo-SecureString '$($stack.ApiKey)' -AsPlainText -Force) -ChittyId '$($stack.ChittyId)' -SessionId '$session' -R2Endpoint '$($stack.S3Uri)' -Bucket '$($stack.Bucket)' -R2Credential `$cred | Out-Null
`$s = Sync-ChittyFolder '$folder' -NoReport -Summary | Select-Object -Last 1
"{0}|{1}|{2}" -f `$s.BytesHashed, `$s.FilesUploaded, `$s.StatePath
"@
        $roaming = Join-Path $home_ '.config/chittyconnect'
        # An earlier version: the state in the roaming config folder, version 1, no machine, no prefix claims.
        $old = Invoke-ChittyPwsh -Environment @{ CHITTY_CONFIG_DIR = $roaming } -Command $connect
        $old.ExitCode | Should -Be 0
        $oldPath = ($old.Output[-1] -split '\|')[2]
        $oldPath | Should -BeLike "$roaming/sync-state/*.state"
        Remove-Item -Path (Join-Path $roaming 'sync-state/*.prefix')
        # Its files' lines (F path size mtime sha256 md5 etag reported; '=' an ETag that is the MD5; \t \n \r \\
        # escaped) as that version's JSON.
        $unescape = { param($field) [regex]::Replace($field, '\\(.)', { param($m) switch ($m.Groups[1].Value) { 't' { "`t" } 'n' { "`n" } 'r' { "`r" } default { $_ } } }) }
        $lines = @(Get-Content -LiteralPath $oldPath | ForEach-Object { , @($_ -split "`t" | ForEach-Object { & $unescape $_ }) })
        $files = [ordered]@{}
        foreach ($f in $lines.Where({ $_[0] -eq 'F' })) {
            $files[$f[1]] = [ordered]@{ size = [long]$f[2]; mtime = [long]$f[3]; sha256 = $f[4]; md5 = $f[5]; etag = $(if ($f[6] -eq '=') { $f[5] } else { $f[6].Substring(1) }); reported = $f[7] -eq 'r' }
        }
        # That version named the file after its format: <hash>.json.
        $oldJson = [IO.Path]::ChangeExtension($oldPath, '.json')
        [ordered]@{ version = 1; identity = $lines.Where({ $_[0] -eq 'identity' })[0][1]; files = $files; pending = @() } | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $oldJson
        Remove-Item -LiteralPath $oldPath
        if (Test-Path -LiteralPath "$oldPath.lock") { Move-Item -LiteralPath "$oldPath.lock" -Destination "$oldJson.lock" }

        $environment = @{ CHITTY_CONFIG_DIR = $null; CHITTY_STATE_DIR = $null; HOME = $home_; XDG_CONFIG_HOME = $null; XDG_STATE_HOME = $null }
        $new = Invoke-ChittyPwsh -Environment $environment -Command $connect
        $new.ExitCode | Should -Be 0 -Because ($new.Output -join "`n")
        $hashed, $uploaded, $newPath = $new.Output[-1] -split '\|'
        $newPath | Should -Be (Join-Path $home_ ".local/state/chittyconnect/sync-state/$(Split-Path -Leaf $oldPath)")
        # The moved state was the baseline: nothing read or sent again.
        $hashed | Should -Be 0
        $uploaded | Should -Be 0
        Test-Path -LiteralPath (Join-Path $roaming 'sync-state') | Should -BeFalse
        Test-Path -LiteralPath ([IO.Path]::ChangeExtension($newPath, '.json')) | Should -BeFalse
        (Get-Content -LiteralPath $newPath | Where-Object { $_ -like "machine`t*" }) | Should -Match '^machine\t[0-9a-f]{32}$'
        if (-not $IsWindows) { (Get-Item -LiteralPath $newPath).UnixFileMode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite') }
    }
}
