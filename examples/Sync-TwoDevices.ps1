#Requires -Version 5.1
#Requires -Modules ChittyConnect
<#
.SYNOPSIS
    Two devices on one session, kept in step with Sync-ChittyFolder -Direction Both: both edit the same
    file, the conflict is shown, both versions are kept, and it is resolved.

.DESCRIPTION
    Two folders stand for a laptop and a desktop syncing one prefix (the guide's "Bidirectional Sync",
    without its flaw: two one-way mirrors in a row lose whatever the other device changed since). Each
    folder keeps its own baseline (the version both sides had after its last sync), so each run copies
    only what changed, and in the right direction:
      1. the laptop syncs its notes up; the desktop's first two-way run brings them down;
      2. both devices edit plan.md; the laptop also adds a file, the desktop deletes one;
      3. the laptop syncs: its edit and its new file go up;
      4. the desktop previews its sync with -WhatIf (the conflict is in the plan), then syncs: the remote
         plan.md (the laptop's) keeps the name, the desktop's version is kept beside it as
         plan.conflict-local-<time>.md and uploaded too; its delete goes up, the new file comes down;
      5. the desktop resolves the conflict (merges the two versions into plan.md and removes the copy)
         and syncs; the laptop syncs and has the merged plan and no conflict copy.
    It ends by writing one object: the conflict result of step 4 and both folders' files, which match.

    It connects like every ChittyConnect cmdlet: -Connection, else the current connection
    (Connect-Chitty), else the CHITTY_* environment variables (which `build.ps1 -Task Demo` sets for the
    local stack). The sync state goes to the usual config directory, one file per folder and prefix.

.EXAMPLE
    ./examples/Sync-TwoDevices.ps1

    Runs the walk-through in a new temporary folder against the current connection's session.

.EXAMPLE
    ./examples/Sync-TwoDevices.ps1 -WorkFolder ~/two-devices -Prefix files/my-session/two-devices -Verbose

    Keeps the two device folders under ~/two-devices and shows each transfer as it happens.
#>
[CmdletBinding()]
param(
    # Where the two device folders are made.
    [string] $WorkFolder = (Join-Path ([System.IO.Path]::GetTempPath()) ("chitty-two-devices-" + [guid]::NewGuid().ToString('N').Substring(0, 8))),

    # The prefix both devices sync (default: files/<session>/two-devices-<random>, a folder of its own).
    [string] $Prefix,

    # A connection from Connect-Chitty (default: the current one).
    [psobject] $Connection
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

function Write-Step([string] $Text) { Write-Host "`n== $Text" -ForegroundColor Cyan }

function Write-Note([string] $Folder, [string] $Relative, [string] $Text) {
    $path = Join-Path $Folder $Relative
    New-Item -ItemType Directory -Path (Split-Path $path) -Force | Out-Null
    [System.IO.File]::WriteAllText($path, $Text)
    # An edit is later than the last sync; set it so even a file system with coarse times shows it.
    [System.IO.File]::SetLastWriteTimeUtc($path, [DateTime]::UtcNow.AddSeconds(2))
}

function Get-Tree([string] $Folder) {
    $tree = [ordered]@{}
    Get-ChildItem -LiteralPath $Folder -Recurse -File | Sort-Object FullName | ForEach-Object {
        $tree[$_.FullName.Substring($Folder.Length + 1).Replace('\', '/')] = [System.IO.File]::ReadAllText($_.FullName)
    }
    $tree
}

$common = @{ Direction = 'Both' }
if ($Connection) { $common.Connection = $Connection }
if (-not $Prefix) {
    $session = if ($Connection) { $Connection.SessionId } else { (Get-ChittyConnection).SessionId }
    $Prefix = "files/$session/two-devices-" + [guid]::NewGuid().ToString('N').Substring(0, 6)
}
$common.Prefix = $Prefix
$laptop = Join-Path $WorkFolder 'laptop'
$desktop = Join-Path $WorkFolder 'desktop'
New-Item -ItemType Directory -Path $laptop, $desktop -Force | Out-Null
# Each device keeps its own sync state, as two machines do (on one machine, one folder syncs a prefix).
$onLaptop = @{ StateDirectory = Join-Path $WorkFolder '.laptop-state' }
$onDesktop = @{ StateDirectory = Join-Path $WorkFolder '.desktop-state' }

Write-Step "1. The laptop syncs its notes up, the desktop brings them down ($Prefix)"
Write-Note $laptop 'plan.md' "# Plan`n- book the venue`n"
Write-Note $laptop 'notes/café.txt' 'croissant, café au lait'
Write-Note $laptop 'old idea.txt' 'not needed any more'
Sync-ChittyFolder $laptop @common @onLaptop | Format-Table Action, RelativePath, Size | Out-Host
Sync-ChittyFolder $desktop @common @onDesktop | Format-Table Action, RelativePath, Size | Out-Host

Write-Step '2. Both devices edit plan.md; the laptop adds a file, the desktop deletes one'
Write-Note $laptop 'plan.md' "# Plan`n- book the venue`n- send the invitations (laptop)`n"
Write-Note $laptop 'agenda.md' "# Agenda`n09:00 welcome`n"
Write-Note $desktop 'plan.md' "# Plan`n- book the venue`n- order the catering (desktop)`n"
Remove-Item -LiteralPath (Join-Path $desktop 'old idea.txt')

Write-Step '3. The laptop syncs: its edit and its new file go up'
Sync-ChittyFolder $laptop @common @onLaptop | Format-Table Action, RelativePath, Size | Out-Host

Write-Step '4. The desktop previews its sync (-WhatIf), then syncs: both versions of plan.md are kept'
Sync-ChittyFolder $desktop @common @onDesktop -WhatIf | Format-Table Action, RelativePath, Conflict, ConflictPath | Out-Host
$results = @(Sync-ChittyFolder $desktop @common @onDesktop)
$results | Format-Table Action, RelativePath, Conflict, ConflictPath | Out-Host
$conflict = $results | Where-Object Action -eq 'Conflict'
Write-Host "plan.md now holds the laptop's version; the desktop's is in $($conflict.ConflictPath):"
Get-Content -LiteralPath (Join-Path $desktop $conflict.ConflictPath) | Out-Host

Write-Step '5. The desktop merges the two versions and syncs; the laptop follows'
$copy = Join-Path $desktop $conflict.ConflictPath
$merged = "# Plan`n- book the venue`n- send the invitations (laptop)`n- order the catering (desktop)`n"
Write-Note $desktop 'plan.md' $merged
Remove-Item -LiteralPath $copy
Sync-ChittyFolder $desktop @common @onDesktop | Format-Table Action, RelativePath, Size | Out-Host
Sync-ChittyFolder $laptop @common @onLaptop | Format-Table Action, RelativePath, Size | Out-Host
Get-Content -LiteralPath (Join-Path $laptop 'plan.md') | Out-Host

[pscustomobject]@{
    PSTypeName = 'ChittyConnect.Example.TwoDevices'
    Prefix     = $Prefix
    Conflict   = $conflict
    Laptop     = Get-Tree $laptop
    Desktop    = Get-Tree $desktop
}
