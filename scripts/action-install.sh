#!/usr/bin/env bash
# Step 1 of the composite action: find a takos-apply binary of this action's
# version, or build one from the action's own source with the runner's Go,
# and put it on PATH for this and later steps of the job.
set -euo pipefail
action_path="${GITHUB_ACTION_PATH:?GITHUB_ACTION_PATH is not set: run this as a GitHub Action}"
want="$(cat "$action_path/VERSION")"
exe=takos-apply
case "${RUNNER_OS:-}" in Windows) exe=takos-apply.exe ;; esac

has_version() { # $1: binary; true when it reports exactly our version
  [ -x "$1" ] && [ "$("$1" version 2>/dev/null)" = "takos-apply $want" ]
}

if command -v takos-apply >/dev/null 2>&1 && has_version "$(command -v takos-apply)"; then
  echo "using takos-apply $want from PATH: $(command -v takos-apply)"
  exit 0
fi

cache_root="${RUNNER_TOOL_CACHE:-${RUNNER_TEMP:-/tmp}}"
dir="$cache_root/takos-apply/$want/${RUNNER_ARCH:-$(uname -m)}"
if has_version "$dir/$exe"; then
  echo "using cached takos-apply $want: $dir/$exe"
else
  if ! command -v go >/dev/null 2>&1; then
    echo "::error title=takos-apply::no takos-apply $want on PATH and no Go toolchain to build it; add actions/setup-go (go-version-file: \${{ github.action_path }}/go.mod) before this step" >&2
    exit 1
  fi
  echo "building takos-apply $want from $action_path with $(go version)"
  mkdir -p "$dir"
  "$action_path/scripts/build.sh" "$dir/$exe" "$want"
fi
echo "$dir" >> "${GITHUB_PATH:?GITHUB_PATH is not set}"
