#!/usr/bin/env bash
# Times takos-apply lint on hostile manifests, in every output format: files
# of up to 1 MiB (the default --max-file-size) built so that one step does as
# much work per byte as it can — a million-byte line with a finding every
# eight bytes, 100,000 list items that each break a rule, a directive
# comment on every line, thousands of unknown keys (internal/hostiletest).
# Every step is linear, so each run should take well under 0.3 s on a
# 2-core machine, and the report is bounded (report.MaxPerRule findings of
# a rule per file are listed, the rest counted).
#
# Prints a Markdown table: best wall time of HOSTILE_RUNS runs (default 3),
# the CPU time and peak RSS of that run (with GNU time), the output size
# and the exit code.
#   HOSTILE_BIN=path        time this binary instead of building one
#   HOSTILE_FORMATS="text"  only these formats
#   HOSTILE_MAX_SECONDS=3   fail when a best wall time is over this
#   HOSTILE_MAX_OUTPUT=N    fail when an output is over N bytes
#   HOSTILE_KILL_AFTER=120  seconds after which a run is killed (a failure)
# .ci/run sets the limits generously (a loaded CI machine), so it fails on
# the quadratic behaviour of issue 21 (minutes, tens of megabytes), not on
# noise.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
runs="${HOSTILE_RUNS:-3}"
formats="${HOSTILE_FORMATS:-text json github sarif}"
max_s="${HOSTILE_MAX_SECONDS:-}"
max_out="${HOSTILE_MAX_OUTPUT:-}"
kill_after="${HOSTILE_KILL_AFTER:-120}"
for v in runs kill_after; do
  case "${!v}" in '' | *[!0-9]*) echo "bench-hostile: $v must be digits, got ${!v}" >&2; exit 2 ;; esac
done

bin="${HOSTILE_BIN:-}"
if [ -z "$bin" ]; then
  "$root/scripts/build.sh" "$work/takos-apply" bench >/dev/null
  bin="$work/takos-apply"
fi
mkdir "$work/in"
(cd "$root" && TAKOS_HOSTILE_DIR="$work/in" go test -count=1 -run '^TestManifests$' ./internal/hostiletest >/dev/null)

gnutime=""
if /usr/bin/time -f %e true 2>/dev/null; then
  gnutime=/usr/bin/time
fi

echo "| manifest | format | wall s (best of $runs) | user+sys s | peak RSS MiB | output bytes | exit |"
echo "|---|---|---|---|---|---|---|"
failed=0
for f in "$work"/in/*.yml; do
  name="$(basename "$f")"
  for fmt in $formats; do
    best="" cpu="" rss="" code=0
    for _ in $(seq 1 "$runs"); do
      code=0
      if [ -n "$gnutime" ]; then
        "$gnutime" -o "$work/time" -f "%e %U %S %M" timeout -k 5 "$kill_after" "$bin" lint --format "$fmt" "$f" >"$work/out" 2>"$work/err" || code=$?
        read -r wall user sys kib < <(grep -E '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$' "$work/time" | tail -1)
      else
        TIMEFORMAT=%R
        { time timeout -k 5 "$kill_after" "$bin" lint --format "$fmt" "$f" >"$work/out" 2>"$work/err" || code=$?; } 2>"$work/time"
        wall="$(tail -1 "$work/time")" user="" sys="" kib=""
      fi
      if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
        best="$wall"
        cpu="$([ -n "$user" ] && awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.2f", u + s }' || echo n/a)"
        rss="$([ -n "$kib" ] && awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }' || echo n/a)"
      fi
    done
    size="$(wc -c <"$work/out" | tr -d ' ')"
    echo "| $name | $fmt | $best | $cpu | $rss | $size | $code |"
    if [ "$code" = 124 ] || [ "$code" = 137 ]; then
      echo "bench-hostile: $name --format $fmt was killed after ${kill_after}s" >&2
      failed=1
    elif [ "$code" -gt 1 ]; then
      echo "bench-hostile: $name --format $fmt exited $code:" >&2
      head -5 "$work/err" >&2
      failed=1
    fi
    if [ -n "$max_s" ] && awk -v a="$best" -v m="$max_s" 'BEGIN { exit !(a > m) }'; then
      echo "bench-hostile: $name --format $fmt took ${best}s, over HOSTILE_MAX_SECONDS=$max_s" >&2
      failed=1
    fi
    if [ -n "$max_out" ] && [ "$size" -gt "$max_out" ]; then
      echo "bench-hostile: $name --format $fmt wrote $size bytes, over HOSTILE_MAX_OUTPUT=$max_out" >&2
      failed=1
    fi
  done
done
exit "$failed"
