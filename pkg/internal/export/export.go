// Package export delivers takos-apply's results to their sinks: GitHub Actions
// masks (::add-mask::), file commands (GITHUB_OUTPUT, GITHUB_ENV), the job
// summary (GITHUB_STEP_SUMMARY), a dotenv file for terminal use, and, when no
// sink exists, a one-time labelled print of a newly issued secret.
//
// Every writer here treats its input as attacker-influenced: values come from
// the control plane's responses. File commands use a fresh random delimiter per
// record and refuse values that contain it (the CVE-2022-35954 class that
// github.com/sethvargo/go-githubactions v1.4.0 still has), environment names
// come from a fixed allowlist, and untrusted text for logs goes through
// internal/safetext. Errors never contain values, only names, so a secret cannot leak
// through an error message.
package export

import (
	"fmt"
	"regexp"
	"slices"
)

// KV is one name/value pair for a sink.
type KV struct {
	Name  string
	Value string
}

// Environment variable names and file-command variables the runner provides.
const (
	EnvGitHubOutput      = "GITHUB_OUTPUT"
	EnvGitHubEnv         = "GITHUB_ENV"
	EnvGitHubStepSummary = "GITHUB_STEP_SUMMARY"

	// OAuthClientIDEnv and OAuthClientSecretEnv are the only names takos-apply
	// exports to GITHUB_ENV and dotenv files.
	OAuthClientIDEnv     = "OAUTH_CLIENT_ID"
	OAuthClientSecretEnv = "OAUTH_CLIENT_SECRET"
)

// EnvAllowlist returns the names SetEnv and WriteDotenv accept, in a fresh
// slice the caller may modify. The list is fixed because GITHUB_ENV names are
// a code-execution surface (BASH_ENV, LD_PRELOAD, NODE_OPTIONS ... affect every
// later step), so names must never come from a manifest or a server.
func EnvAllowlist() []string {
	return []string{OAuthClientIDEnv, OAuthClientSecretEnv}
}

// IsAllowedEnvName reports whether name is in EnvAllowlist (exact, case-sensitive).
func IsAllowedEnvName(name string) bool {
	return slices.Contains(EnvAllowlist(), name)
}

// MissingEnvError reports that a runner variable naming a file-command file
// (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STEP_SUMMARY) is unset or empty.
type MissingEnvError struct {
	Name string
}

func (e *MissingEnvError) Error() string {
	return fmt.Sprintf("environment variable %s is not set (not running in a GitHub Actions step?)", e.Name)
}

// outputNameRE is the name grammar for file-command records. Hyphens are
// allowed because step outputs are hyphenated (client-id); env names are
// further restricted by the allowlist.
var outputNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// shellNameRE is the POSIX shell variable grammar, used for dotenv keys.
var shellNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
