#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# The local stack with s3rver over HTTPS (Start-ChittyStack -Https), as R2 is only reached: a process
# started with the stack's environment (SSL_CERT_FILE) trusts it and syncs; this test process, which
# does not, is refused with a clear error.

BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:stack = Start-ChittyStack -Https
    $script:testWork = Enter-ChittyTestWork 'https'
    $script:work = $testWork.Path
    $script:folder = Join-Path $work 'data'
    New-Item -ItemType Directory -Path (Join-Path $folder 'sub') -Force | Out-Null
    Set-Content -LiteralPath (Join-Path $folder 'a.txt') -Value 'alpha'
    Set-Content -LiteralPath (Join-Path $folder 'sub/b.txt') -Value 'beta'
}

AfterAll {
    Exit-ChittyTestWork $script:testWork -Stack $script:stack
}

Describe 'Start-ChittyStack -Https' {
    It 'serves s3rver over HTTPS with a certificate for 127.0.0.1 and localhost from the stack''s own CA' {
        $stack.S3Uri.Scheme | Should -Be 'https'
        $certificate = [System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPem(
            (Get-Content -LiteralPath (Join-Path $stack.TempRoot 'tls/cert.pem') -Raw))
        $names = $certificate.Extensions | Where-Object { $_ -is [System.Security.Cryptography.X509Certificates.X509SubjectAlternativeNameExtension] }
        @($names.EnumerateIPAddresses()) | ForEach-Object ToString | Should -Be '127.0.0.1'
        @($names.EnumerateDnsNames()) | Should -Be 'localhost'
        $authority = [System.Security.Cryptography.X509Certificates.X509Certificate2]::CreateFromPem((Get-Content -LiteralPath $stack.CertificateAuthorityPath -Raw))
        $certificate.Issuer | Should -Be $authority.Subject
        (Get-Content -LiteralPath $stack.TrustBundlePath -Raw) | Should -BeLike "$((Get-Content -LiteralPath $stack.CertificateAuthorityPath -Raw).Trim())*"
        (Get-ChittyStackEnvironment -Stack $stack).SSL_CERT_FILE | Should -Be $stack.TrustBundlePath
    }

    It 'is trusted by a process started with the stack''s environment: the folder syncs and is reported' {
        $result = Invoke-ChittyPwsh -Environment ((Get-ChittyStackEnvironment -Stack $stack) + @{ CHITTY_CONFIG_DIR = (Join-Path $work 'child-config') }) -Command @"
`$ErrorActionPreference = 'Stop'
Import-Module ./ChittyConnect.psd1
Connect-Chitty | Out-Null
Sync-ChittyFolder -Path '$folder' -InformationVariable info 6>`$null | ForEach-Object { "`$(`$_.Action) `$(`$_.RelativePath)" }
"report=`$((`$info | Where-Object Tags -Contains ChittySyncSummary).MessageData.ReportEventId)"
"@
        $result.ExitCode | Should -Be 0 -Because ($result.Output -join "`n")
        $result.Output | Where-Object { $_ -like 'Uploaded *' } | Sort-Object | Should -Be @('Uploaded a.txt', 'Uploaded sub/b.txt')
        $result.Output | Where-Object { $_ -like 'report=*' } | Should -Match '^report=\S+'
    }

    It 'is refused by the module in a process that does not trust it, with a clear connection error' {
        Connect-Chitty -Endpoint $stack.EmulatorUri -ApiKey $stack.SecureApiKey -ChittyId $stack.ChittyId -SessionId $stack.SessionId `
            -R2Endpoint $stack.S3Uri -Bucket $stack.Bucket -R2Credential $stack.S3Credential | Out-Null
        $failure = $null
        try { Sync-ChittyFolder -Path $folder -Prefix 'files/untrusted' -NoReport -ErrorAction Stop } catch { $failure = $_ }
        $failure | Should -Not -BeNullOrEmpty
        $failure.FullyQualifiedErrorId | Should -Match '^Chitty(Storage)?ConnectionFailed,'
        $failure.CategoryInfo.Category | Should -Be 'ConnectionError'
        $failure.ErrorDetails.Message | Should -BeLike '*TLS connection could not be established*certificate*'
        $failure.ErrorDetails.RecommendedAction | Should -BeLike '*trust*'
    }
}
