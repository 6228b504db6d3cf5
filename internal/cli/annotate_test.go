package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFailuresAreAnnotationsInActions: every failure a command prints —
// usage errors, a broken settings file, a run that fails — is an error
// annotation in GitHub Actions (the run's summary shows it), titled with
// the command, and a "takos-apply CMD: " line elsewhere.
func TestFailuresAreAnnotationsInActions(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, ".takos-apply.yml"), []byte("disable: [no-such-rule\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		env   map[string]string
		code  int
		title string // the command in the title, after "takos-apply"
		msg   string
	}{
		{"unknown command", []string{"lnit"}, nil, ExitUsage, "", `unknown command "lnit"`},
		{"unknown help topic", []string{"help", "lnit"}, nil, ExitUsage, " help", `unknown command "lnit"`},
		{"unknown flag", []string{"lint", "--no-such-flag"}, nil, ExitUsage, " lint", "--no-such-flag"},
		{"unknown format", []string{"lint", "--format", "xml", dir}, nil, ExitUsage, " lint", `unknown --format "xml"`},
		{"unknown subcommand", []string{"broker", "nope"}, nil, ExitUsage, " broker", `unknown subcommand "nope"`},
		{"stdin for plan", []string{"plan", "-"}, nil, ExitUsage, " plan", "standard input (-) is read by lint only"},
		{"unknown auth", []string{"plan", "--auth", "magic", filepath.Join(dir, "app.yml")}, nil, ExitUsage, " plan", `unknown --auth (or TAKOS_AUTH) "magic"`},
		{"no control plane", []string{"auth", "debug"}, nil, ExitUsage, " auth debug", "control plane"},
		{"settings file", []string{"lint", "--config", filepath.Join(bad, ".takos-apply.yml"), bad}, nil, ExitUsage, " lint", "lint settings file"},
		{"missing manifest", []string{"lint", filepath.Join(dir, "none.yml")}, nil, ExitFailure, " lint", "none.yml"},
		{"dev not loopback", []string{"dev", "--addr", "0.0.0.0:0"}, nil, ExitUsage, " dev", "is not a loopback address"},
		{"stdin for dev", []string{"dev", "-"}, nil, ExitUsage, " dev", "standard input (-) is read by lint only"},
		{"rules format", []string{"rules", "--format", "xml"}, nil, ExitUsage, " rules", `unknown --format "xml"`},
		{"explain no rule", []string{"explain"}, nil, ExitUsage, " explain", "name a rule"},
		{"explain unknown rule", []string{"explain", "redirect-uri-loopbak"}, nil, ExitUsage, " explain", `unknown rule "redirect-uri-loopbak"; did you mean`},
		{"dev manifest unreadable", []string{"dev", filepath.Join(bad, ".takos-apply.yml", "app.yml")}, nil, ExitFailure, " dev", "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, actions := range []bool{false, true} {
				env := map[string]string{"HOME": dir}
				for k, v := range tc.env {
					env[k] = v
				}
				if actions {
					env["GITHUB_ACTIONS"] = "true"
				}
				code, _, stderr := run(t, env, tc.args...)
				if code != tc.code {
					t.Errorf("actions=%v: exit %d, want %d\n%s", actions, code, tc.code, stderr)
				}
				head := "takos-apply" + tc.title + ": "
				if actions {
					head = "::error title=takos-apply" + tc.title + "::"
				}
				found := false
				for _, line := range strings.Split(stderr, "\n") {
					if strings.HasPrefix(line, head) && strings.Contains(line, tc.msg) {
						found = true
					}
					if actions && strings.HasPrefix(line, "takos-apply"+tc.title+": ") {
						t.Errorf("actions: a plain failure line %q", line)
					}
				}
				if !found {
					t.Errorf("actions=%v: no line %q…%q in\n%s", actions, head, tc.msg, stderr)
				}
			}
		})
	}
}

// TestSettingsFileFindingsInActions: an error in the settings file is an
// annotation on its line in GitHub Actions, file:line:col elsewhere.
func TestSettingsFileFindingsInActions(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, ".takos-apply.yml")
	if err := os.WriteFile(cfg, []byte("strict: true\nstrcit: yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for actions, want := range map[bool]string{
		false: cfg + `:2:1: error: unknown setting "strcit"`,
		true:  "::error file=" + cfg + ",line=2,col=1,title=takos-apply settings::unknown setting \"strcit\"",
	} {
		env := map[string]string{"HOME": dir}
		if actions {
			env["GITHUB_ACTIONS"] = "true"
		}
		code, _, stderr := run(t, env, "lint", "--config", cfg, dir)
		if code != ExitUsage || !strings.Contains(stderr, want) {
			t.Errorf("actions=%v: exit %d, want %d and a line %q in\n%s", actions, code, ExitUsage, want, stderr)
		}
	}
}
