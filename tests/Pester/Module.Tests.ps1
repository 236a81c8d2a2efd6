BeforeDiscovery {
    $manifest = Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../ChittyConnect.psd1')
    $script:ExpectedCmdlets = @($manifest.CmdletsToExport)
}

BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:Manifest = Import-PowerShellDataFile $ManifestPath
    [xml] $props = Get-Content -Raw (Join-Path $RepoRoot 'Directory.Build.props')
    $script:PropsVersion = @($props.Project.PropertyGroup.Version | Where-Object { $_ })[0]
    $script:Module = Get-Module ChittyConnect
}

Describe 'The module manifest' {
    It 'is valid' {
        $info = Test-ModuleManifest -Path $ManifestPath -ErrorAction Stop
        $info.Name | Should -Be 'ChittyConnect'
    }

    It 'has the version of Directory.Build.props' {
        $PropsVersion | Should -Not -BeNullOrEmpty
        $Manifest.ModuleVersion | Should -Be $PropsVersion
    }

    It 'matches the version the dll was built with' {
        $dll = Join-Path $RepoRoot 'bin/ChittyConnect.PowerShell.dll'
        $version = [Reflection.AssemblyName]::GetAssemblyName($dll).Version
        '{0}.{1}.{2}' -f $version.Major, $version.Minor, $version.Build | Should -Be $Manifest.ModuleVersion
    }

    It 'runs on Windows PowerShell 5.1 and PowerShell 7' {
        $Manifest.CompatiblePSEditions | Sort-Object | Should -Be @('Core', 'Desktop')
        $Manifest.PowerShellVersion | Should -Be '5.1'
    }

    It 'lists every export explicitly, with no wildcard' {
        foreach ($key in 'CmdletsToExport', 'FunctionsToExport', 'AliasesToExport', 'VariablesToExport') {
            $Manifest.ContainsKey($key) | Should -BeTrue -Because "$key must be listed"
            @($Manifest[$key]) -join ',' | Should -Not -Match '\*'
        }
    }
}

Describe 'The built module' {
    It 'imports from the repository root in a new PowerShell' {
        $result = Invoke-ChittyPwsh -Command @'
$ErrorActionPreference = 'Stop'
Import-Module ./ChittyConnect.psd1
(Get-Module ChittyConnect).ExportedCmdlets.Keys | Sort-Object
'@
        $result.ExitCode | Should -Be 0 -Because ($result.Output -join "`n")
        $result.Output | Should -Be ($Manifest.CmdletsToExport | Sort-Object)
    }

    It 'exports <_>' -ForEach $ExpectedCmdlets {
        $Module.ExportedCmdlets.Keys | Should -Contain $_
    }

    It 'exports no cmdlet that the manifest does not list' {
        $Module.ExportedCmdlets.Keys | Where-Object { $_ -notin $Manifest.CmdletsToExport } | Should -BeNullOrEmpty
    }

    It 'has every cmdlet of its dll in CmdletsToExport' {
        $defined = $Module.ImplementingAssembly.GetExportedTypes() | ForEach-Object {
            $attribute = [Attribute]::GetCustomAttribute($_, [System.Management.Automation.CmdletAttribute])
            if ($attribute) { "$($attribute.VerbName)-$($attribute.NounName)" }
        }
        $defined | Where-Object { $_ -notin $Manifest.CmdletsToExport } | Should -BeNullOrEmpty
    }

    It 'exports no function, alias or variable' {
        $Module.ExportedFunctions.Count | Should -Be 0
        $Module.ExportedAliases.Count | Should -Be 0
        $Module.ExportedVariables.Count | Should -Be 0
    }

    It 'does not ship System.Management.Automation (the host provides it)' {
        Join-Path $RepoRoot 'bin/System.Management.Automation.dll' | Should -Not -Exist
    }
}
