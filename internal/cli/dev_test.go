package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// devApp is what takos-apply dev runs in the scripts:
//
//	devapp exit N          exit with N
//	devapp colour          print a coloured line and a workflow command
//	devapp signals DIR     write DIR/pid (takos-apply's pid, its parent's), then
//	                       DIR/ready; wait for SIGINT or SIGTERM, print it and
//	                       any other that follows within 300 ms, exit 0
func devApp() {
	args := os.Args[1:]
	switch {
	case len(args) == 2 && args[0] == "exit":
		n, _ := strconv.Atoi(args[1])
		os.Exit(n)
	case len(args) == 2 && args[0] == "signals":
		sigs := make(chan os.Signal, 2)
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
		os.WriteFile(filepath.Join(args[1], "pid"), []byte(strconv.Itoa(os.Getppid())), 0o644)
		os.WriteFile(filepath.Join(args[1], "ready"), nil, 0o644)
		fmt.Printf("devapp: got %v\n", <-sigs)
		// A signal must arrive once: report any other for a while.
		for deadline := time.After(300 * time.Millisecond); ; {
			select {
			case s := <-sigs:
				fmt.Printf("devapp: also got %v\n", s)
			case <-deadline:
				os.Exit(0)
			}
		}
	}
	if len(args) == 1 && args[0] == "colour" {
		// Colour and a command-like line: raw on a terminal, guarded in
		// Actions.
		fmt.Printf("\x1b[31mred\x1b[0m\n::warning::from the app\n")
		os.Exit(0)
	}
	fmt.Fprintf(os.Stderr, "devapp: bad arguments %q\n", args)
	os.Exit(2)
}

func init() {
	// waitfile FILE waits (up to 30 s) for FILE to exist.
	scriptCmds["waitfile"] = func(ts *testscript.TestScript, neg bool, args []string) {
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
				return
			}
		}
		ts.Fatalf("%s never appeared", args[0])
	}
	// loadenv FILE sets the script's environment from a dotenv file
	// takos-apply wrote (KEY='value' lines).
	scriptCmds["loadenv"] = func(ts *testscript.TestScript, neg bool, args []string) {
		for _, l := range strings.Split(ts.ReadFile(args[0]), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				ts.Setenv(k, strings.Trim(v, "'"))
			}
		}
	}
	// devmasked FILE fails unless every secret of dev's banner in FILE
	// (OAUTH_CLIENT_SECRET, TAKOS_TOKEN, TAKOS_DEV_ADMIN_TOKEN) was masked
	// with ::add-mask:: before the line that shows it.
	scriptCmds["devmasked"] = func(ts *testscript.TestScript, neg bool, args []string) {
		text := ts.ReadFile(args[0])
		n := 0
		for _, l := range strings.Split(text, "\n") {
			k, v, ok := strings.Cut(l, "=")
			if !ok || (k != "OAUTH_CLIENT_SECRET" && k != "TAKOS_TOKEN" && k != "TAKOS_DEV_ADMIN_TOKEN") {
				continue
			}
			mask := strings.Index(text, "::add-mask::"+v+"\n")
			if mask < 0 || mask > strings.Index(text, l) {
				ts.Fatalf("%s: %s is shown before it is masked", args[0], k)
			}
			n++
		}
		if n < 3 {
			ts.Fatalf("%s: %d secrets in the banner, want 3", args[0], n)
		}
	}
	// sendsig PIDFILE TERM|INT|HUP sends the signal to the pid in PIDFILE.
	scriptCmds["sendsig"] = func(ts *testscript.TestScript, neg bool, args []string) {
		b, err := os.ReadFile(ts.MkAbs(args[0]))
		ts.Check(err)
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		ts.Check(err)
		sig := map[string]syscall.Signal{"TERM": syscall.SIGTERM, "INT": syscall.SIGINT, "HUP": syscall.SIGHUP}[args[1]]
		ts.Check(syscall.Kill(pid, sig))
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// devProcess is takos-apply dev run in process until stop.
type devProcess struct {
	stdout, stderr *syncBuffer
	cancel         context.CancelFunc
	done           chan int
}

func startDev(t *testing.T, args ...string) *devProcess {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &devProcess{stdout: &syncBuffer{}, stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	env := map[string]string{"NO_COLOR": "1"}
	go func() {
		p.done <- Run(ctx, append([]string{"dev"}, args...), func(k string) string { return env[k] }, strings.NewReader(""), p.stdout, p.stderr)
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// vars waits for the banner and returns its KEY=VALUE lines.
func (p *devProcess) vars(t *testing.T) map[string]string {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		out := p.stdout.String()
		if strings.Contains(out, "\nTAKOS_DEV_ADMIN_TOKEN=") && strings.HasSuffix(out, "\n") {
			m := map[string]string{}
			for _, l := range strings.Split(out, "\n") {
				if k, v, ok := strings.Cut(l, "="); ok && regexp.MustCompile(`^[A-Z_]+$`).MatchString(k) {
					m[k] = v
				}
			}
			return m
		}
		select {
		case code := <-p.done:
			p.done <- code
			t.Fatalf("takos-apply dev exited %d before its banner:\n%s\n%s", code, p.stdout, p.stderr)
		default:
		}
	}
	t.Fatalf("no banner:\n%s\n%s", p.stdout, p.stderr)
	return nil
}

func (p *devProcess) stop(t *testing.T) int {
	t.Helper()
	p.cancel()
	select {
	case code := <-p.done:
		p.done <- code
		return code
	case <-time.After(20 * time.Second):
		t.Fatal("takos-apply dev did not stop")
		return -1
	}
}

const devManifest = `apiVersion: takos.dev/v1alpha1
kind: App
metadata:
  name: demo
spec:
  version: 1.0.0
  oauth:
    clientName: Demo
    redirectUris:
      - http://127.0.0.1:3000/callback
    scopes: [openid, profile]
    metadata:
      tosUri: https://demo.example/terms
`

func writeDevManifest(t *testing.T, dir, content string) string {
	t.Helper()
	p := filepath.Join(dir, ".takos", "app.yml")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	// Through a rename, so the poller never reads half a file.
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func listClients(t *testing.T, base, token string) []map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/api/me/oauth/clients", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Clients []map[string]any }
	json.NewDecoder(resp.Body).Decode(&out)
	return out.Clients
}

// TestDevWatchesTheManifest: editing app.yml while dev runs updates the
// registered client in place (same id, same secret); a manifest with
// errors leaves it as it was.
func TestDevWatchesTheManifest(t *testing.T) {
	dir := t.TempDir()
	path := writeDevManifest(t, dir, devManifest)
	p := startDev(t, "--addr", "127.0.0.1:0", "--poll", "20ms", path)
	v := p.vars(t)
	if v["OAUTH_CLIENT_ID"] == "" || len(v["OAUTH_CLIENT_SECRET"]) != 43 || !strings.HasPrefix(v["TAKOS_TOKEN"], "tak_pat_") {
		t.Fatalf("banner vars %v", v)
	}
	base, tok := v["TAKOS_API_URL"], v["TAKOS_TOKEN"]
	waitFor := func(what string, ok func([]map[string]any) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if cs := listClients(t, base, tok); ok(cs) {
				return
			}
		}
		t.Fatalf("%s: clients %v\nstderr:\n%s", what, listClients(t, base, tok), p.stderr)
	}
	writeDevManifest(t, dir, strings.Replace(strings.Replace(devManifest, "scopes: [openid, profile]", "scopes: [openid, profile, email]", 1),
		"      - http://127.0.0.1:3000/callback\n", "      - http://127.0.0.1:3000/callback\n      - http://127.0.0.1:4000/cb\n", 1))
	waitFor("the edit", func(cs []map[string]any) bool {
		return len(cs) == 1 && fmt.Sprint(cs[0]["redirect_uris"]) == "[http://127.0.0.1:3000/callback http://127.0.0.1:4000/cb]" &&
			fmt.Sprint(cs[0]["allowed_scopes"]) == "[openid profile email]" && cs[0]["client_id"] == v["OAUTH_CLIENT_ID"]
	})
	// A renamed client is the same client (its id is pinned).
	writeDevManifest(t, dir, strings.Replace(devManifest, "clientName: Demo", "clientName: Demo 2", 1))
	waitFor("the rename", func(cs []map[string]any) bool {
		return len(cs) == 1 && cs[0]["name"] == "Demo 2" && cs[0]["client_id"] == v["OAUTH_CLIENT_ID"]
	})
	// Errors: nothing changes, and the findings are shown.
	writeDevManifest(t, dir, strings.Replace(devManifest, "scopes: [openid, profile]", "scopes: [openid, runs:read]", 1))
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(p.stderr.String(), "has errors; the client stays as it was"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no error report:\n%s", p.stderr)
		}
	}
	if cs := listClients(t, base, tok); fmt.Sprint(cs[0]["allowed_scopes"]) != "[openid profile]" {
		t.Errorf("a manifest with errors changed the client: %v", cs[0])
	}
	if !strings.Contains(p.stderr.String(), "runs:read") {
		t.Errorf("the finding is not shown:\n%s", p.stderr)
	}
	if code := p.stop(t); code != ExitOK {
		t.Errorf("exit %d", code)
	}
	if strings.Contains(p.stderr.String(), v["OAUTH_CLIENT_SECRET"]) {
		t.Error("the client secret reached stderr")
	}
}

// TestDevState: with --state the next run serves the same client, secret,
// PAT and admin token.
func TestDevState(t *testing.T) {
	dir := t.TempDir()
	path := writeDevManifest(t, dir, devManifest)
	state := filepath.Join(dir, "dev-state.json")
	p := startDev(t, "--addr", "127.0.0.1:0", "--state", state, path)
	first := p.vars(t)
	p.stop(t)
	if fi, err := os.Stat(state); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file %v %v", fi, err)
	}
	p = startDev(t, "--addr", "127.0.0.1:0", "--state", state, path)
	second := p.vars(t)
	for _, k := range []string{"OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET", "TAKOS_TOKEN", "TAKOS_DEV_ADMIN_TOKEN"} {
		if first[k] == "" || first[k] != second[k] {
			t.Errorf("%s: %q then %q", k, first[k], second[k])
		}
	}
	if cs := listClients(t, second["TAKOS_API_URL"], second["TAKOS_TOKEN"]); len(cs) != 1 {
		t.Errorf("clients after restart: %v", cs)
	}
}

func TestDevExitCodes(t *testing.T) {
	dir := t.TempDir()
	path := writeDevManifest(t, dir, devManifest)
	tests := []struct {
		name string
		args []string
		want int
		err  string
	}{
		{"the command's exit code", []string{"--addr", "127.0.0.1:0", path, "--", "sh", "-c", "exit 7"}, 7, ""},
		{"a command ended by a signal", []string{"--addr", "127.0.0.1:0", path, "--", "sh", "-c", "kill -TERM $$"}, 128 + 15, ""},
		{"the command sees the credentials", []string{"--addr", "127.0.0.1:0", path, "--", "sh", "-c",
			`test -n "$OAUTH_CLIENT_ID" && test ${#OAUTH_CLIENT_SECRET} = 43 && test "$OAUTH_ISSUER" = "$TAKOS_API_URL" && test -n "$TAKOS_DEV_ADMIN_TOKEN"`}, 0, ""},
		{"a command that does not exist", []string{"--addr", "127.0.0.1:0", path, "--", "/nonexistent/app"}, 127, "running /nonexistent/app"},
		{"not loopback", []string{"--addr", "0.0.0.0:0", path}, ExitUsage, "is not a loopback address"},
		{"two manifests", []string{"--addr", "127.0.0.1:0", path, path}, ExitUsage, "one manifest at a time"},
		{"a bad --user", []string{"--user", "role=admin", path}, ExitUsage, `unknown claim "role"`},
		{"a port in use", []string{"--addr", "", path}, ExitFailure, "--addr 127.0.0.1:0 picks a free port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.name == "a port in use" {
				s := startDev(t, "--addr", "127.0.0.1:0", path)
				args = []string{"--addr", strings.TrimPrefix(s.vars(t)["TAKOS_API_URL"], "http://"), path}
			}
			code, stdout, stderr := run(t, map[string]string{}, append([]string{"dev"}, args...)...)
			if code != tc.want || !strings.Contains(stderr, tc.err) {
				t.Errorf("exit %d, want %d; stderr:\n%s\nstdout:\n%s", code, tc.want, stderr, stdout)
			}
		})
	}
}

// BenchmarkDevStart is takos-apply dev from the command line to its
// banner, in process: lint, listen, register the client through reconcile
// over HTTP, print. The README reports it.
func BenchmarkDevStart(b *testing.B) {
	dir := b.TempDir()
	path := filepath.Join(dir, "app.yml")
	if err := os.WriteFile(path, []byte(devManifest), 0o644); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		ctx, cancel := context.WithCancel(context.Background())
		out := &syncBuffer{}
		done := make(chan int)
		go func() {
			done <- Run(ctx, []string{"dev", "--addr", "127.0.0.1:0", "--quiet", path}, func(string) string { return "" }, strings.NewReader(""), out, io.Discard)
		}()
		for !strings.Contains(out.String(), "TAKOS_DEV_ADMIN_TOKEN=") {
			time.Sleep(50 * time.Microsecond)
		}
		b.StopTimer()
		cancel()
		<-done
		b.StartTimer()
	}
}
