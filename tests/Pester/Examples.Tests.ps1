#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }

Describe 'examples/Invoke-ScheduledSync.ps1' {
    BeforeAll {
        . $PSScriptRoot/_Common.ps1
        $script:Stack = Start-ChittyStack
        $script:Connection = Connect-ChittyTestStack -Stack $Stack
        $script:Work = Join-Path ([IO.Path]::GetTempPath()) ('chitty-example-' + [guid]::NewGuid().ToString('N').Substring(0, 12))
        $script:Folder = Join-Path $Work 'data'
        $null = New-Item -ItemType Directory -Path $Folder -Force
        Set-Content -LiteralPath (Join-Path $Folder 'notes.txt') -Value 'scheduled sync'
        $script:Environment = @{
            CHITTY_ENDPOINT             = $Stack.EmulatorUri.AbsoluteUri
            CHITTY_API_KEY              = $Stack.ApiKey
            CHITTY_ID                   = $Stack.ChittyId
            CHITTY_SESSION_ID           = $Stack.SessionId
            CHITTY_R2_ENDPOINT          = $Stack.S3Uri.AbsoluteUri
            CHITTY_R2_BUCKET            = $Stack.Bucket
            CHITTY_R2_ACCESS_KEY_ID     = $Stack.S3AccessKey
            CHITTY_R2_SECRET_ACCESS_KEY = $Stack.S3SecretKey
            CHITTY_CONFIG_DIR           = (Join-Path $Work 'config')
        }

        function Invoke-ScheduledSyncExample([string] $LogFile) {
            $example = Join-Path $RepoRoot 'examples/Invoke-ScheduledSync.ps1'
            Invoke-ChittyPwsh -Environment $Environment -Command "& '$example' -Folder '$Folder' -LogFile '$LogFile' -IgnoreFile '$(Join-Path $Work 'none')'; exit `$LASTEXITCODE"
        }
    }

    AfterAll {
        $script:Stack | Stop-ChittyStack
        if ($script:Work) { Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction SilentlyContinue }
    }

    It 're-creates its session when the service lost it, and leaves an existing one alone' {
        $null = New-ChittySession -SessionId $Stack.SessionId -Metadata @{ device = 'first' }
        $kept = Invoke-ScheduledSyncExample (Join-Path $Work 'kept.log')
        $kept.ExitCode | Should -Be 0 -Because ($kept.Output -join "`n")
        ($kept.Output -join "`n") | Should -Not -Match 're-created'
        (Get-ChittySession -SessionId $Stack.SessionId).Metadata.device | Should -Be 'first'

        # The service's session store restarts and forgets every session.
        $null = Invoke-RestMethod -Method Post -Uri ([uri]::new($Stack.EmulatorUri, '_emulator/sessions/restart'))
        { Get-ChittySession -SessionId $Stack.SessionId -ErrorAction Stop } | Should -Throw -ErrorId 'ChittySessionNotFound*'

        $recreated = Invoke-ScheduledSyncExample (Join-Path $Work 'recreated.log')
        $recreated.ExitCode | Should -Be 0 -Because ($recreated.Output -join "`n")
        ($recreated.Output -join "`n") | Should -Match "Session '$([regex]::Escape($Stack.SessionId))' was missing on the service .* re-created it"
        $session = Get-ChittySession -SessionId $Stack.SessionId
        $session.Id | Should -Be $Stack.SessionId
        $session.Metadata.createdBy | Should -Be 'Invoke-ScheduledSync.ps1'
    }
}
