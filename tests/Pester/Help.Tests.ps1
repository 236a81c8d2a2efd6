# The guard of the help pipeline (docs/en-US/*.md -> en-US/ChittyConnect.PowerShell.dll-Help.xml):
# every exported cmdlet must have written help, found by Get-Help after a plain import of the manifest.

BeforeDiscovery {
    $manifest = Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../ChittyConnect.psd1')
    $script:Cmdlets = @($manifest.CmdletsToExport)
    $script:Docs = @(Get-ChildItem (Join-Path $PSScriptRoot '../../docs/en-US') -Filter '*.md' |
        Where-Object Name -NE 'README.md' | ForEach-Object BaseName)
}

BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:Common = [System.Management.Automation.Cmdlet]::CommonParameters
}

Describe 'Help of <_>' -ForEach $Cmdlets {
    BeforeAll {
        $script:Name = $_
        $script:Command = Get-Command -Name $Name -Module ChittyConnect -ErrorAction SilentlyContinue
        $script:Help = if ($Command) { Get-Help -Name $Name -Full } else { $null }
    }

    It 'is exported' {
        $Command | Should -Not -BeNullOrEmpty
    }

    It 'has a synopsis' {
        # Without written help, PowerShell makes the synopsis up from the syntax.
        $Help.Synopsis | Should -Not -BeNullOrEmpty
        $Help.Synopsis | Should -Not -Match "^\s*$([regex]::Escape($Name))\s"
    }

    It 'has a description' {
        ($Help.description.Text -join '') | Should -Not -BeNullOrEmpty
    }

    It 'has at least two examples, each with code and remarks' {
        $examples = @($Help.examples.example)
        $examples.Count | Should -BeGreaterOrEqual 2
        foreach ($example in $examples) {
            $example.code | Should -Not -BeNullOrEmpty
            ($example.remarks.Text -join '').Trim() | Should -Not -BeNullOrEmpty
        }
    }

    It 'describes every parameter' {
        $parameters = @($Command.Parameters.Keys | Where-Object { $_ -notin $Common })
        $undocumented = foreach ($parameter in $parameters) {
            $entry = $Help.parameters.parameter | Where-Object name -EQ $parameter
            if (-not $entry -or -not ($entry.description.Text -join '').Trim()) { $parameter }
        }
        $undocumented | Should -BeNullOrEmpty -Because 'each parameter needs a ### -Name section in docs/en-US'
    }
}

Describe 'docs/en-US/<_>.md' -ForEach $Docs {
    BeforeAll {
        $script:Name = $_
        $script:Command = Get-Command -Name $Name -Module ChittyConnect -ErrorAction SilentlyContinue
        $script:Text = Get-Content -Raw (Join-Path $RepoRoot "docs/en-US/$Name.md")
    }

    It 'names an exported cmdlet' {
        $Command | Should -Not -BeNullOrEmpty -Because 'a page for a cmdlet that does not exist is stale'
    }

    It 'documents only parameters the cmdlet has' {
        $documented = [regex]::Matches($Text, '(?m)^### -(\w+)') | ForEach-Object { $_.Groups[1].Value }
        $documented | Where-Object { -not $Command.Parameters.ContainsKey($_) } | Should -BeNullOrEmpty
    }
}

Describe 'The help file' {
    It 'is found by Get-Help after Import-Module ./ChittyConnect.psd1 in a new PowerShell' {
        # Proves the MAML sits where PowerShell looks for a binary module's help: the manifest's folder
        # (ModuleBase) and culture, not the folder of the dll.
        $expected = foreach ($page in Get-ChildItem (Join-Path $RepoRoot 'docs/en-US') -Filter '*-*.md') {
            $text = Get-Content -Raw $page.FullName
            $synopsis = [regex]::Match($text, '(?ms)^## SYNOPSIS\s*(.+?)\s*^## ').Groups[1].Value
            "$($page.BaseName): $(($synopsis -replace '\s+', ' ').Trim())"
        }
        $expected | Should -Not -BeNullOrEmpty
        $names = ($expected | ForEach-Object { "'" + $_.Split(':')[0] + "'" }) -join ','
        $result = Invoke-ChittyPwsh -Command @"
Import-Module ./ChittyConnect.psd1
foreach (`$name in $names) { "`${name}: `$(((Get-Help `$name).Synopsis -replace '\s+', ' ').Trim())" }
"@
        $result.Output | Should -Be @($expected)
    }
}

Describe 'Help that states behaviour' {
    BeforeAll {
        # The emulator sends a heartbeat every second, so a watch sees the stream's own events quickly.
        $script:Stack = Start-ChittyStack -EmulatorArgs @('--sse-heartbeat-seconds', '1')
        $null = Connect-ChittyTestStack -Stack $Stack
    }

    AfterAll {
        $script:Stack | Stop-ChittyStack
    }

    It 'Watch-ChittyEvents -First: the help says exactly that many objects, and the cmdlet writes exactly that many' {
        $text = ((Get-Help Watch-ChittyEvents -Parameter First).description.Text -join ' ') -replace '\s+', ' '
        $text | Should -Match 'exactly this many objects'
        # What an older text said and the cmdlet no longer does: a connected event written beside -First others.
        $text | Should -Not -Match 'event counts when it is written'

        $written = @(Watch-ChittyEvents -First 2 -IncludeStreamEvents -Timeout 30)
        $written.Count | Should -Be 2
        $written[0].Type | Should -Be 'connected'
        @(Watch-ChittyEvents -Type heartbeat -First 1 -Timeout 30).Count | Should -Be 1
    }
}
