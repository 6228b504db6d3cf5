#!/usr/bin/env bash
# Builds the release binary. The Dockerfile, the GitHub Action and CI all
# call this script, so the shipped binary is built with exactly these flags.
#   scripts/build.sh OUTPUT [VERSION]
set -euo pipefail
out="${1:?usage: scripts/build.sh OUTPUT [VERSION]}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version="${2:-$(cat "$root/VERSION")}"
cd "$root"
CGO_ENABLED=0 go build -trimpath \
  -ldflags="-s -w -X github.com/takos-dev/takos-apply/pkg/cli.version=${version}" \
  -o "$out" ./cmd/takos-apply
