package export

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

const canarySecret = "cs_CANARY_5e1f"

type actionsEnv struct {
	vars                 map[string]string
	output, env, summary string
}

func newActionsEnv(t *testing.T) actionsEnv {
	t.Helper()
	dir := t.TempDir()
	a := actionsEnv{
		output:  filepath.Join(dir, "output"),
		env:     filepath.Join(dir, "env"),
		summary: filepath.Join(dir, "summary"),
	}
	for _, p := range []string{a.output, a.env, a.summary} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a.vars = map[string]string{envGitHubOutput: a.output, envGitHubEnv: a.env, envGitHubStepSummary: a.summary}
	return a
}

func (a actionsEnv) getenv(k string) string { return a.vars[k] }

func parsed(t *testing.T, p string) []KV {
	t.Helper()
	kv, err := parseFileCommands(readFile(t, p))
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// TestDeliverAndPublishActions runs the order the CLI uses: the secret (if
// one was issued) first, then the run's results once.
func TestDeliverAndPublishActions(t *testing.T) {
	tests := []struct {
		name      string
		secret    string
		outcome   Outcome
		exportEnv bool
		wantOut   []KV
		wantEnv   []KV
		wantMask  bool
		wantSinks []string
	}{
		{
			name:      "secret issued, outputs only",
			secret:    canarySecret,
			outcome:   Outcome{ClientID: "cid", Action: "created", Changed: true, Summary: "plan"},
			wantOut:   []KV{{"client-id", "cid"}, {"client-secret", canarySecret}, {"client-id", "cid"}, {"action", "created"}, {"changed", "true"}},
			wantMask:  true,
			wantSinks: []string{envGitHubOutput},
		},
		{
			name:      "secret issued, env export",
			secret:    canarySecret,
			outcome:   Outcome{ClientID: "cid", Action: "created", Changed: true},
			exportEnv: true,
			wantOut:   []KV{{"client-id", "cid"}, {"client-secret", canarySecret}, {"client-id", "cid"}, {"action", "created"}, {"changed", "true"}},
			wantEnv:   []KV{{oauthClientIDEnv, "cid"}, {oauthClientSecretEnv, canarySecret}, {oauthClientIDEnv, "cid"}},
			wantMask:  true,
			wantSinks: []string{envGitHubOutput, envGitHubEnv},
		},
		{
			name:      "no secret this run",
			outcome:   Outcome{ClientID: "cid", Action: "unchanged", Changed: false, Summary: "plan"},
			exportEnv: true,
			wantOut:   []KV{{"client-id", "cid"}, {"action", "unchanged"}, {"changed", "false"}},
			wantEnv:   []KV{{oauthClientIDEnv, "cid"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newActionsEnv(t)
			var stdout bytes.Buffer
			m := New(Config{Stdout: &stdout, Getenv: a.getenv, GitHubActions: true, ExportEnv: tc.exportEnv})
			var took []string
			if tc.secret != "" {
				var err error
				if took, err = m.Deliver(t.Context(), tc.outcome.ClientID, tc.secret); err != nil {
					t.Fatalf("Deliver = %v", err)
				}
			}
			if err := m.Publish(t.Context(), tc.outcome); err != nil {
				t.Fatalf("Publish = %v", err)
			}
			wantStdout := ""
			if tc.wantMask {
				wantStdout = "::add-mask::" + canarySecret + "\n"
			}
			if stdout.String() != wantStdout {
				t.Errorf("stdout = %q, want %q", stdout.String(), wantStdout)
			}
			if diff := cmp.Diff(tc.wantOut, parsed(t, a.output)); diff != "" {
				t.Errorf("GITHUB_OUTPUT (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantEnv, parsed(t, a.env)); diff != "" {
				t.Errorf("GITHUB_ENV (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantSinks, took, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("SecretSinks (-want +got):\n%s", diff)
			}
			wantSummary := ""
			if tc.outcome.Summary != "" {
				wantSummary = tc.outcome.Summary + "\n"
			}
			if got := readFile(t, a.summary); got != wantSummary {
				t.Errorf("summary = %q, want %q (written once)", got, wantSummary)
			}
		})
	}
}

// TestDeliverMasksFirst proves the mask precedes every other write: the
// writer records the state of the files at the time of the mask. The
// shared masker then redacts the secret from the summary.
func TestDeliverMasksFirst(t *testing.T) {
	a := newActionsEnv(t)
	var outputAtMask string
	var stdout bytes.Buffer
	w := writerFunc(func(p []byte) (int, error) {
		if strings.HasPrefix(string(p), "::add-mask::") && outputAtMask == "" {
			b, _ := os.ReadFile(a.output)
			e, _ := os.ReadFile(a.env)
			s, _ := os.ReadFile(a.summary)
			outputAtMask = "out=" + string(b) + " env=" + string(e) + " summary=" + string(s)
		}
		return stdout.Write(p)
	})
	m := New(Config{Stdout: w, Getenv: a.getenv, GitHubActions: true, ExportEnv: true, Masker: NewMasker(w)})
	if _, err := m.Deliver(t.Context(), "cid", canarySecret); err != nil {
		t.Fatal(err)
	}
	if err := m.Publish(t.Context(), Outcome{ClientID: "cid", Action: "created", Changed: true, Summary: "| secret | " + canarySecret + " |"}); err != nil {
		t.Fatal(err)
	}
	if outputAtMask != "out= env= summary=" {
		t.Errorf("files at mask time: %q, want all empty", outputAtMask)
	}
	if got := readFile(t, a.summary); strings.Contains(got, canarySecret) || got != "| secret | *** |\n" {
		t.Errorf("summary = %q, want the secret redacted", got)
	}
}

func TestDeliverMaskFailureWritesNothing(t *testing.T) {
	a := newActionsEnv(t)
	var stdout bytes.Buffer
	_, err := New(Config{Stdout: &stdout, Getenv: a.getenv, GitHubActions: true, ExportEnv: true}).Deliver(t.Context(), "cid", canarySecret+"\nline2")
	if !errors.Is(err, errMultilineSecret) {
		t.Fatalf("DeliverSecret(multi-line secret) = %v, want %v", err, errMultilineSecret)
	}
	for _, p := range []string{a.output, a.env, a.summary} {
		if got := readFile(t, p); got != "" {
			t.Errorf("%s = %q after mask failure, want empty", filepath.Base(p), got)
		}
	}
	if strings.Contains(stdout.String()+err.Error(), canarySecret) {
		t.Errorf("secret leaked: stdout %q, err %q", stdout.String(), err)
	}
}

func TestDeliverMissingOutputVariable(t *testing.T) {
	var stdout, terminal bytes.Buffer
	took, err := New(Config{Stdout: &stdout, Terminal: &terminal, Getenv: func(string) string { return "" }, GitHubActions: true}).Deliver(t.Context(), "cid", canarySecret)
	var me *missingEnvError
	if !errors.As(err, &me) || me.Name != envGitHubOutput {
		t.Fatalf("DeliverSecret without GITHUB_OUTPUT = %v, want *missingEnvError{GITHUB_OUTPUT}", err)
	}
	if strings.Contains(err.Error(), canarySecret) {
		t.Errorf("error %q leaks the secret", err)
	}
	// In Actions a print would show "***": nothing is printed, and the
	// error says the secret reached no sink so the caller revokes it.
	if !errors.Is(err, errSecretUndelivered) {
		t.Errorf("DeliverSecret without GITHUB_OUTPUT = %v, want it to wrap errSecretUndelivered", err)
	}
	if out := stdout.String(); out != "::add-mask::"+canarySecret+"\n" {
		t.Errorf("stdout = %q, want only the add-mask line", out)
	}
	if terminal.Len() != 0 {
		t.Errorf("terminal = %q, want nothing in Actions", terminal.String())
	}
	if len(took) != 0 {
		t.Errorf("Deliver took = %v, want none", took)
	}
}

func TestDeliverTerminal(t *testing.T) {
	t.Run("no sink prints secret once, never on stdout", func(t *testing.T) {
		var stdout, terminal bytes.Buffer
		took, err := New(Config{Stdout: &stdout, Terminal: &terminal}).Deliver(t.Context(), "cid", canarySecret)
		if err != nil {
			t.Fatalf("Deliver = %v", err)
		}
		out := terminal.String()
		if strings.Count(out, canarySecret) != 1 || !strings.Contains(out, "  "+oauthClientSecretEnv+"="+canarySecret+"\n") ||
			!strings.Contains(out, "shown only this once") || !strings.Contains(out, oauthClientIDEnv+"=cid") {
			t.Errorf("terminal = %q, want one labelled print of the id and secret", out)
		}
		if strings.Contains(out, "::add-mask::") {
			t.Errorf("terminal = %q, want no workflow commands outside Actions", out)
		}
		// stdout may be --format json redirected to a file: never the secret.
		if stdout.Len() != 0 {
			t.Errorf("stdout = %q, want nothing", stdout.String())
		}
		if diff := cmp.Diff([]string{"terminal"}, took); diff != "" {
			t.Errorf("Deliver took (-want +got):\n%s", diff)
		}
	})
	t.Run("no terminal is no sink", func(t *testing.T) {
		// The caller passes no Terminal when stderr is not a terminal.
		var stdout bytes.Buffer
		took, err := New(Config{Stdout: &stdout}).Deliver(t.Context(), "cid", canarySecret)
		if !errors.Is(err, errSecretUndelivered) || len(took) != 0 {
			t.Fatalf("Deliver without sinks = %v, %v; want errSecretUndelivered and nothing taken", took, err)
		}
		if stdout.Len() != 0 || strings.Contains(err.Error(), canarySecret) {
			t.Errorf("stdout = %q, err = %q; want nothing and no secret", stdout.String(), err)
		}
	})
	t.Run("no secret prints nothing", func(t *testing.T) {
		var stdout, terminal bytes.Buffer
		if err := New(Config{Stdout: &stdout, Terminal: &terminal}).Publish(t.Context(), Outcome{ClientID: "cid", Action: "unchanged"}); err != nil {
			t.Fatal(err)
		}
		if stdout.Len()+terminal.Len() != 0 {
			t.Errorf("stdout = %q, terminal = %q, want nothing", stdout.String(), terminal.String())
		}
	})
	t.Run("env file receives secret, terminal does not", func(t *testing.T) {
		var terminal bytes.Buffer
		p := filepath.Join(t.TempDir(), ".env")
		took, err := New(Config{Terminal: &terminal, EnvFile: p}).Deliver(t.Context(), "cid", canarySecret)
		if err != nil {
			t.Fatalf("Deliver = %v", err)
		}
		if terminal.Len() != 0 {
			t.Errorf("terminal = %q, want nothing when the env file took the secret", terminal.String())
		}
		env, err := parseDotenv(readFile(t, p))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{oauthClientIDEnv: "cid", oauthClientSecretEnv: canarySecret}
		if diff := cmp.Diff(want, env); diff != "" {
			t.Errorf("env file (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{p}, took); diff != "" {
			t.Errorf("Deliver took (-want +got):\n%s", diff)
		}
	})
	t.Run("failing env file falls back to the terminal", func(t *testing.T) {
		var terminal bytes.Buffer
		dir := t.TempDir()
		p := filepath.Join(dir, ".env")
		if err := os.Symlink(filepath.Join(dir, "elsewhere"), p); err != nil {
			t.Fatal(err)
		}
		took, err := New(Config{Terminal: &terminal, EnvFile: p}).Deliver(t.Context(), "cid", canarySecret)
		if !errors.Is(err, errUnsafeDotenvPath) {
			t.Fatalf("Deliver = %v, want %v", err, errUnsafeDotenvPath)
		}
		if strings.Contains(err.Error(), canarySecret) {
			t.Errorf("error %q leaks the secret", err)
		}
		if !strings.Contains(terminal.String(), oauthClientSecretEnv+"="+canarySecret) {
			t.Errorf("terminal = %q, want the fallback print", terminal.String())
		}
		if diff := cmp.Diff([]string{"terminal"}, took); diff != "" {
			t.Errorf("Deliver took (-want +got):\n%s", diff)
		}
	})
	t.Run("unprintable secret refused", func(t *testing.T) {
		var terminal bytes.Buffer
		_, err := New(Config{Terminal: &terminal}).Deliver(t.Context(), "cid", canarySecret+"\x1b[2J")
		if err == nil || strings.Contains(err.Error(), canarySecret) || !errors.Is(err, errSecretUndelivered) {
			t.Fatalf("DeliverSecret(secret with ESC) = %v, want an undelivered error without the secret", err)
		}
		if terminal.Len() != 0 {
			t.Errorf("terminal = %q, want nothing", terminal.String())
		}
	})
}

// TestRetractSecret blanks a dead secret exactly in the sinks it reached.
func TestRetractSecret(t *testing.T) {
	a := newActionsEnv(t)
	p := filepath.Join(t.TempDir(), ".env")
	var stdout bytes.Buffer
	m := New(Config{Stdout: &stdout, Getenv: a.getenv, GitHubActions: true, ExportEnv: true, EnvFile: p})
	if _, err := m.Deliver(t.Context(), "cid", canarySecret); err != nil {
		t.Fatal(err)
	}
	if err := m.Retract(t.Context()); err != nil {
		t.Fatalf("RetractSecret = %v", err)
	}
	last := func(kv []KV, name string) string {
		v := "<absent>"
		for _, r := range kv {
			if r.Name == name {
				v = r.Value
			}
		}
		return v
	}
	if got := last(parsed(t, a.output), outputClientSecret); got != "" {
		t.Errorf("last client-secret output = %q, want it blanked", got)
	}
	if got := last(parsed(t, a.env), oauthClientSecretEnv); got != "" {
		t.Errorf("last OAUTH_CLIENT_SECRET = %q, want it blanked", got)
	}
	env, err := parseDotenv(readFile(t, p))
	if err != nil {
		t.Fatal(err)
	}
	if env[oauthClientSecretEnv] != "" || env[oauthClientIDEnv] != "cid" {
		t.Errorf("dotenv after retract = %v, want the secret blanked and the id kept", env)
	}

	// Only the sinks that received the secret are touched: a GITHUB_ENV
	// that failed at delivery is not written (and cannot fail) again.
	b := newActionsEnv(t)
	b.vars[envGitHubEnv] = ""
	m = New(Config{Stdout: &stdout, Getenv: b.getenv, GitHubActions: true, ExportEnv: true})
	if took, err := m.Deliver(t.Context(), "cid", canarySecret); len(took) != 1 || err == nil {
		t.Fatalf("Deliver without GITHUB_ENV = %v, %v; want only GITHUB_OUTPUT and an error", took, err)
	}
	if err := m.Retract(t.Context()); err != nil {
		t.Fatalf("Retract(output only) = %v", err)
	}
	if got := parsed(t, b.output); len(got) != 3 || got[2] != (KV{outputClientSecret, ""}) {
		t.Errorf("GITHUB_OUTPUT = %v, want the delivery and then one blank client-secret", got)
	}
}

// TestRetractTerminalNamedPath is the bug strings as sink names had: a
// dotenv file called "terminal" was taken for the terminal print, so its
// secret was never blanked. Sinks are told apart by type, not by name.
func TestRetractTerminalNamedPath(t *testing.T) {
	t.Chdir(t.TempDir())
	var terminal bytes.Buffer
	m := New(Config{Terminal: &terminal, EnvFile: "terminal"})
	if took, err := m.Deliver(t.Context(), "cid", canarySecret); err != nil || len(took) != 1 {
		t.Fatalf("Deliver = %v, %v", took, err)
	}
	if terminal.Len() != 0 {
		t.Fatalf("terminal = %q, want nothing: the dotenv file took the secret", terminal.String())
	}
	if err := m.Retract(t.Context()); err != nil {
		t.Fatal(err)
	}
	env, err := parseDotenv(readFile(t, "terminal"))
	if err != nil {
		t.Fatal(err)
	}
	if env[oauthClientSecretEnv] != "" || env[oauthClientIDEnv] != "cid" {
		t.Errorf("dotenv file \"terminal\" after retract = %v, want the secret blanked", env)
	}
	if terminal.Len() != 0 {
		t.Errorf("terminal = %q, want no warning about a print that did not happen", terminal.String())
	}
}

// TestRetractTerminal warns on the terminal that printed a dead secret.
func TestRetractTerminal(t *testing.T) {
	var terminal bytes.Buffer
	m := New(Config{Terminal: &terminal})
	if _, err := m.Deliver(t.Context(), "cid", canarySecret); err != nil {
		t.Fatal(err)
	}
	terminal.Reset()
	if err := m.Retract(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := terminal.String(); !strings.Contains(got, "printed above belongs to a revoked client") || strings.Contains(got, canarySecret) {
		t.Errorf("terminal after retract = %q, want a warning without the secret", got)
	}
}

// TestDotenvTightenedNote reports a dotenv file that had been readable by
// others, once.
func TestDotenvTightenedNote(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(p, []byte("A=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := New(Config{EnvFile: p})
	if _, err := m.Deliver(t.Context(), "cid", canarySecret); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"warning: " + p + " was mode 0644; it is now 0600"}, m.Notes()); diff != "" {
		t.Errorf("Notes (-want +got):\n%s", diff)
	}
	if n := m.Notes(); len(n) != 0 {
		t.Errorf("second Notes() = %q, want none", n)
	}
}

// TestSinksRedactTheRunsRegistry: with the run's registry (MaskerFor), a
// secret registered elsewhere (a token auth obtained) is masked once, before
// anything else, and redacted from every non-secret value the sinks write:
// the client id, the action, the space id, the rollout and the job summary
// (Publish and Summarize);
// the delivered secret itself reaches its sinks whole.
func TestSinksRedactTheRunsRegistry(t *testing.T) {
	const token = "tok_CANARY_registered_by_auth"
	a := newActionsEnv(t)
	var stdout bytes.Buffer
	var secrets safetext.Secrets
	masker := MaskerFor(&stdout, &secrets)
	secrets.Add(token)
	m := New(Config{Stdout: &stdout, Getenv: a.getenv, GitHubActions: true, ExportEnv: true, Masker: masker})
	if _, err := m.Deliver(context.Background(), "cid-"+token, canarySecret); err != nil {
		t.Fatal(err)
	}
	summary := "| client | " + token + " |\n" + MarkdownTable([]string{"field"}, [][]string{{"name " + token}})
	if err := m.Publish(context.Background(), Outcome{ClientID: "cid-" + token, Action: "created " + token, Changed: true, Summary: summary, SpaceID: "space-" + token, Rollout: "ready " + token}); err != nil {
		t.Fatal(err)
	}
	if err := m.Summarize(context.Background(), MarkdownTable([]string{"plan"}, [][]string{{"rename " + token}})); err != nil {
		t.Fatal(err)
	}
	if want := "::add-mask::" + token + "\n::add-mask::" + canarySecret + "\n"; stdout.String() != want {
		t.Errorf("stdout = %q, want the two masks, each once", stdout.String())
	}
	files := readFile(t, a.output) + readFile(t, a.env) + readFile(t, a.summary)
	// A table cell holds the token with its punctuation escaped.
	if strings.Contains(files, token) || strings.Contains(files, escapeMarkdownPunct(token)) ||
		!strings.Contains(files, "cid-***") || !strings.Contains(files, "space-***") || !strings.Contains(files, "ready ***") || !strings.Contains(files, "| client | *** |") || !strings.Contains(files, `| name \*\*\* |`) ||
		!strings.Contains(files, `| rename \*\*\* |`) {
		t.Errorf("non-secret outputs show the token or were not written:\n%s", files)
	}
	if kv := parsed(t, a.output); !slices.Contains(kv, KV{outputClientSecret, canarySecret}) {
		t.Errorf("outputs = %v, want the client secret whole", kv)
	}
}
