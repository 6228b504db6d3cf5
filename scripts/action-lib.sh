# Sourced by the composite action's bash steps (action-install.sh,
# action-run.sh); not run on its own. Portable to bash 3.2 (macOS runners).
#
# The runner executes any line of a step's output that starts with "::",
# and a legacy "##[" command anywhere in a line. Inputs, the environment and
# a server's error text are not ours, so every value these scripts print
# goes through the same escaping as takos-apply's Go code
# (internal/safetext.NewCommand and internal/report's annotation data): it
# can neither end the line it is on nor start a command of its own.

# wf_data VALUE prints VALUE as workflow-command data: % CR LF
# percent-encoded (the runner decodes them back), "##[" broken up as
# "##\[".
wf_data() {
  local s="$1" pct='%' cr=$'\r' lf=$'\n' legacy='##[' broken='##\['
  s="${s//"$pct"/%25}"
  s="${s//"$cr"/%0D}"
  s="${s//"$lf"/%0A}"
  s="${s//"$legacy"/"$broken"}"
  printf '%s' "$s"
}

# wf_prop VALUE prints VALUE as a workflow-command property value: as data,
# and ':' and ',' encoded too, so it cannot end the property list.
wf_prop() {
  local s colon=':' comma=','
  s="$(wf_data "$1")"
  s="${s//"$colon"/%3A}"
  s="${s//"$comma"/%2C}"
  printf '%s' "$s"
}

# wf_error MESSAGE… and wf_warning MESSAGE… write an annotation titled
# takos-apply on stderr.
wf_error() { printf '::error title=%s::%s\n' "$(wf_prop takos-apply)" "$(wf_data "$*")" >&2; }
wf_warning() { printf '::warning title=%s::%s\n' "$(wf_prop takos-apply)" "$(wf_data "$*")" >&2; }

# log MESSAGE… writes one plain log line on stdout: CR and LF in it are shown
# as \r and \n, "##[" as "##\[". Every caller starts its message with fixed
# text, so the line cannot start with "::".
log() {
  local s="$*" cr=$'\r' lf=$'\n' legacy='##[' broken='##\['
  s="${s//"$cr"/\\r}"
  s="${s//"$lf"/\\n}"
  s="${s//"$legacy"/"$broken"}"
  printf '%s\n' "$s"
}

# whole NAME DEFAULT MIN MAX prints the value of the environment variable
# NAME (DEFAULT when it is unset or empty) as a decimal number, or fails
# (status 2, with an annotation) unless it is at most 9 digits and between
# MIN and MAX. Nothing else may reach arithmetic: bash evaluates a
# variable's text as an expression inside $(( )), so a value such as
# a[$(touch pwned)] would run a command. 10# reads 010 as ten, not octal.
whole() {
  local name="$1" v="${!1:-}"
  [ -n "$v" ] || v="$2"
  case "$v" in
    '' | *[!0-9]*)
      wf_error "$name must be a whole number (digits only), got '$v'"
      return 2
      ;;
  esac
  if [ "${#v}" -gt 9 ] || [ $((10#$v)) -lt "$3" ] || [ $((10#$v)) -gt "$4" ]; then
    wf_error "$name must be between $3 and $4, got '$v'"
    return 2
  fi
  printf '%s' $((10#$v))
}
