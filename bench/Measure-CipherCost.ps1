#Requires -Version 7.2
<#
.SYNOPSIS
Times the secretbox ciphers of rclone crypt's blocks on one core: BouncyCastle's and the vectorised one.

.DESCRIPTION
Imports the built module (build.ps1 -Task Build) and, through the library's internal SecretBox, seals
-SizeMiB of random bytes in rclone crypt's 64 KiB blocks on one thread, then opens them again, once with
BouncyCastle's XSalsa20 and Poly1305 (the cipher Windows PowerShell runs) and once with the vectorised core
(ChittyConnect.Crypt.Vector, which PowerShell 7.4+ loads), after a warm-up of each. Prints the CPU seconds
of each (the process's, so a loaded machine's other work does not count) and, for scale, those of the MD5 and SHA-256 an upload computes over the same bytes. Checks that both
ciphers sealed the same bytes. A micro-benchmark: the upload's own figure is Measure-CryptUpload.ps1's.

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-CipherCost.ps1 -SizeMiB 256
#>
[CmdletBinding()]
param(
    [ValidateRange(1, 2048)] [int] $SizeMiB = 256,
    [ValidateRange(1, 20)] [int] $Rounds = 3
)
$ErrorActionPreference = 'Stop'
$repo = Split-Path $PSScriptRoot -Parent
Import-Module (Join-Path $repo 'ChittyConnect.psd1') -Force

$library = [ChittyConnect.Sync.ChittySyncResult].Assembly
$coreType = $library.GetType('ChittyConnect.Crypt.ISecretBoxCore', $true)
$boxType = $library.GetType('ChittyConnect.Crypt.SecretBox', $true)
$newBox = $boxType.GetConstructor([Reflection.BindingFlags]'NonPublic,Instance', $null, [type[]]@([byte[]], $coreType), $null)
$vector = $library.GetType('ChittyConnect.Crypt.SecretBoxCores', $true).GetProperty('Fastest').GetValue($null)
if ($null -eq $vector) { throw 'The vectorised core did not load here (PowerShell on .NET 8+ with 256-bit vectors loads it).' }
$seal = $boxType.GetMethod('Seal')
$open = $boxType.GetMethod('Open')

$block = 65536
$tag = 16
$blocks = $SizeMiB * 16
$random = [Random]::new(42)
$key = [byte[]]::new(32); $random.NextBytes($key)
$nonce = [byte[]]::new(24); $random.NextBytes($nonce)
$plain = [byte[]]::new($blocks * $block); $random.NextBytes($plain)
$sealedBytes = @{ BouncyCastle = [byte[]]::new($blocks * ($block + $tag)); Vector = [byte[]]::new($blocks * ($block + $tag)) }
$opened = [byte[]]::new($blocks * $block)

# CPU seconds of this process rather than wall time: on a loaded machine the wall time counts the time
# other processes had the core.
$cpu = { [Diagnostics.Process]::GetCurrentProcess().TotalProcessorTime.TotalSeconds }
$run = {
    param($cipher, $count)
    $box = $newBox.Invoke(@($key, $(if ($cipher -eq 'Vector') { $vector } else { $null })))
    $sealedOut = $sealedBytes[$cipher]
    $start = & $cpu
    for ($i = 0; $i -lt $count; $i++) { $null = $seal.Invoke($box, @($plain, ($i * $block), $block, $nonce, $sealedOut, ($i * ($block + $tag)))) }
    $sealSeconds = (& $cpu) - $start
    $start = & $cpu
    for ($i = 0; $i -lt $count; $i++) {
        if (-not $open.Invoke($box, @($sealedOut, ($i * ($block + $tag)), ($block + $tag), $nonce, $opened, ($i * $block)))) { throw "$cipher did not open block $i." }
    }
    [pscustomobject]@{ Cipher = $cipher; Seal = $sealSeconds; Open = (& $cpu) - $start }
}

foreach ($cipher in 'BouncyCastle', 'Vector') { $null = & $run $cipher 64 }
$results = for ($round = 1; $round -le $Rounds; $round++) {
    foreach ($cipher in 'BouncyCastle', 'Vector') { & $run $cipher $blocks }
}
if (-not [Linq.Enumerable]::SequenceEqual($sealedBytes.BouncyCastle, $sealedBytes.Vector)) { throw 'The two ciphers sealed different bytes.' }

$median = { param($values) $sorted = @($values | Sort-Object); $sorted[[int][math]::Floor(($sorted.Count - 1) / 2)] }
$md5 = [Security.Cryptography.MD5]::Create()
$sha = [Security.Cryptography.SHA256]::Create()
$hashSeconds = @{}
foreach ($hash in @{ Name = 'MD5'; Algorithm = $md5 }, @{ Name = 'SHA-256'; Algorithm = $sha }) {
    $times = for ($round = 1; $round -le $Rounds; $round++) {
        $start = & $cpu
        $null = $hash.Algorithm.ComputeHash($sealedBytes.Vector)
        (& $cpu) - $start
    }
    $hashSeconds[$hash.Name] = & $median $times
}

foreach ($cipher in 'BouncyCastle', 'Vector') {
    $mine = @($results | Where-Object Cipher -eq $cipher)
    '{0,-12} {1} MiB on one thread, median of {2}: seal {3:N3} s, open {4:N3} s of CPU' -f $cipher, $SizeMiB, $Rounds, (& $median $mine.Seal), (& $median $mine.Open)
}
'For scale, over the same {0} MiB of ciphertext: MD5 {1:N3} s, SHA-256 {2:N3} s (load {3})' -f $SizeMiB, $hashSeconds.MD5, $hashSeconds['SHA-256'], ((Get-Content /proc/loadavg -ErrorAction SilentlyContinue) -split ' ')[0]
