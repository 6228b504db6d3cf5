//go:build unix

package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
)

// TestBrokerReloadsPolicyOnSIGHUP: the serving broker re-reads its
// --policy file on SIGHUP (systemctl reload): a broken file is refused
// with its findings in the log and the policy in force stays; a valid one
// is put in force. The signal goes to this process, where the broker runs.
func TestBrokerReloadsPolicyOnSIGHUP(t *testing.T) {
	gh := authtest.NewGitHubOIDC(t)
	cp := devservertest.New(t)
	dir := t.TempDir()
	policy := filepath.Join(dir, "policy.yml")
	auditPath := filepath.Join(dir, "audit.log")
	addr := filepath.Join(dir, "addr")
	write := func(src string) {
		if err := os.WriteFile(policy, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("version: 1\nrules:\n  - name: first\n    match: {repository_id: \"1\"}\n")
	env := map[string]string{EnvBrokerToken: cp.Token}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		code, _, _ := runCtx(ctx, env, "broker", "--policy", policy, "--control-plane", cp.URL, "--issuer", gh.Issuer,
			"--listen", "127.0.0.1:0", "--addr-file", addr, "--audit-log", auditPath)
		done <- code
	}()
	defer func() {
		cancel()
		if code := <-done; code != ExitOK {
			t.Errorf("broker exit = %d", code)
		}
	}()
	waitFor(t, func() bool { _, err := os.Stat(addr); return err == nil })

	hupUntil := func(want string) string {
		t.Helper()
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		var log string
		waitFor(t, func() bool {
			b, _ := os.ReadFile(auditPath)
			log = string(b)
			return strings.Contains(log, want)
		})
		return log
	}
	write("version: 1\nrules:\n  - name: second\n    matchs: {repository_id: \"1\"}\n")
	log := hupUntil(`"msg":"policy reload refused; the policy in force stays"`)
	if !strings.Contains(log, `policy.yml:4:5: error: unknown field \"matchs\"`) {
		t.Errorf("the refusal does not carry the finding:\n%s", log)
	}
	write("version: 1\nrules:\n  - name: second\n    match: {repository_id: \"1\"}\n  - name: third\n    match: {repository_id: \"2\"}\n")
	hupUntil(`"msg":"policy reloaded","policy":"` + policy + `","rules":2`)
}

// runCtx is run with a context.
func runCtx(ctx context.Context, env map[string]string, args ...string) (int, string, string) {
	var stdout, stderr strings.Builder
	code := Run(ctx, args, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
