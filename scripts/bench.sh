#!/usr/bin/env bash
# Times the built takos-apply binary on the two lint workloads the project
# holds itself to, against a baseline Go binary that does nothing:
#   - one app.yml (the pre-commit / deploy-step case): target <= 12 ms wall;
#   - 2,000 generated manifests in one call: target >= 8,000 files/s and
#     peak RSS <= 25 MiB.
# Needs hyperfine and GNU time (Debian: apt-get install hyperfine time).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
n="${BENCH_FILES:-2000}"

"$root/scripts/build.sh" "$work/takos-apply" bench
cat > "$work/noop.go" <<'GO'
package main

func main() {}
GO
(cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o noop noop.go)

# A realistic manifest (workers, routes, resources, oauth) per directory,
# varied so no two files are identical.
for i in $(seq 1 "$n"); do
  d="$work/corpus/app$i/.takos"
  mkdir -p "$d"
  sed -e "s/my-oauth-app/app-$i/g" -e "s/1\.0\.0/1.0.$i/" "$root/testdata/manifests/ok/oauth-app.yml" > "$d/app.yml"
done
# The same count of manifests that each have a finding (a localhost
# redirect URI), rendered as text with snippets.
for i in $(seq 1 "$n"); do
  d="$work/warn/app$i/.takos"
  mkdir -p "$d"
  sed -e "s/hello/app-$i/g" "$root/examples/hello/.takos/app.yml" > "$d/app.yml"
done
one="$work/corpus/app1/.takos/app.yml"
"$work/takos-apply" lint "$one" >/dev/null

echo "== one file (hyperfine -N, 10 warmups, 100 runs)"
hyperfine -N --warmup 10 --runs 100 --export-json "$work/one.json" \
  "$work/noop" "$work/takos-apply lint $one"

echo "== $n files in one call (5 runs)"
hyperfine -N --warmup 1 --runs 5 --export-json "$work/bulk.json" \
  "$work/takos-apply lint $work/corpus"

echo "== $n files with findings, text output (5 runs)"
hyperfine -N --warmup 1 --runs 5 --export-json "$work/warn.json" \
  "$work/takos-apply lint $work/warn"

echo "== peak RSS"
/usr/bin/time -f "%M" -o "$work/rss" "$work/takos-apply" lint "$work/corpus" >/dev/null
/usr/bin/time -f "%M" -o "$work/rss-warn" "$work/takos-apply" lint "$work/warn" >/dev/null

python3 - "$work/one.json" "$work/bulk.json" "$n" "$(cat "$work/rss")" "$work/warn.json" "$(cat "$work/rss-warn")" <<'PY'
import json, sys
one = json.load(open(sys.argv[1]))["results"]
bulk = json.load(open(sys.argv[2]))["results"][0]
n, rss = int(sys.argv[3]), int(sys.argv[4])
warn, rss_warn = json.load(open(sys.argv[5]))["results"][0], int(sys.argv[6])
noop, lint1 = one[0], one[1]
print()
print("| measurement | value | target |")
print("|---|---|---|")
print(f"| empty Go binary (baseline) | {noop['mean']*1e3:.2f} ms ± {noop['stddev']*1e3:.2f} | — |")
print(f"| lint one file, wall | {lint1['mean']*1e3:.2f} ms ± {lint1['stddev']*1e3:.2f} (median {lint1['median']*1e3:.2f}) | ≤ 12 ms |")
print(f"| lint {n} files, wall | {bulk['mean']*1e3:.0f} ms ± {bulk['stddev']*1e3:.0f} | — |")
print(f"| lint {n} files, throughput | {n/bulk['mean']:,.0f} files/s | ≥ 8,000 files/s |")
print(f"| lint {n} files, peak RSS | {rss/1024:.1f} MiB | ≤ 25 MiB |")
print(f"| lint {n} files with a finding each (text, snippets) | {warn['mean']*1e3:.0f} ms, {n/warn['mean']:,.0f} files/s, {rss_warn/1024:.1f} MiB | — |")
PY
