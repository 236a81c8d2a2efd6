# The API cmdlets as a user runs them: the built module imported from the repo root, the local stack
# (emulator + s3rver) started for this file.

BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:stack = Start-ChittyStack
    $script:work = Join-Path ([IO.Path]::GetTempPath()) ("chitty-pester-api-" + [guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Path $work | Out-Null
    $script:key = $stack.SecureApiKey

    function Connect-Stack {
        Connect-Chitty -Endpoint $stack.EmulatorUri -ApiKey $key -ChittyId $stack.ChittyId -SessionId $stack.SessionId
    }

    function Get-EmulatorRequests {
        # Invoke-RestMethod returns a JSON array as one object: enumerate it.
        (Invoke-RestMethod -Uri ([Uri]::new([Uri]$stack.EmulatorUri, '_emulator/requests'))) | ForEach-Object { $_ }
    }

    function Clear-EmulatorRequests {
        Invoke-RestMethod -Method Delete -Uri ([Uri]::new([Uri]$stack.EmulatorUri, '_emulator/requests')) | Out-Null
    }

    function New-TestFile([string] $Name, [int] $Size) {
        $path = Join-Path $work $Name
        $bytes = [byte[]]::new($Size)
        [Random]::new($Size).NextBytes($bytes)
        [IO.File]::WriteAllBytes($path, $bytes)
        $path
    }

    Connect-Stack | Out-Null
}

AfterAll {
    Disconnect-Chitty
    if ($script:stack) { Stop-ChittyStack -Stack $script:stack }
    if ($script:work) { Remove-Item -LiteralPath $script:work -Recurse -Force -ErrorAction SilentlyContinue }
}

Describe 'Connect-Chitty and the connection cmdlets' {
    It 'returns the connection with the key masked and makes it current' {
        $connection = Connect-Stack
        $connection.ApiKey | Should -Be '********'
        $connection.ChittyId | Should -Be $stack.ChittyId
        (Get-ChittyConnection).Endpoint | Should -Be $connection.Endpoint
        ($connection | Out-String) | Should -Not -Match ([regex]::Escape($stack.ApiKey))
    }

    It 'reports each check of Test-ChittyConnection' {
        $checks = Test-ChittyConnection
        ($checks | Where-Object Check -eq 'Endpoint').Status | Should -Be 'Passed'
        ($checks | Where-Object Check -eq 'ApiKey').Status | Should -Be 'Passed'
        Test-ChittyConnection -Quiet | Should -BeFalse -Because 'the session does not exist until it is created'
        ($checks | Where-Object Check -eq 'ApiKey').Detail | Should -Be "valid for $($stack.ChittyId), the key's session $($stack.SessionId)"
    }

    It 'says when the key''s session, which whoami answers for, is not the connection''s' {
        $other = Connect-Chitty -Endpoint $stack.EmulatorUri -ApiKey $key -ChittyId $stack.ChittyId -SessionId 'another-session'
        $row = Test-ChittyConnection -Connection $other | Where-Object Check -eq 'ApiKey'
        $row.Detail | Should -BeLike "*the key's session $($stack.SessionId) (this connection sends to 'another-session'; Get-ChittyWhoAmI shows*"
        Connect-Stack | Out-Null
    }

    It 'checks the R2 bucket like rclone lsd, and fails a bucket that does not exist' {
        $r2 = Connect-ChittyTestStack -Stack $stack
        (Test-ChittyConnection -Connection $r2 | Where-Object Check -eq 'R2').Status | Should -Be 'Passed'
        $wrong = Connect-ChittyTestStack -Stack $stack -Extra @{ Bucket = 'no-such-bucket' }
        $row = Test-ChittyConnection -Connection $wrong | Where-Object Check -eq 'R2'
        $row.Status | Should -Be 'Failed'
        $row.Detail | Should -Match 'NoSuchBucket'
        Connect-Stack | Out-Null
    }

    It 'fails the ApiKey check with a wrong key and keeps the key out of every stream' {
        $bad = Connect-Chitty -Endpoint $stack.EmulatorUri -ApiKey (ConvertTo-SecureString 'wrong-key-zz9' -AsPlainText -Force) -ChittyId x
        $all = Test-ChittyConnection -Connection $bad -Verbose 4>&1 | Out-String
        $all | Should -Match 'Failed'
        $all | Should -Not -Match 'wrong-key-zz9'
        Connect-Stack | Out-Null
    }

    It 'saves a profile and connects from it' {
        $env:CHITTY_CONFIG_DIR = Join-Path $work 'config'
        try {
            Connect-Chitty -Endpoint $stack.EmulatorUri -ApiKey $key -ChittyId $stack.ChittyId -SessionId $stack.SessionId -Save -Name pester | Out-Null
            $file = Join-Path $env:CHITTY_CONFIG_DIR 'profiles/pester.json'
            Get-Content -LiteralPath $file -Raw | Should -Not -Match ([regex]::Escape($stack.ApiKey))
            if (-not $IsWindows) { [int](Get-Item -LiteralPath $file).UnixFileMode | Should -Be 384 -Because 'mode 0600: readable by the owner only' }
            Disconnect-Chitty
            (Connect-Chitty -Name pester).Name | Should -Be 'pester'
            (Get-ChittyConnection -ListAvailable).Name | Should -Contain 'pester'
            (Get-ChittyWhoAmI).ChittyId | Should -Be $stack.ChittyId
        }
        finally {
            Remove-Item Env:CHITTY_CONFIG_DIR
            Connect-Stack | Out-Null
        }
    }

    It 'connects from CHITTY_* environment variables' {
        $env:CHITTY_ENDPOINT = $stack.EmulatorUri; $env:CHITTY_API_KEY = $stack.ApiKey; $env:CHITTY_ID = $stack.ChittyId
        try {
            (Connect-Chitty -FromEnvironment).Endpoint.ToString() | Should -Be ($stack.EmulatorUri.ToString().TrimEnd('/') + '/')
        }
        finally {
            Remove-Item Env:CHITTY_ENDPOINT, Env:CHITTY_API_KEY, Env:CHITTY_ID
            Connect-Stack | Out-Null
        }
    }
}

Describe 'Sessions' {
    It 'creates a session with metadata and gets it back' {
        $session = New-ChittySession -SessionId $stack.SessionId -Metadata @{ device = 'pester'; purpose = 'test' }
        $session.Id | Should -Be $stack.SessionId
        $session.Metadata.device | Should -Be 'pester'
        ($session.Expires - $session.Created).TotalHours | Should -Be 24
        (Get-ChittySession -SessionId $stack.SessionId).State | Should -Be 'active'
        (Get-ChittySession).Id | Should -Contain $stack.SessionId
    }

    It 'without -SessionId creates the connection''s own session' {
        $other = Connect-Chitty -Endpoint $stack.EmulatorUri -ApiKey $key -ChittyId $stack.ChittyId -SessionId 'connection-default-session'
        $session = New-ChittySession -Metadata @{ device = 'pester' } -Connection $other
        $session.Id | Should -Be 'connection-default-session'
        (Get-ChittySession -SessionId 'connection-default-session' -Connection $other).Metadata.device | Should -Be 'pester'
        Connect-Stack | Out-Null
    }

    It 'without -SessionId on a connection that names no session fails with ChittySessionRequired and sends nothing' {
        $bare = Connect-Chitty -Endpoint $stack.EmulatorUri -ApiKey $key -ChittyId $stack.ChittyId
        Connect-Stack | Out-Null
        Clear-EmulatorRequests
        { New-ChittySession -Connection $bare -ErrorAction Stop } |
            Should -Throw -ErrorId 'ChittySessionRequired,ChittyConnect.PowerShell.Commands.NewChittySessionCommand'
        Get-EmulatorRequests | Should -BeNullOrEmpty
    }

    It 'gives ChittySessionNotFound for an unknown session' {
        { Get-ChittySession -SessionId 'no-such-session' -ErrorAction Stop } |
            Should -Throw -ErrorId 'ChittySessionNotFound,ChittyConnect.PowerShell.Commands.GetChittySessionCommand'
    }

    It 'sends nothing with -WhatIf' {
        Clear-EmulatorRequests
        New-ChittySession -SessionId whatif-session -WhatIf | Should -BeNullOrEmpty
        Get-EmulatorRequests | Should -BeNullOrEmpty
    }
}

Describe 'Send-ChittyFile' {
    It 'uploads small files directly and large ones presigned, from Get-ChildItem' {
        New-TestFile 'small.txt' 2048 | Out-Null
        New-TestFile 'big.bin' (6MB) | Out-Null
        $files = Get-ChildItem -LiteralPath $work -File | Sort-Object Length | Send-ChittyFile
        $files.Method | Should -Be @('Direct', 'Presigned')
        $files[0].Sha256 | Should -Be (Get-FileHash -LiteralPath (Join-Path $work 'small.txt') -Algorithm SHA256).Hash.ToLowerInvariant()
        $files[1].Size | Should -Be (6MB)
        $files | ForEach-Object { $_.Uri | Should -Be "r2://$($_.R2Key)" }
    }

    It 'expands wildcards in -Path' {
        New-TestFile 'w1.log' 10 | Out-Null
        New-TestFile 'w2.log' 20 | Out-Null
        (Send-ChittyFile -Path (Join-Path $work 'w*.log')).Name | Sort-Object | Should -Be @('w1.log', 'w2.log')
    }

    It 'marks the uploads active with -Activate' {
        $file = New-TestFile 'active.txt' 300
        (Send-ChittyFile -LiteralPath $file -Activate).Active | Should -BeTrue
        (Get-ChittyWhoAmI).ActiveFiles.Name | Should -Contain 'active.txt'
    }

    It 'refuses a directory, a missing path and an empty file with clear errors, and goes on' {
        $empty = Join-Path $work 'empty.dat'
        New-Item -ItemType File -Path $empty -Force | Out-Null
        $ok = New-TestFile 'ok.txt' 5
        $out = Send-ChittyFile -LiteralPath (Join-Path $work 'missing.txt'), $work, $empty, $ok -ErrorVariable errs -ErrorAction SilentlyContinue
        $out.Name | Should -Be 'ok.txt'
        $errs.FullyQualifiedErrorId | Should -Be @(
            'ChittyPathNotFound,ChittyConnect.PowerShell.Commands.SendChittyFileCommand',
            'ChittyPathIsDirectory,ChittyConnect.PowerShell.Commands.SendChittyFileCommand',
            'ChittyInvalidArgument,ChittyConnect.PowerShell.Commands.SendChittyFileCommand')
    }
}

Describe 'Complete-ChittyFile' {
    It 'commits piped uploads in one request each and -PassThru writes them on' {
        $file = New-TestFile 'commit.txt' 21
        Clear-EmulatorRequests
        $out = Send-ChittyFile -LiteralPath $file | Complete-ChittyFile -TaskId pester -PassThru
        $out.Name | Should -Be 'commit.txt'
        @(Get-EmulatorRequests | Where-Object path -eq '/api/files/commit').Count | Should -Be 1
    }
}

Describe 'Disconnect-Chitty' {
    It 'forgets the connection, and -WhatIf keeps it' {
        Disconnect-Chitty -WhatIf
        Get-ChittyConnection | Should -Not -BeNullOrEmpty
        Disconnect-Chitty
        { Get-ChittyConnection -ErrorAction Stop } | Should -Throw -ErrorId 'ChittyNotConnected,ChittyConnect.PowerShell.Commands.GetChittyConnectionCommand'
        Connect-Stack | Out-Null
    }
}

Describe 'Set-ChittyActiveFile' {
    It 'sends everything piped in as one request' {
        $a = New-TestFile 'pa.txt' 11
        $b = New-TestFile 'pb.txt' 12
        $uploaded = Send-ChittyFile -LiteralPath $a, $b
        Clear-EmulatorRequests
        $result = $uploaded | Set-ChittyActiveFile
        $result.Count | Should -Be 2
        @(Get-EmulatorRequests | Where-Object path -like '*set-active').Count | Should -Be 1
    }

    It 'takes -Uri and -Path' {
        (Set-ChittyActiveFile -Uri 'r2://files/x/report.pdf' -Name 'Q1-Report.pdf').Count | Should -Be 1
        $c = New-TestFile 'local.txt' 13
        (Set-ChittyActiveFile -Path $c).Uris[0] | Should -Match '^resource://connect/.+/[0-9a-f]{64}-local\.txt$'
    }
}

Describe 'Send-ChittySyncReport, Get-ChittyWhoAmI and Get-ChittyResourceUri' {
    It 'reports pipeline items and the emulator records them' {
        $items = 1..3 | ForEach-Object { [pscustomobject]@{ R2Key = "files/$($stack.SessionId)/r$_.txt"; Sha256 = ('{0:x64}' -f $_); Size = 100; Modified = Get-Date } }
        $result = $items | Send-ChittySyncReport -PathPrefix "files/$($stack.SessionId)"
        $result.Count | Should -Be 3
        $result.EventId | Should -Match '^[0-9a-f-]{36}$'
        $events = Invoke-RestMethod -Uri ([Uri]::new([Uri]$stack.EmulatorUri, '_emulator/sync-events'))
        $events.event_id | Should -Contain $result.EventId
    }

    It 'shows identity, session and quota' {
        $me = Get-ChittyWhoAmI
        $me.ChittyId | Should -Be $stack.ChittyId
        $me.SessionId | Should -Be $stack.SessionId
        $me.ActiveFiles.Count | Should -BeLessOrEqual 10
    }

    It 'takes files from Get-ChildItem and hash rows from Import-Csv' {
        $f = New-TestFile 'piped.bin' 99
        $sha = (Get-FileHash -LiteralPath $f -Algorithm SHA256).Hash.ToLowerInvariant()
        Get-Item -LiteralPath $f | Get-ChittyResourceUri | Should -Be "resource://connect/$($stack.SessionId)/$sha-piped.bin"
        $csv = Join-Path $work 'manifest.csv'
        @([pscustomobject]@{ Sha256 = 'b' * 64; Name = 'x.pdf' }) | Export-Csv -LiteralPath $csv -NoTypeInformation
        Import-Csv -LiteralPath $csv | Get-ChittyResourceUri | Should -Be "resource://connect/$($stack.SessionId)/$('b' * 64)-x.pdf"
    }

    It 'computes the resource URI from a file' {
        $f = New-TestFile 'doc.pdf' 64
        $sha = (Get-FileHash -LiteralPath $f -Algorithm SHA256).Hash.ToLowerInvariant()
        Get-ChittyResourceUri -Path $f | Should -Be "resource://connect/$($stack.SessionId)/$sha-doc.pdf"
    }
}
