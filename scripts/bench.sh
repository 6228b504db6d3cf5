#!/usr/bin/env bash
# Times the built takos-apply binary on the two lint workloads the project
# holds itself to, against a baseline Go binary that does nothing:
#   - one app.yml (the pre-commit / deploy-step case): target <= 12 ms wall;
#   - 2,000 generated manifests in one call: target >= 8,000 files/s and
#     peak RSS <= 25 MiB;
#   - scale: the same tree at 2,000 and 20,000 manifests, each with a
#     finding, in every output format: output is streamed, so peak RSS at
#     20,000 is within 10 % of 2,000 and time is linear within 10 %
#     (BENCH_SCALE="2000 20000" sets the sizes, the first one the base;
#     BENCH_SCALE_ONLY=1 runs only this part).
# Needs hyperfine and GNU time (Debian: apt-get install hyperfine time).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
n="${BENCH_FILES:-2000}"
read -r -a scale <<<"${BENCH_SCALE:-2000 20000}"

"$root/scripts/build.sh" "$work/takos-apply" bench
cat > "$work/noop.go" <<'GO'
package main

func main() {}
GO
(cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o noop noop.go)

if [ "${BENCH_SCALE_ONLY:-}" != 1 ]; then
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
fi

echo
echo "== scale: ${scale[*]} manifests with a finding each, per format"
# One process writes the trees: forking sed 20,000 times would take longer
# than linting them.
python3 - "$root/examples/hello/.takos/app.yml" "$work/scale" "${scale[@]}" <<'PY'
import os, sys
tpl = open(sys.argv[1]).read()
for n in map(int, sys.argv[3:]):
    for i in range(1, n + 1):
        d = os.path.join(sys.argv[2], str(n), "app%05d" % i, ".takos")
        os.makedirs(d)
        with open(os.path.join(d, "app.yml"), "w") as f:
            f.write(tpl.replace("hello", "app-%d" % i))
PY
: > "$work/scale.tsv"
# The fixed cost of a run (start, schema compile): one file, fastest of 20.
hyperfine -N --warmup 3 --runs 20 --export-json "$work/scale-one.json" \
  "$work/takos-apply lint $work/scale/${scale[0]}/app00001/.takos/app.yml" >/dev/null
for fmt in text json github sarif; do
  for s in "${scale[@]}"; do
    dir="$work/scale/$s"
    hyperfine -N --warmup 1 --runs 8 --export-json "$work/scale-$fmt-$s.json" \
      "$work/takos-apply lint --format $fmt $dir" >/dev/null
    # Peak RSS: the largest of three runs (the lint exits 0: warnings only).
    peak=0
    for _ in 1 2 3; do
      /usr/bin/time -f "%M" -o "$work/rss" "$work/takos-apply" lint --format "$fmt" "$dir" >/dev/null
      peak=$(( $(cat "$work/rss") > peak ? $(cat "$work/rss") : peak ))
    done
    printf '%s\t%s\t%s\t%s\n' "$fmt" "$s" "$peak" "$work/scale-$fmt-$s.json" >> "$work/scale.tsv"
  done
done
python3 - "$work/scale.tsv" "$work/scale-one.json" <<'PY'
import json, sys
fixed = min(json.load(open(sys.argv[2]))["results"][0]["times"])
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
by = {}
for fmt, n, rss, js in rows:
    r = json.load(open(js))["results"][0]
    by.setdefault(fmt, []).append((int(n), int(rss), min(r["times"]), r["user"] + r["system"]))
print()
# Linearity is judged on the fastest of the runs (on a shared machine other
# processes only ever add time, so the minimum is the least disturbed), less
# the fixed cost of a one-file run: time = fixed + n * per-file.
print(f"fixed cost (one file, fastest of 20): {fixed*1e3:.1f} ms")
print("| format | files | wall (fastest of 8) | CPU (user+sys, mean) | peak RSS | RSS vs base | time per file vs base |")
print("|---|---|---|---|---|---|---|")
ok = True
for fmt, runs in by.items():
    n0, rss0, w0, _ = runs[0]
    for n, rss, wall, cpu in runs:
        r_rss, r_cpu = rss / rss0 - 1, ((wall - fixed) / n) / ((w0 - fixed) / n0) - 1
        base = n == n0
        ok = ok and r_rss <= 0.10 and abs(r_cpu) <= 0.10
        print(f"| {fmt} | {n:,} | {wall*1e3:.0f} ms | {cpu*1e3:.0f} ms | {rss/1024:.1f} MiB | "
              f"{'base' if base else f'{r_rss:+.1%}'} | {'base' if base else f'{r_cpu:+.1%}'} |")
print()
print("scale goal (peak RSS within 10 %, time linear within 10 %):", "met" if ok else "NOT met")
PY
