package appenv_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/takos-dev/takos-apply/internal/appenv"
	"github.com/takos-dev/takos-apply/internal/auth"
	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/reconcile"
)

func TestNamesFor(t *testing.T) {
	tests := []struct {
		prefix string
		want   appenv.Names
		err    string
	}{
		{"", appenv.Names{ID: "OAUTH_CLIENT_ID", Secret: "OAUTH_CLIENT_SECRET"}, ""},
		{"shop", appenv.Names{ID: "SHOP_OAUTH_CLIENT_ID", Secret: "SHOP_OAUTH_CLIENT_SECRET"}, ""},
		{" Shop_2 ", appenv.Names{ID: "SHOP_2_OAUTH_CLIENT_ID", Secret: "SHOP_2_OAUTH_CLIENT_SECRET"}, ""},
		{"_X", appenv.Names{ID: "_X_OAUTH_CLIENT_ID", Secret: "_X_OAUTH_CLIENT_SECRET"}, ""},
		{"my-app", appenv.Names{}, "not a valid env name"},
		{"1APP", appenv.Names{}, "not a valid env name"},
		{"ÄPP", appenv.Names{}, "not a valid env name"},
		{"APP_", appenv.Names{}, "without the separator (APP stores APP_OAUTH_CLIENT_ID)"},
		{"  ", appenv.Names{}, "blank"},
	}
	for _, tc := range tests {
		got, err := appenv.NamesFor(tc.prefix)
		if tc.err == "" && (err != nil || got != tc.want) || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("NamesFor(%q) = %+v, %v; want %+v, %q", tc.prefix, got, err, tc.want, tc.err)
		}
	}
}

func TestCheckName(t *testing.T) {
	for name, want := range map[string]string{
		"OAUTH_CLIENT_ID": "", "takos_api_url": "reserved", "TAKOS_ACCESS_TOKEN": "reserved", "APP_BASE_URL": "reserved",
		"A-B": "not a valid", "": "not a valid", "9": "not a valid",
	} {
		err := appenv.CheckName(name)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("CheckName(%q) = %v, want %q", name, err, want)
		}
	}
}

func TestCheckProviderAndEnv(t *testing.T) {
	for in, want := range map[string]string{"": "", " Local ": "local", "k8s": "k8s", "CLOUDFLARE": "cloudflare"} {
		if got, err := appenv.CheckProvider(in); err != nil || got != want {
			t.Errorf("CheckProvider(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := appenv.CheckProvider("heroku"); err == nil || !strings.Contains(err.Error(), "cloudflare, local, aws, gcp, k8s") {
		t.Errorf("CheckProvider(heroku) = %v", err)
	}
	if got, err := appenv.CheckDeployEnv(" prod "); err != nil || got != "prod" {
		t.Errorf("CheckDeployEnv = %q, %v", got, err)
	}
	if _, err := appenv.CheckDeployEnv(""); err == nil {
		t.Error("CheckDeployEnv(\"\") = nil")
	}
}

// ServiceSlug is the engine's slug (devserver.ManagedSlug follows
// buildManagedSlug) whenever POST /api/services can store it, and a
// distinct 32-character one otherwise.
func TestServiceSlug(t *testing.T) {
	const g = "d7a62e3b-3b1f-412c-bfc0-081963a4b5b5"
	for _, tc := range []struct{ env, worker string }{{"staging", "web"}, {"staging", "api"}, {"prod", "My_W"}, {"Stag ing!", "w"}} {
		got, exact := appenv.ServiceSlug(g, tc.env, tc.worker)
		if want := devserver.ManagedSlug(g, tc.env, "worker", tc.worker); !exact || got != want {
			t.Errorf("ServiceSlug(%q, %q) = %q, %v; want the engine's %q", tc.env, tc.worker, got, exact, want)
		}
	}
	a, exactA := appenv.ServiceSlug(g, "production", "frontend-a")
	b, _ := appenv.ServiceSlug(g, "production", "frontend-b")
	if exactA || len(a) != 32 || len(b) != 32 || a == b || !strings.HasPrefix(a, "grp-d7a62e3b-production-") {
		t.Errorf("long slugs %q, %q (exact %v): want distinct, 32 characters, the engine's prefix", a, b, exactA)
	}
}

func TestWorkerStateAndRollout(t *testing.T) {
	w := appenv.Worker{Name: "web"}
	if s := w.State("c2"); s != appenv.StateNotDeployed {
		t.Errorf("no deployment: %s", s)
	}
	w.DeploymentID, w.RunningID = "d1", "c1"
	if s := w.State("c2"); s != appenv.StatePending {
		t.Errorf("old id: %s", s)
	}
	if s := w.State("c1"); s != appenv.StateCurrent {
		t.Errorf("current id: %s", s)
	}
	w.RunningID = ""
	if s := w.State("c1"); s != appenv.StatePending {
		t.Errorf("deployed before the link: %s, want pending (the next deploy gives it the id)", s)
	}
	res := func(states ...string) *appenv.Result {
		r := &appenv.Result{}
		for _, s := range states {
			r.Workers = append(r.Workers, appenv.WorkerResult{State: s})
		}
		return r
	}
	for _, tc := range []struct {
		r    *appenv.Result
		link bool
		want string
	}{
		{res(), false, "not-linked"},
		{res(), true, "no-workers"},
		{res(appenv.StateNotDeployed), true, "not-deployed"},
		{res(appenv.StateCurrent, appenv.StateNotDeployed), true, "current"},
		{res(appenv.StateCurrent, appenv.StatePending), true, "pending-redeploy"},
	} {
		if got := tc.r.Rollout(tc.link); got != tc.want {
			t.Errorf("Rollout(%+v, %v) = %q, want %q", tc.r.Workers, tc.link, got, tc.want)
		}
	}
}

func client(t *testing.T, s *devserver.Server) *controlplane.Client {
	t.Helper()
	hc := httpx.NewClient(httpx.Options{})
	hc.Transport = auth.Transport(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: s.Token}), hc.Transport, s.URL)
	c, err := controlplane.New(s.URL, hc)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var app = appenv.App{Group: "demo", ClientName: "Demo", Workers: []string{"web"}, Link: true}

// prepare is Locate then Prepare, as the CLI runs them.
func prepare(ctx context.Context, cp *controlplane.Client, app appenv.App, clients []reconcile.Client, plan reconcile.Plan) (*appenv.Plan, error) {
	p, err := appenv.Locate(ctx, cp, app, appenv.Options{})
	if err != nil {
		return nil, err
	}
	return p, p.Prepare(clients, plan)
}

func TestPrepareOwnership(t *testing.T) {
	ctx := context.Background()
	s := devservertest.New(t)
	cp := client(t, s)
	ours := reconcile.Client{ID: "ours", Name: "Demo", Active: true}
	retiring := reconcile.Client{ID: "old", Name: "Demo", Active: true, Retiring: true, ReplacedBy: "ours"}
	other := reconcile.Client{ID: "theirs", Name: "Shop", Active: true}
	otherRetiring := reconcile.Client{ID: "theirsold", Name: "Shop", Active: true, Retiring: true}
	gone := reconcile.Client{ID: "gone", Name: "Shop"}
	all := []reconcile.Client{ours, retiring, other, otherRetiring, gone}
	if _, err := cp.Space(ctx, ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		stored, takeOver string
		conflict         bool
	}{
		{"ours", "", false},
		{"old", "", false},
		{"theirs", "", true},
		{"theirsold", "", true},
		{"gone", "revoked", false},
		{"nobody", "unknown", false},
	} {
		s.SetSpaceEnv(devserver.DefaultOwner, "OAUTH_CLIENT_ID", tc.stored, false)
		p, err := prepare(ctx, cp, app, all, reconcile.Diff(reconcile.Desired{Name: "Demo"}, &ours, true))
		var ce *appenv.ConflictError
		if tc.conflict != errors.As(err, &ce) || !tc.conflict && (err != nil || p.TakeOver != tc.takeOver) {
			t.Errorf("stored %s: Prepare = %+v, %v; want conflict %v, take-over %q", tc.stored, p, err, tc.conflict, tc.takeOver)
		}
	}
	p, err := prepare(ctx, cp, app, all, reconcile.Diff(reconcile.Desired{Name: "Demo"}, &ours, true))
	if err == nil && (len(p.Retiring) != 1 || p.Retiring[0].ID != "old") {
		t.Errorf("Retiring = %v, want [old] (Shop's is another app's)", p.Retiring)
	}
}

// The sink stores the id before the secret, and withdraws only its own
// pair.
func TestSinkDeliverAndRetract(t *testing.T) {
	ctx := context.Background()
	s := devservertest.New(t)
	cp := client(t, s)
	p, err := prepare(ctx, cp, appenv.App{Group: "demo", ClientName: "Demo"}, nil, reconcile.Diff(reconcile.Desired{Name: "Demo"}, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	sink := p.Sink(cp)
	if err := sink.Deliver(ctx, "c1", "CANARY-secret-1"); err != nil || !sink.Took("c1") {
		t.Fatalf("Deliver = %v", err)
	}
	var puts []string
	for _, r := range s.Requests() {
		if r.Method == "PUT" {
			puts = append(puts, r.Path)
		}
	}
	if len(puts) != 2 {
		t.Fatalf("PUTs %v", puts)
	}
	env := s.SpaceEnv(devserver.DefaultOwner)
	if len(env) != 2 || env[0].Value != "c1" || env[1].Value != "CANARY-secret-1" || !env[1].Secret {
		t.Fatalf("env %+v", env)
	}
	// A newer write by another run is left alone.
	s.SetSpaceEnv(devserver.DefaultOwner, "OAUTH_CLIENT_ID", "winner", false)
	if err := sink.Retract(ctx); err != nil || len(s.SpaceEnv(devserver.DefaultOwner)) != 2 {
		t.Errorf("Retract over a newer write = %v, env %v", err, s.SpaceEnv(devserver.DefaultOwner))
	}
	s.SetSpaceEnv(devserver.DefaultOwner, "OAUTH_CLIENT_ID", "c1", false)
	if err := sink.Retract(ctx); err != nil || len(s.SpaceEnv(devserver.DefaultOwner)) != 0 {
		t.Errorf("Retract of its own pair = %v, env %v", err, s.SpaceEnv(devserver.DefaultOwner))
	}
	// A failed secret write is not a delivery, and its error never holds
	// the secret.
	s.Inject(devserver.Fault{Method: "PUT", Kind: devserver.StatusBeforeAct, Status: 400})
	p, err = prepare(ctx, cp, appenv.App{Group: "demo", ClientName: "Demo"}, nil, reconcile.Diff(reconcile.Desired{Name: "Demo"}, nil, false))
	if err != nil {
		t.Fatal(err)
	}
	sink = p.Sink(cp)
	err = sink.Deliver(ctx, "c2", "CANARY-secret-2")
	if err == nil || sink.Took("c2") || strings.Contains(err.Error(), "CANARY") {
		t.Errorf("Deliver with a failing PUT = %v, took %v", err, sink.Took("c2"))
	}
}
