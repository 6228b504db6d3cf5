package devserver

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The tests in this file pin behaviour checked against the real Takos
// server (tako0614/takos@7d63ea66) where the fake used to differ: see the
// README's Development section.

// raw sends one request with exactly the given headers.
func raw(t *testing.T, s *Server, method, path string, header map[string]string, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return do(t, req)
}

func TestDiscoveryIssuerIsTheAdminDomain(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		want func(s *Server) string
	}{
		{"default admin domain", nil, func(*Server) string { return "https://takos.invalid" }},
		{"WithAdminDomain", []Option{WithAdminDomain("takos.example.com")}, func(*Server) string { return "https://takos.example.com" }},
		{"WithSelfIssuer", []Option{WithSelfIssuer()}, func(s *Server) string { return s.URL }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTest(t, tc.opts...)
			want := tc.want(s)
			// The issuer does not follow the URL the request came to: the
			// same server reached as localhost answers the same document.
			host := strings.Replace(s.URL, "127.0.0.1", "localhost", 1)
			for _, base := range []string{s.URL, host} {
				for _, p := range []string{wellKnownAS, wellKnownOIDC} {
					req, _ := http.NewRequest(http.MethodGet, base+p, nil)
					status, h, got := do(t, req)
					if status != http.StatusOK {
						t.Fatalf("GET %s%s = %d", base, p, status)
					}
					for k, suffix := range map[string]string{"issuer": "", "token_endpoint": "/oauth/token", "revocation_endpoint": "/oauth/revoke", "jwks_uri": "/.well-known/jwks.json"} {
						if got[k] != want+suffix {
							t.Errorf("GET %s%s: %s = %v, want %s", base, p, k, got[k], want+suffix)
						}
					}
					if cc := h.Get("Cache-Control"); cc != "public, max-age=3600" {
						t.Errorf("Cache-Control = %q", cc)
					}
				}
			}
		})
	}
}

func TestAuthorizationScheme(t *testing.T) {
	s := newTest(t, WithUser("0123456789abcdef_session", "acct_session"), WithUser("short", "acct_short"))
	required := errEnvelope("UNAUTHORIZED", "Authentication required")
	tests := []struct {
		name   string
		header string
		cookie string // the __Host-tp_session cookie, if any
		want   int
		body   map[string]any // nil: only the status is checked
	}{
		{"Bearer PAT", "Bearer " + s.Token, "", 200, nil},
		{"lower-case bearer PAT", "bearer " + s.Token, "", 401, required},
		{"upper-case BEARER PAT", "BEARER " + s.Token, "", 401, required},
		{"scheme without a space", "Bearer" + s.Token, "", 401, required},
		{"Basic", "Basic " + s.Token, "", 401, required},
		{"bare token", s.Token, "", 401, required},
		{"Bearer known session", "Bearer 0123456789abcdef_session", "", 200, nil},
		{"lower-case bearer session", "bearer 0123456789abcdef_session", "", 401, required},
		{"unknown session", "Bearer 0123456789abcdef_unknown", "", 401, required},
		{"known bearer too short for a session id", "Bearer short", "", 401, required},
		{"unknown PAT", "Bearer tak_pat_nope", "", 401, map[string]any{"error": "invalid_token", "error_description": "Invalid or expired PAT"}},
		{"OAuth JWT", "Bearer a.b.c", "", 401, map[string]any{"error": "OAuth bearer token is not supported on this endpoint. Use OAuth-protected routes."}},
		{"lower-case bearer JWT", "bearer a.b.c", "", 401, required},
		{"session cookie", "", "0123456789abcdef_session", 200, nil},
		{"unknown session cookie wins over a good Bearer", "Bearer " + s.Token, "0123456789abcdef_unknown", 401, required},
		{"PAT as a session cookie", "", s.Token, 401, required},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.header != "" {
				h["Authorization"] = tc.header
			}
			if tc.cookie != "" {
				h["Cookie"] = "__Host-tp_session=" + tc.cookie
			}
			status, _, got := raw(t, s, http.MethodGet, clientsPath, h, "")
			if status != tc.want {
				t.Fatalf("GET with Authorization %q = %d %v, want %d", tc.header, status, got, tc.want)
			}
			if tc.body != nil {
				if diff := cmp.Diff(tc.body, got); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestContentType(t *testing.T) {
	const body = `{"client_name":"A","redirect_uris":["https://a.example/cb"]}`
	allowed := []any{"application/json", "application/x-www-form-urlencoded", "multipart/form-data"}
	unsupported := func(ct string) map[string]any {
		return map[string]any{"error": "Unsupported Content-Type: " + ct, "code": "UNSUPPORTED_CONTENT_TYPE", "allowed": allowed}
	}
	tests := []struct {
		name, method, path, ct, body string
		anonymous                    bool
		want                         int
		wantBody                     map[string]any
	}{
		{"POST text/plain", "POST", clientsPath, "text/plain", body, false, 415, unsupported("text/plain")},
		{"POST text/plain with charset", "POST", clientsPath, "Text/Plain; charset=utf-8", body, false, 415, unsupported("text/plain")},
		{"PATCH text/plain", "PATCH", clientsPath + "/abc", "text/plain", `{}`, false, 415, unsupported("text/plain")},
		{"PUT text/plain", "PUT", clientsPath, "text/plain", body, false, 415, unsupported("text/plain")},
		{"POST application/jsonx", "POST", clientsPath, "application/jsonx", body, false, 415, unsupported("application/jsonx")},
		{"checked before auth", "POST", clientsPath, "text/plain", body, true, 415, unsupported("text/plain")},
		{"checked on unknown /api routes", "POST", "/api/nowhere", "text/xml", body, false, 415, unsupported("text/xml")},
		{"POST without Content-Type", "POST", clientsPath, "", body, false, 415, map[string]any{"error": "Missing Content-Type header", "code": "MISSING_CONTENT_TYPE"}},
		{"POST application/json", "POST", clientsPath, "application/json", body, false, 201, nil},
		{"POST application/json; charset=utf-8", "POST", clientsPath, "application/json; charset=utf-8", body, false, 201, nil},
		{"POST form passes the check, fails as JSON", "POST", clientsPath, "application/x-www-form-urlencoded", "client_name=A", false, 400, errEnvelope("BAD_REQUEST", "Invalid JSON body")},
		{"DELETE is not checked", "DELETE", clientsPath + "/abc", "text/plain", "x", false, 404, errEnvelope("NOT_FOUND", "Client not found")},
		{"GET is not checked", "GET", clientsPath, "text/plain", "", false, 200, nil},
		{"empty POST body is not checked", "POST", clientsPath, "text/plain", "", false, 400, errEnvelope("BAD_REQUEST", "Invalid JSON body")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTest(t)
			h := map[string]string{"Authorization": "Bearer " + s.Token}
			if tc.anonymous {
				h = map[string]string{}
			}
			if tc.ct != "" {
				h["Content-Type"] = tc.ct
			}
			status, _, got := raw(t, s, tc.method, tc.path, h, tc.body)
			if status != tc.want {
				t.Fatalf("%s %s (%s) = %d %v, want %d", tc.method, tc.path, tc.ct, status, got, tc.want)
			}
			if tc.wantBody != nil {
				if diff := cmp.Diff(tc.wantBody, got); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
			if tc.want == 415 && len(s.Clients()) != 0 {
				t.Error("a refused request stored a client")
			}
		})
	}
}

func TestClientIDRouteParameter(t *testing.T) {
	invalid := errEnvelope("BAD_REQUEST", "Invalid route parameter: clientId")
	tests := []struct {
		name, method, id string
		auth             bool
		want             int
		wantBody         map[string]any
	}{
		{"dot", "PATCH", "abc.def", true, 400, invalid},
		{"tilde", "DELETE", "abc~def", true, 400, invalid},
		{"percent-encoded dot", "DELETE", "abc%2Edef", true, 400, invalid},
		{"encoded slash", "DELETE", "abc%2Fdef", true, 400, invalid},
		{"encoded space", "PATCH", "abc%20def", true, 400, invalid},
		{"129 characters", "DELETE", strings.Repeat("a", 129), true, 400, invalid},
		{"checked before auth", "DELETE", "abc.def", false, 400, invalid},
		{"checked on GET, a method the route lacks", "GET", "abc.def", true, 400, invalid},
		{"128 characters is a valid id", "DELETE", strings.Repeat("a", 128), true, 404, errEnvelope("NOT_FOUND", "Client not found")},
		{"underscore and dash", "DELETE", "a_b-C9", true, 404, errEnvelope("NOT_FOUND", "Client not found")},
		{"valid id without auth", "DELETE", "abc", false, 401, errEnvelope("UNAUTHORIZED", "Authentication required")},
		{"two segments are no :clientId", "DELETE", "abc.def/x", true, 404, errEnvelope("NOT_FOUND", "Not Found")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTest(t)
			h := map[string]string{"Content-Type": "application/json"}
			if tc.auth {
				h["Authorization"] = "Bearer " + s.Token
			}
			body := ""
			if tc.method == "PATCH" {
				body = `{"client_name":"x"}`
			}
			status, _, got := raw(t, s, tc.method, clientsPath+"/"+tc.id, h, body)
			if diff := cmp.Diff(tc.wantBody, got); status != tc.want || diff != "" {
				t.Errorf("%s %s = %d, want %d; body (-want +got):\n%s", tc.method, tc.id, status, tc.want, diff)
			}
		})
	}
}

func TestUnknownRoutes(t *testing.T) {
	// app.notFound of web.ts: the /api error envelope (measured on the real
	// server; an earlier version of this fake answered a flat object).
	notFound := errEnvelope("NOT_FOUND", "Not Found")
	tests := []struct {
		name, method, path string
		auth               bool
		want               int
		wantBody           map[string]any
	}{
		{"unknown /api route, no auth needed", "GET", "/api/nowhere", false, 404, notFound},
		{"unknown route under /api/me needs auth first", "GET", "/api/me/nowhere", false, 401, errEnvelope("UNAUTHORIZED", "Authentication required")},
		{"unknown route under /api/me", "GET", "/api/me/nowhere", true, 404, notFound},
		{"GET of one client is no route", "GET", clientsPath + "/abc", true, 404, notFound},
		{"PUT of the collection", "PUT", clientsPath, true, 404, notFound},
		{"trailing slash", "GET", clientsPath + "/", true, 404, notFound},
		{"root", "GET", "/", false, 404, notFound},
		{"unknown well-known", "GET", "/.well-known/nothing", false, 404, notFound},
		{"POST to discovery", "POST", wellKnownAS, false, 404, notFound},
		{"unknown /oauth route", "GET", "/oauth/nothing", false, 404, notFound},
		{"GET of the token endpoint", "GET", "/oauth/token", false, 404, notFound},
		{"POST to userinfo", "POST", "/oauth/userinfo", false, 404, notFound},
		{"POST to the JWKS", "POST", "/.well-known/jwks.json", false, 404, notFound},
		{"the dev endpoints are no Takos route", "GET", "/oauth/_dev/faults", false, 404, notFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTest(t)
			token := ""
			if tc.auth {
				token = s.Token
			}
			status, _, got := call(t, s, tc.method, tc.path, token, "")
			if diff := cmp.Diff(tc.wantBody, got); status != tc.want || diff != "" {
				t.Errorf("%s %s = %d, want %d; body (-want +got):\n%s", tc.method, tc.path, status, tc.want, diff)
			}
		})
	}
	s := newTest(t, WithoutDiscovery())
	if status, _, got := call(t, s, "GET", wellKnownAS, "", ""); status != 404 || !cmp.Equal(got, notFound) {
		t.Errorf("WithoutDiscovery: GET = %d %v, want 404 %v", status, got, notFound)
	}
}

func TestRedirectURIsString(t *testing.T) {
	tests := []struct {
		name, method, body, want string
	}{
		{"create with a string", "POST", `{"client_name":"A","redirect_uris":"https://a.example/cb"}`, "Invalid redirect_uri: h"},
		{"create with a non-ASCII string: one code point", "POST", `{"client_name":"A","redirect_uris":"éa"}`, "Invalid redirect_uri: é"},
		{"create with an empty string", "POST", `{"client_name":"A","redirect_uris":""}`, "redirect_uris is required"},
		{"scopes still come first", "POST", `{"client_name":"A","redirect_uris":"https://a.example/cb","scope":"bogus"}`, "Unknown scopes: bogus"},
		{"update with a string", "PATCH", `{"redirect_uris":"https://b.example/cb"}`, "Invalid redirect_uri: h"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTest(t)
			path := clientsPath
			if tc.method == "PATCH" {
				c := s.Seed(StoredClient{Name: "A", RedirectURIs: []string{"https://a.example/cb"}})
				path += "/" + c.ClientID
			}
			before := s.Clients()
			status, _, got := call(t, s, tc.method, path, s.Token, tc.body)
			if diff := cmp.Diff(errEnvelope("BAD_REQUEST", tc.want), got); status != 400 || diff != "" {
				t.Errorf("%s %s = %d, want 400; (-want +got):\n%s", tc.method, tc.body, status, diff)
			}
			if diff := cmp.Diff(before, s.Clients()); diff != "" {
				t.Errorf("a refused request changed the store:\n%s", diff)
			}
		})
	}
}

func TestOAuthRateLimits(t *testing.T) {
	tests := []struct {
		path, method, msg string
		limit             int
	}{
		{"/oauth/token", "POST", "Too many token requests.", 20},
		{"/oauth/introspect", "POST", "Too many token requests.", 20},
		{"/oauth/authorize", "GET", "Too many authorization requests.", 30},
		{"/oauth/revoke", "POST", "Too many revocation requests.", 10},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			var mu sync.Mutex
			now := time.Date(2026, 4, 3, 10, 0, 0, 0, time.UTC)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
			s := newTest(t, WithClock(clock))
			hit := func(ip string) (int, http.Header, map[string]any) {
				h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
				if ip != "" {
					h["CF-Connecting-IP"] = ip
				}
				return raw(t, s, tc.method, tc.path, h, "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange")
			}
			for i := range tc.limit {
				status, h, _ := hit("")
				if status == http.StatusTooManyRequests {
					t.Fatalf("request %d of %d was rate limited", i+1, tc.limit)
				}
				if got, want := h.Get("X-RateLimit-Remaining"), fmt.Sprint(tc.limit-i); got != want {
					t.Errorf("request %d: X-RateLimit-Remaining = %q, want %q (checked before counting)", i+1, got, want)
				}
				if got := h.Get("X-RateLimit-Limit"); got != fmt.Sprint(tc.limit) {
					t.Errorf("X-RateLimit-Limit = %q", got)
				}
				advance(time.Second / 10)
			}
			// limit requests 0.1 s apart: the oldest leaves the window
			// 60 - limit/10 seconds from now.
			retry := 60 - tc.limit/10
			status, h, got := hit("")
			want := map[string]any{"error": tc.msg, "retryAfter": float64(retry)}
			if diff := cmp.Diff(want, got); status != 429 || h.Get("Retry-After") != fmt.Sprint(retry) || diff != "" {
				t.Errorf("request %d = %d Retry-After %q, want 429 and %d; body (-want +got):\n%s", tc.limit+1, status, h.Get("Retry-After"), retry, diff)
			}
			// Another CF-Connecting-IP has its own bucket; requests without
			// one share a single bucket.
			if status, _, _ := hit("192.0.2.7"); status == 429 {
				t.Error("a request from another CF-Connecting-IP was rate limited")
			}
			// Refused requests are not counted: once the first accepted
			// request leaves the window, exactly one more is allowed.
			advance(time.Minute - time.Duration(tc.limit)*time.Second/10)
			if status, _, _ := hit(""); status == 429 {
				t.Error("the window did not slide after one minute")
			}
			if status, _, _ := hit(""); status != 429 {
				t.Errorf("second request after the slide = %d, want 429", status)
			}
			// The API is not limited, and other paths do not share the
			// bucket.
			for range 40 {
				if status, _, _ := call(t, s, "GET", clientsPath, s.Token, ""); status != 200 {
					t.Fatalf("GET %s = %d, want 200: /api has no rate limit", clientsPath, status)
				}
			}
		})
	}
	t.Run("a burst waits 60 s", func(t *testing.T) {
		now := time.Date(2026, 4, 3, 10, 0, 0, 0, time.UTC)
		s := newTest(t, WithClock(func() time.Time { return now }))
		var status int
		var h http.Header
		var got map[string]any
		for range 21 {
			status, h, got = raw(t, s, "POST", "/oauth/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "grant_type=password")
		}
		want := map[string]any{"error": "Too many token requests.", "retryAfter": float64(60)}
		if diff := cmp.Diff(want, got); status != 429 || h.Get("Retry-After") != "60" || diff != "" {
			t.Errorf("21st token request = %d Retry-After %q; body (-want +got):\n%s", status, h.Get("Retry-After"), diff)
		}
	})
}

func TestTokenEndpoint(t *testing.T) {
	form := "application/x-www-form-urlencoded"
	jsonBody := map[string]any{"error": "invalid_request", "error_description": "Content-Type must be application/x-www-form-urlencoded"}
	tests := []struct {
		name, ct, body string
		opts           []Option
		want           int
		wantBody       map[string]any
	}{
		{"token exchange is not supported", form, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:token-exchange"}, "subject_token": {"x"}}.Encode(), nil, 400,
			map[string]any{"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}},
		{"no grant type", form, "", nil, 400, map[string]any{"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}},
		{"JSON body, the real text", "application/json", `{"grant_type":"client_credentials"}`, []Option{WithoutDevHints()}, 400, jsonBody},
		{"JSON body, with the dev hint", "application/json", `{"grant_type":"client_credentials"}`, nil, 400,
			map[string]any{"error": "invalid_request", "error_description": jsonBody["error_description"].(string) + DocsJSONHint}},
		{"text/plain gets no hint", "text/plain", `grant_type=client_credentials`, nil, 400, jsonBody},
		{"a substring check: a form type inside another passes, then the body is no form", "text/plain; x=application/x-www-form-urlencoded", "grant_type=client_credentials", nil, 400,
			map[string]any{"error": "unsupported_grant_type", "error_description": "Unsupported grant type"}},
		{"client_credentials without a secret", form, "grant_type=client_credentials", nil, 400,
			map[string]any{"error": "invalid_request", "error_description": "Missing client_id or client_secret"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTest(t, tc.opts...)
			status, _, got := raw(t, s, "POST", "/oauth/token", map[string]string{"Content-Type": tc.ct}, tc.body)
			if status != tc.want {
				t.Fatalf("POST /oauth/token = %d %v, want %d", status, got, tc.want)
			}
			if diff := cmp.Diff(tc.wantBody, got); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
}
