#Requires -Version 7.2
<#
.SYNOPSIS
Times the upload of one large file with and without rclone crypt encryption, in one PowerShell session.

.DESCRIPTION
Starts a private s3rver (build/ChittyStack.psm1), writes one file of -SizeMiB of random bytes, and syncs it
-Rounds times each way to fresh prefixes with fresh state (so every run hashes and uploads the whole file),
the two kinds taking turns so they share the machine's load alike. Prints each run's Sync-ChittyFolder time
(the summary's Elapsed) and the median ratio encrypted / plain. With -Download, each uploaded prefix is also
synced down into an empty folder with fresh state (every block authenticated and decrypted, the file hashed
as it is written), timed the same way and compared byte for byte with the original. Build the module first
(build.ps1 -Task Build).

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-CryptUpload.ps1 -SizeMiB 256 -Rounds 3

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-CryptUpload.ps1 -SizeMiB 256 -Rounds 5 -Download
#>
[CmdletBinding()]
param(
    [ValidateRange(1, 4096)] [int] $SizeMiB = 256,
    [ValidateRange(1, 20)] [int] $Rounds = 3,
    [switch] $Download
)
$ErrorActionPreference = 'Stop'
$repo = Split-Path $PSScriptRoot -Parent
Import-Module (Join-Path $repo 'build/ChittyStack.psm1') -Force
Import-Module (Join-Path $repo 'ChittyConnect.psd1') -Force

$work = Join-Path ([IO.Path]::GetTempPath()) ("chitty-crypt-bench-" + [guid]::NewGuid().ToString('N').Substring(0, 8))
$folder = Join-Path $work 'folder'
$null = New-Item -ItemType Directory $folder
$stack = Start-ChittyStack -S3Only
$savedConfig = $env:CHITTY_CONFIG_DIR
try {
    $file = [IO.File]::Create((Join-Path $folder 'large.bin'))
    try {
        $random = [Random]::new(42)
        $buffer = [byte[]]::new(1MB)
        for ($i = 0; $i -lt $SizeMiB; $i++) { $random.NextBytes($buffer); $file.Write($buffer, 0, $buffer.Length) }
    }
    finally { $file.Dispose() }

    Connect-Chitty -Endpoint http://127.0.0.1:9/ -ApiKey (ConvertTo-SecureString 'bench' -AsPlainText -Force) -ChittyId bench `
        -SessionId bench -R2Endpoint $stack.S3Uri -Bucket $stack.Bucket -R2Credential $stack.S3Credential | Out-Null
    $password = ConvertTo-SecureString 'a benchmark crypt password' -AsPlainText -Force
    $times = @{}
    foreach ($name in 'Plain', 'Encrypted', 'Plain download', 'Encrypted download') { $times[$name] = [Collections.Generic.List[double]]::new() }
    $original = Get-FileHash -LiteralPath (Join-Path $folder 'large.bin') -Algorithm SHA256
    for ($round = 1; $round -le $Rounds; $round++) {
        foreach ($kind in 'Plain', 'Encrypted') {
            # Fresh state and prefix: every run hashes, (encrypts) and uploads the whole file.
            $env:CHITTY_CONFIG_DIR = Join-Path $work "config-$kind-$round"
            $sync = @{ Path = $folder; Prefix = "bench/$kind-$round"; NoReport = $true; Summary = $true }
            if ($kind -eq 'Encrypted') { $sync.CryptPassword = $password }
            $summary = Sync-ChittyFolder @sync | Where-Object { $_ -is [ChittyConnect.Sync.ChittySyncSummary] }
            if ($summary.FilesUploaded -ne 1) { throw "Round $round ${kind}: the file was not uploaded ($($summary.Errors) errors)." }
            $times[$kind].Add($summary.Elapsed.TotalSeconds)
            '{0,-18} round {1}: {2,6:N2} s' -f $kind, $round, $summary.Elapsed.TotalSeconds
            if (-not $Download) { continue }

            $env:CHITTY_CONFIG_DIR = Join-Path $work "config-$kind-$round-down"
            $restored = Join-Path $work "restored-$kind-$round"
            $null = New-Item -ItemType Directory $restored
            $sync.Path = $restored
            $sync.Direction = 'Download'
            $summary = Sync-ChittyFolder @sync | Where-Object { $_ -is [ChittyConnect.Sync.ChittySyncSummary] }
            $copy = Join-Path $restored 'large.bin'
            if ($summary.FilesDownloaded -ne 1 -or (Get-FileHash -LiteralPath $copy -Algorithm SHA256).Hash -ne $original.Hash) {
                throw "Round $round ${kind}: the download is not the file ($($summary.Errors) errors)."
            }
            Remove-Item -LiteralPath $restored -Recurse -Force
            $times["$kind download"].Add($summary.Elapsed.TotalSeconds)
            '{0,-18} round {1}: {2,6:N2} s' -f "$kind download", $round, $summary.Elapsed.TotalSeconds
        }
    }

    $median = { param($values) $sorted = $values | Sort-Object; $sorted[[int][math]::Floor(($sorted.Count - 1) / 2)] }
    $plain = & $median $times.Plain
    $encrypted = & $median $times.Encrypted
    '{0} MiB, {1} rounds: plain median {2:N2} s, encrypted median {3:N2} s, ratio {4:N2}' -f $SizeMiB, $Rounds, $plain, $encrypted, ($encrypted / $plain)
    if ($Download) {
        $plain = & $median $times['Plain download']
        $encrypted = & $median $times['Encrypted download']
        '{0} MiB download, {1} rounds: plain median {2:N2} s, encrypted median {3:N2} s, ratio {4:N2}' -f $SizeMiB, $Rounds, $plain, $encrypted, ($encrypted / $plain)
    }
}
finally {
    $env:CHITTY_CONFIG_DIR = $savedConfig
    $stack | Stop-ChittyStack
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
