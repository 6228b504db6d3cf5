package broker

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/devserver"
)

// upstream is a recording stand-in for Takos behind the gateway: it
// answers the lookups the gateway makes (the personal space, a service's
// space, the client list) and echoes every other request, and it records
// each request as it arrived, headers and body included.
type upstream struct {
	*httptest.Server
	cred string

	mu   sync.Mutex
	reqs []seen
	// reply, when set, answers every request not a lookup.
	reply func(w http.ResponseWriter, r *http.Request)
}

type seen struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
}

func newUpstream(t *testing.T, cred string) *upstream {
	t.Helper()
	u := &upstream{cred: cred}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), string(body)})
		reply := u.reply
		u.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+cred {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch p := r.URL.Path; {
		case r.Method == "GET" && p == "/api/spaces/me":
			io.WriteString(w, `{"space":{"id":"sp-me","kind":"user"},"role":"owner"}`)
		case r.Method == "GET" && p == "/api/spaces":
			io.WriteString(w, `{"spaces":[{"id":"sp-me","name":"me"},{"id":"sp-a","name":"a"},{"id":"sp-b","name":"b"}],"cursor":null}`)
		case r.Method == "GET" && (p == "/api/services/svc-a" || p == "/api/services/svc-b" || p == "/api/services/svc-me"):
			fmt.Fprintf(w, `{"service":{"id":%q,"space_id":"sp-%s"}}`, p[len("/api/services/"):], p[len("/api/services/svc-"):])
		case r.Method == "GET" && strings.HasPrefix(p, "/api/services/") && strings.Count(p, "/") == 3:
			w.WriteHeader(404)
			io.WriteString(w, `{"error":{"code":"NOT_FOUND","message":"Service not found"}}`)
		case r.Method == "GET" && p == "/api/me/oauth/clients":
			io.WriteString(w, `{"clients":[{"client_id":"c-demo","name":"Demo App"},{"client_id":"c-other","name":"Other"}]}`)
		case reply != nil:
			reply(w, r)
		default:
			fmt.Fprintf(w, `{"echo":%q}`, r.Method+" "+p)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

// forwarded returns the requests that were not the gateway's own lookups.
func (u *upstream) forwarded() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []seen
	for _, r := range u.reqs {
		if r.Method == "GET" && (r.Path == "/api/spaces/me" || strings.HasPrefix(r.Path, "/api/services/svc-") && strings.Count(r.Path, "/") == 3) {
			continue
		}
		out = append(out, r)
	}
	return out
}

func (u *upstream) all() []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs...)
}

// gatewayFixture is a broker in front of a recording upstream, with a
// policy of the given rules (a rule named main for repository 123456789).
func gatewayFixture(t *testing.T, permissions string, opts ...func(*Config)) (*fixture, *upstream, string) {
	t.Helper()
	const cred = "tak_pat_gatewaytest000000000000000000000000000"
	up := newUpstream(t, cred)
	policy := "version: 1\nrules:\n  - name: main\n    match: {repository_id: \"123456789\"}\n" + permissions
	f := newFixture(t, policy, append([]func(*Config){func(c *Config) { c.ControlPlaneURL, c.Token = up.URL, cred }}, opts...)...)
	return f, up, f.exchange(nil)
}

// TestGatewayForwardsApplyThroughDevserver: with the default permissions,
// the requests of an apply reach the fake Takos with the broker's own
// credential and come back unchanged.
func TestGatewayForwardsApplyThroughDevserver(t *testing.T) {
	f := newFixture(t, testPolicy)
	tok := f.exchange(nil)
	created := f.api(tok, "POST", "/api/me/oauth/clients", `{"client_name":"Demo","redirect_uris":["https://demo.example.com/cb"],"scope":"openid"}`)
	id, _ := created.body["client_id"].(string)
	if created.status != 201 || id == "" || created.body["client_secret"] == nil {
		t.Fatalf("create through the gateway = %d %s", created.status, created.raw)
	}
	if created.header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(created.header.Get("Content-Type"), "application/json") {
		t.Errorf("create headers = %v", created.header)
	}
	if a := f.api(tok, "PATCH", "/api/me/oauth/clients/"+id, `{"client_name":"Demo 2"}`); a.status != 200 || a.body["name"] != "Demo 2" {
		t.Errorf("update = %d %s", a.status, a.raw)
	}
	list := f.api(tok, "GET", "/api/me/oauth/clients", "")
	if clients, _ := list.body["clients"].([]any); list.status != 200 || len(clients) != 1 {
		t.Errorf("list = %d %s", list.status, list.raw)
	}
	if a := f.api(tok, "DELETE", "/api/me/oauth/clients/"+id, ""); a.status != 200 {
		t.Errorf("revoke = %d %s", a.status, a.raw)
	}
	// A Takos error passes through as Takos wrote it.
	if a := f.api(tok, "PATCH", "/api/me/oauth/clients/nope", `{"client_name":"x"}`); a.status != 404 || !strings.Contains(a.raw, "NOT_FOUND") {
		t.Errorf("update of an unknown client = %d %s, want Takos's 404", a.status, a.raw)
	}
	var seq []string
	for _, r := range f.cp.Requests() {
		if !r.HasAuth || r.UserAgent != "takos-apply-broker" {
			t.Errorf("%s %s reached Takos without the broker's credential or user agent (%+v)", r.Method, r.Path, r)
		}
		seq = append(seq, r.Method+" "+r.Path)
	}
	want := "POST /api/me/oauth/clients,PATCH /api/me/oauth/clients/" + id + ",GET /api/me/oauth/clients,DELETE /api/me/oauth/clients/" + id + ",PATCH /api/me/oauth/clients/nope"
	if got := strings.Join(seq, ","); got != want {
		t.Errorf("Takos saw %s, want %s", got, want)
	}
	if len(f.cp.PATs()) != 0 {
		t.Errorf("PATs exist: %+v", f.cp.PATs())
	}
}

// TestGatewayRefusesPATRoutes: the job's token cannot create, list or
// revoke a PAT, whatever the rule allows; the refusal names the rule, and
// nothing reaches Takos.
func TestGatewayRefusesPATRoutes(t *testing.T) {
	f := newFixture(t, testPolicy)
	tok := f.exchange(nil)
	for _, req := range [][2]string{
		{"POST", "/api/me/personal-access-tokens"},
		{"GET", "/api/me/personal-access-tokens"},
		{"DELETE", "/api/me/personal-access-tokens/abc"},
	} {
		body := ""
		if req[0] == "POST" {
			body = `{"name":"forever"}`
		}
		a := f.api(tok, req[0], req[1], body)
		msg := nested(a.body, "error", "message")
		if a.status != 403 || nested(a.body, "error", "code") != "FORBIDDEN" || !strings.Contains(msg, "rule deploy-main does not permit "+req[0]+" "+req[1]) ||
			!strings.Contains(msg, "personal access tokens are never reachable through the broker") {
			t.Errorf("%s %s = %d %s, want 403 naming the rule", req[0], req[1], a.status, a.raw)
		}
	}
	if reqs := f.cp.Requests(); len(reqs) != 0 || len(f.cp.PATs()) != 0 {
		t.Errorf("refused requests reached Takos: %+v, PATs %+v", reqs, f.cp.PATs())
	}
}

func nested(m map[string]any, keys ...string) string {
	var v any = m
	for _, k := range keys {
		mm, _ := v.(map[string]any)
		v = mm[k]
	}
	s, _ := v.(string)
	return s
}

// TestGatewayRefusesOtherRoutes: only the route table is forwarded.
func TestGatewayRefusesOtherRoutes(t *testing.T) {
	f, up, tok := gatewayFixture(t, "")
	for _, tc := range []struct{ method, path, why string }{
		{"GET", "/api/me", "forwards only the OAuth client"},
		{"GET", "/api/repos", "forwards only"},
		{"PATCH", "/api/services/svc-a/env", "forwards only"},
		{"POST", "/api/services/svc-a/deployments", "serves this path, but not with POST"},
		{"PUT", "/api/me/oauth/clients", "serves this path, but not with PUT"},
		{"HEAD", "/api/me/oauth/clients", "serves this path, but not with HEAD"},
		{"DELETE", "/api/spaces/sp-a", "serves this path, but not with DELETE"},
		{"PATCH", "/api/spaces/sp-a", "serves this path, but not with PATCH"},
		{"GET", "/api/services/space/deployments", "fits two routes"},
	} {
		a := f.api(tok, tc.method, tc.path, "")
		if a.status != 403 && a.status != 400 {
			t.Errorf("%s %s = %d %s, want refused", tc.method, tc.path, a.status, a.raw)
		}
		if tc.method != "HEAD" && !strings.Contains(a.raw, tc.why) {
			t.Errorf("%s %s = %s, want it to say %q", tc.method, tc.path, a.raw, tc.why)
		}
	}
	if fw := up.forwarded(); len(fw) != 0 {
		t.Errorf("refused requests reached Takos: %+v", fw)
	}
	// Outside /api/ nothing is forwarded either.
	for _, p := range []string{"/oauth/token", "/api", "/.well-known/openid-configuration"} {
		if a := f.api(tok, "GET", p, ""); a.status != 404 {
			t.Errorf("GET %s = %d, want 404", p, a.status)
		}
	}
	if n := len(up.all()); n != 0 {
		t.Errorf("%d requests reached Takos", n)
	}
}

// rawRequest sends one HTTP/1.1 request line as written, so that no
// client library cleans the path first.
func rawRequest(t *testing.T, addr, line, tok string) int {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "%s\r\nHost: %s\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n", line, addr, tok)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestGatewayPathTricks: dot segments, encoded slashes and dots, empty
// segments, and absolute-form (proxy) request targets never reach a route
// they are not: the gateway takes canonical paths only, and is no proxy.
func TestGatewayPathTricks(t *testing.T) {
	f, up, tok := gatewayFixture(t, "")
	addr := strings.TrimPrefix(f.url, "http://")
	for _, line := range []string{
		"GET /api/me/oauth/clients/../../personal-access-tokens HTTP/1.1",
		"POST /api/me/oauth/clients/..%2f..%2fpersonal-access-tokens HTTP/1.1",
		"POST /api/me/oauth/%2e%2e/personal-access-tokens HTTP/1.1",
		"GET /api/me/oauth/clients%2F..%2F..%2Fpersonal-access-tokens HTTP/1.1",
		"GET /api/me/./personal-access-tokens HTTP/1.1",
		"GET /api//me/oauth/clients HTTP/1.1",
		"GET /api/me/oauth/clients/ HTTP/1.1",
		"GET /api/me/oauth/clients;x=1 HTTP/1.1",
		"GET /api/me/oauth/clients%00 HTTP/1.1",
		"GET /api/me/oauth/clients?x=1 HTTP/1.1",
		"GET /api/me/oauth/clients? HTTP/1.1",
		"GET /api/me/oauth\\clients HTTP/1.1",
		"GET /API/me/oauth/clients HTTP/1.1",
		"GET http://evil.example/api/me/oauth/clients HTTP/1.1",
		"GET http://" + addr + "/api/me/personal-access-tokens HTTP/1.1",
		"CONNECT evil.example:443 HTTP/1.1",
	} {
		if got := rawRequest(t, addr, line, tok); got < 400 || got > 404 {
			t.Errorf("%q = %d, want a 4xx refusal", line, got)
		}
	}
	if n := len(up.all()); n != 0 {
		t.Errorf("%d tricked requests reached Takos: %+v", n, up.all())
	}
	// The canonical form of the same request is forwarded.
	if got := rawRequest(t, addr, "GET /api/me/oauth/clients HTTP/1.1", tok); got != 200 {
		t.Errorf("the canonical list = %d, want 200", got)
	}
}

// TestGatewayCapabilities: a rule's allow list bounds what its token does.
func TestGatewayCapabilities(t *testing.T) {
	f, up, tok := gatewayFixture(t, "    permissions: {allow: [clients:read]}\n")
	if a := f.api(tok, "GET", "/api/me/oauth/clients", ""); a.status != 200 {
		t.Errorf("list with clients:read = %d %s", a.status, a.raw)
	}
	for _, req := range [][3]string{
		{"POST", "/api/me/oauth/clients", `{"client_name":"x"}`},
		{"DELETE", "/api/me/oauth/clients/c-demo", ""},
		{"GET", "/api/spaces/me", ""},
		{"PUT", "/api/spaces/sp-a/common-env", `{"name":"X","value":"y"}`},
		{"PATCH", "/api/services/svc-a/common-env-links", `{"add":["X"]}`},
	} {
		a := f.api(tok, req[0], req[1], req[2])
		if a.status != 403 || !strings.Contains(a.raw, "rule main does not permit "+req[0]+" "+req[1]+": it needs") || !strings.Contains(a.raw, "the rule allows clients:read") {
			t.Errorf("%s %s = %d %s, want 403 naming the capability", req[0], req[1], a.status, a.raw)
		}
	}
	if fw := up.forwarded(); len(fw) != 1 {
		t.Errorf("forwarded %d requests, want only the list: %+v", len(fw), fw)
	}
	// env:write includes env:read; clients:write includes clients:read.
	f2, _, tok2 := gatewayFixture(t, "    permissions: {allow: [env:write]}\n")
	if a := f2.api(tok2, "GET", "/api/spaces/sp-a/common-env", ""); a.status != 200 {
		t.Errorf("read with env:write = %d %s", a.status, a.raw)
	}
	if a := f2.api(tok2, "GET", "/api/me/oauth/clients", ""); a.status != 403 {
		t.Errorf("clients with env:write only = %d, want 403", a.status)
	}
}

// TestGatewaySpaces: a rule limited to spaces reaches only them: by path,
// through a service's space, in a create's body (trimmed, as Takos does;
// none means the personal space), through "me", and in the space list.
func TestGatewaySpaces(t *testing.T) {
	f, up, tok := gatewayFixture(t, "    permissions: {spaces: [sp-a]}\n")
	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{"GET", "/api/spaces/sp-a", "", 200},
		{"GET", "/api/spaces/sp-b", "", 403},
		{"GET", "/api/spaces/sp-a/common-env", "", 200},
		{"PUT", "/api/spaces/sp-a/common-env", `{"name":"OAUTH_CLIENT_ID","value":"x"}`, 200},
		{"DELETE", "/api/spaces/sp-a/common-env/OAUTH_CLIENT_ID", "", 200},
		{"GET", "/api/spaces/sp-a/groups/g1/services", "", 200},
		{"POST", "/api/spaces/sp-a/groups", `{"name":"demo"}`, 200},
		{"GET", "/api/services/space/sp-a", "", 200},
		{"PATCH", "/api/services/svc-a/common-env-links", `{"add":["OAUTH_CLIENT_ID"]}`, 200},
		{"GET", "/api/services/svc-a/deployments/d1", "", 200},
		{"POST", "/api/services", `{"space_id":"sp-a","service_type":"app","slug":"x"}`, 200},
		{"POST", "/api/services", `{"space_id":" sp-a\u00a0","service_type":"app","slug":"x"}`, 200},
		{"GET", "/api/spaces/sp-b/common-env", "", 403},
		{"PUT", "/api/spaces/sp-b/common-env", `{"name":"X","value":"y"}`, 403},
		{"GET", "/api/spaces/me", "", 403},
		{"GET", "/api/spaces/me/common-env", "", 403},
		{"GET", "/api/spaces/sp-me/groups", "", 403},
		{"GET", "/api/services/space/sp-b", "", 403},
		{"PATCH", "/api/services/svc-b/common-env-links", `{"add":["X"]}`, 403},
		{"GET", "/api/services/svc-b/deployments", "", 403},
		{"GET", "/api/services/svc-unknown/common-env-links", "", 404},
		{"POST", "/api/services", `{"space_id":" sp-b ","service_type":"app","slug":"x"}`, 403},
		{"POST", "/api/services", `{"service_type":"app","slug":"x"}`, 403},
		{"POST", "/api/services", `{"space_id":"","service_type":"app","slug":"x"}`, 403},
		{"POST", "/api/services", `{"space_id":7,"service_type":"app","slug":"x"}`, 403},
		{"POST", "/api/services", `{"space_id":"sp-a","space_id":"sp-b","service_type":"app","slug":"x"}`, 403},
	} {
		a := f.api(tok, tc.method, tc.path, tc.body)
		if a.status != tc.want {
			t.Errorf("%s %s %s = %d %s, want %d", tc.method, tc.path, tc.body, a.status, a.raw, tc.want)
		}
		if tc.want == 403 && !strings.Contains(a.raw, "rule main") {
			t.Errorf("%s %s: refusal %s does not name the rule", tc.method, tc.path, a.raw)
		}
	}
	for _, r := range up.forwarded() {
		if strings.Contains(r.Path, "sp-b") || strings.Contains(r.Path, "svc-b") || strings.Contains(r.Path, "sp-me") || strings.Contains(r.Body, "sp-b") {
			t.Errorf("a request outside the rule's spaces reached Takos: %+v", r)
		}
	}
	list := f.api(tok, "GET", "/api/spaces", "")
	if list.status != 200 || list.raw != `{"cursor":null,"spaces":[{"id":"sp-a","name":"a"}]}` {
		t.Errorf("space list = %d %s, want only sp-a", list.status, list.raw)
	}

	// "me" in the rule is the personal space, by path alias or id.
	f2, _, tok2 := gatewayFixture(t, "    permissions: {spaces: [me]}\n")
	for path, want := range map[string]int{"/api/spaces/me": 200, "/api/spaces/me/common-env": 200, "/api/spaces/sp-me/common-env": 200,
		"/api/spaces/sp-a/common-env": 403, "/api/services/svc-me/common-env-links": 200, "/api/services/svc-a/common-env-links": 403} {
		if a := f2.api(tok2, "GET", path, ""); a.status != want {
			t.Errorf("spaces [me]: GET %s = %d %s, want %d", path, a.status, a.raw, want)
		}
	}
	if a := f2.api(tok2, "POST", "/api/services", `{"service_type":"app","slug":"x"}`); a.status != 200 {
		t.Errorf("spaces [me]: a service created without space_id = %d %s, want 200 (it goes to the personal space)", a.status, a.raw)
	}
}

// TestGatewayClients: a rule limited to client names sees and manages
// only those clients. A body's keys are read as Takos reads them (exact,
// the last of duplicates): a second, differently cased key cannot show
// the check another name.
func TestGatewayClients(t *testing.T) {
	f, up, tok := gatewayFixture(t, "    permissions: {clients: ['Demo*']}\n")
	list := f.api(tok, "GET", "/api/me/oauth/clients", "")
	if list.status != 200 || list.raw != `{"clients":[{"client_id":"c-demo","name":"Demo App"}]}` {
		t.Errorf("list = %d %s, want only Demo App", list.status, list.raw)
	}
	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/api/me/oauth/clients", `{"client_name":"Demo Two","redirect_uris":["https://x.example/cb"]}`, 200},
		{"POST", "/api/me/oauth/clients", `{"client_name":"Other","redirect_uris":["https://x.example/cb"]}`, 403},
		{"POST", "/api/me/oauth/clients", `{"Client_Name":"Demo","client_name":"Other"}`, 403},
		{"POST", "/api/me/oauth/clients", `{"client_name":"Demo","client_name":"Other"}`, 403},
		{"POST", "/api/me/oauth/clients", `{"redirect_uris":["https://x.example/cb"]}`, 403},
		{"POST", "/api/me/oauth/clients", `{"client_name":["Demo"]}`, 403},
		{"PATCH", "/api/me/oauth/clients/c-demo", `{"scope":"openid"}`, 200},
		{"PATCH", "/api/me/oauth/clients/c-demo", `{"client_name":"Other"}`, 403},
		{"PATCH", "/api/me/oauth/clients/c-other", `{"scope":"openid"}`, 403},
		{"DELETE", "/api/me/oauth/clients/c-other", "", 403},
		{"DELETE", "/api/me/oauth/clients/c-demo", "", 200},
		{"DELETE", "/api/me/oauth/clients/c-gone", "", 200}, // unknown: Takos answers (its 404)
	} {
		if a := f.api(tok, tc.method, tc.path, tc.body); a.status != tc.want {
			t.Errorf("%s %s %s = %d %s, want %d", tc.method, tc.path, tc.body, a.status, a.raw, tc.want)
		}
	}
	for _, r := range up.forwarded() {
		if strings.Contains(r.Body, "Other") || strings.Contains(r.Path, "c-other") {
			t.Errorf("a request about another client reached Takos: %+v", r)
		}
	}
}

// TestGatewayForwardsOnlyWhatItChecked: no header of the job reaches
// Takos (no cookie, which Takos prefers to Authorization; no forwarding
// or client-IP header), only the broker's credential; no header of Takos
// reaches the job but Content-Type and Retry-After.
func TestGatewayForwardsOnlyWhatItChecked(t *testing.T) {
	f, up, tok := gatewayFixture(t, "")
	up.reply = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", "__Host-tp_session=s3cr3t; Secure")
		w.Header().Set("X-Internal", "1")
		w.Header().Set("Retry-After", "7")
		w.Header().Set("Location", "https://elsewhere.example/")
		w.WriteHeader(429)
		io.WriteString(w, `{"error":"Too many"}`)
	}
	req, _ := http.NewRequest("PUT", f.url+"/api/spaces/sp-a/common-env", strings.NewReader(`{"name":"A","value":"b"}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Cookie", "__Host-tp_session=stolen")
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	req.Header.Set("CF-Connecting-IP", "10.0.0.2")
	req.Header.Set("X-HTTP-Method-Override", "DELETE")
	req.Header.Set("Connection", "X-Secret")
	req.Header.Set("X-Secret", "1")
	a := f.send(req)
	if a.status != 429 || a.raw != `{"error":"Too many"}` || a.header.Get("Retry-After") != "7" {
		t.Errorf("answer = %d %s %v", a.status, a.raw, a.header)
	}
	for _, h := range []string{"Set-Cookie", "X-Internal", "Location"} {
		if a.header.Get(h) != "" {
			t.Errorf("Takos's %s reached the job", h)
		}
	}
	fw := up.forwarded()
	if len(fw) != 1 {
		t.Fatalf("forwarded %+v", fw)
	}
	got := fw[0]
	if got.Method != "PUT" || got.Path != "/api/spaces/sp-a/common-env" || got.Body != `{"name":"A","value":"b"}` {
		t.Errorf("forwarded %+v", got)
	}
	var names []string
	for k := range got.Header {
		names = append(names, k)
	}
	for _, k := range names {
		switch k {
		case "Accept", "Content-Type", "User-Agent", "Authorization", "Accept-Encoding", "Content-Length":
		default:
			t.Errorf("header %s reached Takos", k)
		}
	}
	if got.Header.Get("Authorization") != "Bearer "+up.cred || got.Header.Get("Content-Type") != "application/json" {
		t.Errorf("forwarded with %v, want the broker's credential and a JSON body", got.Header)
	}
}

// TestGatewayBodies: bounded, JSON only, none where a route takes none.
func TestGatewayBodies(t *testing.T) {
	f, up, tok := gatewayFixture(t, "")
	big := `{"name":"A","value":"` + strings.Repeat("x", maxForwardBody) + `"}`
	for _, tc := range []struct {
		method, path, ctype, body string
		want                      int
	}{
		{"PUT", "/api/spaces/sp-a/common-env", "application/json", big, 413},
		{"PUT", "/api/spaces/sp-a/common-env", "text/plain", `{"name":"A"}`, 415},
		{"PUT", "/api/spaces/sp-a/common-env", "application/x-www-form-urlencoded", `name=A`, 415},
		{"PUT", "/api/spaces/sp-a/common-env", "application/json", `[1]`, 400},
		{"PUT", "/api/spaces/sp-a/common-env", "application/json", `{"name":"A"} {}`, 400},
		{"PUT", "/api/spaces/sp-a/common-env", "application/json", "{\"name\":\"\xff\"}", 400},
		{"GET", "/api/me/oauth/clients", "application/json", `{"x":1}`, 400},
		{"DELETE", "/api/me/oauth/clients/c-demo", "application/json", `{"x":1}`, 400},
	} {
		req, _ := http.NewRequest(tc.method, f.url+tc.path, strings.NewReader(tc.body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", tc.ctype)
		if a := f.send(req); a.status != tc.want {
			t.Errorf("%s %s (%s, %d bytes) = %d %s, want %d", tc.method, tc.path, tc.ctype, len(tc.body), a.status, a.raw, tc.want)
		}
	}
	if fw := up.forwarded(); len(fw) != 0 {
		t.Errorf("refused bodies reached Takos: %d", len(fw))
	}
}

// TestGatewayTokenLifetime: the access token works until its expiry and
// not a second after; a token altered, made with another credential or
// for another broker, a Takos PAT, or none at all is refused with 401.
func TestGatewayTokenLifetime(t *testing.T) {
	f, up, tok := gatewayFixture(t, "    ttl: 2m\n")
	if a := f.api(tok, "GET", "/api/me/oauth/clients", ""); a.status != 200 {
		t.Fatalf("a fresh token = %d %s", a.status, a.raw)
	}
	f.clock.Add(2*time.Minute - time.Second)
	if a := f.api(tok, "GET", "/api/me/oauth/clients", ""); a.status != 200 {
		t.Errorf("a second before expiry = %d %s", a.status, a.raw)
	}
	f.clock.Add(time.Second)
	a := f.api(tok, "GET", "/api/me/oauth/clients", "")
	if a.status != 401 || a.header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` || !strings.Contains(a.raw, "the access token expired at") {
		t.Errorf("at expiry = %d %s, want 401 expired", a.status, a.raw)
	}
	before := len(up.all())

	other := &signer{key: mustKey(t, "another-credential")}
	g := &Grant{Audience: f.srv.url, Rule: "main", IssuedAt: f.clock.Now().Unix(), Expiry: f.clock.Now().Add(time.Minute).Unix()}
	foreign, _ := other.issue(g)
	g2 := *g
	g2.Audience = "https://other-broker.example"
	elsewhere, _ := f.srv.tokens.issue(&g2)
	g3 := *g
	g3.Rule = "removed"
	removed, _ := f.srv.tokens.issue(&g3)
	fresh := f.exchange(nil)
	parts := strings.SplitN(strings.TrimPrefix(fresh, AccessTokenPrefix), ".", 2)
	var payload map[string]any
	b, _ := b64(parts[0])
	json.Unmarshal(b, &payload)
	payload["rule"] = "other"
	altered := AccessTokenPrefix + enc64(mustJSON(payload)) + "." + parts[1]
	for name, bearer := range map[string]string{
		"another credential": foreign, "another broker": elsewhere, "a removed rule": removed, "altered": altered,
		"a Takos PAT": up.cred, "garbage": "takb_x.y", "none": "",
	} {
		if a := f.api(bearer, "GET", "/api/me/oauth/clients", ""); a.status != 401 {
			t.Errorf("%s = %d %s, want 401", name, a.status, a.raw)
		}
	}
	if after := len(up.all()); after != before {
		t.Errorf("refused tokens reached Takos: %d requests", after-before)
	}
}

func mustKey(t *testing.T, cred string) []byte {
	k, err := tokenKey(cred)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestGatewayUpstreamFailures: a dead, slow or redirecting control plane
// gives the job a 502 naming the cause, within the timeout; a redirect is
// neither followed nor passed on.
func TestGatewayUpstreamFailures(t *testing.T) {
	f, up, tok := gatewayFixture(t, "", func(c *Config) { c.Timeout = 300 * time.Millisecond })
	up.reply = func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/spaces/sp-a/groups":
			http.Redirect(w, r, "https://elsewhere.example/steal", http.StatusFound)
		case "/api/spaces/sp-a/common-env":
			time.Sleep(time.Second)
		}
	}
	a := f.api(tok, "GET", "/api/spaces/sp-a/groups", "")
	if a.status != 502 || a.header.Get("Location") != "" || !strings.Contains(a.raw, "redirect") {
		t.Errorf("redirect = %d %s %v", a.status, a.raw, a.header)
	}
	start := time.Now()
	a = f.api(tok, "GET", "/api/spaces/sp-a/common-env", "")
	if a.status != 502 || !strings.Contains(a.raw, "timed out") || time.Since(start) > 900*time.Millisecond {
		t.Errorf("slow control plane = %d %s after %v, want 502 within the timeout", a.status, a.raw, time.Since(start))
	}
	if n := len(up.all()); n != 2 {
		t.Errorf("%d upstream requests, want 2 (no retries)", n)
	}
	up.Close()
	if a := f.api(tok, "GET", "/api/me/oauth/clients", ""); a.status != 502 {
		t.Errorf("dead control plane = %d %s", a.status, a.raw)
	}
}

// TestGatewayRedactsReplies: a reply that carries the broker's credential
// or a PAT (one stored in a service's env shows in its deployment's
// bindings) reaches the job redacted.
func TestGatewayRedactsReplies(t *testing.T) {
	f, up, tok := gatewayFixture(t, "")
	up.reply = func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"bindings":[{"type":"plain_text","name":"T","text":"tak_pat_storedinenv0123456789"}],"echo":%q}`, up.cred)
	}
	a := f.api(tok, "GET", "/api/services/svc-a/deployments/d1", "")
	if a.status != 200 || strings.Contains(a.raw, "tak_pat_") || strings.Count(a.raw, "[REDACTED]") != 2 {
		t.Errorf("reply = %d %s, want both credentials redacted", a.status, a.raw)
	}
}

// TestGatewayAudit: every request is one audit line with the rule, the
// repository, the run, the method, the route and the status; never a
// token or a body.
func TestGatewayAudit(t *testing.T) {
	f, _, tok := gatewayFixture(t, "    permissions: {allow: [clients:read]}\n")
	f.api(tok, "GET", "/api/me/oauth/clients", "")
	f.api(tok, "POST", "/api/me/personal-access-tokens", `{"name":"secret-name"}`)
	var got []map[string]any
	for _, l := range f.audit.lines(t) {
		if l["msg"] == "gateway request" {
			got = append(got, l)
		}
	}
	if len(got) != 2 {
		t.Fatalf("gateway audit lines = %v", got)
	}
	for i, want := range []map[string]any{
		{"decision": "forwarded", "method": "GET", "route": "/api/me/oauth/clients", "status": float64(200)},
		{"decision": "refused", "method": "POST", "route": "", "path": "/api/me/personal-access-tokens", "status": float64(403)},
	} {
		for k, v := range want {
			if got[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, got[i][k], v)
			}
		}
		for k, v := range map[string]any{"rule": "main", "repository": "octo-org/octo-repo", "repository_id": "123456789", "run_id": "9876543210", "run_attempt": "1"} {
			if got[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v", i, k, got[i][k], v)
			}
		}
		if got[i]["token_id"] == "" {
			t.Errorf("line %d has no token id", i)
		}
	}
	if s := f.audit.String(); strings.Contains(s, tok) || strings.Contains(s, "secret-name") {
		t.Error("the audit log holds the token or a request body")
	}
}

// BenchmarkForward measures one forwarded request through the gateway
// (token check, route and permission match, the round trip to the fake
// Takos, the relayed reply); see BenchmarkExchange for how the README's
// figures are taken.
func BenchmarkForward(b *testing.B) {
	for _, st := range benchStates {
		b.Run(st.name, func(b *testing.B) {
			f := newFixture(b, testPolicy, func(c *Config) { c.State = st.state(b) })
			tok := f.exchange(nil)
			f.cp.Seed(devserver.StoredClient{Name: "Demo", RedirectURIs: []string{"https://demo.example.com/cb"}, AllowedScopes: []string{"openid"}})
			hc := &http.Client{}
			get := func() {
				req, _ := http.NewRequestWithContext(context.Background(), "GET", f.url+"/api/me/oauth/clients", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("list = %d", resp.StatusCode)
				}
			}
			get() // warm: connections
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				get()
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			reportLatency(b, lat)
		})
	}
}
