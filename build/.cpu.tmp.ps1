#Requires -Version 7.2
<#
.SYNOPSIS
Times the upload of one large file with and without rclone crypt encryption, in one PowerShell session.

.DESCRIPTION
Starts a private s3rver (build/ChittyStack.psm1), writes one file of -SizeMiB of random bytes, and syncs it
-Rounds times each way to fresh prefixes with fresh state (so every run hashes and uploads the whole file),
the two kinds taking turns so they share the machine's load alike. Prints each run's Sync-ChittyFolder time
(the summary's Elapsed) and the median ratio encrypted / plain. Build the module first (build.ps1 -Task Build).

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-CryptUpload.ps1 -SizeMiB 256 -Rounds 3
#>
[CmdletBinding()]
param(
    [ValidateRange(1, 4096)] [int] $SizeMiB = 256,
    [ValidateRange(1, 20)] [int] $Rounds = 3
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
    $times = @{ Plain = [Collections.Generic.List[double]]::new(); Encrypted = [Collections.Generic.List[double]]::new() }
    for ($round = 1; $round -le $Rounds; $round++) {
        foreach ($kind in 'Plain', 'Encrypted') {
            # Fresh state and prefix: every run hashes, (encrypts) and uploads the whole file.
            $env:CHITTY_CONFIG_DIR = Join-Path $work "config-$kind-$round"
            $sync = @{ Path = $folder; Prefix = "bench/$kind-$round"; NoReport = $true; Summary = $true }
            if ($kind -eq 'Encrypted') { $sync.CryptPassword = $password }
            $c0=[Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime; $stack.S3Process.Refresh(); $n0=$stack.S3Process.TotalProcessorTime
            $summary = Sync-ChittyFolder @sync | Where-Object { $_ -is [ChittyConnect.Sync.ChittySyncSummary] }
            if ($summary.FilesUploaded -ne 1) { throw "Round $round ${kind}: the file was not uploaded ($($summary.Errors) errors)." }
            $times[$kind].Add($summary.Elapsed.TotalSeconds)
            $c1=[Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime; $stack.S3Process.Refresh(); $n1=$stack.S3Process.TotalProcessorTime
            '{0,-9} round {1}: {2,6:N2} s  pwsh cpu {3:N2} s3rver cpu {4:N2}' -f $kind, $round, $summary.Elapsed.TotalSeconds, ($c1-$c0).TotalSeconds, ($n1-$n0).TotalSeconds
        }
    }

    $median = { param($values) $sorted = $values | Sort-Object; $sorted[[int][math]::Floor(($sorted.Count - 1) / 2)] }
    $plain = & $median $times.Plain
    $encrypted = & $median $times.Encrypted
    '{0} MiB, {1} rounds: plain median {2:N2} s, encrypted median {3:N2} s, ratio {4:N2}' -f $SizeMiB, $Rounds, $plain, $encrypted, ($encrypted / $plain)
}
finally {
    $env:CHITTY_CONFIG_DIR = $savedConfig
    $stack | Stop-ChittyStack
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
