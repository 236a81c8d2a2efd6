@{
    RootModule           = 'bin/ChittyConnect.PowerShell.dll'
    # Must equal <Version> in Directory.Build.props; tests/Pester/Module.Tests.ps1 checks it.
    ModuleVersion        = '0.1.0'
    GUID                 = '5b0f2c4e-8d1a-4f6e-9c3b-2a7d4e1f6c80'
    Author               = 'ChittyConnect'
    CompanyName          = 'ChittyConnect'
    Copyright            = '(c) ChittyConnect. Licensed under the Apache License, Version 2.0.'
    Description          = 'ChittyConnect from PowerShell: sessions, uploads, active files, folder sync to R2 and live events.'
    CompatiblePSEditions = @('Desktop', 'Core')
    PowerShellVersion    = '5.1'
    FormatsToProcess     = @('ChittyConnect.Format.ps1xml')
    CmdletsToExport      = @(
        'Connect-Chitty'
        'Disconnect-Chitty'
        'Get-ChittyConnection'
        'Test-ChittyConnection'
        'New-ChittySession'
        'Get-ChittySession'
        'Send-ChittyFile'
        'Complete-ChittyFile'
        'Set-ChittyActiveFile'
        'Send-ChittySyncReport'
        'Get-ChittyWhoAmI'
        'Get-ChittyResourceUri'
        'Sync-ChittyFolder'
        'Watch-ChittyEvents'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('ChittyConnect', 'ChittyOS', 'R2', 'S3', 'Sync', 'Upload', 'PSEdition_Core', 'PSEdition_Desktop', 'Windows', 'Linux', 'MacOS')
            # The module ships its LICENSE (Apache-2.0, as the service); it has no public project page yet.
            LicenseUri   = 'https://www.apache.org/licenses/LICENSE-2.0'
            ReleaseNotes = 'First release.'
        }
    }
}
