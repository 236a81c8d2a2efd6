# Bad input as a user meets it through the imported module (the full catalogue: docs/bad-input.md).
BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:Stack = Start-ChittyStack
    Connect-ChittyTestStack -Stack $Stack
    $script:Work = Join-Path ([IO.Path]::GetTempPath()) ("chitty-pester-bad-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
    New-Item -ItemType Directory -Path (Join-Path $Work 'folder') | Out-Null
    Set-Content -LiteralPath (Join-Path $Work 'folder/a.txt') -Value 'alpha'
    function script:Get-RemoteKey([string] $Prefix) {
        # What s3rver holds under the prefix: a WhatIf plan of a download lists every object.
        $empty = Join-Path $Work ('empty-' + [guid]::NewGuid().ToString('N').Substring(0, 6))
        @(Sync-ChittyFolder $empty -Prefix $Prefix -Direction Download -WhatIf -NoReport 6>$null | ForEach-Object RelativePath)
    }
}

AfterAll {
    Stop-ChittyStack -Stack $Stack
    Remove-Item -LiteralPath $Work -Recurse -Force -ErrorAction SilentlyContinue
}

Describe 'Sync-ChittyFolder refuses bad limits before sending anything' {
    It '-<Name> is a validation error naming <Parameter>' -TestCases @(
        @{ Name = 'Transfers 0'; Arguments = @{ Transfers = 0 }; Parameter = 'Transfers' }
        @{ Name = 'Transfers -1'; Arguments = @{ Transfers = -1 }; Parameter = 'Transfers' }
        @{ Name = 'BandwidthLimit -5'; Arguments = @{ BandwidthLimit = -5 }; Parameter = 'BandwidthLimit' }
        @{ Name = 'MaxDelete -2'; Arguments = @{ MaxDelete = -2 }; Parameter = 'MaxDelete' }
    ) {
        param($Name, $Arguments, $Parameter)
        $prefix = 'files/pester-bad-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        $err = $null
        try { Sync-ChittyFolder (Join-Path $Work 'folder') -Prefix $prefix -NoReport @Arguments } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'ParameterArgumentValidationError*'
        $err.Exception.Message | Should -BeLike "*$Parameter*"
        Get-RemoteKey $prefix | Should -BeNullOrEmpty
    }
}

Describe 'A filter file with a bad pattern' {
    It 'is ChittyFilterSyntax naming the file and line, and nothing is sent' {
        $filters = Join-Path $Work 'ignore.txt'
        Set-Content -LiteralPath $filters -Value @('*.tmp', '[z-a]')
        $prefix = 'files/pester-filter-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        $err = $null
        try { Sync-ChittyFolder (Join-Path $Work 'folder') -Prefix $prefix -ExcludeFrom $filters -NoReport } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'ChittyFilterSyntax*'
        $err.Exception.Message | Should -BeLike "*${filters}:2*"
        Get-RemoteKey $prefix | Should -BeNullOrEmpty
    }
}

Describe 'Relative paths' {
    It 'are resolved against the PowerShell location' {
        $prefix = 'files/pester-rel-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
        Push-Location $Work
        try { $summary = Sync-ChittyFolder folder -Prefix $prefix -NoReport -Summary | Select-Object -Last 1 }
        finally { Pop-Location }
        $summary.LocalPath | Should -Be (Join-Path $Work 'folder')
        Get-RemoteKey $prefix | Should -Be @('a.txt')
    }
}

Describe 'An endpoint with a query string' {
    It 'is refused and the current connection is kept' {
        $before = Get-ChittyConnection
        $err = $null
        try { Connect-Chitty -Endpoint 'http://127.0.0.1:1/?tenant=x' -ApiKey $Stack.SecureApiKey -ChittyId $Stack.ChittyId } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'ChittyInvalidArgument*'
        $err.Exception.Message | Should -BeLike '*must not carry a query*'
        (Get-ChittyConnection).Endpoint | Should -Be $before.Endpoint
    }
}

Describe 'Send-ChittyFile given a named pipe' {
    It 'refuses it as not a regular file, without opening it' -Skip:$IsWindows {
        $pipe = Join-Path $Work 'pipe'
        & mkfifo $pipe
        $err = $null
        try { Send-ChittyFile -LiteralPath $pipe } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -BeLike 'ChittyInvalidArgument*'
        $err.Exception.Message | Should -BeLike '*is a named pipe, not a regular file*'
    }
}
