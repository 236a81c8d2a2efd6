<#
.SYNOPSIS
Runs the two-way scenario table (scenarios.json) through rclone bisync and says, per scenario, whether
rclone ends with the trees Sync-ChittyFolder -Direction Both ends with (the table's 'expect').

.DESCRIPTION
Each scenario gets two local folders, path1 standing for the local folder and path2 for the remote
prefix. With a 'base', the base is written to both, 'rclone bisync --resync' makes it rclone's baseline,
the scenario's edits are applied (later write times, as an edit would have) and 'rclone bisync' runs.
Without one (a first run), the two initial trees are written and 'rclone bisync --resync' is the run,
as rclone's documentation says a first run must be. The output is a Markdown table (scenario, same
outcome or not, rclone's trees and what its log says it did), the raw material of docs/two-way-sync.md.
Needs rclone (1.60 in Debian); AWS_CA_BUNDLE is unset for it. Not part of the CI suite.

.EXAMPLE
dotnet pwsh -NoProfile -File tests/TwoWay/Compare-RcloneBisync.ps1 -OutFile /tmp/bisync.md
#>
[CmdletBinding()]
param(
    [string]$Rclone = 'rclone',
    [string]$Scenarios = (Join-Path $PSScriptRoot 'scenarios.json'),
    [string]$OutFile
)

$ErrorActionPreference = 'Stop'
Remove-Item Env:AWS_CA_BUNDLE -ErrorAction SilentlyContinue
$utf8 = [Text.UTF8Encoding]::new($false)

function Write-Tree([string]$Root, [hashtable]$Files, [datetime]$WriteTimeUtc) {
    foreach ($rel in $Files.Keys) {
        $path = Join-Path $Root $rel
        if ($null -eq $Files[$rel]) {
            Remove-Item -LiteralPath $path -Force
            continue
        }

        $null = New-Item -ItemType Directory -Force -Path (Split-Path $path -Parent)
        [IO.File]::WriteAllText($path, $Files[$rel], $utf8)
        [IO.File]::SetLastWriteTimeUtc($path, $WriteTimeUtc)
    }
}

function Read-Tree([string]$Root) {
    $tree = [ordered]@{}
    Get-ChildItem -LiteralPath $Root -Recurse -File | Sort-Object FullName | ForEach-Object {
        $tree[[IO.Path]::GetRelativePath($Root, $_.FullName).Replace('\', '/')] = [IO.File]::ReadAllText($_.FullName)
    }
    $tree
}

# Expected names may hold '*' (the time stamp of the module's conflict copy).
function Test-Tree([System.Collections.IDictionary]$Expected, [System.Collections.IDictionary]$Actual) {
    $left = [Collections.Generic.Dictionary[string, string]]::new([StringComparer]::Ordinal)
    foreach ($k in $Actual.Keys) { $left[$k] = $Actual[$k] }
    foreach ($pattern in $Expected.Keys) {
        $regex = '^' + [regex]::Escape($pattern).Replace('\*', '[0-9TZ]+') + '$'
        $match = @($left.Keys | Where-Object { $_ -match $regex })
        if ($match.Count -ne 1 -or $left[$match[0]] -cne $Expected[$pattern]) { return $false }
        $null = $left.Remove($match[0])
    }
    $left.Count -eq 0
}

function Format-Tree([System.Collections.IDictionary]$Tree) {
    ($Tree.Keys | ForEach-Object { "$_=`"$($Tree[$_])`"" }) -join '; '
}

function Invoke-Bisync([string[]]$Arguments) {
    $log = & $Rclone bisync @Arguments 2>&1 | ForEach-Object { "$_" }
    [pscustomobject]@{ ExitCode = $LASTEXITCODE; Log = $log }
}

$table = (Get-Content -LiteralPath $Scenarios -Raw | ConvertFrom-Json -AsHashtable).scenarios
$version = (& $Rclone version | Select-Object -First 1)
$rows = foreach ($s in $table) {
    $root = Join-Path ([IO.Path]::GetTempPath()) ('bisync-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
    $path1 = Join-Path $root 'local'
    $path2 = Join-Path $root 'remote'
    $work = Join-Path $root 'work'
    $null = New-Item -ItemType Directory -Force -Path $path1, $path2, $work
    try {
        $baseTime = [datetime]::UtcNow.AddHours(-1)
        $editTime = [datetime]::UtcNow.AddMinutes(1)
        $common = @($path1, $path2, '--workdir', $work, '--verbose')
        if ($null -ne $s.base) {
            Write-Tree $path1 $s.base $baseTime
            Write-Tree $path2 $s.base $baseTime
            $resync = Invoke-Bisync ($common + '--resync')
            if ($resync.ExitCode -ne 0) { throw "bisync --resync failed for '$($s.name)': $($resync.Log -join "`n")" }
            Write-Tree $path1 $s.local $editTime
            Write-Tree $path2 $s.remote $editTime
            $run = Invoke-Bisync $common
        }
        else {
            Write-Tree $path1 $s.local $editTime
            Write-Tree $path2 $s.remote $baseTime
            $run = Invoke-Bisync ($common + '--resync')
        }

        $local = Read-Tree $path1
        $remote = Read-Tree $path2
        $same = $run.ExitCode -eq 0 -and (Test-Tree $s.expect.local $local) -and (Test-Tree $s.expect.remote $remote)
        $did = @($run.Log | Where-Object { $_ -match 'Queue copy|Queue delete|Renaming|WARNING|ERROR|Failed|too many deletes' } |
            ForEach-Object { ($_ -replace '^.*?(NOTICE|ERROR|INFO)\s*:\s*', '' -replace [regex]::Escape($root), '' -replace '\s{2,}', ' ').Trim() })
        [pscustomobject]@{
            Scenario = $s.name
            Same     = $same
            ExitCode = $run.ExitCode
            Local    = Format-Tree $local
            Remote   = Format-Tree $remote
            Did      = $did -join ' / '
        }
    }
    finally {
        Remove-Item -LiteralPath $root -Recurse -Force -ErrorAction SilentlyContinue
    }
}

$md = [Text.StringBuilder]::new()
$null = $md.AppendLine("Cross-check: $version, $($rows.Count) scenarios, $(@($rows | Where-Object Same).Count) with the module's outcome.").AppendLine()
$null = $md.AppendLine('| Scenario | Same as the module | rclone exit | rclone: local | rclone: remote | rclone log |')
$null = $md.AppendLine('|---|---|---|---|---|---|')
foreach ($r in $rows) {
    $cells = $r.Scenario, ($r.Same ? 'yes' : '**no**'), $r.ExitCode, $r.Local, $r.Remote, $r.Did | ForEach-Object { "$_".Replace('|', '\|') }
    $null = $md.AppendLine('| ' + ($cells -join ' | ') + ' |')
}

if ($OutFile) { [IO.File]::WriteAllText($OutFile, $md.ToString(), $utf8) }
$md.ToString()
