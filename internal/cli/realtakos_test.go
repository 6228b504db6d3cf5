package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/auth/authtest"
	"github.com/takos-dev/takos-apply/internal/broker"
	"github.com/takos-dev/takos-apply/internal/realtakostest"
)

// TestRealTakosApplyThroughBroker runs apply as a GitHub Actions step with
// no Takos secret against the real control plane (tako0614/takos@7d63ea66
// on loopback, opt-in: TAKOS_REAL_COORDS names the coordinates file
// ../shared/realtakos/start.sh writes), with the broker as its control
// plane: the first run creates the client, a changed manifest updates it in
// place, and no PAT is ever made for the job.
func TestRealTakosApplyThroughBroker(t *testing.T) {
	coords := realtakostest.Coords(t, "URL", "PAT")
	takos, pat := coords["URL"], coords["PAT"]

	gh := authtest.NewGitHubOIDC(t)
	policy, diags, err := broker.LoadPolicy("policy.yml", []byte("version: 1\nrules:\n  - name: main\n    match: {repository_id: \"123456789\", ref: refs/heads/main}\n"))
	if policy == nil {
		t.Fatal(diags, err)
	}
	ts := httptest.NewUnstartedServer(nil)
	brokerURL := "http://" + ts.Listener.Addr().String()
	bk, err := broker.New(broker.Config{URL: brokerURL, Issuers: []string{gh.Issuer}, Policy: policy, ControlPlaneURL: takos, Token: pat})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = bk.Handler()
	ts.Start()
	t.Cleanup(ts.Close)

	stamp := time.Now().Format("150405000000")
	name := "Broker Real " + stamp
	dir := t.TempDir()
	manifest := func(redirect string) {
		src := "apiVersion: takos.dev/v1alpha1\nkind: App\nmetadata:\n  name: broker-real\nspec:\n  version: 1.0.0\n  oauth:\n    clientName: " + name +
			"\n    redirectUris:\n      - " + redirect + "\n    scopes: [openid, profile]\n"
		os.MkdirAll(filepath.Join(dir, ".takos"), 0o755)
		if err := os.WriteFile(filepath.Join(dir, ".takos", "app.yml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{
		"GITHUB_ACTIONS":                 "true",
		"GITHUB_OUTPUT":                  filepath.Join(dir, "output"),
		"GITHUB_STEP_SUMMARY":            filepath.Join(dir, "summary"),
		"TAKOS_API_URL":                  brokerURL,
		"ACTIONS_ID_TOKEN_REQUEST_URL":   gh.RequestURL,
		"ACTIONS_ID_TOKEN_REQUEST_TOKEN": gh.RequestToken,
		"HOME":                           dir,
	}
	os.WriteFile(env["GITHUB_OUTPUT"], nil, 0o644)
	os.WriteFile(env["GITHUB_STEP_SUMMARY"], nil, 0o644)
	apply := func() string {
		var stdout, stderr bytes.Buffer
		code := Run(context.Background(), []string{"apply", "--auth", "github-oidc", filepath.Join(dir, ".takos", "app.yml")},
			func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr)
		if code != ExitOK {
			t.Fatalf("apply = %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
		}
		if strings.Contains(stdout.String()+stderr.String(), pat) {
			t.Fatal("the broker's credential reached the job's output")
		}
		return stdout.String()
	}
	clients := func() []map[string]any {
		req, _ := http.NewRequest("GET", takos+"/api/me/oauth/clients", nil)
		req.Header.Set("Authorization", "Bearer "+pat)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var w struct {
			Clients []map[string]any `json:"clients"`
		}
		json.NewDecoder(resp.Body).Decode(&w)
		var mine []map[string]any
		for _, c := range w.Clients {
			if c["name"] == name && c["status"] == "active" {
				mine = append(mine, c)
			}
		}
		return mine
	}
	pats := func() int {
		req, _ := http.NewRequest("GET", takos+"/api/me/personal-access-tokens", nil)
		req.Header.Set("Authorization", "Bearer "+pat)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var w struct {
			Tokens []json.RawMessage `json:"tokens"`
		}
		json.NewDecoder(resp.Body).Decode(&w)
		return len(w.Tokens)
	}
	patsBefore := pats()

	// Redirect URIs unique to this run: a client of an earlier run with the
	// same ones would be taken for a rename.
	host := "https://broker-real-" + stamp + ".example.com"
	manifest(host + "/cb")
	if out := apply(); !strings.Contains(out, "created") {
		t.Errorf("first apply did not create:\n%s", out)
	}
	first := clients()
	if len(first) != 1 {
		t.Fatalf("real Takos has %d active clients named %q, want 1", len(first), name)
	}
	manifest(host + "/callback")
	if out := apply(); !strings.Contains(out, "updated") {
		t.Errorf("second apply did not update:\n%s", out)
	}
	second := clients()
	if len(second) != 1 || second[0]["client_id"] != first[0]["client_id"] {
		t.Fatalf("after the update: %v, want the same client", second)
	}
	if uris, _ := second[0]["redirect_uris"].([]any); len(uris) != 1 || uris[0] != host+"/callback" {
		t.Errorf("redirect_uris = %v, want the new one", second[0]["redirect_uris"])
	}
	if out := apply(); !strings.Contains(out, "unchanged") {
		t.Errorf("third apply is not a no-op:\n%s", out)
	}
	// Leave the real server as found: the client is revoked.
	req, _ := http.NewRequest("DELETE", takos+"/api/me/oauth/clients/"+second[0]["client_id"].(string), nil)
	req.Header.Set("Authorization", "Bearer "+pat)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	if n := pats(); n != patsBefore {
		t.Errorf("the real Takos has %d PATs, had %d: a job credential was made", n, patsBefore)
	}
}
