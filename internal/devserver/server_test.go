package devserver

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// call sends a raw request, so the fake is tested apart from the client.
func call(t *testing.T, s *Server, method, path, token, body string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return do(t, req)
}

// do sends req without following redirects and decodes a JSON object
// reply.
func do(t *testing.T, req *http.Request) (int, http.Header, map[string]any) {
	t.Helper()
	method, path := req.Method, req.URL.Path
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: body %q is not a JSON object: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, resp.Header, m
}

func errEnvelope(code, msg string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": msg}}
}

func TestCreateValidation(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string // "" means 201
	}{
		{"minimal valid", `{"client_name":"App","redirect_uris":["https://app.example.com/cb"]}`, ""},
		{"all 14 scopes", `{"client_name":"App","redirect_uris":["https://a.example/cb"],"scope":"` + strings.Join(Scopes(), " ") + `"}`, ""},
		{"invalid JSON", `{"client_name":`, "Invalid JSON body"},
		{"null body", `null`, "Invalid JSON body"},
		{"missing client_name", `{"redirect_uris":["https://a.example/cb"]}`, "client_name is required"},
		{"empty client_name", `{"client_name":"","redirect_uris":["https://a.example/cb"]}`, "client_name is required"},
		{"missing redirect_uris", `{"client_name":"App"}`, "redirect_uris is required"},
		{"empty redirect_uris", `{"client_name":"App","redirect_uris":[]}`, "redirect_uris is required"},
		{"client_name checked before redirect_uris", `{"redirect_uris":[]}`, "client_name is required"},
		{"runs:read is not a scope", `{"client_name":"App","redirect_uris":["https://a.example/cb"],"scope":"openid runs:read runs:write"}`, "Unknown scopes: runs:read, runs:write"},
		{"scopes are case-sensitive", `{"client_name":"App","redirect_uris":["https://a.example/cb"],"scope":"OpenID"}`, "Unknown scopes: OpenID"},
		{"no wildcard scope", `{"client_name":"App","redirect_uris":["https://a.example/cb"],"scope":"files:*"}`, "Unknown scopes: files:*"},
		{"scope must be a string", `{"client_name":"App","redirect_uris":["https://a.example/cb"],"scope":["openid"]}`, "scopeString.trim is not a function"},
		{"scopes checked before redirect URIs", `{"client_name":"App","redirect_uris":["http://x.example/cb"],"scope":"bogus"}`, "Unknown scopes: bogus"},
		{"tabs and newlines separate scopes", `{"client_name":"App","redirect_uris":["https://a.example/cb"],"scope":"openid\tprofile\nemail"}`, ""},
		{"http off loopback", `{"client_name":"App","redirect_uris":["http://app.example.com/cb"]}`, "Invalid redirect_uri: http://app.example.com/cb - must use HTTPS"},
		{"http localhost", `{"client_name":"App","redirect_uris":["http://localhost:3000/cb"]}`, ""},
		{"http 127.0.0.1", `{"client_name":"App","redirect_uris":["http://127.0.0.1:8080/cb"]}`, ""},
		{"http [::1]", `{"client_name":"App","redirect_uris":["http://[::1]:8080/cb"]}`, ""},
		{"http *.localhost", `{"client_name":"App","redirect_uris":["http://app.localhost/cb"]}`, ""},
		{"127.0.0.2 is not localhost", `{"client_name":"App","redirect_uris":["http://127.0.0.2/cb"]}`, "Invalid redirect_uri: http://127.0.0.2/cb - must use HTTPS"},
		{"127.1 normalises to 127.0.0.1", `{"client_name":"App","redirect_uris":["http://127.1/cb"]}`, ""},
		{"custom scheme on localhost", `{"client_name":"App","redirect_uris":["myapp://localhost/cb"]}`, ""},
		{"custom scheme without host", `{"client_name":"App","redirect_uris":["com.example.app:/cb"]}`, "Invalid redirect_uri: com.example.app:/cb - must use HTTPS"},
		{"fragment", `{"client_name":"App","redirect_uris":["https://a.example/cb#frag"]}`, "Invalid redirect_uri: https://a.example/cb#frag - fragment not allowed"},
		{"bare # passes", `{"client_name":"App","redirect_uris":["https://a.example/cb#"]}`, ""},
		{"query and userinfo allowed", `{"client_name":"App","redirect_uris":["https://u:p@a.example/cb?x=1"]}`, ""},
		{"wildcard host is stored literally", `{"client_name":"App","redirect_uris":["https://*.example.com/cb"]}`, ""},
		{"wildcard path is stored literally", `{"client_name":"App","redirect_uris":["https://example.com/*"]}`, ""},
		{"wildcard port does not parse", `{"client_name":"App","redirect_uris":["http://localhost:*/cb"]}`, "Invalid redirect_uri: http://localhost:*/cb"},
		{"relative URI", `{"client_name":"App","redirect_uris":["/cb"]}`, "Invalid redirect_uri: /cb"},
		{"second URI bad", `{"client_name":"App","redirect_uris":["https://a.example/cb","http://b.example/cb"]}`, "Invalid redirect_uri: http://b.example/cb - must use HTTPS"},
		{"non-string URI element", `{"client_name":"App","redirect_uris":[5]}`, "Invalid redirect_uri: 5"},
		{"metadata URIs are not validated", `{"client_name":"App","redirect_uris":["https://a.example/cb"],"logo_uri":"javascript:alert(1)","tos_uri":"nope","policy_uri":"ftp://x"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTest(t)
			status, _, body := call(t, s, http.MethodPost, "/api/me/oauth/clients", s.Token, tc.body)
			if tc.want == "" {
				if status != http.StatusCreated {
					t.Fatalf("POST %s = %d %v, want 201", tc.body, status, body)
				}
				if n := len(s.Clients()); n != 1 {
					t.Errorf("stored clients = %d, want 1", n)
				}
				return
			}
			if diff := cmp.Diff(errEnvelope("BAD_REQUEST", tc.want), body); status != http.StatusBadRequest || diff != "" {
				t.Errorf("POST %s = %d, want 400; body diff (-want +got):\n%s", tc.body, status, diff)
			}
			if n := len(s.Clients()); n != 0 {
				t.Errorf("a refused create stored %d clients", n)
			}
			if n := len(s.IssuedSecrets()); n != 0 {
				t.Errorf("a refused create issued %d secrets", n)
			}
		})
	}
}

func TestCreateReplyAndStorage(t *testing.T) {
	now := time.Date(2026, 4, 3, 10, 0, 0, 0, time.UTC)
	s := newTest(t, WithRand(bytes.NewReader(bytes.Repeat([]byte{7}, 1024))), WithClock(func() time.Time { return now }))
	status, _, got := call(t, s, http.MethodPost, "/api/me/oauth/clients", s.Token,
		`{"client_name":"My App","redirect_uris":["https://app.example.com/cb"],"scope":"  openid  profile ","logo_uri":"https://app.example.com/logo.png","tos_uri":null}`)
	if status != http.StatusCreated {
		t.Fatalf("POST = %d %v, want 201", status, got)
	}
	secret, _ := got["client_secret"].(string)
	regTok, _ := got["registration_access_token"].(string)
	id, _ := got["client_id"].(string)
	if len(id) != 22 || len(secret) != 43 || len(regTok) != 43 {
		t.Fatalf("lengths of client_id, client_secret, registration_access_token = %d, %d, %d; want 22, 43, 43", len(id), len(secret), len(regTok))
	}
	want := map[string]any{
		"client_id": id, "client_secret": secret, "registration_access_token": regTok,
		"client_id_issued_at":      float64(now.Unix()),
		"client_secret_expires_at": float64(0),
		"registration_client_uri":  "/oauth/register/" + id,
		"client_name":              "My App",
		"redirect_uris":            []any{"https://app.example.com/cb"},
		"grant_types":              []any{"authorization_code", "refresh_token"},
		"response_types":           []any{"code"},
		"scope":                    "openid profile",
		"logo_uri":                 "https://app.example.com/logo.png",
		"tos_uri":                  nil,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("create reply (-want +got):\n%s", diff)
	}
	stored := s.Clients()
	if len(stored) != 1 {
		t.Fatalf("stored %d clients, want 1", len(stored))
	}
	sum := sha256.Sum256([]byte(secret))
	c := stored[0]
	if c.SecretHash != hex.EncodeToString(sum[:]) {
		t.Errorf("SecretHash = %q, want sha256 hex of the secret", c.SecretHash)
	}
	if strings.Contains(fmt.Sprintf("%+v", stored), secret) {
		t.Error("the stored client contains the plaintext secret")
	}
	if c.TOSURI != nil || c.PolicyURI != nil || c.LogoURI == nil {
		t.Errorf("stored URIs logo=%v tos=%v policy=%v, want logo set, tos and policy NULL", c.LogoURI, c.TOSURI, c.PolicyURI)
	}
	if diff := cmp.Diff([]string{"openid", "profile"}, c.AllowedScopes); diff != "" {
		t.Errorf("AllowedScopes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{secret}, s.IssuedSecrets()); diff != "" {
		t.Errorf("IssuedSecrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{regTok}, s.IssuedRegistrationTokens()); diff != "" {
		t.Errorf("IssuedRegistrationTokens (-want +got):\n%s", diff)
	}
	if c.RegistrationTokenHash != sha256Hex(regTok) || strings.Contains(fmt.Sprintf("%+v", stored), regTok) {
		t.Errorf("RegistrationTokenHash = %q, want sha256 hex of the token and no plaintext", c.RegistrationTokenHash)
	}
	if !s.SecretMatches(id, secret) || s.SecretMatches(id, secret+"x") {
		t.Error("SecretMatches does not check the stored hash")
	}
}

func TestPublicClientHasNoSecret(t *testing.T) {
	s := newTest(t)
	status, _, got := call(t, s, http.MethodPost, "/api/me/oauth/clients", s.Token,
		`{"client_name":"CLI","redirect_uris":["http://localhost/cb"],"token_endpoint_auth_method":"none"}`)
	if status != http.StatusCreated {
		t.Fatalf("POST = %d, want 201", status)
	}
	if _, ok := got["client_secret"]; ok {
		t.Error("a public client got a client_secret")
	}
	if c := s.Clients()[0]; c.ClientType != "public" || c.SecretHash != "" {
		t.Errorf("stored type %q hash %q, want public and no hash", c.ClientType, c.SecretHash)
	}
	if n := len(s.IssuedSecrets()); n != 0 {
		t.Errorf("IssuedSecrets has %d entries, want 0", n)
	}
	if toks := s.IssuedRegistrationTokens(); len(toks) != 1 || got["registration_access_token"] != toks[0] {
		t.Errorf("IssuedRegistrationTokens = %q, want the one token of the reply %v", toks, got["registration_access_token"])
	}
}

func TestAuth(t *testing.T) {
	s := newTest(t, WithToken("tak_pat_good"))
	tests := []struct {
		name  string
		token string
		want  map[string]any
	}{
		{"no bearer", "", errEnvelope("UNAUTHORIZED", "Authentication required")},
		{"wrong PAT", "tak_pat_bad", map[string]any{"error": "invalid_token", "error_description": "Invalid or expired PAT"}},
		{"OAuth JWT", "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.sig", map[string]any{"error": "OAuth bearer token is not supported on this endpoint. Use OAuth-protected routes."}},
		{"unknown session id", "0123456789abcdef", errEnvelope("UNAUTHORIZED", "Authentication required")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, m := range []struct{ method, path string }{{"GET", "/api/me/oauth/clients"}, {"POST", "/api/me/oauth/clients"}, {"PATCH", "/api/me/oauth/clients/x"}, {"DELETE", "/api/me/oauth/clients/x"}} {
				status, _, got := call(t, s, m.method, m.path, tc.token, `{}`)
				if diff := cmp.Diff(tc.want, got); status != http.StatusUnauthorized || diff != "" {
					t.Errorf("%s %s = %d, want 401; body (-want +got):\n%s", m.method, m.path, status, diff)
				}
			}
		})
	}
	if status, _, _ := call(t, s, "GET", "/api/me/oauth/clients", "tak_pat_good", ""); status != http.StatusOK {
		t.Errorf("GET with the configured token = %d, want 200", status)
	}
	if status, _, _ := call(t, s, "GET", "/api/me/oauth/clients", DefaultToken, ""); status != http.StatusUnauthorized {
		t.Errorf("GET with DefaultToken after WithToken = %d, want 401", status)
	}
	for _, r := range s.Requests() {
		if r.Path == "/api/me/oauth/clients" && r.Method == "GET" && r.Status == http.StatusOK && !r.HasAuth {
			t.Error("request log says an authenticated request had no Authorization")
		}
	}
	if rs := s.Requests(); rs[0].HasAuth {
		t.Errorf("first request (no bearer) logged HasAuth = true")
	}
}

func TestListUpdateRevoke(t *testing.T) {
	tick := time.Date(2026, 4, 3, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tick = tick.Add(time.Second)
		return tick
	}
	s := newTest(t, WithClock(clock), WithUser("tak_pat_other", "acct_other"))
	create := func(token, name string) string {
		status, _, got := call(t, s, "POST", "/api/me/oauth/clients", token, `{"client_name":"`+name+`","redirect_uris":["https://a.example/cb"],"scope":"openid","policy_uri":"https://a.example/p"}`)
		if status != http.StatusCreated {
			t.Fatalf("create %s = %d", name, status)
		}
		return got["client_id"].(string)
	}
	a := create(s.Token, "A")
	b := create(s.Token, "B")
	foreign := create("tak_pat_other", "Other")

	// PATCH: only present fields change; nulls clear; same validation.
	status, _, got := call(t, s, "PATCH", "/api/me/oauth/clients/"+a, s.Token, `{"client_name":"A2","scope":"profile email","logo_uri":"https://a.example/l.png","policy_uri":null}`)
	if status != http.StatusOK {
		t.Fatalf("PATCH = %d %v", status, got)
	}
	wantPatch := map[string]any{
		"id": s.Clients()[0].ID, "client_id": a, "name": "A2", "description": nil,
		"logo_uri": "https://a.example/l.png", "client_uri": nil,
		"redirect_uris": []any{"https://a.example/cb"}, "allowed_scopes": []any{"profile", "email"}, "status": "active",
	}
	if diff := cmp.Diff(wantPatch, got); diff != "" {
		t.Errorf("PATCH reply (-want +got):\n%s", diff)
	}
	if c, _ := s.Client(a); c.PolicyURI != nil {
		t.Errorf("policy_uri null did not clear the stored value: %q", *c.PolicyURI)
	}
	patchErrs := []struct{ body, want string }{
		{`{"scope":"runs:read"}`, "Unknown scopes: runs:read"},
		{`{"redirect_uris":["http://x.example/cb"]}`, "Invalid redirect_uri: http://x.example/cb - must use HTTPS"},
		{`{"redirect_uris":[]}`, "At least one redirect_uri is required"},
		{`{"redirect_uris":["http://x.example/cb"],"scope":"bad"}`, "Invalid redirect_uri: http://x.example/cb - must use HTTPS"},
		{`not json`, "Invalid JSON body"},
	}
	before, _ := s.Client(a)
	for _, pe := range patchErrs {
		status, _, got := call(t, s, "PATCH", "/api/me/oauth/clients/"+a, s.Token, pe.body)
		if diff := cmp.Diff(errEnvelope("BAD_REQUEST", pe.want), got); status != 400 || diff != "" {
			t.Errorf("PATCH %s = %d, want 400; (-want +got):\n%s", pe.body, status, diff)
		}
	}
	if after, _ := s.Client(a); !cmp.Equal(before, after) {
		t.Errorf("a refused PATCH changed the client:\n%s", cmp.Diff(before, after))
	}
	// An empty client_name is ignored, an empty scope clears the scopes.
	call(t, s, "PATCH", "/api/me/oauth/clients/"+a, s.Token, `{"client_name":"","scope":""}`)
	if c, _ := s.Client(a); c.Name != "A2" || len(c.AllowedScopes) != 0 {
		t.Errorf("after PATCH {client_name:'',scope:''}: name %q scopes %v, want A2 and none", c.Name, c.AllowedScopes)
	}
	// An empty PATCH changes nothing, not even updated_at.
	before, _ = s.Client(a)
	if status, _, _ := call(t, s, "PATCH", "/api/me/oauth/clients/"+a, s.Token, `{}`); status != 200 {
		t.Errorf("empty PATCH = %d, want 200", status)
	}
	if after, _ := s.Client(a); !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Error("an empty PATCH bumped updated_at")
	}

	for _, tc := range []struct{ method, id string }{{"PATCH", "nope"}, {"DELETE", "nope"}, {"PATCH", foreign}, {"DELETE", foreign}} {
		status, _, got := call(t, s, tc.method, "/api/me/oauth/clients/"+tc.id, s.Token, `{"client_name":"x"}`)
		if diff := cmp.Diff(errEnvelope("NOT_FOUND", "Client not found"), got); status != 404 || diff != "" {
			t.Errorf("%s %s = %d, want 404; (-want +got):\n%s", tc.method, tc.id, status, diff)
		}
	}

	// DELETE soft-revokes.
	status, _, got = call(t, s, "DELETE", "/api/me/oauth/clients/"+b, s.Token, "")
	if diff := cmp.Diff(map[string]any{"success": true}, got); status != 200 || diff != "" {
		t.Errorf("DELETE = %d, (-want +got):\n%s", status, diff)
	}
	status, _, got = call(t, s, "PATCH", "/api/me/oauth/clients/"+b, s.Token, `{"client_name":"x"}`)
	if diff := cmp.Diff(errEnvelope("BAD_REQUEST", "Client not found"), got); status != 400 || diff != "" {
		t.Errorf("PATCH of a revoked client = %d, want 400; (-want +got):\n%s", status, diff)
	}
	if status, _, _ := call(t, s, "DELETE", "/api/me/oauth/clients/"+b, s.Token, ""); status != 200 {
		t.Errorf("DELETE of a revoked client = %d, want 200 (the server's update matches the row)", status)
	}

	// GET: the owner's clients, newest first, revoked included, the list
	// view's fields only.
	status, _, got = call(t, s, "GET", "/api/me/oauth/clients", s.Token, "")
	if status != 200 {
		t.Fatalf("GET = %d", status)
	}
	list := got["clients"].([]any)
	if len(list) != 2 {
		t.Fatalf("GET listed %d clients, want 2 (not the other owner's)", len(list))
	}
	first := list[0].(map[string]any)
	if first["client_id"] != b || first["status"] != "revoked" || list[1].(map[string]any)["client_id"] != a {
		t.Errorf("list order/status = %v, want B (revoked) then A", list)
	}
	var keys []string
	for k := range first {
		keys = append(keys, k)
	}
	wantKeys := []string{"allowed_scopes", "client_id", "client_type", "created_at", "description", "logo_uri", "name", "redirect_uris", "status", "updated_at", "client_uri"}
	if diff := cmp.Diff(wantKeys, keys, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
		t.Errorf("list item keys (-want +got):\n%s", diff)
	}
	if ts, _ := first["created_at"].(string); !strings.HasSuffix(ts, ".000Z") {
		t.Errorf("created_at = %q, want toISOString format", ts)
	}
	for _, r := range s.Requests() {
		if r.Method == "GET" && r.Status != 200 {
			t.Errorf("request log: %+v", r)
		}
	}
}

func TestDiscovery(t *testing.T) {
	s := newTest(t, WithScopesSupported("openid", "profile"))
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		status, _, got := call(t, s, "GET", p, "", "")
		if status != 200 {
			t.Fatalf("GET %s = %d", p, status)
		}
		if got["issuer"] != "https://"+DefaultAdminDomain || got["token_endpoint"] != "https://"+DefaultAdminDomain+"/oauth/token" {
			t.Errorf("GET %s: issuer %v token_endpoint %v", p, got["issuer"], got["token_endpoint"])
		}
		if diff := cmp.Diff([]any{"openid", "profile"}, got["scopes_supported"]); diff != "" {
			t.Errorf("GET %s scopes_supported (-want +got):\n%s", p, diff)
		}
	}
	d := newTest(t)
	_, _, got := call(t, d, "GET", "/.well-known/oauth-authorization-server", "", "")
	if n := len(got["scopes_supported"].([]any)); n != 14 {
		t.Errorf("default scopes_supported has %d scopes, want 14", n)
	}
	n := newTest(t, WithoutDiscovery())
	if status, _, _ := call(t, n, "GET", "/.well-known/oauth-authorization-server", "", ""); status != 404 {
		t.Errorf("WithoutDiscovery: GET = %d, want 404", status)
	}
}

func TestFaults(t *testing.T) {
	const body = `{"client_name":"A","redirect_uris":["https://a.example/cb"]}`
	t.Run("StatusBeforeAct does not act", func(t *testing.T) {
		s := newTest(t)
		s.Inject(Fault{Method: "POST", Path: "/api/me/oauth/clients", Kind: StatusBeforeAct, Status: 503, RetryAfter: "7"})
		status, h, got := call(t, s, "POST", "/api/me/oauth/clients", s.Token, body)
		if status != 503 || h.Get("Retry-After") != "7" || len(s.Clients()) != 0 {
			t.Errorf("got %d Retry-After %q, %d clients; want 503, 7, 0", status, h.Get("Retry-After"), len(s.Clients()))
		}
		if diff := cmp.Diff(errEnvelope("SERVICE_UNAVAILABLE", "Service Unavailable"), got); diff != "" {
			t.Errorf("fault body (-want +got):\n%s", diff)
		}
		// consumed: the next request is normal
		if status, _, _ := call(t, s, "POST", "/api/me/oauth/clients", s.Token, body); status != 201 {
			t.Errorf("after the fault: %d, want 201", status)
		}
	})
	t.Run("StatusAfterAct acts", func(t *testing.T) {
		s := newTest(t)
		s.Inject(Fault{Kind: StatusAfterAct, Status: 500})
		if status, _, _ := call(t, s, "POST", "/api/me/oauth/clients", s.Token, body); status != 500 {
			t.Errorf("status %d, want 500", status)
		}
		if len(s.Clients()) != 1 || len(s.IssuedSecrets()) != 1 {
			t.Errorf("clients %d secrets %d, want 1 and 1", len(s.Clients()), len(s.IssuedSecrets()))
		}
	})
	t.Run("Times and matching", func(t *testing.T) {
		s := newTest(t)
		s.Inject(Fault{Method: "GET", Path: "/api/me/oauth/clients", Kind: StatusBeforeAct, Status: 502, Times: 2})
		if status, _, _ := call(t, s, "POST", "/api/me/oauth/clients", s.Token, body); status != 201 {
			t.Errorf("POST matched a GET fault: %d", status)
		}
		var got []int
		for range 3 {
			status, _, _ := call(t, s, "GET", "/api/me/oauth/clients", s.Token, "")
			got = append(got, status)
		}
		if diff := cmp.Diff([]int{502, 502, 200}, got); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
		var faults []FaultKind
		for _, r := range s.Requests() {
			faults = append(faults, r.Fault)
		}
		if diff := cmp.Diff([]FaultKind{None, StatusBeforeAct, StatusBeforeAct, None}, faults); diff != "" {
			t.Errorf("logged faults (-want +got):\n%s", diff)
		}
	})
	for _, tc := range []struct {
		kind    FaultKind
		clients int
	}{{ResetBeforeAct, 0}, {ResetAfterAct, 1}} {
		t.Run(tc.kind.String(), func(t *testing.T) {
			s := newTest(t)
			s.Inject(Fault{Method: "POST", Kind: tc.kind})
			req, _ := http.NewRequest("POST", s.URL+"/api/me/oauth/clients", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+s.Token)
			req.Header.Set("Content-Type", "application/json")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("got a reply %d, want a dropped connection", resp.StatusCode)
			}
			if n := len(s.Clients()); n != tc.clients {
				t.Errorf("stored clients = %d, want %d", n, tc.clients)
			}
			if r := s.Requests(); len(r) != 1 || r[0].Status != 0 || r[0].Fault != tc.kind {
				t.Errorf("request log = %+v", r)
			}
		})
	}
	t.Run("MalformedJSON acts and truncates", func(t *testing.T) {
		s := newTest(t)
		s.Inject(Fault{Kind: MalformedJSON})
		req, _ := http.NewRequest("POST", s.URL+"/api/me/oauth/clients", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || json.Valid(raw) || len(s.Clients()) != 1 {
			t.Errorf("status %d, valid JSON %v, clients %d; want 201, false, 1", resp.StatusCode, json.Valid(raw), len(s.Clients()))
		}
	})
	t.Run("Redirect", func(t *testing.T) {
		s := newTest(t)
		s.Inject(Fault{Kind: Redirect})
		status, h, _ := call(t, s, "GET", "/api/me/oauth/clients", s.Token, "")
		if status != 302 || h.Get("Location") != "https://elsewhere.example/api/me/oauth/clients" {
			t.Errorf("got %d Location %q", status, h.Get("Location"))
		}
	})
	t.Run("Delay", func(t *testing.T) {
		s := newTest(t)
		s.Inject(Fault{Kind: Delay, Delay: 50 * time.Millisecond})
		start := time.Now()
		if status, _, _ := call(t, s, "GET", "/api/me/oauth/clients", s.Token, ""); status != 200 {
			t.Errorf("status %d, want 200", status)
		}
		if d := time.Since(start); d < 50*time.Millisecond {
			t.Errorf("answered after %v, want ≥ 50ms", d)
		}
	})
}

func TestConcurrentCreates(t *testing.T) {
	s := newTest(t)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", s.URL+"/api/me/oauth/clients", strings.NewReader(fmt.Sprintf(`{"client_name":"c%d","redirect_uris":["https://a.example/cb"]}`, i)))
			req.Header.Set("Authorization", "Bearer "+s.Token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		}()
		go func() { _ = s.Clients(); _ = s.Requests() }()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, c := range s.Clients() {
		seen[c.ClientID] = true
	}
	if len(seen) != 20 || len(s.IssuedSecrets()) != 20 {
		t.Errorf("distinct clients %d, secrets %d; want 20 and 20", len(seen), len(s.IssuedSecrets()))
	}
}

func TestSeed(t *testing.T) {
	s := newTest(t)
	c := s.Seed(StoredClient{Name: "Old", RedirectURIs: []string{"https://a.example/cb"}, Status: "revoked"})
	_, _, got := call(t, s, "GET", "/api/me/oauth/clients", s.Token, "")
	list := got["clients"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["client_id"] != c.ClientID || list[0].(map[string]any)["status"] != "revoked" {
		t.Errorf("list after Seed = %v", list)
	}
}

// TestRequestLimit: WithRequestLimit bounds the request log of a
// long-running server to the last requests (each with its outcome);
// without it every request is kept, as tests read them.
func TestRequestLimit(t *testing.T) {
	for _, tc := range []struct {
		opts     []Option
		min, max int
	}{{nil, 9, 9}, {[]Option{WithRequestLimit(2)}, 2, 4}} {
		s := newTest(t, tc.opts...)
		for i := range 9 {
			call(t, s, "GET", fmt.Sprintf("/nope/%d", i), "", "")
		}
		got := s.Requests()
		if len(got) < tc.min || len(got) > tc.max {
			t.Fatalf("%d requests kept of 9, want %d to %d", len(got), tc.min, tc.max)
		}
		if last := got[len(got)-1]; last.Path != "/nope/8" || last.Status != 404 {
			t.Errorf("the last record = %+v, want /nope/8 with its 404", last)
		}
	}
}

// TestRateLimitBucketsExpire: as the server's limiter sweeps its map every
// minute, a bucket with no hit left in the window is dropped, so made-up
// CF-Connecting-IP values cannot grow the map for good.
func TestRateLimitBucketsExpire(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	s := newTest(t, WithClock(clock))
	revoke := func(ip string) {
		req, _ := http.NewRequest("POST", s.URL+"/oauth/revoke", strings.NewReader("token=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("CF-Connecting-IP", ip)
		do(t, req)
	}
	for i := range 50 {
		revoke(fmt.Sprintf("192.0.2.%d", i))
	}
	s.mu.Lock()
	n := len(s.rateHits)
	s.mu.Unlock()
	if n != 50 {
		t.Fatalf("%d buckets after 50 callers, want 50", n)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	revoke("198.51.100.1")
	s.mu.Lock()
	n = len(s.rateHits)
	s.mu.Unlock()
	if n != 1 {
		t.Errorf("%d buckets two minutes later, want 1 (the expired ones dropped)", n)
	}
}
