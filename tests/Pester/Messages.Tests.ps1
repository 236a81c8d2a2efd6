# What the module tells a user to type must exist: every parameter a message or recommended action names,
# every CHITTY_* variable, and the inputs rclone users bring (remote:path, 1M) get an answer, not silence.
BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:SourceFiles = Get-ChildItem (Join-Path $RepoRoot 'src/ChittyConnect'), (Join-Path $RepoRoot 'src/ChittyConnect.PowerShell') -Recurse -Filter *.cs |
        Where-Object FullName -NotMatch '[\\/](obj|bin)[\\/]'
    # Every C# string literal of the module, interpolated or not, with the file it is in.
    $script:Literals = foreach ($file in $SourceFiles) {
        $text = Get-Content -Raw -LiteralPath $file.FullName
        foreach ($match in [regex]::Matches($text, '\$?"(?:[^"\\\r\n]|\\.)*"')) {
            [pscustomobject]@{ File = $file.Name; Text = $match.Value }
        }
    }
    $script:ModuleCommands = @(Get-Command -Module ChittyConnect)

    function script:Get-ParameterMention([string] $Text) {
        # Each -Parameter with the command it belongs to: the nearest command before it, where a
        # parenthesis opens a nested command ("-ApiKey (Read-Host -AsSecureString) -ChittyId": -ChittyId
        # is Connect-Chitty's) and a pipe, semicolon or comma ends one ("..., pass -Connection" is any cmdlet's).
        $current = $null
        $outer = [System.Collections.Generic.Stack[object]]::new()
        foreach ($token in [regex]::Matches($Text, '\(|\)|\||;|,|\b[A-Z][a-z]+-[A-Z][A-Za-z]+\b|(?<![\w-])-[A-Z][A-Za-z0-9]+\b')) {
            switch -Regex ($token.Value) {
                '^\($' { $outer.Push($current) }
                '^\)$' { if ($outer.Count) { $current = $outer.Pop() } }
                '^[|;,]$' { $current = $null }
                '^-' { [pscustomobject]@{ Command = $current; Parameter = $token.Value.Substring(1) } }
                default { $current = $token.Value }
            }
        }
    }
}

Describe 'The module''s messages and recommended actions' {
    It 'include the recommended actions of the error records (the scan reads them)' {
        $actions = @($Literals | Where-Object { $_.Text -match 'Connect-Chitty|Test-ChittyConnection' })
        $actions.Count | Should -BeGreaterThan 10
        ($Literals | Where-Object Text -Match 'LockTimeoutSec').Count | Should -BeGreaterThan 0
    }

    It 'name only parameters that exist on the command they follow (or, alone, on one of the module''s cmdlets)' {
        $allParameters = @($ModuleCommands | ForEach-Object { $_.Parameters.Keys } | Sort-Object -Unique)
        $missing = foreach ($literal in $Literals) {
            foreach ($mention in Get-ParameterMention $literal.Text) {
                $known = if ($mention.Command) {
                    $command = Get-Command $mention.Command -ErrorAction SilentlyContinue
                    if (-not $command) { "$($mention.Command) (no such command)" } else { $command.Parameters.Keys }
                } else { $allParameters }
                if ($known -notcontains $mention.Parameter) { "$($literal.File): $($mention.Command) -$($mention.Parameter) in $($literal.Text)" }
            }
        }
        $missing | Should -BeNullOrEmpty
    }

    It 'name only CHITTY_* variables the module reads' {
        $settings = Get-Content -Raw (Join-Path $RepoRoot 'src/ChittyConnect/Configuration/ChittyConnectionSettings.cs')
        $read = @([regex]::Matches($settings, 'const string \w+ = "(CHITTY_[A-Z0-9_]+)"') | ForEach-Object { $_.Groups[1].Value })
        $read | Should -Contain 'CHITTY_ID'
        $unknown = foreach ($literal in $Literals) {
            foreach ($name in [regex]::Matches($literal.Text, 'CHITTY_[A-Z0-9_]*[A-Z0-9]') | ForEach-Object Value) {
                if ($read -notcontains $name) { "$($literal.File): $name in $($literal.Text)" }
            }
        }
        $unknown | Should -BeNullOrEmpty
    }
}

Describe 'Connect-Chitty without parameters' {
    BeforeEach {
        $script:SavedEnvironment = @{}
        foreach ($name in @(Get-ChildItem Env: | Where-Object Name -Like 'CHITTY_*' | ForEach-Object Name)) {
            $SavedEnvironment[$name] = [Environment]::GetEnvironmentVariable($name)
            Set-ProcessVariable $name $null
        }
        $script:ConfigDir = Join-Path ([IO.Path]::GetTempPath()) ('chitty-pester-cfg-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
        $env:CHITTY_CONFIG_DIR = $ConfigDir
        Disconnect-Chitty -ErrorAction SilentlyContinue
    }

    AfterEach {
        Disconnect-Chitty -ErrorAction SilentlyContinue
        $env:CHITTY_CONFIG_DIR = $null
        foreach ($name in $SavedEnvironment.Keys) { Set-ProcessVariable $name $SavedEnvironment[$name] }
        Remove-Item -LiteralPath $ConfigDir -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'loads the profile that -Save without -Name saved' {
        $key = ConvertTo-SecureString 'k-123' -AsPlainText -Force
        Connect-Chitty -Endpoint http://127.0.0.1:9/ -ApiKey $key -ChittyId saved-id -SessionId saved-session -Save | Out-Null
        Disconnect-Chitty
        $connection = Connect-Chitty
        $connection.ChittyId | Should -Be 'saved-id'
        $connection.SessionId | Should -Be 'saved-session'
        $connection.Endpoint | Should -Be 'http://127.0.0.1:9/'
    }

    It 'with nothing saved and nothing set, names CHITTY_API_KEY and CHITTY_ID and how to save a profile' {
        $err = $null
        try { Connect-Chitty } catch { $err = $_ }
        $err.Exception.Message | Should -BeLike '*CHITTY_API_KEY and CHITTY_ID are not set*'
        $err.Exception.Message | Should -BeLike '*-Save*'
        $err.Exception.Message | Should -Not -BeLike '*Neither*'
    }

    It '-Save without -ApiKey keeps the connection the CHITTY_* variables describe as a profile' {
        $variables = @{ CHITTY_ENDPOINT = 'http://127.0.0.1:9/'; CHITTY_API_KEY = 'k-env-secret-123'; CHITTY_ID = 'env-id'
            CHITTY_SESSION_ID = 'env-session'; CHITTY_R2_ENDPOINT = 'http://127.0.0.1:10/'; CHITTY_R2_BUCKET = 'env-bucket'
            CHITTY_R2_ACCESS_KEY_ID = 'env-key-id'; CHITTY_R2_SECRET_ACCESS_KEY = 'env-r2-secret-456' }
        foreach ($name in $variables.Keys) { Set-ProcessVariable $name $variables[$name] }
        $saved = Connect-Chitty -Save -Name fromenv
        $saved.Name | Should -Be 'fromenv'
        foreach ($name in $variables.Keys) { Set-ProcessVariable $name $null }
        Disconnect-Chitty

        $connection = Connect-Chitty -Name fromenv
        $connection.ChittyId | Should -Be 'env-id'
        $connection.SessionId | Should -Be 'env-session'
        $connection.Bucket | Should -Be 'env-bucket'
        $connection.R2AccessKeyId | Should -Be 'env-key-id'
        $profileText = Get-ChildItem -LiteralPath $ConfigDir -Recurse -File | Get-Content -Raw
        $profileText | Should -Not -Match 'k-env-secret-123|env-r2-secret-456'
    }

    It '-Save without -ApiKey and with nothing set says what to give or set, and saves nothing' {
        $err = $null
        try { Connect-Chitty -Save -Name nothing } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'ChittyInvalidArgument,*'
        $err.Exception.Message | Should -BeLike '*CHITTY_API_KEY and CHITTY_ID are not set*Connect-Chitty -ApiKey*-ChittyId*-Save*'
        @(Get-ChittyConnection -ListAvailable | ForEach-Object Name) | Should -Not -Contain 'nothing'
    }

    It 'with CHITTY_API_KEY set but no CHITTY_ID, names CHITTY_ID' {
        $env:CHITTY_API_KEY = 'k-123'
        $err = $null
        try { Connect-Chitty } catch { $err = $_ }
        $err.Exception.Message | Should -BeLike '*ChittyID*CHITTY_ID*'
    }
}

Describe 'Session ids' {
    It '<Command> refuses <Id> before sending anything, saying why' -TestCases @(
        @{ Command = 'Sync-ChittyFolder'; Arguments = @('./folder', 'chittyos-data:backup'); Id = 'chittyos-data:backup'; Why = '*rclone remote:path*-RcloneRemote chittyos-data:<bucket>*-Prefix*' }
        @{ Command = 'Send-ChittyFile'; Arguments = @{ Path = './a.txt'; SessionId = 'a/b' }; Id = 'a/b'; Why = "*'/' is not allowed*" }
        @{ Command = 'Watch-ChittyEvents'; Arguments = @{ SessionId = 'x y' }; Id = 'x y'; Why = "*' ' is not allowed*" }
        @{ Command = 'New-ChittySession'; Arguments = @{ SessionId = '..' }; Id = '..'; Why = "*'.' or '..'*" }
        @{ Command = 'Connect-Chitty'; Arguments = @{ SessionId = 'r2:files/x' }; Id = 'r2:files/x'; Why = '*rclone remote:path*' }
        @{ Command = 'Get-ChittyResourceUri'; Arguments = @{ SessionId = 'a?b'; Sha256 = ('0' * 64); Name = 'x' }; Id = 'a?b'; Why = "*'?' is not allowed*" }
    ) {
        param($Command, $Arguments, $Id, $Why)
        $err = $null
        try { & $Command @Arguments } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError*'
        $err.Exception.Message | Should -BeLike "*'$Id' is not a session id*"
        $err.Exception.Message | Should -BeLike $Why
    }

    It 'Get-ChittySession still takes a wildcard pattern' {
        Disconnect-Chitty -ErrorAction SilentlyContinue
        $saved = @{}
        foreach ($name in 'CHITTY_ENDPOINT', 'CHITTY_API_KEY') { $saved[$name] = [Environment]::GetEnvironmentVariable($name); Set-ProcessVariable $name $null }
        try {
            $err = $null
            try { Get-ChittySession 'sess*' } catch { $err = $_ }
            # Bound and validated: it fails only for want of a connection.
            $err.FullyQualifiedErrorId | Should -BeLike 'ChittyNotConnected*'
        }
        finally { foreach ($name in $saved.Keys) { Set-ProcessVariable $name $saved[$name] } }
    }
}

Describe 'Sync-ChittyFolder -BandwidthLimit' {
    BeforeAll {
        $script:SavedEnvironment = @{}
        foreach ($name in 'CHITTY_ENDPOINT', 'CHITTY_API_KEY') { $SavedEnvironment[$name] = [Environment]::GetEnvironmentVariable($name); Set-ProcessVariable $name $null }
        Disconnect-Chitty -ErrorAction SilentlyContinue
    }

    AfterAll {
        foreach ($name in $SavedEnvironment.Keys) { Set-ProcessVariable $name $SavedEnvironment[$name] }
    }

    It 'takes rclone''s <Value> as <Expected>/s' -TestCases @(
        @{ Value = '1M'; Expected = '1.0 MiB' }
        @{ Value = '512K'; Expected = '512.0 KiB' }
        @{ Value = '10MiB'; Expected = '10.0 MiB' }
        @{ Value = '1.5k'; Expected = '1.5 KiB' }
        @{ Value = 2048; Expected = '2.0 KiB' }
        @{ Value = '100'; Expected = '100 B' }
    ) {
        param($Value, $Expected)
        # Bound and converted: the verbose line says the rate, then the missing connection ends the call.
        $verbose = try { Sync-ChittyFolder ./folder -BandwidthLimit $Value -Verbose 4>&1 } catch { }
        "$verbose" | Should -BeLike "*Bandwidth limit: $Expected/s*"
    }

    It 'refuses <Value> (a fraction of a byte, or no size at all) instead of running unlimited' -TestCases @(
        @{ Value = '0.5' }
        @{ Value = 0.5 }
        @{ Value = '1.5' }
        @{ Value = '10X' }
        @{ Value = '08:00,512k' }
    ) {
        param($Value)
        $err = $null
        try { Sync-ChittyFolder ./folder -BandwidthLimit $Value } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentTransformationError*'
        $err.Exception.Message | Should -BeLike '*BandwidthLimit*'
    }
}

Describe 'What the table and list views show' {
    It 'Test-ChittyConnection''s table shows the whole Detail (the fix to try), wrapped at 120 columns' {
        $fix = 'Make this computer trust the authority that issued the certificate, or check that the endpoint is the one you meant; the end of this sentence must show: END-OF-DETAIL'
        $row = [ChittyConnect.PowerShell.Commands.ChittyConnectionTest]@{ Check = 'Endpoint'; Target = 'https://api.example'; Status = 'Failed'; Detail = $fix }
        $text = $row | Format-Table | Out-String -Width 120
        $text | Should -BeLike '*END-OF-DETAIL*'
        ($text -split "`n" | Measure-Object -Property Length -Maximum).Maximum | Should -BeLessOrEqual 120
    }

    It 'the sync summary prints its throughput in binary units' {
        $summary = [ChittyConnect.Sync.ChittySyncSummary]::new()
        $summary.BytesPerSecond = 27458965
        ($summary | Format-List | Out-String) | Should -Match 'Throughput\s*:\s*26\.2 MiB/s'
    }

    It 'the sync summary lists UploadsNotSent only when a store refused uploads' {
        $summary = [ChittyConnect.Sync.ChittySyncSummary]::new()
        ($summary | Format-List | Out-String) | Should -Not -Match 'UploadsNotSent'
        $summary.UploadsNotSent = 5
        ($summary | Format-List | Out-String) | Should -Match 'UploadsNotSent\s*:\s*5'
    }
}

Describe 'A session id from the environment' {
    It 'is checked when the connection is made from CHITTY_SESSION_ID, naming the variable' {
        $saved = @{}
        foreach ($name in 'CHITTY_ENDPOINT', 'CHITTY_API_KEY', 'CHITTY_ID', 'CHITTY_SESSION_ID') { $saved[$name] = [Environment]::GetEnvironmentVariable($name) }
        Disconnect-Chitty -ErrorAction SilentlyContinue
        try {
            $env:CHITTY_ENDPOINT = 'http://127.0.0.1:9/'; $env:CHITTY_API_KEY = 'k-123'; $env:CHITTY_ID = 'me'; $env:CHITTY_SESSION_ID = 'r2:files/x'
            $err = $null
            try { Connect-Chitty -FromEnvironment } catch { $err = $_ }
            $err.FullyQualifiedErrorId | Should -BeLike 'ChittyInvalidArgument*'
            $err.Exception.Message | Should -BeLike "*'r2:files/x'*CHITTY_SESSION_ID*rclone remote:path*"
        }
        finally {
            foreach ($name in $saved.Keys) { Set-ProcessVariable $name $saved[$name] }
            Disconnect-Chitty -ErrorAction SilentlyContinue
        }
    }
}
