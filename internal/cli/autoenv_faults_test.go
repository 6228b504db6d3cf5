package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/appenv"
	"github.com/takos-dev/takos-apply/internal/auth/authtest"
	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
)

// TestAutoEnvControlPlaneFailsBeforeTheEnvWrite: the client is created,
// then every PUT of the space's env fails. The space does not hold the
// secret, so the client is revoked and the secret withdrawn from the
// step outputs; the next run starts clean.
func TestAutoEnvControlPlaneFailsBeforeTheEnvWrite(t *testing.T) {
	cp := devservertest.New(t)
	app := newEnvApp(t, cp, "demo", "Demo", "true", true)
	// 5 failures: every attempt of the first PUT (httpx's MaxAttempts).
	cp.Inject(devserver.Fault{Method: "PUT", Path: "/api/spaces/", Kind: devserver.StatusBeforeAct, Status: 503, Times: 5})
	if code := app.run("apply"); code != ExitFailure {
		t.Fatalf("apply = %d, want %d\n%s", code, ExitFailure, app.stderr)
	}
	if !strings.Contains(app.stderr, "storing the secret in Takos space acct_owner") || !strings.Contains(app.stderr, "was revoked and nothing changed") {
		t.Errorf("stderr:\n%s", app.stderr)
	}
	if n := len(activeClients(cp, "Demo")); n != 0 {
		t.Errorf("%d active clients after the failed env write, want 0 (its secret would be nowhere the app can read)", n)
	}
	if out := app.outputs(); out["client-secret"] != "" {
		t.Errorf("the dead secret is still in the step outputs")
	}
	for _, s := range cp.IssuedSecrets() {
		if strings.Contains(app.stdout+app.stderr, s) && !strings.Contains(app.stdout, "::add-mask::"+s) {
			t.Errorf("secret printed unmasked")
		}
	}
	if g := cp.Groups(me); len(g) != 0 {
		t.Errorf("groups %v created after the failure", g)
	}
	// The control plane is back: the next run creates a client and
	// completes everything.
	app.mustRun("apply")
	act := activeClients(cp, "Demo")
	if len(act) != 1 || !cp.SecretMatches(act[0].ClientID, spaceEnv(cp, me)[appenv.BaseSecret].Value) {
		t.Errorf("after recovery: %d active clients, the space holds the secret of the active one: %v", len(act), len(act) == 1 && cp.SecretMatches(act[0].ClientID, spaceEnv(cp, me)[appenv.BaseSecret].Value))
	}
}

// TestAutoEnvControlPlaneFailsBeforeTheLinks: the credentials are stored,
// then creating the group fails. The secret is in the space and the step
// outputs, the run says so, and the next run completes the links without
// issuing a secret.
func TestAutoEnvControlPlaneFailsBeforeTheLinks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault devserver.Fault
	}{
		{"group create fails", devserver.Fault{Method: "POST", Path: "/api/spaces/", Kind: devserver.StatusBeforeAct, Status: 503}},
		{"links fail", devserver.Fault{Method: "PATCH", Path: "/api/services/", Kind: devserver.StatusBeforeAct, Status: 503, Times: 5}},
		{"connection reset on the service create", devserver.Fault{Method: "POST", Path: "/api/services", Kind: devserver.ResetBeforeAct}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp := devservertest.New(t)
			app := newEnvApp(t, cp, "demo", "Demo", "true", true)
			cp.Inject(tc.fault)
			if code := app.run("apply"); code != ExitFailure {
				t.Fatalf("apply = %d\n%s", code, app.stderr)
			}
			if !strings.Contains(app.stderr, "OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET are stored in space acct_owner, but linking them to the app's workers failed; re-run takos-apply, which completes the links") {
				t.Errorf("stderr:\n%s", app.stderr)
			}
			act := activeClients(cp, "Demo")
			out := app.outputs()
			if len(act) != 1 || out["client-id"] != act[0].ClientID || !cp.SecretMatches(act[0].ClientID, out["client-secret"]) ||
				!cp.SecretMatches(act[0].ClientID, spaceEnv(cp, me)[appenv.BaseSecret].Value) {
				t.Fatalf("the secret is not in both the space and the step outputs (outputs %v)", out)
			}
			if out["rollout"] != "incomplete" {
				t.Errorf("rollout = %q, want incomplete", out["rollout"])
			}
			// The client is unchanged, the links are not: changes pending.
			if code := app.run("plan", "--detailed-exitcode"); code != ExitChanges {
				t.Errorf("plan --detailed-exitcode = %d, want %d (links to add)", code, ExitChanges)
			}
			app.mustRun("apply")
			if w := app.writes(); len(w) == 0 || strings.Contains(strings.Join(w, " "), "oauth/clients") {
				t.Errorf("the next run wrote %v; want the missing group, services or links and nothing on the client", w)
			}
			if out := app.outputs(); out["action"] != "unchanged" || out["changed"] != "true" || out["rollout"] != "not-deployed" {
				t.Errorf("outputs %v: want the client unchanged and changed=true (links added)", out)
			}
			if code := app.run("plan", "--detailed-exitcode"); code != ExitOK {
				t.Errorf("plan --detailed-exitcode after the links = %d, want 0", code)
			}
			if n := len(cp.IssuedSecrets()); n != 1 {
				t.Errorf("%d secrets issued, want 1: the next run completes the links with the stored one", n)
			}
			for _, s := range cp.Services(me) {
				if len(cp.Links(s.ID)) != 2 {
					t.Errorf("service %s has links %v", s.Slug, cp.Links(s.ID))
				}
			}
			if n := len(cp.Services(me)); n != 2 {
				t.Errorf("%d services, want one per worker (an uncertain create is settled by listing, not repeated)", n)
			}
		})
	}
}

// TestAutoEnvSecondAppInTheSameSpace: a second app refuses to take the
// first app's names before it writes anything, and works with its own
// prefix.
func TestAutoEnvSecondAppInTheSameSpace(t *testing.T) {
	cp := devservertest.New(t)
	a := newEnvApp(t, cp, "demo", "Demo", "true", true)
	a.mustRun("apply")
	aID := a.outputs()["client-id"]
	b := newEnvApp(t, cp, "other", "Other", "true", true)
	if code := b.run("apply"); code != ExitFailure {
		t.Fatalf("second app apply = %d, want %d", code, ExitFailure)
	}
	for _, want := range []string{`the active client of app "Demo"`, `app "Other" cannot use the same name`, "--env-prefix PREFIX", "revoke client " + aID} {
		if !strings.Contains(b.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, b.stderr)
		}
	}
	if w := b.writes(); len(w) != 0 {
		t.Errorf("the refused run wrote %v", w)
	}
	if n := len(cp.Clients()); n != 1 {
		t.Errorf("%d clients, want only app A's", n)
	}
	b.mustRun("apply", "--env-prefix", "other")
	bID := b.outputs()["client-id"]
	env := spaceEnv(cp, me)
	if env["OTHER_OAUTH_CLIENT_ID"].Value != bID || !cp.SecretMatches(bID, env["OTHER_OAUTH_CLIENT_SECRET"].Value) ||
		env[appenv.BaseID].Value != aID || !cp.SecretMatches(aID, env[appenv.BaseSecret].Value) {
		t.Errorf("space env after both apps: %v", env)
	}
	for _, s := range cp.Services(me) {
		names := map[string]bool{}
		for _, l := range cp.Links(s.ID) {
			names[l.Name] = true
		}
		var g devserver.Group
		for _, c := range cp.Groups(me) {
			if c.ID == s.GroupID {
				g = c
			}
		}
		wantPrefixed := g.Name == "other"
		if names["OTHER_OAUTH_CLIENT_ID"] != wantPrefixed || names[appenv.BaseID] == wantPrefixed || len(names) != 2 {
			t.Errorf("service %s of group %s links %v", s.Slug, g.Name, names)
		}
	}
}

// TestAutoEnvTakesOverDeadNames: a name that holds a revoked client, or
// one the caller does not know, is taken over, and the run says so.
func TestAutoEnvTakesOverDeadNames(t *testing.T) {
	for _, tc := range []struct {
		name, seed, want string
	}{
		{"revoked", "revoked", "which is revoked to you"},
		{"unknown", "unknown", "which is not known to you"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp := devservertest.New(t)
			stored := "UnknownClient0000000000"
			if tc.seed == "revoked" {
				stored = cp.Seed(devserver.StoredClient{Name: "Gone", Status: "revoked", RedirectURIs: []string{"https://g/cb"}}).ClientID
			}
			app := newEnvApp(t, cp, "demo", "Demo", "true", true)
			// The personal space exists once anything asked for it.
			app.mustRun("plan")
			cp.SetSpaceEnv(me, appenv.BaseID, stored, false)
			app.mustRun("apply")
			if !strings.Contains(app.stdout, "OAUTH_CLIENT_ID named client "+`"`+stored+`", `+tc.want) {
				t.Errorf("stdout:\n%s", app.stdout)
			}
			if got := spaceEnv(cp, me)[appenv.BaseID].Value; got != app.outputs()["client-id"] {
				t.Errorf("space holds %s, want the new client", got)
			}
		})
	}
}

// TestAutoEnvMissingSecret: a client that exists while the space holds no
// secret for it (autoEnv adopted on an old client) cannot work; plan and
// apply say so and name --rotate-secret, and apply writes nothing.
func TestAutoEnvMissingSecret(t *testing.T) {
	cp := devservertest.New(t)
	old := cp.Seed(devserver.StoredClient{Name: "Demo", RedirectURIs: []string{"https://demo.example.com/cb"}, AllowedScopes: []string{"openid", "profile"}})
	app := newEnvApp(t, cp, "demo", "Demo", "true", true)
	for _, cmd := range []string{"plan", "apply"} {
		if code := app.run(cmd); code != ExitFailure {
			t.Fatalf("%s = %d, want %d\n%s", cmd, code, ExitFailure, app.stdout)
		}
		if !strings.Contains(app.stderr, "space acct_owner holds no OAUTH_CLIENT_SECRET for client "+old.ClientID) || !strings.Contains(app.stderr, "run with --rotate-secret") {
			t.Errorf("%s stderr:\n%s", cmd, app.stderr)
		}
		if w := app.writes(); len(w) != 0 {
			t.Errorf("%s wrote %v", cmd, w)
		}
	}
	// The fix: a rotation stores a new client's secret; nothing runs yet,
	// so the old client goes at once.
	app.mustRun("apply", "--rotate-secret")
	id := app.outputs()["client-id"]
	if c, _ := cp.Client(old.ClientID); c.Status != "revoked" {
		t.Errorf("old client %s, want revoked (no worker runs it)", c.Status)
	}
	if !cp.SecretMatches(id, spaceEnv(cp, me)[appenv.BaseSecret].Value) {
		t.Error("the space does not hold the new secret")
	}
	app.mustRun("apply")
}

// TestAutoEnvRoleAndUsageErrors: what users will hit, refused before any
// write (and the usage errors before any request).
func TestAutoEnvRoleAndUsageErrors(t *testing.T) {
	t.Run("editor", func(t *testing.T) {
		cp := devservertest.New(t)
		team := cp.AddTeamSpace("Team", "acct_boss")
		cp.AddMember(team.ID, devserver.DefaultOwner, devserver.RoleEditor)
		app := newEnvApp(t, cp, "demo", "Demo", "true", true)
		if code := app.run("apply", "--space", team.Slug); code != ExitFailure {
			t.Fatalf("apply = %d", code)
		}
		if !strings.Contains(app.stderr, "your role in space "+team.ID+" is editor, and storing the OAuth client credentials in its common env needs owner or admin") {
			t.Errorf("stderr:\n%s", app.stderr)
		}
		if w := app.writes(); len(w) != 0 || len(cp.Clients()) != 0 {
			t.Errorf("the refused run wrote %v", w)
		}
		// As admin it works, in that space.
		cp.AddMember(team.ID, devserver.DefaultOwner, devserver.RoleAdmin)
		app.env["TAKOS_WORKSPACE_ID"] = team.ID
		app.mustRun("apply")
		if app.outputs()["space-id"] != team.ID || spaceEnv(cp, team.ID)[appenv.BaseID].Value == "" {
			t.Errorf("outputs %v", app.outputs())
		}
	})
	t.Run("usage", func(t *testing.T) {
		cp := devservertest.New(t)
		app := newEnvApp(t, cp, "demo", "Demo", "true", true)
		for _, args := range [][]string{
			{"apply", "--env-prefix", "my-app"},
			{"apply", "--env-prefix", "1APP"},
			{"apply", "--env-prefix", "APP_"},
			{"plan", "--env-prefix", " "},
			{"apply", "--provider", "heroku"},
			{"apply", "--deploy-env", " "},
		} {
			if code := app.run(args...); code != ExitUsage {
				t.Errorf("%v = %d, want %d\n%s", args, code, ExitUsage, app.stderr)
			}
			if n := len(app.requests()); n != 0 {
				t.Errorf("%v sent %d requests before refusing", args, n)
			}
		}
	})
	t.Run("several groups", func(t *testing.T) {
		cp := devservertest.New(t)
		app := newEnvApp(t, cp, "demo", "Demo", "true", true)
		app.mustRun("plan")
		g1 := cp.SeedGroup(devserver.Group{SpaceID: me, Name: "demo"})
		g2 := cp.SeedGroup(devserver.Group{SpaceID: me, Name: "demo"})
		if code := app.run("apply"); code != ExitFailure {
			t.Fatalf("apply = %d", code)
		}
		if !strings.Contains(app.stderr, `has 2 groups named "demo" (`+g1.ID+", "+g2.ID+")") {
			t.Errorf("stderr:\n%s", app.stderr)
		}
		if w := app.writes(); len(w) != 0 {
			t.Errorf("wrote %v", w)
		}
	})
}

// TestAutoEnvTerminalSink: in a terminal whose stderr is redirected (a CI
// log), the space is a sink that takes the secret: no revocation for lack
// of a sink, and no print of the secret.
func TestAutoEnvTerminalSink(t *testing.T) {
	cp := devservertest.New(t)
	app := newEnvApp(t, cp, "demo", "Demo", "true", false)
	app.mustRun("apply")
	act := activeClients(cp, "Demo")
	if len(act) != 1 || !cp.SecretMatches(act[0].ClientID, spaceEnv(cp, me)[appenv.BaseSecret].Value) {
		t.Fatalf("active %v", act)
	}
	if !strings.Contains(app.stderr, "client secret delivered to Takos space acct_owner (OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET)") {
		t.Errorf("stderr:\n%s", app.stderr)
	}
	for _, s := range cp.IssuedSecrets() {
		if strings.Contains(app.stdout+app.stderr, s) {
			t.Error("the secret was printed")
		}
	}
}

// TestAutoEnvPlanJSON: the plan's JSON keeps its shape and adds "env".
func TestAutoEnvPlanJSON(t *testing.T) {
	cp := devservertest.New(t)
	app := newEnvApp(t, cp, "demo", "Demo", "true", false)
	app.mustRun("plan", "--format", "json")
	var got struct {
		Action string `json:"action"`
		Env    struct {
			SpaceID     string   `json:"space_id"`
			Names       []string `json:"names"`
			CreateGroup bool     `json:"create_group"`
			Workers     []struct {
				Name   string   `json:"name"`
				Create bool     `json:"create_service"`
				Link   []string `json:"link"`
				State  string   `json:"state"`
			} `json:"workers"`
			Unlinked []string `json:"receive_nothing"`
		} `json:"env"`
	}
	if err := json.Unmarshal([]byte(app.stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, app.stdout)
	}
	if got.Action != "create" || got.Env.SpaceID != me || !got.Env.CreateGroup || len(got.Env.Workers) != 2 ||
		!got.Env.Workers[0].Create || got.Env.Workers[0].Name != "api" || len(got.Env.Workers[0].Link) != 2 || got.Env.Unlinked[0] != "container db" {
		t.Errorf("plan JSON = %+v", got)
	}
	// A worker's state is spelled as the rollout output spells it: one
	// spelling for machines (the text says "not deployed").
	for _, w := range got.Env.Workers {
		if w.State != "not-deployed" {
			t.Errorf("worker %s state %q, want not-deployed", w.Name, w.State)
		}
	}
	if w := app.writes(); len(w) != 0 {
		t.Errorf("plan wrote %v", w)
	}
}

// TestAutoEnvUncertainCreatesAreListed: a group or service create whose
// reply is lost after the server acted is settled by listing, within the
// same run: no duplicate, no failure.
func TestAutoEnvUncertainCreatesAreListed(t *testing.T) {
	for _, path := range []string{"/api/spaces/", "/api/services"} {
		t.Run(path, func(t *testing.T) {
			cp := devservertest.New(t)
			app := newEnvApp(t, cp, "demo", "Demo", "true", true)
			cp.Inject(devserver.Fault{Method: "POST", Path: path, Kind: devserver.ResetAfterAct})
			app.mustRun("apply")
			if g, s := cp.Groups(me), cp.Services(me); len(g) != 1 || len(s) != 2 {
				t.Errorf("%d groups and %d services, want 1 and 2", len(g), len(s))
			}
			if app.outputs()["rollout"] != "not-deployed" {
				t.Errorf("outputs %v", app.outputs())
			}
		})
	}
}

// TestAutoEnvRenameUsesTheStoredID: the id the app's workers link is this
// app's, so a changed clientName reads as a rename of it (not as a second
// app): apply refuses to orphan it and names --client-id, which renames
// the client and keeps the stored id and secret.
func TestAutoEnvRenameUsesTheStoredID(t *testing.T) {
	cp := devservertest.New(t)
	app := newEnvApp(t, cp, "demo", "Demo", "true", true)
	app.mustRun("apply")
	id := app.outputs()["client-id"]
	writeManifestText(t, app.dir, strings.Replace(readManifest(t, app.dir), "clientName: Demo", "clientName: Demo Two", 1))
	if code := app.run("apply"); code != ExitFailure {
		t.Fatalf("apply after the rename = %d\n%s", code, app.stderr)
	}
	if !strings.Contains(app.stderr, "is the one stored for this app") || !strings.Contains(app.stderr, "--client-id "+id) {
		t.Errorf("stderr:\n%s", app.stderr)
	}
	app.mustRun("apply", "--client-id", id)
	if w := app.writes(); len(w) != 1 || !strings.HasPrefix(w[0], "PATCH /api/me/oauth/clients/") {
		t.Errorf("writes = %v, want only the rename of the client", w)
	}
	if c, _ := cp.Client(id); c.Name != "Demo Two" || spaceEnv(cp, me)[appenv.BaseID].Value != id {
		t.Errorf("client %+v, space holds %s", c, spaceEnv(cp, me)[appenv.BaseID].Value)
	}
}

// TestAutoEnvThroughBroker: in a job that holds no Takos credential, the
// broker's gateway forwards every route autoEnv uses (--space included),
// and a no-op apply through it still writes nothing.
func TestAutoEnvThroughBroker(t *testing.T) {
	log := &wireLog{}
	gh := authtest.NewGitHubOIDC(t)
	cp := devservertest.New(t)
	team := cp.AddTeamSpace("Team", devserver.DefaultOwner)
	b := startBroker(t, log, gh, cp.URL)
	app := newEnvApp(t, cp, "demo", "Demo", "true", true)
	delete(app.env, "TAKOS_TOKEN")
	app.env["TAKOS_API_URL"] = b
	app.env["ACTIONS_ID_TOKEN_REQUEST_URL"] = recordedGitHub(t, log, gh)
	app.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"] = gh.RequestToken
	app.env["TAKOS_WORKSPACE_ID"] = team.ID
	app.mustRun("apply", "--auth", "github-oidc")
	id := app.outputs()["client-id"]
	if e := spaceEnv(cp, team.ID); e[appenv.BaseID].Value != id || !cp.SecretMatches(id, e[appenv.BaseSecret].Value) {
		t.Fatalf("space %s holds %v", team.ID, e)
	}
	if _, err := cp.DeployGroup(team.ID, "demo", devserver.DeployOptions{Workers: map[string]string{"web": "v1", "api": "v1"}}); err != nil {
		t.Fatal(err)
	}
	app.mustRun("apply", "--auth", "github-oidc")
	if w := app.writes(); len(w) != 0 {
		t.Errorf("no-op apply through the broker wrote %v", w)
	}
	if out := app.outputs(); out["rollout"] != "current" || out["space-id"] != team.ID {
		t.Errorf("outputs %v", out)
	}
}
