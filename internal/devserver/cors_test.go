package devserver

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// corsOrigins are the origins the real server was measured with
// (tako0614/takos@7d63ea66, ADMIN_DOMAIN admin.localhost) and whether it
// echoed each in Access-Control-Allow-Origin. Its test is a prefix match
// on "http://localhost:" and "http://127.0.0.1:", case-sensitive, so
// strings no browser sends as an origin pass too.
var corsOrigins = []struct {
	origin  string // "" sends no Origin header
	allowed bool
}{
	{"", false},
	{"http://localhost:3000", true},
	{"http://127.0.0.1:3000", true},
	{"http://localhost:1", true},
	{"https://admin.localhost", true}, // https://ADMIN_DOMAIN
	{"https://evil.example", false},
	{"http://localhost", false}, // port 80: browsers leave it out of the origin
	{"https://localhost:3000", false},
	{"http://[::1]:3000", false},
	{"http://app.localhost:3000", false},
	{"http://admin.localhost", false},
	{"http://LOCALHOST:3000", false},
	{"http://localhost.evil.example:3000", false},
	{"null", false},
	{"http://localhost:3000.evil.example", true}, // the prefix test's quirk
	{"http://127.0.0.1:3000/x", true},
}

// corsView is what a response says about CORS.
type corsView struct {
	Status                                          int
	AllowOrigin, AllowCredentials, ExposeHeaders    string
	AllowMethods, AllowHeaders, MaxAge, Vary        string
	ContentType, XContentTypeOptions, XFrameOptions string
}

func viewCORS(status int, h http.Header) corsView {
	return corsView{
		Status:              status,
		AllowOrigin:         h.Get("Access-Control-Allow-Origin"),
		AllowCredentials:    h.Get("Access-Control-Allow-Credentials"),
		ExposeHeaders:       h.Get("Access-Control-Expose-Headers"),
		AllowMethods:        h.Get("Access-Control-Allow-Methods"),
		AllowHeaders:        h.Get("Access-Control-Allow-Headers"),
		MaxAge:              h.Get("Access-Control-Max-Age"),
		Vary:                strings.Join(h.Values("Vary"), ", "),
		ContentType:         h.Get("Content-Type"),
		XContentTypeOptions: h.Get("X-Content-Type-Options"),
		XFrameOptions:       h.Get("X-Frame-Options"),
	}
}

// corsPaths are routes of every kind: /oauth (rate-limited or not),
// discovery, the client API (authenticated) and no route at all.
var corsPaths = []struct{ method, path, body string }{
	{"POST", "/oauth/token", "grant_type=refresh_token&refresh_token=x&client_id=nope"},
	{"GET", "/oauth/userinfo", ""},
	{"POST", "/oauth/introspect", "token=x"},
	{"POST", "/oauth/revoke", "token=x"},
	{"GET", "/oauth/authorize?client_id=nope", ""},
	{"GET", "/.well-known/oauth-authorization-server", ""},
	{"GET", "/.well-known/openid-configuration", ""},
	{"GET", "/.well-known/jwks.json", ""},
	{"GET", "/api/me/oauth/clients", ""},
	{"DELETE", "/api/me/oauth/clients/abc", ""},
	{"GET", "/nothing", ""},
}

// TestCORS holds the fake to the real server's CORS as measured: every
// OPTIONS on every path answers 204 with the fixed lists, Max-Age and no
// security headers, echoing only an allowed origin; every other response
// carries the credentials and expose headers and Vary: Origin, and is the
// same response with or without an Origin (the server refuses nothing:
// the browser does).
func TestCORS(t *testing.T) {
	s := newTest(t, WithAdminDomain("admin.localhost"))
	for _, p := range corsPaths {
		plain := send(t, s, p.method, p.path, p.body, nil)
		for _, o := range corsOrigins {
			echo := ""
			if o.allowed {
				echo = o.origin
			}
			hdr := map[string]string{}
			if o.origin != "" {
				hdr["Origin"] = o.origin
			}
			wantPre := corsView{Status: 204, AllowOrigin: echo, AllowCredentials: "true",
				ExposeHeaders: "X-RateLimit-Limit,X-RateLimit-Remaining,X-RateLimit-Reset",
				AllowMethods:  "GET,POST,PUT,PATCH,DELETE,OPTIONS", AllowHeaders: "Content-Type,Authorization,X-Requested-With,Accept",
				MaxAge: "86400", Vary: "Origin, Access-Control-Request-Headers"}
			// A preflight, with a header the list lacks: the list is fixed,
			// not the request's echoed.
			pre := send(t, s, "OPTIONS", p.path, "", merge(hdr, map[string]string{"Access-Control-Request-Method": p.method,
				"Access-Control-Request-Headers": "authorization,content-type,x-custom"}))
			if diff := cmp.Diff(wantPre, pre); diff != "" {
				t.Errorf("preflight %s %s from %q (-want +got):\n%s", p.method, p.path, o.origin, diff)
			}
			// Any OPTIONS is answered the same.
			if bare := send(t, s, "OPTIONS", p.path, "", hdr); bare != wantPre {
				t.Errorf("OPTIONS %s from %q = %+v, want %+v", p.path, o.origin, bare, wantPre)
			}
			want := plain
			want.AllowOrigin = echo
			got := send(t, s, p.method, p.path, p.body, hdr)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s %s from %q (-want +got):\n%s", p.method, p.path, o.origin, diff)
			}
		}
		if plain.AllowCredentials != "true" || plain.Vary != "Origin" || plain.AllowOrigin != "" || plain.MaxAge != "" || plain.XContentTypeOptions != "nosniff" {
			t.Errorf("%s %s without Origin: %+v", p.method, p.path, plain)
		}
	}
}

// TestCORSExceptions: git Smart HTTP paths get no CORS and OPTIONS there
// is a plain 404; /_dev/ gets none; a foreign Host is refused before CORS (DNS rebinding,
// the fake's own rule); WithSelfIssuer keeps the ADMIN_DOMAIN origin; a
// route's own Vary keeps its value.
func TestCORSExceptions(t *testing.T) {
	s := newTest(t, WithAdminDomain("admin.example"), WithSelfIssuer())
	origin := map[string]string{"Origin": "http://localhost:3000"}
	for _, m := range []string{"OPTIONS", "GET"} {
		got := send(t, s, m, "/git/x/y.git/info/refs", "", origin)
		want := corsView{Status: 404, ContentType: "application/json", XContentTypeOptions: "nosniff", XFrameOptions: "SAMEORIGIN"}
		if got != want {
			t.Errorf("%s /git/…: %+v, want %+v", m, got, want)
		}
	}
	// /_dev/ is the dev server's own: no grant for any page, even with the
	// admin token, preflight or not.
	for _, m := range []string{"OPTIONS", "GET"} {
		got := send(t, s, m, AdminPath+"faults", "", merge(origin, map[string]string{"Access-Control-Request-Method": "GET"}))
		if got.AllowOrigin != "" || got.AllowCredentials != "" || got.AllowMethods != "" || (m == "GET") != (got.Status == 200) {
			t.Errorf("%s %sfaults from a loopback page: %+v", m, AdminPath, got)
		}
	}
	if got := send(t, s, "OPTIONS", "/oauth/token", "", map[string]string{"Origin": "https://admin.example"}); got.AllowOrigin != "https://admin.example" {
		t.Errorf("https://ADMIN_DOMAIN with WithSelfIssuer: %+v", got)
	}
	req, _ := http.NewRequest("OPTIONS", s.URL+"/oauth/token", nil)
	req.Host = "evil.example"
	req.Header.Set("Origin", "http://localhost:3000")
	status, h, _ := do(t, req)
	if status != 403 || h.Get("Access-Control-Allow-Origin") != "" || h.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("OPTIONS with a foreign Host: %d %v", status, h)
	}
	rep := s.withCORS(httptestRequest("GET", "/x", origin), reply{status: 200, header: http.Header{"Vary": {"Accept-Encoding"}}})
	if got := rep.header.Get("Vary"); got != "Accept-Encoding, Origin" {
		t.Errorf("Vary = %q, want the route's value with Origin appended", got)
	}
}

// TestCORSPreflightSpendsNothing: a preflight runs before the route, so it
// needs no credentials, is not counted by the /oauth rate limits (no
// X-RateLimit-* headers either) and does not take an injected fault meant
// for the request it precedes.
func TestCORSPreflightSpendsNothing(t *testing.T) {
	s := newTest(t)
	s.Inject(Fault{Path: "/oauth/token", Kind: StatusBeforeAct, Status: 503})
	pre := map[string]string{"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST", "CF-Connecting-IP": "10.0.0.9"}
	for i := 0; i < 25; i++ {
		req, _ := http.NewRequest("OPTIONS", s.URL+"/oauth/token", nil)
		for k, v := range pre {
			req.Header.Set(k, v)
		}
		status, h, _ := do(t, req)
		if status != 204 || h.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("preflight %d: %d %v", i+1, status, h)
		}
	}
	req, _ := http.NewRequest("OPTIONS", s.URL+"/api/me/oauth/clients", nil)
	if status, _, _ := do(t, req); status != 204 {
		t.Errorf("OPTIONS without credentials on /api/me: %d, want 204", status)
	}
	got := send(t, s, "POST", "/oauth/token", "grant_type=x", map[string]string{"Origin": "http://localhost:3000", "CF-Connecting-IP": "10.0.0.9"})
	if got.Status != 503 || got.AllowOrigin != "http://localhost:3000" {
		t.Errorf("the request after the preflights: %+v, want the injected 503 with CORS", got)
	}
	got = send(t, s, "POST", "/oauth/token", "grant_type=x", map[string]string{"CF-Connecting-IP": "10.0.0.9"})
	if got.Status != 400 {
		t.Errorf("the next request: %d, want 400 (the window still has room: preflights were not counted)", got.Status)
	}
	if methods := requestMethods(s, "/oauth/token"); !slices.Equal(methods[len(methods)-2:], []string{"POST", "POST"}) || len(methods) != 27 {
		t.Errorf("request log for /oauth/token: %v", methods)
	}
}

func requestMethods(s *Server, path string) []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Path == path {
			out = append(out, r.Method)
		}
	}
	return out
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func httptestRequest(method, path string, h map[string]string) *http.Request {
	r, _ := http.NewRequest(method, "http://127.0.0.1"+path, nil)
	for k, v := range h {
		r.Header.Set(k, v)
	}
	return r
}

var sendN atomic.Int64

// send makes one request with the token (when the path needs one), from
// its own CF-Connecting-IP unless h names one (so the /oauth rate limits
// stay out of the way), and returns its CORS view.
func send(t *testing.T, s *Server, method, path, body string, h map[string]string) corsView {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, AdminPath) {
		req.Header.Set("Authorization", "Bearer "+s.Token)
	}
	n := sendN.Add(1)
	req.Header.Set("CF-Connecting-IP", fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255))
	for k, v := range h {
		req.Header.Set(k, v)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return viewCORS(resp.StatusCode, resp.Header)
}
