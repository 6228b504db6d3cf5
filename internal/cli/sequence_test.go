package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
	"github.com/takos-dev/takos-apply/internal/broker"
	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// wireLog records, in one order, the requests a run makes to every server.
type wireLog struct {
	mu   sync.Mutex
	reqs []string
}

func (l *wireLog) add(server string, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, server+" "+r.Method+" "+r.URL.Path)
}

func (l *wireLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.reqs...)
}

// recorder logs each request as server's, then hands it to h.
func (l *wireLog) recorder(server string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.add(server, r)
		h.ServeHTTP(w, r)
	})
}

// proxyTo forwards every request to target unchanged.
func proxyTo(t *testing.T, target string) http.Handler {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	return &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u); r.Out.Host = u.Host }}
}

// federatedControlPlane is the control plane takos-apply's github-oidc mode
// was built for: one origin serving RFC 8414 metadata that advertises
// token exchange, the RFC 8693 endpoint (the STS fake) and the owner API
// (the control-plane fake, which accepts the STS's tokens). Every request
// is logged as "cp".
func federatedControlPlane(t *testing.T, log *wireLog, gh *authtest.GitHubOIDC) (front *httptest.Server, cp *devserver.Server) {
	t.Helper()
	sts := authtest.NewSTS(t, gh.Issuer, authtest.STSOptions{})
	cp = devservertest.New(t, devserver.WithFederation(func(tok string) (string, bool) {
		_, ok := sts.Lookup(tok)
		return devserver.DefaultOwner, ok
	}))
	toSTS, toCP := proxyTo(t, sts.URL), proxyTo(t, cp.URL)
	front = httptest.NewUnstartedServer(nil)
	origin := "http://" + front.Listener.Addr().String()
	front.Config.Handler = log.recorder("cp", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/.well-known/oauth-authorization-server":
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{
				"issuer":                origin,
				"token_endpoint":        origin + authtest.STSTokenPath,
				"grant_types_supported": []string{"authorization_code", oauthwire.GrantTypeTokenExchange},
				"scopes_supported":      devserver.Scopes(),
			})
		case r.URL.Path == authtest.STSTokenPath:
			toSTS.ServeHTTP(w, r)
		default:
			toCP.ServeHTTP(w, r)
		}
	}))
	front.Start()
	t.Cleanup(front.Close)
	return front, cp
}

// recordedGitHub puts a recorder named "github" in front of gh's token
// endpoint and returns the ACTIONS_ID_TOKEN_REQUEST_URL to use.
func recordedGitHub(t *testing.T, log *wireLog, gh *authtest.GitHubOIDC) string {
	t.Helper()
	srv := httptest.NewServer(log.recorder("github", proxyTo(t, gh.Issuer)))
	t.Cleanup(srv.Close)
	return srv.URL + authtest.GitHubTokenPath + "?api-version=2.0"
}

// TestNoOpApplyRequestSequence pins the exact requests of an apply that
// changes nothing, authenticated by GitHub OIDC token exchange: the RFC
// 8414 document is fetched once and shared by token exchange and the scope
// lint (it used to be fetched twice).
func TestNoOpApplyRequestSequence(t *testing.T) {
	log := &wireLog{}
	gh := authtest.NewGitHubOIDC(t)
	front, cp := federatedControlPlane(t, log, gh)
	cp.Seed(devserver.StoredClient{Name: "Demo", RedirectURIs: []string{"https://demo.example.com/cb"}, AllowedScopes: []string{"openid", "profile"}})

	noOpOIDCApply(t, log, gh, cp, front.URL, "")
	want := []string{
		"cp GET /.well-known/oauth-authorization-server",
		"github GET /idtoken",
		"cp POST /oauth/token",
		"cp GET /api/me/oauth/clients",
	}
	if diff := cmp.Diff(want, log.get()); diff != "" {
		t.Errorf("request sequence (-want +got):\n%s", diff)
	}
}

// TestNoOpApplyThroughBrokerRequestSequence: against a control plane
// without token exchange (the real Takos), through the broker as the
// job's control plane, a no-op apply makes the discovery (which the
// broker answers, with Takos's scopes from its own cached fetch), the
// GitHub JWT, the exchange and the list, which the broker forwards to
// Takos with its own credential. No PAT is minted.
func TestNoOpApplyThroughBrokerRequestSequence(t *testing.T) {
	log := &wireLog{}
	gh := authtest.NewGitHubOIDC(t)
	cp := devservertest.New(t)
	cp.Seed(devserver.StoredClient{Name: "Demo", RedirectURIs: []string{"https://demo.example.com/cb"}, AllowedScopes: []string{"openid", "profile"}})
	front := httptest.NewServer(log.recorder("cp", proxyTo(t, cp.URL)))
	t.Cleanup(front.Close)
	b := startBroker(t, log, gh, front.URL)

	noOpOIDCApply(t, log, gh, cp, b, "")
	want := []string{
		"broker GET /.well-known/oauth-authorization-server",
		"cp GET /.well-known/oauth-authorization-server",
		"github GET /idtoken",
		"broker POST /token",
		"broker GET /api/me/oauth/clients",
		"cp GET /api/me/oauth/clients",
	}
	if diff := cmp.Diff(want, log.get()); diff != "" {
		t.Errorf("request sequence (-want +got):\n%s", diff)
	}
	if pats := cp.PATs(); len(pats) != 0 {
		t.Errorf("PATs = %+v, want none: the job never holds a Takos credential", pats)
	}
}

// startBroker runs a broker that trusts gh and forwards to controlPlane;
// its own URL is the job's control plane and the default audience. Its
// requests are logged as "broker".
func startBroker(t *testing.T, log *wireLog, gh *authtest.GitHubOIDC, controlPlane string) string {
	t.Helper()
	policy, diags, err := broker.LoadPolicy("policy.yml", []byte("version: 1\nrules:\n  - name: main\n    match: {repository_id: \"123456789\", ref: refs/heads/main}\n"))
	if err != nil || policy == nil {
		t.Fatalf("LoadPolicy() = %v, %v", diags, err)
	}
	srv := httptest.NewUnstartedServer(nil)
	u := "http://" + srv.Listener.Addr().String()
	b, err := broker.New(broker.Config{URL: u, Issuers: []string{gh.Issuer}, Policy: policy,
		ControlPlaneURL: controlPlane, Token: devserver.DefaultToken, RatePerMinute: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = log.recorder("broker", b.Handler())
	srv.Start()
	t.Cleanup(srv.Close)
	return u
}

// noOpOIDCApply runs a GitHub OIDC apply with no stored token against the
// control plane at apiURL (recorded in log), through tokenURL when set, and
// fails unless it is a no-op success.
func noOpOIDCApply(t *testing.T, log *wireLog, gh *authtest.GitHubOIDC, cp *devserver.Server, apiURL, tokenURL string) {
	t.Helper()
	s := newStep(t, cp)
	delete(s.env, "TAKOS_TOKEN")
	s.env["TAKOS_API_URL"] = apiURL
	if tokenURL != "" {
		s.env["TAKOS_TOKEN_URL"] = tokenURL
	}
	s.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = recordedGitHub(t, log, gh)
	s.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = gh.RequestToken
	s.apply("--auth", "github-oidc")
	if s.code != ExitOK || !strings.Contains(s.stdout, " unchanged") {
		t.Fatalf("apply = %d, want a no-op success\nstdout:\n%s\nstderr:\n%s", s.code, s.stdout, s.stderr)
	}
}
