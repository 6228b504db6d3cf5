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

func TestPublishActions(t *testing.T) {
	tests := []struct {
		name      string
		outcome   Outcome
		exportEnv bool
		wantOut   []KV
		wantEnv   []KV
		wantMask  bool
		wantSinks []string
	}{
		{
			name:      "secret issued, outputs only",
			outcome:   Outcome{ClientID: "cid", ClientSecret: canarySecret, Action: "create", Changed: true, Summary: "plan"},
			wantOut:   []KV{{"client-id", "cid"}, {"client-secret", canarySecret}, {"action", "create"}, {"changed", "true"}},
			wantMask:  true,
			wantSinks: []string{EnvGitHubOutput},
		},
		{
			name:      "secret issued, env export",
			outcome:   Outcome{ClientID: "cid", ClientSecret: canarySecret, Action: "create", Changed: true},
			exportEnv: true,
			wantOut:   []KV{{"client-id", "cid"}, {"client-secret", canarySecret}, {"action", "create"}, {"changed", "true"}},
			wantEnv:   []KV{{OAuthClientIDEnv, "cid"}, {OAuthClientSecretEnv, canarySecret}},
			wantMask:  true,
			wantSinks: []string{EnvGitHubOutput, EnvGitHubEnv},
		},
		{
			name:      "no secret this run",
			outcome:   Outcome{ClientID: "cid", Action: "none", Changed: false, Summary: "plan"},
			exportEnv: true,
			wantOut:   []KV{{"client-id", "cid"}, {"action", "none"}, {"changed", "false"}},
			wantEnv:   []KV{{OAuthClientIDEnv, "cid"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newActionsEnv(t)
			var stdout bytes.Buffer
			pub, err := Publish(Sinks{Stdout: &stdout, Getenv: a.getenv, GitHubActions: true, ExportEnv: tc.exportEnv}, tc.outcome)
			if err != nil {
				t.Fatalf("Publish = %v", err)
			}
			wantStdout := ""
			if tc.wantMask {
				wantStdout = "::add-mask::" + canarySecret + "\n"
			}
			if stdout.String() != wantStdout {
				t.Errorf("Publish stdout = %q, want %q", stdout.String(), wantStdout)
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
				t.Errorf("summary = %q, want %q", got, wantSummary)
			}
		})
	}
}

// TestPublishMasksFirst proves the mask precedes every other write: the
// writer records the state of the output file at the time of the mask.
func TestPublishMasksFirst(t *testing.T) {
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
	o := Outcome{ClientID: "cid", ClientSecret: canarySecret, Action: "create", Changed: true,
		Summary: "| secret | " + canarySecret + " |"}
	if _, err := Publish(Sinks{Stdout: w, Getenv: a.getenv, GitHubActions: true, ExportEnv: true}, o); err != nil {
		t.Fatal(err)
	}
	if outputAtMask != "out= env= summary=" {
		t.Errorf("files at mask time: %q, want all empty", outputAtMask)
	}
	if got := readFile(t, a.summary); strings.Contains(got, canarySecret) || got != "| secret | *** |\n" {
		t.Errorf("summary = %q, want the secret redacted", got)
	}
}

func TestPublishMaskFailureWritesNothing(t *testing.T) {
	a := newActionsEnv(t)
	var stdout bytes.Buffer
	o := Outcome{ClientID: "cid", ClientSecret: canarySecret + "\nline2", Action: "create"}
	_, err := Publish(Sinks{Stdout: &stdout, Getenv: a.getenv, GitHubActions: true, ExportEnv: true}, o)
	if !errors.Is(err, ErrMultilineSecret) {
		t.Fatalf("Publish(multi-line secret) = %v, want %v", err, ErrMultilineSecret)
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

func TestPublishMissingOutputVariable(t *testing.T) {
	var stdout bytes.Buffer
	o := Outcome{ClientID: "cid", ClientSecret: canarySecret, Action: "create", Changed: true}
	pub, err := Publish(Sinks{Stdout: &stdout, Getenv: func(string) string { return "" }, GitHubActions: true}, o)
	var me *MissingEnvError
	if !errors.As(err, &me) || me.Name != EnvGitHubOutput {
		t.Fatalf("Publish without GITHUB_OUTPUT = %v, want *MissingEnvError{GITHUB_OUTPUT}", err)
	}
	if strings.Contains(err.Error(), canarySecret) {
		t.Errorf("error %q leaks the secret", err)
	}
	// In Actions a print would show "***": nothing is printed, and the
	// error says the secret reached no sink so the caller revokes it.
	if !errors.Is(err, ErrSecretUndelivered) {
		t.Errorf("Publish without GITHUB_OUTPUT = %v, want it to wrap ErrSecretUndelivered", err)
	}
	if out := stdout.String(); out != "::add-mask::"+canarySecret+"\n" {
		t.Errorf("stdout = %q, want only the add-mask line", out)
	}
	if len(pub.SecretSinks) != 0 {
		t.Errorf("SecretSinks = %v, want none", pub.SecretSinks)
	}
}

func TestPublishTerminal(t *testing.T) {
	t.Run("no sink prints secret once", func(t *testing.T) {
		var stdout bytes.Buffer
		pub, err := Publish(Sinks{Stdout: &stdout}, Outcome{ClientID: "cid", ClientSecret: canarySecret, Action: "create", Changed: true})
		if err != nil {
			t.Fatalf("Publish = %v", err)
		}
		out := stdout.String()
		if strings.Count(out, canarySecret) != 1 || !strings.Contains(out, "  "+OAuthClientSecretEnv+"="+canarySecret+"\n") ||
			!strings.Contains(out, "shown only this once") || !strings.Contains(out, OAuthClientIDEnv+"=cid") {
			t.Errorf("stdout = %q, want one labelled print of the id and secret", out)
		}
		if strings.Contains(out, "::add-mask::") {
			t.Errorf("stdout = %q, want no workflow commands outside Actions", out)
		}
		if diff := cmp.Diff([]string{"stdout"}, pub.SecretSinks); diff != "" {
			t.Errorf("SecretSinks (-want +got):\n%s", diff)
		}
	})
	t.Run("no secret prints nothing", func(t *testing.T) {
		var stdout bytes.Buffer
		if _, err := Publish(Sinks{Stdout: &stdout}, Outcome{ClientID: "cid", Action: "none"}); err != nil {
			t.Fatal(err)
		}
		if stdout.Len() != 0 {
			t.Errorf("stdout = %q, want nothing", stdout.String())
		}
	})
	t.Run("env file receives secret, stdout does not", func(t *testing.T) {
		var stdout bytes.Buffer
		p := filepath.Join(t.TempDir(), ".env")
		pub, err := Publish(Sinks{Stdout: &stdout, EnvFile: p}, Outcome{ClientID: "cid", ClientSecret: canarySecret, Action: "create", Changed: true})
		if err != nil {
			t.Fatalf("Publish = %v", err)
		}
		if stdout.Len() != 0 {
			t.Errorf("stdout = %q, want nothing when the env file took the secret", stdout.String())
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
	t.Run("failing env file falls back to stdout", func(t *testing.T) {
		var stdout bytes.Buffer
		dir := t.TempDir()
		p := filepath.Join(dir, ".env")
		if err := os.Symlink(filepath.Join(dir, "elsewhere"), p); err != nil {
			t.Fatal(err)
		}
		pub, err := Publish(Sinks{Stdout: &stdout, EnvFile: p}, Outcome{ClientID: "cid", ClientSecret: canarySecret})
		if !errors.Is(err, ErrUnsafeDotenvPath) {
			t.Fatalf("Publish = %v, want %v", err, ErrUnsafeDotenvPath)
		}
		if strings.Contains(err.Error(), canarySecret) {
			t.Errorf("error %q leaks the secret", err)
		}
		if !strings.Contains(stdout.String(), OAuthClientSecretEnv+"="+canarySecret) {
			t.Errorf("stdout = %q, want the fallback print", stdout.String())
		}
		if diff := cmp.Diff([]string{"stdout"}, pub.SecretSinks); diff != "" {
			t.Errorf("SecretSinks (-want +got):\n%s", diff)
		}
	})
	t.Run("unprintable secret refused", func(t *testing.T) {
		var stdout bytes.Buffer
		_, err := Publish(Sinks{Stdout: &stdout}, Outcome{ClientID: "cid", ClientSecret: canarySecret + "\x1b[2J"})
		if err == nil || strings.Contains(err.Error(), canarySecret) {
			t.Fatalf("Publish(secret with ESC) = %v, want an error without the secret", err)
		}
		if stdout.Len() != 0 {
			t.Errorf("stdout = %q, want nothing", stdout.String())
		}
	})
}
