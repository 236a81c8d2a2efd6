# Dot-sourced by bench/Run-Bench.ps1 (which holds the settings: $Plan, $WorkRoot, $Transfers, ...): the
# generated data sets.

# --- Data sets (deterministic: the same seed gives the same bytes on every machine) -------------------

function New-SmallFiles([string] $Path, [int] $Count, [int] $Size, [int] $Seed) {
    $random = [Random]::new($Seed)
    $buffer = [byte[]]::new($Size)
    $perFolder = 100
    for ($i = 0; $i -lt $Count; $i++) {
        $folder = [IO.Path]::Combine($Path, ('d{0:0000}' -f [int][Math]::Floor($i / $perFolder)))
        if ($i % $perFolder -eq 0) { $null = [IO.Directory]::CreateDirectory($folder) }
        $random.NextBytes($buffer)
        [IO.File]::WriteAllBytes([IO.Path]::Combine($folder, ('f{0:000000}.bin' -f $i)), $buffer)
    }
}

function New-LargeFiles([string] $Path, [int] $Count, [long] $Size, [int] $Seed) {
    # One random block, stamped with the file and MiB index at each MiB, so every file (and every part)
    # has its own content without generating gigabytes of random numbers.
    $null = [IO.Directory]::CreateDirectory($Path)
    $block = [byte[]]::new([Math]::Min($Size, 16MB))
    [Random]::new($Seed).NextBytes($block)
    for ($i = 0; $i -lt $Count; $i++) {
        $file = [IO.File]::Create((Join-Path $Path ('big{0:0000}.bin' -f $i)))
        try {
            $written = 0L
            $mib = 0
            while ($written -lt $Size) {
                $n = [int][Math]::Min($block.Length, $Size - $written)
                for ($at = 0; $at -lt $n; $at += $MiB) {
                    [BitConverter]::GetBytes([long]$i).CopyTo($block, $at)
                    [BitConverter]::GetBytes([long]$mib++).CopyTo($block, $at + 8)
                }
                $file.Write($block, 0, $n)
                $written += $n
            }
        }
        finally {
            $file.Dispose()
        }
    }
}

function Update-SomeFiles([string] $Path, [double] $Fraction, [int] $Seed) {
    # Rewrites a fixed share of the files with new content of the same size (only the content changes).
    $files = @(Get-ChildItem -LiteralPath $Path -Recurse -File | Sort-Object FullName)
    $count = [Math]::Max(1, [int][Math]::Round($files.Count * $Fraction))
    $random = [Random]::new($Seed)
    $step = [Math]::Max(1, [int][Math]::Floor($files.Count / $count))
    for ($k = 0; $k -lt $count; $k++) {
        $file = $files[($k * $step + $Seed) % $files.Count]
        $buffer = [byte[]]::new($file.Length)
        $random.NextBytes($buffer)
        [IO.File]::WriteAllBytes($file.FullName, $buffer)
    }
    $count
}
