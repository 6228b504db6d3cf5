package oauthmeta

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/takos-dev/takos-apply/internal/hostiletest"
	"github.com/takos-dev/takos-apply/internal/httpx"
)

func serve(t *testing.T, status int, body string, hits *atomic.Int32) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != Path || r.Header.Get("Authorization") != "" {
			w.WriteHeader(http.StatusTeapot)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(strings.ReplaceAll(body, "SELF", "http://"+r.Host)))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestFetch(t *testing.T) {
	hc := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range []struct {
		name, body string
		status     int
		want       *Metadata // URL filled in
		err        string
		notFound   bool
	}{
		{name: "full", status: 200,
			body: `{"issuer":"SELF","token_endpoint":"SELF/token","grant_types_supported":["a"],"scopes_supported":["openid"]}`,
			want: &Metadata{Issuer: "SELF", TokenEndpoint: "SELF/token", GrantTypesSupported: []string{"a"}, ScopesSupported: []string{"openid"}}},
		{name: "empty document", status: 200, body: `{}`, want: &Metadata{}},
		{name: "404", status: 404, body: `{"error":{"code":"NOT_FOUND","message":"Route not found"}}`, err: "answered HTTP 404", notFound: true},
		{name: "503", status: 503, body: `oops`, err: "answered HTTP 503"},
		{name: "not JSON", status: 200, body: `<html>`, err: "not a JSON metadata document"},
		{name: "scopes a string", status: 200, body: `{"scopes_supported":"openid profile"}`, err: `"scopes_supported" is not an array of strings`},
		{name: "issuer a number", status: 200, body: `{"issuer":1}`, err: `"issuer" is not a string`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := serve(t, tc.status, tc.body, &hits)
			m, err := Fetch(context.Background(), hc, srv.URL+"/")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Fetch() = %v, want an error containing %q", err, tc.err)
				}
				if IsNotFound(err) != tc.notFound {
					t.Errorf("IsNotFound(%v) = %v, want %v", err, !tc.notFound, tc.notFound)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch() = %v", err)
			}
			want := *tc.want
			want.URL = srv.URL + Path
			want.Issuer = strings.ReplaceAll(want.Issuer, "SELF", srv.URL)
			want.TokenEndpoint = strings.ReplaceAll(want.TokenEndpoint, "SELF", srv.URL)
			if diff := cmp.Diff(&want, m); diff != "" {
				t.Errorf("Fetch() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFetchRefusesPlainHTTPElsewhere(t *testing.T) {
	_, err := Fetch(context.Background(), http.DefaultClient, "http://takos.example")
	if err == nil || !strings.Contains(err.Error(), "https") {
		t.Fatalf("Fetch(http://takos.example) = %v, want an https error", err)
	}
}

// TestCheckIssuerTakos: the real Takos reports https://$ADMIN_DOMAIN as its
// issuer whatever URL it is reached on.
func TestCheckIssuerTakos(t *testing.T) {
	m := &Metadata{Issuer: "https://admin.takos.example"}
	err := m.CheckIssuer("https://takos-abc.a.run.app")
	var ie *IssuerMismatchError
	if !errors.As(err, &ie) || ie.Issuer != "https://admin.takos.example" || ie.Want != "https://takos-abc.a.run.app" {
		t.Fatalf("CheckIssuer() = %#v, want an IssuerMismatchError naming both URLs", err)
	}
	for _, ok := range []string{"https://admin.takos.example", "https://admin.takos.example/"} {
		if err := m.CheckIssuer(ok); err != nil {
			t.Errorf("CheckIssuer(%q) = %v, want nil", ok, err)
		}
	}
	if err := (&Metadata{}).CheckIssuer("https://x.example"); err != nil {
		t.Errorf("CheckIssuer() without issuer = %v, want nil", err)
	}
}

func TestCacheFetchesOnce(t *testing.T) {
	for _, status := range []int{200, 503} {
		var hits atomic.Int32
		srv := serve(t, status, `{"issuer":"SELF"}`, &hits)
		c := NewCache(&http.Client{Timeout: 5 * time.Second}, srv.URL)
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() { defer wg.Done(); _, errs[i] = c.Get(context.Background()) }()
		}
		wg.Wait()
		if got := hits.Load(); got != 1 {
			t.Errorf("status %d: %d requests for 8 Gets, want 1", status, got)
		}
		for _, err := range errs {
			if (err == nil) != (status == 200) {
				t.Errorf("status %d: Get() = %v", status, err)
			}
		}
	}
}

// TestCacheBudget: against a server that never answers, the one fetch
// gives up after the budget — not after the client's per-request timeout
// and retries — and says so.
func TestCacheBudget(t *testing.T) {
	budget = 300 * time.Millisecond
	t.Cleanup(func() { budget = Budget })
	base := hostiletest.Hanging(t)
	c := NewCache(httpx.NewClient(httpx.Options{}), base)
	start := time.Now()
	_, err := c.Get(context.Background())
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Get took %v against a hanging server, want about the %v budget", d, budget)
	}
	if err == nil || !strings.Contains(err.Error(), "no answer within 300ms") {
		t.Errorf("Get() = %v, want the budget in the error", err)
	}
	// With a deadline, the fetch takes at most a quarter of what is left.
	dctx, dcancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer dcancel()
	budget = time.Minute
	if _, err := NewCache(httpx.NewClient(httpx.Options{}), base).Get(dctx); err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Errorf("Get(800ms left) = %v, want a 200ms budget", err)
	}
	// A caller's own cancellation is reported as such.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NewCache(httpx.NewClient(httpx.Options{}), base).Get(ctx); err == nil || strings.Contains(err.Error(), "no answer within") {
		t.Errorf("Get(cancelled) = %v, want the cancellation", err)
	}
}
