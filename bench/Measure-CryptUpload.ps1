#Requires -Version 7.2
<#
.SYNOPSIS
Times the upload of one large file with and without rclone crypt encryption, in one PowerShell session.

.DESCRIPTION
Starts a private s3rver (build/ChittyStack.psm1), writes one file of -SizeMiB of random bytes (or, with
-Files, that many files of -FileSizeKiB each), and syncs the folder -Rounds times each way to fresh prefixes with fresh state (so every run hashes and uploads the whole file),
the two kinds taking turns so they share the machine's load alike. Prints each run's Sync-ChittyFolder time
(the summary's Elapsed), the CPU time the session spent in it (its own, so other work on a loaded
machine does not count; s3rver's is not in it), the bytes the session allocated and its gen2 collections during the run, and the
median ratios encrypted / plain of both. With -Download, each uploaded prefix is also
synced down into an empty folder with fresh state (every block authenticated and decrypted, the file hashed
as it is written), timed the same way and compared byte for byte with the original. Build the module first
(build.ps1 -Task Build).

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-CryptUpload.ps1 -SizeMiB 256 -Rounds 3

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-CryptUpload.ps1 -SizeMiB 256 -Rounds 5 -Download

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-CryptUpload.ps1 -Files 2000 -FileSizeKiB 8 -Rounds 5
#>
[CmdletBinding(DefaultParameterSetName = 'OneFile')]
param(
    [Parameter(ParameterSetName = 'OneFile')] [ValidateRange(1, 4096)] [int] $SizeMiB = 256,
    [Parameter(ParameterSetName = 'ManyFiles', Mandatory)] [ValidateRange(1, 100000)] [int] $Files,
    [Parameter(ParameterSetName = 'ManyFiles')] [ValidateRange(1, 65536)] [int] $FileSizeKiB = 8,
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
    $random = [Random]::new(42)
    if ($PSCmdlet.ParameterSetName -eq 'OneFile') {
        $Files = 1
        $file = [IO.File]::Create((Join-Path $folder 'large.bin'))
        try {
            $buffer = [byte[]]::new(1MB)
            for ($i = 0; $i -lt $SizeMiB; $i++) { $random.NextBytes($buffer); $file.Write($buffer, 0, $buffer.Length) }
        }
        finally { $file.Dispose() }
        $what = "$SizeMiB MiB"
    }
    else {
        $buffer = [byte[]]::new($FileSizeKiB * 1KB)
        for ($i = 0; $i -lt $Files; $i++) { $random.NextBytes($buffer); [IO.File]::WriteAllBytes((Join-Path $folder "file$i.bin"), $buffer) }
        $what = "$Files files of $FileSizeKiB KiB"
    }

    Connect-Chitty -Endpoint http://127.0.0.1:9/ -ApiKey (ConvertTo-SecureString 'bench' -AsPlainText -Force) -ChittyId bench `
        -SessionId bench -R2Endpoint $stack.S3Uri -Bucket $stack.Bucket -R2Credential $stack.S3Credential | Out-Null
    $password = ConvertTo-SecureString 'a benchmark crypt password' -AsPlainText -Force
    $times = @{}
    $cpuTimes = @{}
    foreach ($name in 'Plain', 'Encrypted', 'Plain download', 'Encrypted download') {
        $times[$name] = [Collections.Generic.List[double]]::new()
        $cpuTimes[$name] = [Collections.Generic.List[double]]::new()
    }
    $originals = Get-ChildItem -LiteralPath $folder -File | Get-FileHash -Algorithm SHA256 | ForEach-Object { '{0} {1}' -f (Split-Path $_.Path -Leaf), $_.Hash }
    $measured = {
        param($kind, $round, $sync)
        $gen2 = [GC]::CollectionCount(2)
        $allocated = [GC]::GetTotalAllocatedBytes($false)
        $cpu = [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime
        $summary = Sync-ChittyFolder @sync | Where-Object { $_ -is [ChittyConnect.Sync.ChittySyncSummary] }
        $cpuSeconds = ([Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime - $cpu).TotalSeconds
        $times[$kind].Add($summary.Elapsed.TotalSeconds)
        $cpuTimes[$kind].Add($cpuSeconds)
        '{0,-18} round {1}: {2,6:N2} s  CPU {3,5:N2} s  allocated {4,6:N0} MB  gen2 {5}' -f $kind, $round, $summary.Elapsed.TotalSeconds,
            $cpuSeconds, (([GC]::GetTotalAllocatedBytes($false) - $allocated) / 1MB), ([GC]::CollectionCount(2) - $gen2) | Out-Host
        $summary
    }
    for ($round = 1; $round -le $Rounds; $round++) {
        foreach ($kind in 'Plain', 'Encrypted') {
            # Fresh state and prefix: every run hashes, (encrypts) and uploads the whole file.
            $env:CHITTY_CONFIG_DIR = Join-Path $work "config-$kind-$round"
            $sync = @{ Path = $folder; Prefix = "bench/$kind-$round"; NoReport = $true; Summary = $true }
            if ($kind -eq 'Encrypted') { $sync.CryptPassword = $password }
            $summary = & $measured $kind $round $sync
            if ($summary.FilesUploaded -ne $Files) { throw "Round $round ${kind}: $($summary.FilesUploaded) of $Files file(s) uploaded ($($summary.Errors) errors)." }
            if (-not $Download) { continue }

            $env:CHITTY_CONFIG_DIR = Join-Path $work "config-$kind-$round-down"
            $restored = Join-Path $work "restored-$kind-$round"
            $null = New-Item -ItemType Directory $restored
            $sync.Path = $restored
            $sync.Direction = 'Download'
            $summary = & $measured "$kind download" $round $sync
            $copies = Get-ChildItem -LiteralPath $restored -File | Get-FileHash -Algorithm SHA256 | ForEach-Object { '{0} {1}' -f (Split-Path $_.Path -Leaf), $_.Hash }
            if ($summary.FilesDownloaded -ne $Files -or (Compare-Object @($originals) @($copies))) {
                throw "Round $round ${kind}: the download is not the folder ($($summary.Errors) errors)."
            }
            Remove-Item -LiteralPath $restored -Recurse -Force
        }
    }

    $median = { param($values) $sorted = $values | Sort-Object; $sorted[[int][math]::Floor(($sorted.Count - 1) / 2)] }
    $directions = @(@{ Name = $what; Plain = 'Plain'; Encrypted = 'Encrypted' })
    if ($Download) { $directions += @{ Name = "$what download"; Plain = 'Plain download'; Encrypted = 'Encrypted download' } }
    foreach ($direction in $directions) {
        $plain = & $median $times[$direction.Plain]
        $encrypted = & $median $times[$direction.Encrypted]
        $plainCpu = & $median $cpuTimes[$direction.Plain]
        $encryptedCpu = & $median $cpuTimes[$direction.Encrypted]
        '{0}, {1} rounds: plain median {2:N2} s, encrypted median {3:N2} s, ratio {4:N2}; session CPU {5:N2} s against {6:N2} s, ratio {7:N2}' -f `
            $direction.Name, $Rounds, $plain, $encrypted, ($encrypted / $plain), $plainCpu, $encryptedCpu, ($encryptedCpu / $plainCpu)
    }
}
finally {
    $env:CHITTY_CONFIG_DIR = $savedConfig
    $stack | Stop-ChittyStack
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
