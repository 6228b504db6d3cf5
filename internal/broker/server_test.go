package broker

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
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
	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
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

// token signs the fake's claims for the broker's audience after mod.
func (f *fixture) token(mod func(c map[string]any)) string {
	f.t.Helper()
	c := f.gh.Claims(f.cp.URL)
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
		"grant_type":           {GrantTypeTokenExchange},
		"subject_token":        {tok},
		"subject_token_type":   {TokenTypeJWT},
		"requested_token_type": {TokenTypeAccessToken},
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

func TestExchangeGrantsAShortLivedPAT(t *testing.T) {
	f := newFixture(t, testPolicy)
	a := f.post(exchangeForm(f.token(nil)))
	if a.status != 200 {
		t.Fatalf("exchange = %d %s, want 200", a.status, a.raw)
	}
	if got := a.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	tok, _ := a.body["access_token"].(string)
	if a.body["issued_token_type"] != TokenTypeAccessToken || a.body["token_type"] != "Bearer" || a.body["expires_in"] != float64(300) {
		t.Errorf("answer = %v, want an RFC 8693 access token of 300 s", a.body)
	}
	pats := f.cp.PATs()
	if len(pats) != 1 || f.cp.IssuedPATs()[0] != tok {
		t.Fatalf("control plane PATs = %+v, want the one returned", pats)
	}
	p := pats[0]
	if !strings.HasPrefix(p.Name, "takos-apply broker: octo-org/octo-repo@refs/heads/main run 9876543210 [") {
		t.Errorf("PAT name = %q", p.Name)
	}
	if want := f.clock.Now().Add(5 * time.Minute).Truncate(time.Second); !p.ExpiresAt.Equal(want) {
		t.Errorf("PAT expires at %v, want %v", p.ExpiresAt, want)
	}
	// The minted PAT is a working credential on /api/me.
	req, _ := http.NewRequest("GET", f.cp.URL+"/api/me/oauth/clients", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET clients with the minted PAT = %v %v, want 200", resp.StatusCode, err)
	}
	lines := f.audit.lines(t)
	last := lines[len(lines)-1]
	claims, _ := last["claims"].(map[string]any)
	if last["msg"] != "token exchange" || last["decision"] != "granted" || last["rule"] != "deploy-main" || last["claims_verified"] != true ||
		last["pat_id"] != p.ID || claims["repository"] != "octo-org/octo-repo" || claims["run_id"] != "9876543210" {
		t.Errorf("audit line = %v, want the grant with rule, PAT id and claims", last)
	}
	if f.srv.Pending() != 1 {
		t.Errorf("Pending() = %d, want 1", f.srv.Pending())
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
		c := f.gh.Claims(f.cp.URL)
		c["repository_id"] = "123456789"
		c["repository"] = "evil-org/evil-repo"
		b, _ := json.Marshal(c)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}
	signHeader := func(h map[string]any) string {
		tok, err := f.gh.SignHeader(h, f.gh.Claims(f.cp.URL))
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
		{name: "alg none", form: exchangeForm(noneToken(f.gh.Claims(f.cp.URL))), code: "invalid_grant", desc: `alg "none" is not accepted; only RS256 is`},
		{name: "alg HS256", form: exchangeForm(hs256Token(f.gh.KeyID(), f.gh.Claims(f.cp.URL), []byte("public key bytes"))), code: "invalid_grant", desc: `alg "HS256" is not accepted`},
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
			desc: "event pull_request_target can run code from a fork and no rule names it"},
		{name: "fork pull_request", form: exchangeForm(f.token(set("event_name", "pull_request", "ref", "refs/heads/main"))), code: "unauthorized_client",
			desc: "event pull_request can run code from a fork"},
		{name: "not a JWT", form: exchangeForm("abc"), code: "invalid_grant", desc: "not a JWS compact serialization"},
		{name: "wrong grant type", form: url.Values{"grant_type": {"client_credentials"}}, code: "unsupported_grant_type", desc: "grant_type must be"},
		{name: "no subject token", form: url.Values{"grant_type": {GrantTypeTokenExchange}, "subject_token_type": {TokenTypeJWT}}, code: "invalid_request", desc: "subject_token is missing"},
		{name: "wrong subject token type", form: func() url.Values {
			v := exchangeForm(f.token(nil))
			v.Set("subject_token_type", TokenTypeAccessToken)
			return v
		}(),
			code: "invalid_request", desc: "subject_token_type must be"},
		{name: "wrong requested type", form: func() url.Values {
			v := exchangeForm(f.token(nil))
			v.Set("requested_token_type", TokenTypeJWT)
			return v
		}(),
			code: "invalid_request", desc: "requested_token_type must be"},
		{name: "audience elsewhere", form: func() url.Values {
			v := exchangeForm(f.token(nil))
			v.Set("audience", "https://other.example")
			return v
		}(),
			code: "invalid_target", desc: `issues credentials for ` + f.cp.URL + ` only, not "https://other.example"`},
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
	if n := len(f.cp.PATs()); n != 0 {
		t.Errorf("refusals minted %d PATs", n)
	}
	for _, r := range f.cp.Requests() {
		if r.Method == "POST" {
			t.Errorf("a refusal reached the control plane: %s %s", r.Method, r.Path)
		}
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
	if n := len(f.cp.PATs()); n != 1 {
		t.Errorf("%d PATs minted, want 1", n)
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
		tok, _ := f.gh.SignHeader(map[string]any{"alg": "RS256", "kid": "made-up"}, f.gh.Claims(f.cp.URL))
		if a := f.post(exchangeForm(tok)); a.status != 400 {
			t.Fatalf("unknown kid = %d", a.status)
		}
	}
	if got := f.gh.Log.Count(authtest.JWKSPath); got != 2 {
		t.Errorf("JWKS fetches after 5 unknown kids = %d, want still 2", got)
	}
	f.clock.Add(2 * time.Minute)
	tok, _ := f.gh.SignHeader(map[string]any{"alg": "RS256", "kid": "made-up"}, f.gh.Claims(f.cp.URL))
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

// TestMintRetriesOnlyAfterListing: an ambiguous create is cleaned up by
// name before the next POST, so exactly one PAT stays usable.
func TestMintRetriesOnlyAfterListing(t *testing.T) {
	for _, kind := range []devserver.FaultKind{devserver.StatusAfterAct, devserver.ResetAfterAct, devserver.StatusBeforeAct} {
		t.Run(kind.String(), func(t *testing.T) {
			f := newFixture(t, testPolicy)
			f.cp.Inject(devserver.Fault{Method: "POST", Path: devserver.PATsPath, Kind: kind, Status: 503})
			a := f.post(exchangeForm(f.token(nil)))
			if a.status != 200 {
				t.Fatalf("exchange = %d %s, want success after one retry", a.status, a.raw)
			}
			var seq []string
			for _, r := range f.cp.Requests() {
				seq = append(seq, r.Method)
			}
			if got := strings.Join(seq, " "); !strings.HasPrefix(got, "POST GET") || strings.Count(got, "POST") != 2 {
				t.Errorf("requests = %s, want POST, list, [revoke,] POST", got)
			}
			live := 0
			for _, p := range f.cp.PATs() {
				if !p.Revoked {
					live++
				}
			}
			if live != 1 {
				t.Errorf("%d live PATs, want 1 (the lost one revoked)", live)
			}
		})
	}
}

func TestMintRefusedIsNotRetried(t *testing.T) {
	f := newFixture(t, testPolicy, func(c *Config) { c.Token = "tak_pat_revoked0000000000000000000000" })
	tok := f.token(nil)
	a := f.post(exchangeForm(tok))
	if a.status != 503 || a.body["error"] != "temporarily_unavailable" || !strings.Contains(a.raw, "rejected the credentials") {
		t.Errorf("exchange with a refused broker credential = %d %s", a.status, a.raw)
	}
	if strings.Contains(a.raw+f.audit.String(), "tak_pat_revoked") {
		t.Error("the broker credential appears in the answer or the audit log")
	}
	if n := len(f.cp.Requests()); n != 1 {
		t.Errorf("%d control-plane requests, want 1 (a 401 is final)", n)
	}
	// The jti was released: the same token works once the broker is fixed.
	if a := f.post(exchangeForm(tok)); a.body["error"] == "invalid_grant" {
		t.Errorf("retry of a failed exchange refused as a replay: %s", a.raw)
	}
}

func TestMetadataAndHealth(t *testing.T) {
	f := newFixture(t, testPolicy)
	a := f.do("GET", MetadataPath, "", "")
	want := map[string]any{"issuer": f.url, "token_endpoint": f.url + TokenPath,
		"grant_types_supported": []any{GrantTypeTokenExchange}, "token_endpoint_auth_methods_supported": []any{"none"}}
	if a.status != 200 || !equalJSON(a.body, want) {
		t.Errorf("metadata = %d %s", a.status, a.raw)
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
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestReaperRevokesExpiredPATs runs the broker as it runs in production
// (Run: listener, background reaper, graceful shutdown) with a fake clock
// and ticker: the minted PAT expires, Takos refuses it, the reaper
// revokes it, and the broker exits cleanly.
func TestReaperRevokesExpiredPATs(t *testing.T) {
	tick := make(chan time.Time)
	reaped := make(chan struct{})
	f := newFixture(t, testPolicy, func(c *Config) {
		c.Tick = tick
		c.Reaped = func() { reaped <- struct{}{} }
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Run(ctx, ln) }()
	f.url = "http://" + ln.Addr().String()

	a := f.post(exchangeForm(f.token(nil)))
	if a.status != 200 {
		t.Fatalf("exchange = %d %s", a.status, a.raw)
	}
	pat := a.body["access_token"].(string)
	use := func() int {
		req, _ := http.NewRequest("GET", f.cp.URL+"/api/me/oauth/clients", nil)
		req.Header.Set("Authorization", "Bearer "+pat)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// A pass before expiry revokes nothing.
	tick <- time.Now()
	<-reaped
	if f.cp.PATs()[0].Revoked || use() != 200 {
		t.Fatal("the reaper revoked a live PAT")
	}
	f.clock.Add(5*time.Minute + time.Second)
	if got := use(); got != 401 {
		t.Errorf("the expired PAT = %d, want 401 from Takos", got)
	}
	tick <- time.Now()
	<-reaped
	if !f.cp.PATs()[0].Revoked || f.srv.Pending() != 0 {
		t.Errorf("after expiry: revoked %v, pending %d; want revoked and nothing pending", f.cp.PATs()[0].Revoked, f.srv.Pending())
	}
	if !strings.Contains(f.audit.String(), `"msg":"pat revoked"`) {
		t.Errorf("no revocation in the audit log:\n%s", f.audit.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run() = %v, want a clean shutdown", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

// TestRecoverAfterRestart: a new broker process finds the PATs the last
// one minted by name prefix and revokes them when due; PATs of others are
// untouched, and one of its own without expiry is revoked at once.
func TestRecoverAfterRestart(t *testing.T) {
	f := newFixture(t, testPolicy)
	if a := f.post(exchangeForm(f.token(nil))); a.status != 200 {
		t.Fatalf("exchange = %d %s", a.status, a.raw)
	}
	hc := &http.Client{}
	for _, body := range []string{`{"name":"laptop"}`, `{"name":"takos-apply broker: lost [x]"}`} {
		req, _ := http.NewRequest("POST", f.cp.URL+devserver.PATsPath, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.cp.Token)
		req.Header.Set("Content-Type", "application/json")
		if resp, err := hc.Do(req); err != nil || resp.StatusCode != 201 {
			t.Fatalf("seeding a PAT: %v", err)
		}
	}
	restarted, err := New(f.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := restarted.Recover(context.Background()); err != nil {
		t.Fatalf("Recover() = %v", err)
	}
	if err := restarted.Reap(context.Background()); err != nil {
		t.Fatal(err)
	}
	revoked := func() map[string]bool {
		m := map[string]bool{}
		for _, p := range f.cp.PATs() {
			m[strings.SplitN(p.Name, " run ", 2)[0]] = p.Revoked
		}
		return m
	}
	if got := revoked(); got["takos-apply broker: lost [x]"] != true || got["takos-apply broker: octo-org/octo-repo@refs/heads/main"] || got["laptop"] {
		t.Errorf("after restart: %v; want only the broker PAT without expiry revoked", got)
	}
	f.clock.Add(6 * time.Minute)
	if err := restarted.Reap(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := revoked(); !got["takos-apply broker: octo-org/octo-repo@refs/heads/main"] || got["laptop"] {
		t.Errorf("after expiry: %v; want the broker's PAT revoked and the laptop's kept", got)
	}
}

// TestSecretsNeverLeak: the broker's credential, minted PATs and subject
// JWTs never appear in the audit log or in any answer except the
// access_token of a success.
func TestSecretsNeverLeak(t *testing.T) {
	f := newFixture(t, testPolicy)
	var answers []string
	var jwts []string
	record := func(a answer) {
		if tok, ok := a.body["access_token"].(string); ok {
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
	// A mint failure: the control plane's answer is quoted, never a token.
	f.cp.Inject(devserver.Fault{Method: "POST", Kind: devserver.StatusBeforeAct, Status: 400})
	tok := f.token(nil)
	jwts = append(jwts, tok)
	record(f.post(exchangeForm(tok)))
	// The token echoed in the query string and an unknown parameter.
	record(f.do("POST", TokenPath+"?subject_token="+url.QueryEscape(ok), "application/x-www-form-urlencoded", ""))

	secrets := append([]string{f.cp.Token}, f.cp.IssuedPATs()...)
	secrets = append(secrets, jwts...)
	for _, j := range jwts {
		secrets = append(secrets, j[strings.LastIndex(j, ".")+1:]) // the signature alone
	}
	surfaces := strings.Join(answers, "\n") + "\n" + f.audit.String()
	if len(f.cp.IssuedPATs()) == 0 || !strings.Contains(surfaces, "octo-org/octo-repo") {
		t.Fatal("the canary would prove nothing: no PAT minted or no claims shown")
	}
	for i, s := range secrets {
		if strings.Contains(surfaces, s) {
			t.Errorf("secret %d appears in an answer or the audit log", i)
		}
	}
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

// TestLostCreateIsSwept: a create whose reply is lost and whose clean-up
// cannot list leaves a PAT the broker does not know; the next reaper pass
// lists it and revokes it once expired. The exchange itself fails.
func TestLostCreateIsSwept(t *testing.T) {
	f := newFixture(t, testPolicy)
	f.cp.Inject(devserver.Fault{Method: "POST", Path: devserver.PATsPath, Kind: devserver.ResetAfterAct})
	f.cp.Inject(devserver.Fault{Method: "GET", Path: devserver.PATsPath, Kind: devserver.StatusBeforeAct, Status: 500, Times: 20})
	a := f.post(exchangeForm(f.token(nil)))
	if a.status != 503 || !strings.Contains(a.raw, "could not be found and revoked, so no retry") {
		t.Fatalf("exchange = %d %s, want 503 without a retry", a.status, a.raw)
	}
	if n := len(f.cp.PATs()); n != 1 || f.srv.Pending() != 0 {
		t.Fatalf("%d PATs on the control plane, %d tracked; want the lost one, untracked", n, f.srv.Pending())
	}
	// Drain the remaining list faults, then reap: the PAT is found but not
	// yet due.
	for i := 0; f.srv.Reap(context.Background()) != nil; i++ {
		if i == 10 {
			t.Fatal("the sweep never succeeded")
		}
	}
	if f.srv.Pending() != 1 || f.cp.PATs()[0].Revoked {
		t.Fatalf("after the sweep: %d tracked, revoked %v; want it tracked and live until it expires", f.srv.Pending(), f.cp.PATs()[0].Revoked)
	}
	f.clock.Add(6 * time.Minute)
	if err := f.srv.Reap(context.Background()); err != nil || !f.cp.PATs()[0].Revoked {
		t.Errorf("after expiry: %v, revoked %v; want revoked", err, f.cp.PATs()[0].Revoked)
	}
}
