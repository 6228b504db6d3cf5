package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
)

// TestHelp: every command's help is on stdout with exit 0 and says what
// the command does, what PATH is, the environment and the exit codes; the
// defaults shown are the effective ones.
func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want []string
	}{
		{args: []string{"lint", "-h"}, want: []string{"Usage: takos-apply lint [flags] [PATH...]", "Validate and lint",
			`"-" for standard input`, "-stdin-filename", "TAKOS_ENV", "NO_COLOR", "Exit codes:", "2  usage error",
			`output format: text|json|github|sarif (default "text")`}},
		{args: []string{"lint", "--help"}, env: map[string]string{"GITHUB_ACTIONS": "true"},
			want: []string{`output format: text|json|github|sarif (default "github")`}},
		{args: []string{"lint", "-h"}, env: map[string]string{"TAKOS_ENV": "development"},
			want: []string{`(env TAKOS_ENV) (default "development")`}},
		{args: []string{"help", "lint"}, want: []string{"Usage: takos-apply lint [flags] [PATH...]"}},
		{args: []string{"plan", "-h"}, want: []string{"Usage: takos-apply plan [flags] [PATH]", "Only GET requests",
			"PATH is the manifest file", "TAKOS_TOKEN", "TAKOS_API_URL", "-detailed-exitcode",
			"With --detailed-exitcode (plan only)", "2  changes pending"}},
		{args: []string{"apply", "--help"}, want: []string{"Usage: takos-apply apply [flags] [PATH]", "PATH is the manifest file",
			"TAKOS_TOKEN", "GITHUB_OUTPUT", "-env-file", "3  I/O, auth"}},
		{args: []string{"auth", "--help"}, want: []string{"Usage: takos-apply auth debug [flags]", "whether the control plane accepts",
			"-control-plane", "TAKOS_TOKEN", "Exit codes:"}},
		{args: []string{"auth", "debug", "-h"}, want: []string{"Usage: takos-apply auth debug [flags]", "-control-plane", "TAKOS_AUTH"}},
		{args: []string{"schema", "-h"}, want: []string{"Usage: takos-apply schema", "JSON Schema"}},
		{args: []string{"help"}, want: []string{"takos-apply lint [flags] [PATH...]", "takos-apply help COMMAND", "130 or 143 interrupted"}},
		// Every command and subcommand: description, environment, exit
		// codes, on stdout with exit 0; one flag style (--flag).
		{args: []string{"broker", "-h"}, want: []string{"Usage: takos-apply broker [flags]", "takos-apply broker check --policy FILE",
			"Subcommands:", "TAKOS_BROKER_TOKEN     required", "Environment:", "Exit codes:", "graceful shutdown", "--policy string"}},
		{args: []string{"broker", "check", "--help"}, want: []string{"Usage: takos-apply broker check --policy FILE (--claims CLAIMS.json | --token TOKEN.jwt)",
			"say which rule matches", "TAKOS_BROKER_POLICY", "Exit codes:", "1  no rule matches", "--claims string", "--token string"}},
		{args: []string{"broker", "test", "-h"}, want: []string{"Usage: takos-apply broker test --policy FILE [--format F] CASES.yml",
			"pull\nrequests to the policy", "Exit codes:", "1  a case is decided otherwise", "--format string"}},
		{args: []string{"dev", "-h"}, want: []string{"Usage: takos-apply dev [flags] [PATH] [-- COMMAND ARGS...]", "--addr string",
			"TAKOS_ENV", "Exit codes:"}},
		{args: []string{"broker", "schema", "-h"}, want: []string{"Usage: takos-apply broker schema", "JSON Schema of the broker's trust policy", "Exit codes:"}},
		{args: []string{"help", "broker", "check"}, want: []string{"Usage: takos-apply broker check"}},
		{args: []string{"version", "-h"}, want: []string{"Usage: takos-apply version", "-v", "Exit codes:"}},
		{args: []string{"help", "auth"}, want: []string{"Usage: takos-apply auth debug [flags]"}},
		// plan and apply take text or json: GITHUB_ACTIONS does not make
		// github their default, and their help does not say it does.
		{args: []string{"plan", "-h"}, env: map[string]string{"GITHUB_ACTIONS": "true"},
			want: []string{`output format: text|json (default "text")`, "findings as annotations"}},
	}
	for _, tc := range tests {
		code, out, errOut := run(t, tc.env, tc.args...)
		if code != 0 || errOut != "" {
			t.Errorf("%q: exit %d, stderr %q; want 0 and nothing on stderr", tc.args, code, errOut)
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%q: help lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
	if _, out, _ := run(t, map[string]string{"GITHUB_ACTIONS": "true"}, "lint", "-h"); strings.Contains(out, `sarif (default "text")`) {
		t.Error(`lint -h in Actions shows the default "text", not the effective "github"`)
	}
	for _, args := range [][]string{{"plan", "-h"}, {"apply", "-h"}} {
		if _, out, _ := run(t, nil, args...); strings.Contains(out, "makes github the default") {
			t.Errorf("%q says GITHUB_ACTIONS makes github the default format, which %s rejects", args, args[0])
		}
	}
	// Only apply creates clients: the others' --timeout promises nothing
	// about settling one.
	for _, args := range [][]string{{"plan", "-h"}, {"auth", "debug", "-h"}} {
		if _, out, _ := run(t, nil, args...); strings.Contains(out, "a client already created") {
			t.Errorf("%q: --timeout speaks of a created client, which %s never creates", args, args[0])
		}
	}
	if _, out, _ := run(t, nil, "apply", "-h"); !strings.Contains(out, "a client already created is still settled") {
		t.Error("apply -h: --timeout does not say that a created client still settles")
	}
	// Every variable a flag reads ("(env X)") is listed under Environment,
	// which is where a user looks for what the environment changes.
	envRef := regexp.MustCompile(`\(env ([A-Z_]+)[);,]`)
	for _, c := range commands {
		if c.setup == nil {
			continue
		}
		_, out, _ := run(t, nil, append(strings.Fields(c.name), "-h")...)
		_, envSection, _ := strings.Cut(out, "\nEnvironment:\n")
		envSection, _, _ = strings.Cut(envSection, "\n\n")
		for _, m := range envRef.FindAllStringSubmatch(out, -1) {
			if !regexp.MustCompile(`(?m)^  (.*, )?` + m[1] + `\b`).MatchString(envSection) {
				t.Errorf("%s -h: a flag reads %s, which its Environment section does not list:\n%s", c.name, m[1], envSection)
			}
		}
	}
	// One flag style: no help line lists a flag as -name.
	for _, c := range commands {
		if c.setup == nil {
			continue
		}
		_, out, _ := run(t, nil, append(strings.Fields(c.name), "-h")...)
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "  -") && !strings.HasPrefix(line, "  --") {
				t.Errorf("%s -h lists a flag in the single-dash style: %q", c.name, line)
			}
		}
	}
}

// TestDidYouMean: a mistyped command, subcommand, flag or --format value
// is a usage error that names the nearest valid one.
func TestDidYouMean(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lnit"}, `unknown command "lnit"; did you mean "lint"?`},
		{[]string{"help", "plna"}, `unknown command "plna"; did you mean "plan"?`},
		{[]string{"auth", "debgu"}, `unknown subcommand "debgu"; did you mean "debug"?`},
		{[]string{"lint", "--formt", "json"}, "unknown flag --formt; did you mean --format?"},
		{[]string{"lint", "--format", "jsno"}, `unknown --format "jsno"; did you mean "json"?`},
		{[]string{"plan", "--format", "jsn"}, `unknown --format "jsn"; did you mean "json"?`},
		{[]string{"plan", "--format", "github"}, "in GitHub Actions the findings are annotations whatever the format"},
		{[]string{"lint", "--color", "alway"}, `unknown --color "alway"; did you mean "always"?`},
	} {
		code, out, errOut := run(t, nil, tc.args...)
		if code != 2 || out != "" || !strings.Contains(errOut, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2 and %q", tc.args, code, out, errOut, tc.want)
		}
	}
}

// TestVersionFlags: -v and --version print what the version command does.
func TestVersionFlags(t *testing.T) {
	_, want, _ := run(t, nil, "version")
	for _, flag := range []string{"-v", "--version", "-version"} {
		code, out, errOut := run(t, nil, flag)
		if code != 0 || out != want || errOut != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want 0 and %q", flag, code, out, errOut, want)
		}
	}
}

// TestUsageErrorsOnStderr: a usage error says what is wrong on stderr,
// points at -h and prints nothing on stdout.
func TestUsageErrorsOnStderr(t *testing.T) {
	for _, args := range [][]string{{"lint", "--bogus"}, {"plan", "--format"}, {"auth"}, {"auth", "debug", "--nope"}, {}} {
		code, out, errOut := run(t, nil, args...)
		if code != 2 || out != "" || errOut == "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, nothing on stdout, the error on stderr", args, code, out, errOut)
		}
	}
	_, _, errOut := run(t, nil, "lint", "--bogus")
	if !strings.Contains(errOut, "unknown flag --bogus") || !strings.Contains(errOut, "Run 'takos-apply lint -h' for help.") ||
		strings.Count(errOut, "-bogus") != 1 {
		t.Errorf("lint --bogus: stderr %q; want the error once and the pointer to -h", errOut)
	}
}

// TestEnvNote: an environment name takos-apply does not know is production,
// and it says so once.
func TestEnvNote(t *testing.T) {
	const note = `treating staging as production`
	dir := t.TempDir()
	f := filepath.Join(dir, "app.yml")
	if err := os.WriteFile(f, []byte(faultManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, errOut := run(t, nil, "lint", "--env", "staging", f)
	if strings.Count(errOut, note) != 1 {
		t.Errorf("lint --env staging: stderr %q; want %q once", errOut, note)
	}
	_, _, errOut = run(t, map[string]string{"TAKOS_ENV": "staging"}, "lint", f)
	if strings.Count(errOut, note) != 1 {
		t.Errorf("TAKOS_ENV=staging lint: stderr %q; want %q once", errOut, note)
	}
	for _, env := range []string{"production", "prod", "development", "dev", "test", " Local "} {
		if _, _, errOut := run(t, nil, "lint", "--env", env, f); strings.Contains(errOut, "treating") {
			t.Errorf("lint --env %q: stderr %q; want no note", env, errOut)
		}
	}
	cp := devservertest.New(t)
	env := map[string]string{"TAKOS_API_URL": cp.URL, "TAKOS_TOKEN": cp.Token}
	if _, _, errOut := run(t, env, "plan", "--env", "staging", f); strings.Count(errOut, "treating staging as production") != 1 {
		t.Errorf("plan --env staging: stderr %q; want the note once", errOut)
	}
}

// TestPlanJSONFindings: plan --format json on a manifest with errors
// prints the findings as one JSON document on stdout, sends nothing.
func TestPlanJSONFindings(t *testing.T) {
	cp := devservertest.New(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "app.yml")
	if err := os.WriteFile(f, []byte(strings.Replace(faultManifest, "version: 1.0.0", "version: 1.0", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, actions := range []string{"", "true"} {
		env := map[string]string{"TAKOS_API_URL": cp.URL, "TAKOS_TOKEN": cp.Token, "GITHUB_ACTIONS": actions}
		code, out, errOut := run(t, env, "plan", "--format", "json", f)
		var doc struct {
			Files []struct {
				Path        string
				Diagnostics []struct{ Rule, Severity string }
			}
			Summary struct{ Errors int }
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("GITHUB_ACTIONS=%q: stdout is not one JSON document: %v\n%s", actions, err, out)
		}
		if code != 1 || doc.Summary.Errors != 1 || len(doc.Files) != 1 || doc.Files[0].Diagnostics[0].Rule != "schema-type" {
			t.Errorf("GITHUB_ACTIONS=%q: exit %d, %+v; want 1 and the schema-type error", actions, code, doc)
		}
		if actions == "true" && !strings.Contains(errOut, "::error file=") {
			t.Errorf("in Actions the annotations should still be printed (on stderr): %q", errOut)
		}
	}
	if n := len(cp.Requests()); n != 0 {
		t.Errorf("%d requests reached the control plane; want none for a manifest with errors", n)
	}
}

// TestDetailedExitcode: plan --detailed-exitcode is 2 while apply has
// something to do and 0 once it is done.
func TestDetailedExitcode(t *testing.T) {
	cp := devservertest.New(t)
	dir := t.TempDir()
	f := filepath.Join(dir, "app.yml")
	if err := os.WriteFile(f, []byte(faultManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TAKOS_API_URL": cp.URL, "TAKOS_TOKEN": cp.Token}
	if code, out, errOut := run(t, env, "plan", f, "--detailed-exitcode"); code != 2 || !strings.Contains(out, "Plan: create") {
		t.Fatalf("plan --detailed-exitcode before apply = %d\n%s%s; want 2 and the create plan", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "plan", f); code != 0 {
		t.Fatalf("plan without the flag = %d\n%s%s; want 0", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "apply", "--env-file", filepath.Join(dir, ".env"), f); code != 0 {
		t.Fatalf("apply = %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "plan", "--detailed-exitcode", f); code != 0 || !strings.Contains(out, "is unchanged") {
		t.Errorf("plan --detailed-exitcode after apply = %d\n%s%s; want 0, unchanged", code, out, errOut)
	}
	if code, out, errOut := run(t, env, "plan", "--detailed-exitcode", "--rotate-secret", f); code != 2 {
		t.Errorf("plan --detailed-exitcode --rotate-secret = %d\n%s%s; want 2", code, out, errOut)
	}
}
