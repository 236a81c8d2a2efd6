# Secrets stay secret as a user sees the module: views of the connection, saved profiles, verbose runs.
BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:Stack = Start-ChittyStack -ApiKey ('sk-pester-DO-NOT-PRINT-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $script:R2Secret = 'r2-pester-DO-NOT-PRINT-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
    # s3rver checks the access key id, not the SigV4 signature: any secret works, so it can be a recognisable one.
    $cred = [pscredential]::new($Stack.S3AccessKey, (ConvertTo-SecureString $R2Secret -AsPlainText -Force))
    Connect-ChittyTestStack -Stack $Stack -Extra @{ R2Credential = $cred }
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ("chitty-pester-secrets-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path (Join-Path $Work 'folder') | Out-Null
    Set-Content -LiteralPath (Join-Path $Work 'folder/a.txt') -Value 'alpha'
    function script:Assert-NoSecret([string] $Text) {
        $Text | Should -Not -BeLike "*$($Stack.ApiKey)*"
        $Text | Should -Not -BeLike "*$R2Secret*"
    }
}

AfterAll {
    Stop-ChittyStack -Stack $Stack
    Remove-Item -LiteralPath $Work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Get-ChittyConnection' {
    It 'shows masks in every view' {
        $c = Get-ChittyConnection
        $c.ApiKey | Should -Be '********'
        $c.R2SecretAccessKey | Should -Be '********'
        Assert-NoSecret ($c | Format-List * | Out-String)
        Assert-NoSecret ($c | Format-Table * | Out-String)
        Assert-NoSecret ($c | ConvertTo-Json -Depth 5)
        Assert-NoSecret ($c | Select-Object * | Out-String)
        $c | Export-Clixml -Path (Join-Path $Work 'c.xml') -Depth 5
        Assert-NoSecret (Get-Content -Raw (Join-Path $Work 'c.xml'))
    }
}

Describe 'A verbose sync and a failing call' {
    It 'write no secret to any stream or the log file' {
        $log = Join-Path $Work 'sync.log'
        $all = & {
            Sync-ChittyFolder (Join-Path $Work 'folder') -Prefix 'files/pester-secrets' -LogFile $log -Summary -Verbose -Debug
            Get-ChittySession 'no-such-session' -Verbose -Debug -ErrorAction Continue
            Test-ChittyConnection -Verbose
        } *>&1 | Out-String
        $all | Should -BeLike '*SESSION_NOT_FOUND*'
        Assert-NoSecret $all
        Assert-NoSecret (Get-Content -Raw -LiteralPath $log)
    }
}

Describe 'A saved profile' {
    It 'holds no secret in clear text and, on Linux, is mode 0600' {
        $config = Join-Path $Work 'config'
        $result = Invoke-ChittyPwsh -Environment @{ CHITTY_CONFIG_DIR = $config } -Command @"
Import-Module ./ChittyConnect.psd1
`$cred = [pscredential]::new('S3RVER', (ConvertTo-SecureString '$R2Secret' -AsPlainText -Force))
Connect-Chitty -Endpoint '$($Stack.EmulatorUri)' -ApiKey (ConvertTo-SecureString '$($Stack.ApiKey)' -AsPlainText -Force) -ChittyId '$($Stack.ChittyId)' -R2Endpoint '$($Stack.S3Uri)' -Bucket '$($Stack.Bucket)' -R2Credential `$cred -Save -Name work | Out-Null
Get-ChittyConnection -ListAvailable | Format-List * | Out-String
"@
        $result.ExitCode | Should -Be 0
        Assert-NoSecret ($result.Output -join "`n")
        $files = @(Get-ChildItem -LiteralPath $config -Recurse -File)
        $files | Should -Not -BeNullOrEmpty
        foreach ($file in $files) {
            Assert-NoSecret (Get-Content -Raw -LiteralPath $file.FullName)
            if (-not $IsWindows) { $file.UnixFileMode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite') }
        }
    }
}
