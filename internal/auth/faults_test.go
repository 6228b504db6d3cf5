package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
)

func TestExchangeFaults(t *testing.T) {
	tests := []struct {
		name      string
		opts      authtest.STSOptions
		setup     func(*oidcSetup)
		timeout   time.Duration
		wantErr   []string // substrings of the message the user sees; nil = success
		wantNot   []string
		wantSTS   int // token-endpoint requests
		wantGH    int // GitHub token requests
		claims    bool
		checkDone func(t *testing.T, s *oidcSetup)
	}{
		{name: "500 twice then success", setup: func(s *oidcSetup) { s.sts.Fail(2, authtest.Fault500) },
			wantSTS: 3, wantGH: 1},
		{name: "500 until the attempts run out", setup: func(s *oidcSetup) { s.sts.Fail(5, authtest.Fault500) },
			wantErr: []string{"github-oidc: token exchange", "HTTP 500 server_error: injected fault",
				"fix: the control plane's token endpoint failed after retries; re-run the job later"},
			wantSTS: 5, wantGH: 1, claims: true},
		{name: "503 with Retry-After then success", setup: func(s *oidcSetup) { s.sts.Fail(1, authtest.Fault503("1")) },
			wantSTS: 2, wantGH: 1},
		{name: "503 with a Retry-After over the cap is not waited for",
			setup:   func(s *oidcSetup) { s.sts.Fail(1, authtest.Fault503("3600")) },
			wantErr: []string{"HTTP 503", "(Retry-After: \"3600\")", "failed after retries"}, wantSTS: 1, wantGH: 1, claims: true},
		{name: "429 until the attempts run out", setup: func(s *oidcSetup) { s.sts.Fail(5, authtest.Fault429) },
			wantErr: []string{"rate limited by", "HTTP 429, Retry-After: \"1\"", "fix: the token endpoint is rate limiting"},
			wantSTS: 5, wantGH: 1, claims: true},
		{name: "timeouts", timeout: 150 * time.Millisecond,
			setup:   func(s *oidcSetup) { s.sts.Fail(5, authtest.FaultSlow(3*time.Second)) },
			wantErr: []string{"timed out waiting for http://127.0.0.1:", "/oauth/token", "could not be reached after retries"},
			wantSTS: 5, wantGH: 1, claims: true},
		{name: "one timeout then success", timeout: 150 * time.Millisecond,
			setup:   func(s *oidcSetup) { s.sts.Fail(1, authtest.FaultSlow(3*time.Second)) },
			wantSTS: 2, wantGH: 1},
		{name: "malformed JSON", setup: func(s *oidcSetup) { s.sts.Fail(1, authtest.FaultMalformed) },
			wantErr: []string{"returned malformed JSON", "did not answer with an RFC 8693 token response"},
			wantSTS: 1, wantGH: 1, claims: true},
		{name: "expired GitHub JWT", setup: func(s *oidcSetup) { s.gh.SetLifetime(-time.Minute) },
			wantErr: []string{"HTTP 400 invalid_request: subject_token has expired", "trust policy does not match",
				"The GitHub token expired at", "check the runner's clock"},
			wantSTS: 1, wantGH: 1, claims: true},
		{name: "wrong audience", opts: authtest.STSOptions{SubjectAudience: "https://takos.example"},
			wantErr: []string{"subject_token audience is not accepted", "trust policy does not match the token's claims",
				"requested with aud \"http://127.0.0.1:", "GitHub token claims (non-secret): iss=http://127.0.0.1:",
				"sub=repo:octo-org/octo-repo:environment:production aud=http://127.0.0.1:"},
			wantNot: []string{"expired at"},
			wantSTS: 1, wantGH: 1, claims: true},
		{name: "subject not in the trust policy", opts: authtest.STSOptions{Subject: "repo:octo-org/octo-repo:ref:refs/heads/main"},
			wantErr: []string{"HTTP 400 invalid_grant: no trust policy matches subject", "trust policy does not match",
				"environment=production", "job_workflow_ref=octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main"},
			wantSTS: 1, wantGH: 1, claims: true},
		{name: "audience not served (invalid_target)", opts: authtest.STSOptions{Audience: "https://elsewhere.example"},
			wantErr: []string{"HTTP 400 invalid_target", "the control plane does not accept the audience \"http://127.0.0.1:"},
			wantSTS: 1, wantGH: 1, claims: true},
		{name: "invalid_target names the --audience passed", opts: authtest.STSOptions{Audience: "https://elsewhere.example"},
			setup: func(s *oidcSetup) { s.cfg.Audience = "https://wrong.example" },
			wantErr: []string{"HTTP 400 invalid_target", "requested with aud \"https://wrong.example\" (--audience / TAKOS_AUDIENCE)",
				"drop --audience"},
			wantNot: []string{"does not accept the audience"},
			wantSTS: 1, wantGH: 1, claims: true},
		{name: "GitHub 500 until the attempts run out", setup: func(s *oidcSetup) { s.gh.Fail(5, authtest.Fault500) },
			wantErr: []string{"github-oidc: requesting the GitHub OIDC token: GitHub's OIDC endpoint answered HTTP 500 after retries",
				"re-run the job"},
			wantSTS: 0, wantGH: 5},
		{name: "GitHub 503 then success", setup: func(s *oidcSetup) { s.gh.Fail(1, authtest.Fault503("1")) },
			wantSTS: 1, wantGH: 2},
		{name: "GitHub refuses the request token", setup: func(s *oidcSetup) {
			e := env(s.gh.Env()).with(envOIDCRequestToken, "not-the-request-token")
			s.cfg.Getenv = e.get
		}, wantErr: []string{"GitHub refused ACTIONS_ID_TOKEN_REQUEST_TOKEN (HTTP 401)", "valid only inside the job"},
			wantSTS: 0, wantGH: 1},
		{name: "GitHub malformed response", setup: func(s *oidcSetup) { s.gh.Fail(1, authtest.FaultMalformed) },
			wantErr: []string{"returned no token"}, wantSTS: 0, wantGH: 1},
		{name: "token exchange not advertised", opts: authtest.STSOptions{GrantTypes: []string{"authorization_code"}},
			wantErr: []string{"does not advertise RFC 8693 token exchange", "use a personal access token in TAKOS_TOKEN"},
			wantSTS: 0, wantGH: 0},
		{name: "no discovery document", setup: func(s *oidcSetup) {
			s.cfg.ControlPlaneURL = s.gh.Issuer // serves no RFC 8414 metadata
		}, wantErr: []string{"answered HTTP 404", "--token-url"}, wantSTS: 0, wantGH: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newOIDCSetup(t, tc.opts)
			if tc.timeout > 0 {
				s.cfg.HTTP = testHTTP(tc.timeout)
			}
			if tc.setup != nil {
				tc.setup(s)
			}
			res, err := Resolve(context.Background(), s.cfg)
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			tok, err := res.Source.Token()
			if got := s.sts.Exchanges(); got != tc.wantSTS {
				t.Errorf("token-endpoint requests = %d, want %d", got, tc.wantSTS)
			}
			if got := s.gh.Log.Count(authtest.GitHubTokenPath); got != tc.wantGH {
				t.Errorf("GitHub token requests = %d, want %d", got, tc.wantGH)
			}
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("Token() error = %v, want success", err)
				}
				if tok.AccessToken == "" {
					t.Errorf("Token() returned an empty token")
				}
				return
			}
			checkTokenErr(t, err, tc.wantErr, tc.wantNot, tc.claims)
		})
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	var hits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer other.Close()
	s := newOIDCSetup(t, authtest.STSOptions{})
	// The token endpoint itself answers the redirect, as a compromised or
	// misconfigured control plane could: the exchange must stop there.
	s.sts.Fail(1, authtest.Fault{Status: http.StatusTemporaryRedirect, Location: other.URL + "/token", Body: "{}"})
	s.cfg.TokenURL = s.sts.TokenURL
	res, err := Resolve(context.Background(), s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = res.Source.Token()
	if err == nil {
		t.Fatal("Token() after a 307 succeeded, want an error")
	}
	mustContain(t, "Token() error", err.Error(), "answered HTTP 307 redirecting to "+other.URL+"/token",
		"credentials are never sent on redirects")
	if n := hits.Load(); n != 0 {
		t.Errorf("redirect target got %d requests, want 0", n)
	}
}

func TestRedirectToAnotherOrigin(t *testing.T) {
	var gotAuth []string
	var gotForm []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		gotAuth = append(gotAuth, r.Header.Get("Authorization"))
		gotForm = append(gotForm, r.PostForm.Get("subject_token"))
	}))
	defer other.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/token", http.StatusTemporaryRedirect)
	}))
	defer redirector.Close()
	s := newOIDCSetup(t, authtest.STSOptions{})
	s.cfg.TokenURL = redirector.URL + "/token"
	res, err := Resolve(context.Background(), s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = res.Source.Token()
	if err == nil {
		t.Fatal("Token() after a cross-origin redirect succeeded, want an error")
	}
	mustContain(t, "Token() error", err.Error(), "answered HTTP 307 redirecting to "+other.URL+"/token")
	if len(gotAuth) != 0 || len(gotForm) != 0 {
		t.Errorf("the redirect target got %d requests, want 0", len(gotAuth))
	}
}

func TestInsecureURLsRefused(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*Config)
		want string
	}{
		{"http control plane", func(c *Config) { c.ControlPlaneURL = "http://takos.example" }, "plain http is allowed only to loopback"},
		{"http token URL", func(c *Config) { c.TokenURL = "http://sts.example/token" }, "token URL: refusing http://sts.example/token"},
		{"credentials in URL", func(c *Config) { c.ControlPlaneURL = "https://u:p@takos.example" }, "must not contain credentials"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newOIDCSetup(t, authtest.STSOptions{})
			tc.cfg(&s.cfg)
			_, err := Resolve(context.Background(), s.cfg)
			if err == nil {
				t.Fatalf("Resolve() succeeded, want an error containing %q", tc.want)
			}
			mustContain(t, "Resolve() error", err.Error(), tc.want)
			if strings.Contains(err.Error(), "u:p@") {
				t.Errorf("Resolve() error = %q, leaks URL credentials", err)
			}
		})
	}
}
