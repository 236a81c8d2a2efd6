# Dot-sourced by bench/Run-Bench.ps1 (which holds the settings: $Plan, $WorkRoot, $Transfers, ...): a
# scenario's floor, the time the server takes for only the requests the scenario must make.

function Measure-Floor {
    # The scenario's floor: only the requests it must make (bench/s3-floor.js), on the same server. Each
    # step's seconds are the floor client's own (node's start-up excluded); s3rver's CPU is measured around it.
    param($Scenario, $Ctx, [object[]] $Steps, [string] $Text, [int] $Concurrency = $Transfers)
    $seconds = 0.0
    $s3 = 0.0
    $requests = 0
    foreach ($step in $Steps) {
        $arguments = @('node', $FloorScript) + $step + @('--endpoint', $Ctx.Endpoints['floor'], '--bucket', $Ctx.Stack.Bucket, '--concurrency', "$Concurrency")
        if ($Ctx.CaFile) { $arguments += @('--ca-file', $Ctx.CaFile) }
        $run = Invoke-Timed -Command $arguments -S3Pid $Ctx.S3Pid -Label 's3-floor'
        $line = @($run.StdOut -split "`n" | Where-Object { $_.StartsWith('s3-floor ') }) | Select-Object -Last 1
        $result = $line.Substring(9) | ConvertFrom-Json
        $seconds += [double]$result.seconds
        $s3 += $run.S3CpuSeconds
        $requests += [int]$result.requests
    }
    $Scenario.Floor = [pscustomobject]@{ Seconds = $seconds; S3CpuSeconds = $s3; Requests = $requests; Text = $Text; Computed = $false }
    Write-Host ('    floor   {0,8:0.00} s  s3rver cpu {1,6:0.00} s  ({2}; {3} requests)' -f $seconds, $s3, $Text, $requests)
}

$RunInfo = [ordered]@{}

function Set-ComputedFloor($Scenario, [long] $Bytes) {
    # One multipart upload of $Bytes over the WAN link, not measured (it would cost another full upload): the
    # bytes at the link's rate, plus the round trips of a multipart upload (connect, create, the parts in
    # parallel, complete).
    $rtt = 2 * $WanLink.DelayMs / 1000
    $Scenario.Floor = [pscustomobject]@{ Seconds = $Bytes * 8 / ($WanLink.Mbit * 1e6) + 4 * $rtt; S3CpuSeconds = [double]::NaN
        Requests = 2 + [Math]::Ceiling($Bytes / 16MB); Text = "computed: $($Bytes / 1MB) MiB at $($WanLink.Mbit) Mbit/s and 4 round trips"; Computed = $true }
}
