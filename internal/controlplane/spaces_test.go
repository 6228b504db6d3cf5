package controlplane_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/httpx"
)

// asUser is a client of s authenticated as account with token tok.
func asUser(t *testing.T, s *devserver.Server, tok, account string) *controlplane.Client {
	t.Helper()
	devserver.WithUser(tok, account)(s)
	c, err := controlplane.New(s.URL, wire(t, s.URL, tok, httpx.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSpaceResolvesAndCreatesThePersonalSpace(t *testing.T) {
	ctx := context.Background()
	s := devservertest.New(t)
	c := newClient(t, s, httpx.Options{})
	// A fresh account has no personal space until /api/spaces/me: the env
	// route answers 404 before.
	if _, err := c.CommonEnv(ctx, devserver.DefaultOwner); !controlplane.IsNotFound(err) {
		t.Fatalf("CommonEnv before the personal space = %v, want not found", err)
	}
	sp, err := c.Space(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if sp.ID != devserver.DefaultOwner || sp.Role != controlplane.RoleOwner || sp.Kind != "user" {
		t.Errorf("Space(me) = %+v", sp)
	}
	if env, err := c.CommonEnv(ctx, sp.ID); err != nil || len(env) != 0 {
		t.Errorf("CommonEnv = %v, %v; want empty", env, err)
	}

	team := s.AddTeamSpace("Team One", "acct_other")
	s.AddMember(team.ID, devserver.DefaultOwner, devserver.RoleEditor)
	for _, ident := range []string{team.ID, team.Slug} {
		got, err := c.Space(ctx, ident)
		if err != nil || got.ID != team.ID || got.Role != controlplane.RoleEditor {
			t.Errorf("Space(%q) = %+v, %v; want %s as editor", ident, got, err, team.ID)
		}
	}
	_, err = c.Space(ctx, "nosuchspace")
	if !controlplane.IsNotFound(err) || !strings.Contains(err.Error(), "--space") {
		t.Errorf("Space(unknown) = %v, want not found naming --space", err)
	}
	before := len(s.Requests())
	if _, err := c.Space(ctx, "../me"); err == nil || len(s.Requests()) != before {
		t.Errorf("Space(../me) = %v after %d requests; want a local refusal", err, len(s.Requests())-before)
	}
}

func TestCommonEnvRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := devservertest.New(t)
	c := newClient(t, s, httpx.Options{})
	sp, err := c.Space(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	const secret = "CANARY-secret-value-0123456789"
	if err := c.PutCommonEnv(ctx, sp.ID, "OAUTH_CLIENT_ID", "cid-1", false); err != nil {
		t.Fatal(err)
	}
	if err := c.PutCommonEnv(ctx, sp.ID, "OAUTH_CLIENT_SECRET", secret, true); err != nil {
		t.Fatal(err)
	}
	env, err := c.CommonEnv(ctx, sp.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]controlplane.EnvVar{}
	for _, e := range env {
		if e.UpdatedAt.IsZero() {
			t.Errorf("%s has no updatedAt", e.Name)
		}
		e.UpdatedAt = time.Time{}
		got[e.Name] = e
	}
	want := map[string]controlplane.EnvVar{
		"OAUTH_CLIENT_ID":     {Name: "OAUTH_CLIENT_ID", Value: "cid-1"},
		"OAUTH_CLIENT_SECRET": {Name: "OAUTH_CLIENT_SECRET", Secret: true}, // the server shows "********"; the client keeps ""
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CommonEnv (-want +got):\n%s", diff)
	}
	if v := s.SpaceEnv(sp.ID); len(v) != 2 || v[1].Value != secret {
		t.Errorf("stored %+v", v)
	}
	if err := c.DeleteCommonEnv(ctx, sp.ID, "OAUTH_CLIENT_SECRET"); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteCommonEnv(ctx, sp.ID, "OAUTH_CLIENT_SECRET"); err != nil {
		t.Errorf("a second delete = %v, want nil (already gone)", err)
	}
	for _, name := range []string{"oauth_client_id", "1X", "A-B", "TAKOS_API_URL/../X", ""} {
		before := len(s.Requests())
		if err := c.PutCommonEnv(ctx, sp.ID, name, "v", false); err == nil || len(s.Requests()) != before {
			t.Errorf("PutCommonEnv(%q) = %v, sent %d requests; want a local refusal", name, err, len(s.Requests())-before)
		}
	}
}

func TestWritesRefusedForTheRole(t *testing.T) {
	ctx := context.Background()
	s := devservertest.New(t)
	team := s.AddTeamSpace("Team", devserver.DefaultOwner)
	s.AddMember(team.ID, "acct_editor", devserver.RoleEditor)
	s.AddMember(team.ID, "acct_viewer", devserver.RoleViewer)
	editor := asUser(t, s, "tak_pat_editor_0000000000000000000000000000", "acct_editor")
	viewer := asUser(t, s, "tak_pat_viewer_0000000000000000000000000000", "acct_viewer")
	const secret = "CANARY-secret-for-the-editor"
	err := editor.PutCommonEnv(ctx, team.ID, "OAUTH_CLIENT_SECRET", secret, true)
	if !controlplane.IsRoleRefusal(err) || !strings.Contains(err.Error(), "owner or admin") || strings.Contains(err.Error(), secret) {
		t.Errorf("editor PutCommonEnv = %v; want a role refusal naming owner or admin, without the value", err)
	}
	// An editor may create groups and services and link them.
	g, err := editor.CreateGroup(ctx, team.ID, controlplane.CreateGroupRequest{Name: "app"})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := editor.CreateService(ctx, controlplane.CreateServiceRequest{SpaceID: team.ID, GroupID: g.ID, Slug: "web-x", ManifestName: "web", ComponentKind: "worker"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := editor.AddEnvLinks(ctx, svc.ID, []string{"OAUTH_CLIENT_ID"}); err != nil {
		t.Fatal(err)
	}
	// A viewer may only read.
	if _, err := viewer.CreateGroup(ctx, team.ID, controlplane.CreateGroupRequest{Name: "v"}); !controlplane.IsRoleRefusal(err) || !strings.Contains(err.Error(), "owner, admin or editor") {
		t.Errorf("viewer CreateGroup = %v, want a role refusal", err)
	}
	if _, err := viewer.AddEnvLinks(ctx, svc.ID, []string{"X"}); !controlplane.IsRoleRefusal(err) {
		t.Errorf("viewer AddEnvLinks = %v, want a role refusal", err)
	}
	if links, err := viewer.EnvLinks(ctx, svc.ID); err != nil || len(links) != 1 {
		t.Errorf("viewer EnvLinks = %v, %v", links, err)
	}
}

func TestGroupsServicesLinksDeployments(t *testing.T) {
	ctx := context.Background()
	s := devservertest.New(t)
	c := newClient(t, s, httpx.Options{})
	sp, _ := c.Space(ctx, "")
	if gs, err := c.Groups(ctx, sp.ID); err != nil || len(gs) != 0 {
		t.Fatalf("Groups = %v, %v", gs, err)
	}
	g, err := c.CreateGroup(ctx, sp.ID, controlplane.CreateGroupRequest{Name: "hello", Provider: "local", Env: "staging"})
	if err != nil {
		t.Fatal(err)
	}
	gs, err := c.Groups(ctx, sp.ID)
	if err != nil || len(gs) != 1 || gs[0] != (controlplane.Group{ID: g.ID, Name: "hello", Provider: "local", Env: "staging"}) {
		t.Fatalf("Groups = %+v, %v", gs, err)
	}
	// A second group of the same name hits Takos's unique index: a 500,
	// after which the caller must list (the create may have happened).
	_, err = c.CreateGroup(ctx, sp.ID, controlplane.CreateGroupRequest{Name: "hello"})
	if !controlplane.IsUncertain(err) {
		t.Errorf("duplicate CreateGroup = %v, want an uncertain failure", err)
	}

	slug := devserver.ManagedSlug(g.ID, "staging", "worker", "web")
	svc, err := c.CreateService(ctx, controlplane.CreateServiceRequest{SpaceID: sp.ID, GroupID: g.ID, Slug: slug, ManifestName: "web", ComponentKind: "worker"})
	if err != nil {
		t.Fatal(err)
	}
	if svc.Slug != slug || svc.Hostname != slug+"."+devserver.DefaultTenantDomain || svc.ManifestName != "web" {
		t.Errorf("CreateService = %+v", svc)
	}
	list, err := c.GroupServices(ctx, sp.ID, g.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("GroupServices = %v, %v", list, err)
	}
	if got := list[0]; got.ID != svc.ID || got.ManagedBy != "group" || got.ManifestName != "web" || got.ComponentKind != "worker" || got.ActiveDeploymentID != "" {
		t.Errorf("GroupServices[0] = %+v", got)
	}
	if _, err := c.GroupServices(ctx, sp.ID, "nosuchgroup"); !controlplane.IsNotFound(err) {
		t.Errorf("GroupServices(unknown) = %v, want not found", err)
	}

	if err := c.PutCommonEnv(ctx, sp.ID, "OAUTH_CLIENT_ID", "cid-1", false); err != nil {
		t.Fatal(err)
	}
	if err := c.PutCommonEnv(ctx, sp.ID, "OAUTH_CLIENT_SECRET", "CANARY-s3cret-value", true); err != nil {
		t.Fatal(err)
	}
	links, err := c.AddEnvLinks(ctx, svc.ID, []string{"OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET"})
	want := []controlplane.EnvLink{{Name: "OAUTH_CLIENT_ID", Source: "manual", HasCommonValue: true}, {Name: "OAUTH_CLIENT_SECRET", Source: "manual", HasCommonValue: true}}
	if err != nil || !cmp.Equal(links, want) {
		t.Fatalf("AddEnvLinks = %v, %v", links, err)
	}
	if again, err := c.EnvLinks(ctx, svc.ID); err != nil || !cmp.Equal(again, want) {
		t.Errorf("EnvLinks = %v, %v", again, err)
	}

	res, err := s.DeployGroup(sp.ID, "hello", devserver.DeployOptions{Workers: map[string]string{"web": "v1"}})
	if err != nil || len(res) != 1 || res[0].ServiceID != svc.ID || res[0].Action != "deployed" {
		t.Fatalf("DeployGroup = %+v, %v; want the pre-created service adopted and deployed", res, err)
	}
	list, _ = c.GroupServices(ctx, sp.ID, g.ID)
	d, err := c.Deployment(ctx, svc.ID, list[0].ActiveDeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	if d.Plain["OAUTH_CLIENT_ID"] != "cid-1" || !cmp.Equal(d.SecretNames, []string{"OAUTH_CLIENT_SECRET"}) || d.RoutingStatus != "active" {
		t.Errorf("Deployment = %+v", d)
	}
	if _, err := c.Deployment(ctx, svc.ID, "zzzzzzzzzzzz"); !controlplane.IsNotFound(err) {
		t.Errorf("Deployment(unknown) = %v, want not found", err)
	}
}

func TestSpaceRoutesRetryAndUncertainty(t *testing.T) {
	ctx := context.Background()
	s := devservertest.New(t)
	c := newClient(t, s, httpx.Options{})
	sp, _ := c.Space(ctx, "")
	// PUT and PATCH are idempotent on these routes and retried.
	s.Inject(devserver.Fault{Method: "PUT", Kind: devserver.StatusAfterAct, Status: 503})
	if err := c.PutCommonEnv(ctx, sp.ID, "A", "v", false); err != nil || requests(s, "PUT") != 2 {
		t.Errorf("PutCommonEnv after a 503 = %v with %d PUTs; want success after a retry", err, requests(s, "PUT"))
	}
	// A POST is never retried: a reset after the server acted leaves the
	// group created and the caller uncertain.
	s.Inject(devserver.Fault{Method: "POST", Path: "/api/spaces/", Kind: devserver.ResetAfterAct})
	_, err := c.CreateGroup(ctx, sp.ID, controlplane.CreateGroupRequest{Name: "app"})
	if !controlplane.IsUncertain(err) || len(s.Groups(sp.ID)) != 1 || requests(s, "POST") != 1 {
		t.Errorf("CreateGroup after a reset = %v (uncertain %v), %d groups, %d POSTs", err, controlplane.IsUncertain(err), len(s.Groups(sp.ID)), requests(s, "POST"))
	}
	var te *controlplane.TransportError
	if !errors.As(err, &te) {
		t.Errorf("error %T, want a *TransportError", err)
	}
}

func TestSpaceRepliesTheAPICannotHaveSent(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		body string
		call func(c *controlplane.Client) error
	}{
		{"space id with a slash", `{"space":{"id":"a/b"},"role":"owner"}`, func(c *controlplane.Client) error { _, err := c.Space(ctx, ""); return err }},
		{"unknown role", `{"space":{"id":"abc"},"role":"root"}`, func(c *controlplane.Client) error { _, err := c.Space(ctx, ""); return err }},
		{"env name with a newline", `{"env":[{"name":"A\nB","secret":false,"value":"x"}]}`, func(c *controlplane.Client) error { _, err := c.CommonEnv(ctx, "abc"); return err }},
		{"no env array", `{}`, func(c *controlplane.Client) error { _, err := c.CommonEnv(ctx, "abc"); return err }},
		{"group id with a dot", `{"groups":[{"id":"..","name":"x"}]}`, func(c *controlplane.Client) error { _, err := c.Groups(ctx, "abc"); return err }},
		{"deployment id with a slash", `{"services":[{"id":"s1","activeDeploymentId":"../x","config":{}}]}`, func(c *controlplane.Client) error {
			_, err := c.GroupServices(ctx, "abc", "g1")
			return err
		}},
		{"another deployment", `{"deployment":{"id":"other","bindings":[]}}`, func(c *controlplane.Client) error { _, err := c.Deployment(ctx, "s1", "d1"); return err }},
		{"put without success", `{}`, func(c *controlplane.Client) error { return c.PutCommonEnv(ctx, "abc", "A", "v", false) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := jsonServer(t, http.StatusOK, tc.body)
			c, err := controlplane.New(srv.URL, wire(t, srv.URL, "tak_pat_x", httpx.Options{}))
			if err != nil {
				t.Fatal(err)
			}
			var m *controlplane.MalformedResponseError
			if err := tc.call(c); !errors.As(err, &m) {
				t.Errorf("error = %v, want a MalformedResponseError", err)
			}
		})
	}
}

// A 403 on a space route names the space and the likely cause (a broker
// rule), not the /api/me advice.
func TestSpaceForbidden(t *testing.T) {
	srv := jsonServer(t, http.StatusForbidden, `{"error":{"code":"FORBIDDEN","message":"takos-apply broker: rule main does not permit GET /api/spaces/sp-b"}}`)
	c, err := controlplane.New(srv.URL, wire(t, srv.URL, "tak_pat_x", httpx.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Space(context.Background(), "sp-b")
	if err == nil || !strings.Contains(err.Error(), "refused access to space sp-b") || !strings.Contains(err.Error(), "broker rule") || strings.Contains(err.Error(), "/api/me accepts") {
		t.Errorf("Space(sp-b) = %v", err)
	}
}
