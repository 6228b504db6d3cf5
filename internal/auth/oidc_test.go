package auth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

func TestGitHubOIDCEndToEnd(t *testing.T) {
	s := newOIDCSetup(t, authtest.STSOptions{Scope: "apps:write oauth-clients:write"})
	res, err := Resolve(context.Background(), s.cfg)
	if err != nil {
		t.Fatalf("Resolve() error = %v", err)
	}
	if res.Mode != ModeGitHubOIDC {
		t.Errorf("Resolve().Mode = %q, want %q", res.Mode, ModeGitHubOIDC)
	}
	if got := len(s.gh.Log.Requests()) + len(s.sts.Log.Requests()); got != 0 { // the STS is the control plane
		t.Errorf("Resolve made %d requests, want 0 (network only in Token)", got)
	}
	start := time.Now()
	tok, err := res.Source.Token()
	if err != nil {
		t.Fatalf("Token() error = %v", err)
	}
	if issued := s.sts.Issued(); len(issued) != 1 || tok.AccessToken != issued[0] {
		t.Fatalf("Token().AccessToken is not the token the STS issued (issued %d)", len(issued))
	}
	if tok.Type() != "Bearer" {
		t.Errorf("Token().Type() = %q, want Bearer", tok.Type())
	}
	if d := tok.Expiry.Sub(start); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("Token().Expiry is %v from now, want about 1h", d)
	}
	if got := tok.Extra("issued_token_type"); got != oauthwire.TokenTypeAccessToken {
		t.Errorf("issued_token_type = %v, want %s", got, oauthwire.TokenTypeAccessToken)
	}

	// The GitHub request: api-version kept, audience = control plane origin.
	ghReqs := reqsTo(s.gh.Log, authtest.GitHubTokenPath)
	if len(ghReqs) != 1 {
		t.Fatalf("GitHub requests = %d, want 1", len(ghReqs))
	}
	if got, want := ghReqs[0].Query.Get("audience"), s.sts.URL; got != want {
		t.Errorf("GitHub audience = %q, want %q", got, want)
	}
	if got := ghReqs[0].Query.Get("api-version"); got != "2.0" {
		t.Errorf("GitHub api-version = %q, want 2.0", got)
	}
	if got := ghReqs[0].Authorization; got != "Bearer "+authtest.Redacted {
		t.Errorf("GitHub Authorization = %q, want a bearer", got)
	}

	// Discovery, then one RFC 8693 form POST.
	var paths []string
	for _, r := range s.sts.Log.Requests() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	if diff := cmp.Diff([]string{"GET " + authtest.ASMetadataPath, "POST " + authtest.STSTokenPath}, paths); diff != "" {
		t.Errorf("STS requests (-want +got):\n%s", diff)
	}
	form := s.sts.Log.Requests()[1].Form
	wantForm := map[string]string{
		"grant_type":           oauthwire.GrantTypeTokenExchange,
		"subject_token":        authtest.Redacted,
		"subject_token_type":   oauthwire.TokenTypeJWT,
		"requested_token_type": oauthwire.TokenTypeAccessToken,
		"audience":             s.sts.URL,
	}
	for k, want := range wantForm {
		if got := form.Get(k); got != want {
			t.Errorf("exchange form %s = %q, want %q", k, got, want)
		}
	}
	if _, ok := form["scope"]; ok {
		t.Errorf("exchange form has scope %q, want none", form.Get("scope"))
	}

	wantClaims := Claims{
		"iss": s.gh.Issuer, "sub": "repo:octo-org/octo-repo:environment:production", "aud": s.sts.URL,
		"repository": "octo-org/octo-repo", "repository_id": "123456789", "ref": "refs/heads/main",
		"environment": "production", "runner_environment": "github-hosted",
		"job_workflow_ref": "octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main",
	}
	if diff := cmp.Diff(wantClaims, res.Claims()); diff != "" {
		t.Errorf("Claims() (-want +got):\n%s", diff)
	}
	for name, v := range map[string]string{"request token": s.gh.RequestToken, "JWT": s.gh.Issued()[0], "access token": tok.AccessToken} {
		if !s.sink.has(v) {
			t.Errorf("the %s was not passed to Mask", name)
		}
	}
}

func TestGitHubOIDCOptions(t *testing.T) {
	tests := []struct {
		name         string
		cfg          func(*Config, *oidcSetup)
		opts         authtest.STSOptions
		wantGHAud    string // "" = the STS origin
		wantSubjType string
		wantPaths    int // requests to the STS
	}{
		{name: "id_token subject type", cfg: func(c *Config, _ *oidcSetup) { c.SubjectTokenType = "id_token" },
			wantSubjType: oauthwire.TokenTypeIDToken, wantPaths: 2},
		{name: "explicit audience", cfg: func(c *Config, _ *oidcSetup) { c.Audience = "takos-apply" },
			opts: authtest.STSOptions{SubjectAudience: "takos-apply"}, wantGHAud: "takos-apply", wantSubjType: oauthwire.TokenTypeJWT, wantPaths: 2},
		{name: "audience trimmed", cfg: func(c *Config, s *oidcSetup) { c.Audience = " aud-from-env\n" },
			opts: authtest.STSOptions{SubjectAudience: "aud-from-env"}, wantGHAud: "aud-from-env", wantSubjType: oauthwire.TokenTypeJWT, wantPaths: 2},
		{name: "token URL skips discovery", cfg: func(c *Config, s *oidcSetup) { c.TokenURL = s.sts.TokenURL },
			wantSubjType: oauthwire.TokenTypeJWT, wantPaths: 1},
		{name: "token URL trimmed", cfg: func(c *Config, s *oidcSetup) { c.TokenURL = s.sts.TokenURL + "\n" },
			wantSubjType: oauthwire.TokenTypeJWT, wantPaths: 1},
		{name: "expires_in as a string", opts: authtest.STSOptions{ExpiresInString: true}, wantSubjType: oauthwire.TokenTypeJWT, wantPaths: 2},
		{name: "control plane URL with a path uses its origin", cfg: func(c *Config, s *oidcSetup) {
			c.ControlPlaneURL = s.sts.URL + "/api/v1"
		}, wantSubjType: oauthwire.TokenTypeJWT, wantPaths: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newOIDCSetup(t, tc.opts)
			if tc.cfg != nil {
				tc.cfg(&s.cfg, s)
			}
			res, err := Resolve(context.Background(), s.cfg)
			if err != nil {
				t.Fatalf("Resolve() error = %v", err)
			}
			tok, err := res.Source.Token()
			if err != nil {
				t.Fatalf("Token() error = %v", err)
			}
			if tok.Expiry.IsZero() {
				t.Errorf("Token().Expiry is zero, want now+1h")
			}
			wantAud := tc.wantGHAud
			if wantAud == "" {
				wantAud = s.sts.URL
			}
			if got := reqsTo(s.gh.Log, authtest.GitHubTokenPath)[0].Query.Get("audience"); got != wantAud {
				t.Errorf("GitHub audience = %q, want %q", got, wantAud)
			}
			reqs := s.sts.Log.Requests()
			if len(reqs) != tc.wantPaths {
				t.Fatalf("STS requests = %d, want %d", len(reqs), tc.wantPaths)
			}
			last := reqs[len(reqs)-1].Form
			if got := last.Get("subject_token_type"); got != tc.wantSubjType {
				t.Errorf("subject_token_type = %q, want %q", got, tc.wantSubjType)
			}
			if got := last.Get("audience"); got != s.sts.URL {
				t.Errorf("exchange audience = %q, want the control plane origin %q", got, s.sts.URL)
			}
		})
	}
}

func TestCaching(t *testing.T) {
	t.Run("valid token is reused", func(t *testing.T) {
		s := newOIDCSetup(t, authtest.STSOptions{})
		res, err := Resolve(context.Background(), s.cfg)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		toks := make([]string, 8)
		errs := make([]error, 8)
		for i := range toks {
			wg.Go(func() {
				tok, err := res.Source.Token()
				errs[i] = err
				if err == nil {
					toks[i] = tok.AccessToken
				}
			})
		}
		wg.Wait()
		for i := range toks {
			if errs[i] != nil || toks[i] != toks[0] {
				t.Fatalf("concurrent Token() #%d = (same=%v, %v), want the cached token", i, toks[i] == toks[0], errs[i])
			}
		}
		if _, err := res.Source.Token(); err != nil {
			t.Fatal(err)
		}
		if got := s.sts.Exchanges(); got != 1 {
			t.Errorf("exchanges = %d, want 1", got)
		}
		if got := len(s.gh.Issued()); got != 1 {
			t.Errorf("GitHub tokens fetched = %d, want 1", got)
		}
		if got := s.sts.Log.Count(authtest.ASMetadataPath); got != 1 {
			t.Errorf("discovery requests = %d, want 1", got)
		}
	})
	t.Run("expiring token is re-exchanged with a fresh GitHub JWT", func(t *testing.T) {
		// 30 s is inside the 1 min refresh window: every call must refresh.
		s := newOIDCSetup(t, authtest.STSOptions{TokenLifetime: 30 * time.Second})
		res, err := Resolve(context.Background(), s.cfg)
		if err != nil {
			t.Fatal(err)
		}
		t1, err := res.Source.Token()
		if err != nil {
			t.Fatal(err)
		}
		t2, err := res.Source.Token()
		if err != nil {
			t.Fatal(err)
		}
		if t1.AccessToken == t2.AccessToken {
			t.Errorf("second Token() returned the expiring token, want a new one")
		}
		if got := s.sts.Exchanges(); got != 2 {
			t.Errorf("exchanges = %d, want 2", got)
		}
		jwts := s.gh.Issued()
		if len(jwts) != 2 || jwts[0] == jwts[1] {
			t.Errorf("GitHub JWTs fetched = %d (distinct=%v), want 2 distinct", len(jwts), len(jwts) == 2 && jwts[0] != jwts[1])
		}
		if got := s.sts.Log.Count(authtest.ASMetadataPath); got != 1 {
			t.Errorf("discovery requests = %d, want 1 (cached)", got)
		}
	})
}

func TestFailedExchangeIsNotCached(t *testing.T) {
	s := newOIDCSetup(t, authtest.STSOptions{})
	s.sts.Fail(5, authtest.Fault500)
	res, err := Resolve(context.Background(), s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := res.Source.Token(); err == nil {
		t.Fatal("Token() with 5×500 succeeded, want an error")
	}
	if _, err := res.Source.Token(); err != nil {
		t.Fatalf("Token() after recovery error = %v, want success", err)
	}
}

// TestTakosDiscoveryIssuer: the real Takos answers discovery on any URL
// with issuer https://$ADMIN_DOMAIN and no token exchange. The error must
// say so and point at the way out, before any GitHub token is requested.
func TestTakosDiscoveryIssuer(t *testing.T) {
	s := newOIDCSetup(t, authtest.STSOptions{})
	takos := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"issuer":"https://admin.takos.example","token_endpoint":"https://admin.takos.example/oauth/token",` +
			`"grant_types_supported":["authorization_code","refresh_token","urn:ietf:params:oauth:grant-type:device_code"]}`))
	}))
	defer takos.Close()
	s.cfg.ControlPlaneURL = takos.URL
	res, err := Resolve(context.Background(), s.cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = res.Source.Token()
	checkTokenErr(t, err, []string{
		"the metadata of " + takos.URL + ` reports issuer "https://admin.takos.example"`,
		"https://$ADMIN_DOMAIN", "pass it as --control-plane", "takos-apply broker", "pass the broker's URL as --control-plane",
	}, nil, false)
	if got := s.gh.Log.Count(authtest.GitHubTokenPath); got != 0 {
		t.Errorf("GitHub token requests = %d, want 0", got)
	}
}
