package controlplane_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/httpx"
)

// These tests run takos-apply's client against the behaviours of the real
// Takos server that devserver reproduces (README, Development):
// each shows the client meets the server's rule, and that the fake would
// have refused a client that did not.

// rewrite is a transport between the bearer layer and the network that
// can break what the client sent, to prove the fake checks it.
type rewrite struct {
	rt  http.RoundTripper
	fn  func(*http.Request)
	mu  sync.Mutex
	got []http.Header
}

func (w *rewrite) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	w.mu.Lock()
	w.got = append(w.got, r.Header.Clone())
	w.mu.Unlock()
	if w.fn != nil {
		w.fn(r)
	}
	return w.rt.RoundTrip(r)
}

// clientVia is newClient with rw wrapped around the bearer layer, so rw
// sees (and may change) the Authorization header the server gets.
func clientVia(t *testing.T, s *devserver.Server, rw *rewrite) *controlplane.Client {
	t.Helper()
	o := httpx.Options{
		UserAgent: "takos-apply/test",
		Sleep:     func(context.Context, time.Duration) error { return nil },
		Jitter:    func() float64 { return 0 },
	}
	hc := httpx.NewClient(o)
	rw.rt = hc.Transport
	hc.Transport = bearer{rt: rw, token: s.Token}
	c, err := controlplane.New(s.URL, hc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClientSendsWhatTakosAccepts: every call the client makes passes the
// server's scheme and Content-Type rules, and the same calls with the
// header changed are refused, so passing is not an accident of a lenient
// fake.
func TestClientSendsWhatTakosAccepts(t *testing.T) {
	name := "Renamed"
	calls := []struct {
		name string
		body bool // POST/PATCH carry a JSON body
		run  func(ctx context.Context, c *controlplane.Client, id string) error
	}{
		{"list", false, func(ctx context.Context, c *controlplane.Client, _ string) error {
			_, err := c.ListClients(ctx)
			return err
		}},
		{"create", true, func(ctx context.Context, c *controlplane.Client, _ string) error {
			_, err := c.CreateClient(ctx, valid)
			return err
		}},
		{"update", true, func(ctx context.Context, c *controlplane.Client, id string) error {
			_, err := c.UpdateClient(ctx, id, controlplane.UpdateRequest{ClientName: &name})
			return err
		}},
		{"revoke", false, func(ctx context.Context, c *controlplane.Client, id string) error { return c.RevokeClient(ctx, id) }},
	}
	breaks := []struct {
		name       string
		fn         func(*http.Request)
		bodyOnly   bool // only refused on requests with a body
		wantStatus int
		wantMsg    string
	}{
		{"as sent", nil, false, 0, ""},
		{"lower-case bearer scheme", func(r *http.Request) {
			r.Header.Set("Authorization", "bearer "+strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
		}, false, 401, "Authentication required"},
		{"text/plain body", func(r *http.Request) {
			if r.Body != nil && r.Body != http.NoBody {
				r.Header.Set("Content-Type", "text/plain")
			}
		}, true, 415, "Unsupported Content-Type: text/plain"},
		{"no Content-Type", func(r *http.Request) { r.Header.Del("Content-Type") }, true, 415, "Missing Content-Type header"},
	}
	for _, call := range calls {
		for _, br := range breaks {
			t.Run(call.name+"/"+br.name, func(t *testing.T) {
				s := devservertest.New(t)
				seeded := s.Seed(devserver.StoredClient{Name: "App", RedirectURIs: []string{"https://a.example/cb"}})
				rw := &rewrite{fn: br.fn}
				err := call.run(context.Background(), clientVia(t, s, rw), seeded.ClientID)
				refused := br.fn != nil && (!br.bodyOnly || call.body)
				if !refused {
					if err != nil {
						t.Fatalf("%s = %v, want success", call.name, err)
					}
				} else {
					var api *controlplane.APIError
					if !errors.As(err, &api) || api.Status != br.wantStatus || !strings.Contains(err.Error(), br.wantMsg) {
						t.Fatalf("%s with %s = %v, want %d mentioning %q", call.name, br.name, err, br.wantStatus, br.wantMsg)
					}
					if after, _ := s.Client(seeded.ClientID); after.Name != "App" || after.Status != "active" || len(s.Clients()) != 1 {
						t.Errorf("a refused %s changed the store", call.name)
					}
				}
				for _, h := range rw.got {
					if a := h.Get("Authorization"); !strings.HasPrefix(a, "Bearer ") {
						t.Errorf("%s sent Authorization scheme %q, want \"Bearer \"", call.name, strings.SplitN(a, " ", 2)[0])
					}
					// A session cookie would win over the bearer on Takos.
					if h.Get("Cookie") != "" {
						t.Errorf("%s sent a Cookie header", call.name)
					}
					ct := h.Get("Content-Type")
					if call.body && ct != "application/json" {
						t.Errorf("%s sent Content-Type %q, want application/json", call.name, ct)
					}
					if !call.body && ct != "" {
						t.Errorf("%s sent Content-Type %q without a body", call.name, ct)
					}
				}
			})
		}
	}
}

// TestRouteErrorsAreClear: the server's own refusals of a route (a client
// id its route parameter check rejects, a path with no API behind it) are
// reported with the server's words and what to do, and are not retried.
func TestRouteErrorsAreClear(t *testing.T) {
	t.Run("client id the server's route check refuses", func(t *testing.T) {
		for _, id := range []string{"abc.def", "abc~def", strings.Repeat("a", 129)} {
			s := devservertest.New(t)
			name := "x"
			_, err := newClient(t, s, httpx.Options{}).UpdateClient(context.Background(), id, controlplane.UpdateRequest{ClientName: &name})
			if err == nil {
				t.Fatalf("UpdateClient(%q) succeeded", id)
			}
			var api *controlplane.APIError
			if errors.As(err, &api) {
				// The request reached the server: its 400 must be reported
				// as what it is, once, and not as a missing client.
				want := "update OAuth client: the control plane refused the request (400 BAD_REQUEST: Invalid route parameter: clientId)"
				if api.Status != 400 || err.Error() != want || controlplane.IsNotFound(err) {
					t.Errorf("UpdateClient(%q) = %v (not found %v), want %q", id, err, controlplane.IsNotFound(err), want)
				}
				if n := requests(s, "PATCH"); n != 1 {
					t.Errorf("the 400 was sent %d times, want once", n)
				}
			} else if len(s.Requests()) != 0 || !strings.Contains(err.Error(), "client") {
				// A client that validates ids itself may refuse first; it
				// must then send nothing and say why.
				t.Errorf("UpdateClient(%q) = %v after %d requests", id, err, len(s.Requests()))
			}
		}
	})
	t.Run("a base URL with no API behind it", func(t *testing.T) {
		s := devservertest.New(t)
		c, err := controlplane.New(s.URL+"/console", wire(t, s.URL, s.Token, httpx.Options{}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListClients(context.Background())
		want := "list OAuth clients: the control plane has no OAuth client API here (404 NOT_FOUND: Not Found); check --control-plane (TAKOS_API_URL)"
		if err == nil || err.Error() != want {
			t.Errorf("ListClients() = %v, want %q", err, want)
		}
		if rs := s.Requests(); len(rs) != 1 || rs[0].Path != "/console/api/me/oauth/clients" || rs[0].Status != 404 {
			t.Errorf("requests = %+v, want one 404 GET of /console/api/me/oauth/clients", rs)
		}
	})
}

// TestTokenEndpointRateLimit: once the real server's token limiter is
// full it answers 429 with Retry-After: 60, beyond httpx's cap on
// Retry-After (MaxRetryAfter, 20 s by default). The token-endpoint
// client (RetryPOST) must then return the 429 at once, after one attempt,
// rather than sleep a minute or hammer the limiter.
func TestTokenEndpointRateLimit(t *testing.T) {
	s := devservertest.New(t)
	var mu sync.Mutex
	var slept []time.Duration
	hc := httpx.NewClient(httpx.Options{
		RetryPOST: true,
		Sleep: func(_ context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			slept = append(slept, d)
			return nil
		},
		Jitter: func() float64 { return 0 },
	})
	post := func() *http.Response {
		t.Helper()
		form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {"x"}}
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 20 {
		// Takos has no token exchange: 400, not retried, but counted.
		if resp := post(); resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("token request %d = %d, want 400 unsupported_grant_type", i+1, resp.StatusCode)
		}
	}
	before := len(s.Requests())
	start := time.Now()
	resp := post()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "60" {
		t.Fatalf("21st token request = %d Retry-After %q, want 429 and 60", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if n := len(s.Requests()) - before; n != 1 {
		t.Errorf("the rate-limited request was sent %d times, want once (Retry-After 60 exceeds the cap)", n)
	}
	if len(slept) != 0 {
		t.Errorf("slept %v before giving up, want no sleep", slept)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v to report a 429 it does not wait for", d)
	}
}

// TestOneRedirectURIIsSentAsAList: Takos walks a string redirect_uris per
// character ("Invalid redirect_uri: h"), so a single URI must still travel
// as a one-element array, on create and on update.
func TestOneRedirectURIIsSentAsAList(t *testing.T) {
	s := devservertest.New(t)
	c := newClient(t, s, httpx.Options{})
	one := []string{"https://app.example.com/cb"}
	reg, err := c.CreateClient(context.Background(), controlplane.CreateRequest{ClientName: "One", RedirectURIs: one})
	if err != nil {
		t.Fatalf("CreateClient with one redirect URI = %v", err)
	}
	other := []string{"https://other.example.com/cb"}
	if _, err := c.UpdateClient(context.Background(), reg.ClientID, controlplane.UpdateRequest{RedirectURIs: &other}); err != nil {
		t.Fatalf("UpdateClient with one redirect URI = %v", err)
	}
	if got, _ := s.Client(reg.ClientID); len(got.RedirectURIs) != 1 || got.RedirectURIs[0] != other[0] {
		t.Errorf("stored redirect URIs = %q, want %q", got.RedirectURIs, other)
	}
}
