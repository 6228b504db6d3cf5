package devserver

import (
	"net/http"
	"path/filepath"
	"testing"
)

// TestStateFileKeepsSpaces: a restarted takos-apply dev still holds what
// an autoEnv apply stored and linked, and what a deploy snapshotted.
func TestStateFileKeepsSpaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	s1, err := Start(WithStateFile(path))
	if err != nil {
		t.Fatal(err)
	}
	h := map[string]string{"Authorization": "Bearer " + s1.Token, "Content-Type": "application/json"}
	raw(t, s1, "GET", "/api/spaces/me", h, "")
	if st, _, got := raw(t, s1, "PUT", "/api/spaces/me/common-env", h, `{"name":"OAUTH_CLIENT_SECRET","value":"s3cret-value","secret":true}`); st != 200 {
		t.Fatalf("PUT = %d %v", st, got)
	}
	_, _, g := raw(t, s1, "POST", "/api/spaces/me/groups", h, `{"name":"demo","provider":"local"}`)
	_, _, svc := raw(t, s1, "POST", "/api/services", h, `{"group_id":"`+g["id"].(string)+`","slug":"web-x","config":"{\"managedBy\":\"group\",\"manifestName\":\"web\",\"componentKind\":\"worker\"}"}`)
	id := svc["service"].(map[string]any)["id"].(string)
	raw(t, s1, "PATCH", "/api/services/"+id+"/common-env-links", h, `{"add":["OAUTH_CLIENT_SECRET"]}`)
	if _, err := s1.DeployGroup(DefaultOwner, "demo", DeployOptions{Workers: map[string]string{"web": "v1"}}); err != nil {
		t.Fatal(err)
	}
	// DeployGroup is no request: the next write persists it.
	raw(t, s1, "PUT", "/api/spaces/me/common-env", h, `{"name":"OAUTH_CLIENT_ID","value":"cid"}`)
	s1.Close()

	s2, err := Start(WithStateFile(path))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	env := s2.SpaceEnv(DefaultOwner)
	if len(env) != 2 || env[1].Value != "s3cret-value" || !env[1].Secret {
		t.Errorf("env after restart = %+v", env)
	}
	if gs := s2.Groups(DefaultOwner); len(gs) != 1 || *gs[0].Provider != "local" {
		t.Errorf("groups after restart = %+v", gs)
	}
	if l := s2.Links(id); len(l) != 1 {
		t.Errorf("links after restart = %v", l)
	}
	if d := s2.Deployments(id); len(d) != 1 || d[0].Bindings[0].Text != "s3cret-value" {
		t.Errorf("deployments after restart = %+v", d)
	}
	// An unchanged spec is still skipped after the restart.
	res, _ := s2.DeployGroup(DefaultOwner, "demo", DeployOptions{Workers: map[string]string{"web": "v1"}})
	if len(res) != 1 || res[0].Action != "skipped" {
		t.Errorf("DeployGroup after restart = %+v, want skipped", res)
	}
	h["Authorization"] = "Bearer " + s2.Token
	if st, _, _ := raw(t, s2, http.MethodGet, "/api/services/"+id+"/common-env-links", h, ""); st != 200 {
		t.Errorf("links route after restart = %d", st)
	}
}
