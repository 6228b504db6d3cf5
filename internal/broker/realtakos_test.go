package broker

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
	"github.com/takos-dev/takos-apply/internal/realtakostest"
)

// realTakos is the running real Takos (realtakostest.Coords), or skips.
func realTakos(t *testing.T) (url, pat string) {
	t.Helper()
	kv := realtakostest.Coords(t, "URL", "PAT")
	return kv["URL"], kv["PAT"]
}

// direct sends a request straight to the real Takos with bearer.
func direct(t *testing.T, method, url, bearer, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func patCount(t *testing.T, url, pat string) int {
	t.Helper()
	status, body := direct(t, "GET", url+"/api/me/personal-access-tokens", pat, "")
	var w struct {
		Tokens []json.RawMessage `json:"tokens"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &w) != nil {
		t.Fatalf("listing PATs on the real Takos = %d %s", status, body)
	}
	return len(w.Tokens)
}

// TestRealTakosGateway proves the gateway against the real control plane
// (tako0614/takos@7d63ea66 on loopback): the job's token cannot create a
// PAT, is not a credential Takos accepts, cannot reach a route outside its
// rule's permissions, and is dead at its expiry; what the rule permits
// (OAuth clients, space env) works as it does with the account's PAT.
func TestRealTakosGateway(t *testing.T) {
	url, pat := realTakos(t)
	gh := authtest.NewGitHubOIDC(t)
	clk := &clock{now: time.Now()}
	policy, diags, err := LoadPolicy("policy.yml", []byte(`version: 1
rules:
  - name: deploy
    match: {repository_id: "123456789"}
    ttl: 2m
  - name: read-clients
    match: {repository_id: "777"}
    permissions: {allow: [clients:read]}
  - name: elsewhere
    match: {repository_id: "888"}
    permissions: {spaces: [spc-not-mine]}
`))
	if policy == nil {
		t.Fatal(diags, err)
	}
	ts := httptest.NewUnstartedServer(nil)
	brokerURL := "http://" + ts.Listener.Addr().String()
	audit := &syncBuffer{}
	srv, err := New(Config{URL: brokerURL, Issuers: []string{gh.Issuer}, Policy: policy, ControlPlaneURL: url, Token: pat, Audit: audit, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = srv.Handler()
	ts.Start()
	t.Cleanup(ts.Close)
	f := &fixture{t: t, gh: gh, clock: clk, audit: audit, srv: srv, url: brokerURL, cfg: srv.cfg}
	tok := f.exchange(nil)

	// No PAT, through any door.
	before := patCount(t, url, pat)
	for _, req := range [][3]string{
		{"POST", "/api/me/personal-access-tokens", `{"name":"forever"}`},
		{"POST", "/api/me/personal-access-tokens", `{"name":"soon","expiresAt":"2099-01-01T00:00:00Z"}`},
		{"GET", "/api/me/personal-access-tokens", ""},
	} {
		if a := f.api(tok, req[0], req[1], req[2]); a.status != 403 || !strings.Contains(a.raw, "rule deploy does not permit") {
			t.Errorf("%s %s through the gateway = %d %s, want 403 naming the rule", req[0], req[1], a.status, a.raw)
		}
	}
	if after := patCount(t, url, pat); after != before {
		t.Errorf("the real Takos has %d PATs, had %d", after, before)
	}
	// The job's token is nothing to Takos.
	if status, body := direct(t, "POST", url+"/api/me/personal-access-tokens", tok, `{"name":"x"}`); status != 401 {
		t.Errorf("the access token presented to Takos directly = %d %s, want 401", status, body)
	}
	if status, _ := direct(t, "GET", url+"/api/me/oauth/clients", tok, ""); status != 401 {
		t.Errorf("the access token listing clients at Takos directly = %d, want 401", status)
	}
	// Outside the route table, whatever the rule.
	for _, p := range []string{"/api/me", "/api/repos", "/api/spaces/me/members"} {
		if a := f.api(tok, "GET", p, ""); a.status != 403 {
			t.Errorf("GET %s = %d %s, want 403", p, a.status, a.raw)
		}
	}

	// What the rule permits works: an OAuth client and space env.
	name := "broker-real-" + time.Now().Format("150405.000000")
	created := f.api(tok, "POST", "/api/me/oauth/clients", `{"client_name":"`+name+`","redirect_uris":["https://demo.example.com/cb"],"scope":"openid"}`)
	id, _ := created.body["client_id"].(string)
	if created.status != 201 || id == "" || created.body["client_secret"] == nil {
		t.Fatalf("create through the gateway = %d %s", created.status, created.raw)
	}
	if a := f.api(tok, "PATCH", "/api/me/oauth/clients/"+id, `{"client_name":"`+name+`-2"}`); a.status != 200 || a.body["name"] != name+"-2" {
		t.Errorf("update through the gateway = %d %s", a.status, a.raw)
	}
	if a := f.api(tok, "DELETE", "/api/me/oauth/clients/"+id, ""); a.status != 200 {
		t.Errorf("revoke through the gateway = %d %s", a.status, a.raw)
	}
	me := f.api(tok, "GET", "/api/spaces/me", "")
	mine := nested(me.body, "space", "id")
	if me.status != 200 || mine == "" {
		t.Fatalf("GET /api/spaces/me = %d %s", me.status, me.raw)
	}
	// The same space by its id (GET /api/spaces/{space}), as Takos answers it.
	if a := f.api(tok, "GET", "/api/spaces/"+mine, ""); a.status != 200 || nested(a.body, "space", "id") != mine || a.body["role"] != "owner" {
		t.Errorf("GET /api/spaces/%s = %d %s, want 200 with the personal space and role owner", mine, a.status, a.raw)
	}
	const envName = "BROKER_REAL_TEST"
	if a := f.api(tok, "PUT", "/api/spaces/me/common-env", `{"name":"`+envName+`","value":"v1"}`); a.status != 200 {
		t.Errorf("PUT common-env = %d %s", a.status, a.raw)
	}
	if a := f.api(tok, "GET", "/api/spaces/me/common-env", ""); a.status != 200 || !strings.Contains(a.raw, envName) {
		t.Errorf("GET common-env = %d %s", a.status, a.raw)
	}
	if a := f.api(tok, "DELETE", "/api/spaces/me/common-env/"+envName, ""); a.status != 200 {
		t.Errorf("DELETE common-env = %d %s", a.status, a.raw)
	}

	// Another rule's token reaches only its capabilities and spaces.
	readOnly := f.exchange(func(c map[string]any) { c["repository_id"] = "777" })
	if a := f.api(readOnly, "GET", "/api/me/oauth/clients", ""); a.status != 200 {
		t.Errorf("list with clients:read = %d %s", a.status, a.raw)
	}
	for _, req := range [][3]string{
		{"POST", "/api/me/oauth/clients", `{"client_name":"x","redirect_uris":["https://x.example/cb"]}`},
		{"PUT", "/api/spaces/me/common-env", `{"name":"X","value":"y"}`},
	} {
		if a := f.api(readOnly, req[0], req[1], req[2]); a.status != 403 || !strings.Contains(a.raw, "rule read-clients does not permit") {
			t.Errorf("read-only %s %s = %d %s, want 403", req[0], req[1], a.status, a.raw)
		}
	}
	elsewhere := f.exchange(func(c map[string]any) { c["repository_id"] = "888" })
	if a := f.api(elsewhere, "PUT", "/api/spaces/me/common-env", `{"name":"X","value":"y"}`); a.status != 403 || !strings.Contains(a.raw, "does not permit space") {
		t.Errorf("another space's rule writing the personal space = %d %s, want 403", a.status, a.raw)
	}
	if a := f.api(elsewhere, "GET", "/api/spaces/"+mine, ""); a.status != 403 || !strings.Contains(a.raw, "does not permit space") {
		t.Errorf("another space's rule reading the personal space by id = %d %s, want 403", a.status, a.raw)
	}

	// Dead at its expiry (2m), and nothing reaches Takos then.
	clk.Add(2 * time.Minute)
	if a := f.api(tok, "GET", "/api/me/oauth/clients", ""); a.status != 401 || !strings.Contains(a.raw, "expired") {
		t.Errorf("after the ttl = %d %s, want 401 expired", a.status, a.raw)
	}
	if strings.Contains(audit.String(), pat) || strings.Contains(audit.String(), tok) {
		t.Error("the audit log holds a credential")
	}
}
