package export

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
	a.vars = map[string]string{EnvGitHubOutput: a.output, EnvGitHubEnv: a.env, EnvGitHubStepSummary: a.summary}
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
			wantSinks: []string{SinkGitHubOutput},
		},
		{
			name:      "secret issued, env export",
			secret:    canarySecret,
			outcome:   Outcome{ClientID: "cid", Action: "created", Changed: true},
			exportEnv: true,
			wantOut:   []KV{{"client-id", "cid"}, {"client-secret", canarySecret}, {"client-id", "cid"}, {"action", "created"}, {"changed", "true"}},
			wantEnv:   []KV{{OAuthClientIDEnv, "cid"}, {OAuthClientSecretEnv, canarySecret}, {OAuthClientIDEnv, "cid"}},
			wantMask:  true,
			wantSinks: []string{SinkGitHubOutput, SinkGitHubEnv},
		},
		{
			name:      "no secret this run",
			outcome:   Outcome{ClientID: "cid", Action: "unchanged", Changed: false, Summary: "plan"},
			exportEnv: true,
			wantOut:   []KV{{"client-id", "cid"}, {"action", "unchanged"}, {"changed", "false"}},
			wantEnv:   []KV{{OAuthClientIDEnv, "cid"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newActionsEnv(t)
			var stdout bytes.Buffer
			s := Sinks{Stdout: &stdout, Getenv: a.getenv, GitHubActions: true, ExportEnv: tc.exportEnv}
			var pub Published
			if tc.secret != "" {
				var err error
				if pub, err = DeliverSecret(s, tc.outcome.ClientID, tc.secret); err != nil {
					t.Fatalf("DeliverSecret = %v", err)
				}
			}
			if _, err := Publish(s, tc.outcome); err != nil {
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
			if diff := cmp.Diff(tc.wantSinks, pub.SecretSinks); diff != "" {
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
	s := Sinks{Stdout: w, Getenv: a.getenv, GitHubActions: true, ExportEnv: true, Masker: NewMasker(w)}
	if _, err := DeliverSecret(s, "cid", canarySecret); err != nil {
		t.Fatal(err)
	}
	if _, err := Publish(s, Outcome{ClientID: "cid", Action: "created", Changed: true, Summary: "| secret | " + canarySecret + " |"}); err != nil {
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
	_, err := DeliverSecret(Sinks{Stdout: &stdout, Getenv: a.getenv, GitHubActions: true, ExportEnv: true}, "cid", canarySecret+"\nline2")
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
	pub, err := DeliverSecret(Sinks{Stdout: &stdout, Terminal: &terminal, Getenv: func(string) string { return "" }, GitHubActions: true}, "cid", canarySecret)
	var me *missingEnvError
	if !errors.As(err, &me) || me.Name != EnvGitHubOutput {
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
	if len(pub.SecretSinks) != 0 {
		t.Errorf("SecretSinks = %v, want none", pub.SecretSinks)
	}
}

func TestDeliverTerminal(t *testing.T) {
	t.Run("no sink prints secret once, never on stdout", func(t *testing.T) {
		var stdout, terminal bytes.Buffer
		pub, err := DeliverSecret(Sinks{Stdout: &stdout, Terminal: &terminal}, "cid", canarySecret)
		if err != nil {
			t.Fatalf("DeliverSecret = %v", err)
		}
		out := terminal.String()
		if strings.Count(out, canarySecret) != 1 || !strings.Contains(out, "  "+OAuthClientSecretEnv+"="+canarySecret+"\n") ||
			!strings.Contains(out, "shown only this once") || !strings.Contains(out, OAuthClientIDEnv+"=cid") {
			t.Errorf("terminal = %q, want one labelled print of the id and secret", out)
		}
		if strings.Contains(out, "::add-mask::") {
			t.Errorf("terminal = %q, want no workflow commands outside Actions", out)
		}
		// stdout may be --format json redirected to a file: never the secret.
		if stdout.Len() != 0 {
			t.Errorf("stdout = %q, want nothing", stdout.String())
		}
		if diff := cmp.Diff([]string{SinkTerminal}, pub.SecretSinks); diff != "" {
			t.Errorf("SecretSinks (-want +got):\n%s", diff)
		}
	})
	t.Run("no secret prints nothing", func(t *testing.T) {
		var stdout, terminal bytes.Buffer
		if _, err := Publish(Sinks{Stdout: &stdout, Terminal: &terminal}, Outcome{ClientID: "cid", Action: "unchanged"}); err != nil {
			t.Fatal(err)
		}
		if stdout.Len()+terminal.Len() != 0 {
			t.Errorf("stdout = %q, terminal = %q, want nothing", stdout.String(), terminal.String())
		}
	})
	t.Run("env file receives secret, terminal does not", func(t *testing.T) {
		var terminal bytes.Buffer
		p := filepath.Join(t.TempDir(), ".env")
		pub, err := DeliverSecret(Sinks{Terminal: &terminal, EnvFile: p}, "cid", canarySecret)
		if err != nil {
			t.Fatalf("DeliverSecret = %v", err)
		}
		if terminal.Len() != 0 {
			t.Errorf("terminal = %q, want nothing when the env file took the secret", terminal.String())
		}
		env, err := parseDotenv(readFile(t, p))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{OAuthClientIDEnv: "cid", OAuthClientSecretEnv: canarySecret}
		if diff := cmp.Diff(want, env); diff != "" {
			t.Errorf("env file (-want +got):\n%s", diff)
		}
		if pub.Dotenv == nil || !pub.Dotenv.Created {
			t.Errorf("Published.Dotenv = %+v, want Created", pub.Dotenv)
		}
	})
	t.Run("failing env file falls back to the terminal", func(t *testing.T) {
		var terminal bytes.Buffer
		dir := t.TempDir()
		p := filepath.Join(dir, ".env")
		if err := os.Symlink(filepath.Join(dir, "elsewhere"), p); err != nil {
			t.Fatal(err)
		}
		pub, err := DeliverSecret(Sinks{Terminal: &terminal, EnvFile: p}, "cid", canarySecret)
		if !errors.Is(err, errUnsafeDotenvPath) {
			t.Fatalf("DeliverSecret = %v, want %v", err, errUnsafeDotenvPath)
		}
		if strings.Contains(err.Error(), canarySecret) {
			t.Errorf("error %q leaks the secret", err)
		}
		if !strings.Contains(terminal.String(), OAuthClientSecretEnv+"="+canarySecret) {
			t.Errorf("terminal = %q, want the fallback print", terminal.String())
		}
		if diff := cmp.Diff([]string{SinkTerminal}, pub.SecretSinks); diff != "" {
			t.Errorf("SecretSinks (-want +got):\n%s", diff)
		}
	})
	t.Run("unprintable secret refused", func(t *testing.T) {
		var terminal bytes.Buffer
		_, err := DeliverSecret(Sinks{Terminal: &terminal}, "cid", canarySecret+"\x1b[2J")
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
	s := Sinks{Stdout: &stdout, Getenv: a.getenv, GitHubActions: true, ExportEnv: true, EnvFile: p}
	pub, err := DeliverSecret(s, "cid", canarySecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := RetractSecret(s, pub.SecretSinks); err != nil {
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
	if got := last(parsed(t, a.output), OutputClientSecret); got != "" {
		t.Errorf("last client-secret output = %q, want it blanked", got)
	}
	if got := last(parsed(t, a.env), OAuthClientSecretEnv); got != "" {
		t.Errorf("last OAUTH_CLIENT_SECRET = %q, want it blanked", got)
	}
	env, err := parseDotenv(readFile(t, p))
	if err != nil {
		t.Fatal(err)
	}
	if env[OAuthClientSecretEnv] != "" || env[OAuthClientIDEnv] != "cid" {
		t.Errorf("dotenv after retract = %v, want the secret blanked and the id kept", env)
	}

	// Only the sinks that received the secret are touched: a GITHUB_ENV
	// that failed at delivery is not written (and cannot fail) again.
	b := newActionsEnv(t)
	b.vars[EnvGitHubEnv] = ""
	if err := RetractSecret(Sinks{Getenv: b.getenv, GitHubActions: true, ExportEnv: true}, []string{SinkGitHubOutput}); err != nil {
		t.Fatalf("RetractSecret(output only) = %v", err)
	}
	if got := parsed(t, b.output); len(got) != 1 || got[0] != (KV{OutputClientSecret, ""}) {
		t.Errorf("GITHUB_OUTPUT = %v, want one blank client-secret", got)
	}
}
