#Requires -Version 7.2
<#
.SYNOPSIS
    The guide's automated sync script (chitty-sync.sh + cron), rewritten for a scheduled task.

.DESCRIPTION
    Mirrors a folder to the ChittyConnect session's R2 prefix with Sync-ChittyFolder and reports every
    synced file to ChittyConnect (the guide's script reported an empty item list). Unlike the shell
    script, it:
      - connects from a saved profile or the CHITTY_* environment variables, never from a key in the script;
      - reads the guide's ~/.rcloneignore as is;
      - logs one JSON line per file and a summary line (-LogFile), plus a plain line per run;
      - re-creates its session when the service has lost it (its session store forgets sessions when it
        restarts): New-ChittySession is safe to repeat;
      - refuses to delete anything when the folder is missing or empty (an unmounted drive), and never
        deletes more than -MaxDelete files in one run;
      - exits with 0 when everything succeeded, 1 when some file, deletion or the report failed, and 2
        when the sync could not run at all (not connected, folder missing, another sync running).

    Schedule it:
      Windows:  $action = New-ScheduledTaskAction -Execute pwsh -Argument '-NoProfile -NonInteractive -File C:\Tools\Invoke-ScheduledSync.ps1 -ProfileName work'
                Register-ScheduledTask ChittySync -Action $action -Trigger (New-ScheduledTaskTrigger -Once -At 0:00 -RepetitionInterval (New-TimeSpan -Hours 1))
      cron:     0 * * * * pwsh -NoProfile -NonInteractive -File ~/bin/Invoke-ScheduledSync.ps1 -ProfileName work

.EXAMPLE
    ./Invoke-ScheduledSync.ps1 -ProfileName work

.EXAMPLE
    ./Invoke-ScheduledSync.ps1 -Folder D:\Data -SessionId my-desktop-session -BandwidthLimit 2MB
#>
[CmdletBinding()]
param(
    # The folder to mirror (the guide's ~/Documents/chittyos-data).
    [string] $Folder = (Join-Path ([Environment]::GetFolderPath('MyDocuments')) 'chittyos-data'),

    # A profile saved with Connect-Chitty -Save -Name <profile>; without it the CHITTY_* environment variables are used.
    [string] $ProfileName,

    # The session (default: the profile's or CHITTY_SESSION_ID).
    [string] $SessionId,

    # The ignore file (rclone --exclude-from syntax); skipped when it does not exist.
    [string] $IgnoreFile = (Join-Path $HOME '.rcloneignore'),

    # The log (JSON lines); the guide's ~/.chitty-sync.log.
    [string] $LogFile = (Join-Path $HOME '.chitty-sync.log'),

    [ValidateRange(1, 64)]
    [int] $Transfers = 4,

    # Bytes per second across all transfers; 0 is unlimited.
    [long] $BandwidthLimit = 0,

    [int] $MaxDelete = 100
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'   # no console to draw on in a scheduled task

function Write-RunLog([string] $Message) {
    $line = [ordered]@{ type = 'run'; time = (Get-Date).ToString('o'); message = $Message } | ConvertTo-Json -Compress
    Add-Content -LiteralPath $LogFile -Value $line
    Write-Host $Message
}

try {
    $manifest = Join-Path $PSScriptRoot '..' 'ChittyConnect.psd1'
    if (Test-Path -LiteralPath $manifest) { Import-Module $manifest } else { Import-Module ChittyConnect }

    if ($ProfileName) { Connect-Chitty -Name $ProfileName | Out-Null } else { Connect-Chitty -FromEnvironment | Out-Null }

    $sync = @{
        Path           = $Folder
        Transfers      = $Transfers
        BandwidthLimit = $BandwidthLimit
        MaxDelete      = $MaxDelete
        LogFile        = $LogFile
        Summary        = $true
        ErrorAction    = 'Continue'     # a failed file is logged and the others go on
        ErrorVariable  = 'syncErrors'
    }
    if ($SessionId) { $sync.SessionId = $SessionId }
    if (Test-Path -LiteralPath $IgnoreFile) { $sync.ExcludeFrom = $IgnoreFile }

    # The service forgets sessions when its session store restarts (a get answers 404): create it again.
    $session = if ($SessionId) { $SessionId } else { (Get-ChittyConnection).SessionId }
    if ($session) {
        $lookup = @(Get-ChittySession -SessionId $session -ErrorAction SilentlyContinue -ErrorVariable lookupErrors)
        if (-not $lookup -and ($lookupErrors | Where-Object FullyQualifiedErrorId -like 'ChittySessionNotFound*')) {
            $null = New-ChittySession -SessionId $session -Metadata @{ device = [Environment]::MachineName; createdBy = 'Invoke-ScheduledSync.ps1' }
            Write-RunLog "Session '$session' was missing on the service (lost when its session store restarted); re-created it"
        }
        elseif (-not $lookup) {
            throw $lookupErrors[0]
        }
    }

    Write-RunLog "Starting ChittyConnect sync of '$Folder'"
    $output = Sync-ChittyFolder @sync
}
catch {
    # Nothing could run: not connected, folder missing, another sync of the same folder running, ...
    Write-RunLog "Sync did not run: $($_.FullyQualifiedErrorId): $($_.Exception.Message)"
    exit 2
}

$summary = $output | Where-Object { $_ -is [ChittyConnect.Sync.ChittySyncSummary] } | Select-Object -Last 1
foreach ($failure in $syncErrors) {
    Write-RunLog "Error $($failure.FullyQualifiedErrorId) on '$($failure.TargetObject)': $($failure.Exception.Message)"
}

Write-RunLog ("Sync complete: {0} uploaded, {1} deleted, {2} unchanged, {3} error(s), report event {4}, {5:0.0} s" -f
    $summary.FilesUploaded, $summary.FilesDeleted, $summary.FilesSkipped, $summary.Errors, $summary.ReportEventId, $summary.Elapsed.TotalSeconds)

if ($summary.Errors -gt 0 -or $syncErrors.Count -gt 0) { exit 1 }
exit 0
