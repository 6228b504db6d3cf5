package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/realtakostest"
)

// TestRealTakosAutoEnv runs autoEnv against the real Takos control plane
// (tako0614/takos@7d63ea66 on loopback, ../shared/realtakos) and a worker
// deployed by its real group apply engine, served by its local dispatch
// server (workerd). Opt-in: TAKOS_REAL_COORDS names the coordinates file
// of start.sh and TAKOS_REAL_DISPATCH the dispatch.sh next to it; without
// them it skips. It proves, on the real server:
//
//   - takos-apply apply before the first deploy, then the app's first
//     group apply, gives a running worker that serves the client's id and
//     the secret the client was created with;
//   - a second apply is read-only;
//   - --rotate-secret keeps the worker working (its client stays active)
//     until a spec-changing deploy gives it the new client, after which an
//     apply revokes the old one.
//
// Requests go through a recording proxy, so the request counts of the
// note are the real server's.
func TestRealTakosAutoEnv(t *testing.T) {
	dispatchSh := os.Getenv("TAKOS_REAL_DISPATCH")
	if realtakostest.Path() == "" || dispatchSh == "" {
		t.Skip("set TAKOS_REAL_COORDS (realtakos start.sh's coordinates file) and TAKOS_REAL_DISPATCH (its dispatch.sh) to run against the real Takos")
	}
	coords := realtakostest.Coords(t, "URL", "DATA_DIR")
	pat := seedRealAccount(t, coords["DATA_DIR"])

	var mu sync.Mutex
	var log []string
	target, _ := url.Parse(coords["URL"])
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		log = append(log, r.Method+" "+shape(r.URL.Path))
		mu.Unlock()
		r.Host = target.Host
		r.URL.Scheme, r.URL.Host = target.Scheme, target.Host
		r.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	requests := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := log
		log = nil
		return out
	}

	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".takos"), 0o755)
	writeManifestText(t, dir, realManifest(""))
	env := map[string]string{"TAKOS_API_URL": proxy.URL, "TAKOS_TOKEN": pat, "HOME": dir, "GITHUB_ACTIONS": "true"}
	for k, f := range map[string]string{"GITHUB_OUTPUT": "output", "GITHUB_ENV": "env", "GITHUB_STEP_SUMMARY": "summary"} {
		env[k] = filepath.Join(dir, f)
		os.WriteFile(env[k], nil, 0o644)
	}
	app := &envApp{t: t, dir: dir, env: env}
	apply := func(args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		full := append([]string{"apply", "--provider", "local"}, args...)
		full = append(full, filepath.Join(dir, ".takos", "app.yml"))
		if code := Run(context.Background(), full, func(k string) string { return env[k] }, strings.NewReader(""), &stdout, &stderr); code != ExitOK {
			t.Fatalf("takos-apply %v = %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout.String(), stderr.String())
		}
		t.Logf("takos-apply %v:\n%s", args, stdout.String())
	}
	deploy := func(spec string) string {
		t.Helper()
		writeManifestText(t, dir, realManifest(spec))
		body := map[string]any{"group_name": "realdemo", "env": "staging", "provider": "local", "manifest": realManifestJSON(spec),
			"artifacts": map[string]any{"web": map[string]any{"kind": "worker_bundle", "bundleContent": realBundle, "deployMessage": "takos apply web"}}}
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, coords["URL"]+"/api/spaces/me/groups/apply", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+pat)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res struct {
			Applied []struct{ Name, Status, Error string }
			Skipped []string
		}
		json.NewDecoder(resp.Body).Decode(&res)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("group apply = %d", resp.StatusCode)
		}
		out, err := exec.Command(dispatchSh, "restart", realtakostest.Path()).Output()
		if err != nil {
			t.Fatalf("dispatch.sh restart: %v", err)
		}
		t.Cleanup(func() { exec.Command(dispatchSh, "stop", realtakostest.Path()).Run() })
		for _, line := range strings.Split(string(out), "\n") {
			if u, ok := strings.CutPrefix(line, "DISPATCH_URL="); ok {
				return u
			}
		}
		t.Fatalf("dispatch.sh printed no DISPATCH_URL: %q", out)
		return ""
	}
	serve := func(dispatch, hostname string) (id, secret string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, dispatch+"/", nil)
		req.Host = hostname
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got struct{ ID, Secret string }
		if err := json.NewDecoder(resp.Body).Decode(&got); err != nil || resp.StatusCode != 200 {
			t.Fatalf("worker %s answered %d: %v", hostname, resp.StatusCode, err)
		}
		return got.ID, got.Secret
	}
	// introspect is the real server's check of a client secret: 200 for a
	// valid active client id and secret, 401 otherwise.
	introspect := func(id, secret string) int {
		form := url.Values{"token": {"x"}, "client_id": {id}, "client_secret": {secret}}
		req, _ := http.NewRequest(http.MethodPost, coords["URL"]+"/oauth/introspect", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("CF-Connecting-IP", "10.9."+strconv.Itoa(int(time.Now().UnixNano()%200))+".1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	// 1. takos-apply before the first deploy, then the first deploy.
	requests()
	apply()
	first := requests()
	out := app.outputs()
	id1, secret1 := out["client-id"], out["client-secret"]
	if id1 == "" || secret1 == "" || out["rollout"] != "not-deployed" {
		t.Fatalf("outputs after the first apply: client-id %q, a secret: %v, rollout %q", id1, secret1 != "", out["rollout"])
	}
	hostname := workerHostname(t, coords["URL"], pat)
	dispatch := deploy("v1")
	if id, secret := serve(dispatch, hostname); id != id1 || secret != secret1 {
		t.Fatalf("the first deploy's worker serves client %q (secret matches: %v), want %s and its secret", id, secret == secret1, id1)
	}

	// 2. A second apply reads only.
	apply()
	noop := requests()
	for _, r := range noop {
		if !strings.HasPrefix(r, "GET ") {
			t.Errorf("no-op apply sent %s", r)
		}
	}
	if app.outputs()["rollout"] != "current" {
		t.Errorf("rollout = %q, want current", app.outputs()["rollout"])
	}
	t.Logf("real server: first apply %d requests %v; no-op apply %d requests %v", len(first), first, len(noop), noop)

	// 3. Rotation: the running worker keeps working until it is redeployed.
	apply("--rotate-secret")
	out = app.outputs()
	id2, secret2 := out["client-id"], out["client-secret"]
	if id2 == id1 || out["rollout"] != "pending-redeploy" {
		t.Fatalf("after the rotation: client %s, rollout %q", id2, out["rollout"])
	}
	if id, _ := serve(dispatch, hostname); id != id1 || introspect(id1, secret1) != http.StatusOK {
		t.Errorf("during the rotation the worker serves %s; the old client's secret checks %d, want 200", id, introspect(id1, secret1))
	}
	dispatch = deploy("v1") // unchanged spec: skipped, still the old client
	apply()
	if id, secret := serve(dispatch, hostname); id != id1 || secret != secret1 || introspect(id1, secret1) != http.StatusOK {
		t.Errorf("after a deploy of an unchanged spec the worker serves %s; the old client's secret checks %d; want %s, still valid", id, introspect(id1, secret1), id1)
	}
	dispatch = deploy("v2") // spec change: the worker gets the new client
	if id, secret := serve(dispatch, hostname); id != id2 || secret != secret2 {
		t.Fatalf("after the redeploy the worker serves %s, want %s", id, id2)
	}
	apply()
	if introspect(id1, secret1) != http.StatusUnauthorized || introspect(id2, secret2) != http.StatusOK {
		t.Errorf("after the worker runs the new client: old checks %d (want 401), new %d (want 200)", introspect(id1, secret1), introspect(id2, secret2))
	}
}

const realBundle = `export default { async fetch(req, env) { return new Response(JSON.stringify({id: env.OAUTH_CLIENT_ID ?? "", secret: env.OAUTH_CLIENT_SECRET ?? ""}), {headers: {"content-type": "application/json"}}); } };`

// realManifest is the app's manifest; spec changes the worker's spec (its
// env), which makes the engine redeploy it.
func realManifest(spec string) string {
	env := ""
	if spec != "" {
		env = "\n      env: {SPEC: " + spec + "}"
	}
	return `apiVersion: takos.dev/v1alpha1
kind: App
metadata:
  name: realdemo
spec:
  version: 1.0.0
  workers:
    web:
      build:
        fromWorkflow: {path: .takos/workflows/deploy.yml, job: build, artifact: web, artifactPath: dist/web.js}` + env + `
  oauth:
    clientName: Real Demo
    redirectUris: [https://realdemo.example.com/cb]
    scopes: [openid, profile]
    autoEnv: true
`
}

func realManifestJSON(spec string) map[string]any {
	web := map[string]any{"build": map[string]any{"fromWorkflow": map[string]any{
		"path": ".takos/workflows/deploy.yml", "job": "build", "artifact": "web", "artifactPath": "dist/web.js"}}}
	if spec != "" {
		web["env"] = map[string]any{"SPEC": spec}
	}
	return map[string]any{"apiVersion": "takos.dev/v1alpha1", "kind": "App", "metadata": map[string]any{"name": "realdemo"},
		"spec": map[string]any{"version": "1.0.0", "workers": map[string]any{"web": web},
			"oauth": map[string]any{"clientName": "Real Demo", "redirectUris": []string{"https://realdemo.example.com/cb"}, "scopes": []string{"openid", "profile"}, "autoEnv": true}}}
}

// workerHostname is the hostname of the service takos-apply created for
// worker web.
func workerHostname(t *testing.T, base, pat string) string {
	t.Helper()
	get := func(path string, v any) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+pat)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(v)
	}
	var groups struct{ Groups []struct{ ID, Name string } }
	get("/api/spaces/me/groups", &groups)
	for _, g := range groups.Groups {
		if g.Name == "realdemo" {
			var svc struct{ Services []struct{ Hostname string } }
			get("/api/spaces/me/groups/"+g.ID+"/services", &svc)
			if len(svc.Services) == 1 {
				return svc.Services[0].Hostname
			}
		}
	}
	t.Fatal("no service for worker web in group realdemo")
	return ""
}

// seedRealAccount adds a fresh account and PAT to the real server's
// database, exactly as realtakos/start.sh seeds its owner, so each run
// starts from an empty personal space.
func seedRealAccount(t *testing.T, dataDir string) string {
	t.Helper()
	const script = `
import base64, datetime, hashlib, secrets, sqlite3, sys
db = sqlite3.connect(sys.argv[1]); acct = sys.argv[2]
now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'
db.execute("INSERT INTO accounts (id, type, status, name, slug, email, setup_completed, created_at, updated_at) VALUES (?, 'user', 'active', ?, ?, NULL, 1, ?, ?)", (acct, acct, acct.replace('_', '-'), now, now))
token = 'tak_pat_' + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b'=').decode()
db.execute("INSERT INTO personal_access_tokens (id, account_id, name, token_hash, token_prefix, scopes, created_at) VALUES (?, ?, 'autoenv', ?, ?, '*', ?)", (secrets.token_hex(16), acct, hashlib.sha256(token.encode()).hexdigest(), token[:12], now))
db.commit()
print(token)
`
	acct := fmt.Sprintf("ae_%s", strconv.FormatInt(time.Now().UnixNano(), 36))
	out, err := exec.Command("python3", "-c", script, filepath.Join(dataDir, "db", "control.sqlite"), acct).Output()
	if err != nil {
		t.Fatalf("seeding an account (needs python3): %v", err)
	}
	return strings.TrimSpace(string(out))
}
