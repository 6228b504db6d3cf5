#!/usr/bin/env bash
# Builds the takos-apply binary. The Dockerfile, the GitHub Action's source
# fallback, scripts/release.sh and CI all call this script, so every binary
# is built with exactly these flags.
#   scripts/build.sh OUTPUT [VERSION]
# GOOS/GOARCH in the environment cross-compile. TAKOS_APPLY_INSTALLER says
# how the binary is shipped (release, source, action-source, docker; shown
# by `takos-apply version`), TAKOS_APPLY_COMMIT the source commit where
# there is no git checkout (the Docker build context has no .git).
#
# Reproducible: the same source, VERSION and Go toolchain give the same
# bytes on any machine and in any directory. Static (CGO_ENABLED=0),
# -trimpath drops local paths, -buildvcs=false and -buildid= drop what
# differs between checkouts, and the commit stamped is the last commit that
# changed anything outside dist/: the release commits its pinned checksums
# under dist/ after building, and a rebuild at the tag must give the bytes
# those checksums name.
set -euo pipefail
out="${1:?usage: scripts/build.sh OUTPUT [VERSION]}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${2:-$(cat "$root/VERSION")}"
installer="${TAKOS_APPLY_INSTALLER:-source}"
commit="${TAKOS_APPLY_COMMIT:-}"
cd "$root"
if [ -z "$commit" ] && git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  commit="$(git log -1 --format=%H -- . ':(exclude)dist' 2>/dev/null || true)"
  if [ -n "$commit" ] && [ -n "$(git status --porcelain --untracked-files=no -- . ':(exclude)dist' 2>/dev/null)" ]; then
    commit="$commit-dirty"
  fi
fi
for v in "$version" "$installer" "$commit"; do
  case "$v" in *[!A-Za-z0-9._+-]*) echo "scripts/build.sh: refusing to stamp '$v' (only A-Z a-z 0-9 . _ + -)" >&2; exit 2 ;; esac
done
pkg=github.com/takos-dev/takos-apply/internal/cli
# Unset micro-architecture levels default to the baseline (GOAMD64=v1,
# GOARM64=v8.0), so a builder's environment cannot change the bytes.
CGO_ENABLED=0 GOAMD64="${GOAMD64:-v1}" GOARM64="${GOARM64:-v8.0}" GOFLAGS="${GOFLAGS:-} -buildvcs=false" \
  go build -trimpath \
  -ldflags="-s -w -buildid= -X $pkg.version=$version -X $pkg.commit=$commit -X $pkg.installer=$installer" \
  -o "$out" ./cmd/takos-apply
