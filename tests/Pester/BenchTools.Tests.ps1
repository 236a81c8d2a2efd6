# The benchmark's helpers: bench/wan-proxy.js (the wide-area link every client goes through) and
# bench/s3-floor.js (the requests a scenario cannot do without). Their figures are only as good as these.

BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:ProxyScript = Join-Path $RepoRoot 'bench/wan-proxy.js'
    $script:FloorScript = Join-Path $RepoRoot 'bench/s3-floor.js'

    function Start-Proxy([uri] $Upstream, [string[]] $Arguments) {
        $psi = [Diagnostics.ProcessStartInfo]::new('node')
        foreach ($a in @($ProxyScript, '--upstream', "$($Upstream.Host):$($Upstream.Port)", '--parent-pid', "$PID") + $Arguments) { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardInput = $true
        $psi.RedirectStandardOutput = $true
        $psi.RedirectStandardError = $true
        $psi.UseShellExecute = $false
        $process = [Diagnostics.Process]::Start($psi)
        $ports = @{}
        while (($line = $process.StandardOutput.ReadLine()) -ne 'wan-proxy ready') {
            if ($null -eq $line) { throw "wan-proxy exited: $($process.StandardError.ReadToEnd())" }
            if ($line -match '^wan-proxy listening (\S+) (\d+)$') { $ports[$Matches[1]] = [int]$Matches[2] }
        }
        [pscustomobject]@{ Process = $process; Ports = $ports }
    }

    function Get-Counts($Proxy) {
        $Proxy.Process.StandardInput.WriteLine('counts')
        $Proxy.Process.StandardInput.Flush()
        while (-not ($line = $Proxy.Process.StandardOutput.ReadLine()).StartsWith('wan-proxy counts ')) { }
        $line.Substring(17) | ConvertFrom-Json
    }

    function Send-Raw([int] $Port, [string] $Request) {
        # One request on its own connection (Connection: close), as exact bytes; returns the status line.
        $client = [Net.Sockets.TcpClient]::new('127.0.0.1', $Port)
        try {
            $stream = $client.GetStream()
            $bytes = [Text.Encoding]::ASCII.GetBytes($Request)
            $stream.Write($bytes, 0, $bytes.Length)
            $reader = [IO.StreamReader]::new($stream, [Text.Encoding]::ASCII)
            $status = $reader.ReadLine()
            $null = $reader.ReadToEnd()
            $status
        }
        finally {
            $client.Dispose()
        }
    }

    function Wait-Exit($Process, [int] $Seconds) {
        # The limit only bounds a failing run.
        $Process.WaitForExit($Seconds * 1000)
    }
}

Describe 'bench/wan-proxy.js' {
    BeforeAll {
        $script:Stack = Start-ChittyStack -S3Only
        $script:Bucket = $Stack.Bucket
    }
    AfterAll {
        Stop-ChittyStack -Stack $Stack
    }

    It 'counts the requests of each listener apart, bodies that look like requests not among them' {
        $proxy = Start-Proxy $Stack.S3Uri @('--listen', 'one', '--listen', 'two', '--delay-ms', '1')
        try {
            $fake = "GET /not-a-request HTTP/1.1`r`nHost: x`r`n`r`n"
            $put = "PUT /$Bucket/plain HTTP/1.1`r`nHost: 127.0.0.1`r`nContent-Length: $($fake.Length)`r`nConnection: close`r`n`r`n$fake"
            $chunk = '{0:x}' -f $fake.Length
            $chunked = "PUT /$Bucket/chunked HTTP/1.1`r`nHost: 127.0.0.1`r`nTransfer-Encoding: chunked`r`nConnection: close`r`n`r`n$chunk`r`n$fake`r`n0`r`n`r`n"
            Send-Raw $proxy.Ports['one'] $put | Should -Match ' 200 '
            Send-Raw $proxy.Ports['one'] $chunked | Should -Match ' 200 '
            Send-Raw $proxy.Ports['two'] "GET /$Bucket/plain HTTP/1.1`r`nHost: 127.0.0.1`r`nConnection: close`r`n`r`n" | Should -Match ' 200 '

            $counts = Get-Counts $proxy
            $counts.one.requests | Should -Be 2
            $counts.one.methods.PUT | Should -Be 2
            $counts.one.connections | Should -Be 2
            $counts.two.requests | Should -Be 1
            $counts.two.methods.GET | Should -Be 1
            $counts.two.bytesDown | Should -BeGreaterThan $fake.Length
        }
        finally {
            $proxy.Process.Kill()
            $proxy.Process.Dispose()
        }
    }

    It 'delays the answer by a round trip and the connection by one more' {
        $proxy = Start-Proxy $Stack.S3Uri @('--listen', 'slow', '--delay-ms', '150', '--handshake-rtt', '1')
        try {
            $watch = [Diagnostics.Stopwatch]::StartNew()
            Send-Raw $proxy.Ports['slow'] "GET /$Bucket HTTP/1.1`r`nHost: 127.0.0.1`r`nConnection: close`r`n`r`n" | Should -Match ' 200 '
            # A lower bound only: the request cannot arrive sooner than the handshake's and its own delay allow.
            $watch.Elapsed.TotalMilliseconds | Should -BeGreaterOrEqual (4 * 150 - 20)
        }
        finally {
            $proxy.Process.Kill()
            $proxy.Process.Dispose()
        }
    }

    It 'stops when its stdin closes, and by itself after its maximum lifetime' {
        $proxy = Start-Proxy $Stack.S3Uri @('--listen', 'a')
        $proxy.Process.StandardInput.Close()
        Wait-Exit $proxy.Process 20 | Should -BeTrue
        $proxy.Process.ExitCode | Should -Be 0

        $bounded = Start-Proxy $Stack.S3Uri @('--listen', 'a', '--max-seconds', '1')
        Wait-Exit $bounded.Process 20 | Should -BeTrue
        $bounded.Process.ExitCode | Should -Be 3
        $bounded.Process.StandardError.ReadToEnd() | Should -Match 'maximum lifetime'
    }

    It 'refuses to start without an upstream' {
        $output = & node $ProxyScript --listen a 2>&1
        $LASTEXITCODE | Should -Be 2
        "$output" | Should -Match 'upstream'
    }
}

Describe 'bench/s3-floor.js' {
    BeforeAll {
        $script:Stack = Start-ChittyStack -S3Only
        $script:Endpoint = $Stack.S3Uri.AbsoluteUri.TrimEnd('/')
    }
    AfterAll {
        Stop-ChittyStack -Stack $Stack
    }

    It 'puts the objects it is asked for, lists them back, and uploads one object in parts' {
        $put = & node $FloorScript put --endpoint $Endpoint --bucket $Stack.Bucket --prefix 'f/' --count 25 --size 100 --concurrency 4
        $LASTEXITCODE | Should -Be 0
        ($put -replace '^s3-floor ' | ConvertFrom-Json).requests | Should -Be 25

        $list = (& node $FloorScript list --endpoint $Endpoint --bucket $Stack.Bucket --prefix 'f/') -replace '^s3-floor ' | ConvertFrom-Json
        $list.keys | Should -Be 25
        $list.pages | Should -Be 1

        $multi = (& node $FloorScript multipart --endpoint $Endpoint --bucket $Stack.Bucket --prefix 'm/' --size 12582912 --part-size 5242880) -replace '^s3-floor ' | ConvertFrom-Json
        $multi.parts | Should -Be 3
        $head = Invoke-WebRequest -Method Head -Uri "$Endpoint/$($Stack.Bucket)/m/big.bin"
        [long]$head.Headers['Content-Length'][0] | Should -Be 12582912
    }
}

Describe 'bench/s3-lean.js (Start-ChittyStack -LeanS3), with s3-floor.js listing in ranges' {
    BeforeAll {
        $script:Lean = Start-ChittyStack -LeanS3
        $script:LeanEndpoint = $Lean.S3Uri.AbsoluteUri.TrimEnd('/')
    }
    AfterAll {
        Stop-ChittyStack -Stack $Lean
    }

    It 'takes PUTs whose Content-MD5 holds, refuses one whose does not, and lists the keys in pages and in ranges' {
        $put = & node $FloorScript put --endpoint $LeanEndpoint --bucket $Lean.Bucket --prefix 'r/' --count 2500 --size 10 --concurrency 8
        $LASTEXITCODE | Should -Be 0
        $bad = Invoke-WebRequest -Method Put -Uri "$LeanEndpoint/$($Lean.Bucket)/r/bad.bin" -Body 'abc' -Headers @{ 'Content-MD5' = 'AAAAAAAAAAAAAAAAAAAAAA==' } -SkipHttpErrorCheck
        $bad.StatusCode | Should -Be 400
        $bad.Content | Should -Match '<Code>BadDigest</Code>'
        $chunked = Invoke-WebRequest -Method Put -Uri "$LeanEndpoint/$($Lean.Bucket)/r/chunked.bin" -Body 'abc' -Headers @{ 'x-amz-content-sha256' = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD' } -SkipHttpErrorCheck
        $chunked.StatusCode | Should -Be 400

        $flat = (& node $FloorScript list --endpoint $LeanEndpoint --bucket $Lean.Bucket --prefix 'r/') -replace '^s3-floor ' | ConvertFrom-Json
        $flat.keys | Should -Be 2500
        $flat.pages | Should -Be 3
        $splits = Join-Path $TestDrive 'splits.txt'
        Set-Content -LiteralPath $splits -Value 'r/f000999.bin', 'r/f001500.bin~', 'r/f001501.bin'
        $ranged = (& node $FloorScript list --endpoint $LeanEndpoint --bucket $Lean.Bucket --prefix 'r/' --split-after-file $splits) -replace '^s3-floor ' | ConvertFrom-Json
        $ranged.keys | Should -Be 2500
        $ranged.ranges | Should -Be 4
    }
}
