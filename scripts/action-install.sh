#!/usr/bin/env bash
# Step 1 of the composite action on Linux and macOS (Windows runners use
# scripts/action-install.ps1, and come here only to build from source): put
# a takos-apply binary of this action's version on PATH for the job.
#
# install: auto (default) uses the release binary when this action's commit
# pins one (dist/checksums.txt lists archives of VERSION: true at a release
# tag), else builds from source; release requires the binary; source always
# builds from the action's own source with the runner's Go.
#
# A release binary is trusted only by digest, never by what it prints: the
# archive is downloaded (bounded retries with jitter on network errors, 429
# and 5xx; a timeout per attempt), its SHA-256 checked against the pinned
# list before anything unpacks or runs it, and the unpacked executable
# checked against dist/binaries.sha256. A binary already in the tool cache
# (kept between jobs on self-hosted runners) is reused only if its digest
# matches the pinned one; a source build is never reused across jobs.
set -euo pipefail
# Workflow commands with escaped values, and whole numbers checked before
# any arithmetic sees them (action-lib.sh).
. "$(dirname "${BASH_SOURCE[0]}")/action-lib.sh"
action_path="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set: run this as a GitHub Action}"
version="$(tr -d ' \r\n' < "$action_path/VERSION")"
mode="$(printf '%s' "${INPUT_INSTALL:-auto}" | tr '[:upper:]' '[:lower:]' | tr -d ' ')"
: "${GITHUB_PATH:?GITHUB_PATH is not set}"

fail() { wf_error "$*"; exit 1; }

case "$mode" in auto|release|source) ;; *) wf_error "input install must be auto, release or source, got '$mode'"; exit 2 ;; esac
# Read (and checked) before anything else happens.
attempts="$(whole TAKOS_APPLY_DOWNLOAD_ATTEMPTS 3 1 10)" || exit 2
timeout="$(whole TAKOS_APPLY_DOWNLOAD_TIMEOUT 60 1 3600)" || exit 2
delay_ms="$(whole TAKOS_APPLY_RETRY_DELAY_MS 1000 0 60000)" || exit 2

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1; else shasum -a 256 "$1" | cut -d' ' -f1; fi
}

# pinned FILE NAME: the digest FILE (sha256sum format) pins for NAME.
pinned() {
  [ -f "$1" ] || return 0
  awk -v n="$2" '{ f = $2; sub(/^\*/, "", f) } f == n { print tolower($1); exit }' "$1"
}

install_source() {
  if ! command -v go >/dev/null 2>&1; then
    fail "takos-apply $version has to be built from source here ($1) and there is no Go on this runner. Add this step before the takos-apply step in your workflow:  - uses: actions/setup-go@v5  with:  go-version: '1.26'  — or use a released version of the action (takos-dev/takos-apply@vX.Y.Z or a release commit's full SHA), which downloads a verified prebuilt binary."
  fi
  # A fresh directory of this job, not the tool cache: nothing another
  # job left behind is run. Go's build cache keeps a rebuild short.
  local dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/takos-apply-source-$version"
  local exe=takos-apply
  [ "${RUNNER_OS:-}" = Windows ] && exe=takos-apply.exe
  log "building takos-apply $version from $action_path with $(go version) ($1)"
  rm -rf "$dir" && mkdir -p "$dir"
  TAKOS_APPLY_INSTALLER=action-source "$action_path/scripts/build.sh" "$dir/$exe" "$version"
  echo "$dir" >> "$GITHUB_PATH"
}

released=""
if [ -f "$action_path/dist/checksums.txt" ] && grep -q "  takos-apply_${version}_" "$action_path/dist/checksums.txt"; then
  released=yes
fi
if [ "$mode" = source ]; then
  install_source "install: source"; exit 0
fi
if [ "${RUNNER_OS:-}" = Windows ]; then
  # scripts/action-install.ps1 installs release binaries on Windows and
  # hands over to this script only when a source build is needed.
  install_source "Windows, handed over by action-install.ps1"; exit 0
fi
if [ -z "$released" ]; then
  [ "$mode" = release ] && fail "install: release, but this action commit pins no release binary of takos-apply $version (dist/checksums.txt): it is not a release commit; use a release tag or full commit SHA, or install: source"
  install_source "$version is not a release commit: dist/checksums.txt pins no archive of it"; exit 0
fi

runner_os="${RUNNER_OS:-$(uname -s)}" runner_arch="${RUNNER_ARCH:-$(uname -m)}"
case "$runner_os" in Linux) os=linux ;; macOS|Darwin) os=darwin ;; *) os="" ;; esac
case "$runner_arch" in X64|x86_64|amd64) arch=amd64 ;; ARM64|arm64|aarch64) arch=arm64 ;; *) arch="" ;; esac
name="takos-apply_${version}_${os}_${arch}"
want="$(pinned "$action_path/dist/checksums.txt" "$name.tar.gz")"
want_bin="$(pinned "$action_path/dist/binaries.sha256" "$name/takos-apply")"
if [ -z "$os" ] || [ -z "$arch" ] || [ -z "$want" ] || [ -z "$want_bin" ]; then
  fail "no release binary of takos-apply $version for RUNNER_OS=$runner_os RUNNER_ARCH=$runner_arch (released: Linux, macOS and Windows on X64 and ARM64); set install: source to build it with Go"
fi

dir="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}/takos-apply/$version/$arch"
if [ -f "$dir/takos-apply" ]; then
  got="$(sha256 "$dir/takos-apply")"
  if [ "$got" = "$want_bin" ]; then
    log "using cached takos-apply $version (SHA-256 $got, pinned in dist/binaries.sha256): $dir"
    echo "$dir" >> "$GITHUB_PATH"
    exit 0
  fi
  wf_warning "the cached $dir/takos-apply has SHA-256 $got, not the pinned $want_bin: replacing it"
fi

base="${TAKOS_APPLY_RELEASE_URL:-https://github.com/${GITHUB_ACTION_REPOSITORY:-takos-dev/takos-apply}/releases/download}"
base="${base%/}"
# http:// only to loopback (a test or local mirror); the digest check below
# holds either way, but nothing should be fetched in clear over a network.
loopback='^http://(127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}|localhost|\[::1\])(:[0-9]+)?(/|$)'
if [[ "$base" == https://* ]]; then
  proto=(--proto "=https" --proto-redir "=https")
elif [[ "$base" =~ $loopback ]]; then
  proto=(--proto "=http" --max-redirs 0)
else
  fail "TAKOS_APPLY_RELEASE_URL must be https:// (or http:// on loopback), got '$base'"
fi
url="$base/v$version/$name.tar.gz"
command -v curl >/dev/null 2>&1 || fail "curl is needed to download $url"
tmp="$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/takos-apply-download.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

# Retried: network errors and timeouts (curl exits 5-7, 16, 18, 28, 35, 52,
# 55, 56, 92), 429 and 5xx. Anything else (404: no such release asset) is
# final. No credentials are sent: the release assets are public.
for i in $(seq 1 "$attempts"); do
  set +e
  code="$(curl -sS -L --max-redirs 5 "${proto[@]}" --connect-timeout 10 --max-time "$timeout" \
    -o "$tmp/archive" -w '%{http_code}' "$url" 2>"$tmp/curl.err")"
  rc=$?
  set -e
  why=""
  if [ "$rc" -ne 0 ]; then
    case "$rc" in
      28) why="timed out after ${timeout}s" ;;
      5|6|7|16|18|35|52|55|56|92) why="network error: $(tr '\n' ' ' < "$tmp/curl.err")" ;;
      *) fail "download of $url failed: $(tr '\n' ' ' < "$tmp/curl.err")" ;;
    esac
  elif [ "$code" = 200 ]; then
    break
  elif [ "$code" = 429 ] || [ "${code:0:1}" = 5 ]; then
    why="HTTP $code"
  else
    fail "download of $url failed: HTTP $code (is release v$version published with its assets?)"
  fi
  if [ "$i" -ge "$attempts" ]; then
    fail "download of $url failed after $attempts attempts: $why"
  fi
  wait_ms=$(( delay_ms * (1 << (i - 1)) + RANDOM % (delay_ms + 1) ))
  log "download of $url: $why; retrying in ${wait_ms} ms (attempt $((i + 1)) of $attempts)" >&2
  sleep "$(awk -v ms="$wait_ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
done

got="$(sha256 "$tmp/archive")"
if [ "$got" != "$want" ]; then
  fail "SHA-256 mismatch for $name.tar.gz from $url: expected $want (pinned in dist/checksums.txt), got $got. The download was not used; do not run it."
fi
mkdir "$tmp/x"
tar -xzf "$tmp/archive" -C "$tmp/x" takos-apply
got="$(sha256 "$tmp/x/takos-apply")"
if [ "$got" != "$want_bin" ]; then
  fail "SHA-256 mismatch for takos-apply in $name.tar.gz: expected $want_bin (pinned in dist/binaries.sha256), got $got"
fi
chmod 0755 "$tmp/x/takos-apply"
rm -rf "$dir" && mkdir -p "$dir"
mv "$tmp/x/takos-apply" "$dir/takos-apply"
log "installed takos-apply $version from $url (SHA-256 $want, verified against dist/checksums.txt): $dir"
echo "$dir" >> "$GITHUB_PATH"
