package auth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/takos-dev/takos-apply/internal/httpx"
)

func TestScrubLongestFirst(t *testing.T) {
	const short = "tok_1234"
	const long = "tok_1234_SUFFIXSECRET" // contains short
	for _, order := range [][]string{{short, long}, {long, short}} {
		t.Run(strings.Join(order, " then "), func(t *testing.T) {
			sink := &maskSink{}
			rt := &state{mask: sink.mask}
			for _, v := range order {
				rt.secret(v)
			}
			got := rt.scrub("a=" + long + " b=" + short)
			if want := "a=[REDACTED] b=[REDACTED]"; got != want {
				t.Errorf("scrub() = %q, want %q", got, want)
			}
			if !sink.has(short) || !sink.has(long) {
				t.Errorf("Mask got %q, want both secrets", sink.values)
			}
		})
	}
}

func TestTransport(t *testing.T) {
	var cpAuth, otherAuth []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherAuth = append(otherAuth, r.Header.Get("Authorization"))
	}))
	defer other.Close()
	cp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cpAuth = append(cpAuth, r.Header.Get("Authorization"))
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
		}
	}))
	defer cp.Close()
	calls := 0
	ts := oauth2.ReuseTokenSource(nil, tokenFunc(func() (*oauth2.Token, error) {
		calls++
		return &oauth2.Token{AccessToken: "cp-bearer-canary", TokenType: "Bearer"}, nil
	}))
	// A client that follows redirects, to prove the transport alone holds
	// the line even without httpx's redirect refusal.
	client := &http.Client{Transport: Transport(ts, http.DefaultTransport, cp.URL+"/api")}

	resp, err := client.Get(cp.URL + "/api/me")
	if err != nil {
		t.Fatalf("GET same origin error = %v", err)
	}
	resp.Body.Close()
	if len(cpAuth) != 1 || cpAuth[0] != "Bearer cp-bearer-canary" {
		t.Errorf("control plane Authorization = %q, want the bearer", cpAuth)
	}

	_, err = client.Get(other.URL + "/x")
	var coe *httpx.CrossOriginError
	if !errors.As(err, &coe) {
		t.Errorf("GET other origin error = %v, want *httpx.CrossOriginError", err)
	}
	_, err = client.Get(cp.URL + "/redirect")
	if !errors.As(err, &coe) {
		t.Errorf("GET redirect to other origin error = %v, want *httpx.CrossOriginError", err)
	}
	if len(otherAuth) != 0 {
		t.Errorf("other origin got %d requests (Authorization %q), want 0", len(otherAuth), otherAuth)
	}
	if calls != 1 {
		t.Errorf("token fetched %d times, want 1 (cross-origin requests must not fetch one)", calls)
	}
}

type tokenFunc func() (*oauth2.Token, error)

func (f tokenFunc) Token() (*oauth2.Token, error) { return f() }
