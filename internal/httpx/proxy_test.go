package httpx

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// recordingProxy is a forward proxy on loopback that records every request
// it receives (method, target and Authorization header) and answers 502.
type recordingProxy struct {
	*httptest.Server
	mu   sync.Mutex
	seen []string
}

func newRecordingProxy(t *testing.T) *recordingProxy {
	p := &recordingProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Method+" "+r.RequestURI+" auth="+r.Header.Get("Authorization"))
		p.mu.Unlock()
		http.Error(w, "recording proxy", http.StatusBadGateway)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *recordingProxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

// TestLoopbackNeverProxied: with HTTP_PROXY and HTTPS_PROXY set, a request
// to any loopback spelling — *.localhost included, which Go's own bypass
// misses — goes straight to this machine with its bearer token, and the
// proxy receives nothing; a request elsewhere does go through the proxy
// (so the proxy settings are live in this test).
func TestLoopbackNeverProxied(t *testing.T) {
	proxy := newRecordingProxy(t)
	for _, k := range []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"} {
		t.Setenv(k, proxy.URL)
	}
	t.Setenv("NO_PROXY", "")
	t.Setenv("no_proxy", "")
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("Authorization") != "Bearer tak_pat_secret" {
			t.Errorf("the server got Authorization %q", r.Header.Get("Authorization"))
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	lookups := map[string]int{}
	var mu sync.Mutex
	c, _ := newTestClient(Options{LookupHost: func(_ context.Context, host string) ([]netip.Addr, error) {
		mu.Lock()
		lookups[host]++
		mu.Unlock()
		if host == "takos.localhost" {
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}})
	hosts := []string{"takos.localhost", "TAKOS.Localhost.", "api.takos.localhost", "localhost", "127.0.0.1"}
	for _, h := range hosts {
		req, _ := http.NewRequest("GET", "http://"+net.JoinHostPort(h, port)+"/api/me/oauth/clients", nil)
		req.Header.Set("Authorization", "Bearer tak_pat_secret")
		resp, err := c.Do(req)
		if err != nil {
			t.Errorf("%s: %v", h, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d, want the server's 200", h, resp.StatusCode)
		}
	}
	if got := hits.Load(); got != int32(len(hosts)) {
		t.Errorf("the server got %d requests, want %d", got, len(hosts))
	}
	if seen := proxy.requests(); len(seen) != 0 {
		t.Errorf("the proxy received loopback requests: %q", seen)
	}
	if lookups["takos.localhost"] != 1 || lookups["api.takos.localhost"] != 1 {
		t.Errorf("lookups = %v; every .localhost name must be resolved by the dialer", lookups)
	}

	// The proxy is in use for everything else.
	req, _ := http.NewRequest("GET", "https://control.example.test/x", nil)
	req.Header.Set("Authorization", "Bearer tak_pat_secret")
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
	}
	if seen := proxy.requests(); len(seen) == 0 || !strings.HasPrefix(seen[0], "CONNECT control.example.test:443 ") {
		t.Errorf("proxy saw %q, want a CONNECT for the non-loopback host", seen)
	}
}

// TestLoopbackNameMustResolveToLoopback: a .localhost name that resolves
// off this machine is refused before any connection, and not retried; a
// name nothing resolves is loopback (RFC 6761).
func TestLoopbackNameMustResolveToLoopback(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	answers := map[string][]netip.Addr{
		"evil.localhost":   {netip.MustParseAddr("10.0.0.7")},
		"mixed.localhost":  {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("203.0.113.9")},
		"v6.localhost":     {netip.MustParseAddr("2001:db8::1")},
		"mapped.localhost": {netip.MustParseAddr("::ffff:127.0.0.1")},
	}
	var lookups atomic.Int32
	c, fs := newTestClient(Options{LookupHost: func(_ context.Context, host string) ([]netip.Addr, error) {
		lookups.Add(1)
		if a, ok := answers[host]; ok {
			return a, nil
		}
		return nil, errors.New("server misbehaving")
	}})
	for _, h := range []string{"evil.localhost", "mixed.localhost", "v6.localhost"} {
		lookups.Store(0)
		_, err := c.Get("http://" + net.JoinHostPort(h, port) + "/")
		var nl *NonLoopbackError
		if !errors.As(err, &nl) || nl.Host != h {
			t.Errorf("%s: err = %v, want a NonLoopbackError", h, err)
		}
		if n := lookups.Load(); n != 1 {
			t.Errorf("%s: resolved %d times; a refusal is not retried", h, n)
		}
	}
	if hits.Load() != 0 || len(fs.waits) != 0 {
		t.Errorf("server hits %d, retry waits %v; want none", hits.Load(), fs.waits)
	}
	for _, h := range []string{"mapped.localhost", "unknown.localhost"} {
		resp, err := c.Get("http://" + net.JoinHostPort(h, port) + "/")
		if err != nil {
			t.Errorf("%s: %v", h, err)
			continue
		}
		resp.Body.Close()
	}
	if hits.Load() != 2 {
		t.Errorf("server hits %d, want 2 (a v4-mapped loopback answer and an unknown name)", hits.Load())
	}
}

// TestProxyFromEnvironmentPerClient: the proxy settings are read when the
// client is built (not once per process as net/http does), which is what
// lets the test above set them.
func TestProxyFromEnvironmentPerClient(t *testing.T) {
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	tr := NewClient(Options{}).Transport.(*Transport).opt.Base.(*http.Transport)
	u, _ := url.Parse("https://example.test/")
	got, err := tr.Proxy(&http.Request{URL: u})
	if err != nil || got == nil || got.Host != "127.0.0.1:1" {
		t.Errorf("proxy for %s = %v, %v; want 127.0.0.1:1", u, got, err)
	}
}

// TestUnknownHostNotRetried: "no such host" is a typo, not an outage; a
// resolver that timed out is worth another try.
func TestUnknownHostNotRetried(t *testing.T) {
	for _, tc := range []struct {
		err       *net.DNSError
		wantCalls int32
	}{
		{&net.DNSError{Err: "no such host", Name: "takos.exmaple.com", IsNotFound: true}, 1},
		{&net.DNSError{Err: "i/o timeout", Name: "takos.example.com", IsTimeout: true, IsTemporary: true}, 5},
		{&net.DNSError{Err: "server misbehaving", Name: "takos.example.com", IsTemporary: true}, 5},
	} {
		var calls atomic.Int32
		base := roundTripFunc(func(*http.Request) (*http.Response, error) {
			calls.Add(1)
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: tc.err}
		})
		c, fs := newTestClient(Options{Base: base})
		_, err := c.Get("https://" + tc.err.Name + "/api")
		if err == nil {
			t.Fatalf("%s: no error", tc.err)
		}
		if got := calls.Load(); got != tc.wantCalls {
			t.Errorf("%s: %d attempts, want %d", tc.err, got, tc.wantCalls)
		}
		if tc.wantCalls == 1 && len(fs.waits) != 0 {
			t.Errorf("%s: waited %v before giving up", tc.err, fs.waits)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
