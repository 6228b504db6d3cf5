package devserver

import (
	"net/http"
	"strings"
	"testing"
)

// TestForeignHostRefused: DNS rebinding. A page of evil.example whose name
// the attacker re-points at 127.0.0.1 is same-origin with the dev server
// in the browser's eyes and can read what it answers; the browser still
// sends Host: evil.example, which the dev server refuses before doing
// anything. Loopback names and addresses (any port: the URL may come
// through a local proxy) are served.
func TestForeignHostRefused(t *testing.T) {
	s := newTest(t)
	port := s.URL[strings.LastIndexByte(s.URL, ':'):]
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1" + port, true},
		{"localhost" + port, true},
		{"LocalHost" + port, true},
		{"localhost.", true},
		{"app.localhost" + port, true},
		{"[::1]" + port, true},
		{"[::1]", true},
		{"127.0.0.2", true},
		{"evil.example" + port, false},
		{"evil.example", false},
		{"127.0.0.1.nip.io" + port, false},
		{"localhost.evil.example" + port, false},
		{"evilocalhost" + port, false},
		{"10.0.0.1" + port, false},
		{"[::ffff:10.0.0.1]" + port, false},
	} {
		for _, path := range []string{"/.well-known/oauth-authorization-server", "/api/me/oauth/clients", "/oauth/authorize?client_id=x", AdminPath + "faults"} {
			req, err := http.NewRequest("GET", s.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tc.host
			req.Header.Set("Authorization", "Bearer "+s.Token)
			status, _, body := do(t, req)
			refused := status == http.StatusForbidden && strings.Contains(errMessage(body), "DNS rebinding")
			if refused == tc.ok {
				t.Errorf("GET %s with Host %s = %d %v, want refused %v", path, tc.host, status, body, !tc.ok)
			}
		}
	}
	if n := len(s.Clients()); n != 0 {
		t.Errorf("%d clients after the requests, want none", n)
	}
}

// errMessage is the message of an /api error envelope.
func errMessage(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

// TestSecurityHeaders: every reply carries the headers the real server's
// middleware adds to all of its responses (measured: JSON, errors and 404s
// alike), so a JSON answer is never sniffed as a page or framed by another
// origin; the consent page keeps its stricter DENY and no-referrer.
func TestSecurityHeaders(t *testing.T) {
	s := newTest(t, WithSigningKey(testKey()))
	want := map[string]string{
		"X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN", "X-Xss-Protection": "1; mode=block",
		"Referrer-Policy": "strict-origin-when-cross-origin", "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
	}
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/api/me/oauth/clients", "/nope", "/oauth/authorize?client_id=x"} {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		_, h, _ := do(t, req)
		for k, v := range want {
			if got := h.Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", path, k, got, v)
			}
		}
	}
	cfg := newOAuthClient(t, s, `{"client_name":"Photo Book","redirect_uris":["`+testRedirect+`"],"scope":"openid"}`)
	resp, err := http.Get(s.URL + "/oauth/authorize?" + authzQuery(cfg.ClientID, "scope", "openid"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Referrer-Policy") != "no-referrer" ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("consent page = %d %v, want DENY, no-referrer, nosniff and frame-ancestors 'none'", resp.StatusCode, resp.Header)
	}
}
