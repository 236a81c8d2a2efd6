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

function Set-ProcessVariable {
    # Sets a variable of this process, or removes it for $null. PowerShell hands $null to a [string] parameter
    # of a .NET method as "", and on Unix .NET then keeps an empty variable, which programs read as set (rclone
    # takes an empty RCLONE_CONFIG_<REMOTE>_TYPE over its config file).
    param([Parameter(Mandatory)] [string] $Name, [AllowNull()] $Value)
    if ($null -eq $Value) { [Environment]::SetEnvironmentVariable($Name, [NullString]::Value) }
    else { [Environment]::SetEnvironmentVariable($Name, [string] $Value) }
}

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

function Enter-ChittyTestWork {
    # A new folder for one test file, with the module's configuration (and so the sync state) inside it.
    # Returns the folder and the CHITTY_CONFIG_DIR it replaced, which Exit-ChittyTestWork puts back.
    param([Parameter(Mandatory)] [string] $Name)
    $path = Join-Path ([IO.Path]::GetTempPath()) ("chitty-pester-$Name-" + [guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Path $path | Out-Null
    $saved = $env:CHITTY_CONFIG_DIR
    $env:CHITTY_CONFIG_DIR = Join-Path $path 'config'
    [pscustomobject]@{ Path = $path; SavedConfigDir = $saved }
}

function Exit-ChittyTestWork {
    # Undoes Enter-ChittyTestWork and the file's connection, and stops its stack; any of them may be missing
    # when BeforeAll failed part way.
    param($Work, $Stack)
    Disconnect-Chitty
    if ($Work) { $env:CHITTY_CONFIG_DIR = $Work.SavedConfigDir }
    if ($Stack) { Stop-ChittyStack -Stack $Stack }
    if ($Work) { Remove-Item -LiteralPath $Work.Path -Recurse -Force -ErrorAction SilentlyContinue }
}

function Invoke-ChittyPwsh {
    <#
    Runs a script in a fresh PowerShell (the same version as this one), from the repository root (or
    -WorkingDirectory), and
    returns its output lines (stdout and stderr) and exit code. For what must be seen from a new
    process: an import as a user does it, environment variables, a process that gets killed.
    #>
    param(
        [Parameter(Mandatory)] [string] $Command,
        # Variables to set (a $null value removes one) for the child only.
        [hashtable] $Environment = @{},
        [string] $WorkingDirectory = $RepoRoot
    )
    $file = Join-Path ([IO.Path]::GetTempPath()) ("chitty-pester-$([guid]::NewGuid().ToString('N')).ps1")
    Set-Content -LiteralPath $file -Value $Command
    $saved = @{}
    foreach ($name in $Environment.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        Set-ProcessVariable $name $Environment[$name]
    }
    Push-Location $WorkingDirectory
    try {
        $exe = [Environment]::ProcessPath
        $pwshArgs = @('-NoProfile', '-NonInteractive', '-File', $file)
        if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $pwshArgs = @(Join-Path $PSHOME 'pwsh.dll') + $pwshArgs }
        $output = & $exe @pwshArgs 2>&1 | ForEach-Object { "$_" }
        [pscustomobject]@{ Output = @($output); ExitCode = $LASTEXITCODE }
    }
    finally {
        Pop-Location
        foreach ($name in $saved.Keys) { Set-ProcessVariable $name $saved[$name] }
        Remove-Item -LiteralPath $file -Force -ErrorAction SilentlyContinue
    }
}

function Get-PwshCommandLine {
    # How to start this same PowerShell from outside it: the executable, and pwsh.dll before the arguments
    # when it runs as `dotnet pwsh.dll` (the pinned tool).
    $exe = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { @($exe, (Join-Path $PSHOME 'pwsh.dll')) } else { @($exe) }
}

function Get-CleanHomeEnvironment {
    <#
    The variables of a process whose user has nothing installed: HOME (and the XDG folders PowerShell and
    PSResourceGet derive from it) in -UserHome, PSModulePath unset so that PowerShell builds it from there, and
    the module's configuration in -UserHome too.
    #>
    param([Parameter(Mandatory)] [string] $UserHome)
    @{
        HOME              = $UserHome
        USERPROFILE       = $UserHome
        PSModulePath      = $null
        XDG_DATA_HOME     = $null
        XDG_CONFIG_HOME   = $null
        XDG_CACHE_HOME    = $null
        CHITTY_CONFIG_DIR = $null
    }
}

function Install-ChittyPackage {
    <#
    Packs the built module (build/New-ChittyPackage.ps1) and installs it with Install-PSResource into the
    clean home -Work/home, as README's Install section says; returns that home and the package. The package
    of one build is made once, under out/test-packages, for every file that installs it.
    #>
    param([Parameter(Mandatory)] [string] $Work)
    $build = (Get-Item -LiteralPath (Join-Path $RepoRoot 'bin/ChittyConnect.PowerShell.dll')).LastWriteTimeUtc.Ticks
    $packages = Join-Path $RepoRoot "out/test-packages/$build"
    $userHome = Join-Path $Work 'home'
    $null = New-Item -ItemType Directory -Path $userHome -Force
    if (-not (Get-ChildItem -LiteralPath $packages -Filter *.nupkg -ErrorAction SilentlyContinue)) {
        $pack = Invoke-ChittyPwsh -Command "& '$RepoRoot/build/New-ChittyPackage.ps1' -RepoRoot '$RepoRoot' -OutputPath '$packages'"
        if ($pack.ExitCode -ne 0) { throw "Packaging failed: $($pack.Output -join "`n")" }
    }
    $install = Invoke-ChittyPwsh -Environment (Get-CleanHomeEnvironment -UserHome $userHome) -WorkingDirectory $userHome -Command @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name ChittyConnectLocal -Uri '$packages' -Trusted
Install-PSResource ChittyConnect -Repository ChittyConnectLocal
"@
    if ($install.ExitCode -ne 0) { throw "Install-PSResource failed: $($install.Output -join "`n")" }
    [pscustomobject]@{ Home = $userHome; Package = (Get-ChildItem -LiteralPath $packages -Filter *.nupkg | Select-Object -First 1).FullName }
}

function Get-RcloneMd5 {
    # MD5 by relative path of every object under -Path (bucket/prefix) of the stack's s3rver, as rclone lists
    # them: an outside view of what landed.
    param([Parameter(Mandatory)] [psobject] $Stack, [Parameter(Mandatory)] [string] $Path)
    $saved = @{}
    $variables = @{
        RCLONE_CONFIG_STACK_TYPE              = 's3'
        RCLONE_CONFIG_STACK_PROVIDER          = 'Other'
        RCLONE_CONFIG_STACK_ACCESS_KEY_ID     = $Stack.S3AccessKey
        RCLONE_CONFIG_STACK_SECRET_ACCESS_KEY = $Stack.S3SecretKey
        RCLONE_CONFIG_STACK_ENDPOINT          = $Stack.S3Uri.AbsoluteUri
        AWS_CA_BUNDLE                         = $null
    }
    foreach ($name in $variables.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        Set-ProcessVariable $name $variables[$name]
    }
    try {
        $lines = & rclone md5sum -q "stack:$Path"
        if ($LASTEXITCODE -ne 0) { throw "rclone md5sum stack:$Path failed ($LASTEXITCODE)." }
    }
    finally {
        foreach ($name in $saved.Keys) { Set-ProcessVariable $name $saved[$name] }
    }
    $md5 = @{}
    foreach ($line in $lines) { if ($line -match '^([0-9a-f]{32})  (.+)$') { $md5[$Matches[2]] = $Matches[1] } }
    $md5
}
