package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/takos-dev/takos-apply/internal/appenv"
	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/export/exporttest"
	"github.com/takos-dev/takos-apply/internal/reconcile"
)

// autoEnvManifest has two workers and a container; autoEnv is filled in.
const autoEnvManifest = `apiVersion: takos.dev/v1alpha1
kind: App
metadata:
  name: %s
spec:
  version: 1.0.0
  workers:
    web:
      build:
        fromWorkflow: {path: .takos/workflows/deploy.yml, job: build, artifact: web, artifactPath: dist/web.js}
    api:
      build:
        fromWorkflow: {path: .takos/workflows/deploy.yml, job: build, artifact: api, artifactPath: dist/api.js}
  containers:
    db:
      imageRef: ghcr.io/example/db@sha256:0000000000000000000000000000000000000000000000000000000000000000
      port: 5432
  oauth:
    clientName: %s
    redirectUris: [https://%s.example.com/cb]
    scopes: [openid, profile]
    autoEnv: %s
`

// me is the personal space of devserver.DefaultOwner.
const me = devserver.DefaultOwner

// envApp is one app's checkout run as GitHub Actions steps (or, with
// terminal, in a terminal whose stderr is redirected) against cp.
type envApp struct {
	t        *testing.T
	cp       *devserver.Server
	dir      string
	env      map[string]string
	code     int
	stdout   string
	stderr   string
	reqsFrom int // index of the last run's first request
}

func newEnvApp(t *testing.T, cp *devserver.Server, group, client, autoEnv string, actions bool) *envApp {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ".takos"), 0o755); err != nil {
		t.Fatal(err)
	}
	m := fmt.Sprintf(autoEnvManifest, group, client, group, autoEnv)
	if err := os.WriteFile(filepath.Join(dir, ".takos", "app.yml"), []byte(m), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TAKOS_API_URL": cp.URL, "TAKOS_TOKEN": cp.Token, "HOME": dir}
	if actions {
		for k, f := range map[string]string{"GITHUB_OUTPUT": "output", "GITHUB_ENV": "env", "GITHUB_STEP_SUMMARY": "summary"} {
			env[k] = filepath.Join(dir, f)
			if err := os.WriteFile(env[k], nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		env["GITHUB_ACTIONS"] = "true"
	}
	return &envApp{t: t, cp: cp, dir: dir, env: env}
}

func (a *envApp) run(args ...string) int {
	a.t.Helper()
	var stdout, stderr bytes.Buffer
	a.reqsFrom = len(a.cp.Requests())
	full := append(slices.Clone(args[:1]), "--timeout", "2s", "--provider", "local")
	full = append(full, args[1:]...)
	full = append(full, filepath.Join(a.dir, ".takos", "app.yml"))
	a.code = Run(context.Background(), full, func(k string) string { return a.env[k] }, strings.NewReader(""), &stdout, &stderr)
	a.stdout, a.stderr = stdout.String(), stderr.String()
	return a.code
}

func (a *envApp) mustRun(args ...string) {
	a.t.Helper()
	if code := a.run(args...); code != ExitOK {
		a.t.Fatalf("%v = %d\nstdout:\n%s\nstderr:\n%s", args, code, a.stdout, a.stderr)
	}
}

// requests are the last run's requests as "METHOD /path" with ids
// replaced by their kind, for comparing sequences.
func (a *envApp) requests() []string {
	var out []string
	for _, r := range a.cp.Requests()[a.reqsFrom:] {
		out = append(out, r.Method+" "+shape(r.Path))
	}
	return out
}

func (a *envApp) writes() []string {
	var out []string
	for _, r := range a.requests() {
		if !strings.HasPrefix(r, "GET ") {
			out = append(out, r)
		}
	}
	return out
}

// shape replaces the ids in a path by {id}, so sequences compare.
func shape(p string) string {
	seg := strings.Split(p, "/")
	for i := range seg {
		if i > 0 && (seg[i-1] == "spaces" && seg[i] != "me" || seg[i-1] == "groups" || seg[i-1] == "services" && seg[i] != "" ||
			seg[i-1] == "deployments" || seg[i-1] == "clients") {
			seg[i] = "{id}"
		}
	}
	return strings.Join(seg, "/")
}

// outputs are the step outputs, last value per name, client ids and
// secrets as they are.
func (a *envApp) outputs() map[string]string {
	a.t.Helper()
	b, _ := os.ReadFile(a.env["GITHUB_OUTPUT"])
	recs, err := exporttest.ParseFileCommands(string(b))
	if err != nil {
		a.t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range recs {
		out[r.Name] = r.Value
	}
	return out
}

func activeClients(cp *devserver.Server, name string) []devserver.StoredClient {
	var out []devserver.StoredClient
	for _, c := range cp.Clients() {
		if c.Status == "active" && c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

func spaceEnv(cp *devserver.Server, space string) map[string]devserver.EnvVar {
	out := map[string]devserver.EnvVar{}
	for _, e := range cp.SpaceEnv(space) {
		out[e.Name] = e
	}
	return out
}

// running returns, per worker of the deploy, the credentials its running
// deployment snapshotted: the id and the secret.
func running(t *testing.T, cp *devserver.Server, res []devserver.DeployResult) map[string][2]string {
	t.Helper()
	out := map[string][2]string{}
	for _, r := range res {
		if r.Kind != "worker" {
			continue
		}
		var id, secret string
		for _, d := range cp.Deployments(r.ServiceID) {
			if d.RoutingStatus != "active" {
				continue
			}
			for _, b := range d.Bindings {
				switch b.Name {
				case appenv.BaseID:
					id = b.Text
				case appenv.BaseSecret:
					secret = b.Text
				}
			}
		}
		out[r.Name] = [2]string{id, secret}
	}
	return out
}

// deploy is the app's takos apply (the group apply engine) with the
// workers' spec fingerprint spec.
func deploy(t *testing.T, cp *devserver.Server, spec string) []devserver.DeployResult {
	t.Helper()
	res, err := cp.DeployGroup(me, "demo", devserver.DeployOptions{Env: "staging", Provider: "local",
		Workers: map[string]string{"web": spec, "api": spec}, Containers: map[string]string{"db": spec}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// workingCredentials asserts that every worker runs an active client with
// the secret it was created with.
func workingCredentials(t *testing.T, cp *devserver.Server, res []devserver.DeployResult) map[string][2]string {
	t.Helper()
	run := running(t, cp, res)
	for w, cred := range run {
		c, ok := cp.Client(cred[0])
		if !ok || c.Status != "active" || !cp.SecretMatches(cred[0], cred[1]) {
			t.Errorf("worker %s runs client %q (found %v, status %q) with a secret that matches: %v; want an active client and its secret",
				w, cred[0], ok, c.Status, cp.SecretMatches(cred[0], cred[1]))
		}
	}
	return run
}

// TestAutoEnvFirstDeployThenNoOp: the first apply stores the credentials,
// creates the group and the workers' services in the shape the engine
// adopts and links them, so the first deploy already serves the client's
// id and secret; a second apply only reads.
func TestAutoEnvFirstDeployThenNoOp(t *testing.T) {
	cp := devservertest.New(t)
	app := newEnvApp(t, cp, "demo", "Demo", "true", true)
	app.mustRun("apply")
	first := app.requests()

	clients := activeClients(cp, "Demo")
	if len(clients) != 1 {
		t.Fatalf("%d active clients", len(clients))
	}
	id := clients[0].ClientID
	env := spaceEnv(cp, me)
	if e := env[appenv.BaseID]; e.Value != id || e.Secret {
		t.Errorf("space %s = %+v, want %s in clear", appenv.BaseID, e, id)
	}
	if e := env[appenv.BaseSecret]; !e.Secret || !cp.SecretMatches(id, e.Value) {
		t.Errorf("space %s = secret %v, matches the client: %v", appenv.BaseSecret, e.Secret, cp.SecretMatches(id, e.Value))
	}
	groups := cp.Groups(me)
	if len(groups) != 1 || groups[0].Name != "demo" || *groups[0].Provider != "local" || *groups[0].Env != "staging" {
		t.Fatalf("groups = %+v, want demo with provider local, env staging", groups)
	}
	services := cp.Services(me)
	if len(services) != 2 {
		t.Fatalf("services = %+v, want one per worker (none for the container)", services)
	}
	for _, s := range services {
		var cfg map[string]string
		_ = json.Unmarshal([]byte(s.Config), &cfg)
		want := devserver.ManagedSlug(groups[0].ID, "staging", "worker", cfg["manifestName"])
		if cfg["managedBy"] != "group" || cfg["componentKind"] != "worker" || s.Slug != want || s.GroupID != groups[0].ID {
			t.Errorf("service %+v, config %v: want the engine's shape and slug %s", s, cfg, want)
		}
		if got := cp.Links(s.ID); !cmp.Equal(got, []devserver.Link{{Name: appenv.BaseID, Source: "manual"}, {Name: appenv.BaseSecret, Source: "manual"}}) {
			t.Errorf("links of %s = %v", s.Slug, got)
		}
	}
	out := app.outputs()
	if out["space-id"] != me || out["rollout"] != "not-deployed" || out["client-id"] != id {
		t.Errorf("outputs = %v", out)
	}
	for _, want := range []string{"Takos space acct_owner holds OAUTH_CLIENT_ID = " + id, "worker api: created service", "linked OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET; not deployed",
		"container db: receive nothing"} {
		if !strings.Contains(app.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, app.stdout)
		}
	}

	// The app's first deploy adopts those services: its workers serve the
	// client's id and secret at once. The container gets nothing.
	res := deploy(t, cp, "v1")
	for _, r := range res {
		if r.Kind == "worker" && !slices.ContainsFunc(services, func(s devserver.Service) bool { return s.ID == r.ServiceID }) {
			t.Errorf("deploy created service %s for %s instead of adopting the one takos-apply made", r.ServiceID, r.Name)
		}
	}
	run := workingCredentials(t, cp, res)
	if run["web"][0] != id || run["api"][0] != id {
		t.Errorf("running credentials = %v, want client %s", run, id)
	}

	// A second apply only reads.
	app.mustRun("apply")
	if w := app.writes(); len(w) != 0 {
		t.Errorf("no-op apply wrote %v", w)
	}
	noop := app.requests()
	if out := app.outputs(); out["rollout"] != "current" || out["action"] != "unchanged" {
		t.Errorf("outputs = %v", out)
	}
	wantNoop := []string{
		"GET /.well-known/oauth-authorization-server",
		"GET /api/me/oauth/clients",
		"GET /api/spaces/me",
		"GET /api/spaces/{id}/common-env",
		"GET /api/spaces/{id}/groups",
		"GET /api/spaces/{id}/groups/{id}/services",
		"GET /api/services/{id}/common-env-links",
		"GET /api/services/{id}/deployments/{id}",
		"GET /api/services/{id}/common-env-links",
		"GET /api/services/{id}/deployments/{id}",
	}
	if diff := cmp.Diff(wantNoop, noop); diff != "" {
		t.Errorf("no-op apply requests (-want +got):\n%s", diff)
	}
	wantFirst := []string{
		"GET /.well-known/oauth-authorization-server",
		"GET /api/me/oauth/clients",
		"GET /api/spaces/me",
		"GET /api/spaces/{id}/common-env",
		"GET /api/spaces/{id}/groups",
		"GET /api/me/oauth/clients",
		"POST /api/me/oauth/clients",
		"PUT /api/spaces/{id}/common-env",
		"PUT /api/spaces/{id}/common-env",
		"GET /api/me/oauth/clients",
		"GET /api/me/oauth/clients",
		"POST /api/spaces/{id}/groups",
		"POST /api/services",
		"PATCH /api/services/{id}/common-env-links",
		"POST /api/services",
		"PATCH /api/services/{id}/common-env-links",
	}
	if diff := cmp.Diff(wantFirst, first); diff != "" {
		t.Errorf("first apply requests (-want +got):\n%s", diff)
	}
	writes := 0
	for _, r := range first {
		if !strings.HasPrefix(r, "GET ") {
			writes++
		}
	}
	t.Logf("requests with two workers: first apply %d (%d writes), no-op apply %d (0 writes)", len(first), writes, len(noop))
}

// TestAutoEnvRotation: --rotate-secret keeps the workers working
// throughout; the old client retires until every worker runs the new
// one, and a later apply revokes it.
func TestAutoEnvRotation(t *testing.T) {
	cp := devservertest.New(t)
	app := newEnvApp(t, cp, "demo", "Demo", "true", true)
	app.mustRun("apply")
	res := deploy(t, cp, "v1")
	oldID := workingCredentials(t, cp, res)["web"][0]

	app.mustRun("apply", "--rotate-secret")
	act := activeClients(cp, "Demo")
	if len(act) != 2 {
		t.Fatalf("after the rotation %d active clients named Demo, want the new and the retiring one", len(act))
	}
	newID := app.outputs()["client-id"]
	old, _ := cp.Client(oldID)
	if old.ClientURI == nil || *old.ClientURI != reconcile.RetiringURI(newID) {
		t.Errorf("old client's client_uri = %v, want the retiring mark", old.ClientURI)
	}
	if e := spaceEnv(cp, me); e[appenv.BaseID].Value != newID || !cp.SecretMatches(newID, e[appenv.BaseSecret].Value) {
		t.Errorf("space holds %s, want the new client %s and its secret", e[appenv.BaseID].Value, newID)
	}
	if out := app.outputs(); out["rollout"] != "pending-redeploy" || out["action"] != "rotated" {
		t.Errorf("outputs = %v", out)
	}
	if !strings.Contains(app.stdout, "retiring client "+oldID+" stays active until workers api, web run "+newID) {
		t.Errorf("stdout does not say what the old client waits for:\n%s", app.stdout)
	}
	workingCredentials(t, cp, res) // still the old client, still active

	// The plan shows the retiring client and what it waits for; a second
	// apply (unchanged) keeps it: the workers still run it.
	app.mustRun("plan")
	if !strings.Contains(app.stdout, "retiring client "+oldID+" (replaced by "+newID+"): kept until workers api, web run "+newID) {
		t.Errorf("plan:\n%s", app.stdout)
	}
	app.mustRun("apply")
	if w := app.writes(); len(w) != 0 {
		t.Errorf("apply while the workers run the old client wrote %v", w)
	}
	// A deploy with an unchanged spec is skipped: still the old client.
	res = deploy(t, cp, "v1")
	workingCredentials(t, cp, res)
	app.mustRun("apply")
	if c, _ := cp.Client(oldID); c.Status != "active" {
		t.Fatalf("old client revoked while the workers run it")
	}
	// A spec-changing deploy gives them the new one; the next apply
	// revokes the old.
	res = deploy(t, cp, "v2")
	if run := workingCredentials(t, cp, res); run["web"][0] != newID || run["api"][0] != newID {
		t.Errorf("after the redeploy the workers run %v, want %s", run, newID)
	}
	if code := app.run("plan", "--detailed-exitcode"); code != ExitChanges || !strings.Contains(app.stdout, "retiring client "+oldID+" (replaced by "+newID+"): revoke") {
		t.Errorf("plan --detailed-exitcode = %d, want %d with the revocation planned:\n%s", code, ExitChanges, app.stdout)
	}
	app.mustRun("apply")
	if c, _ := cp.Client(oldID); c.Status != "revoked" {
		t.Errorf("old client %s is %s after every worker runs the new one, want revoked", oldID, c.Status)
	}
	if w := app.writes(); !cmp.Equal(w, []string{"DELETE /api/me/oauth/clients/{id}"}) {
		t.Errorf("writes = %v, want the one revocation", w)
	}
	if !strings.Contains(app.stdout, "revoked retiring client "+oldID) || app.outputs()["rollout"] != "current" {
		t.Errorf("stdout:\n%s\noutputs %v", app.stdout, app.outputs())
	}
	if got := activeClients(cp, "Demo"); len(got) != 1 || got[0].ClientID != newID {
		t.Errorf("active clients = %v", got)
	}
}

// TestAutoEnvFalseStoresOnly: autoEnv: false stores the credentials and
// links nothing.
func TestAutoEnvFalseStoresOnly(t *testing.T) {
	cp := devservertest.New(t)
	app := newEnvApp(t, cp, "demo", "Demo", "false", true)
	app.mustRun("apply")
	id := app.outputs()["client-id"]
	if e := spaceEnv(cp, me); e[appenv.BaseID].Value != id || !cp.SecretMatches(id, e[appenv.BaseSecret].Value) {
		t.Errorf("space env = %v", e)
	}
	if g, s := cp.Groups(me), cp.Services(me); len(g) != 0 || len(s) != 0 {
		t.Errorf("autoEnv false created groups %v and services %v", g, s)
	}
	if out := app.outputs(); out["rollout"] != "not-linked" || out["space-id"] != me {
		t.Errorf("outputs = %v", out)
	}
	if !strings.Contains(app.stdout, "autoEnv is false: nothing linked") {
		t.Errorf("stdout:\n%s", app.stdout)
	}
}

func readManifest(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ".takos", "app.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeManifestText(t *testing.T, dir, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, ".takos", "app.yml"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
