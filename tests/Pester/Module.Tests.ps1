BeforeDiscovery {
    $manifest = Import-PowerShellDataFile (Join-Path $PSScriptRoot '../../ChittyConnect.psd1')
    $script:ExpectedCmdlets = @($manifest.CmdletsToExport)
}

BeforeAll {
    . $PSScriptRoot/_Common.ps1
    $script:Manifest = Import-PowerShellDataFile $ManifestPath
    [xml] $props = Get-Content -Raw (Join-Path $RepoRoot 'Directory.Build.props')
    $script:PropsVersion = @($props.Project.PropertyGroup.Version | Where-Object { $_ })[0]
    $script:Module = Get-Module ChittyConnect
}

Describe 'The module manifest' {
    It 'is valid' {
        $info = Test-ModuleManifest -Path $ManifestPath -ErrorAction Stop
        $info.Name | Should -Be 'ChittyConnect'
    }

    It 'has the version of Directory.Build.props' {
        $PropsVersion | Should -Not -BeNullOrEmpty
        $Manifest.ModuleVersion | Should -Be $PropsVersion
    }

    It 'matches the version the dll was built with' {
        $dll = Join-Path $RepoRoot 'bin/ChittyConnect.PowerShell.dll'
        $version = [Reflection.AssemblyName]::GetAssemblyName($dll).Version
        '{0}.{1}.{2}' -f $version.Major, $version.Minor, $version.Build | Should -Be $Manifest.ModuleVersion
    }

    It 'runs on Windows PowerShell 5.1 and PowerShell 7' {
        $Manifest.CompatiblePSEditions | Sort-Object | Should -Be @('Core', 'Desktop')
        $Manifest.PowerShellVersion | Should -Be '5.1'
    }

    It 'lists every export explicitly, with no wildcard' {
        foreach ($key in 'CmdletsToExport', 'FunctionsToExport', 'AliasesToExport', 'VariablesToExport') {
            $Manifest.ContainsKey($key) | Should -BeTrue -Because "$key must be listed"
            @($Manifest[$key]) -join ',' | Should -Not -Match '\*'
        }
    }
}

Describe 'The built module' {
    It 'imports from the repository root in a new PowerShell' {
        $result = Invoke-ChittyPwsh -Command @'
$ErrorActionPreference = 'Stop'
Import-Module ./ChittyConnect.psd1
(Get-Module ChittyConnect).ExportedCmdlets.Keys | Sort-Object
'@
        $result.ExitCode | Should -Be 0 -Because ($result.Output -join "`n")
        $result.Output | Should -Be ($Manifest.CmdletsToExport | Sort-Object)
    }

    It 'exports <_>' -ForEach $ExpectedCmdlets {
        $Module.ExportedCmdlets.Keys | Should -Contain $_
    }

    It 'exports no cmdlet that the manifest does not list' {
        $Module.ExportedCmdlets.Keys | Where-Object { $_ -notin $Manifest.CmdletsToExport } | Should -BeNullOrEmpty
    }

    It 'has every cmdlet of its dll in CmdletsToExport' {
        $defined = $Module.ImplementingAssembly.GetExportedTypes() | ForEach-Object {
            $attribute = [Attribute]::GetCustomAttribute($_, [System.Management.Automation.CmdletAttribute])
            if ($attribute) { "$($attribute.VerbName)-$($attribute.NounName)" }
        }
        $defined | Where-Object { $_ -notin $Manifest.CmdletsToExport } | Should -BeNullOrEmpty
    }

    It 'exports no function, alias or variable' {
        $Module.ExportedFunctions.Count | Should -Be 0
        $Module.ExportedAliases.Count | Should -Be 0
        $Module.ExportedVariables.Count | Should -Be 0
    }

    It 'does not ship System.Management.Automation (the host provides it)' {
        Join-Path $RepoRoot 'bin/System.Management.Automation.dll' | Should -Not -Exist
        Join-Path $RepoRoot 'bin/dependencies/System.Management.Automation.dll' | Should -Not -Exist
    }

    It 'keeps the library and its dependencies where PowerShell does not probe (bin/dependencies)' {
        (Get-ChildItem -LiteralPath (Join-Path $RepoRoot 'bin') -Filter *.dll).Name | Should -Be 'ChittyConnect.PowerShell.dll'
        Join-Path $RepoRoot 'bin/dependencies/ChittyConnect.dll' | Should -Exist
    }

    It 'has cmdlets that reach the SDK only through the library' {
        # A reference from the cmdlet assembly to the SDK itself would bind in the session's default
        # load context, where AWS.Tools' version may already be.
        $references = $Module.ImplementingAssembly.GetReferencedAssemblies().Name
        $references | Should -Contain 'ChittyConnect'
        $references | Where-Object { $_ -like 'AWSSDK.*' -or $_ -like 'BouncyCastle*' } | Should -BeNullOrEmpty
    }

    It 'loads the library in its own load context, its types still named in scripts' {
        $result = Invoke-ChittyPwsh -Command @'
$ErrorActionPreference = 'Stop'
Import-Module ./ChittyConnect.psd1
$type = [ChittyConnect.Sync.ChittySyncResult]
[IO.Path]::GetRelativePath($PWD, $type.Assembly.Location).Replace('\', '/')
[Runtime.Loader.AssemblyLoadContext]::GetLoadContext($type.Assembly).GetType().Name
(Get-Command Sync-ChittyFolder).OutputType.Type -contains $type
'@
        $result.ExitCode | Should -Be 0 -Because ($result.Output -join "`n")
        $result.Output | Should -Be @('bin/dependencies/ChittyConnect.dll', 'ModuleLoadContext', 'True')
    }

    It 'encrypts with its vectorised cipher, loaded from bin/dependencies in its own load context' {
        # PowerShell 7 on a processor with 256-bit vectors, as here: the library finds the .NET 8 assembly at
        # run time; were it not found, encryption would still work, on BouncyCastle's slower cipher.
        $result = Invoke-ChittyPwsh -Command @'
$ErrorActionPreference = 'Stop'
Import-Module ./ChittyConnect.psd1
$core = [ChittyConnect.Sync.ChittySyncResult].Assembly.GetType('ChittyConnect.Crypt.SecretBoxCores', $true).GetProperty('Fastest').GetValue($null)
$core.GetType().FullName
[IO.Path]::GetRelativePath($PWD, $core.GetType().Assembly.Location).Replace('\', '/')
[Runtime.Loader.AssemblyLoadContext]::GetLoadContext($core.GetType().Assembly).GetType().Name
'@
        $result.ExitCode | Should -Be 0 -Because ($result.Output -join "`n")
        $result.Output | Should -Be @('ChittyConnect.Crypt.VectorSecretBoxCore', 'bin/dependencies/ChittyConnect.Crypt.Vector.dll', 'ModuleLoadContext')
    }

    It 'leaves a request for a System.Text.Json newer than its own to whoever else resolves it' {
        # The default context asks every resolver for a version the platform lacks: the module carries
        # System.Text.Json, but a request for a version it does not have is not its to answer.
        $result = Invoke-ChittyPwsh -Command @'
$ErrorActionPreference = 'Stop'
Import-Module ./ChittyConnect.psd1
try {
    $answer = [Runtime.Loader.AssemblyLoadContext]::Default.LoadFromAssemblyName([Reflection.AssemblyName]::new('System.Text.Json, Version=99.0.0.0'))
    "answered with $($answer.GetName().Version) from $($answer.Location)"
}
catch {
    'not answered'
}
'@
        $result.ExitCode | Should -Be 0 -Because ($result.Output -join "`n")
        $result.Output | Should -Be 'not answered'
    }
}

Describe 'Beside another version of the AWS SDK (as AWS.Tools.S3 loads it)' {
    # AWS.Tools loads AWSSDK.Core/AWSSDK.S3 into the session's default load context. The module's own
    # SDK (another major version here) must load in its own context, whichever comes first; each order
    # runs in a fresh PowerShell, since a process cannot unload either.
    BeforeAll {
        $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages' }
        $script:OtherSdk = @{
            CHITTY_TEST_OTHER_CORE = Join-Path $packages 'awssdk.core/3.7.501.1/lib/netstandard2.0/AWSSDK.Core.dll'
            CHITTY_TEST_OTHER_S3   = Join-Path $packages 'awssdk.s3/3.7.511.8/lib/netstandard2.0/AWSSDK.S3.dll'
        }
        foreach ($path in $OtherSdk.Values) {
            if (-not (Test-Path -LiteralPath $path)) { throw "$path is missing: run 'dotnet restore build/Pester.Restore.csproj'." }
        }
        $script:Stack = Start-ChittyStack
        $script:Environment = (Get-ChittyStackEnvironment -Stack $Stack) + $OtherSdk

        function Assert-SdkSideBySide([string[]] $Output) {
            # The other SDK alone in the default context; whatever the module loaded of the SDK, only in
            # its own context.
            $loaded = @($Output | Where-Object { $_ -like 'loaded=*' })
            $loaded | Should -Contain 'loaded=AWSSDK.Core 3.3.0.0 in DefaultAssemblyLoadContext from other'
            $loaded | Should -Contain 'loaded=AWSSDK.S3 3.3.0.0 in DefaultAssemblyLoadContext from other'
            $loaded | Where-Object { $_ -like '*from module' -and $_ -notlike '* in ModuleLoadContext from module' } | Should -BeNullOrEmpty
        }

        # Shared by both scripts: a folder of three files synced under a prefix of its own, then the
        # other SDK's own client lists that prefix, and every AWSSDK.Core in the process is named with
        # its load context.
        $script:Helpers = @'
$ErrorActionPreference = 'Stop'
function Invoke-FolderSync([string] $Prefix) {
    $folder = Join-Path ([IO.Path]::GetTempPath()) ([guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Path $folder | Out-Null
    foreach ($name in 'a.txt', 'b.txt', 'c.txt') { Set-Content -LiteralPath (Join-Path $folder $name) -Value "$Prefix $name" }
    $results = Sync-ChittyFolder -Path $folder -Prefix $Prefix -NoReport
    'uploaded=' + @($results | Where-Object Action -eq Uploaded).Count
}
function Get-KeysWithOtherSdk([string] $Prefix) {
    $config = [Amazon.S3.AmazonS3Config]::new()
    $config.ServiceURL = $env:CHITTY_R2_ENDPOINT
    $config.ForcePathStyle = $true
    $credentials = [Amazon.Runtime.BasicAWSCredentials]::new($env:CHITTY_R2_ACCESS_KEY_ID, $env:CHITTY_R2_SECRET_ACCESS_KEY)
    $client = [Amazon.S3.AmazonS3Client]::new($credentials, $config)
    $request = [Amazon.S3.Model.ListObjectsV2Request]::new()
    $request.BucketName = $env:CHITTY_R2_BUCKET
    $request.Prefix = "$Prefix/"
    'other-sdk=' + [Amazon.S3.AmazonS3Client].Assembly.GetName().Version
    $keys = $client.ListObjectsV2Async($request).GetAwaiter().GetResult().S3Objects.Key | Sort-Object
    'listed=' + ($keys -join ',')
}
function Get-LoadedSdk {
    # One line per AWS SDK assembly in the process: version, load context, and whose copy it is.
    $moduleFolder = Join-Path $PWD 'bin'
    foreach ($assembly in [AppDomain]::CurrentDomain.GetAssemblies()) {
        $name = $assembly.GetName()
        if ($name.Name -like 'AWSSDK.*') {
            $context = [Runtime.Loader.AssemblyLoadContext]::GetLoadContext($assembly)
            $owner = if ($assembly.Location.StartsWith($moduleFolder)) { 'module' } else { 'other' }
            'loaded={0} {1} in {2} from {3}' -f $name.Name, $name.Version, $context.GetType().Name, $owner
        }
    }
}
'@
    }
    AfterAll {
        Stop-ChittyStack -Stack $Stack
    }

    It 'imports and syncs after the other version was loaded' {
        $result = Invoke-ChittyPwsh -Environment $Environment -Command ($Helpers + @'
Add-Type -Path $env:CHITTY_TEST_OTHER_CORE, $env:CHITTY_TEST_OTHER_S3
Import-Module ./ChittyConnect.psd1
Invoke-FolderSync -Prefix other-first
Get-KeysWithOtherSdk -Prefix other-first
Get-LoadedSdk
'@)
        $output = $result.Output -join "`n"
        $result.ExitCode | Should -Be 0 -Because $output
        $result.Output | Should -Contain 'uploaded=3'
        $result.Output | Should -Contain 'other-sdk=3.3.0.0'
        $result.Output | Should -Contain 'listed=other-first/a.txt,other-first/b.txt,other-first/c.txt'
        Assert-SdkSideBySide $result.Output
    }

    It 'lets the other version load and work after the module synced, and syncs again' {
        $result = Invoke-ChittyPwsh -Environment $Environment -Command ($Helpers + @'
Import-Module ./ChittyConnect.psd1
Invoke-FolderSync -Prefix module-first
Add-Type -Path $env:CHITTY_TEST_OTHER_CORE, $env:CHITTY_TEST_OTHER_S3
Get-KeysWithOtherSdk -Prefix module-first
Invoke-FolderSync -Prefix module-first-again
Get-LoadedSdk
'@)
        $output = $result.Output -join "`n"
        $result.ExitCode | Should -Be 0 -Because $output
        @($result.Output | Where-Object { $_ -eq 'uploaded=3' }).Count | Should -Be 2 -Because $output
        $result.Output | Should -Contain 'other-sdk=3.3.0.0'
        $result.Output | Should -Contain 'listed=module-first/a.txt,module-first/b.txt,module-first/c.txt'
        Assert-SdkSideBySide $result.Output
    }
}
