#Requires -Version 7.2
<#
.SYNOPSIS
The one entry point for building, testing and trying ChittyConnect for PowerShell.

.DESCRIPTION
Run it with the pinned PowerShell from the repository root, after `dotnet tool restore` and `npm ci`:

    dotnet pwsh -NoProfile -File build.ps1 -Task Test

Tasks:
  Build     publishes the module into ./bin, builds the emulator and turns docs/en-US/*.md into MAML help.
  Test      Build, then the xunit tests (the planning sync tests twice: also in windows of 2 keys) and the Pester
            tests; ends with one line `N passed, N failed`.
  Demo      Build, start the local stack (s3rver + emulator), run examples/Quickstart.ps1, stop the stack.
  Emulator  Build, start the local stack in the foreground and print how to use it, until Ctrl+C.
  Bench     Build, then bench/Run-Bench.ps1.
  Package   Build, then out/packages/ChittyConnect.<version>.nupkg (build/New-ChittyPackage.ps1, with PSResourceGet).
  Clean     Remove everything the other tasks produce.

.EXAMPLE
dotnet pwsh -NoProfile -File build.ps1 -Task Demo
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package', 'Demo', 'Bench', 'Emulator', 'Clean')]
    [string] $Task = 'Build',

    [ValidateSet('Release', 'Debug')]
    [string] $Configuration = 'Release',

    # Bench: a short run (fewer files, fewer rounds).
    [switch] $Quick
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$RepoRoot = $PSScriptRoot
$OutDir = Join-Path $RepoRoot 'out'
# Where Get-Help looks for a binary module's help: <ModuleBase>/<culture>/<assembly file name>-Help.xml.
# ModuleBase is the folder of ChittyConnect.psd1, not the folder of the dll (tests/Pester/Help.Tests.ps1
# proves it). The copy in bin/en-US serves an import of bin/ChittyConnect.PowerShell.dll itself.
$HelpFiles = @(
    (Join-Path $RepoRoot 'en-US/ChittyConnect.PowerShell.dll-Help.xml')
    (Join-Path $RepoRoot 'bin/en-US/ChittyConnect.PowerShell.dll-Help.xml')
)
# The demo runs these in order; those that do not exist yet are left out.
$DemoScripts = @('examples/Quickstart.ps1', 'examples/SyncQuickstart.ps1')

# ChittyStack.psm1 and the tests read this, so that they use what this run built.
$env:CHITTY_BUILD_CONFIGURATION = $Configuration
$env:DOTNET_NOLOGO = '1'
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
# Colour is for a terminal: a redirected run (`> demo.txt`, a CI log) gets plain text, from this PowerShell
# and from the ones it starts (the demo's scripts), which honour NO_COLOR.
if ([Console]::IsOutputRedirected -and -not $env:NO_COLOR) { $env:NO_COLOR = '1' }
if ($env:CI -or $env:NO_COLOR) { $PSStyle.OutputRendering = 'PlainText' }

function Set-ProcessVariable {
    # Sets a variable of this process, or removes it for $null. PowerShell hands $null to a [string] parameter
    # of a .NET method as "", and on Unix .NET then keeps an empty variable, which programs read as set (rclone
    # takes an empty RCLONE_CONFIG_<REMOTE>_TYPE over its config file).
    param([Parameter(Mandatory)] [string] $Name, [AllowNull()] $Value)
    if ($null -eq $Value) { [Environment]::SetEnvironmentVariable($Name, [NullString]::Value) }
    else { [Environment]::SetEnvironmentVariable($Name, [string] $Value) }
}

function Write-Step([string] $Message) {
    Write-Host "==> $Message"
}

function Invoke-Native {
    # Runs a native command and throws when it fails; $LASTEXITCODE alone is easy to miss.
    # A simple function, so that arguments such as -c and -o reach the command untouched.
    $command, $arguments = $args
    & $command @arguments | Out-Host
    if ($LASTEXITCODE -ne 0) {
        throw "'$command $($arguments -join ' ')' failed with exit code $LASTEXITCODE."
    }
}

function Invoke-Pwsh {
    # A fresh instance of this same PowerShell (the pinned tool runs as `dotnet pwsh.dll`).
    $exe = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') {
        & $exe (Join-Path $PSHOME 'pwsh.dll') @args
    }
    else {
        & $exe @args
    }
}

function Invoke-Build {
    Write-Step "Module -> bin ($Configuration)"
    $bin = Join-Path $RepoRoot 'bin'
    $publish = Join-Path $OutDir 'publish'
    # Start from empty folders so a dependency that was dropped does not linger and get loaded.
    foreach ($folder in $bin, $publish) {
        if (Test-Path -LiteralPath $folder) { Remove-Item -LiteralPath $folder -Recurse -Force }
    }
    Invoke-Native dotnet publish (Join-Path $RepoRoot 'src/ChittyConnect.PowerShell') -c $Configuration -o $publish --nologo
    if (Test-Path -LiteralPath (Join-Path $publish 'System.Management.Automation.dll')) {
        throw "System.Management.Automation.dll was published: it must come from the PowerShell that imports the module."
    }
    # The layout ModuleInitializer.cs relies on: the cmdlet assembly alone in bin, which PowerShell
    # loads; the library and all its dependencies in bin/dependencies, where neither PowerShell nor the
    # runtime probes, so they load only in the module's own load context (Windows PowerShell: through
    # its resolver). The publish's deps.json describes the flat layout and is left out.
    $dependencies = Join-Path $bin 'dependencies'
    New-Item -ItemType Directory -Path $dependencies -Force | Out-Null
    foreach ($item in Get-ChildItem -LiteralPath $publish) {
        if ($item.Name -eq 'ChittyConnect.PowerShell.deps.json') { continue }
        $target = if ($item.Name -like 'ChittyConnect.PowerShell.*') { $bin } else { $dependencies }
        Move-Item -LiteralPath $item.FullName -Destination $target
    }
    Remove-Item -LiteralPath $publish -Recurse -Force

    # The vectorised cipher is built for .NET 8, so the netstandard2.0 publish above cannot carry it; it
    # goes beside the library, which loads it by name only where the runtime can (Crypt/SecretBoxCores.cs).
    Write-Step "Vectorised cipher ($Configuration) -> bin/dependencies"
    $vector = Join-Path $OutDir 'vector'
    if (Test-Path -LiteralPath $vector) { Remove-Item -LiteralPath $vector -Recurse -Force }
    Invoke-Native dotnet build (Join-Path $RepoRoot 'src/ChittyConnect.Crypt.Vector') -c $Configuration -o $vector --nologo -v quiet
    Copy-Item -LiteralPath (Join-Path $vector 'ChittyConnect.Crypt.Vector.dll'), (Join-Path $vector 'ChittyConnect.Crypt.Vector.pdb') -Destination $dependencies
    Remove-Item -LiteralPath $vector -Recurse -Force

    Write-Step "Emulator ($Configuration)"
    Invoke-Native dotnet build (Join-Path $RepoRoot 'src/ChittyConnect.Emulator') -c $Configuration --nologo -v quiet

    Write-Step 'Help: docs/en-US -> MAML'
    # In a child process: the help generator imports the module, and a loaded dll cannot be replaced
    # by the next build on Windows.
    Invoke-Pwsh -NoProfile -NonInteractive -File (Join-Path $RepoRoot 'build/New-ChittyHelp.ps1') `
        -ManifestPath (Join-Path $RepoRoot 'ChittyConnect.psd1') `
        -DocsPath (Join-Path $RepoRoot 'docs/en-US') `
        -OutputPath ($HelpFiles -join [IO.Path]::PathSeparator)
    if ($LASTEXITCODE -ne 0) { throw "Help generation failed with exit code $LASTEXITCODE." }
}

function Invoke-Package {
    Invoke-Build
    Write-Step 'Package -> out/packages'
    # In a child process, as the help: PSResourceGet loads its own assemblies, and this one stays free of them.
    $package = Invoke-Pwsh -NoProfile -NonInteractive -File (Join-Path $RepoRoot 'build/New-ChittyPackage.ps1') `
        -RepoRoot $RepoRoot -OutputPath (Join-Path $OutDir 'packages') | Select-Object -Last 1
    if ($LASTEXITCODE -ne 0) { throw "Packaging failed with exit code $LASTEXITCODE." }
    Write-Host $package
}

function Get-TrxCount([string] $Path) {
    [xml] $trx = Get-Content -LiteralPath $Path -Raw
    $counters = $trx.TestRun.ResultSummary.Counters
    $failed = 0
    foreach ($name in 'failed', 'error', 'timeout', 'aborted') {
        $value = $counters.GetAttribute($name)
        if ($value) { $failed += [int]$value }
    }
    # The names of the failed tests, with the first line of each message, for the summary at the end of the run
    # (CI keeps only the tail of the output).
    $failures = @($trx.TestRun.Results.UnitTestResult | Where-Object { $_.outcome -ne 'Passed' -and $_.outcome -ne 'NotExecuted' } |
        ForEach-Object {
            $message = $_.SelectSingleNode("*[local-name()='Output']/*[local-name()='ErrorInfo']/*[local-name()='Message']")
            $first = if ($message) { ($message.InnerText -split "`n")[0].Trim() } else { '' }
            "xunit: $($_.testName): $first"
        })
    [pscustomobject]@{ Passed = [int]$counters.passed; Failed = $failed; Total = [int]$counters.total; Failures = $failures }
}

# The sync tests that plan (pairing, two-way, ownership, the delete guards, crash and resume, the report, the
# rclone cross-checks), run a second time with windows of 2 keys: a folder of a few files is then cut into many
# windows, so a decision that depends on seeing the whole folder at once fails there.
$WindowedSyncTests = @(
    'FullyQualifiedName~ChittyConnect.Tests.Sync.'
    'FullyQualifiedName~ChittyConnect.Tests.Faults.CrashTests'
    'FullyQualifiedName~ChittyConnect.Tests.Faults.SyncFaultTests'
    'FullyQualifiedName~ChittyConnect.Tests.BadInput.SyncBadInputTests'
) -join '|'

function Invoke-XunitTests([string] $Name = 'xunit', [string] $Filter, [string] $WindowKeys) {
    Write-Step "${Name}: tests/ChittyConnect.Tests"
    $resultsDir = Join-Path $OutDir 'TestResults'
    $trxName = ($Name -replace '[^A-Za-z0-9-]', '-') + '.trx'
    $trx = Join-Path $resultsDir $trxName
    if (Test-Path -LiteralPath $trx) { Remove-Item -LiteralPath $trx -Force }
    # The run of a selection follows the whole run, which built the tests.
    $selection = if ($Filter) { @('--no-build', '--filter', $Filter) } else { @() }
    $env:CHITTY_SYNC_WINDOW_KEYS = $WindowKeys
    try {
        & dotnet test (Join-Path $RepoRoot 'tests/ChittyConnect.Tests') -c $Configuration --nologo @selection `
            --logger "trx;LogFileName=$trxName" --logger 'console;verbosity=normal' --results-directory $resultsDir |
            Out-Host
        $exitCode = $LASTEXITCODE
    }
    finally {
        Remove-Item Env:CHITTY_SYNC_WINDOW_KEYS -ErrorAction Ignore
    }
    if (-not (Test-Path -LiteralPath $trx)) {
        Write-Host "${Name}: no results (dotnet test exited with $exitCode; did the build fail?)"
        return [pscustomobject]@{ Passed = 0; Failed = 1; Total = 0; Failures = @("${Name}: no results (dotnet test exited with $exitCode)") }
    }
    $count = Get-TrxCount $trx
    $count.Failures = @($count.Failures | ForEach-Object { $_ -replace '^xunit:', "${Name}:" })
    if ($exitCode -ne 0 -and $count.Failed -eq 0) {
        # The runner failed without a failed test (a crash, a build error): that is still a failure.
        Write-Host "${Name}: dotnet test exited with $exitCode"
        $count.Failed = 1
        $count.Failures += "${Name}: dotnet test exited with $exitCode"
    }
    Write-Host "${Name}: $($count.Passed) passed, $($count.Failed) failed"
    $count
}

function Invoke-PesterTests {
    Write-Step 'Pester: tests/Pester'
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
    $pester = Join-Path $packages 'pester/5.7.1/tools/Pester.psd1'
    # Module.Tests.ps1 loads this other AWS SDK beside the module's.
    $otherSdk = Join-Path $packages 'awssdk.s3/3.7.511.8/lib/netstandard2.0/AWSSDK.S3.dll'
    if (-not (Test-Path -LiteralPath $pester) -or -not (Test-Path -LiteralPath $otherSdk)) {
        Invoke-Native dotnet restore (Join-Path $RepoRoot 'build/Pester.Restore.csproj') --nologo -v quiet
    }
    Import-Module $pester -Force

    $config = New-PesterConfiguration
    $config.Run.Path = Join-Path $RepoRoot 'tests/Pester'
    $config.Run.PassThru = $true
    $config.Output.Verbosity = 'Detailed'
    $config.TestResult.Enabled = $true
    $config.TestResult.OutputFormat = 'NUnitXml'
    $config.TestResult.OutputPath = Join-Path $OutDir 'TestResults/pester.xml'
    $result = Invoke-Pester -Configuration $config

    # A file whose BeforeAll or discovery fails runs none of its tests: count each such block as failed.
    $failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
    Write-Host "Pester: $($result.PassedCount) passed, $failed failed"
    $failures = @(
        foreach ($test in $result.Failed) {
            $first = if ($test.ErrorRecord) { ("$($test.ErrorRecord[0])" -split "`n")[0].Trim() } else { '' }
            "Pester: $($test.ExpandedPath): $first"
        }
        foreach ($block in @($result.FailedBlocks) + @($result.FailedContainers)) {
            if ($block) { "Pester: $($block.Name) (a block or file that did not run)" }
        })
    [pscustomobject]@{ Passed = $result.PassedCount; Failed = $failed; Total = $result.TotalCount; Failures = $failures }
}

function Invoke-Test {
    try {
        Invoke-Build
    }
    catch {
        Write-Host "Build failed: $_"
        Write-Host '0 passed, 1 failed'
        exit 1
    }
    $xunit = Invoke-XunitTests
    $windowed = Invoke-XunitTests -Name 'xunit-windows-of-2' -Filter $WindowedSyncTests -WindowKeys 2
    $pester = Invoke-PesterTests
    $passed = $xunit.Passed + $windowed.Passed + $pester.Passed
    $failed = $xunit.Failed + $windowed.Failed + $pester.Failed
    $ok = $failed -eq 0
    if ($xunit.Total -eq 0) { Write-Host 'xunit ran no test.'; $ok = $false }
    if ($windowed.Total -eq 0) { Write-Host 'xunit-windows-of-2 ran no test.'; $ok = $false }
    if ($pester.Total -eq 0) { Write-Host 'Pester ran no test.'; $ok = $false }
    $failures = @($xunit.Failures) + @($windowed.Failures) + @($pester.Failures) | Where-Object { $_ }
    if ($failures) {
        Write-Host 'Failed:'
        foreach ($failure in $failures) { Write-Host "  $failure" }
    }
    # The one closing line CI reads; nothing may be printed after it.
    Write-Host "$passed passed, $failed failed"
    if (-not $ok) { exit 1 }
}

function Use-ChittyStack([scriptblock] $Body) {
    Import-Module (Join-Path $RepoRoot 'build/ChittyStack.psm1') -Force
    $stack = Start-ChittyStack -Configuration $Configuration
    try {
        & $Body $stack
    }
    finally {
        Write-Step 'Stopping the local stack'
        Stop-ChittyStack -Stack $stack
    }
}

function Invoke-Demo {
    Invoke-Build
    $scripts = @($DemoScripts | ForEach-Object { Join-Path $RepoRoot $_ } | Where-Object { Test-Path -LiteralPath $_ })
    if ($scripts.Count -eq 0) { throw "No demo script found (looked for $($DemoScripts -join ', '))." }
    Write-Step 'Starting the local stack (s3rver + emulator)'
    Use-ChittyStack {
        param($stack)
        $environment = Get-ChittyStackEnvironment -Stack $stack
        $saved = @{}
        foreach ($name in $environment.Keys) {
            $saved[$name] = [Environment]::GetEnvironmentVariable($name)
            Set-ProcessVariable $name $environment[$name]
        }
        try {
            foreach ($script in $scripts) {
                Write-Step "Running $([IO.Path]::GetRelativePath($RepoRoot, $script)) against $($stack.EmulatorUri)"
                # A fresh PowerShell, started from the repository root, with the module of this build imported
                # (the examples require ChittyConnect by name, as it is once installed).
                $manifest = Join-Path $RepoRoot 'ChittyConnect.psd1'
                Push-Location $RepoRoot
                try { Invoke-Pwsh -NoProfile -NonInteractive -Command "Import-Module '$manifest'; & '$script'; exit `$LASTEXITCODE" } finally { Pop-Location }
                if ($LASTEXITCODE -ne 0) { throw "$script failed with exit code $LASTEXITCODE." }
            }
        }
        finally {
            foreach ($name in $saved.Keys) { Set-ProcessVariable $name $saved[$name] }
        }
    }
    Write-Step 'Demo finished'
}

function Invoke-Emulator {
    Invoke-Build
    Write-Step 'Starting the local stack (s3rver + emulator)'
    Use-ChittyStack {
        param($stack)
        $environment = Get-ChittyStackEnvironment -Stack $stack
        Write-Host ''
        Write-Host "ChittyConnect emulator: $($stack.EmulatorUri)"
        Write-Host "S3 (R2 stand-in):       $($stack.S3Uri)  bucket $($stack.Bucket)"
        Write-Host "Logs:                   $($stack.LogDirectory)"
        Write-Host ''
        Write-Host 'PowerShell:'
        foreach ($name in $environment.Keys) { Write-Host "  `$env:$name = '$($environment[$name])'" }
        Write-Host ''
        Write-Host 'bash:'
        foreach ($name in $environment.Keys) { Write-Host "  export $name='$($environment[$name])'" }
        Write-Host ''
        Write-Host "Then: Import-Module $(Join-Path $RepoRoot 'ChittyConnect.psd1'); Connect-Chitty"
        Write-Host 'Press Ctrl+C to stop.'
        while ($true) {
            foreach ($process in $stack.S3Process, $stack.EmulatorProcess) {
                if ($process.HasExited) {
                    throw "A server of the stack exited (code $($process.ExitCode)); see the logs in $($stack.LogDirectory)."
                }
            }
            Start-Sleep -Milliseconds 500
        }
    }
}

function Invoke-Bench {
    $runner = Join-Path $RepoRoot 'bench/Run-Bench.ps1'
    if (-not (Test-Path -LiteralPath $runner)) { throw 'There are no benchmarks yet (bench/Run-Bench.ps1).' }
    Invoke-Build
    & $runner -Configuration $Configuration -Quick:$Quick
}

function Invoke-Clean {
    $paths = @('bin', 'en-US', 'out', '.stack', 'bench/work') + @(
        Get-ChildItem -Path (Join-Path $RepoRoot 'src'), (Join-Path $RepoRoot 'tests') -Directory |
            ForEach-Object { Join-Path $_.FullName 'bin'; Join-Path $_.FullName 'obj' }
    ) + @('build/bin', 'build/obj')
    foreach ($path in $paths) {
        $full = if ([IO.Path]::IsPathRooted($path)) { $path } else { Join-Path $RepoRoot $path }
        if (Test-Path -LiteralPath $full) {
            Write-Step "Removing $([IO.Path]::GetRelativePath($RepoRoot, $full))"
            Remove-Item -LiteralPath $full -Recurse -Force
        }
    }
}

Push-Location $RepoRoot
try {
    switch ($Task) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Package' { Invoke-Package }
        'Demo' { Invoke-Demo }
        'Emulator' { Invoke-Emulator }
        'Bench' { Invoke-Bench }
        'Clean' { Invoke-Clean }
    }
}
finally {
    Pop-Location
}
