#!/usr/bin/env bash
# Times the GitHub Action's install step (scripts/action-install.sh) as a
# runner meets it, against the targets of the release binaries:
#   - warm tool cache (digest check of the cached binary, PATH): <= 0.3 s;
#   - cold, from a release server on loopback (download, verify, unpack):
#     <= 2 s;
#   - compared with install: source on an empty Go build cache (what every
#     job paid before; the module cache is kept warm, so a real fresh
#     runner pays the module download on top) and on a warm one.
# The archive is built here by scripts/release.sh; the server is a small
# Go file server on 127.0.0.1 that this script starts and stops.
#   scripts/bench-install.sh            (BENCH_RUNS=N, default 10)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
srv_pid=""
cleanup() {
  if [ -n "$srv_pid" ]; then kill "$srv_pid" 2>/dev/null || true; wait "$srv_pid" 2>/dev/null || true; fi
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
runs="${BENCH_RUNS:-10}"
version=9.9.9
platform="$(go env GOOS)/$(go env GOARCH)"

echo "== building the $platform release archive (scripts/release.sh build)"
"$root/scripts/release.sh" build "$work/out" --version "$version" --platforms "$platform" >/dev/null
action="$work/action"
mkdir -p "$action/scripts" "$action/dist" "$work/www/v$version"
cp "$root/scripts/action-install.sh" "$root/scripts/build.sh" "$action/scripts/"
cp "$work/out/checksums.txt" "$work/out/binaries.sha256" "$action/dist/"
echo "$version" > "$action/VERSION"
cp "$work/out"/*.tar.gz "$work/www/v$version/"
# install: source builds the action's own source: give it the module.
(cd "$root" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$action"
echo "$version" > "$action/VERSION"

cat > "$work/srv.go" <<'GO'
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	fmt.Printf("http://%s\n", l.Addr())
	_ = http.Serve(l, http.FileServer(http.Dir(os.Args[1])))
}
GO
(cd "$work" && go build -o srv srv.go)
"$work/srv" "$work/www" > "$work/url" &
srv_pid=$!
for _ in $(seq 1 50); do [ -s "$work/url" ] && break; sleep 0.1; done
url="$(cat "$work/url")"

now_ms() { date +%s%3N; }
# install CACHE [ENV...]: one install step, prints its wall time in ms.
install() {
  local cache="$1"; shift
  : > "$work/path"
  local t0 t1
  t0="$(now_ms)"
  env "$@" GITHUB_ACTION_PATH="$action" GITHUB_PATH="$work/path" RUNNER_TOOL_CACHE="$cache" RUNNER_TEMP="$work" \
    RUNNER_OS="$(uname -s | sed 's/Darwin/macOS/')" RUNNER_ARCH="$(uname -m | sed 's/x86_64/X64/; s/aarch64/ARM64/; s/arm64/ARM64/')" \
    TAKOS_APPLY_RELEASE_URL="$url" bash "$action/scripts/action-install.sh" > "$work/install.log" 2>&1 ||
    { cat "$work/install.log" >&2; exit 1; }
  t1="$(now_ms)"
  echo $((t1 - t0))
}
stats() { # label target values...: median and max
  local label="$1" target="$2"; shift 2
  local sorted median max
  sorted="$(printf '%s\n' "$@" | sort -n)"
  median="$(echo "$sorted" | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2)}')"
  max="$(echo "$sorted" | tail -1)"
  printf '| %s | %s ms | %s ms | %s | %s |\n' "$label" "$median" "$max" "$#" "$target"
}

cold=() warm=()
for i in $(seq 1 "$runs"); do cold+=("$(install "$work/cache-cold-$i")"); done
install "$work/cache-warm" >/dev/null
for _ in $(seq 1 "$runs"); do warm+=("$(install "$work/cache-warm")"); done
grep -q 'using cached' "$work/install.log" || { cat "$work/install.log"; exit 1; }
src_cold="$(install "$work/cache-src" INPUT_INSTALL=source GOCACHE="$work/gocache-empty")"
src_warm="$(install "$work/cache-src" INPUT_INSTALL=source GOCACHE="$work/gocache-empty")"

echo
echo "| install step ($platform) | median | max | runs | target |"
echo "|---|---|---|---|---|"
stats "release binary, warm tool cache" "<= 300 ms" "${warm[@]}"
stats "release binary, cold, loopback server" "<= 2000 ms" "${cold[@]}"
stats "install: source, empty Go build cache" "-" "$src_cold"
stats "install: source, warm Go build cache" "-" "$src_warm"
echo
echo "archive: $(wc -c < "$work/www/v$version"/*.tar.gz) bytes; $(nproc) cores; $(go version | awk '{print $3}')"
