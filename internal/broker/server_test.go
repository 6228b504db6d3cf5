package broker

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
	"github.com/takos-dev/takos-apply/internal/brokerstate"
	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// clock is the fixture's settable clock; it starts at the real time
// because the GitHub fake stamps its tokens with time.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer is an io.Writer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines returns the audit log's JSON objects.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("audit line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

const testPolicy = `version: 1
rules:
  - name: deploy-main
    match:
      repository_id: "123456789"
      ref: refs/heads/main
    ttl: 5m
`

type fixture struct {
	t     testing.TB
	gh    *authtest.GitHubOIDC
	cp    *devserver.Server
	clock *clock
	audit *syncBuffer
	srv   *Server
	url   string // the broker's origin
	cfg   Config
}

func newFixture(t testing.TB, policy string, opts ...func(*Config)) *fixture {
	t.Helper()
	f := &fixture{t: t, gh: authtest.NewGitHubOIDC(t), clock: &clock{now: time.Now()}, audit: &syncBuffer{}}
	f.cp = devservertest.New(t, devserver.WithClock(f.clock.Now))
	p, diags, err := LoadPolicy("policy.yml", []byte(policy))
	if err != nil || p == nil {
		t.Fatalf("LoadPolicy() = %v, %v", diags, err)
	}
	ts := httptest.NewUnstartedServer(nil)
	f.url = "http://" + ts.Listener.Addr().String()
	f.cfg = Config{
		URL:             f.url,
		Issuers:         []string{f.gh.Issuer},
		Policy:          p,
		ControlPlaneURL: f.cp.URL,
		Token:           f.cp.Token,
		Audit:           f.audit,
		Now:             f.clock.Now,
		Sleep:           func(context.Context, time.Duration) error { return nil },
	}
	for _, o := range opts {
		o(&f.cfg)
	}
	f.srv, err = New(f.cfg)
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	ts.Config.Handler = f.srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	return f
}

// token signs the fake's claims for the broker's audience (its own
// origin) after mod.
func (f *fixture) token(mod func(c map[string]any)) string {
	f.t.Helper()
	c := f.gh.Claims(f.cfg.URL)
	if mod != nil {
		mod(c)
	}
	tok, err := f.gh.Sign(c)
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

func exchangeForm(tok string) url.Values {
	return url.Values{
		"grant_type":           {oauthwire.GrantTypeTokenExchange},
		"subject_token":        {tok},
		"subject_token_type":   {oauthwire.TokenTypeJWT},
		"requested_token_type": {oauthwire.TokenTypeAccessToken},
	}
}

type answer struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

func (f *fixture) post(form url.Values) answer {
	f.t.Helper()
	return f.do(http.MethodPost, TokenPath, "application/x-www-form-urlencoded", form.Encode())
}

// api sends a gateway request with bearer tok (none when "") and a JSON
// body when body is not "".
func (f *fixture) api(tok, method, path, body string) answer {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return f.send(req)
}

func (f *fixture) send(req *http.Request) answer {
	f.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &a.body)
	return a
}

func (f *fixture) do(method, path, ctype, body string) answer {
	f.t.Helper()
	req, err := http.NewRequest(method, f.url+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &a.body)
	return a
}

// exchange trades a fresh GitHub token (after mod) for an access token,
// failing the test unless it is granted.
func (f *fixture) exchange(mod func(c map[string]any)) string {
	f.t.Helper()
	a := f.post(exchangeForm(f.token(mod)))
	tok, _ := a.body["access_token"].(string)
	if a.status != 200 || tok == "" {
		f.t.Fatalf("exchange = %d %s, want an access token", a.status, a.raw)
	}
	return tok
}

func TestExchangeGrantsAnAccessToken(t *testing.T) {
	f := newFixture(t, testPolicy)
	a := f.post(exchangeForm(f.token(nil)))
	if a.status != 200 {
		t.Fatalf("exchange = %d %s, want 200", a.status, a.raw)
	}
	if got := a.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	tok, _ := a.body["access_token"].(string)
	if !strings.HasPrefix(tok, AccessTokenPrefix) || a.body["issued_token_type"] != oauthwire.TokenTypeAccessToken ||
		a.body["token_type"] != "Bearer" || a.body["expires_in"] != float64(300) ||
		a.body["scope"] != "clients:read clients:write env:read env:write" {
		t.Errorf("answer = %v, want an RFC 8693 access token of the broker for 300 s with the rule's capabilities", a.body)
	}
	// No Takos credential is made for the job: the exchange does not
	// reach the control plane at all.
	if reqs := f.cp.Requests(); len(reqs) != 0 || len(f.cp.PATs()) != 0 {
		t.Errorf("the exchange made control-plane requests %+v (PATs %v), want none", reqs, f.cp.PATs())
	}
	g, err := f.srv.tokens.verify(tok, f.url, f.clock.Now())
	if err != nil || g.Rule != "deploy-main" || g.Repository != "octo-org/octo-repo" || g.RepositoryID != "123456789" ||
		g.RunID != "9876543210" || g.RunAttempt != "1" || !g.Expires().Equal(f.clock.Now().Add(5*time.Minute).Truncate(time.Second)) {
		t.Errorf("grant = %+v, %v; want rule, repository, run and expiry bound", g, err)
	}
	lines := f.audit.lines(t)
	last := lines[len(lines)-1]
	claims, _ := last["claims"].(map[string]any)
	if last["msg"] != "token exchange" || last["decision"] != "granted" || last["rule"] != "deploy-main" || last["claims_verified"] != true ||
		last["token_id"] != g.ID || claims["repository"] != "octo-org/octo-repo" || claims["run_id"] != "9876543210" {
		t.Errorf("audit line = %v, want the grant with rule, token id and claims", last)
	}
}

func noneToken(claims map[string]any) string {
	h, _ := json.Marshal(map[string]any{"alg": "none", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

func hs256Token(kid string, claims map[string]any, key []byte) string {
	h, _ := json.Marshal(map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid})
	c, _ := json.Marshal(claims)
	in := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(in))
	return in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestRefusals: every verification and policy failure answers the right
// RFC 6749 error, says which check failed, and mints nothing.
func TestRefusals(t *testing.T) {
	f := newFixture(t, testPolicy)
	now := time.Now().Unix()
	set := func(kv ...any) func(map[string]any) {
		return func(c map[string]any) {
			for i := 0; i < len(kv); i += 2 {
				if kv[i+1] == nil {
					delete(c, kv[i].(string))
				} else {
					c[kv[i].(string)] = kv[i+1]
				}
			}
		}
	}
	tampered := func() string {
		tok := f.token(nil)
		parts := strings.Split(tok, ".")
		c := f.gh.Claims(f.url)
		c["repository_id"] = "123456789"
		c["repository"] = "evil-org/evil-repo"
		b, _ := json.Marshal(c)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}
	signHeader := func(h map[string]any) string {
		tok, err := f.gh.SignHeader(h, f.gh.Claims(f.url))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for _, tc := range []struct {
		name   string
		form   url.Values
		ctype  string
		status int
		code   string
		desc   string
	}{
		{name: "bad signature", form: exchangeForm(tampered()), code: "invalid_grant", desc: "signature does not verify"},
		{name: "alg none", form: exchangeForm(noneToken(f.gh.Claims(f.url))), code: "invalid_grant", desc: `alg "none" is not accepted; only RS256 is`},
		{name: "alg HS256", form: exchangeForm(hs256Token(f.gh.KeyID(), f.gh.Claims(f.url), []byte("public key bytes"))), code: "invalid_grant", desc: `alg "HS256" is not accepted`},
		{name: "alg RS512 claimed", form: exchangeForm(signHeader(map[string]any{"alg": "RS512", "kid": f.gh.KeyID()})), code: "invalid_grant", desc: `alg "RS512" is not accepted`},
		{name: "missing kid", form: exchangeForm(signHeader(map[string]any{"alg": "RS256", "typ": "JWT"})), code: "invalid_grant", desc: "header has no kid"},
		{name: "unknown kid", form: exchangeForm(signHeader(map[string]any{"alg": "RS256", "kid": "made-up"})), code: "invalid_grant", desc: `kid "made-up" is not in the JWKS`},
		{name: "embedded jwk", form: exchangeForm(signHeader(map[string]any{"alg": "RS256", "kid": f.gh.KeyID(), "jku": "https://evil.example/keys"})), code: "invalid_grant", desc: "must not embed or point at keys"},
		{name: "wrong iss", form: exchangeForm(f.token(set("iss", "https://evil.example"))), code: "invalid_grant", desc: `iss "https://evil.example" is not a trusted issuer`},
		{name: "wrong aud", form: exchangeForm(f.token(set("aud", "https://elsewhere.example"))), code: "invalid_grant", desc: `aud "https://elsewhere.example" is not this broker's audience`},
		{name: "expired beyond leeway", form: exchangeForm(f.token(set("exp", now-61, "iat", now-400, "nbf", now-1000))), code: "invalid_grant", desc: "subject_token expired at"},
		{name: "nbf in the future", form: exchangeForm(f.token(set("nbf", now+120))), code: "invalid_grant", desc: "not valid before"},
		{name: "iat in the future", form: exchangeForm(f.token(set("iat", now+120, "nbf", nil))), code: "invalid_grant", desc: "issued in the future"},
		{name: "no exp", form: exchangeForm(f.token(set("exp", nil))), code: "invalid_grant", desc: "has no exp"},
		{name: "no jti", form: exchangeForm(f.token(set("jti", nil))), code: "invalid_grant", desc: "has no jti"},
		{name: "policy miss", form: exchangeForm(f.token(set("repository_id", "42"))), code: "invalid_grant",
			desc: `no trust policy rule matches (deploy-main: repository_id is "42", rule wants "123456789"); token claims: iss=`},
		{name: "pull_request_target", form: exchangeForm(f.token(set("event_name", "pull_request_target"))), code: "unauthorized_client",
			desc: `event "pull_request_target" can run code or inputs of a fork or an outsider and no rule names it`},
		{name: "fork pull_request", form: exchangeForm(f.token(set("event_name", "pull_request", "ref", "refs/heads/main"))), code: "unauthorized_client",
			desc: `event "pull_request" can run code or inputs of a fork or an outsider`},
		{name: "not a JWT", form: exchangeForm("abc"), code: "invalid_grant", desc: "not a JWS compact serialization"},
		{name: "wrong grant type", form: url.Values{"grant_type": {"client_credentials"}}, code: "unsupported_grant_type", desc: "grant_type must be"},
		{name: "no subject token", form: url.Values{"grant_type": {oauthwire.GrantTypeTokenExchange}, "subject_token_type": {oauthwire.TokenTypeJWT}}, code: "invalid_request", desc: "subject_token is missing"},
		{name: "wrong subject token type", form: func() url.Values {
			v := exchangeForm(f.token(nil))
			v.Set("subject_token_type", oauthwire.TokenTypeAccessToken)
			return v
		}(),
			code: "invalid_request", desc: "subject_token_type must be"},
		{name: "wrong requested type", form: func() url.Values {
			v := exchangeForm(f.token(nil))
			v.Set("requested_token_type", oauthwire.TokenTypeJWT)
			return v
		}(),
			code: "invalid_request", desc: "requested_token_type must be"},
		{name: "audience elsewhere", form: func() url.Values {
			v := exchangeForm(f.token(nil))
			v.Set("audience", "https://other.example")
			return v
		}(),
			code: "invalid_target", desc: `issues tokens for itself (` + f.url + `) only, not "https://other.example"`},
		{name: "audience the Takos control plane", form: func() url.Values {
			v := exchangeForm(f.token(nil))
			v.Set("audience", f.cp.URL)
			return v
		}(),
			code: "invalid_target", desc: "point control-plane-url at the broker"},
		{name: "GitHub token for Takos (the PAT-era workflow)", form: exchangeForm(f.token(set("aud", f.cp.URL))), code: "invalid_grant",
			desc: "is the Takos control plane, not this broker"},
		{name: "JSON body", form: exchangeForm(f.token(nil)), ctype: "application/json", code: "invalid_request", desc: "application/x-www-form-urlencoded"},
		{name: "body over 64 KiB", form: func() url.Values {
			v := exchangeForm(f.token(nil))
			v.Set("pad", strings.Repeat("x", 70<<10))
			return v
		}(),
			status: 413, code: "invalid_request", desc: "larger than 64 KiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctype := tc.ctype
			if ctype == "" {
				ctype = "application/x-www-form-urlencoded"
			}
			a := f.do(http.MethodPost, TokenPath, ctype, tc.form.Encode())
			want := tc.status
			if want == 0 {
				want = 400
			}
			if a.status != want || a.body["error"] != tc.code {
				t.Errorf("answer = %d %s, want %d %s", a.status, a.raw, want, tc.code)
			}
			if d, _ := a.body["error_description"].(string); !strings.Contains(d, tc.desc) {
				t.Errorf("error_description = %q, want it to contain %q", d, tc.desc)
			}
			if _, ok := a.body["access_token"]; ok {
				t.Errorf("a refusal carries an access_token")
			}
		})
	}
	if reqs := f.cp.Requests(); len(reqs) != 0 {
		t.Errorf("refusals reached the control plane: %+v", reqs)
	}
}

func TestReplayIsRefused(t *testing.T) {
	f := newFixture(t, testPolicy)
	tok := f.token(nil)
	if a := f.post(exchangeForm(tok)); a.status != 200 {
		t.Fatalf("first exchange = %d %s", a.status, a.raw)
	}
	a := f.post(exchangeForm(tok))
	if a.status != 400 || a.body["error"] != "invalid_grant" || !strings.Contains(a.body["error_description"].(string), "was already exchanged") {
		t.Errorf("replay = %d %s, want 400 invalid_grant already exchanged", a.status, a.raw)
	}
	// Within the leeway the token is still remembered.
	f.clock.Add(5*time.Minute + 30*time.Second)
	if a := f.post(exchangeForm(tok)); a.status != 400 {
		t.Errorf("replay after expiry within leeway = %d, want 400", a.status)
	}
}

func TestLeeway(t *testing.T) {
	f := newFixture(t, testPolicy)
	now := time.Now().Unix()
	tok := f.token(func(c map[string]any) { c["exp"] = now - 30; c["nbf"] = now + 30; c["iat"] = now + 30 })
	if a := f.post(exchangeForm(tok)); a.status != 200 {
		t.Errorf("token 30 s off = %d %s, want accepted within the 60 s leeway", a.status, a.raw)
	}
}

func TestGitHubKeyRotation(t *testing.T) {
	f := newFixture(t, testPolicy)
	if a := f.post(exchangeForm(f.token(nil))); a.status != 200 {
		t.Fatalf("exchange = %d %s", a.status, a.raw)
	}
	if err := f.gh.RotateKey(true); err != nil {
		t.Fatal(err)
	}
	// A new kid within a minute of the last fetch is refused (the refresh
	// is bounded); after that it makes the broker fetch the JWKS again.
	if a := f.post(exchangeForm(f.token(nil))); a.status != 400 || !strings.Contains(a.raw, "is not in the JWKS") {
		t.Fatalf("rotated key within a minute = %d %s, want a bounded refusal", a.status, a.raw)
	}
	f.clock.Add(61 * time.Second)
	if a := f.post(exchangeForm(f.token(nil))); a.status != 200 {
		t.Fatalf("exchange with the rotated key = %d %s, want the JWKS refreshed", a.status, a.raw)
	}
	if got := f.gh.Log.Count(authtest.JWKSPath); got != 2 {
		t.Errorf("JWKS fetches = %d, want 2 (initial, rotation)", got)
	}
	// Made-up kids do not make the broker fetch again within a minute.
	for i := 0; i < 5; i++ {
		tok, _ := f.gh.SignHeader(map[string]any{"alg": "RS256", "kid": "made-up"}, f.gh.Claims(f.url))
		if a := f.post(exchangeForm(tok)); a.status != 400 {
			t.Fatalf("unknown kid = %d", a.status)
		}
	}
	if got := f.gh.Log.Count(authtest.JWKSPath); got != 2 {
		t.Errorf("JWKS fetches after 5 unknown kids = %d, want still 2", got)
	}
	f.clock.Add(2 * time.Minute)
	tok, _ := f.gh.SignHeader(map[string]any{"alg": "RS256", "kid": "made-up"}, f.gh.Claims(f.url))
	f.post(exchangeForm(tok))
	if got := f.gh.Log.Count(authtest.JWKSPath); got != 3 {
		t.Errorf("JWKS fetches a minute later = %d, want 3", got)
	}
}

func TestRateLimitPerRepository(t *testing.T) {
	f := newFixture(t, testPolicy+`  - name: other
    match: {repository_id: "777"}
`, func(c *Config) { c.RatePerMinute, c.Burst = 1, 2 })
	for i := 0; i < 2; i++ {
		if a := f.post(exchangeForm(f.token(nil))); a.status != 200 {
			t.Fatalf("exchange %d = %d %s", i, a.status, a.raw)
		}
	}
	a := f.post(exchangeForm(f.token(nil)))
	if a.status != 429 || a.header.Get("Retry-After") == "" {
		t.Errorf("third exchange = %d (Retry-After %q), want 429 with Retry-After", a.status, a.header.Get("Retry-After"))
	}
	other := f.token(func(c map[string]any) { c["repository_id"] = "777" })
	if a := f.post(exchangeForm(other)); a.status != 200 {
		t.Errorf("another repository = %d %s, want its own budget", a.status, a.raw)
	}
	f.clock.Add(time.Minute)
	if a := f.post(exchangeForm(f.token(nil))); a.status != 200 {
		t.Errorf("a minute later = %d %s, want one more", a.status, a.raw)
	}
}

func TestMetadataAndHealth(t *testing.T) {
	f := newFixture(t, testPolicy)
	a := f.do("GET", MetadataPath, "", "")
	// The broker is the job's control plane: its metadata names it as
	// issuer and token endpoint, and passes on Takos's scopes for the
	// scope lint.
	want := map[string]any{"grant_types_supported": []any{oauthwire.GrantTypeTokenExchange}, "issuer": f.url,
		"scopes_supported": toAny(devserver.Scopes()), "token_endpoint": f.url + TokenPath, "token_endpoint_auth_methods_supported": []any{"none"}}
	if a.status != 200 || !equalJSON(a.body, want) {
		t.Errorf("metadata = %d %s, want %v", a.status, a.raw, want)
	}
	f.do("GET", MetadataPath, "", "")
	if n := len(f.cp.Requests()); n != 1 {
		t.Errorf("Takos's discovery fetched %d times for two metadata requests, want once (cached)", n)
	}
	if a := f.do("GET", HealthPath, "", ""); a.status != 200 || a.raw != "ok\n" {
		t.Errorf("healthz = %d %q", a.status, a.raw)
	}
	if a := f.do("GET", TokenPath, "", ""); a.status != 405 || a.header.Get("Allow") != "POST" {
		t.Errorf("GET /token = %d", a.status)
	}
	if a := f.do("POST", TokenPath+"?subject_token=x", "application/x-www-form-urlencoded", ""); a.status != 400 || !strings.Contains(a.raw, "not the query string") {
		t.Errorf("token in the query = %d %s", a.status, a.raw)
	}
	for _, p := range []string{"/", "/token/", "/healthz/x", "/.well-known/oauth-authorization-server/x", "/apix"} {
		if a := f.do("GET", p, "", ""); a.status != 404 {
			t.Errorf("GET %s = %d, want 404", p, a.status)
		}
	}
}

// TestMetadataWithoutTakosDiscovery: when Takos's discovery cannot be
// read, the metadata still answers, without scopes_supported (the scope
// lint then uses its built-in list).
func TestMetadataWithoutTakosDiscovery(t *testing.T) {
	f := newFixture(t, testPolicy)
	f.cp.Inject(devserver.Fault{Method: "GET", Path: "/.well-known/oauth-authorization-server", Kind: devserver.StatusBeforeAct, Status: 503})
	a := f.do("GET", MetadataPath, "", "")
	if _, has := a.body["scopes_supported"]; a.status != 200 || has || a.body["token_endpoint"] != f.url+TokenPath {
		t.Errorf("metadata = %d %s, want 200 without scopes_supported", a.status, a.raw)
	}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestSecretsNeverLeak: the broker's credential, access tokens and
// subject JWTs never appear in the audit log or in any answer except the
// access_token of a success.
func TestSecretsNeverLeak(t *testing.T) {
	f := newFixture(t, testPolicy)
	var answers []string
	var jwts, accessTokens []string
	record := func(a answer) {
		if tok, ok := a.body["access_token"].(string); ok {
			accessTokens = append(accessTokens, tok)
			answers = append(answers, strings.ReplaceAll(a.raw, tok, "<ACCESS TOKEN>"))
			return
		}
		answers = append(answers, a.raw)
	}
	ok := f.token(nil)
	jwts = append(jwts, ok)
	record(f.post(exchangeForm(ok)))
	record(f.post(exchangeForm(ok))) // replay
	for _, mod := range []func(map[string]any){
		func(c map[string]any) { c["repository_id"] = "1" },
		func(c map[string]any) { c["event_name"] = "pull_request_target" },
		func(c map[string]any) { c["aud"] = "x" },
		// A claim carrying what looks like a credential is redacted.
		func(c map[string]any) { c["ref"] = "refs/heads/" + f.cp.Token },
	} {
		tok := f.token(mod)
		jwts = append(jwts, tok)
		record(f.post(exchangeForm(tok)))
	}
	// The token echoed in the query string.
	record(f.do("POST", TokenPath+"?subject_token="+url.QueryEscape(ok), "application/x-www-form-urlencoded", ""))
	// Gateway requests: granted, refused, and with a bad token.
	record(f.api(accessTokens[0], "GET", "/api/me/oauth/clients", ""))
	record(f.api(accessTokens[0], "POST", "/api/me/personal-access-tokens", `{"name":"x"}`))
	record(f.api(accessTokens[0]+"x", "GET", "/api/me/oauth/clients", ""))
	record(f.api(f.cp.Token, "GET", "/api/me/oauth/clients", ""))

	secrets := append([]string{f.cp.Token}, jwts...)
	secrets = append(secrets, accessTokens...)
	for _, j := range append(jwts, accessTokens...) {
		secrets = append(secrets, j[strings.LastIndex(j, ".")+1:]) // the signature alone
	}
	surfaces := strings.Join(answers, "\n") + "\n" + f.audit.String()
	if len(accessTokens) == 0 || !strings.Contains(surfaces, "octo-org/octo-repo") || !strings.Contains(surfaces, "gateway request") {
		t.Fatal("the canary would prove nothing: no token granted, no claims shown or no gateway request logged")
	}
	for i, s := range secrets {
		if strings.Contains(surfaces, s) {
			t.Errorf("secret %d appears in an answer or the audit log", i)
		}
	}
}

// TestCutCredentialDoesNotLeak (audit finding): a claim that carries the
// broker's credential where a message cuts it (a quoted claim is cut at
// 200 characters) once leaked the credential's first characters, because
// the cut came before the redaction. Claims are now redacted before any
// message quotes or cuts them.
func TestCutCredentialDoesNotLeak(t *testing.T) {
	const cred = "deploy-credential-ABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789"
	f := newFixture(t, testPolicy, func(c *Config) { c.Token, c.RatePerMinute = cred, -1 })
	// A gateway request whose path carries it: the audit records the path
	// cut at 200 characters.
	tok := f.exchange(nil)
	for pad := 150; pad < 200; pad++ {
		p := "/api/" + strings.Repeat("x", pad%2)
		for len(p) < pad {
			p += "y/"
		}
		a := f.api(tok, "GET", p+cred, "")
		if a.status != 403 {
			t.Fatalf("gateway = %d %s", a.status, a.raw)
		}
		noCredentialPrefix(t, fmt.Sprintf("path pad %d", pad), cred, a.raw, f.audit.String())
	}
	for pad := 170; pad < 200; pad += 3 {
		ref := "refs/heads/" + strings.Repeat("x", pad) + cred
		a := f.post(exchangeForm(f.token(func(c map[string]any) { c["ref"] = ref })))
		if a.status != 400 {
			t.Fatalf("exchange = %d %s", a.status, a.raw)
		}
		noCredentialPrefix(t, fmt.Sprintf("pad %d", pad), cred, a.raw, f.audit.String())
	}
}

// noCredentialPrefix fails when any surface holds the credential's first
// 8 or more characters: what a cut after the redaction would leave.
func noCredentialPrefix(t *testing.T, what, cred string, surfaces ...string) {
	t.Helper()
	for _, surface := range surfaces {
		for n := 8; n <= len(cred); n++ {
			if strings.Contains(surface, cred[:n]) {
				t.Fatalf("%s: the first %d characters of the credential leak: %s", what, n, surface)
			}
		}
	}
}

// TestRunNeverTouchesPATs (audit finding): the broker once listed, on
// start, every PAT whose name began "takos-apply broker: " and revoked it
// once "expired" — a human's PAT of that name, or the broker's own. It no
// longer mints, lists or revokes PATs: a whole run, start to graceful
// stop, with an exchange and forwarded requests, makes no request to the
// PAT API, and such a PAT stays alive.
func TestRunNeverTouchesPATs(t *testing.T) {
	f := newFixture(t, testPolicy)
	req, _ := http.NewRequest("POST", f.cp.URL+devserver.PATsPath, strings.NewReader(`{"name":"takos-apply broker: laptop"}`))
	req.Header.Set("Authorization", "Bearer "+f.cp.Token)
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 201 {
		t.Fatalf("seeding a PAT: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Run(ctx, ln) }()
	f.url = "http://" + ln.Addr().String()
	tok := f.exchange(nil)
	if a := f.api(tok, "GET", "/api/me/oauth/clients", ""); a.status != 200 {
		t.Fatalf("list through the gateway = %d %s", a.status, a.raw)
	}
	f.clock.Add(time.Hour)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run() = %v, want a clean shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	for _, r := range f.cp.Requests() {
		if strings.HasPrefix(r.Path, devserver.PATsPath) && r.Method != "POST" {
			t.Errorf("the broker called the PAT API: %s %s", r.Method, r.Path)
		}
	}
	if pats := f.cp.PATs(); len(pats) != 1 || pats[0].Revoked {
		t.Errorf("PATs = %+v, want the human's PAT alive", pats)
	}
}

// TestStoreFailuresRefuse: when the shared state cannot answer, the
// exchange is refused (503), never granted without the check.
func TestStoreFailuresRefuse(t *testing.T) {
	for name, opt := range map[string]func(*Config){
		"replay cache": func(c *Config) {
			c.State = failingStore{Store: brokerstate.NewMemory(brokerstate.Limit{}, nil), reserve: true}
		},
		"rate limiter": func(c *Config) {
			c.State = failingStore{Store: brokerstate.NewMemory(brokerstate.Limit{}, nil), allow: true}
		},
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, testPolicy, opt)
			a := f.post(exchangeForm(f.token(nil)))
			if a.status != 503 || a.body["error"] != "temporarily_unavailable" || a.body["access_token"] != nil {
				t.Errorf("exchange with a failing %s = %d %s, want 503 and no token", name, a.status, a.raw)
			}
		})
	}
}

// failingStore fails Reserve or Allow as a store that is down does.
type failingStore struct {
	brokerstate.Store
	reserve, allow bool
}

func (f failingStore) Reserve(ctx context.Context, id string, until time.Time) (bool, error) {
	if f.reserve {
		return false, errors.New("store down")
	}
	return f.Store.Reserve(ctx, id, until)
}

func (f failingStore) Allow(ctx context.Context, key string, now time.Time) (bool, time.Duration, error) {
	if f.allow {
		return false, 0, errors.New("store down")
	}
	return f.Store.Allow(ctx, key, now)
}

// TestAuditMarksUnverifiedClaims: a forged token's claims are logged as
// claimed, flagged claims_verified false; a policy miss's as verified.
func TestAuditMarksUnverifiedClaims(t *testing.T) {
	f := newFixture(t, testPolicy)
	tok := f.token(nil)
	forged := tok[:strings.LastIndex(tok, ".")] + ".AAAA"
	f.post(exchangeForm(forged))
	f.post(exchangeForm(f.token(func(c map[string]any) { c["repository_id"] = "7" })))
	lines := f.audit.lines(t)
	var got []any
	for _, l := range lines {
		if l["msg"] == "token exchange" {
			got = append(got, l["claims_verified"], l["error"])
		}
	}
	if want := []any{false, "invalid_grant", true, "invalid_grant"}; !equalJSON(got, want) {
		t.Errorf("audit (claims_verified, error) = %v, want %v", got, want)
	}
}

// TestAuditOfRefusedTokenIsCapped (audit finding): a refused token from an
// untrusted issuer had its claims written uncapped, twice (in the reason
// and as claims): a 54 KB request made a 66 KiB audit line. Every value is
// now capped and says what was cut, and the claims are recorded once.
func TestAuditOfRefusedTokenIsCapped(t *testing.T) {
	f := newFixture(t, testPolicy)
	tok := f.token(func(c map[string]any) {
		c["iss"] = "https://evil.example"
		c["sub"] = "repo:" + strings.Repeat("S", 15000)
		c["ref"] = "refs/heads/" + strings.Repeat("R", 15000)
		c["repository"] = strings.Repeat("P", 8000)
	})
	body := exchangeForm(tok).Encode()
	if len(body) < 50_000 {
		t.Fatalf("the request is %d bytes; the test needs a big one", len(body))
	}
	a := f.post(exchangeForm(tok))
	if a.status != 400 || !strings.Contains(a.raw, "not a trusted issuer") {
		t.Fatalf("exchange = %d %.300s", a.status, a.raw)
	}
	if len(a.raw) > 4096 || !strings.Contains(a.raw, "unverified claims: ") {
		t.Errorf("the answer is %d bytes, want its claims shown and at most 4 KiB", len(a.raw))
	}
	var line string
	for _, l := range strings.Split(f.audit.String(), "\n") {
		if strings.Contains(l, `"msg":"token exchange"`) {
			line = l
		}
	}
	if len(line) > 8192 {
		t.Errorf("the audit line is %d bytes, want at most 8 KiB", len(line))
	}
	var rec struct {
		Reason string            `json:"reason"`
		Claims map[string]string `json:"claims"`
	}
	if err := json.Unmarshal([]byte(line), &rec); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"sub", "ref", "repository"} {
		if v := rec.Claims[k]; !strings.Contains(v, "…[cut ") || len(v) > maxAuditClaim+40 {
			t.Errorf("claim %s recorded as %.80q… (%d bytes), want it cut to %d bytes with what was cut", k, v, len(v), maxAuditClaim)
		}
	}
	if !strings.Contains(rec.Claims["sub"], "of 15005 bytes]") {
		t.Errorf("the cut sub does not say its size: %.400s", rec.Claims["sub"])
	}
	if strings.Contains(rec.Reason, "SSSS") || strings.Contains(rec.Reason, "unverified claims") {
		t.Errorf("the reason repeats the claims: %.300s", rec.Reason)
	}
}
