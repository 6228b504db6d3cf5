package cli

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/export/exporttest"
)

const faultManifest = `apiVersion: takos.dev/v1alpha1
kind: App
metadata:
  name: demo
spec:
  version: 1.0.0
  oauth:
    clientName: Demo
    redirectUris: [https://demo.example.com/cb]
    scopes: [openid, profile]
`

// writeManifest puts faultManifest at dir/.takos/app.yml, where a step
// without arguments finds it.
func writeManifest(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, ".takos"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".takos", "app.yml"), []byte(faultManifest), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runner fixture: a simulated Actions step against a fake control plane.
type step struct {
	t      *testing.T
	cp     *devserver.Server
	dir    string
	env    map[string]string
	stdout string
	stderr string
	code   int
}

func newStep(t *testing.T, cp *devserver.Server) *step {
	dir := t.TempDir()
	writeManifest(t, dir)
	env := map[string]string{
		"GITHUB_ACTIONS":      "true",
		"GITHUB_OUTPUT":       filepath.Join(dir, "output"),
		"GITHUB_ENV":          filepath.Join(dir, "env"),
		"GITHUB_STEP_SUMMARY": filepath.Join(dir, "summary"),
		"TAKOS_API_URL":       cp.URL,
		"TAKOS_TOKEN":         cp.Token,
		"HOME":                dir,
	}
	for _, f := range []string{"output", "env", "summary"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &step{t: t, cp: cp, dir: dir, env: env}
}

func (s *step) apply(args ...string) {
	var stdout, stderr bytes.Buffer
	full := append([]string{"apply", "--timeout", "2s"}, args...)
	full = append(full, filepath.Join(s.dir, ".takos", "app.yml"))
	s.code = Run(context.Background(), full, func(k string) string { return s.env[k] }, strings.NewReader(""), &stdout, &stderr)
	s.stdout, s.stderr = stdout.String(), stderr.String()
}

func (s *step) file(name string) string {
	b, _ := os.ReadFile(filepath.Join(s.dir, name))
	return string(b)
}

// checkInvariants asserts what must hold after any run, failed or not: at
// most one active client named Demo (exactly one after success); every
// secret the server ever issued was delivered to GITHUB_OUTPUT or belongs
// to a revoked client; no secret appears unmasked in stdout or at all in
// stderr; success exports the active client's id.
func checkInvariants(t *testing.T, cp *devserver.Server, steps ...*step) {
	t.Helper()
	var active []devserver.StoredClient
	for _, c := range cp.Clients() {
		if c.Status == "active" && c.Name == "Demo" {
			active = append(active, c)
		}
	}
	if len(active) > 1 {
		t.Errorf("%d active clients named Demo, want at most 1", len(active))
	}
	last := steps[len(steps)-1]
	if last.code == ExitOK {
		if len(active) != 1 {
			t.Fatalf("exit 0 but %d active clients", len(active))
		}
		if !strings.Contains(last.file("output"), active[0].ClientID) {
			t.Errorf("exit 0 but GITHUB_OUTPUT does not hold the active client id:\n%s", last.file("output"))
		}
	}
	var delivered strings.Builder
	for _, s := range steps {
		delivered.WriteString(s.file("output"))
	}
	for _, secret := range cp.IssuedSecrets() {
		var owner *devserver.StoredClient
		for _, c := range cp.Clients() {
			if cp.SecretMatches(c.ClientID, secret) {
				owner = &c
				break
			}
		}
		if owner == nil {
			t.Fatalf("issued secret matches no stored client")
		}
		if owner.Status == "active" && !strings.Contains(delivered.String(), secret) {
			t.Errorf("client %s is active but its secret was delivered nowhere", owner.ClientID)
		}
		for _, s := range steps {
			for _, line := range strings.Split(s.stdout, "\n") {
				if strings.Contains(line, secret) && line != "::add-mask::"+secret {
					t.Errorf("stdout shows a secret outside ::add-mask::: %q", strings.ReplaceAll(line, secret, "<SECRET>"))
				}
			}
			if strings.Contains(s.stderr, secret) {
				t.Errorf("stderr contains a secret")
			}
		}
	}
}

// TestFaults injects a fault into one apply, checks the exit code and the
// invariants, then runs a clean apply and checks that it converges.
func TestFaults(t *testing.T) {
	existing := func(cp *devserver.Server) {
		cp.Seed(devserver.StoredClient{Name: "Demo", RedirectURIs: []string{"https://demo.example.com/cb"}, AllowedScopes: []string{"openid"}})
	}
	tests := []struct {
		name     string
		seed     func(*devserver.Server)
		faults   []devserver.Fault
		args     []string
		env      map[string]string
		wantCode int
		wantErr  string // fragment of stderr
	}{
		{name: "create 500 before acting", faults: []devserver.Fault{{Method: "POST", Kind: devserver.StatusBeforeAct, Status: 500}}, wantCode: ExitOK},
		{name: "create 500 after acting", faults: []devserver.Fault{{Method: "POST", Kind: devserver.StatusAfterAct, Status: 500}}, wantCode: ExitOK},
		{name: "create 503 after acting three times", faults: []devserver.Fault{{Method: "POST", Kind: devserver.StatusAfterAct, Status: 503, Times: 3}}, wantCode: ExitFailure, wantErr: "create"},
		{name: "create reset before acting", faults: []devserver.Fault{{Method: "POST", Kind: devserver.ResetBeforeAct}}, wantCode: ExitOK},
		{name: "create reset after acting", faults: []devserver.Fault{{Method: "POST", Kind: devserver.ResetAfterAct}}, wantCode: ExitOK},
		{name: "create malformed reply", faults: []devserver.Fault{{Method: "POST", Kind: devserver.MalformedJSON}}, wantCode: ExitOK},
		{name: "create timeout after acting", faults: []devserver.Fault{{Method: "POST", Kind: devserver.Delay, Delay: 2500 * time.Millisecond}}, wantCode: ExitOK},
		{name: "create 400", faults: []devserver.Fault{{Method: "POST", Kind: devserver.StatusBeforeAct, Status: 400}}, wantCode: ExitFailure},
		{name: "create 401 mid-run", faults: []devserver.Fault{{Method: "POST", Kind: devserver.StatusBeforeAct, Status: 401}}, wantCode: ExitFailure, wantErr: "credentials"},
		{name: "create redirected", faults: []devserver.Fault{{Method: "POST", Kind: devserver.Redirect}}, wantCode: ExitFailure, wantErr: "redirect"},
		{name: "list 503 once", faults: []devserver.Fault{{Method: "GET", Path: "/api/", Kind: devserver.StatusBeforeAct, Status: 503}}, wantCode: ExitOK},
		{name: "list 429 with Retry-After", faults: []devserver.Fault{{Method: "GET", Path: "/api/", Kind: devserver.StatusBeforeAct, Status: 429, RetryAfter: "1"}}, wantCode: ExitOK},
		{name: "list 500 always", faults: []devserver.Fault{{Method: "GET", Path: "/api/", Kind: devserver.StatusBeforeAct, Status: 500, Times: 5}}, wantCode: ExitFailure},
		{name: "list reset once", faults: []devserver.Fault{{Method: "GET", Path: "/api/", Kind: devserver.ResetBeforeAct}}, wantCode: ExitOK},
		{name: "list malformed", faults: []devserver.Fault{{Method: "GET", Path: "/api/", Kind: devserver.MalformedJSON}}, wantCode: ExitFailure},
		{name: "discovery 503 always", faults: []devserver.Fault{{Method: "GET", Path: "/.well-known/", Kind: devserver.StatusBeforeAct, Status: 503, Times: 5}}, wantCode: ExitOK, wantErr: "warning: fetch OAuth discovery"},
		{name: "update 503 once", seed: existing, faults: []devserver.Fault{{Method: "PATCH", Kind: devserver.StatusBeforeAct, Status: 503}}, wantCode: ExitOK},
		{name: "update reset after acting", seed: existing, faults: []devserver.Fault{{Method: "PATCH", Kind: devserver.ResetAfterAct}}, wantCode: ExitOK},
		{name: "update 401", seed: existing, faults: []devserver.Fault{{Method: "PATCH", Kind: devserver.StatusBeforeAct, Status: 401}}, wantCode: ExitFailure},
		{name: "rotate revoke 503 once", seed: existing, args: []string{"--rotate-secret"}, faults: []devserver.Fault{{Method: "DELETE", Kind: devserver.StatusBeforeAct, Status: 503}}, wantCode: ExitOK},
		{name: "rotate create reset after acting", seed: existing, args: []string{"--rotate-secret"}, faults: []devserver.Fault{{Method: "POST", Kind: devserver.ResetAfterAct}}, wantCode: ExitOK},
		{name: "GITHUB_OUTPUT not writable", env: map[string]string{"GITHUB_OUTPUT": "/nonexistent/dir/output"}, wantCode: ExitFailure, wantErr: "GITHUB_OUTPUT"},
		{name: "GITHUB_OUTPUT unset", env: map[string]string{"GITHUB_OUTPUT": ""}, wantCode: ExitFailure, wantErr: "GITHUB_OUTPUT"},
		{name: "rotate with GITHUB_OUTPUT not writable", seed: existing, args: []string{"--rotate-secret"}, env: map[string]string{"GITHUB_OUTPUT": "/nonexistent/dir/output"}, wantCode: ExitFailure},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cp := devservertest.New(t)
			if tc.seed != nil {
				tc.seed(cp)
			}
			before := cp.Clients()
			for _, f := range tc.faults {
				cp.Inject(f)
			}
			s := newStep(t, cp)
			for k, v := range tc.env {
				s.env[k] = v
			}
			s.apply(tc.args...)
			if s.code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", s.code, tc.wantCode, s.stdout, s.stderr)
			}
			if tc.wantErr != "" && !strings.Contains(s.stderr, tc.wantErr) {
				t.Errorf("stderr %q, want it to mention %q", s.stderr, tc.wantErr)
			}
			checkInvariants(t, cp, s)
			if s.code != ExitOK {
				// The seeded client must survive a failed run untouched.
				for _, b := range before {
					if c, _ := cp.Client(b.ClientID); c.Status != b.Status {
						t.Errorf("failed run changed seeded client %s from %s to %s", b.ClientID, b.Status, c.Status)
					}
				}
			}
			// A clean re-run converges whatever the fault left behind.
			again := newStep(t, cp)
			again.apply()
			if again.code != ExitOK {
				t.Fatalf("re-run exit %d:\n%s", again.code, again.stderr)
			}
			checkInvariants(t, cp, s, again)
		})
	}
}

// TestRacingApplies runs two applies of one manifest at once; they must end
// with exactly one active client whose secret was delivered.
func TestRacingApplies(t *testing.T) {
	for i := range 10 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			cp := devservertest.New(t)
			a, b := newStep(t, cp), newStep(t, cp)
			var wg sync.WaitGroup
			for _, s := range []*step{a, b} {
				wg.Add(1)
				go func() { defer wg.Done(); s.apply() }()
			}
			wg.Wait()
			if a.code != ExitOK && b.code != ExitOK {
				t.Fatalf("both applies failed:\n%s\n%s", a.stderr, b.stderr)
			}
			checkInvariants(t, cp, a, b)
			active := 0
			for _, c := range cp.Clients() {
				if c.Status == "active" {
					active++
				}
			}
			if active != 1 {
				t.Errorf("%d active clients after racing applies, want 1", active)
			}
			// Whatever each run exported last must be usable: the active
			// client's id with its secret, or with no secret at all.
			for _, s := range []*step{a, b} {
				if s.code != ExitOK {
					continue
				}
				recs, err := exporttest.ParseFileCommands(s.file("output"))
				if err != nil {
					t.Fatal(err)
				}
				last := map[string]string{}
				for _, r := range recs {
					last[r.Name] = r.Value
				}
				if c, ok := cp.Client(last["client-id"]); !ok || c.Status != "active" {
					t.Errorf("a run's last client-id %q is not the active client", last["client-id"])
				}
				if sec := last["client-secret"]; sec != "" && !cp.SecretMatches(last["client-id"], sec) {
					t.Errorf("a run's last client-secret does not belong to its last client-id")
				}
			}
		})
	}
}

// TestRacingAppliesSameMillisecond forces the interleaving that used to
// leave two active clients (TestRacingApplies hit it about 5 times in 100):
// both runs list before either creates; run X creates and checks, seeing
// only its own client; then run Y creates in the same millisecond (the
// server's clock is frozen) with a smaller client id, and checks, seeing
// both. Only the settle-and-list step of reconcile.Apply makes X see Y's
// client before it decides; without it both runs keep their own.
func TestRacingAppliesSameMillisecond(t *testing.T) {
	frozen := time.Date(2026, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
	cp := devservertest.New(t, devserver.WithClock(func() time.Time { return frozen }),
		devserver.WithRand(&descendingRand{}))
	wait := func(ch <-chan struct{}, what string) {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			t.Errorf("timed out waiting for %s", what)
		}
	}
	const clients = "/api/me/oauth/clients"
	var listed sync.WaitGroup
	listed.Add(4)
	baselines, xChecked, yCreated := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() { listed.Wait(); close(baselines) }()
	// Both runs' plan and baseline lists come first.
	cp.Inject(devserver.Fault{Method: "GET", Path: clients, Times: 4, AfterAct: listed.Done})
	// X's create waits for them; Y's create waits for X's first check.
	cp.Inject(devserver.Fault{Method: "POST", Path: clients, BeforeAct: func() { wait(baselines, "both baselines") }})
	cp.Inject(devserver.Fault{Method: "POST", Path: clients,
		BeforeAct: func() { wait(xChecked, "run X's check") }, AfterAct: func() { close(yCreated) }})
	cp.Inject(devserver.Fault{Method: "GET", Path: clients, AfterAct: func() { close(xChecked) }})
	// The next list (X's after settling, or Y's check) comes after Y's
	// create, still in the same millisecond.
	cp.Inject(devserver.Fault{Method: "GET", Path: clients, BeforeAct: func() { wait(yCreated, "run Y's create") }})

	a, b := newStep(t, cp), newStep(t, cp)
	var wg sync.WaitGroup
	for _, s := range []*step{a, b} {
		wg.Go(func() { s.apply() })
	}
	wg.Wait()
	all := cp.Clients()
	if len(all) != 2 {
		t.Fatalf("%d clients were created, want 2: the test did not force the race", len(all))
	}
	// Seeded in creation order: X's, then Y's, whose id must sort first.
	if !(all[1].ClientID < all[0].ClientID) || !all[0].CreatedAt.Equal(all[1].CreatedAt) {
		t.Fatalf("test setup: want Y's client id %q < X's %q and equal CreatedAt", all[1].ClientID, all[0].ClientID)
	}
	checkInvariants(t, cp, a, b)
	var active []string
	for _, c := range cp.Clients() {
		if c.Status == "active" {
			active = append(active, c.ClientID)
		}
	}
	if len(active) != 1 || active[0] != all[1].ClientID {
		t.Errorf("active clients %q, want only Y's %q (the tie's smaller id)", active, all[1].ClientID)
	}
	for _, s := range []*step{a, b} {
		if s.code != ExitOK {
			t.Errorf("exit %d, want 0:\n%s", s.code, s.stderr)
		}
	}
}

// descendingRand is a random source whose every Read fills the buffer with
// one byte value, lower on each call, so a later client id sorts first.
type descendingRand struct {
	mu sync.Mutex
	n  byte
}

func (r *descendingRand) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.n++
	for i := range p {
		p[i] = 0xff - r.n
	}
	return len(p), nil
}

// TestPlanOnlyReads checks that plan never writes, even for a change.
func TestPlanOnlyReads(t *testing.T) {
	cp := devservertest.New(t)
	cp.Seed(devserver.StoredClient{Name: "Demo", RedirectURIs: []string{"https://old.example.com/cb"}, AllowedScopes: []string{"openid"}})
	s := newStep(t, cp)
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"plan", filepath.Join(s.dir, ".takos", "app.yml")},
		func(k string) string { return s.env[k] }, strings.NewReader(""), &stdout, &stderr)
	if code != ExitOK || !strings.Contains(stdout.String(), "~ redirectUris: https://old.example.com/cb -> https://demo.example.com/cb") {
		t.Fatalf("plan = %d\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, r := range cp.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("plan sent %s %s", r.Method, r.Path)
		}
	}
}

// TestServerScopeCatalog checks that the control plane's scopes_supported
// replaces the embedded catalog before any write: a scope the server does
// not publish stops apply with a positioned lint error and no request
// other than reads.
func TestServerScopeCatalog(t *testing.T) {
	cp := devservertest.New(t, devserver.WithScopesSupported("openid"))
	s := newStep(t, cp)
	delete(s.env, "GITHUB_ACTIONS")
	s.apply()
	if s.code != ExitFindings {
		t.Fatalf("exit %d, want %d:\n%s%s", s.code, ExitFindings, s.stdout, s.stderr)
	}
	if !strings.Contains(s.stderr, `app.yml:10:22: error: unknown scope "profile"`) || !strings.Contains(s.stderr, "[scope-unknown]") {
		t.Errorf("stderr does not report profile at its position:\n%s", s.stderr)
	}
	for _, r := range cp.Requests() {
		if r.Method != http.MethodGet {
			t.Errorf("apply sent %s %s despite the finding", r.Method, r.Path)
		}
	}
	if len(cp.Clients()) != 0 {
		t.Errorf("clients were created: %v", cp.Clients())
	}
}

// TestLostRaceRetractsSecret makes a concurrent run's older client appear
// between this run's create and its race check: this run must revoke its
// own client and withdraw the secret it already delivered from every sink,
// so later steps never pair the winner's id with a dead secret.
func TestLostRaceRetractsSecret(t *testing.T) {
	cp := devservertest.New(t)
	winner := olderClientAfterCreate(cp)
	s := newStep(t, cp)
	envFile := filepath.Join(s.dir, ".env")
	s.apply("--export-env", "--env-file", envFile)
	if s.code != ExitOK {
		t.Fatalf("exit %d:\n%s", s.code, s.stderr)
	}
	checkInvariants(t, cp, s)
	last := func(text string) map[string]string {
		recs, err := exporttest.ParseFileCommands(text)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, r := range recs {
			m[r.Name] = r.Value
		}
		return m
	}
	out, env := last(s.file("output")), last(s.file("env"))
	if out["client-id"] != winner.ClientID || out["client-secret"] != "" || out["action"] != "unchanged" {
		t.Errorf("last outputs = client-id %q, secret blank %v, action %q; want the winner, a blank secret, unchanged",
			out["client-id"], out["client-secret"] == "", out["action"])
	}
	if env["OAUTH_CLIENT_ID"] != winner.ClientID || env["OAUTH_CLIENT_SECRET"] != "" {
		t.Errorf("last GITHUB_ENV = id %q, secret blank %v; want the winner and a blank secret", env["OAUTH_CLIENT_ID"], env["OAUTH_CLIENT_SECRET"] == "")
	}
	dotenv := s.file(".env")
	if !strings.Contains(dotenv, "OAUTH_CLIENT_ID='"+winner.ClientID+"'") || !strings.Contains(dotenv, "OAUTH_CLIENT_SECRET=''") {
		t.Errorf("dotenv does not hold the winner and a blank secret:\n%s", dotenv)
	}
	if !strings.Contains(s.stderr, "must not be used") {
		t.Errorf("stderr does not warn that the delivered secret is dead:\n%s", s.stderr)
	}
}

// TestEnvFileNamedTerminal is --env-file terminal in a lost race outside
// Actions. While sinks were strings, the dotenv path "terminal" was taken
// for the one-time print: the dead secret stayed in the file, and the run
// warned about a print that never happened.
func TestEnvFileNamedTerminal(t *testing.T) {
	cp := devservertest.New(t)
	winner := olderClientAfterCreate(cp)
	s := newStep(t, cp)
	for _, k := range []string{"GITHUB_ACTIONS", "GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY"} {
		delete(s.env, k)
	}
	t.Chdir(s.dir)
	s.apply("--env-file", "terminal")
	if s.code != ExitOK {
		t.Fatalf("exit %d:\n%s", s.code, s.stderr)
	}
	dotenv := s.file("terminal")
	if !strings.Contains(dotenv, "OAUTH_CLIENT_ID='"+winner.ClientID+"'") || !strings.Contains(dotenv, "OAUTH_CLIENT_SECRET=''") {
		t.Errorf("dotenv file \"terminal\" does not hold the winner and a blank secret:\n%s", dotenv)
	}
	if strings.Contains(s.stderr, "printed above") {
		t.Errorf("stderr warns about a terminal print that did not happen:\n%s", s.stderr)
	}
	if !strings.Contains(s.stderr, "client secret delivered to terminal") || !strings.Contains(s.stderr, "must not be used") {
		t.Errorf("stderr does not report the delivery to the file and the dead secret:\n%s", s.stderr)
	}
	for _, secret := range cp.IssuedSecrets() {
		if strings.Contains(s.stdout+s.stderr, secret) {
			t.Errorf("a secret appears in the output")
		}
	}
}

// olderClientAfterCreate makes an hour-older client of the same name appear
// right after this run's create, as a concurrent run that won would; the
// returned pointer is filled in when that happens.
func olderClientAfterCreate(cp *devserver.Server) *devserver.StoredClient {
	winner := new(devserver.StoredClient)
	cp.Inject(devserver.Fault{Method: "POST", Path: "/api/me/oauth/clients", AfterAct: func() {
		*winner = cp.Seed(devserver.StoredClient{Name: "Demo", RedirectURIs: []string{"https://demo.example.com/cb"},
			AllowedScopes: []string{"openid", "profile"}, CreatedAt: time.Now().Add(-time.Hour)})
	}})
	return winner
}

// TestActionsFailureIsAnnotation: in Actions a failure of plan or apply is
// an error annotation, as an action's core.setFailed makes it, so the run's
// summary says why the step failed; a terminal keeps the plain line.
func TestActionsFailureIsAnnotation(t *testing.T) {
	cp := devservertest.New(t)
	s := newStep(t, cp)
	s.env["TAKOS_TOKEN"] = "tak_pat_notthetoken0000000000000000000000000000"
	s.apply()
	if s.code != ExitFailure {
		t.Fatalf("exit %d, want 3:\n%s", s.code, s.stderr)
	}
	var errs []string
	for _, l := range strings.Split(s.stderr, "\n") {
		if strings.HasPrefix(l, "::error ") {
			errs = append(errs, l)
		}
		if strings.HasPrefix(l, "takos-apply apply: ") {
			t.Errorf("the failure is also a plain line: %q", l)
		}
	}
	if len(errs) != 1 || !strings.HasPrefix(errs[0], "::error title=takos-apply apply::") || !strings.Contains(errs[0], "rejected the credentials") {
		t.Errorf("error annotations %q, want one titled takos-apply apply that names the refusal:\n%s", errs, s.stderr)
	}
	if strings.Contains(s.stderr, s.env["TAKOS_TOKEN"]) {
		t.Error("the token is in the annotation")
	}
	delete(s.env, "GITHUB_ACTIONS")
	s.apply("--env-file", filepath.Join(s.dir, "app.env"))
	if s.code != ExitFailure || strings.Contains(s.stderr, "::error") || !strings.Contains(s.stderr, "takos-apply apply: ") {
		t.Errorf("in a terminal: exit %d, stderr %q; want 3 and the plain line", s.code, s.stderr)
	}
}
