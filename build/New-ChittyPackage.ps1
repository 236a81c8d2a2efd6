#Requires -Version 7.2
<#
.SYNOPSIS
Packs the built module into ChittyConnect.<version>.nupkg with PSResourceGet, as it would go to a gallery.

.DESCRIPTION
Run by `build.ps1 -Task Package` after a build (and by tests/Pester/Package.Tests.ps1 on the built module).
The package holds only what an installed module needs: the manifest, the format file, LICENSE, the help
(en-US) and bin/ (the cmdlet assembly, its help, and bin/dependencies); no symbols, XML docs, sources, tests
or node_modules. PSResourceGet publishes to a repository, so the package is published to a local folder
repository registered for this run only (under a name of its own, removed again afterwards).
Writes the path of the .nupkg.
#>
[CmdletBinding()]
param(
    # The repository root, with the module built into it.
    [Parameter(Mandatory)] [string] $RepoRoot,

    # The folder the .nupkg goes to (a local repository Install-PSResource can read).
    [Parameter(Mandatory)] [string] $OutputPath
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
Import-Module Microsoft.PowerShell.PSResourceGet

$manifestPath = Join-Path $RepoRoot 'ChittyConnect.psd1'
if (-not (Test-Path -LiteralPath (Join-Path $RepoRoot 'bin/ChittyConnect.PowerShell.dll'))) {
    throw "The module is not built: run 'build.ps1 -Task Build' first."
}
$manifest = Import-PowerShellDataFile -LiteralPath $manifestPath

# Publish-PSResource takes a folder named as the module.
$staging = Join-Path ([IO.Path]::GetTempPath()) ('chitty-package-' + [guid]::NewGuid().ToString('N'))
$module = Join-Path $staging 'ChittyConnect'
$repositoryName = 'ChittyConnectBuild-' + [guid]::NewGuid().ToString('N').Substring(0, 8)
try {
    $null = New-Item -ItemType Directory -Path $module -Force
    foreach ($file in 'ChittyConnect.psd1', $manifest.FormatsToProcess, 'LICENSE') {
        Copy-Item -LiteralPath (Join-Path $RepoRoot $file) -Destination $module
    }
    Copy-Item -LiteralPath (Join-Path $RepoRoot 'en-US') -Destination $module -Recurse
    Copy-Item -LiteralPath (Join-Path $RepoRoot 'bin') -Destination $module -Recurse
    # Symbols and the library's XML documentation serve development only.
    Get-ChildItem -LiteralPath (Join-Path $module 'bin') -Recurse -File |
        Where-Object { $_.Extension -eq '.pdb' -or ($_.Extension -eq '.xml' -and $_.Name -notlike '*-Help.xml') } |
        Remove-Item -Force

    $null = New-Item -ItemType Directory -Path $OutputPath -Force
    $OutputPath = (Resolve-Path -LiteralPath $OutputPath).Path
    $package = Join-Path $OutputPath "ChittyConnect.$($manifest.ModuleVersion).nupkg"
    if (Test-Path -LiteralPath $package) { Remove-Item -LiteralPath $package -Force }
    Register-PSResourceRepository -Name $repositoryName -Uri $OutputPath -Trusted
    Publish-PSResource -Path $module -Repository $repositoryName
    if (-not (Test-Path -LiteralPath $package)) { throw "Publish-PSResource wrote no $package." }
    $package
}
finally {
    if (Get-PSResourceRepository -Name $repositoryName -ErrorAction SilentlyContinue) {
        Unregister-PSResourceRepository -Name $repositoryName
    }
    Remove-Item -LiteralPath $staging -Recurse -Force -ErrorAction SilentlyContinue
}
