package auth

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
	"github.com/takos-dev/takos-apply/internal/httpx"
)

// env is an injectable environment.
type env map[string]string

func (e env) get(k string) string { return e[k] }

func (e env) with(kv ...string) env {
	out := env{}
	for k, v := range e {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// maskSink records what Config.Mask received: the one intended sink for
// secrets.
type maskSink struct {
	mu     sync.Mutex
	values []string
}

func (m *maskSink) mask(v string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values = append(m.values, v)
}

func (m *maskSink) has(v string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.values {
		if s == v {
			return true
		}
	}
	return false
}

// testHTTP is the httpx client auth uses in production, with instant
// backoff so retry schedules cost no wall time.
func testHTTP(timeout time.Duration) *http.Client {
	return httpx.NewClient(httpx.Options{
		RetryPOST: true,
		Timeout:   timeout,
		Sleep:     func(context.Context, time.Duration) error { return nil },
		Jitter:    func() float64 { return 0 },
	})
}

// oidcSetup is a GitHub issuer plus an STS acting as the control plane.
type oidcSetup struct {
	gh   *authtest.GitHubOIDC
	sts  *authtest.STS
	sink *maskSink
	cfg  Config
}

func newOIDCSetup(t *testing.T, opts authtest.STSOptions) *oidcSetup {
	t.Helper()
	gh := authtest.NewGitHubOIDC(t)
	sts := authtest.NewSTS(t, gh.Issuer, opts)
	sink := &maskSink{}
	e := env(gh.Env())
	return &oidcSetup{gh: gh, sts: sts, sink: sink, cfg: Config{
		ControlPlaneURL: sts.URL,
		GitHubActions:   true,
		Getenv:          e.get,
		HTTP:            testHTTP(2 * time.Second),
		Mask:            sink.mask,
		HomeDir:         t.TempDir(),
	}}
}

func mustContain(t *testing.T, what, got string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(got, w) {
			t.Errorf("%s = %q, want it to contain %q", what, got, w)
		}
	}
}

// reqsTo returns the logged requests to path.
func reqsTo(l *authtest.Log, path string) []authtest.Request {
	var out []authtest.Request
	for _, r := range l.Requests() {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// checkTokenErr asserts that err, from Token(), is an *Error whose message
// contains every want and none of wantNot, and that it carries GitHub
// claims exactly when claims is true.
func checkTokenErr(t *testing.T, err error, want, wantNot []string, claims bool) {
	t.Helper()
	if err == nil {
		t.Fatalf("Token() succeeded, want an error containing %q", want)
	}
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("Token() error is %T, want *Error", err)
	}
	mustContain(t, "Token() error", err.Error(), want...)
	for _, n := range wantNot {
		if strings.Contains(err.Error(), n) {
			t.Errorf("Token() error = %q, want it without %q", err, n)
		}
	}
	if got := len(ae.Claims) > 0; got != claims {
		t.Errorf("Token() error has claims = %v, want %v", got, claims)
	}
}

func writeFile(t *testing.T, path, data string, perm os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, perm); err != nil { // umask may have narrowed it
		t.Fatal(err)
	}
}

// writeCredentials writes g's external_account credentials file for gh's
// tokens to a fresh directory and returns its path.
func writeCredentials(t *testing.T, g *authtest.Google, gh *authtest.GitHubOIDC, impersonate bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gha-creds-0123456789abcdef.json")
	writeFile(t, path, string(g.CredentialsJSON(gh, impersonate)), 0o600)
	return path
}
