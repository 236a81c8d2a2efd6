#Requires -Version 5.1
#Requires -Modules ChittyConnect
<#
.SYNOPSIS
    A second device that pulls the session's files down whenever another device syncs them up.

.DESCRIPTION
    Device A runs Sync-ChittyFolder (upload) on a schedule; each sync reports to ChittyConnect, which
    broadcasts a context.files.synced event. This script, on device B, watches for those events of its
    session and answers each with a download sync of the session's prefix into -Path, so B's copy follows
    A's within seconds and without polling.

    The watch survives the service ending its event stream every 15-30 s (it reconnects; -Verbose shows
    it). Events raised while it reconnects, or that production does not deliver at all, are missed: run
    the script with -PullFirst, or keep a scheduled download too, where a missed sync matters.

    It connects like every ChittyConnect cmdlet: -Connection, else the current connection
    (Connect-Chitty), else the CHITTY_* environment variables.

.EXAMPLE
    ./examples/Watch-And-Pull.ps1 -Path ~/ChittyPull -Verbose

    Pulls the connection's session into ~/ChittyPull after every sync until Ctrl+C, showing each event
    and each reconnection.

.EXAMPLE
    ./examples/Watch-And-Pull.ps1 -Path D:\Mirror -SessionId my-desktop-session -PullFirst -First 1

    Catches up once, then waits for one sync, pulls it, and ends.
#>
[CmdletBinding()]
param(
    # The folder this device keeps its copy in; created when missing.
    [Parameter(Mandatory)]
    [string] $Path,

    # The session to follow (default: the connection's).
    [string] $SessionId,

    # The prefix to pull (default: Sync-ChittyFolder's, files/<session>/sync/<folder name of -Path>).
    [string] $Prefix,

    # Pull once before watching, to catch up with what was synced while this device was off.
    [switch] $PullFirst,

    # End after this many syncs were pulled (default: run until Ctrl+C).
    [ValidateRange(1, [int]::MaxValue)]
    [int] $First,

    # A connection from Connect-Chitty (default: the current one).
    [psobject] $Connection
)

$ErrorActionPreference = 'Stop'

$null = New-Item -ItemType Directory -Path $Path -Force
$common = @{}
if ($Connection) { $common.Connection = $Connection }
if ($SessionId) { $common.SessionId = $SessionId }

$pull = @{ Path = $Path; Direction = 'Download' } + $common
if ($Prefix) { $pull.Prefix = $Prefix }

$watch = @{ Type = 'context.files.synced' } + $common
if ($First) { $watch.First = $First }

if ($PullFirst) {
    Write-Verbose "Catching up: pulling into $Path."
    Sync-ChittyFolder @pull
}

# Each synced event of the session (Watch-ChittyEvents filters on the session) triggers one download sync;
# events that arrive during a pull wait in the watch's queue and trigger the next one.
Watch-ChittyEvents @watch | ForEach-Object {
    Write-Verbose ('{0:u} session {1} synced {2} item(s) under {3}; pulling into {4}.' -f
        $_.Received, $_.SessionId, $_.Data.count, $_.Data.pathPrefix, $Path)
    Sync-ChittyFolder @pull
}
