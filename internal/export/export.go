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
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// KV is one name/value pair for a sink.
type KV struct {
	Name  string
	Value string
}

// Environment variable names and file-command variables the runner provides.
const (
	envGitHubOutput      = "GITHUB_OUTPUT"
	envGitHubEnv         = "GITHUB_ENV"
	envGitHubStepSummary = "GITHUB_STEP_SUMMARY"

	// oauthClientIDEnv and oauthClientSecretEnv are the only names takos-apply
	// exports to GITHUB_ENV and dotenv files.
	oauthClientIDEnv     = "OAUTH_CLIENT_ID"
	oauthClientSecretEnv = "OAUTH_CLIENT_SECRET"
)

// isAllowedEnvName reports whether name may be exported to GITHUB_ENV or a
// dotenv file: exactly oauthClientIDEnv or oauthClientSecretEnv
// (case-sensitive). The list is fixed in code because GITHUB_ENV names are a
// code-execution surface (BASH_ENV, LD_PRELOAD, NODE_OPTIONS ... affect every
// later step), so names must never come from a manifest or a server.
func isAllowedEnvName(name string) bool {
	switch name {
	case oauthClientIDEnv, oauthClientSecretEnv:
		return true
	}
	return false
}

// missingEnvError reports that a runner variable naming a file-command file
// (GITHUB_OUTPUT, GITHUB_ENV, GITHUB_STEP_SUMMARY) is unset or empty.
type missingEnvError struct {
	Name string
}

func (e *missingEnvError) Error() string {
	return fmt.Sprintf("environment variable %s is not set (not running in a GitHub Actions step?)", e.Name)
}

// outputNameRE is the name grammar for file-command records. Hyphens are
// allowed because step outputs are hyphenated (client-id); env names are
// further restricted by the allowlist.
var outputNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// shellNameRE is the POSIX shell variable grammar, used for dotenv keys: the
// file is meant to be sourced by sh, which has no "-" in names.
var shellNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Sentinels wrapped (with the sink and the name, never the value) in the
// errors of setOutputs, setEnv and writeDotenv. They are unexported because
// no caller outside the package branches on them; the tests use them to tell
// the failures apart.
var (
	errInvalidName       = errors.New("invalid name")
	errNameNotAllowed    = errors.New("not in the environment variable allowlist")
	errDuplicateName     = errors.New("given more than once")
	errInvalidValue      = errors.New("invalid value")
	errContainsDelimiter = errors.New("contains the record delimiter")
)

// kvRules is what one sink accepts. The rules common to every sink live in
// validateKVs; the fields are the differences, kept explicit.
type kvRules struct {
	// label names the sink and the kind of name in errors:
	// "GITHUB_OUTPUT name", "dotenv key".
	label string
	// name is the name grammar: outputNameRE for file-command records
	// (allows '-'), shellNameRE for dotenv keys (shell names).
	name *regexp.Regexp
	// allowed, when not nil, further restricts names: isAllowedEnvName for
	// every sink that sets environment variables.
	allowed func(string) bool
	// singleLine also refuses LF and NUL in values: a dotenv value is one
	// line of a text file, while a file-command heredoc record carries LF.
	singleLine bool
}

// validateKVs checks every pair against r before the caller writes
// anything, so a batch is all or nothing. Every sink refuses a name outside
// its grammar or allowlist, a name given twice, and a value that is not
// valid UTF-8 (the runner and dotenv readers decode UTF-8, so it would not
// round-trip) or contains CR (a Windows runner reads CRLF as a line end and
// drops the CR; dotenv readers end the line there). Errors wrap
// errInvalidName, errNameNotAllowed, errDuplicateName or errInvalidValue and
// name the pair, never its value, which may be a secret.
func validateKVs(kv []KV, r kvRules) error {
	seen := make(map[string]bool, len(kv))
	for _, p := range kv {
		if !r.name.MatchString(p.Name) {
			// The name failed the grammar, so it may hold anything: quote it
			// visibly and capped.
			return fmt.Errorf("%s %s: %w (must match %s)", r.label, safetext.Quote(p.Name, 64), errInvalidName, r.name)
		}
		if r.allowed != nil && !r.allowed(p.Name) {
			return fmt.Errorf("%s %q: %w", r.label, p.Name, errNameNotAllowed)
		}
		if seen[p.Name] {
			return fmt.Errorf("%s %q: %w", r.label, p.Name, errDuplicateName)
		}
		seen[p.Name] = true
		if err := checkValue(p.Value, r.singleLine); err != nil {
			return fmt.Errorf("%s %q: %w", r.label, p.Name, err)
		}
	}
	return nil
}

// checkValue applies validateKVs' value rules; see there.
func checkValue(v string, singleLine bool) error {
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: not valid UTF-8", errInvalidValue)
	}
	if strings.ContainsRune(v, '\r') {
		return fmt.Errorf("%w: contains a carriage return", errInvalidValue)
	}
	if singleLine {
		if strings.ContainsRune(v, '\n') {
			return fmt.Errorf("%w: contains a line feed; the value must be one line", errInvalidValue)
		}
		if strings.ContainsRune(v, 0) {
			return fmt.Errorf("%w: contains NUL", errInvalidValue)
		}
	}
	return nil
}
