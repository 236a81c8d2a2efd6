# The local stack script (build/ChittyStack.psm1) that the demo, the benchmarks and the other test
# files rely on.

BeforeAll {
    . $PSScriptRoot/_Common.ps1

    function Test-ProcessAlive([int] $Id) {
        [bool](Get-Process -Id $Id -ErrorAction SilentlyContinue)
    }

    function Wait-ProcessGone([int[]] $Id, [int] $Seconds = 20) {
        # Polls rather than sleeps a fixed time; the limit only bounds a failing run.
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while ([DateTime]::UtcNow -lt $deadline) {
            if (-not ($Id | Where-Object { Test-ProcessAlive $_ })) { return }
            Start-Sleep -Milliseconds 200
        }
    }
}

Describe 'Start-ChittyStack -S3Only' {
    BeforeAll {
        $script:Stack = Start-ChittyStack -S3Only
        $script:S3Pid = $Stack.S3Process.Id
        $script:TempRoot = $Stack.TempRoot
    }
    AfterAll {
        Stop-ChittyStack -Stack $Stack
    }

    It 'serves the bucket chitty-files on loopback' {
        $Stack.S3Uri.Host | Should -Be '127.0.0.1'
        $Stack.EmulatorUri | Should -BeNullOrEmpty
        $response = Invoke-WebRequest -Uri "$($Stack.S3Uri)$($Stack.Bucket)" -SkipHttpErrorCheck
        $response.StatusCode | Should -Be 200
        $response.Content | Should -Match '<Name>chitty-files</Name>'
    }

    It 'gives the CHITTY_R2_* settings of the stack' {
        $environment = Get-ChittyStackEnvironment -Stack $Stack
        $environment.CHITTY_R2_ENDPOINT | Should -Be $Stack.S3Uri.AbsoluteUri.TrimEnd('/')
        $environment.CHITTY_R2_BUCKET | Should -Be 'chitty-files'
        $environment.CHITTY_R2_ACCESS_KEY_ID | Should -Be 'S3RVER'
        $environment.CHITTY_R2_SECRET_ACCESS_KEY | Should -Be 'S3RVER'
        $environment.CHITTY_API_KEY | Should -Be $Stack.ApiKey
    }

    It 'stops its servers and removes its files, once or twice' {
        Stop-ChittyStack -Stack $Stack
        Stop-ChittyStack -Stack $Stack
        Wait-ProcessGone $S3Pid
        Test-ProcessAlive $S3Pid | Should -BeFalse
        $TempRoot | Should -Not -Exist
    }
}

Describe 'Start-ChittyStack' {
    BeforeAll {
        $script:Stack = Start-ChittyStack
    }
    AfterAll {
        Stop-ChittyStack -Stack $Stack
    }

    It 'starts the emulator on loopback, answering HTTP' {
        $Stack.EmulatorUri.Host | Should -Be '127.0.0.1'
        $response = Invoke-WebRequest -Uri "$($Stack.EmulatorUri)no-such-route" -SkipHttpErrorCheck
        $response.StatusCode | Should -Be 404
    }

    It 'gives the emulator the API key of the stack' {
        $headers = @{ Authorization = "Bearer $($Stack.ApiKey)" }
        $good = Invoke-WebRequest -Uri "$($Stack.EmulatorUri)api/registry/whoami" -Headers $headers -SkipHttpErrorCheck
        $good.StatusCode | Should -Be 200
        $bad = Invoke-WebRequest -Uri "$($Stack.EmulatorUri)api/registry/whoami" -Headers @{ Authorization = 'Bearer wrong' } -SkipHttpErrorCheck
        $bad.StatusCode | Should -Be 401
    }

    It 'answers production upload URLs, so a presigned upload goes through the module''s rewrite to the endpoint' {
        $headers = @{ Authorization = "Bearer $($Stack.ApiKey)" }
        $presign = Invoke-RestMethod -Method Post -Uri "$($Stack.EmulatorUri)api/files/presign" -Headers $headers -ContentType 'application/json' `
            -Body (@{ name = 'probe.bin'; size = 1; session_id = $Stack.SessionId; mime = 'application/octet-stream'; sha256 = '00' } | ConvertTo-Json)
        $presign.upload_url | Should -BeLike 'https://api.chitty.cc/api/files/upload/*'

        $file = Join-Path ([IO.Path]::GetTempPath()) ("chitty-presigned-$([guid]::NewGuid().ToString('N')).bin")
        try {
            [IO.File]::WriteAllBytes($file, [byte[]](1..200))
            $null = Connect-ChittyTestStack -Stack $Stack
            $sent = Send-ChittyFile -LiteralPath $file -Method Presigned
            $sent.Method | Should -Be 'Presigned'
            $sent.Active | Should -BeTrue
            $stored = Invoke-WebRequest -Uri "$($Stack.EmulatorUri)_emulator/blobs/$($sent.R2Key)"
            $stored.RawContentLength | Should -Be 200
        }
        finally {
            Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
        }
    }

    It 'answers upload URLs on its own host with -CallerHostUploadUrls' {
        $own = Start-ChittyStack -CallerHostUploadUrls
        try {
            $headers = @{ Authorization = "Bearer $($own.ApiKey)" }
            $presign = Invoke-RestMethod -Method Post -Uri "$($own.EmulatorUri)api/files/presign" -Headers $headers -ContentType 'application/json' `
                -Body (@{ name = 'probe.bin'; size = 1; session_id = $own.SessionId; mime = 'application/octet-stream'; sha256 = '00' } | ConvertTo-Json)
            ([uri]$presign.upload_url).Authority | Should -Be $own.EmulatorUri.Authority
        }
        finally {
            Stop-ChittyStack -Stack $own
        }
    }
}

Describe 'The stack''s storage answers multipart uploads as R2 does' {
    BeforeAll {
        $script:Stack = Start-ChittyStack
        $script:Base = "$($Stack.S3Uri)$($Stack.Bucket)"

        function Get-Md5Hex([byte[]] $Bytes) {
            [Convert]::ToHexString([Security.Cryptography.MD5]::HashData($Bytes)).ToLowerInvariant()
        }

        function New-Upload([string] $Key) {
            $answer = Invoke-WebRequest -Method Post -Uri "$Base/$Key`?uploads"
            ([xml]$answer.Content).InitiateMultipartUploadResult.UploadId
        }

        function Send-Part([string] $Key, [string] $UploadId, [int] $Number, [byte[]] $Bytes) {
            $answer = Invoke-WebRequest -Method Put -Uri "$Base/$Key`?partNumber=$Number&uploadId=$UploadId" -Body $Bytes
            $answer.Headers.ETag[0].Trim('"')
        }

        function Complete-Upload([string] $Key, [string] $UploadId, [string[]] $ETags) {
            $parts = for ($i = 0; $i -lt $ETags.Count; $i++) {
                "<Part><PartNumber>$($i + 1)</PartNumber><ETag>`"$($ETags[$i])`"</ETag></Part>"
            }
            Invoke-WebRequest -Method Post -Uri "$Base/$Key`?uploadId=$UploadId" -SkipHttpErrorCheck `
                -Body "<CompleteMultipartUpload>$($parts -join '')</CompleteMultipartUpload>"
        }

        $script:First = [byte[]]::new(5MB); [Random]::new(7).NextBytes($First)
        $script:Second = [byte[]]::new(1000); [Random]::new(8).NextBytes($Second)
    }
    AfterAll {
        Stop-ChittyStack -Stack $Stack
    }

    It 'lists the parts received, refuses a part ETag it does not hold, and completes with R2''s ETag form' {
        $id = New-Upload 'mp/whole.bin'
        $etags = @((Send-Part 'mp/whole.bin' $id 1 $First), (Send-Part 'mp/whole.bin' $id 2 $Second))
        $etags | Should -Be @((Get-Md5Hex $First), (Get-Md5Hex $Second))

        $listed = [xml](Invoke-WebRequest -Uri "$Base/mp/whole.bin?uploadId=$id").Content
        $listed.ListPartsResult.Part.PartNumber | Should -Be @('1', '2')
        $listed.ListPartsResult.Part.Size | Should -Be @('5242880', '1000')
        $listed.ListPartsResult.Part.ETag | Should -Be @($etags | ForEach-Object { "`"$_`"" })
        ([xml](Invoke-WebRequest -Uri "$Base`?uploads&prefix=mp/").Content).ListMultipartUploadsResult.Upload.UploadId |
            Should -Be $id

        $refused = Complete-Upload 'mp/whole.bin' $id @($etags[0], (Get-Md5Hex $First))
        $refused.StatusCode | Should -Be 400
        $refused.Content | Should -Match '<Code>InvalidPart</Code>'

        $done = Complete-Upload 'mp/whole.bin' $id $etags
        $done.StatusCode | Should -Be 200
        $expected = (Get-Md5Hex ([byte[]]([Convert]::FromHexString($etags[0]) + [Convert]::FromHexString($etags[1])))) + '-2'
        ([xml]$done.Content).CompleteMultipartUploadResult.ETag | Should -Be "`"$expected`""
        (Invoke-WebRequest -Method Head -Uri "$Base/mp/whole.bin").Headers.ETag[0] | Should -Be "`"$expected`""
        ([xml](Invoke-WebRequest -Uri "$Base`?prefix=mp/").Content).ListBucketResult.Contents.ETag | Should -Be "`"$expected`""
        $got = (Invoke-WebRequest -Uri "$Base/mp/whole.bin").RawContentStream.ToArray()
        (Get-Md5Hex $got) | Should -Be (Get-Md5Hex ([byte[]]($First + $Second)))
    }

    It 'aborts an upload: its parts are gone and it is no longer listed' {
        $id = New-Upload 'mp/aborted.bin'
        $null = Send-Part 'mp/aborted.bin' $id 1 $Second
        (Invoke-WebRequest -Method Delete -Uri "$Base/mp/aborted.bin?uploadId=$id").StatusCode | Should -Be 204
        $gone = Invoke-WebRequest -Uri "$Base/mp/aborted.bin?uploadId=$id" -SkipHttpErrorCheck
        $gone.StatusCode | Should -Be 404
        $gone.Content | Should -Match '<Code>NoSuchUpload</Code>'
        $listed = ([xml](Invoke-WebRequest -Uri "$Base`?uploads&prefix=mp/aborted").Content).DocumentElement
        $listed.LocalName | Should -Be 'ListMultipartUploadsResult'
        $listed.SelectNodes('*[local-name()="Upload"]').Count | Should -Be 0
    }

    It 'takes a file above the module''s multipart threshold in a sync, and finds it unchanged on the next run' {
        Connect-ChittyTestStack -Stack $Stack | Out-Null
        $folder = Join-Path $TestDrive 'large'
        $null = New-Item -ItemType Directory -Path $folder
        $bytes = [byte[]]::new(65MB); [Random]::new(9).NextBytes($bytes)
        [IO.File]::WriteAllBytes((Join-Path $folder 'large.bin'), $bytes)

        $first = Sync-ChittyFolder -Path $folder -Prefix large -NoReport
        $first.Action | Should -Be 'Uploaded'
        (Invoke-WebRequest -Method Head -Uri "$Base/large/large.bin").Headers.ETag[0] | Should -Match '^"[0-9a-f]{32}-\d+"$'
        $summary = Sync-ChittyFolder -Path $folder -Prefix large -NoReport -Summary | Select-Object -Last 1
        $summary.SourceFiles | Should -Be 1
        $summary.FilesUploaded | Should -Be 0
        $summary.BytesHashed | Should -Be 0
        $summary.Errors | Should -Be 0
    }
}

Describe 'A failed start' {
    It 'reports what the emulator wrote to stderr and leaves nothing running' {
        $notADll = Join-Path $TestDrive 'not-an-emulator.dll'
        Set-Content -LiteralPath $notADll -Value 'not a .NET assembly'
        # A temp folder of its own, so that stacks other runs start meanwhile do not count.
        $temp = Join-Path $TestDrive 'tmp'
        New-Item -ItemType Directory -Path $temp | Out-Null
        $savedTemp = $env:TMPDIR
        $env:TMPDIR = $temp
        try {
            { Start-ChittyStack -EmulatorPath $notADll -TimeoutSeconds 30 } |
                Should -Throw -ExpectedMessage '*emulator exited with code*stderr:*not-an-emulator*'
        }
        finally {
            $env:TMPDIR = $savedTemp
        }

        @(Get-ChildItem -LiteralPath $temp -Filter 'chitty-stack-*').Count | Should -Be 0
    }
}

Describe 'A PowerShell that is killed' {
    It 'takes the servers it started with it' {
        $child = Start-Process -FilePath ([Environment]::ProcessPath) -PassThru -NoNewWindow `
            -RedirectStandardOutput (Join-Path $TestDrive 'out.txt') -RedirectStandardError (Join-Path $TestDrive 'err.txt') `
            -ArgumentList @(
                if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { "`"$(Join-Path $PSHOME 'pwsh.dll')`"" }
                '-NoProfile', '-NonInteractive', '-Command'
                "`"Import-Module '$(Join-Path $RepoRoot 'build/ChittyStack.psm1')'; `$s = Start-ChittyStack -S3Only; `$s.S3Process.Id; Start-Sleep 120`""
            )
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            $serverPid = $null
            while (-not $serverPid -and [DateTime]::UtcNow -lt $deadline -and -not $child.HasExited) {
                $serverPid = Get-Content (Join-Path $TestDrive 'out.txt') -ErrorAction SilentlyContinue | Select-Object -First 1
                Start-Sleep -Milliseconds 100
            }
            $serverPid | Should -Not -BeNullOrEmpty -Because (Get-Content -Raw (Join-Path $TestDrive 'err.txt'))
            # The watchdog's child: s3rver itself.
            $s3rver = Get-Process -Name node | Where-Object { $_.CommandLine -like '*s3rver-r2.js*' -and $_.Parent.Id -eq [int]$serverPid }
            $s3rver | Should -Not -BeNullOrEmpty
            Test-ProcessAlive $serverPid | Should -BeTrue

            $child.Kill()

            Wait-ProcessGone ([int]$serverPid), $s3rver.Id
            Test-ProcessAlive $serverPid | Should -BeFalse
            Test-ProcessAlive $s3rver.Id | Should -BeFalse
        }
        finally {
            if (-not $child.HasExited) { $child.Kill($true) }
        }
    }
}
