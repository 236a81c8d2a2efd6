#Requires -Version 7.2
<#
.SYNOPSIS
    Keeps a folder and its ChittyConnect prefix in step until stopped: what the service files in this folder run.

.DESCRIPTION
    Connects with a saved profile (Connect-Chitty ... -Save -Name <profile>), or, without -ProfileName, from
    the CHITTY_* environment variables, then runs Sync-ChittyFolder -Watch. It ends on Ctrl+C, on SIGTERM
    (systemd's and launchd's stop) and when Task Scheduler ends the task, each time with the sync state saved.
    A failed first run (no network yet at logon, a wrong profile) exits with code 1, so the service manager
    restarts it after its delay; later outages are ridden out by the watch itself.

.EXAMPLE
    ./Start-ChittyWatch.ps1 -Path ~/Documents/chittyos-data -ProfileName laptop -Verbose

    Watches the folder with the saved profile 'laptop', two-way, showing each run.
#>
[CmdletBinding()]
param(
    # The folder to keep in step.
    [Parameter(Mandatory)]
    [string] $Path,

    # The saved profile to connect with (Connect-Chitty -Name); default: the CHITTY_* environment variables.
    [string] $ProfileName,

    # Upload, Download or Both.
    [ValidateSet('Upload', 'Download', 'Both')]
    [string] $Direction = 'Both',

    # The most seconds between two polls of the bucket.
    [ValidateRange(1, 86400)]
    [int] $PollInterval = 30,

    # Seconds the folder must be quiet after a local change before it is synced.
    [ValidateRange(0.0, 3600.0)]
    [double] $QuietPeriodSec = 1,

    # An rclone filter file, such as the guide's ~/.rcloneignore, when it exists.
    [string] $ExcludeFrom = (Join-Path $HOME '.rcloneignore'),

    # One JSON line per action (and per run's summary).
    [string] $LogFile
)

$ErrorActionPreference = 'Stop'
Import-Module ChittyConnect
try {
    if ($ProfileName) { $null = Connect-Chitty -Name $ProfileName }
    $sync = @{ Path = $Path; Direction = $Direction; Watch = $true; PollInterval = $PollInterval; QuietPeriodSec = $QuietPeriodSec }
    if (Test-Path -LiteralPath $ExcludeFrom) { $sync.ExcludeFrom = $ExcludeFrom }
    if ($LogFile) { $sync.LogFile = $LogFile }
    # Each action as it happens, one line each: the journal (or the task's log) shows what moved.
    Sync-ChittyFolder @sync -ErrorAction Continue | ForEach-Object { '{0} {1}' -f $_.Action, $_.RelativePath }
}
catch {
    Write-Error -ErrorRecord $_ -ErrorAction Continue
    exit 1
}
