package broker

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// issuerServer serves an OpenID configuration naming issuer (SELF: its own
// URL) and jwksURI (SELF replaced too), and keys as the JWKS.
func issuerServer(t *testing.T, issuer, jwksURI string, keys ...json.RawMessage) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(nil)
	self := srv.URL
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{
				"issuer": strings.ReplaceAll(issuer, "SELF", self), "jwks_uri": strings.ReplaceAll(jwksURI, "SELF", self)})
		case "/jwks":
			json.NewEncoder(w).Encode(map[string]any{"keys": keys})
		default:
			w.WriteHeader(404)
		}
	})
	t.Cleanup(srv.Close)
	return srv
}

func rsaJWK(t *testing.T, kid, use, alg string) json.RawMessage {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	b, err := jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Use: use, Algorithm: alg}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFetchJWKS(t *testing.T) {
	hc := &http.Client{Timeout: 5 * time.Second}
	weird := json.RawMessage(`{"kty":"XYZ","kid":"w"}`)
	for _, tc := range []struct {
		name, issuer, jwks string
		keys               []json.RawMessage
		want               []string // kids kept
		err                string
	}{
		{name: "keeps RS256 signing keys, skips the rest", issuer: "SELF", jwks: "SELF/jwks",
			keys: []json.RawMessage{weird, rsaJWK(t, "a", "sig", "RS256"), rsaJWK(t, "b", "", ""), rsaJWK(t, "enc", "enc", ""), rsaJWK(t, "ps", "sig", "PS256"), rsaJWK(t, "", "sig", "RS256")},
			want: []string{"a", "b"}},
		{name: "issuer mismatch", issuer: "https://evil.example", jwks: "SELF/jwks", err: `names issuer "https://evil.example"`},
		{name: "plain-http jwks_uri elsewhere", issuer: "SELF", jwks: "http://keys.example/jwks", err: "jwks_uri"},
		{name: "no usable key", issuer: "SELF", jwks: "SELF/jwks", keys: []json.RawMessage{weird}, err: "has no RS256 signing key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := issuerServer(t, tc.issuer, tc.jwks, tc.keys...)
			keys, err := fetchJWKS(context.Background(), hc, srv.URL)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("fetchJWKS() = %v, want an error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for kid := range keys {
				got = append(got, kid)
			}
			if strings.Join(slices.Sorted(slices.Values(got)), ",") != strings.Join(tc.want, ",") {
				t.Errorf("kept kids %v, want %v", got, tc.want)
			}
		})
	}
}

// countingIssuer serves an issuer's discovery document and JWKS, counting
// discovery requests; fail makes it answer 500, block holds each request
// until it is closed.
type countingIssuer struct {
	*httptest.Server
	mu        sync.Mutex
	keys      []json.RawMessage
	fail      bool
	block     chan struct{}
	discovery int
}

func newCountingIssuer(t *testing.T, keys ...json.RawMessage) *countingIssuer {
	t.Helper()
	ci := &countingIssuer{keys: keys}
	ci.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ci.mu.Lock()
		fail, block, keys := ci.fail, ci.block, ci.keys
		if r.URL.Path == "/.well-known/openid-configuration" {
			ci.discovery++
		}
		ci.mu.Unlock()
		if block != nil {
			<-block
		}
		if fail {
			w.WriteHeader(500)
			return
		}
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			json.NewEncoder(w).Encode(map[string]string{"issuer": ci.URL, "jwks_uri": ci.URL + "/jwks"})
		case "/jwks":
			json.NewEncoder(w).Encode(map[string]any{"keys": keys})
		}
	}))
	t.Cleanup(ci.Close)
	return ci
}

func (ci *countingIssuer) set(f func(ci *countingIssuer)) {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	f(ci)
}

func (ci *countingIssuer) fetches() int {
	ci.mu.Lock()
	defer ci.mu.Unlock()
	return ci.discovery
}

// TestKeyFetchesBoundedBeforeFirstLoad (audit finding): before an issuer's
// keys had ever loaded, every token (junk kids included) made the broker
// fetch discovery and JWKS again: a failing or slow issuer got one fetch
// per request. Now the first failure is followed by retryAfter of
// refusals, and concurrent requests share one fetch.
func TestKeyFetchesBoundedBeforeFirstLoad(t *testing.T) {
	ci := newCountingIssuer(t, rsaJWK(t, "a", "sig", "RS256"))
	ci.set(func(ci *countingIssuer) { ci.fail = true })
	c := &clock{now: time.Now()}
	ks := newKeySet(ci.URL, &http.Client{}, c.Now, time.Minute, 5*time.Second)
	for i := range 30 {
		_, err := ks.key(context.Background(), fmt.Sprintf("junk-%d", i))
		if err == nil {
			t.Fatal("a key from a failing issuer")
		}
	}
	if n := ci.fetches(); n != 1 {
		t.Errorf("30 tokens against a failing issuer made %d fetches, want 1", n)
	}
	var wg sync.WaitGroup
	c.Add(11 * time.Second)
	ci.set(func(ci *countingIssuer) { ci.fail = false })
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ks.key(context.Background(), "a"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := ci.fetches(); n != 2 {
		t.Errorf("20 concurrent tokens after the retry interval made %d fetches in all, want 2", n)
	}
}

// TestCachedKeyNotHeldBySlowRefresh (audit finding): a refresh for an
// unknown kid held the key set's lock for the whole fetch, so one slow
// issuer response held up every token whose key was cached. Now the fetch
// runs outside the lock.
func TestCachedKeyNotHeldBySlowRefresh(t *testing.T) {
	ci := newCountingIssuer(t, rsaJWK(t, "a", "sig", "RS256"))
	c := &clock{now: time.Now()}
	ks := newKeySet(ci.URL, &http.Client{}, c.Now, time.Minute, 30*time.Second)
	if _, err := ks.key(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	block := make(chan struct{})
	ci.set(func(ci *countingIssuer) { ci.block = block })
	c.Add(2 * time.Minute)
	refresh := make(chan error, 1)
	go func() { _, err := ks.key(context.Background(), "rotated"); refresh <- err }()
	for ci.fetches() < 2 { // the refresh is waiting on the issuer
		time.Sleep(5 * time.Millisecond)
	}
	cached := make(chan error, 1)
	go func() {
		for range 10 {
			if _, err := ks.key(context.Background(), "a"); err != nil {
				cached <- err
				return
			}
		}
		cached <- nil
	}()
	select {
	case err := <-cached:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		close(block)
		t.Fatal("lookups of a cached key waited for the slow refresh")
	}
	// A request that needs the refresh waits for it within its own context.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := ks.key(ctx, "rotated"); err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("a waiter whose context ends = %v, want its deadline", err)
	}
	close(block)
	if err := <-refresh; err == nil || !strings.Contains(err.Error(), "is not in the JWKS") {
		t.Errorf("the refresh = %v, want kid not in the JWKS", err)
	}
	if n := ci.fetches(); n != 2 {
		t.Errorf("fetches = %d, want 2 (one load, one refresh shared by both waiters)", n)
	}
}
