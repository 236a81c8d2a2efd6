# Dot-sourced by the bench/Measure-*.ps1 scripts: what each of them needs around its measurement, written once.
# The stack is build/ChittyStack.psm1's (Start-ChittyStack -S3Only); these helpers only read its properties.

function Write-RandomFile([string] $Path, [int] $MiB, [int] $Seed) {
    # -MiB of bytes from a seeded generator: the same file on every run of one seed.
    $random = [Random]::new($Seed)
    $chunk = [byte[]]::new(1MB)
    $stream = [IO.File]::Create($Path)
    try { for ($i = 0; $i -lt $MiB; $i++) { $random.NextBytes($chunk); $stream.Write($chunk, 0, $chunk.Length) } }
    finally { $stream.Dispose() }
}

function New-BenchStore($Stack, $Options) {
    # The store Sync-ChittyFolder makes, on the stack's bucket (with the default options unless -Options);
    # the caller disposes of it.
    if ($null -eq $Options) { $Options = [ChittyConnect.Storage.R2StoreOptions]::new() }
    $settings = [ChittyConnect.Configuration.ChittyConnectionSettings]::new()
    $settings.R2Endpoint = $Stack.S3Uri
    $settings.Bucket = $Stack.Bucket
    $settings.R2AccessKeyId = $Stack.S3AccessKey
    $settings.R2SecretAccessKey = [ChittyConnect.Configuration.ChittySecret]::new($Stack.S3SecretKey)
    [ChittyConnect.Storage.R2ObjectStore]::new($settings, $Options)
}

function Get-BenchConnectionEnvironment($Stack, [string] $R2Endpoint, [string] $ConfigDirectory) {
    # The variables Connect-Chitty reads, for the stack's bucket at -R2Endpoint (a proxy in front of it, or
    # the stack itself), with a ChittyConnect endpoint that answers nothing: the bench measures the store, and
    # syncs with -NoReport, so the API is never called.
    @{
        CHITTY_ENDPOINT = 'http://127.0.0.1:9'
        CHITTY_API_KEY = 'bench-key'
        CHITTY_ID = 'CT-BENCH'
        CHITTY_SESSION_ID = 'bench'
        CHITTY_R2_ENDPOINT = $R2Endpoint
        CHITTY_R2_BUCKET = $Stack.Bucket
        CHITTY_R2_ACCESS_KEY_ID = $Stack.S3AccessKey
        CHITTY_R2_SECRET_ACCESS_KEY = $Stack.S3SecretKey
        CHITTY_CONFIG_DIR = $ConfigDirectory
    }
}

function Set-BenchConnectionEnvironment($Stack, [string] $ConfigDirectory) {
    # Get-BenchConnectionEnvironment with the stack itself, set in this process (its children inherit it).
    $variables = Get-BenchConnectionEnvironment $Stack $Stack.S3Uri.AbsoluteUri.TrimEnd('/') $ConfigDirectory
    foreach ($name in $variables.Keys) { [Environment]::SetEnvironmentVariable($name, $variables[$name]) }
}

function Write-SmallFiles([string] $Folder, [int] $Count, [int] $Seed) {
    # -Count files of 4 KiB of seeded random bytes, 100 to a subfolder, as a tree of small files is synced.
    $random = [Random]::new($Seed)
    $buffer = [byte[]]::new(4KB)
    for ($i = 0; $i -lt $Count; $i++) {
        $subfolder = Join-Path $Folder ('d{0:0000}' -f [Math]::Floor($i / 100))
        $null = [IO.Directory]::CreateDirectory($subfolder)
        $random.NextBytes($buffer)
        [IO.File]::WriteAllBytes((Join-Path $subfolder ('f{0:000000}.bin' -f $i)), $buffer)
    }
}
