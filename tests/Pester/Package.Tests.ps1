#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.7.1' }

# The module as PowerShell users get it: the .nupkg build.ps1 -Task Package writes, installed with
# Install-PSResource into a home with nothing else in it, autoloaded by name, and removed again.
Describe 'The ChittyConnect package' {
    BeforeAll {
        . $PSScriptRoot/_Common.ps1
        $script:Work = Join-Path ([IO.Path]::GetTempPath()) ('chitty-package-' + [guid]::NewGuid().ToString('N').Substring(0, 12))
        $script:Installed = Install-ChittyPackage -Work $Work
        $script:Stack = Start-ChittyStack
        $script:Version = (Import-PowerShellDataFile -LiteralPath $ManifestPath).ModuleVersion

        function Invoke-InCleanHome([string] $Command, [hashtable] $Extra = @{}) {
            $environment = Get-CleanHomeEnvironment -UserHome $Installed.Home
            foreach ($name in $Extra.Keys) { $environment[$name] = $Extra[$name] }
            Invoke-ChittyPwsh -Environment $environment -WorkingDirectory $Installed.Home -Command $Command
        }
    }

    AfterAll {
        $script:Stack | Stop-ChittyStack
        if ($script:Work) { Remove-Item -LiteralPath $script:Work -Recurse -Force -ErrorAction SilentlyContinue }
    }

    It 'is versioned as the manifest and holds only what the module needs' {
        Split-Path -Leaf $Installed.Package | Should -Be "ChittyConnect.$Version.nupkg"
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $zip = [IO.Compression.ZipFile]::OpenRead($Installed.Package)
        try {
            $entries = @($zip.Entries.FullName | Where-Object { $_ -notmatch '^(_rels/|package/|\[Content_Types\]\.xml$|ChittyConnect\.nuspec$)' })
        }
        finally {
            $zip.Dispose()
        }
        foreach ($needed in 'ChittyConnect.psd1', 'ChittyConnect.Format.ps1xml', 'LICENSE', 'en-US/ChittyConnect.PowerShell.dll-Help.xml',
            'bin/ChittyConnect.PowerShell.dll', 'bin/en-US/ChittyConnect.PowerShell.dll-Help.xml', 'bin/dependencies/ChittyConnect.dll',
            'bin/dependencies/AWSSDK.S3.dll', 'bin/dependencies/AWSSDK.Core.dll', 'bin/dependencies/ChittyConnect.Crypt.Vector.dll') {
            $entries | Should -Contain $needed
        }
        # Nothing of the repository but the module: no sources, tests, tools, symbols or XML docs.
        $entries | Where-Object { $_ -notmatch '^(ChittyConnect\.psd1|ChittyConnect\.Format\.ps1xml|LICENSE|en-US/[^/]+-Help\.xml|bin/.+\.(dll|xml))$' } | Should -BeNullOrEmpty
        $entries | Where-Object { $_ -like '*.xml' -and $_ -notlike '*-Help.xml' } | Should -BeNullOrEmpty
        (Get-Content -LiteralPath (Join-Path $RepoRoot 'LICENSE') -TotalCount 3) -join ' ' | Should -Match 'Apache License\s+Version 2\.0'
    }

    It 'has no placeholder address in its manifest' {
        $data = Import-PowerShellDataFile -LiteralPath $ManifestPath
        $uris = @($data.PrivateData.PSData.GetEnumerator() | Where-Object Key -like '*Uri' | ForEach-Object Value)
        $uris | Where-Object { ([uri]$_).Host -match '(^|\.)(example\.(invalid|com|org)|localhost)$' } | Should -BeNullOrEmpty
        $data.PrivateData.PSData.LicenseUri | Should -Match 'apache\.org/licenses/LICENSE-2\.0'
    }

    It 'autoloads in a new process without Import-Module, syncs a folder against the stack, and uninstalls' {
        $folder = Join-Path $Work 'data'
        $null = New-Item -ItemType Directory -Path (Join-Path $folder 'sub') -Force
        Set-Content -LiteralPath (Join-Path $folder 'a.txt') -Value 'installed by name'
        Set-Content -LiteralPath (Join-Path $folder 'sub/b.txt') -Value 'from the package'
        $prefix = "files/$($Stack.SessionId)/package"
        $stackEnvironment = Get-ChittyStackEnvironment -Stack $Stack
        $stackEnvironment.CHITTY_CONFIG_DIR = Join-Path $Work 'config'

        $run = Invoke-InCleanHome -Extra $stackEnvironment -Command @"
`$ErrorActionPreference = 'Stop'
if (Get-Module ChittyConnect) { throw 'loaded before use' }
`$results = Sync-ChittyFolder -Path '$folder' -Prefix '$prefix'
'module base: ' + (Get-Module ChittyConnect).ModuleBase
foreach (`$r in `$results) { 'result: ' + `$r.Action + ' ' + `$r.RelativePath }
"@
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        $base = ($run.Output | Where-Object { $_ -like 'module base: *' }) -replace '^module base: '
        $base | Should -BeLike (Join-Path $Installed.Home '*')
        $base | Should -Not -BeLike "$RepoRoot*"
        @($run.Output | Where-Object { $_ -like 'result: Uploaded *' }).Count | Should -Be 2

        $remote = Get-RcloneMd5 -Stack $Stack -Path "$($Stack.Bucket)/$prefix"
        $remote.Keys | Sort-Object | Should -Be @('a.txt', 'sub/b.txt')
        $remote['sub/b.txt'] | Should -Be (Get-FileHash -LiteralPath (Join-Path $folder 'sub/b.txt') -Algorithm MD5).Hash.ToLowerInvariant()

        $remove = Invoke-InCleanHome -Command @"
`$ErrorActionPreference = 'Stop'
Uninstall-PSResource ChittyConnect
'left: ' + @(Get-Module ChittyConnect -ListAvailable).Count
'command: ' + [bool](Get-Command Sync-ChittyFolder -ErrorAction SilentlyContinue)
"@
        $remove.ExitCode | Should -Be 0 -Because ($remove.Output -join "`n")
        $remove.Output | Should -Contain 'left: 0'
        $remove.Output | Should -Contain 'command: False'
        Test-Path -LiteralPath $base | Should -BeFalse
    }
}
