package controlplane_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/httpx"
)

// bearer is the credentials layer the CLI puts between SameOrigin and the
// retrying transport.
type bearer struct {
	rt    http.RoundTripper
	token string
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.rt.RoundTrip(r)
}

// wire builds the *http.Client the way the CLI does, with instant sleeps.
func wire(t *testing.T, baseURL, token string, o httpx.Options) *http.Client {
	t.Helper()
	o.UserAgent = "takos-apply/test"
	o.Sleep = func(context.Context, time.Duration) error { return nil }
	o.Jitter = func() float64 { return 0 }
	hc := httpx.NewClient(o)
	u, err := httpx.CheckURL(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	hc.Transport = httpx.SameOrigin(bearer{rt: hc.Transport, token: token}, httpx.Origin(u))
	return hc
}

func newClient(t *testing.T, s *devserver.Server, o httpx.Options) *controlplane.Client {
	t.Helper()
	c, err := controlplane.New(s.URL, wire(t, s.URL, s.Token, o))
	if err != nil {
		t.Fatalf("New(%q) = %v", s.URL, err)
	}
	return c
}

func requests(s *devserver.Server, method string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method {
			n++
		}
	}
	return n
}

var valid = controlplane.CreateRequest{
	ClientName:   "My App",
	RedirectURIs: []string{"https://app.example.com/callback", "http://localhost:3000/callback"},
	Scopes:       []string{"openid", "profile", "files:read"},
	LogoURI:      "https://app.example.com/logo.png",
	PolicyURI:    "https://app.example.com/privacy",
}

func TestNew(t *testing.T) {
	hc := &http.Client{}
	tests := []struct {
		url  string
		hc   *http.Client
		want string // "" means success
	}{
		{"https://takos.example", hc, ""},
		{"https://takos.example/prefix/", hc, ""},
		{"http://127.0.0.1:8080", hc, ""},
		{"http://takos.example", hc, "control-plane URL: refusing http://takos.example: plain http is allowed only to loopback (127.0.0.1, [::1], localhost); use https"},
		{"https://user:pw@takos.example", hc, "control-plane URL: URL https://takos.example must not contain credentials; pass a token through TAKOS_TOKEN instead"},
		{"https://takos.example/?token=x", hc, "control-plane URL https://takos.example/ must not have a query or fragment"},
		{"ftp://takos.example", hc, `control-plane URL: URL "ftp://takos.example" must start with https://`},
		{"https://takos.example", nil, "control-plane client: nil *http.Client"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			_, err := controlplane.New(tc.url, tc.hc)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("New(%q) error = %q, want %q", tc.url, got, tc.want)
			}
		})
	}
}

func TestDiscover(t *testing.T) {
	s := devservertest.New(t)
	d, err := newClient(t, s, httpx.Options{}).Discover(context.Background())
	if err != nil {
		t.Fatalf("Discover() = %v", err)
	}
	if diff := cmp.Diff(devserver.Scopes(), d.ScopesSupported); diff != "" {
		t.Errorf("ScopesSupported (-want +got):\n%s", diff)
	}
	// A list other than the registry proves the value comes from the
	// document, not from a built-in default.
	o := devservertest.New(t, devserver.WithScopesSupported("openid", "files:read"))
	d, err = newClient(t, o, httpx.Options{}).Discover(context.Background())
	if err != nil {
		t.Fatalf("Discover() = %v", err)
	}
	if diff := cmp.Diff([]string{"openid", "files:read"}, d.ScopesSupported); diff != "" {
		t.Errorf("ScopesSupported with WithScopesSupported (-want +got):\n%s", diff)
	}

	n := devservertest.New(t, devserver.WithoutDiscovery())
	_, err = newClient(t, n, httpx.Options{}).Discover(context.Background())
	if !errors.Is(err, controlplane.ErrNoDiscovery) || !controlplane.IsNotFound(err) {
		t.Errorf("Discover() without discovery = %v, want ErrNoDiscovery and IsNotFound", err)
	}
	if want := "fetch OAuth discovery: the control plane publishes no OAuth discovery document (404 NOT_FOUND: Not Found)"; err == nil || err.Error() != want {
		t.Errorf("Discover() error = %q, want %q", err, want)
	}
	if requests(n, "GET") != 1 {
		t.Errorf("a 404 was retried: %d GETs", requests(n, "GET"))
	}
	// Only the discovery 404 is ErrNoDiscovery: a client API 404 is not.
	_, err = newClient(t, n, httpx.Options{}).ListClients(context.Background())
	if err != nil {
		t.Fatalf("ListClients() = %v", err)
	}
	_, err = newClient(t, n, httpx.Options{}).UpdateClient(context.Background(), "nope", controlplane.UpdateRequest{})
	if errors.Is(err, controlplane.ErrNoDiscovery) || !controlplane.IsNotFound(err) {
		t.Errorf("UpdateClient(unknown) = %v, want IsNotFound but not ErrNoDiscovery", err)
	}
}

// TestDiscoverReadsOnlyScopes pins that Discover neither requires nor
// checks the document's endpoints (token exchange runs its own discovery
// with its own checks) yet still refuses a scopes_supported it cannot use.
func TestDiscoverReadsOnlyScopes(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string
		err        string // "" means success
	}{
		{"no token_endpoint", `{"issuer":"x"}`, nil, ""},
		{"plain http token_endpoint", `{"token_endpoint":"http://evil.example/token","scopes_supported":["openid"]}`, []string{"openid"}, ""},
		{"scopes_supported not an array", `{"scopes_supported":"openid profile"}`, nil,
			`fetch OAuth discovery: GET SRV/.well-known/oauth-authorization-server: "scopes_supported" is not an array of strings`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := jsonServer(t, 200, tc.body)
			c, _ := controlplane.New(srv.URL, wire(t, srv.URL, "tok", httpx.Options{}))
			d, err := c.Discover(context.Background())
			if tc.err != "" {
				if want := strings.ReplaceAll(tc.err, "SRV", srv.URL); err == nil || err.Error() != want {
					t.Errorf("Discover() = %v, want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Discover() = %v, want success", err)
			}
			if diff := cmp.Diff(tc.want, d.ScopesSupported); diff != "" {
				t.Errorf("ScopesSupported (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCreateListUpdateRevoke(t *testing.T) {
	now := time.Date(2026, 4, 3, 9, 30, 15, 123e6, time.UTC)
	s := devservertest.New(t, devserver.WithClock(func() time.Time { return now }))
	c := newClient(t, s, httpx.Options{})
	ctx := context.Background()

	reg, err := c.CreateClient(ctx, valid)
	if err != nil {
		t.Fatalf("CreateClient() = %v", err)
	}
	if !s.SecretMatches(reg.ClientID, reg.ClientSecret) {
		t.Error("the returned secret does not match the stored hash")
	}
	if len(reg.RegistrationAccessToken) != 43 || reg.RegistrationClientURI != "/oauth/register/"+reg.ClientID || reg.ClientIDIssuedAt != now.Unix() {
		t.Errorf("registration metadata = %v", reg)
	}
	if reg.Scope != "openid profile files:read" || reg.ClientName != "My App" || reg.LogoURI != valid.LogoURI || reg.PolicyURI != valid.PolicyURI || reg.TOSURI != "" {
		t.Errorf("registration = %v", reg)
	}
	stored, _ := s.Client(reg.ClientID)
	if diff := cmp.Diff(valid.Scopes, stored.AllowedScopes); diff != "" {
		t.Errorf("stored scopes (-want +got):\n%s", diff)
	}
	if stored.TOSURI != nil {
		t.Errorf("an empty TOSURI was sent: stored %q", *stored.TOSURI)
	}

	list, err := c.ListClients(ctx)
	if err != nil {
		t.Fatalf("ListClients() = %v", err)
	}
	want := []controlplane.OAuthClient{{
		ClientID: reg.ClientID, Name: "My App", LogoURI: valid.LogoURI,
		RedirectURIs: valid.RedirectURIs, AllowedScopes: valid.Scopes,
		ClientType: "confidential", Status: "active",
		CreatedAt: now.Truncate(time.Millisecond), UpdatedAt: now.Truncate(time.Millisecond),
		// The list view has no policy_uri: unknown, not empty.
		HasPolicyURI: false, HasTOSURI: false,
	}}
	if diff := cmp.Diff(want, list); diff != "" {
		t.Errorf("ListClients() (-want +got):\n%s", diff)
	}

	name, empty := "Renamed", ""
	scopes := []string{"email"}
	upd, err := c.UpdateClient(ctx, reg.ClientID, controlplane.UpdateRequest{ClientName: &name, Scopes: &scopes, LogoURI: &empty})
	if err != nil {
		t.Fatalf("UpdateClient() = %v", err)
	}
	if upd.ID == "" || upd.Name != "Renamed" || upd.LogoURI != "" || !cmp.Equal(upd.AllowedScopes, scopes) || !cmp.Equal(upd.RedirectURIs, valid.RedirectURIs) || !upd.Active() {
		t.Errorf("UpdateClient() = %+v", upd)
	}
	stored, _ = s.Client(reg.ClientID)
	if stored.LogoURI != nil || stored.PolicyURI == nil {
		t.Errorf("after clearing the logo: stored logo %v policy %v, want logo NULL, policy kept", stored.LogoURI, stored.PolicyURI)
	}
	noScopes := []string{}
	if _, err := c.UpdateClient(ctx, reg.ClientID, controlplane.UpdateRequest{Scopes: &noScopes}); err != nil {
		t.Fatalf("UpdateClient(no scopes) = %v", err)
	}
	if stored, _ = s.Client(reg.ClientID); len(stored.AllowedScopes) != 0 {
		t.Errorf("empty Scopes did not clear: %v", stored.AllowedScopes)
	}
	if _, err := c.UpdateClient(ctx, reg.ClientID, controlplane.UpdateRequest{ClientName: &empty}); err == nil {
		t.Error("UpdateClient with an empty name was sent; the server would silently ignore it")
	}

	if err := c.RevokeClient(ctx, reg.ClientID); err != nil {
		t.Fatalf("RevokeClient() = %v", err)
	}
	list, _ = c.ListClients(ctx)
	if len(list) != 1 || list[0].Status != "revoked" || list[0].Active() {
		t.Errorf("after revoke: %+v, want the client listed as revoked", list)
	}
	_, err = c.UpdateClient(ctx, reg.ClientID, controlplane.UpdateRequest{ClientName: &name})
	wantErr := "update OAuth client: client " + reg.ClientID + " not found or revoked (400 BAD_REQUEST: Client not found); remove the pinned client id or create a new client"
	if !controlplane.IsNotFound(err) || err.Error() != wantErr {
		t.Errorf("UpdateClient(revoked) = %v, want IsNotFound and %q", err, wantErr)
	}
	for _, r := range s.Requests() {
		if !r.HasAuth || r.UserAgent != "takos-apply/test" {
			t.Errorf("request %s %s: HasAuth %v, User-Agent %q", r.Method, r.Path, r.HasAuth, r.UserAgent)
		}
	}
}

func TestNotFound(t *testing.T) {
	s := devservertest.New(t, devserver.WithUser("tak_pat_other", "acct_other"))
	other, _ := controlplane.New(s.URL, wire(t, s.URL, "tak_pat_other", httpx.Options{}))
	foreign, err := other.CreateClient(context.Background(), valid)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, s, httpx.Options{})
	name := "x"
	for _, id := range []string{"nope", foreign.ClientID} {
		_, err := c.UpdateClient(context.Background(), id, controlplane.UpdateRequest{ClientName: &name})
		want := "update OAuth client: client " + id + " not found or revoked (404 NOT_FOUND: Client not found); remove the pinned client id or create a new client"
		if !controlplane.IsNotFound(err) || err.Error() != want {
			t.Errorf("UpdateClient(%q) = %v, want %q", id, err, want)
		}
		err = c.RevokeClient(context.Background(), id)
		want = "revoke OAuth client: client " + id + " not found or revoked (404 NOT_FOUND: Client not found); remove the pinned client id or create a new client"
		if !controlplane.IsNotFound(err) || err.Error() != want {
			t.Errorf("RevokeClient(%q) = %v, want %q", id, err, want)
		}
	}
	if got, _ := s.Client(foreign.ClientID); got.Status != "active" {
		t.Error("another owner's client was revoked")
	}
	if requests(s, "PATCH") != 2 || requests(s, "DELETE") != 2 {
		t.Errorf("404s were retried: %d PATCH, %d DELETE", requests(s, "PATCH"), requests(s, "DELETE"))
	}
}

func TestAuthErrors(t *testing.T) {
	const fix = "; check TAKOS_TOKEN or the federation trust policy"
	tests := []struct{ token, want string }{
		{"tak_pat_wrong", "list OAuth clients: the control plane rejected the credentials (401 invalid_token: Invalid or expired PAT)" + fix},
		{"header.payload.sig", "list OAuth clients: the control plane rejected the credentials (401 Unauthorized: OAuth bearer token is not supported on this endpoint. Use OAuth-protected routes.)" + fix},
		{"some-session-id-0123", "list OAuth clients: the control plane rejected the credentials (401 UNAUTHORIZED: Authentication required)" + fix},
	}
	for _, tc := range tests {
		t.Run(tc.token, func(t *testing.T) {
			s := devservertest.New(t)
			c, _ := controlplane.New(s.URL, wire(t, s.URL, tc.token, httpx.Options{}))
			_, err := c.ListClients(context.Background())
			var api *controlplane.APIError
			if !errors.As(err, &api) || api.Status != 401 || err.Error() != tc.want {
				t.Errorf("ListClients() = %v, want %q", err, tc.want)
			}
			if controlplane.IsNotFound(err) || controlplane.IsUncertain(err) {
				t.Error("a 401 is classified as not-found or uncertain")
			}
		})
	}
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		name      string
		fault     devserver.Fault
		call      string
		want      string
		uncertain bool
		requests  int
	}{
		{"403", devserver.Fault{Kind: devserver.StatusBeforeAct, Status: 403}, "list",
			"list OAuth clients: the control plane refused access (403 FORBIDDEN: Forbidden); /api/me accepts only a human user's credentials: use a token of the account that should own the client", false, 1},
		{"409", devserver.Fault{Kind: devserver.StatusBeforeAct, Status: 409}, "create",
			"create OAuth client: the control plane reported a conflict (409 CONFLICT: Conflict); another apply may be running: wait for it, then re-run", false, 1},
		{"429 with a long Retry-After", devserver.Fault{Kind: devserver.StatusBeforeAct, Status: 429, RetryAfter: "120"}, "list",
			"list OAuth clients: rate limited; retry after 120 s", false, 1},
		{"429 after retries", devserver.Fault{Kind: devserver.StatusBeforeAct, Status: 429, RetryAfter: "1", Times: 5}, "list",
			"list OAuth clients: rate limited; retry after 1 s", false, 5},
		{"429 on POST", devserver.Fault{Kind: devserver.StatusBeforeAct, Status: 429, RetryAfter: "3"}, "create",
			"create OAuth client: rate limited; retry after 3 s", false, 1},
		{"503 on GET after retries", devserver.Fault{Kind: devserver.StatusBeforeAct, Status: 503, Times: 5}, "list",
			"list OAuth clients: the control plane failed (503 SERVICE_UNAVAILABLE: Service Unavailable); retry later", false, 5},
		{"503 on POST", devserver.Fault{Kind: devserver.StatusBeforeAct, Status: 503}, "create",
			"create OAuth client: the control plane failed (503 SERVICE_UNAVAILABLE: Service Unavailable); the client may have been created anyway: list the clients before creating another", true, 1},
		{"500 after act on POST", devserver.Fault{Kind: devserver.StatusAfterAct, Status: 500}, "create",
			"create OAuth client: the control plane failed (500 INTERNAL_ERROR: Internal Server Error); the client may have been created anyway: list the clients before creating another", true, 1},
		{"redirect", devserver.Fault{Kind: devserver.Redirect}, "list",
			"list OAuth clients: the control plane answered with a redirect (302) to https://elsewhere.example/api/me/oauth/clients; set --control-plane to the final URL (redirects are never followed, so credentials cannot leak)", false, 1},
		{"redirect on POST", devserver.Fault{Kind: devserver.Redirect, Location: "https://other.example/login?token=secret"}, "create",
			"create OAuth client: the control plane answered with a redirect (302) to https://other.example/login; set --control-plane to the final URL (redirects are never followed, so credentials cannot leak)", false, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := devservertest.New(t)
			s.Inject(tc.fault)
			c := newClient(t, s, httpx.Options{})
			var err error
			method := "GET"
			if tc.call == "create" {
				method = "POST"
				_, err = c.CreateClient(context.Background(), valid)
			} else {
				_, err = c.ListClients(context.Background())
			}
			if err == nil || err.Error() != tc.want {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
			if got := controlplane.IsUncertain(err); got != tc.uncertain {
				t.Errorf("IsUncertain() = %v, want %v", got, tc.uncertain)
			}
			if got := requests(s, method); got != tc.requests {
				t.Errorf("%s requests = %d, want %d", method, got, tc.requests)
			}
		})
	}
}

func TestServerValidationErrors(t *testing.T) {
	const hint = "; run `takos-apply lint` to see which scope or redirect URI is wrong"
	tests := []struct {
		name string
		req  controlplane.CreateRequest
		want string
	}{
		{"unknown scopes", controlplane.CreateRequest{ClientName: "A", RedirectURIs: []string{"https://a.example/cb"}, Scopes: []string{"openid", "runs:read", "runs:write"}},
			"create OAuth client: the control plane refused the client: Unknown scopes: runs:read, runs:write" + hint},
		{"http redirect", controlplane.CreateRequest{ClientName: "A", RedirectURIs: []string{"http://a.example/cb"}},
			"create OAuth client: the control plane refused the client: Invalid redirect_uri: http://a.example/cb - must use HTTPS" + hint},
		{"wildcard port", controlplane.CreateRequest{ClientName: "A", RedirectURIs: []string{"http://localhost:*/cb"}},
			"create OAuth client: the control plane refused the client: Invalid redirect_uri: http://localhost:*/cb" + hint},
		{"no redirect", controlplane.CreateRequest{ClientName: "A"},
			"create OAuth client: the control plane refused the client: redirect_uris is required" + hint},
		{"no name", controlplane.CreateRequest{RedirectURIs: []string{"https://a.example/cb"}},
			"create OAuth client: the control plane refused the client: client_name is required" + hint},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := devservertest.New(t)
			_, err := newClient(t, s, httpx.Options{}).CreateClient(context.Background(), tc.req)
			if err == nil || err.Error() != tc.want {
				t.Errorf("CreateClient() = %v, want %q", err, tc.want)
			}
			if controlplane.IsUncertain(err) {
				t.Error("a 400 is uncertain: nothing was created")
			}
			if len(s.Clients()) != 0 {
				t.Error("the fake stored a refused client")
			}
		})
	}
	s := devservertest.New(t)
	c := newClient(t, s, httpx.Options{})
	reg, _ := c.CreateClient(context.Background(), valid)
	bad := []string{"https://a.example/cb#frag"}
	_, err := c.UpdateClient(context.Background(), reg.ClientID, controlplane.UpdateRequest{RedirectURIs: &bad})
	if want := "update OAuth client: the control plane refused the client: Invalid redirect_uri: https://a.example/cb#frag - fragment not allowed" + hint; err == nil || err.Error() != want || controlplane.IsNotFound(err) {
		t.Errorf("UpdateClient(fragment) = %v, want %q", err, want)
	}
}

func TestRetries(t *testing.T) {
	t.Run("GET 503 then 200", func(t *testing.T) {
		s := devservertest.New(t)
		s.Inject(devserver.Fault{Method: "GET", Kind: devserver.StatusBeforeAct, Status: 503})
		if _, err := newClient(t, s, httpx.Options{}).ListClients(context.Background()); err != nil {
			t.Fatalf("ListClients() = %v", err)
		}
		if n := requests(s, "GET"); n != 2 {
			t.Errorf("GET requests = %d, want 2", n)
		}
	})
	t.Run("PATCH reset then success", func(t *testing.T) {
		s := devservertest.New(t)
		c := newClient(t, s, httpx.Options{})
		reg, _ := c.CreateClient(context.Background(), valid)
		s.Inject(devserver.Fault{Method: "PATCH", Kind: devserver.ResetBeforeAct})
		name := "B"
		if _, err := c.UpdateClient(context.Background(), reg.ClientID, controlplane.UpdateRequest{ClientName: &name}); err != nil {
			t.Fatalf("UpdateClient() = %v", err)
		}
		if n := requests(s, "PATCH"); n != 2 {
			t.Errorf("PATCH requests = %d, want 2", n)
		}
	})
	t.Run("DELETE 502 then success", func(t *testing.T) {
		s := devservertest.New(t)
		c := newClient(t, s, httpx.Options{})
		reg, _ := c.CreateClient(context.Background(), valid)
		s.Inject(devserver.Fault{Method: "DELETE", Kind: devserver.StatusAfterAct, Status: 502})
		if err := c.RevokeClient(context.Background(), reg.ClientID); err != nil {
			t.Fatalf("RevokeClient() = %v (a repeated DELETE of a revoked client succeeds)", err)
		}
		if n := requests(s, "DELETE"); n != 2 {
			t.Errorf("DELETE requests = %d, want 2", n)
		}
	})
	t.Run("POST 400 is certain", func(t *testing.T) {
		s := devservertest.New(t)
		s.Inject(devserver.Fault{Method: "POST", Kind: devserver.StatusBeforeAct, Status: 400})
		_, err := newClient(t, s, httpx.Options{}).CreateClient(context.Background(), valid)
		if err == nil || controlplane.IsUncertain(err) || requests(s, "POST") != 1 {
			t.Errorf("CreateClient() = %v, uncertain %v, %d POSTs; want an error, false, 1", err, controlplane.IsUncertain(err), requests(s, "POST"))
		}
	})
	for _, tc := range []struct {
		kind    devserver.FaultKind
		clients int
	}{{devserver.ResetAfterAct, 1}, {devserver.ResetBeforeAct, 0}} {
		t.Run("POST "+tc.kind.String(), func(t *testing.T) {
			s := devservertest.New(t)
			s.Inject(devserver.Fault{Method: "POST", Kind: tc.kind})
			_, err := newClient(t, s, httpx.Options{}).CreateClient(context.Background(), valid)
			var te *controlplane.TransportError
			if !errors.As(err, &te) || !controlplane.IsUncertain(err) {
				t.Fatalf("CreateClient() = %v, want an uncertain TransportError", err)
			}
			if !strings.Contains(err.Error(), "the client may have been created before the connection failed: list the clients before creating another") {
				t.Errorf("error %q does not tell the user to list first", err)
			}
			if n := requests(s, "POST"); n != 1 {
				t.Errorf("POST requests = %d, want exactly 1", n)
			}
			if n := len(s.Clients()); n != tc.clients {
				t.Errorf("fake holds %d clients, want %d", n, tc.clients)
			}
		})
	}
	t.Run("POST refused before sending is certain", func(t *testing.T) {
		s := devservertest.New(t)
		hc := wire(t, s.URL, s.Token, httpx.Options{})
		hc.Transport = httpx.SameOrigin(hc.Transport, "https://somewhere.else") // every request refused before dialing
		c, _ := controlplane.New(s.URL, hc)
		_, err := c.CreateClient(context.Background(), valid)
		var coe *httpx.CrossOriginError
		if !errors.As(err, &coe) || controlplane.IsUncertain(err) || len(s.Requests()) != 0 {
			t.Errorf("CreateClient() = %v, uncertain %v; want a certain CrossOriginError and no request", err, controlplane.IsUncertain(err))
		}
	})
	t.Run("POST to a closed port is certain", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		c, _ := controlplane.New(url, wire(t, url, "tok", httpx.Options{}))
		_, err := c.CreateClient(context.Background(), valid)
		if err == nil || controlplane.IsUncertain(err) {
			t.Errorf("CreateClient() = %v, uncertain %v; a refused dial cannot have created anything", err, controlplane.IsUncertain(err))
		}
	})
}

func TestTimeout(t *testing.T) {
	t.Run("POST", func(t *testing.T) {
		s := devservertest.New(t)
		s.Inject(devserver.Fault{Method: "POST", Kind: devserver.Delay, Delay: 2 * time.Second})
		_, err := newClient(t, s, httpx.Options{Timeout: 100 * time.Millisecond}).CreateClient(context.Background(), valid)
		if !controlplane.IsUncertain(err) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("CreateClient() = %v, want an uncertain deadline error", err)
		}
		if !strings.Contains(err.Error(), "the control plane did not answer in time: retry, or raise --timeout") {
			t.Errorf("error %q does not mention --timeout", err)
		}
		if n := requests(s, "POST"); n != 1 {
			t.Errorf("POST requests = %d, want 1", n)
		}
	})
	t.Run("GET retried after a timeout", func(t *testing.T) {
		s := devservertest.New(t)
		s.Inject(devserver.Fault{Method: "GET", Kind: devserver.Delay, Delay: 2 * time.Second})
		if _, err := newClient(t, s, httpx.Options{Timeout: 100 * time.Millisecond}).ListClients(context.Background()); err != nil {
			t.Fatalf("ListClients() = %v", err)
		}
		if n := requests(s, "GET"); n != 2 {
			t.Errorf("GET requests = %d, want 2", n)
		}
	})
	t.Run("caller deadline", func(t *testing.T) {
		s := devservertest.New(t)
		s.Inject(devserver.Fault{Kind: devserver.Delay, Delay: 2 * time.Second, Times: 10})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := newClient(t, s, httpx.Options{}).ListClients(ctx)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
			t.Errorf("ListClients() = %v after %v, want a prompt deadline error", err, time.Since(start))
		}
	})
}

func TestMalformedReplies(t *testing.T) {
	t.Run("create", func(t *testing.T) {
		s := devservertest.New(t)
		s.Inject(devserver.Fault{Method: "POST", Kind: devserver.MalformedJSON})
		_, err := newClient(t, s, httpx.Options{}).CreateClient(context.Background(), valid)
		var me *controlplane.MalformedResponseError
		if !errors.As(err, &me) || !controlplane.IsUncertain(err) || len(s.Clients()) != 1 {
			t.Fatalf("CreateClient() = %v, want an uncertain MalformedResponseError with the client stored", err)
		}
		if !strings.HasPrefix(err.Error(), "create OAuth client: the control plane answered 201 with an unusable body: ") {
			t.Errorf("error = %q", err)
		}
		assertNoSecrets(t, s, err.Error())
	})
	t.Run("list", func(t *testing.T) {
		s := devservertest.New(t)
		s.Inject(devserver.Fault{Method: "GET", Kind: devserver.MalformedJSON})
		_, err := newClient(t, s, httpx.Options{}).ListClients(context.Background())
		if want := "list OAuth clients: the control plane answered 200 with an unusable body: truncated JSON"; err == nil || err.Error() != want {
			t.Errorf("ListClients() = %v, want %q", err, want)
		}
		if controlplane.IsUncertain(err) {
			t.Error("a malformed list reply is uncertain; only creates are")
		}
	})
	tests := []struct {
		name, ctype, body, call, want string
	}{
		{"not JSON", "text/html", "<html>", "list", "list OAuth clients: the control plane answered 200 with an unusable body: the reply is not JSON (Content-Type text/html)"},
		{"no clients array", "application/json", `{}`, "list", `list OAuth clients: the control plane answered 200 with an unusable body: the "clients" array is missing`},
		{"client without id", "application/json", `{"clients":[{"name":"x"}]}`, "list", "list OAuth clients: the control plane answered 200 with an unusable body: a client has no client_id"},
		{"bad timestamp", "application/json", `{"clients":[{"client_id":"a","created_at":"yesterday"}]}`, "list", "list OAuth clients: the control plane answered 200 with an unusable body: client a: created_at: unrecognised timestamp format"},
		{"wrong type", "application/json", `{"clients":[{"client_id":"a","redirect_uris":"https://x"}]}`, "list", `list OAuth clients: the control plane answered 200 with an unusable body: field "clients.redirect_uris" has the wrong type (want []string)`},
		{"trailing data", "application/json", `{"clients":[]} {}`, "list", "list OAuth clients: the control plane answered 200 with an unusable body: trailing data after the JSON value"},
		{"client id that is not URL-safe", "application/json", `{"clients":[{"client_id":"a\n::add-mask::x"}]}`, "list", `list OAuth clients: the control plane answered 200 with an unusable body: client_id "a\n::add-mask::x" is not a Takos client id (^[A-Za-z0-9_-]{1,128}$)`},
		{"client id with a dot", "application/json", `{"clients":[{"client_id":"a.b"}]}`, "list", `list OAuth clients: the control plane answered 200 with an unusable body: client_id "a.b" is not a Takos client id (^[A-Za-z0-9_-]{1,128}$)`},
		{"client id with a tilde", "application/json", `{"clients":[{"client_id":"a~b"}]}`, "list", `list OAuth clients: the control plane answered 200 with an unusable body: client_id "a~b" is not a Takos client id (^[A-Za-z0-9_-]{1,128}$)`},
		{"client id too long", "application/json", `{"clients":[{"client_id":"` + strings.Repeat("a", 129) + `"}]}`, "list", `list OAuth clients: the control plane answered 200 with an unusable body: client_id "` + strings.Repeat("a", 64) + `"… is not a Takos client id (^[A-Za-z0-9_-]{1,128}$)`},
		{"redirect URI with a line break", "application/json", `{"clients":[{"client_id":"a","redirect_uris":["https://x/cb","https://x/cb\n::error::pwned"]}]}`, "list", "list OAuth clients: the control plane answered 200 with an unusable body: client a: redirect_uris[1] holds a control character, which the API never accepts"},
		{"redirect URI with a CR", "application/json", `{"clients":[{"client_id":"a","redirect_uris":["https://x/cb\r::add-mask::x"]}]}`, "list", "list OAuth clients: the control plane answered 200 with an unusable body: client a: redirect_uris[0] holds a control character, which the API never accepts"},
		{"redirect URI with U+2028", "application/json", `{"clients":[{"client_id":"a","redirect_uris":["https://x/cb\u2028::x"]}]}`, "list", "list OAuth clients: the control plane answered 200 with an unusable body: client a: redirect_uris[0] holds a control character, which the API never accepts"},
		{"scope with ESC", "application/json", `{"clients":[{"client_id":"a","allowed_scopes":["openid\u001b[2J"]}]}`, "list", "list OAuth clients: the control plane answered 200 with an unusable body: client a: allowed_scopes[0] holds a control character, which the API never accepts"},
		{"logo URI with a line break", "application/json", `{"clients":[{"client_id":"a","logo_uri":"https://x/l.png\n::warning::x"}]}`, "list", "list OAuth clients: the control plane answered 200 with an unusable body: client a: logo_uri holds a control character, which the API never accepts"},
		{"policy URI with NEL", "application/json", `{"clients":[{"client_id":"a","policy_uri":"https://x/p\u0085::x"}]}`, "list", "list OAuth clients: the control plane answered 200 with an unusable body: client a: policy_uri or tos_uri holds a control character, which the API never accepts"},
		{"create with an unsafe client id", "application/json", `{"client_id":"../admin","client_secret":"CANARY-SECRET"}`, "create", "create OAuth client: the control plane answered 200 with an unusable body: client_id is not a Takos client id (^[A-Za-z0-9_-]{1,128}$); the client was probably created: list the clients before creating another"},
		{"create with a secret holding a line break", "application/json", `{"client_id":"abc","client_secret":"CANARY-SECRET\n::add-mask::x"}`, "create", "create OAuth client: the control plane answered 200 with an unusable body: client_secret holds white space or a control character (client abc was created); the client was probably created: list the clients before creating another"},
		{"create without secret", "application/json", `{"client_id":"abc","registration_access_token":"CANARY-RAT"}`, "create", "create OAuth client: the control plane answered 200 with an unusable body: client_secret is missing (client abc was created); the client was probably created: list the clients before creating another"},
		{"create with a wrongly typed field", "application/json", `{"client_id":"abc","client_secret":"CANARY-SECRET","client_id_issued_at":"CANARY-SECRET"}`, "create", `create OAuth client: the control plane answered 200 with an unusable body: field "client_id_issued_at" has the wrong type (want float64); the client was probably created: list the clients before creating another`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				w.Write([]byte(tc.body))
			}))
			t.Cleanup(srv.Close)
			c, _ := controlplane.New(srv.URL, wire(t, srv.URL, "tok", httpx.Options{}))
			var err error
			if tc.call == "create" {
				_, err = c.CreateClient(context.Background(), valid)
				if !controlplane.IsUncertain(err) {
					t.Error("an unusable create reply is not uncertain")
				}
			} else {
				_, err = c.ListClients(context.Background())
			}
			if err == nil || err.Error() != tc.want {
				t.Errorf("error = %v, want %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), "CANARY") {
				t.Errorf("error %q quotes the reply body", err)
			}
		})
	}
}

func jsonServer(t *testing.T, status int, body string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestListLeniency(t *testing.T) {
	body := `{"clients":[
		{"client_id":"a","name":"A","description":null,"logo_uri":null,"client_uri":null,"redirect_uris":["https://a/cb"],"allowed_scopes":[],"client_type":"confidential","status":"active","created_at":"2026-04-03T10:00:00.000Z","updated_at":"2026-04-03 10:00:01"},
		{"client_id":"b","name":"B","policy_uri":null,"tos_uri":"https://b/tos","created_at":1775210400,"updated_at":"1775210401"},
		{"client_id":"c","name":"C","created_at":1775210400000,"updated_at":null,"policy_uri":"https://c/p"}
	]}`
	srv := jsonServer(t, 200, body)
	c, _ := controlplane.New(srv.URL, wire(t, srv.URL, "tok", httpx.Options{}))
	got, err := c.ListClients(context.Background())
	if err != nil {
		t.Fatalf("ListClients() = %v", err)
	}
	at := time.Date(2026, 4, 3, 10, 0, 0, 0, time.UTC)
	want := []controlplane.OAuthClient{
		{ClientID: "a", Name: "A", RedirectURIs: []string{"https://a/cb"}, AllowedScopes: []string{}, ClientType: "confidential", Status: "active", CreatedAt: at, UpdatedAt: at.Add(time.Second)},
		{ClientID: "b", Name: "B", HasPolicyURI: true, TOSURI: "https://b/tos", HasTOSURI: true, CreatedAt: at, UpdatedAt: at.Add(time.Second)},
		{ClientID: "c", Name: "C", PolicyURI: "https://c/p", HasPolicyURI: true, CreatedAt: at},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ListClients() (-want +got):\n%s", diff)
	}
}

func TestUntrustedMessageSanitized(t *testing.T) {
	msg := "Unknown scopes: evil\r\n::add-mask::x\x1b[31m\u202e" + strings.Repeat("A", 1000)
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "BAD_REQUEST\n", "message": msg}})
	srv := jsonServer(t, 400, string(b))
	c, _ := controlplane.New(srv.URL, wire(t, srv.URL, "tok", httpx.Options{}))
	_, err := c.CreateClient(context.Background(), valid)
	var api *controlplane.APIError
	if !errors.As(err, &api) {
		t.Fatalf("CreateClient() = %v, want an APIError", err)
	}
	s := err.Error()
	if strings.ContainsAny(s, "\r\n\x1b\u202e") {
		t.Errorf("error contains control characters: %q", s)
	}
	// ESC and U+202E are shown as escapes, not dropped.
	if !strings.HasPrefix(api.Message, `Unknown scopes: evil ::add-mask::x\x1b[31m\u202eAAA`) || len([]rune(api.Message)) != 299 || !strings.HasSuffix(api.Message, "A…") {
		t.Errorf("Message = %q (%d runes), want the text cut at 300 runes (CRLF folds into one space: 299), the last an ellipsis", api.Message, len([]rune(api.Message)))
	}
	if api.Code != "BAD_REQUEST" {
		t.Errorf("Code = %q", api.Code)
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	// The date is written when the reply is sent and read against the real
	// clock, at one-second resolution: the reported wait is within a
	// second (plus the round trip) of 90 s, never more.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
		w.WriteHeader(429)
	}))
	t.Cleanup(srv.Close)
	c, _ := controlplane.New(srv.URL, wire(t, srv.URL, "tok", httpx.Options{}))
	_, err := c.ListClients(context.Background())
	var api *controlplane.APIError
	if !errors.As(err, &api) {
		t.Fatalf("ListClients() = %v, want an APIError", err)
	}
	if api.RetryAfter <= 85*time.Second || api.RetryAfter > 90*time.Second {
		t.Errorf("RetryAfter = %v, want about 90s (an HTTP-date Retry-After)", api.RetryAfter)
	}
	secs := int((api.RetryAfter + time.Second - 1) / time.Second)
	if want := fmt.Sprintf("list OAuth clients: rate limited; retry after %d s", secs); err.Error() != want {
		t.Errorf("ListClients() = %v, want %q", err, want)
	}
}

// assertNoSecrets fails if any client secret or registration access token
// the fake ever issued occurs in s, verbatim or hex-encoded.
func assertNoSecrets(t *testing.T, srv *devserver.Server, s string) {
	t.Helper()
	for kind, list := range map[string][]string{"client secret": srv.IssuedSecrets(), "registration access token": srv.IssuedRegistrationTokens()} {
		for _, sec := range list {
			if strings.Contains(s, sec) || strings.Contains(strings.ToLower(s), hex.EncodeToString([]byte(sec))) {
				t.Errorf("output contains an issued %s: %q", kind, s)
			}
		}
	}
}

func TestRegistrationRedaction(t *testing.T) {
	const secret, rat = "CANARY-client-secret-0123456789", "CANARY-registration-token-987"
	reg := &controlplane.Registration{ClientID: "cid-123", ClientSecret: secret, RegistrationAccessToken: rat, ClientName: "App", Scope: "openid"}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("created", "reg", reg, "val", *reg)
	js, err := json.Marshal(reg)
	if err != nil {
		t.Fatal(err)
	}
	type wrapper struct{ Reg controlplane.Registration }
	type ptrWrapper struct{ Reg *controlplane.Registration }
	outputs := map[string]string{
		"%v":        fmt.Sprintf("%v", reg),
		"%+v":       fmt.Sprintf("%+v", reg),
		"%#v":       fmt.Sprintf("%#v", reg),
		"%s":        fmt.Sprintf("%s", reg),
		"%q":        fmt.Sprintf("%q", reg),
		"%x":        fmt.Sprintf("%x", *reg),
		"%X":        fmt.Sprintf("%X", reg),
		"value %v":  fmt.Sprintf("%v", *reg),
		"value %+v": fmt.Sprintf("%+v", *reg),
		"value %#v": fmt.Sprintf("%#v", *reg),
		"nested":    fmt.Sprintf("%+v %#v", wrapper{*reg}, wrapper{*reg}),
		"nested *":  fmt.Sprintf("%+v %#v", ptrWrapper{reg}, ptrWrapper{reg}),
		"slice":     fmt.Sprintf("%+v", []controlplane.Registration{*reg}),
		"map":       fmt.Sprintf("%+v", map[string]controlplane.Registration{"k": *reg}),
		"String":    reg.String(),
		"GoString":  reg.GoString(),
		"json":      string(js),
		"slog":      logBuf.String(),
		"error":     fmt.Errorf("wrapped: %v", reg).Error(),
	}
	hexed := func(v string) string { return hex.EncodeToString([]byte(v)) }
	for name, out := range outputs {
		// %x and %X hex-encode the text, so a leak would not contain
		// "CANARY": look for the hex form too, in either case.
		lower := strings.ToLower(out)
		if strings.Contains(out, "CANARY") || strings.Contains(lower, hexed(secret)) || strings.Contains(lower, hexed(rat)) {
			t.Errorf("%s leaks a credential: %s", name, out)
		}
		if !strings.Contains(out, "cid-123") && !strings.Contains(lower, hexed("cid-123")) {
			t.Errorf("%s lost the client id: %s", name, out)
		}
	}
	if !strings.Contains(outputs["%+v"], "ClientSecret:[REDACTED]") || !strings.Contains(outputs["%#v"], `controlplane.Registration{ClientID:"cid-123", ClientSecret:"[REDACTED]"`) {
		t.Errorf("redacted forms: %s / %s", outputs["%+v"], outputs["%#v"])
	}
	if !strings.Contains(strings.ToLower(outputs["%x"]), hexed("ClientSecret:[REDACTED]")) {
		t.Errorf("%%x = %s, want the hex of the redacted view", outputs["%x"])
	}
	if reg.ClientSecret != secret {
		t.Error("formatting changed the secret")
	}
}

// TestRegistrationRedactionLimit pins the known limit the Registration doc
// states: fmt cannot call Format on an unexported field, so a Registration
// value held there prints its credentials, while a pointer there prints
// as an address. If fmt ever changes, this fails and the doc must change
// with it.
func TestRegistrationRedactionLimit(t *testing.T) {
	const secret = "CANARY-client-secret-limit"
	reg := controlplane.Registration{ClientID: "cid-123", ClientSecret: secret}
	type unexported struct{ r controlplane.Registration }
	if got := fmt.Sprintf("%+v", unexported{reg}); !strings.Contains(got, secret) {
		t.Errorf("Sprintf(%%+v, struct{ r Registration }) = %s; fmt now redacts unexported fields: update the Registration doc's known limit", got)
	}
	type unexportedPtr struct{ r *controlplane.Registration }
	if got := fmt.Sprintf("%+v", unexportedPtr{&reg}); strings.Contains(got, "CANARY") || strings.Contains(got, "cid-123") {
		t.Errorf("Sprintf(%%+v, struct{ r *Registration }) = %s, want only an address, as the doc says", got)
	}
}

// TestNoSecretInErrors runs every failing path after a successful create
// on the same fake and checks no issued secret or registration access
// token reaches an error string.
func TestNoSecretInErrors(t *testing.T) {
	s := devservertest.New(t)
	c := newClient(t, s, httpx.Options{Timeout: 200 * time.Millisecond})
	ctx := context.Background()
	reg, err := c.CreateClient(ctx, valid)
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	for _, k := range []devserver.FaultKind{devserver.MalformedJSON, devserver.ResetAfterAct, devserver.StatusAfterAct} {
		s.Inject(devserver.Fault{Method: "POST", Kind: k, Status: 500})
		_, err := c.CreateClient(ctx, valid)
		errs = append(errs, err)
	}
	name := "x"
	_, err = c.UpdateClient(ctx, "missing", controlplane.UpdateRequest{ClientName: &name})
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("a faulted call succeeded")
		}
		assertNoSecrets(t, s, fmt.Sprintf("%v %+v %#v", err, err, err))
	}
	secrets, tokens := s.IssuedSecrets(), s.IssuedRegistrationTokens()
	if len(secrets) != 4 || len(tokens) != 4 {
		t.Fatalf("IssuedSecrets = %d, IssuedRegistrationTokens = %d; want 4 each (1 delivered, 3 lost to faults)", len(secrets), len(tokens))
	}
	if secrets[0] != reg.ClientSecret {
		t.Error("the first issued secret is not the delivered one")
	}
	if tokens[0] != reg.RegistrationAccessToken {
		t.Error("the first issued registration access token is not the delivered one")
	}
}
