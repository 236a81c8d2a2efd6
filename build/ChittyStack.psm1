#Requires -Version 7.2
# The local ChittyConnect stack: s3rver (S3 storage standing in for R2) and the ChittyConnect emulator,
# both on 127.0.0.1 with ports the OS picks. Used by build.ps1 (Demo, Emulator, Bench) and by the Pester
# tests, one stack per test file.

Set-StrictMode -Version 3.0

$script:RepoRoot = Split-Path -Parent $PSScriptRoot
$script:Watchdog = Join-Path $PSScriptRoot 'watchdog.js'
$script:Bucket = 'chitty-files'
$script:S3Key = 'S3RVER'
$script:ReadyPattern = '^ChittyConnect emulator ready on (?<uri>http://\S+?)/?\s*$'
$script:S3ReadyPattern = '(?:S3rver|s3-lean) listening on (?<address>[^\s:]+):(?<port>\d+)'

# Stacks still running in this module instance; removing the module stops them. Processes that outlive
# PowerShell itself (a killed test run) are ended by build/watchdog.js, which every server runs under.
$script:Running = [System.Collections.Generic.List[object]]::new()

$ExecutionContext.SessionState.Module.OnRemove = {
    foreach ($stack in @($script:Running)) {
        Stop-ChittyStack -Stack $stack
    }
}

function Get-ChittyBuildConfiguration {
    if ($env:CHITTY_BUILD_CONFIGURATION) { $env:CHITTY_BUILD_CONFIGURATION } else { 'Release' }
}

function Get-ChittyEmulatorPath {
    <#
    .SYNOPSIS
    The path of the built emulator dll for a build configuration (Release unless
    $env:CHITTY_BUILD_CONFIGURATION says otherwise).
    #>
    [CmdletBinding()]
    [OutputType([string])]
    param([string] $Configuration = (Get-ChittyBuildConfiguration))

    Join-Path $script:RepoRoot "src/ChittyConnect.Emulator/bin/$Configuration/net10.0/ChittyConnect.Emulator.dll"
}

function Read-SharedFile([string] $Path) {
    # The child still holds the file open for writing.
    if (-not (Test-Path -LiteralPath $Path)) { return '' }
    $stream = [System.IO.File]::Open($Path, 'Open', 'Read', 'ReadWrite')
    try {
        $reader = [System.IO.StreamReader]::new($stream)
        $reader.ReadToEnd()
    }
    finally {
        $stream.Dispose()
    }
}

function Get-LogTail([string] $Path, [int] $Lines = 40) {
    $text = Read-SharedFile $Path
    $all = $text -split "`r?`n" | Where-Object { $_ -ne '' }
    ($all | Select-Object -Last $Lines) -join [Environment]::NewLine
}

function Start-LoggedProcess {
    param(
        [string] $Name,
        [string] $FilePath,
        [string[]] $ArgumentList,
        [string] $WorkingDirectory,
        [string] $LogDirectory,
        [hashtable] $Environment = @{}
    )

    $stdout = Join-Path $LogDirectory "$Name.stdout.log"
    $stderr = Join-Path $LogDirectory "$Name.stderr.log"
    # Start-Process quotes nothing itself; quote each argument so paths with spaces survive.
    # The server runs under the watchdog, which ends it when this PowerShell process is gone.
    $quoted = foreach ($arg in @($script:Watchdog, $PID, $FilePath) + $ArgumentList) {
        if ($arg -match '[\s"]') { '"' + ($arg -replace '"', '\"') + '"' } else { $arg }
    }
    $startArgs = @{
        FilePath               = 'node'
        ArgumentList           = $quoted
        WorkingDirectory       = $WorkingDirectory
        RedirectStandardOutput = $stdout
        RedirectStandardError  = $stderr
        Environment            = $Environment
        NoNewWindow            = $true
        PassThru               = $true
    }
    $process = Start-Process @startArgs
    [pscustomobject]@{ Process = $process; StdOut = $stdout; StdErr = $stderr; Name = $Name }
}

function Wait-LogLine {
    # Returns the first match of $Pattern in the process's stdout, or throws with its stderr when the
    # process exits or the timeout passes first.
    param($Logged, [string] $Pattern, [timespan] $Timeout)

    $deadline = [DateTime]::UtcNow + $Timeout
    while ($true) {
        foreach ($line in ((Read-SharedFile $Logged.StdOut) -split "`r?`n")) {
            $m = [regex]::Match($line, $Pattern)
            if ($m.Success) { return $m }
        }
        $exited = $Logged.Process.HasExited
        if ($exited -or [DateTime]::UtcNow -ge $deadline) {
            # Read once more: the line may have landed between the read and the check.
            foreach ($line in ((Read-SharedFile $Logged.StdOut) -split "`r?`n")) {
                $m = [regex]::Match($line, $Pattern)
                if ($m.Success) { return $m }
            }
            $why = if ($exited) { "exited with code $($Logged.Process.ExitCode)" } else { "did not print its ready line within $([int]$Timeout.TotalSeconds) s" }
            $stderrTail = Get-LogTail $Logged.StdErr
            $stdoutTail = Get-LogTail $Logged.StdOut 10
            throw "$($Logged.Name) $why.`nstderr:`n$stderrTail`nstdout:`n$stdoutTail"
        }
        Start-Sleep -Milliseconds 50
    }
}

function Wait-HttpAnswer {
    # Any HTTP answer (a 404 or a 403 too) proves the server is serving.
    # -TrustedAuthority: the stack's own CA, the only root trusted for this probe (this process itself
    # does not trust the stack's certificate).
    param([uri] $Uri, [string] $Name, [timespan] $Timeout, $TrustedAuthority)

    $handler = [System.Net.Http.SocketsHttpHandler]::new()
    if ($TrustedAuthority) {
        $policy = [System.Security.Cryptography.X509Certificates.X509ChainPolicy]::new()
        $policy.TrustMode = [System.Security.Cryptography.X509Certificates.X509ChainTrustMode]::CustomRootTrust
        $policy.RevocationMode = [System.Security.Cryptography.X509Certificates.X509RevocationMode]::NoCheck
        $null = $policy.CustomTrustStore.Add($TrustedAuthority)
        $handler.SslOptions.CertificateChainPolicy = $policy
    }
    $client = [System.Net.Http.HttpClient]::new($handler)
    $client.Timeout = [timespan]::FromSeconds(2)
    try {
        $deadline = [DateTime]::UtcNow + $Timeout
        while ($true) {
            try {
                $response = $client.GetAsync($Uri).GetAwaiter().GetResult()
                $response.Dispose()
                return
            }
            catch {
                if ([DateTime]::UtcNow -ge $deadline) {
                    throw "$Name at $Uri did not answer within $([int]$Timeout.TotalSeconds) s: $($_.Exception.GetBaseException().Message)"
                }
                Start-Sleep -Milliseconds 100
            }
        }
    }
    finally {
        $client.Dispose()
    }
}

function Stop-LoggedProcess($Logged) {
    if ($null -eq $Logged) { return }
    $process = $Logged.Process
    try {
        if (-not $process.HasExited) {
            $process.Kill($true)
            $null = $process.WaitForExit(10000)
        }
    }
    catch [System.InvalidOperationException] {
        # It exited between the check and the kill.
    }
    finally {
        $process.Dispose()
    }
}

function Remove-StaleStackDirectory {
    # A PowerShell that was killed could not remove its stack's directory (the watchdog ended its
    # servers); the next start does, when the process that made the directory is gone.
    $pattern = Join-Path ([System.IO.Path]::GetTempPath()) 'chitty-stack-*'
    foreach ($dir in Get-Item -Path $pattern -ErrorAction SilentlyContinue) {
        $ownerFile = Join-Path $dir.FullName 'owner.pid'
        $owner = 0
        if (-not (Test-Path -LiteralPath $ownerFile) -or
            -not [int]::TryParse((Get-Content -LiteralPath $ownerFile -TotalCount 1), [ref] $owner)) { continue }
        if (-not (Get-Process -Id $owner -ErrorAction SilentlyContinue)) {
            Remove-Item -LiteralPath $dir.FullName -Recurse -Force -ErrorAction SilentlyContinue
        }
    }
}

function New-ChittyStackCertificate {
    # A certificate authority made for this one stack and a server certificate it signs for 127.0.0.1
    # and localhost, as PEM files in $Directory: ca.pem, cert.pem, key.pem, and trust-bundle.pem (the
    # CA followed by the system's roots, for SSL_CERT_FILE). A CA and a leaf rather than one self-signed
    # certificate, because strict verifiers (OpenSSL's X509_STRICT, Go) want a CA certificate as anchor.
    param([Parameter(Mandatory)] [string] $Directory)

    $crypto = 'System.Security.Cryptography'
    $x509 = 'System.Security.Cryptography.X509Certificates'
    $sha256 = [System.Security.Cryptography.HashAlgorithmName]::SHA256
    $now = [DateTimeOffset]::UtcNow
    $notBefore = $now.AddMinutes(-5)
    $notAfter = $now.AddDays(7)

    $caKey = [System.Security.Cryptography.ECDsa]::Create([System.Security.Cryptography.ECCurve+NamedCurves]::nistP256)
    $caRequest = New-Object "$x509.CertificateRequest" 'CN=ChittyConnect local stack CA', $caKey, $sha256
    $caRequest.CertificateExtensions.Add((New-Object "$x509.X509BasicConstraintsExtension" $true, $true, 0, $true))
    $caRequest.CertificateExtensions.Add((New-Object "$x509.X509KeyUsageExtension" ([System.Security.Cryptography.X509Certificates.X509KeyUsageFlags]'KeyCertSign, CrlSign'), $true))
    $caKeyId = New-Object "$x509.X509SubjectKeyIdentifierExtension" $caRequest.PublicKey, $false
    $caRequest.CertificateExtensions.Add($caKeyId)
    $ca = $caRequest.CreateSelfSigned($notBefore, $notAfter)

    $key = [System.Security.Cryptography.ECDsa]::Create([System.Security.Cryptography.ECCurve+NamedCurves]::nistP256)
    $request = New-Object "$x509.CertificateRequest" 'CN=127.0.0.1', $key, $sha256
    $names = New-Object "$x509.SubjectAlternativeNameBuilder"
    $names.AddIpAddress([ipaddress]'127.0.0.1')
    $names.AddDnsName('localhost')
    $request.CertificateExtensions.Add($names.Build())
    $request.CertificateExtensions.Add((New-Object "$x509.X509BasicConstraintsExtension" $false, $false, 0, $true))
    $request.CertificateExtensions.Add((New-Object "$x509.X509KeyUsageExtension" ([System.Security.Cryptography.X509Certificates.X509KeyUsageFlags]'DigitalSignature'), $true))
    $serverAuth = New-Object "$crypto.OidCollection"
    $null = $serverAuth.Add((New-Object "$crypto.Oid" '1.3.6.1.5.5.7.3.1'))
    $request.CertificateExtensions.Add((New-Object "$x509.X509EnhancedKeyUsageExtension" $serverAuth, $false))
    $request.CertificateExtensions.Add((New-Object "$x509.X509SubjectKeyIdentifierExtension" $request.PublicKey, $false))
    $request.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509AuthorityKeyIdentifierExtension]::CreateFromSubjectKeyIdentifier($caKeyId))
    $serial = [byte[]]::new(16)
    [System.Security.Cryptography.RandomNumberGenerator]::Fill($serial)
    $serial[0] = $serial[0] -band 0x7f
    $certificate = $request.Create($ca, $notBefore, $notAfter, $serial)

    $null = New-Item -ItemType Directory -Path $Directory -Force
    $files = [pscustomobject]@{
        CertificateAuthority = Join-Path $Directory 'ca.pem'
        Certificate          = Join-Path $Directory 'cert.pem'
        Key                  = Join-Path $Directory 'key.pem'
        TrustBundle          = Join-Path $Directory 'trust-bundle.pem'
        CaCertificate        = $ca
    }
    Set-Content -LiteralPath $files.CertificateAuthority -Value $ca.ExportCertificatePem()
    Set-Content -LiteralPath $files.Certificate -Value $certificate.ExportCertificatePem()
    Set-Content -LiteralPath $files.Key -Value $key.ExportPkcs8PrivateKeyPem()
    $bundle = @($ca.ExportCertificatePem())
    $systemRoots = @('/etc/ssl/certs/ca-certificates.crt', '/etc/pki/tls/certs/ca-bundle.crt', '/etc/ssl/cert.pem') |
        Where-Object { Test-Path -LiteralPath $_ } | Select-Object -First 1
    if ($systemRoots) { $bundle += Get-Content -LiteralPath $systemRoots -Raw }
    Set-Content -LiteralPath $files.TrustBundle -Value $bundle
    $files
}

function Start-ChittyStack {
    <#
    .SYNOPSIS
    Starts s3rver and the ChittyConnect emulator on loopback and returns the stack.

    .DESCRIPTION
    s3rver gets a fresh temporary directory with the bucket chitty-files and answers multipart uploads
    as R2 does (build/s3rver-r2.js: R2's ETag form for a completed upload, ListParts, ListMultipartUploads,
    AbortMultipartUpload), so files above the module's multipart threshold sync, resume and abort on the
    local stack as against R2. The emulator gets one API key
    bound to a ChittyID and a session, and stores its blobs in that s3rver. Both listen on ports the OS
    picks. Stop the stack with Stop-ChittyStack; stacks still running when PowerShell exits or the module
    is removed are stopped then.

    .PARAMETER S3Only
    Starts s3rver only (EmulatorUri is then $null).

    .PARAMETER LeanS3
    Runs bench/s3-lean.js instead of s3rver: keys, ETags and metadata in memory, bodies checked and
    discarded (no GET, no multipart; bench/analysis.md lists what it leaves out). For the benchmark's scale
    group, where s3rver's one file per object is the limit. Implies -S3Only; not with -Https.

    .PARAMETER EmulatorArgs
    More arguments for the emulator, after the ones this function passes.

    .PARAMETER Https
    Serves s3rver over HTTPS (S3Uri https://127.0.0.1:<port>) with a certificate for 127.0.0.1 and
    localhost signed by a CA made for this stack. Nothing trusts it by default, the module included; a
    process trusts it when it starts with the stack's variables (Get-ChittyStackEnvironment gives
    SSL_CERT_FILE = the stack's TrustBundlePath: .NET on Linux, rclone). The AWS CLI reads AWS_CA_BUNDLE
    = CertificateAuthorityPath instead; never give AWS_CA_BUNDLE to rclone.

    .PARAMETER CallerHostUploadUrls
    Presign answers upload URLs on the emulator's own host. By default it answers production URLs
    (https://api.chitty.cc/api/files/upload/<token>) as the service does, so every presigned upload of the
    demo and the tests goes through the module's rewrite of that host to the configured endpoint.

    .EXAMPLE
    $stack = Start-ChittyStack
    try { Connect-Chitty -Endpoint $stack.EmulatorUri -ApiKey $stack.SecureApiKey -ChittyId $stack.ChittyId }
    finally { $stack | Stop-ChittyStack }
    #>
    [CmdletBinding()]
    [OutputType('ChittyStack')]
    param(
        [switch] $S3Only,
        [switch] $Https,
        [switch] $LeanS3,
        [string[]] $EmulatorArgs = @(),
        [switch] $CallerHostUploadUrls,
        [string] $ApiKey = ('chitty_test_' + [guid]::NewGuid().ToString('N')),
        [string] $ChittyId = 'CHITTY-TEST-0001',
        [string] $SessionId = ('session-' + [guid]::NewGuid().ToString('N').Substring(0, 12)),
        [string] $Configuration = (Get-ChittyBuildConfiguration),
        # The emulator dll to run; by default the one built for $Configuration.
        [string] $EmulatorPath,
        [ValidateRange(1, 600)]
        [int] $TimeoutSeconds = 60
    )

    # s3rver with R2's multipart answers (ETag form, ListParts, ListMultipartUploads, abort): build/s3rver-r2.js.
    $s3rverJs = Join-Path $PSScriptRoot 's3rver-r2.js'
    if (-not (Test-Path -LiteralPath (Join-Path $script:RepoRoot 'node_modules/s3rver/bin/s3rver.js'))) {
        throw "s3rver is not installed: run 'npm ci' in $script:RepoRoot."
    }
    $emulatorDll = if ($EmulatorPath) { $EmulatorPath } else { Get-ChittyEmulatorPath -Configuration $Configuration }
    if (-not $S3Only -and -not (Test-Path -LiteralPath $emulatorDll)) {
        throw "The emulator is not built ($emulatorDll): run 'dotnet pwsh build.ps1 -Task Build -Configuration $Configuration'."
    }
    if ($ChittyId.Contains(':') -or $ApiKey.Contains('=')) {
        throw 'The ChittyID must not contain '':'' and the API key must not contain ''='' (the emulator''s --key syntax).'
    }

    $timeout = [timespan]::FromSeconds($TimeoutSeconds)
    $tempRoot = Join-Path ([System.IO.Path]::GetTempPath()) ('chitty-stack-' + [guid]::NewGuid().ToString('N').Substring(0, 12))
    $s3Dir = Join-Path $tempRoot 's3'
    $emulatorDir = Join-Path $tempRoot 'emulator'
    $logDir = Join-Path $tempRoot 'logs'
    Remove-StaleStackDirectory
    $null = New-Item -ItemType Directory -Path $s3Dir, $emulatorDir, $logDir -Force
    Set-Content -LiteralPath (Join-Path $tempRoot 'owner.pid') -Value $PID

    $stack = [pscustomobject]@{
        PSTypeName      = 'ChittyStack'
        EmulatorUri     = $null
        S3Uri           = $null
        Bucket          = $script:Bucket
        ApiKey          = $ApiKey
        SecureApiKey    = ConvertTo-SecureString -String $ApiKey -AsPlainText -Force
        ChittyId        = $ChittyId
        SessionId       = $SessionId
        S3AccessKey     = $script:S3Key
        S3SecretKey     = $script:S3Key
        S3Credential    = [pscredential]::new($script:S3Key, (ConvertTo-SecureString -String $script:S3Key -AsPlainText -Force))
        S3Process       = $null
        EmulatorProcess = $null
        TempRoot        = $tempRoot
        LogDirectory    = $logDir
        S3Logged        = $null
        EmulatorLogged  = $null
        # -Https: the stack's CA (PEM), and that CA followed by the system's roots (for SSL_CERT_FILE).
        CertificateAuthorityPath = $null
        TrustBundlePath = $null
    }
    $script:Running.Add($stack)

    try {
        # s3rver 3.7.1 needs the legacy OpenSSL provider on Node 17+. Port 0: it reports the port it got.
        # --configure-bucket comes last because it swallows the arguments after it as config files.
        $s3Arguments = @($s3rverJs, '--address', '127.0.0.1', '--port', '0', '--silent', '--directory', $s3Dir)
        $certificate = $null
        $trustedAuthority = $null
        $serverEnvironment = @{}
        if ($Https) {
            $certificate = New-ChittyStackCertificate -Directory (Join-Path $tempRoot 'tls')
            $stack.CertificateAuthorityPath = $certificate.CertificateAuthority
            $stack.TrustBundlePath = $certificate.TrustBundle
            $trustedAuthority = $certificate.CaCertificate
            $s3Arguments += @('--key', $certificate.Key, '--cert', $certificate.Certificate)
            # The emulator stores its blobs in this s3rver.
            $serverEnvironment.SSL_CERT_FILE = $certificate.TrustBundle
        }
        if ($LeanS3) {
            if ($Https) { throw 'The lean S3 stand-in serves plain HTTP only: use -LeanS3 without -Https.' }
            $S3Only = $true
            $s3Arguments = @((Join-Path $script:RepoRoot 'bench/s3-lean.js'), '--address', '127.0.0.1', '--port', '0', '--bucket', $script:Bucket)
        }
        else {
            $s3Arguments += @('--configure-bucket', $script:Bucket)
        }
        $stack.S3Logged = Start-LoggedProcess -Name 's3rver' -FilePath 'node' -WorkingDirectory $tempRoot -LogDirectory $logDir `
            -Environment @{ NODE_OPTIONS = '--openssl-legacy-provider' } -ArgumentList $s3Arguments
        $stack.S3Process = $stack.S3Logged.Process
        $m = Wait-LogLine -Logged $stack.S3Logged -Pattern $script:S3ReadyPattern -Timeout $timeout
        $scheme = if ($Https) { 'https' } else { 'http' }
        $stack.S3Uri = [uri]"${scheme}://127.0.0.1:$($m.Groups['port'].Value)"
        Wait-HttpAnswer -Uri $stack.S3Uri -Name 's3rver' -Timeout $timeout -TrustedAuthority $trustedAuthority

        if (-not $S3Only) {
            $arguments = @(
                $emulatorDll,
                '--urls', 'http://127.0.0.1:0',
                '--key', "$ApiKey=${ChittyId}:$SessionId",
                '--s3-endpoint', $stack.S3Uri.AbsoluteUri.TrimEnd('/'),
                '--s3-bucket', $script:Bucket,
                '--s3-access-key', $script:S3Key,
                '--s3-secret-key', $script:S3Key
            )
            if (-not $CallerHostUploadUrls) { $arguments += '--production-upload-urls' }
            $arguments += $EmulatorArgs
            $stack.EmulatorLogged = Start-LoggedProcess -Name 'emulator' -FilePath 'dotnet' -WorkingDirectory $emulatorDir `
                -LogDirectory $logDir -ArgumentList $arguments -Environment ($serverEnvironment + @{
                    DOTNET_NOLOGO = '1'
                    DOTNET_CLI_TELEMETRY_OPTOUT = '1'
                })
            $stack.EmulatorProcess = $stack.EmulatorLogged.Process
            $m = Wait-LogLine -Logged $stack.EmulatorLogged -Pattern $script:ReadyPattern -Timeout $timeout
            $stack.EmulatorUri = [uri]$m.Groups['uri'].Value
            Wait-HttpAnswer -Uri $stack.EmulatorUri -Name 'The emulator' -Timeout $timeout
        }
    }
    catch {
        Stop-ChittyStack -Stack $stack
        throw
    }
    $stack
}

function Stop-ChittyStack {
    <#
    .SYNOPSIS
    Stops the processes of a stack (with their child processes) and removes its temporary directories.
    Stopping a stack twice does nothing the second time.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory, ValueFromPipeline)]
        [AllowNull()]
        [psobject] $Stack
    )
    process {
        if ($null -eq $Stack) { return }
        Stop-LoggedProcess $Stack.EmulatorLogged
        Stop-LoggedProcess $Stack.S3Logged
        if ($Stack.TempRoot -and (Test-Path -LiteralPath $Stack.TempRoot)) {
            # A file handle closing late after the kill can make the first attempt fail.
            for ($i = 0; $i -lt 5; $i++) {
                try { Remove-Item -LiteralPath $Stack.TempRoot -Recurse -Force -ErrorAction Stop; break }
                catch { Start-Sleep -Milliseconds 200 }
            }
        }
        $null = $script:Running.Remove($Stack)
    }
}

function Get-ChittyStackEnvironment {
    <#
    .SYNOPSIS
    The CHITTY_* environment variables that point the module at a stack, as an ordered dictionary; for
    an -Https stack also SSL_CERT_FILE, which makes a process started with it trust the stack's
    certificate (.NET on Linux reads it at start; setting it in a running process changes nothing).
    #>
    [CmdletBinding()]
    [OutputType([System.Collections.Specialized.OrderedDictionary])]
    param([Parameter(Mandatory, ValueFromPipeline)] [psobject] $Stack)
    process {
        $environment = [ordered]@{
            CHITTY_ENDPOINT              = if ($Stack.EmulatorUri) { $Stack.EmulatorUri.AbsoluteUri.TrimEnd('/') } else { $null }
            CHITTY_API_KEY               = $Stack.ApiKey
            CHITTY_ID                    = $Stack.ChittyId
            CHITTY_SESSION_ID            = $Stack.SessionId
            CHITTY_R2_ENDPOINT           = $Stack.S3Uri.AbsoluteUri.TrimEnd('/')
            CHITTY_R2_BUCKET             = $Stack.Bucket
            CHITTY_R2_ACCESS_KEY_ID      = $Stack.S3AccessKey
            CHITTY_R2_SECRET_ACCESS_KEY  = $Stack.S3SecretKey
        }
        if ($Stack.TrustBundlePath) { $environment.SSL_CERT_FILE = $Stack.TrustBundlePath }
        $environment
    }
}

Export-ModuleMember -Function Start-ChittyStack, Stop-ChittyStack, Get-ChittyStackEnvironment, Get-ChittyEmulatorPath
