# Step 1 of the composite action on Windows runners, where `bash` may be
# WSL's: the PowerShell twin of scripts/action-install.sh (read its header
# for the rules). It installs the verified release binary; when a source
# build is needed (install: source, or a commit that pins no release) it
# sets the step output need-source=true and the action's bash step builds.
# It runs under PowerShell 7 on any OS, so it can be tested off Windows.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$ProgressPreference = 'SilentlyContinue' # the progress bar slows Invoke-WebRequest down many times

# Every value printed goes through the escaping of takos-apply's Go code and
# scripts/action-lib.sh: an input or a server's text can neither end its line
# nor start a workflow command of its own.
function ConvertTo-WfData([string]$s) {
    return $s.Replace('%', '%25').Replace("`r", '%0D').Replace("`n", '%0A').Replace('##[', '##\[')
}

function Write-Log([string]$Message) {
    Write-Output $Message.Replace("`r", '\r').Replace("`n", '\n').Replace('##[', '##\[')
}

function Fail([string]$Message, [int]$Code = 1) {
    [Console]::Error.WriteLine("::error title=takos-apply::" + (ConvertTo-WfData $Message))
    exit $Code
}

# Get-Whole NAME DEFAULT MIN MAX: the environment variable NAME as a decimal
# number of at most 9 digits in [MIN, MAX], else a usage error ([int] would
# also take " 12 ", "0x10" and "1e3").
function Get-Whole([string]$Name, [int]$Default, [int]$Min, [int]$Max) {
    $v = [Environment]::GetEnvironmentVariable($Name)
    if (-not $v) { return $Default }
    if ($v -notmatch '^[0-9]{1,9}$') { Fail "$Name must be a whole number (digits only), got '$v'" 2 }
    $n = [int]::Parse($v, [Globalization.CultureInfo]::InvariantCulture)
    if ($n -lt $Min -or $n -gt $Max) { Fail "$Name must be between $Min and $Max, got '$v'" 2 }
    return $n
}

function Get-Pinned([string]$File, [string]$Name) {
    if (-not (Test-Path -LiteralPath $File)) { return '' }
    foreach ($line in Get-Content -LiteralPath $File) {
        $f = $line -split '\s+', 2
        if ($f.Count -eq 2 -and $f[1].TrimStart('*') -eq $Name) { return $f[0].ToLowerInvariant() }
    }
    return ''
}

function Get-Sha256([string]$File) {
    return (Get-FileHash -LiteralPath $File -Algorithm SHA256).Hash.ToLowerInvariant()
}

function Add-Line([string]$File, [string]$Line) {
    Add-Content -LiteralPath $File -Value $Line -Encoding utf8NoBOM
}

$actionPath = $env:GITHUB_ACTION_PATH
if (-not $actionPath) { Fail 'GITHUB_ACTION_PATH is not set: run this as a GitHub Action' }
if (-not $env:GITHUB_PATH) { Fail 'GITHUB_PATH is not set' }
$version = (Get-Content -Raw -LiteralPath (Join-Path $actionPath 'VERSION')).Trim()
$mode = 'auto'
if ($env:INPUT_INSTALL) { $mode = $env:INPUT_INSTALL.Trim().ToLowerInvariant() }
if ($mode -notin @('auto', 'release', 'source')) { Fail "input install must be auto, release or source, got '$mode'" 2 }
$attempts = Get-Whole 'TAKOS_APPLY_DOWNLOAD_ATTEMPTS' 3 1 10
$timeout = Get-Whole 'TAKOS_APPLY_DOWNLOAD_TIMEOUT' 60 1 3600
$delayMs = Get-Whole 'TAKOS_APPLY_RETRY_DELAY_MS' 1000 0 60000

$sums = Join-Path (Join-Path $actionPath 'dist') 'checksums.txt'
$released = (Test-Path -LiteralPath $sums) -and [bool](Select-String -LiteralPath $sums -SimpleMatch "  takos-apply_${version}_" -Quiet)
if ($mode -eq 'source' -or ($mode -eq 'auto' -and -not $released)) {
    if ($env:GITHUB_OUTPUT) { Add-Line $env:GITHUB_OUTPUT 'need-source=true' }
    Write-Log "takos-apply $version is built from source (install: $mode; release pinned: $released)"
    exit 0
}
if (-not $released) {
    Fail "install: release, but this action commit pins no release binary of takos-apply $version (dist/checksums.txt): it is not a release commit; use a release tag or full commit SHA, or install: source"
}

$runnerOs = "$env:RUNNER_OS"
$runnerArch = "$env:RUNNER_ARCH"
$os = switch ($runnerOs) { 'Windows' { 'windows' } 'Linux' { 'linux' } 'macOS' { 'darwin' } default { '' } }
$arch = switch ($runnerArch) { 'X64' { 'amd64' } 'ARM64' { 'arm64' } default { '' } }
$exe = 'takos-apply'
$ext = 'tar.gz'
if ($os -eq 'windows') { $exe = 'takos-apply.exe'; $ext = 'zip' }
$name = "takos-apply_${version}_${os}_${arch}"
$want = Get-Pinned $sums "$name.$ext"
$wantBin = Get-Pinned (Join-Path (Join-Path $actionPath 'dist') 'binaries.sha256') "$name/$exe"
if (-not $os -or -not $arch -or -not $want -or -not $wantBin) {
    Fail "no release binary of takos-apply $version for RUNNER_OS=$runnerOs RUNNER_ARCH=$runnerArch (released: Linux, macOS and Windows on X64 and ARM64); set install: source to build it with Go"
}

$cacheRoot = $env:RUNNER_TOOL_CACHE
if (-not $cacheRoot) { $cacheRoot = $env:RUNNER_TEMP }
if (-not $cacheRoot) { $cacheRoot = [System.IO.Path]::GetTempPath() }
$dir = Join-Path (Join-Path (Join-Path $cacheRoot 'takos-apply') $version) $arch
$cached = Join-Path $dir $exe
if (Test-Path -LiteralPath $cached -PathType Leaf) {
    $got = Get-Sha256 $cached
    if ($got -eq $wantBin) {
        Write-Log "using cached takos-apply $version (SHA-256 $got, pinned in dist/binaries.sha256): $dir"
        Add-Line $env:GITHUB_PATH $dir
        exit 0
    }
    [Console]::Error.WriteLine("::warning title=takos-apply::" + (ConvertTo-WfData "the cached $cached has SHA-256 $got, not the pinned ${wantBin}: replacing it"))
}

$base = $env:TAKOS_APPLY_RELEASE_URL
if (-not $base) {
    $repo = $env:GITHUB_ACTION_REPOSITORY
    if (-not $repo) { $repo = 'takos-dev/takos-apply' }
    $base = "https://github.com/$repo/releases/download"
}
$base = $base.TrimEnd('/')
$baseUri = $null
if (-not [uri]::TryCreate($base, [UriKind]::Absolute, [ref]$baseUri) -or
    -not ($baseUri.Scheme -eq 'https' -or ($baseUri.Scheme -eq 'http' -and $baseUri.IsLoopback))) {
    Fail "TAKOS_APPLY_RELEASE_URL must be https:// (or http:// on loopback), got '$base'"
}
$url = "$base/v$version/$name.$ext"
$tmpRoot = $env:RUNNER_TEMP; if (-not $tmpRoot) { $tmpRoot = [System.IO.Path]::GetTempPath() }
$tmp = Join-Path $tmpRoot ("takos-apply-download." + [System.IO.Path]::GetRandomFileName())
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
    $archive = Join-Path $tmp "archive.$ext"
    # Retried: network errors and timeouts, 429 and 5xx; anything else (404:
    # no such release asset) is final. No credentials are sent.
    for ($i = 1; $i -le $attempts; $i++) {
        $why = ''
        try {
            Invoke-WebRequest -Uri $url -OutFile $archive -TimeoutSec $timeout -MaximumRedirection 5 -UseBasicParsing
            break
        } catch {
            $status = 0
            $resp = $_.Exception.PSObject.Properties['Response']
            if ($resp -and $resp.Value) { $status = [int]$resp.Value.StatusCode }
            if ($status -ne 0 -and $status -ne 429 -and $status -lt 500) {
                Fail "download of $url failed: HTTP $status (is release v$version published with its assets?)"
            }
            if ($status -ne 0) { $why = "HTTP $status" }
            elseif ($_.Exception -is [System.TimeoutException] -or $_.Exception.InnerException -is [System.TimeoutException] -or "$($_.Exception.Message)" -match 'time') { $why = "timed out after ${timeout}s" }
            else { $why = "network error: $($_.Exception.Message)" }
        }
        if ($i -ge $attempts) { Fail "download of $url failed after $attempts attempts: $why" }
        $wait = $delayMs * [math]::Pow(2, $i - 1) + (Get-Random -Minimum 0 -Maximum ($delayMs + 1))
        [Console]::Error.WriteLine(("download of ${url}: $why; retrying in $wait ms (attempt $($i + 1) of $attempts)").Replace("`r", '\r').Replace("`n", '\n').Replace('##[', '##\['))
        Start-Sleep -Milliseconds $wait
    }

    $got = Get-Sha256 $archive
    if ($got -ne $want) {
        Fail "SHA-256 mismatch for $name.$ext from ${url}: expected $want (pinned in dist/checksums.txt), got $got. The download was not used; do not run it."
    }
    $x = Join-Path $tmp 'x'
    New-Item -ItemType Directory -Path $x | Out-Null
    if ($ext -eq 'zip') { Expand-Archive -LiteralPath $archive -DestinationPath $x }
    else {
        tar -xzf $archive -C $x $exe
        if ($LASTEXITCODE -ne 0) { Fail "could not unpack $name.$ext" }
    }
    $got = Get-Sha256 (Join-Path $x $exe)
    if ($got -ne $wantBin) {
        Fail "SHA-256 mismatch for $exe in $name.${ext}: expected $wantBin (pinned in dist/binaries.sha256), got $got"
    }
    if (Test-Path -LiteralPath $dir) { Remove-Item -LiteralPath $dir -Recurse -Force }
    New-Item -ItemType Directory -Path $dir -Force | Out-Null
    Move-Item -LiteralPath (Join-Path $x $exe) -Destination $cached
    if (-not $IsWindows) { chmod 0755 $cached }
    Write-Log "installed takos-apply $version from $url (SHA-256 $want, verified against dist/checksums.txt): $dir"
    Add-Line $env:GITHUB_PATH $dir
} finally {
    Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
}
