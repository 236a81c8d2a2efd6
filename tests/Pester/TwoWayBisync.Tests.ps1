#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }
# The rclone bisync cross-check of docs/two-way-sync.md, kept true: the scenario table run through rclone
# (installed by .ci/run) must differ from the module's outcomes in exactly the scenarios the page names.

BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:rclone = Get-Command rclone -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $rclone) { throw 'rclone is not installed (apt-get install -y rclone; .ci/run does it): the cross-check needs it.' }
    $script:page = Get-Content -LiteralPath (Join-Path $RepoRoot 'docs/two-way-sync.md') -Raw
}

Describe 'rclone bisync on the two-way scenario table' {
    It 'differs from the module exactly where docs/two-way-sync.md says' {
        $table = & (Join-Path $RepoRoot 'tests/TwoWay/Compare-RcloneBisync.ps1') -Rclone $rclone.Source
        $rows = @($table -split "`n" | Where-Object { $_ -match '^\| (?!Scenario|---)' })
        $rows.Count | Should -Be 23
        $differs = @($rows | Where-Object { $_ -match '\| \*\*no\*\* \|' } | ForEach-Object { ($_ -split ' \| ')[0].TrimStart('|', ' ') } | Sort-Object)
        $documented = @([regex]::Matches($page, '(?m)^\| ([^|]+?) \| [^|]+ \| \*\*differs\*\*') | ForEach-Object { $_.Groups[1].Value } | Sort-Object)
        $documented.Count | Should -Be 7
        $differs | Should -Be $documented
    }
}
