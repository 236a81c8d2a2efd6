#Requires -Version 5.1
<#
.SYNOPSIS
    Registers a Task Scheduler task (Windows) that starts Sync-ChittyFolder -Watch at logon. Not run here:
    the project's machines are Linux.

.DESCRIPTION
    The task runs Start-ChittyWatch.ps1 (beside this script) hidden, as the current user, at logon, with the
    saved profile -ProfileName; it restarts it every minute, up to 3 times, when it fails. Ending the task
    (Stop-ScheduledTask, or logoff) stops the watch; the state of the run in progress is saved, and a run cut
    short is completed by the next one.

.EXAMPLE
    ./Register-ChittyWatchTask.ps1 -Path $HOME\Documents\chittyos-data -ProfileName laptop
    Start-ScheduledTask -TaskName ChittyWatch
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)]
    [string] $Path,

    [Parameter(Mandatory)]
    [string] $ProfileName,

    [string] $TaskName = 'ChittyWatch'
)

$ErrorActionPreference = 'Stop'
$script = Join-Path $PSScriptRoot 'Start-ChittyWatch.ps1'
$pwsh = (Get-Command pwsh.exe).Source
$arguments = "-NoProfile -NonInteractive -WindowStyle Hidden -File `"$script`" -Path `"$Path`" -ProfileName `"$ProfileName`""
$action = New-ScheduledTaskAction -Execute $pwsh -Argument $arguments
$trigger = New-ScheduledTaskTrigger -AtLogOn -User $env:USERNAME
# No time limit: the watch is meant to run until logoff.
$settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) -RestartCount 3 -RestartInterval (New-TimeSpan -Minutes 1) `
    -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -MultipleInstances IgnoreNew
if ($PSCmdlet.ShouldProcess($TaskName, 'Register the task that runs Sync-ChittyFolder -Watch at logon')) {
    Register-ScheduledTask -TaskName $TaskName -Action $action -Trigger $trigger -Settings $settings -Description "Sync-ChittyFolder -Watch of $Path" -Force
}
