package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/hostiletest"
)

func timeoutManifest(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "app.yml")
	if err := os.WriteFile(p, []byte(faultManifest), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTimeoutBoundsTheRun: against a control plane that accepts and never
// answers, plan, apply and auth debug end when --timeout says, with exit 3
// and a message that names --timeout (issue 18: a minute, whatever was
// asked).
func TestTimeoutBoundsTheRun(t *testing.T) {
	url := hostiletest.Hanging(t)
	manifest := timeoutManifest(t)
	env := map[string]string{"TAKOS_TOKEN": "tak_pat_notchecked", "HOME": t.TempDir()}
	for _, args := range [][]string{
		{"plan", "--timeout", "1500ms", "--control-plane", url, manifest},
		{"apply", "--timeout", "1500ms", "--control-plane", url, "--env-file", filepath.Join(t.TempDir(), ".env"), manifest},
		{"auth", "debug", "--timeout", "1500ms", "--control-plane", url},
	} {
		start := time.Now()
		code, _, stderr := run(t, env, args...)
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("%s took %v with --timeout 1.5s", args[0], d)
		}
		if code != ExitFailure {
			t.Errorf("%s: exit %d, want %d", args[0], code, ExitFailure)
		}
		if !strings.Contains(stderr, "stopped by --timeout 1.5s, which bounds the whole run") {
			t.Errorf("%s: stderr does not name --timeout:\n%s", args[0], stderr)
		}
	}
	// Zero or less is refused by the argument parser, as a usage error of
	// each command that takes --timeout.
	for _, args := range [][]string{
		{"plan", "--timeout", "0s", "--control-plane", url, manifest},
		{"apply", "--timeout=-1s", "--control-plane", url, "--env-file", filepath.Join(t.TempDir(), ".env"), manifest},
		{"auth", "debug", "--timeout", "-5m", "--control-plane", url},
	} {
		code, _, stderr := run(t, env, args...)
		if code != ExitUsage || !strings.Contains(stderr, "for --timeout: must be positive") || !strings.Contains(stderr, "Usage: takos-apply ") {
			t.Errorf("%q = %d:\n%s", args, code, stderr)
		}
	}
}

// TestDiscoveryHasAShortBudget: a control plane whose discovery document
// never comes but whose API answers is planned in a fraction of the run:
// discovery, which only refines the scope lint, gives up after its budget
// (a quarter of --timeout here, at most 5 s) with a warning.
func TestDiscoveryHasAShortBudget(t *testing.T) {
	cp := devservertest.New(t)
	cp.Inject(devserver.Fault{Method: "GET", Path: "/.well-known/", Kind: devserver.Delay, Delay: time.Minute, Times: 10})
	start := time.Now()
	code, stdout, stderr := run(t, map[string]string{"TAKOS_TOKEN": cp.Token, "HOME": t.TempDir()},
		"plan", "--timeout", "8s", "--control-plane", cp.URL, timeoutManifest(t))
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("plan took %v; discovery's budget is 2s of the 8s run", d)
	}
	if code != ExitOK || !strings.Contains(stdout, "create") {
		t.Errorf("plan = %d, want the plan:\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "warning: ") || !strings.Contains(stderr, "no answer within 2s") {
		t.Errorf("stderr does not warn that discovery gave up after its budget:\n%s", stderr)
	}
}
