package devserver

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
)

// The OAuth authorization server, driven by golang.org/x/oauth2 where a
// real client would use it and by raw requests where the server's exact
// answer matters. Every expectation is the real server's (7d63ea66), most
// of them measured on it (see differential_test.go).

var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

const testRedirect = "http://127.0.0.1:9999/cb"

// oauthServer starts a server that signs with the shared test key and
// approves at once, with one confidential client.
func oauthServer(t *testing.T, opts ...Option) (*Server, *oauth2.Config) {
	t.Helper()
	s := newTest(t, append([]Option{WithSigningKey(testKey()), WithAutoApprove(), WithSelfIssuer()}, opts...)...)
	return s, newOAuthClient(t, s, `{"client_name":"App","redirect_uris":["`+testRedirect+`"],"scope":"openid profile email files:read"}`)
}

func newOAuthClient(t *testing.T, s *Server, body string) *oauth2.Config {
	t.Helper()
	status, _, got := call(t, s, "POST", clientsPath, s.Token, body)
	if status != 201 {
		t.Fatalf("creating the client: %d %v", status, got)
	}
	secret, _ := got["client_secret"].(string)
	return &oauth2.Config{
		ClientID:     got["client_id"].(string),
		ClientSecret: secret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   s.URL + "/oauth/authorize",
			TokenURL:  s.URL + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams, // Takos reads only the body
		},
		RedirectURL: testRedirect,
		Scopes:      []string{"openid", "profile", "files:read"},
	}
}

// authorize runs the authorization request and returns the redirect's
// query.
func authorize(t *testing.T, cfg *oauth2.Config, state, verifier string) url.Values {
	t.Helper()
	req, _ := http.NewRequest("GET", cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), nil)
	status, h, body := do(t, req)
	if status != http.StatusFound {
		t.Fatalf("GET /oauth/authorize = %d %v", status, body)
	}
	loc, err := url.Parse(h.Get("Location"))
	if err != nil || !strings.HasPrefix(h.Get("Location"), testRedirect+"?") {
		t.Fatalf("Location %q is not the redirect URI", h.Get("Location"))
	}
	return loc.Query()
}

func exchange(t *testing.T, cfg *oauth2.Config) (*oauth2.Token, string) {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	q := authorize(t, cfg, "st-1", verifier)
	if q.Get("state") != "st-1" || q.Get("code") == "" {
		t.Fatalf("redirect query %v", q)
	}
	tok, err := cfg.Exchange(context.Background(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok, q.Get("code")
}

func retrieveError(t *testing.T, err error) *oauth2.RetrieveError {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not an *oauth2.RetrieveError", err)
	}
	return re
}

func userinfo(t *testing.T, s *Server, access string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	status, _, got := do(t, req)
	return status, got
}

func form(t *testing.T, s *Server, path string, v url.Values) (int, http.Header, map[string]any) {
	t.Helper()
	return raw(t, s, "POST", path, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, v.Encode())
}

func TestCodeFlowAndRefreshRotation(t *testing.T) {
	s, cfg := oauthServer(t)
	tok, _ := exchange(t, cfg)
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || tok.Extra("scope") != "openid profile files:read" {
		t.Errorf("token = %+v scope %v", tok, tok.Extra("scope"))
	}
	if e := tok.Extra("expires_in"); e != float64(3600) {
		t.Errorf("expires_in = %v, want 3600", e)
	}
	if len(tok.RefreshToken) != 43 {
		t.Errorf("refresh token has %d characters, want 43 (base64url of 32 bytes)", len(tok.RefreshToken))
	}
	// The access token: RS256, header exactly as jose writes it (no kid),
	// the real claims in the real order.
	parts := strings.Split(tok.AccessToken, ".")
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if string(hdr) != `{"alg":"RS256","typ":"at+jwt"}` {
		t.Errorf("JWT header %s", hdr)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var keys []string
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.Token()
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip any
		dec.Decode(&skip)
	}
	if diff := cmp.Diff([]string{"scope", "client_id", "jti", "iss", "aud", "sub", "iat", "exp"}, keys); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	var claims AccessClaims
	json.Unmarshal(payload, &claims)
	if claims.Issuer != s.URL || claims.Audience != cfg.ClientID || claims.ClientID != cfg.ClientID || claims.Subject != DefaultOwner ||
		claims.Expiry-claims.IssuedAt != 3600 || len(claims.JTI) != 36 {
		t.Errorf("claims %+v", claims)
	}
	if c := s.oa.verifyJWT(tok.AccessToken, s.URL, cfg.ClientID, time.Now()); c == nil {
		t.Error("the server does not verify its own token")
	}
	status, info := userinfo(t, s, tok.AccessToken)
	want := map[string]any{"sub": DefaultOwner, "user": map[string]any{"id": DefaultOwner, "name": "Dev User", "picture": nil}, "name": "Dev User", "picture": nil}
	if diff := cmp.Diff(want, info); status != 200 || diff != "" {
		t.Errorf("userinfo = %d (-want +got):\n%s", status, diff)
	}

	// Refresh through x/oauth2's own TokenSource: the token has expired.
	old := *tok
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(context.Background(), tok).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == old.RefreshToken || fresh.AccessToken == old.AccessToken {
		t.Fatal("the refresh did not rotate both tokens")
	}
	// Rotation revokes the old refresh token and the access token issued
	// with it.
	if status, got := userinfo(t, s, old.AccessToken); status != 401 || got["error_description"] != "Token has been revoked" {
		t.Errorf("old access token after rotation: %d %v", status, got)
	}
	if status, _ := userinfo(t, s, fresh.AccessToken); status != 200 {
		t.Errorf("new access token: %d", status)
	}
	// Presenting the old refresh token again: it is simply invalid, and
	// the family lives on (the real server's behaviour; see
	// TestConcurrentRefreshReuse for the reuse it does detect).
	_, err = cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: old.RefreshToken}).Token()
	re := retrieveError(t, err)
	if re.ErrorCode != "invalid_grant" || re.ErrorDescription != "Invalid refresh token" || re.Response.StatusCode != 400 {
		t.Errorf("reused refresh token: %d %s %q", re.Response.StatusCode, re.ErrorCode, re.ErrorDescription)
	}
	again, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: fresh.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("the rotated refresh token no longer works: %v", err)
	}
	for _, tt := range s.Tokens() {
		if tt.Family != s.Tokens()[0].Family || !strings.HasPrefix(tt.Family, "auth_code:") {
			t.Errorf("token %+v is not in the code's family", tt)
		}
		if tt.RevokedReason == "reuse_detected" {
			t.Errorf("a sequential reuse revoked %+v", tt)
		}
	}
	if status, _ := userinfo(t, s, again.AccessToken); status != 200 {
		t.Errorf("third access token: %d", status)
	}
	// A narrower scope may be asked for on refresh, a wider one not.
	_, _, got := form(t, s, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {again.RefreshToken},
		"client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}, "scope": {"openid email"}})
	if got["error"] != "invalid_scope" || got["error_description"] != "Requested scope exceeds original grant" {
		t.Errorf("wider scope on refresh: %v", got)
	}
	status, _, got = form(t, s, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {again.RefreshToken},
		"client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}, "scope": {"openid"}})
	if status != 200 || got["scope"] != "openid" {
		t.Errorf("narrower scope on refresh: %d %v", status, got)
	}
}

func TestCodeReplayRevokesItsTokens(t *testing.T) {
	s, cfg := oauthServer(t)
	verifier := oauth2.GenerateVerifier()
	code := authorize(t, cfg, "s", verifier).Get("code")
	tok, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	// A refresh first, so the family has more than the code's first pair.
	tok2, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	_, err = cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	re := retrieveError(t, err)
	if re.ErrorCode != "invalid_grant" || re.ErrorDescription != "Authorization code already used" {
		t.Errorf("replayed code: %s %q", re.ErrorCode, re.ErrorDescription)
	}
	if status, got := userinfo(t, s, tok2.AccessToken); status != 401 || got["error_description"] != "Token has been revoked" {
		t.Errorf("access token of a replayed code: %d %v", status, got)
	}
	_, err = cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok2.RefreshToken}).Token()
	if re := retrieveError(t, err); re.ErrorCode != "invalid_grant" || re.ErrorDescription != "Invalid refresh token" {
		t.Errorf("refresh token of a replayed code: %s %q", re.ErrorCode, re.ErrorDescription)
	}
	for _, tt := range s.Tokens() {
		if !tt.Revoked {
			t.Errorf("token %+v survived the replay", tt)
		}
	}
}

// TestConcurrentRefreshReuse: two requests with one refresh token, the
// second arriving while the first is rotating it, is the reuse the server
// detects: the second is refused and the family revoked.
func TestConcurrentRefreshReuse(t *testing.T) {
	s, cfg := oauthServer(t)
	tok, _ := exchange(t, cfg)
	hold, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.oa.mu.Lock()
	s.oa.afterRefreshMark = func() { once.Do(func() { close(hold); <-release }) }
	s.oa.mu.Unlock()
	refresh := func() (int, map[string]any) {
		st, _, got := form(t, s, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
			"client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}})
		return st, got
	}
	type result struct {
		status int
		body   map[string]any
	}
	first := make(chan result)
	go func() { st, b := refresh(); first <- result{st, b} }()
	<-hold
	status, got := refresh()
	want := map[string]any{"error": "invalid_grant", "error_description": "Refresh token has been invalidated for security reasons"}
	if diff := cmp.Diff(want, got); status != 400 || diff != "" {
		t.Errorf("concurrent reuse = %d (-want +got):\n%s", status, diff)
	}
	if st, _ := userinfo(t, s, tok.AccessToken); st != 401 {
		t.Errorf("the family's access token still works after a detected reuse: %d", st)
	}
	reasons := map[string]int{}
	for _, tt := range s.Tokens() {
		reasons[tt.RevokedReason]++
	}
	if reasons["reuse_detected"] != 2 {
		t.Errorf("revocations %v, want the family's 2 tokens revoked as reuse_detected", reasons)
	}
	// The first request goes on, as on the real server: it revokes what it
	// rotates (again) and issues a new pair in the family.
	close(release)
	r := <-first
	if r.status != 200 {
		t.Errorf("the first request = %d %v", r.status, r.body)
	}
	if st, _ := userinfo(t, s, r.body["access_token"].(string)); st != 200 {
		t.Errorf("the winner's new access token = %d", st)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	s, cfg := oauthServer(t, WithoutDevHints())
	pub := newOAuthClient(t, s, `{"client_name":"Pub","redirect_uris":["`+testRedirect+`"],"scope":"openid profile files:read","token_endpoint_auth_method":"none"}`)
	verifier := oauth2.GenerateVerifier()
	newCode := func(c *oauth2.Config) string { return authorize(t, c, "s", verifier).Get("code") }
	base := func(code string, c *oauth2.Config) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {testRedirect},
			"client_id": {c.ClientID}, "client_secret": {c.ClientSecret}, "code_verifier": {verifier}}
	}
	with := func(v url.Values, k, val string) url.Values {
		v = cloneValues(v)
		if val == "" {
			v.Del(k)
		} else {
			v.Set(k, val)
		}
		return v
	}
	other := newOAuthClient(t, s, `{"client_name":"Other","redirect_uris":["`+testRedirect+`"],"scope":"openid profile files:read"}`)
	tests := []struct {
		name   string
		values func() url.Values
		status int
		err    string
		desc   string
	}{
		{"no verifier", func() url.Values { return with(base(newCode(cfg), cfg), "code_verifier", "") }, 400, "invalid_request", "Missing required parameters"},
		{"no client_id (HTTP Basic is not read)", func() url.Values { return with(base(newCode(cfg), cfg), "client_id", "") }, 400, "invalid_request", "Missing required parameters"},
		{"unknown client", func() url.Values { return with(base(newCode(cfg), cfg), "client_id", "nope") }, 401, "invalid_client", "Client not found"},
		{"no secret", func() url.Values { return with(base(newCode(cfg), cfg), "client_secret", "") }, 401, "invalid_client", "Client secret required"},
		{"wrong secret", func() url.Values { return with(base(newCode(cfg), cfg), "client_secret", "x") }, 401, "invalid_client", "Invalid client secret"},
		{"unknown code", func() url.Values { return base("nope", cfg) }, 400, "invalid_grant", "Authorization code not found"},
		{"another client's code", func() url.Values { return base(newCode(other), cfg) }, 400, "invalid_grant", "Client ID mismatch"},
		{"another redirect URI", func() url.Values { return with(base(newCode(cfg), cfg), "redirect_uri", testRedirect+"/") }, 400, "invalid_grant", "Redirect URI mismatch"},
		{"wrong verifier", func() url.Values { return with(base(newCode(cfg), cfg), "code_verifier", strings.Repeat("a", 43)) }, 400, "invalid_grant", "PKCE verification failed"},
		{"a public client needs no secret", func() url.Values { return with(base(newCode(pub), pub), "client_secret", "") }, 200, "", ""},
		{"client_credentials needs the grant", func() url.Values {
			return url.Values{"grant_type": {"client_credentials"}, "client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}}
		}, 400, "unauthorized_client", "Grant type not allowed"},
		{"device code needs the grant", func() url.Values {
			return url.Values{"grant_type": {deviceCodeGrant}, "device_code": {"x"}, "client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}}
		}, 400, "unauthorized_client", "Client does not support device_code grant"},
		{"refresh without a token", func() url.Values {
			return url.Values{"grant_type": {"refresh_token"}, "client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}}
		}, 400, "invalid_request", "Missing required parameters"},
		{"refresh with an unknown token", func() url.Values {
			return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}, "client_id": {cfg.ClientID}, "client_secret": {cfg.ClientSecret}}
		}, 400, "invalid_grant", "Invalid refresh token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, h, got := form(t, s, "/oauth/token", tc.values())
			if status != tc.status || (tc.err != "" && (got["error"] != tc.err || got["error_description"] != tc.desc)) {
				t.Errorf("= %d %v, want %d %s %q", status, got, tc.status, tc.err, tc.desc)
			}
			if status == 200 && h.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control = %q", h.Get("Cache-Control"))
			}
		})
	}
	t.Run("a code used with a wrong verifier is not consumed", func(t *testing.T) {
		code := newCode(cfg)
		if st, _, _ := form(t, s, "/oauth/token", with(base(code, cfg), "code_verifier", strings.Repeat("b", 43))); st != 400 {
			t.Fatalf("wrong verifier = %d", st)
		}
		if st, _, got := form(t, s, "/oauth/token", base(code, cfg)); st != 200 {
			t.Errorf("the right verifier afterwards = %d %v", st, got)
		}
	})
	t.Run("an expired code", func(t *testing.T) {
		now := time.Now()
		var mu sync.Mutex
		s2, c2 := oauthServer(t, WithClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now }))
		code := authorize(t, c2, "s", verifier).Get("code")
		mu.Lock()
		now = now.Add(601 * time.Second)
		mu.Unlock()
		if _, _, got := form(t, s2, "/oauth/token", base(code, c2)); got["error_description"] != "Authorization code expired" {
			t.Errorf("= %v", got)
		}
	})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// BenchmarkCodeFlow is one sign-in as an app does it, over HTTP on
// loopback with golang.org/x/oauth2: authorize (approved at once), code
// exchange, userinfo, refresh, userinfo. The README reports it.
func BenchmarkCodeFlow(b *testing.B) {
	s, err := Start(WithSigningKey(testKey()), WithAutoApprove(), WithSelfIssuer())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const secret = "benchmark-secret"
	c := s.Seed(StoredClient{Name: "App", SecretHash: sha256Hex(secret), RedirectURIs: []string{testRedirect}, AllowedScopes: []string{"openid", "profile"}})
	cfg := &oauth2.Config{ClientID: c.ClientID, ClientSecret: secret, RedirectURL: testRedirect, Scopes: []string{"openid", "profile"},
		Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/oauth/authorize", TokenURL: s.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		verifier := oauth2.GenerateVerifier()
		req, _ := http.NewRequest("GET", cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), nil)
		req.Header.Set("CF-Connecting-IP", fmt.Sprint("10.0.", i/250%250, ".", i%250)) // below the rate limits
		resp, err := noRedirect.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		hc := &http.Client{Transport: ipTransport(fmt.Sprint("10.1.", i/250%250, ".", i%250))}
		cctx := context.WithValue(ctx, oauth2.HTTPClient, hc)
		tok, err := cfg.Exchange(cctx, loc.Query().Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			b.Fatal(err)
		}
		if st, _ := userinfoB(s, tok.AccessToken); st != 200 {
			b.Fatal(st)
		}
		tok.Expiry = time.Now().Add(-time.Minute)
		fresh, err := cfg.TokenSource(cctx, tok).Token()
		if err != nil {
			b.Fatal(err)
		}
		if st, _ := userinfoB(s, fresh.AccessToken); st != 200 {
			b.Fatal(st)
		}
	}
}

type ipTransport string

func (ip ipTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("CF-Connecting-IP", string(ip))
	return http.DefaultTransport.RoundTrip(r)
}

func userinfoB(s *Server, access string) (int, error) {
	req, _ := http.NewRequest("GET", s.URL+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
