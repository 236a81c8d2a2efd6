#Requires -Version 5.1
#Requires -Modules ChittyConnect
<#
.SYNOPSIS
    The guide's session, upload, set-active and whoami steps, with ChittyConnect cmdlets instead of curl.

.DESCRIPTION
    Walks the rclone integration guide's workflows 1 (direct upload) and 3 (presigned upload), "Create
    Session" and "Set Active Files", then shows what the service knows (whoami).

    It connects from the CHITTY_* environment variables, so it runs unchanged against the local emulator
    stack (`build.ps1 -Task Demo` sets them) or against production (set them yourself).

.EXAMPLE
    ./build.ps1 -Task Demo

.EXAMPLE
    $env:CHITTY_ENDPOINT = 'https://api.chitty.cc'; $env:CHITTY_API_KEY = '...'; $env:CHITTY_ID = '...'
    $env:CHITTY_SESSION_ID = 'my-desktop-session'
    ./examples/Quickstart.ps1
#>
[CmdletBinding()]
param(
    # A folder for the sample files (default: a new temporary folder).
    [string] $WorkFolder = (Join-Path ([System.IO.Path]::GetTempPath()) ("chitty-quickstart-" + [guid]::NewGuid().ToString('N').Substring(0, 8)))
)

$ErrorActionPreference = 'Stop'

function Write-Step([string] $Text) { Write-Host "`n== $Text" -ForegroundColor Cyan }

Write-Step 'Connect (from CHITTY_* environment variables)'
$connection = Connect-Chitty -FromEnvironment
$connection | Format-List Endpoint, ChittyId, SessionId, ApiKey, Bucket

Write-Step 'Create the session (guide: "Create Session in ChittyConnect")'
$session = New-ChittySession -SessionId $connection.SessionId -Metadata @{ device = [Environment]::MachineName; purpose = 'quickstart' }
$session | Format-Table Id, ChittyId, Created, Expires, State

Write-Step 'Upload a small file directly and a large one presigned (workflows 1 and 3)'
New-Item -ItemType Directory -Path $WorkFolder -Force | Out-Null
$small = Join-Path $WorkFolder 'notes.md'
Set-Content -LiteralPath $small -Value "# Notes`nWritten by the quickstart at $(Get-Date -Format o)." -Encoding utf8
$large = Join-Path $WorkFolder 'dataset.bin'
$bytes = New-Object byte[] (6MB)
(New-Object System.Random 42).NextBytes($bytes)
[System.IO.File]::WriteAllBytes($large, $bytes)

$direct = Send-ChittyFile -LiteralPath $small -Method Direct
$presigned = Get-Item -LiteralPath $large | Send-ChittyFile -Method Presigned
$direct, $presigned | Format-Table Name, Size, Method, R2Key

Write-Step 'Mark both active (guide: "Set Active Files"), in one request'
$direct, $presigned | Set-ChittyActiveFile | Format-Table SessionId, Count

Write-Step 'Who am I, and which files are active?'
$me = Get-ChittyWhoAmI
$me | Format-List ChittyId, SessionId, StorageBytes, ApiCallsRemaining
$me.ActiveFiles | Format-Table Name, Size, Uri

Write-Step 'The stable resource URI of the small file'
Get-ChittyResourceUri -Path $small

Remove-Item -LiteralPath $WorkFolder -Recurse -Force
