<#
.SYNOPSIS
Times Sync-ChittyFolder's S3 work inside one PowerShell process: a first sync of many small files and its
no-op re-sync, with the process CPU spent per S3 request.

.DESCRIPTION
Starts s3rver (build/ChittyStack.psm1, Start-ChittyStack -S3Only), imports the module given by -Manifest
once, connects from CHITTY_* variables (the API is never called: -NoReport), then for each round syncs a
fresh prefix twice (first sync, then the no-op) and reports for each call: the wall time of the call, the
process CPU it took, the S3 requests it made (from its summary) and the CPU per request. Start-up, import and
connect are outside the timings, so the figures are the store's and the engine's own.

.EXAMPLE
dotnet pwsh -NoProfile -File bench/Measure-StoreCost.ps1 -Manifest ./ChittyConnect.psd1 -Rounds 3
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Manifest,
    [int] $Files = 2000,
    [int] $FileSize = 4096,
    [int] $Rounds = 3,
    [int] $Transfers = 8
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../build/ChittyStack.psm1')
. (Join-Path $PSScriptRoot 'BenchSupport.ps1')
$stack = Start-ChittyStack -S3Only
$work = Join-Path ([IO.Path]::GetTempPath()) ('chitty-storecost-' + [guid]::NewGuid().ToString('N').Substring(0, 8))
try {
    $source = Join-Path $work 'source'
    $null = New-Item -ItemType Directory -Path $source -Force
    $random = [Random]::new(1)
    $bytes = [byte[]]::new($FileSize)
    for ($i = 0; $i -lt $Files; $i++) {
        $random.NextBytes($bytes)
        [IO.File]::WriteAllBytes((Join-Path $source ('f{0:D5}.bin' -f $i)), $bytes)
    }

    Set-BenchConnectionEnvironment $stack -ConfigDirectory (Join-Path $work 'config')
    Import-Module $Manifest
    $null = Connect-Chitty
    $process = [Diagnostics.Process]::GetCurrentProcess()

    for ($round = 1; $round -le $Rounds; $round++) {
        $prefix = "bench/round$round/"
        foreach ($kind in 'first', 'no-op') {
            $process.Refresh()
            $cpu = $process.TotalProcessorTime
            $watch = [Diagnostics.Stopwatch]::StartNew()
            $summary = @(Sync-ChittyFolder -Path $source -Prefix $prefix -Transfers $Transfers -NoReport -Summary)[-1]
            $watch.Stop()
            $process.Refresh()
            $spent = ($process.TotalProcessorTime - $cpu).TotalMilliseconds
            $requests = $summary.Requests.Total
            [pscustomobject]@{
                Round          = $round
                Sync           = $kind
                Seconds        = [math]::Round($watch.Elapsed.TotalSeconds, 2)
                CpuSeconds     = [math]::Round($spent / 1000, 2)
                Requests       = $requests
                CpuMsPerRequest = if ($requests) { [math]::Round($spent / $requests, 2) } else { $null }
                FilesHashed    = $summary.FilesHashed
                Errors         = $summary.Errors
            }
        }
    }
}
finally {
    $stack | Stop-ChittyStack
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
