#Requires -Version 7.2
<#
.SYNOPSIS
    The guide's automated sync script (chitty-sync.sh + cron), rewritten for a scheduled task.

.DESCRIPTION
    Mirrors a folder to the ChittyConnect session's R2 prefix with Sync-ChittyFolder and reports every
    synced file to ChittyConnect (the guide's script reported an empty item list). Unlike the shell
    script, it:
      - uses the ChittyConnect module installed by name (Install-PSResource ChittyConnect; README, Install),
        so the script runs from wherever it is copied;
      - connects from a saved profile (-Profile) or the CHITTY_* environment variables, never from a key in
        the script;
      - syncs into -Prefix when given, else into Sync-ChittyFolder's default (a prefix of the folder's own,
        files/<session>/sync/<folder name>); -NoDelete copies without deleting what the folder lacks;
      - reads the guide's ~/.rcloneignore as is;
      - logs every run to -LogFile, also one that fails before its sync starts: a plain JSON line per run
        step, and from Sync-ChittyFolder one JSON line per file and a summary line;
      - re-creates its session when the service has lost it (its session store forgets sessions when it
        restarts): New-ChittySession is safe to repeat;
      - refuses to delete anything when the folder is missing or empty (an unmounted drive), and never
        deletes more than -MaxDelete files in one run;
      - exits with 0 when everything succeeded, 1 when some file, deletion or the report failed, and 2
        when the sync could not run at all (module missing, not connected, folder missing, another sync
        running).

    Schedule it (after saving a profile once: Connect-Chitty ... -Save -Name work; copy this script to
    ~/bin, or C:\Tools on Windows):
      cron:     0 * * * * pwsh -NoProfile -NonInteractive -File ~/bin/Invoke-ScheduledSync.ps1 -Profile work
      systemd:  a user service (~/.config/systemd/user/chitty-sync.service) started hourly by a timer:
                  [Service]
                  Type=oneshot
                  ExecStart=pwsh -NoProfile -NonInteractive -File %h/bin/Invoke-ScheduledSync.ps1 -Profile work
      Windows:  $action = New-ScheduledTaskAction -Execute pwsh -Argument '-NoProfile -NonInteractive -File C:\Tools\Invoke-ScheduledSync.ps1 -Profile work'
                Register-ScheduledTask ChittySync -Action $action -Trigger (New-ScheduledTaskTrigger -Once -At 0:00 -RepetitionInterval (New-TimeSpan -Hours 1))

.EXAMPLE
    ./Invoke-ScheduledSync.ps1 -Profile work

    Syncs ~/Documents/chittyos-data with the saved profile 'work', logging to ~/.chitty-sync.log.

.EXAMPLE
    ./Invoke-ScheduledSync.ps1 -Path D:\Data -Prefix files/my-desktop-session/data -NoDelete -BandwidthLimit 2MB

    Copies D:\Data into a folder of its own under the session, deleting nothing, connected from CHITTY_*.
#>
[CmdletBinding()]
param(
    # The folder to mirror (default: the guide's ~/Documents/chittyos-data).
    [Alias('Folder')]
    [string] $Path,

    # Where under the bucket (default: Sync-ChittyFolder's own, files/<session>/sync/<folder name>).
    [string] $Prefix,

    # A profile saved with Connect-Chitty -Save -Name <profile>; without it the CHITTY_* environment variables are used.
    [Alias('ProfileName')]
    [string] $Profile,

    # Copy only: never delete remote objects the folder does not have.
    [switch] $NoDelete,

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
    Write-Host $Message
    $line = [ordered]@{ type = 'run'; time = (Get-Date).ToString('o'); message = $Message } | ConvertTo-Json -Compress
    $folder = Split-Path -Parent $LogFile
    if ($folder -and -not (Test-Path -LiteralPath $folder)) { $null = New-Item -ItemType Directory -Path $folder -Force }
    Add-Content -LiteralPath $LogFile -Value $line
}

try {
    if (-not $Path) {
        # .NET answers an empty MyDocuments where the platform names none (Linux without XDG user dirs).
        $documents = [Environment]::GetFolderPath('MyDocuments')
        if (-not $documents) { $documents = Join-Path $HOME 'Documents' }
        $Path = Join-Path $documents 'chittyos-data'
    }
    Write-RunLog "Run of '$PSCommandPath' for '$Path' started"

    # The installed module by name; one already imported (a development checkout's) is used as it is.
    if (-not (Get-Module ChittyConnect)) { Import-Module ChittyConnect }

    if ($Profile) { Connect-Chitty -Name $Profile | Out-Null } else { Connect-Chitty -FromEnvironment | Out-Null }

    $sync = @{
        Path           = $Path
        Transfers      = $Transfers
        BandwidthLimit = $BandwidthLimit
        MaxDelete      = $MaxDelete
        LogFile        = $LogFile
        Summary        = $true
        ErrorAction    = 'Continue'     # a failed file is logged and the others go on
        ErrorVariable  = 'syncErrors'
    }
    if ($SessionId) { $sync.SessionId = $SessionId }
    if ($Prefix) { $sync.Prefix = $Prefix }
    if ($NoDelete) { $sync.NoDelete = $true }
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

    Write-RunLog "Starting ChittyConnect sync of '$Path'"
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

Write-RunLog ("Sync complete: {0} uploaded, {1} deleted, {2} unchanged, {3} error(s), report event {4}, {5:o} to {6:o} ({7:0.0} s)" -f
    $summary.FilesUploaded, $summary.FilesDeleted, $summary.FilesSkipped, $summary.Errors, $summary.ReportEventId,
    $summary.StartTime, $summary.EndTime, $summary.Elapsed.TotalSeconds)

if ($summary.Errors -gt 0 -or $syncErrors.Count -gt 0) { exit 1 }
exit 0
