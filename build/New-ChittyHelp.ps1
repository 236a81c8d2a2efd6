#Requires -Version 7.2
<#
.SYNOPSIS
Turns platyPS-style markdown (docs/en-US/<Verb-Noun>.md) into the MAML help file of the module.

.DESCRIPTION
platyPS is not available here (no PowerShell Gallery), so this reads the same markdown shape:

    # Verb-Noun
    ## SYNOPSIS           one paragraph
    ## SYNTAX             ignored: the syntax comes from the real cmdlet metadata
    ## DESCRIPTION
    ## EXAMPLES           ### Example N: title, a ```powershell fence, then the remarks
    ## PARAMETERS         ### -Name, its description, an optional ```yaml block (Default value,
                          Accept wildcard characters are read from it; the rest comes from the cmdlet)
    ## INPUTS / OUTPUTS   ### Type name, then its description
    ## NOTES
    ## RELATED LINKS      [text](uri) lines

The module is imported so that the syntax, parameter sets, types, positions and pipeline input in the
help are the cmdlets' own and cannot drift from the code. A cmdlet without a markdown file keeps the
help PowerShell makes up; tests/Pester/Help.Tests.ps1 fails for it.

.PARAMETER OutputPath
Files to write; each string may hold several paths separated by [IO.Path]::PathSeparator.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ManifestPath,
    [Parameter(Mandatory)] [string] $DocsPath,
    [Parameter(Mandatory)] [string[]] $OutputPath
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$NsMaml = 'http://schemas.microsoft.com/maml/2004/10'
$NsCommand = 'http://schemas.microsoft.com/maml/dev/command/2004/10'
$NsDev = 'http://schemas.microsoft.com/maml/dev/2004/10'

# WhatIf and Confirm are in the syntax (platyPS documents them too); the rest are <CommonParameters>.
$DefaultDescriptions = @{
    WhatIf  = 'Shows what would happen if the cmdlet runs. The cmdlet is not run and nothing is sent.'
    Confirm = 'Prompts you for confirmation before running the cmdlet.'
}
$CommonParameters = [System.Management.Automation.Cmdlet]::CommonParameters

function Split-Section {
    # Splits markdown into the text under each heading of the given level, keyed by heading text.
    param([string[]] $Lines, [int] $Level)
    $prefix = ('#' * $Level) + ' '
    $sections = [System.Collections.Specialized.OrderedDictionary]::new([StringComparer]::OrdinalIgnoreCase)
    $current = $null
    $inFence = $false
    foreach ($line in $Lines) {
        if ($line -match '^\s*```') { $inFence = -not $inFence }
        if (-not $inFence -and $line.StartsWith($prefix)) {
            $current = $line.Substring($prefix.Length).Trim()
            $sections[$current] = [System.Collections.Generic.List[string]]::new()
            continue
        }
        if ($null -ne $current) { $sections[$current].Add($line) }
    }
    $sections
}

function Get-Fence {
    # The fenced code blocks of a block of lines, and the lines outside them.
    param([string[]] $Lines)
    $fences = [System.Collections.Generic.List[object]]::new()
    $text = [System.Collections.Generic.List[string]]::new()
    $fence = $null
    foreach ($line in $Lines) {
        if ($line -match '^\s*```\s*(?<lang>\S*)') {
            if ($null -eq $fence) {
                $fence = [pscustomobject]@{ Language = $Matches.lang; Lines = [System.Collections.Generic.List[string]]::new() }
            }
            else {
                $fences.Add($fence)
                $fence = $null
            }
            continue
        }
        if ($null -ne $fence) { $fence.Lines.Add($line) } else { $text.Add($line) }
    }
    [pscustomobject]@{ Fences = $fences; Text = $text }
}

function ConvertTo-Paragraph {
    # Blank lines separate paragraphs; the lines of a paragraph are joined, list items stay apart.
    param([string[]] $Lines)
    $paragraphs = [System.Collections.Generic.List[string]]::new()
    $current = [System.Collections.Generic.List[string]]::new()
    $flush = {
        if ($current.Count -gt 0) {
            $paragraphs.Add(($current -join ' ').Trim())
            $current.Clear()
        }
    }
    foreach ($line in $Lines) {
        $trimmed = $line.Trim()
        if ($trimmed -eq '') { . $flush; continue }
        if ($trimmed -match '^([-*+]|\d+\.)\s') { . $flush }
        $current.Add($trimmed)
    }
    . $flush
    , $paragraphs
}

function Read-CommandDoc {
    param([string] $Path)
    $lines = Get-Content -LiteralPath $Path
    # platyPS front matter
    if ($lines.Count -gt 0 -and $lines[0] -eq '---') {
        $end = [Array]::IndexOf($lines, '---', 1)
        if ($end -gt 0) { $lines = $lines[($end + 1)..($lines.Count - 1)] }
    }
    $title = $lines | Where-Object { $_ -match '^# \S' } | Select-Object -First 1
    if (-not $title) { throw "${Path}: no '# Verb-Noun' title." }
    $sections = Split-Section -Lines $lines -Level 2

    $section = {
        param([string] $Name)
        if ($sections.Contains($Name)) { [string[]] $sections[$Name] } else { [string[]] @() }
    }

    $examples = foreach ($entry in (Split-Section -Lines (& $section 'EXAMPLES') -Level 3).GetEnumerator()) {
        $parts = Get-Fence -Lines $entry.Value
        [pscustomobject]@{
            Title   = $entry.Key
            Code    = ($parts.Fences | Where-Object Language -NE 'output' | ForEach-Object { $_.Lines -join "`n" }) -join "`n`n"
            Output  = ($parts.Fences | Where-Object Language -EQ 'output' | ForEach-Object { $_.Lines -join "`n" }) -join "`n`n"
            Remarks = ConvertTo-Paragraph $parts.Text
        }
    }

    $parameters = @{}
    foreach ($entry in (Split-Section -Lines (& $section 'PARAMETERS') -Level 3).GetEnumerator()) {
        if ($entry.Key -eq 'CommonParameters') { continue }
        $parts = Get-Fence -Lines $entry.Value
        $yaml = @{}
        foreach ($fence in $parts.Fences | Where-Object Language -EQ 'yaml') {
            foreach ($line in $fence.Lines) {
                if ($line -match '^(?<key>[^:]+):\s*(?<value>.*)$') { $yaml[$Matches.key.Trim()] = $Matches.value.Trim() }
            }
        }
        $parameters[$entry.Key.TrimStart('-')] = [pscustomobject]@{
            Description = ConvertTo-Paragraph $parts.Text
            Yaml        = $yaml
        }
    }

    $typed = {
        param([string] $Name)
        foreach ($entry in (Split-Section -Lines (& $section $Name) -Level 3).GetEnumerator()) {
            [pscustomobject]@{ Type = $entry.Key; Description = ConvertTo-Paragraph $entry.Value }
        }
    }

    $links = foreach ($line in & $section 'RELATED LINKS') {
        foreach ($m in [regex]::Matches($line, '\[(?<text>[^\]]+)\]\((?<uri>[^)]*)\)')) {
            [pscustomobject]@{ Text = $m.Groups['text'].Value; Uri = $m.Groups['uri'].Value }
        }
    }

    [pscustomobject]@{
        Name        = $title.Substring(2).Trim()
        Path        = $Path
        Synopsis    = ConvertTo-Paragraph (& $section 'SYNOPSIS')
        Description = ConvertTo-Paragraph (& $section 'DESCRIPTION')
        Examples    = @($examples)
        Parameters  = $parameters
        Inputs      = @(& $typed 'INPUTS')
        Outputs     = @(& $typed 'OUTPUTS')
        Notes       = ConvertTo-Paragraph (& $section 'NOTES')
        Links       = @($links)
    }
}

function Write-Para([System.Xml.XmlWriter] $Writer, [string[]] $Paragraphs) {
    foreach ($p in $Paragraphs) { $Writer.WriteElementString('maml', 'para', $NsMaml, $p) }
}

function Write-Description([System.Xml.XmlWriter] $Writer, [string] $Prefix, [string] $Ns, [string[]] $Paragraphs) {
    $Writer.WriteStartElement($Prefix, 'description', $Ns)
    Write-Para $Writer $Paragraphs
    $Writer.WriteEndElement()
}

function Get-PipelineInput([System.Management.Automation.ParameterMetadata] $Parameter, [string] $SetName) {
    $kinds = foreach ($attribute in $Parameter.Attributes) {
        if ($attribute -is [System.Management.Automation.ParameterAttribute] -and
            ($null -eq $SetName -or $attribute.ParameterSetName -in $SetName, '__AllParameterSets')) {
            if ($attribute.ValueFromPipeline) { 'ByValue' }
            if ($attribute.ValueFromPipelineByPropertyName) { 'ByPropertyName' }
        }
    }
    $kinds = @($kinds | Select-Object -Unique)
    if ($kinds.Count -eq 0) { 'False' } else { "True ($($kinds -join ', '))" }
}

function Test-Wildcard([System.Management.Automation.ParameterMetadata] $Parameter, $Doc) {
    if ($Parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] }) { return 'true' }
    if ($Doc -and $Doc.Yaml['Accept wildcard characters'] -match '^true$') { return 'true' }
    'false'
}

function Get-TypeName([type] $Type) {
    if ($Type -eq [System.Management.Automation.SwitchParameter]) { return 'SwitchParameter' }
    $Type.FullName
}

function Write-Parameter {
    param(
        [System.Xml.XmlWriter] $Writer,
        [System.Management.Automation.ParameterMetadata] $Parameter,
        [bool] $Required,
        [string] $Position,
        [string] $PipelineInput,
        $Doc,
        [string[]] $Description
    )
    $isSwitch = $Parameter.SwitchParameter
    $Writer.WriteStartElement('command', 'parameter', $NsCommand)
    $Writer.WriteAttributeString('required', $Required.ToString().ToLowerInvariant())
    $Writer.WriteAttributeString('variableLength', 'true')
    $Writer.WriteAttributeString('globbing', (Test-Wildcard $Parameter $Doc))
    $Writer.WriteAttributeString('pipelineInput', $PipelineInput)
    $Writer.WriteAttributeString('position', $Position)
    $aliases = if ($Parameter.Aliases.Count) { $Parameter.Aliases -join ', ' } else { 'none' }
    $Writer.WriteAttributeString('aliases', $aliases)
    $Writer.WriteElementString('maml', 'name', $NsMaml, $Parameter.Name)
    Write-Description $Writer 'maml' $NsMaml $Description
    $typeName = Get-TypeName $Parameter.ParameterType
    if (-not $isSwitch) {
        $Writer.WriteStartElement('command', 'parameterValue', $NsCommand)
        $Writer.WriteAttributeString('required', 'true')
        $Writer.WriteAttributeString('variableLength', 'false')
        $Writer.WriteString($Parameter.ParameterType.Name)
        $Writer.WriteEndElement()
    }
    $Writer.WriteStartElement('dev', 'type', $NsDev)
    $Writer.WriteElementString('maml', 'name', $NsMaml, $typeName)
    $Writer.WriteElementString('maml', 'uri', $NsMaml, '')
    $Writer.WriteEndElement()
    $default = if ($Doc -and $Doc.Yaml['Default value']) { $Doc.Yaml['Default value'] } elseif ($isSwitch) { 'False' } else { 'None' }
    $Writer.WriteElementString('dev', 'defaultValue', $NsDev, $default)
    $Writer.WriteEndElement()
}

function Write-CommandHelp {
    param([System.Xml.XmlWriter] $Writer, [System.Management.Automation.CmdletInfo] $Command, $Doc)

    $descriptionOf = {
        param([string] $Name)
        if ($Doc.Parameters.ContainsKey($Name) -and $Doc.Parameters[$Name].Description.Count) { [string[]] $Doc.Parameters[$Name].Description }
        elseif ($DefaultDescriptions.ContainsKey($Name)) { [string[]] @($DefaultDescriptions[$Name]) }
        else { [string[]] @() }
    }
    $parameters = @($Command.Parameters.Values | Where-Object { $_.Name -notin $CommonParameters })

    $Writer.WriteStartElement('command', 'command', $NsCommand)
    $Writer.WriteAttributeString('xmlns', 'maml', $null, $NsMaml)
    $Writer.WriteAttributeString('xmlns', 'command', $null, $NsCommand)
    $Writer.WriteAttributeString('xmlns', 'dev', $null, $NsDev)

    $Writer.WriteStartElement('command', 'details', $NsCommand)
    $Writer.WriteElementString('command', 'name', $NsCommand, $Command.Name)
    Write-Description $Writer 'maml' $NsMaml $Doc.Synopsis
    $Writer.WriteElementString('command', 'verb', $NsCommand, $Command.Verb)
    $Writer.WriteElementString('command', 'noun', $NsCommand, $Command.Noun)
    $Writer.WriteEndElement()

    Write-Description $Writer 'maml' $NsMaml $Doc.Description

    $Writer.WriteStartElement('command', 'syntax', $NsCommand)
    foreach ($set in $Command.ParameterSets) {
        $Writer.WriteStartElement('command', 'syntaxItem', $NsCommand)
        $Writer.WriteElementString('maml', 'name', $NsMaml, $Command.Name)
        # Positional parameters first, in position order, as PowerShell's own syntax shows them.
        $ordered = $set.Parameters | Where-Object { $_.Name -notin $CommonParameters } |
            Sort-Object @{ Expression = { if ($_.Position -ge 0) { $_.Position } else { [int]::MaxValue } } }, @{ Expression = { -not $_.IsMandatory } }
        foreach ($p in $ordered) {
            $position = if ($p.Position -ge 0) { [string]$p.Position } else { 'named' }
            Write-Parameter -Writer $Writer -Parameter $Command.Parameters[$p.Name] -Required $p.IsMandatory -Position $position `
                -PipelineInput (Get-PipelineInput $Command.Parameters[$p.Name] $set.Name) -Doc $Doc.Parameters[$p.Name] `
                -Description (& $descriptionOf $p.Name)
        }
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'parameters', $NsCommand)
    foreach ($parameter in $parameters | Sort-Object Name) {
        $inSets = @($Command.ParameterSets | ForEach-Object { $_.Parameters } | Where-Object Name -EQ $parameter.Name)
        $required = @($inSets | Where-Object IsMandatory).Count -eq $inSets.Count -and $inSets.Count -gt 0
        $positions = @($inSets | ForEach-Object Position | Select-Object -Unique)
        $position = if ($positions.Count -eq 1 -and $positions[0] -ge 0) { [string]$positions[0] } else { 'named' }
        Write-Parameter -Writer $Writer -Parameter $parameter -Required $required -Position $position `
            -PipelineInput (Get-PipelineInput $parameter $null) -Doc $Doc.Parameters[$parameter.Name] `
            -Description (& $descriptionOf $parameter.Name)
    }
    $Writer.WriteEndElement()

    foreach ($kind in @(@{ List = 'inputTypes'; Item = 'inputType'; Docs = $Doc.Inputs }, @{ List = 'returnValues'; Item = 'returnValue'; Docs = $Doc.Outputs })) {
        $Writer.WriteStartElement('command', $kind.List, $NsCommand)
        foreach ($entry in $kind.Docs) {
            $Writer.WriteStartElement('command', $kind.Item, $NsCommand)
            $Writer.WriteStartElement('dev', 'type', $NsDev)
            $Writer.WriteElementString('maml', 'name', $NsMaml, $entry.Type)
            $Writer.WriteEndElement()
            Write-Description $Writer 'maml' $NsMaml $entry.Description
            $Writer.WriteEndElement()
        }
        $Writer.WriteEndElement()
    }

    $Writer.WriteStartElement('maml', 'alertSet', $NsMaml)
    $Writer.WriteStartElement('maml', 'alert', $NsMaml)
    Write-Para $Writer $Doc.Notes
    $Writer.WriteEndElement()
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'examples', $NsCommand)
    foreach ($example in $Doc.Examples) {
        $Writer.WriteStartElement('command', 'example', $NsCommand)
        $Writer.WriteElementString('maml', 'title', $NsMaml, "---------- $($example.Title) ----------")
        $Writer.WriteElementString('dev', 'code', $NsDev, $example.Code)
        $Writer.WriteStartElement('dev', 'remarks', $NsDev)
        # The empty paragraph keeps a blank line between one example and the next title.
        Write-Para $Writer (@($example.Remarks) + '')
        $Writer.WriteEndElement()
        if ($example.Output) {
            $Writer.WriteStartElement('command', 'commandLines', $NsCommand)
            $Writer.WriteStartElement('command', 'commandLine', $NsCommand)
            $Writer.WriteElementString('command', 'commandText', $NsCommand, $example.Output)
            $Writer.WriteEndElement()
            $Writer.WriteEndElement()
        }
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteStartElement('command', 'relatedLinks', $NsCommand)
    foreach ($link in $Doc.Links) {
        $Writer.WriteStartElement('maml', 'navigationLink', $NsMaml)
        $Writer.WriteElementString('maml', 'linkText', $NsMaml, $link.Text)
        # A link to another markdown page means nothing to Get-Help: the link text names the command.
        $uri = if ($link.Uri -match '^https?://') { $link.Uri } else { '' }
        $Writer.WriteElementString('maml', 'uri', $NsMaml, $uri)
        $Writer.WriteEndElement()
    }
    $Writer.WriteEndElement()

    $Writer.WriteEndElement()
}

$module = Import-Module -Name $ManifestPath -Force -PassThru
$commands = @(Get-Command -Module $module.Name -CommandType Cmdlet | Sort-Object Name)
$docs = @{}
foreach ($file in Get-ChildItem -LiteralPath $DocsPath -Filter '*.md' -File -ErrorAction SilentlyContinue) {
    if ($file.Name -eq 'README.md') { continue }
    $doc = Read-CommandDoc -Path $file.FullName
    if ($doc.Name -ne $file.BaseName) { Write-Warning "$($file.Name): its title names $($doc.Name)." }
    $docs[$doc.Name] = $doc
}

foreach ($name in $docs.Keys | Where-Object { $_ -notin $commands.Name }) {
    Write-Warning "docs/en-US/$name.md: the module exports no cmdlet $name."
}

$settings = [System.Xml.XmlWriterSettings]::new()
$settings.Indent = $true
$settings.Encoding = [System.Text.UTF8Encoding]::new($false)
$buffer = [System.IO.MemoryStream]::new()
$writer = [System.Xml.XmlWriter]::Create($buffer, $settings)
$writer.WriteStartDocument()
$writer.WriteStartElement('helpItems', 'http://msh')
$writer.WriteAttributeString('schema', 'maml')
$documented = 0
foreach ($command in $commands) {
    $doc = $docs[$command.Name]
    if (-not $doc) {
        Write-Warning "$($command.Name) has no docs/en-US/$($command.Name).md."
        continue
    }
    foreach ($name in $doc.Parameters.Keys | Where-Object { -not $command.Parameters.ContainsKey($_) }) {
        Write-Warning "docs/en-US/$($command.Name).md documents -$name, which $($command.Name) does not have."
    }
    Write-CommandHelp -Writer $writer -Command $command -Doc $doc
    $documented++
}
$writer.WriteEndElement()
$writer.WriteEndDocument()
$writer.Flush()

foreach ($path in $OutputPath -split [IO.Path]::PathSeparator | Where-Object { $_ }) {
    $null = New-Item -ItemType Directory -Path (Split-Path -Parent $path) -Force
    [System.IO.File]::WriteAllBytes($path, $buffer.ToArray())
}
Write-Host "Help for $documented of $($commands.Count) cmdlets written."
