# The two commands README.md opens with are the ones CI and the demo use.

BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:Readme = Get-Content (Join-Path $RepoRoot 'README.md')
    $script:FirstBlock = $Readme | Select-Object -Skip 1 | Where-Object { $_ -notmatch '^\s*$' } |
        Select-Object -First 6
    $script:Commands = @($FirstBlock | Where-Object { $_ -match '^dotnet ' })
}

Describe 'README.md' {
    It 'opens with the demo command and the test command' {
        $FirstBlock[0] | Should -Be '```sh'
        $Commands.Count | Should -Be 2
        $Commands[0] | Should -Be 'dotnet tool restore && npm ci && dotnet pwsh -NoProfile -File build.ps1 -Task Demo'
        $Commands[1] | Should -Be 'dotnet tool restore && npm ci && dotnet pwsh -NoProfile -File build.ps1 -Task Test'
    }

    It 'gives the test command that .ci/run runs' {
        $ciLast = Get-Content (Join-Path $RepoRoot '.ci/run') | Where-Object { $_ -match '^\s*[^#\s]' } | Select-Object -Last 1
        $readmeTest = ($Commands[1] -split ' && ')[-1]
        $ciLast | Should -Be $readmeTest
    }
}
