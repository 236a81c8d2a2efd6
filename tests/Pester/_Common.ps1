# Dot-sourced by every *.Tests.ps1 in its BeforeAll:
#     BeforeAll { . $PSScriptRoot/_Common.ps1 }
# It imports the built module the way a user does (the root manifest) and the local stack script, and
# gives the helpers below. See README.md beside this file.

$ErrorActionPreference = 'Stop'

$script:RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
$script:ManifestPath = Join-Path $RepoRoot 'ChittyConnect.psd1'

if (-not (Test-Path -LiteralPath (Join-Path $RepoRoot 'bin/ChittyConnect.PowerShell.dll'))) {
    throw "The module is not built: run 'dotnet pwsh -NoProfile -File build.ps1 -Task Build' first."
}

Import-Module (Join-Path $RepoRoot 'build/ChittyStack.psm1') -Force
Import-Module $ManifestPath -Force

function Connect-ChittyTestStack {
    # Makes the stack the current connection, with the R2 settings of its s3rver. -Extra holds more
    # Connect-Chitty parameters, e.g. @{ SessionId = 'other' }.
    param(
        [Parameter(Mandatory)] [psobject] $Stack,
        [hashtable] $Extra = @{}
    )
    $connect = @{
        Endpoint     = $Stack.EmulatorUri
        ApiKey       = $Stack.SecureApiKey
        ChittyId     = $Stack.ChittyId
        SessionId    = $Stack.SessionId
        R2Endpoint   = $Stack.S3Uri
        Bucket       = $Stack.Bucket
        R2Credential = $Stack.S3Credential
    }
    foreach ($name in $Extra.Keys) { $connect[$name] = $Extra[$name] }
    Connect-Chitty @connect
}

function Invoke-ChittyPwsh {
    <#
    Runs a script in a fresh PowerShell (the same version as this one), from the repository root, and
    returns its output lines (stdout and stderr) and exit code. For what must be seen from a new
    process: an import as a user does it, environment variables, a process that gets killed.
    #>
    param(
        [Parameter(Mandatory)] [string] $Command,
        [hashtable] $Environment = @{}
    )
    $file = Join-Path ([IO.Path]::GetTempPath()) ("chitty-pester-$([guid]::NewGuid().ToString('N')).ps1")
    Set-Content -LiteralPath $file -Value $Command
    $saved = @{}
    foreach ($name in $Environment.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $Environment[$name])
    }
    Push-Location $RepoRoot
    try {
        $exe = [Environment]::ProcessPath
        $pwshArgs = @('-NoProfile', '-NonInteractive', '-File', $file)
        if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $pwshArgs = @(Join-Path $PSHOME 'pwsh.dll') + $pwshArgs }
        $output = & $exe @pwshArgs 2>&1 | ForEach-Object { "$_" }
        [pscustomobject]@{ Output = @($output); ExitCode = $LASTEXITCODE }
    }
    finally {
        Pop-Location
        foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
        Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
    }
}
