#!/usr/bin/env bash
# Step 2 of the composite action: run takos-apply with the inputs. Inputs
# arrive only as environment variables (INPUT_*), never spliced into shell
# code, so a manifest path or URL cannot inject commands.
set -euo pipefail
cmd="${INPUT_COMMAND:-apply}"
case "$cmd" in
  apply|plan|lint) ;;
  *) echo "::error title=takos-apply::input command must be apply, plan or lint, got '$cmd'" >&2; exit 2 ;;
esac
args=("$cmd")
[ -n "${INPUT_FORMAT:-}" ] && args+=(--format "$INPUT_FORMAT")
if [ "$cmd" = apply ]; then
  [ "${INPUT_ROTATE_SECRET:-false}" = true ] && args+=(--rotate-secret)
  [ "${INPUT_EXPORT_ENV:-false}" = true ] && args+=(--export-env)
fi
args+=(-- "${INPUT_MANIFEST:-.takos/app.yml}")

# The binary reads these; empty values fall back to its own defaults.
export TAKOS_ENV="${INPUT_ENVIRONMENT:-production}"
export TAKOS_AUTH="${INPUT_AUTH:-auto}"
[ -n "${INPUT_CONTROL_PLANE_URL:-}" ] && export TAKOS_API_URL="$INPUT_CONTROL_PLANE_URL"
[ -n "${INPUT_AUDIENCE:-}" ] && export TAKOS_AUDIENCE="$INPUT_AUDIENCE"
[ -n "${INPUT_TOKEN_URL:-}" ] && export TAKOS_TOKEN_URL="$INPUT_TOKEN_URL"
[ -n "${INPUT_TOKEN:-}" ] && export TAKOS_TOKEN="$INPUT_TOKEN"
[ -n "${INPUT_CLIENT_ID:-}" ] && export TAKOS_OAUTH_CLIENT_ID="$INPUT_CLIENT_ID"
exec takos-apply "${args[@]}"
