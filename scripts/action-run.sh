#!/usr/bin/env bash
# Step 2 of the composite action: run takos-apply with the inputs. Inputs
# arrive only as environment variables (INPUT_*), never spliced into shell
# code, so a manifest path or URL cannot inject commands.
set -euo pipefail
# Workflow commands with escaped values (action-lib.sh): an input is text
# the workflow's author, or whoever feeds the workflow, wrote.
. "$(dirname "${BASH_SOURCE[0]}")/action-lib.sh"
cmd="${INPUT_COMMAND:-apply}"
case "$cmd" in
  apply|plan|lint) ;;
  # install: the install step put takos-apply on PATH; later steps run it
  # (broker test of a policy repository, which has no app manifest).
  install) exec takos-apply version ;;
  *) wf_error "input command must be apply, plan, lint or install, got '$cmd'"; exit 2 ;;
esac

# flag INPUT NAME: true or false for a boolean input. Accepts what YAML
# writers mean by a boolean (true/yes/on/1, false/no/off/0, any case), since
# `with:` hands every value over as a string; anything else is an error
# rather than a silent false.
flag() {
  case "$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')" in
    true|yes|y|on|1) echo true ;;
    false|no|n|off|0|'') echo false ;;
    *) wf_error "input $2 must be true or false, got '$1'"; return 2 ;;
  esac
}
rotate="$(flag "${INPUT_ROTATE_SECRET:-}" rotate-secret)" || exit 2
export_env="$(flag "${INPUT_EXPORT_ENV:-}" export-env)" || exit 2
create_new="$(flag "${INPUT_CREATE_NEW:-}" create-new)" || exit 2
strict="$(flag "${INPUT_STRICT:-}" strict)" || exit 2
# disable: rule IDs separated by commas, spaces or lines (a YAML block
# scalar); the binary checks each against its catalogue.
disable="$(printf '%s' "${INPUT_DISABLE:-}" | tr -s ' \t\r\n,' ',,,,,')"
disable="${disable#,}"
disable="${disable%,}"

args=("$cmd")
[ -n "${INPUT_FORMAT:-}" ] && args+=(--format "$INPUT_FORMAT")
[ "$strict" = true ] && args+=(--strict)
[ -n "$disable" ] && args+=(--disable "$disable")
if [ "$cmd" = apply ]; then
  [ "$rotate" = true ] && args+=(--rotate-secret)
  [ "$export_env" = true ] && args+=(--export-env)
fi
if [ "$cmd" != lint ] && [ "$create_new" = true ]; then
  args+=(--create-new)
fi
# No manifest: the binary's default, .takos/app.yml else .takos/app.yaml
# (the file Takos reads), rather than an explicit app.yml that fails for a
# repository with app.yaml.
[ -n "${INPUT_MANIFEST:-}" ] && args+=(-- "$INPUT_MANIFEST")

# The binary reads these. An input left empty keeps what the job's env:
# already says (TAKOS_ENV, TAKOS_AUTH, ...), and the binary's own defaults
# (production, auto) apply when neither is set.
[ -n "${INPUT_ENVIRONMENT:-}" ] && export TAKOS_ENV="$INPUT_ENVIRONMENT"
[ -n "${INPUT_AUTH:-}" ] && export TAKOS_AUTH="$INPUT_AUTH"
[ -n "${INPUT_CONTROL_PLANE_URL:-}" ] && export TAKOS_API_URL="$INPUT_CONTROL_PLANE_URL"
[ -n "${INPUT_AUDIENCE:-}" ] && export TAKOS_AUDIENCE="$INPUT_AUDIENCE"
[ -n "${INPUT_TOKEN_URL:-}" ] && export TAKOS_TOKEN_URL="$INPUT_TOKEN_URL"
[ -n "${INPUT_TOKEN:-}" ] && export TAKOS_TOKEN="$INPUT_TOKEN"
[ -n "${INPUT_CLIENT_ID:-}" ] && export TAKOS_OAUTH_CLIENT_ID="$INPUT_CLIENT_ID"
[ -n "${INPUT_SPACE:-}" ] && export TAKOS_WORKSPACE_ID="$INPUT_SPACE"
[ -n "${INPUT_ENV_PREFIX:-}" ] && export TAKOS_ENV_PREFIX="$INPUT_ENV_PREFIX"
[ -n "${INPUT_PROVIDER:-}" ] && export TAKOS_PROVIDER="$INPUT_PROVIDER"
[ -n "${INPUT_DEPLOY_ENV:-}" ] && export TAKOS_DEPLOY_ENV="$INPUT_DEPLOY_ENV"
exec takos-apply "${args[@]}"
