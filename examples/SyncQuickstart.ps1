#Requires -Version 5.1
#Requires -Modules ChittyConnect
<#
.SYNOPSIS
    The guide's bulk workflow (rclone sync + sync report) with Sync-ChittyFolder: a sample folder synced,
    reported, changed, re-synced, and re-synced once more as a no-op.

.DESCRIPTION
    Builds a small sample folder (nested folders, a name with spaces and accents, an empty file, files the
    guide's ~/.rcloneignore excludes), then:
      1. syncs it to files/<session>/sync/chittyos-data on R2 (here: the local s3rver), the folder's default
         prefix, and reports every file to ChittyConnect;
      2. shows the report the service recorded;
      3. changes one file, deletes another and re-syncs: one upload, one delete, the rest untouched;
      4. re-syncs again: nothing to do, one listing, no file read;
      5. marks the uploaded files active by piping the results into Set-ChittyActiveFile.

    It connects from the CHITTY_* environment variables (R2 included), which `build.ps1 -Task Demo` sets
    for the local stack.

.EXAMPLE
    ./build.ps1 -Task Demo
#>
[CmdletBinding()]
param(
    [string] $WorkFolder = (Join-Path ([System.IO.Path]::GetTempPath()) ("chitty-sync-demo-" + [guid]::NewGuid().ToString('N').Substring(0, 8)))
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

function Write-Step([string] $Text) { Write-Host "`n== $Text" -ForegroundColor Cyan }

$connection = Connect-Chitty -FromEnvironment
if (-not $connection.HasR2) { throw 'The CHITTY_R2_* variables are not set: run this through build.ps1 -Task Demo.' }
New-ChittySession -SessionId $connection.SessionId -Metadata @{ purpose = 'sync demo' } | Out-Null
# No -Prefix: a folder syncs with a prefix of its own, files/<session>/sync/<folder name>/, apart from the
# API's own uploads (Send-ChittyFile, the quickstart: files/<session>/<yyyy>/<mm>/<dd>/); and a sync deletes
# only the files it put there itself.
$prefix = "files/$($connection.SessionId)/sync/chittyos-data/"

Write-Step "A sample folder: $WorkFolder"
$folder = Join-Path $WorkFolder 'chittyos-data'
$files = [ordered]@{
    'reports/2026/Q1 report.md'      = "# Q1`nRevenue up."
    'reports/2026/Q2 report.md'      = "# Q2`nRevenue flat."
    'notes/café menu.txt'            = 'croissant, café au lait'
    'notes/empty.txt'                = ''
    'data/measurements.csv'          = (1..500 | ForEach-Object { "$_,$([math]::Sqrt($_))" }) -join "`n"
    'node_modules/left-pad/index.js' = 'module.exports = 1'
    'build/output.bin'               = 'generated'
    'debug.log'                      = 'noise'
}
foreach ($relative in $files.Keys) {
    $path = Join-Path $folder $relative
    New-Item -ItemType Directory -Path (Split-Path $path) -Force | Out-Null
    [System.IO.File]::WriteAllText($path, $files[$relative])
}
$ignore = Join-Path $WorkFolder '.rcloneignore'
Set-Content -LiteralPath $ignore -Value @('# the guide''s ignore file, in part', 'node_modules/', 'build/', '*.log', '*.tmp')
Get-ChildItem -LiteralPath $folder -Recurse -File | ForEach-Object { $_.FullName.Substring($folder.Length + 1) } | Sort-Object

Write-Step "Sync it to $prefix (rclone sync --checksum --exclude-from, then the sync report)"
$log = Join-Path $WorkFolder 'sync.log'
# The results are the output; the summary goes to the information stream (-Summary would output it instead).
$results = Sync-ChittyFolder -Path $folder -ExcludeFrom $ignore -LogFile $log -InformationVariable info
$results | Format-Table Action, RelativePath, Size, R2Key
$summary = ($info | Where-Object Tags -Contains 'ChittySyncSummary').MessageData
$summary | Format-List FilesUploaded, BytesUploaded, FilesSkipped, ReportedItems, ReportEventId, Elapsed

Write-Step 'What ChittyConnect recorded (the emulator''s sync_events row; the guide sent an empty list)'
$events = Invoke-RestMethod -Uri ([Uri]::new($connection.Endpoint, '_emulator/sync-events'))
$events | Where-Object event_id -eq $summary.ReportEventId | Format-List event_id, source, items_count, bytes_synced

Write-Step 'Change one file, delete another, re-sync'
Add-Content -LiteralPath (Join-Path $folder 'reports/2026/Q2 report.md') -Value 'Revised: revenue up 2%.'
Remove-Item -LiteralPath (Join-Path $folder 'data/measurements.csv')
Sync-ChittyFolder -Path $folder -ExcludeFrom $ignore -LogFile $log | Format-Table Action, RelativePath, Size, Duration

Write-Step 'Re-sync with nothing changed: one listing, no file read, no transfer'
$noop = Sync-ChittyFolder -Path $folder -ExcludeFrom $ignore -LogFile $log -Summary
$noop | Format-List FilesUploaded, FilesDeleted, FilesSkipped, FilesHashed, BytesHashed, Requests

Write-Step 'Mark this run''s uploads active: Sync-ChittyFolder | Where-Object | Set-ChittyActiveFile'
Add-Content -LiteralPath (Join-Path $folder 'notes/café menu.txt') -Value 'pain au chocolat'
Sync-ChittyFolder -Path $folder -ExcludeFrom $ignore | Where-Object Action -eq Uploaded | Set-ChittyActiveFile | Format-Table SessionId, Count, Uris
(Get-ChittyWhoAmI).ActiveFiles | Format-Table Name, Size, Uri

Write-Step "The log: one JSON line per action and a summary ($log)"
Get-Content -LiteralPath $log -Tail 3

Remove-Item -LiteralPath $WorkFolder -Recurse -Force
