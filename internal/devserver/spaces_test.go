package devserver

import (
	"net/http"
	"path/filepath"
	"strings"
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

// TestBodyLimit: the router's 1 MB limit answers before the route
// parameters and auth are checked, in its own flat shape, and only on
// POST, PUT and PATCH (body-size.ts). The real local platform cannot show
// it (its adapter turns the 413 into a 500), so it is pinned here.
func TestBodyLimit(t *testing.T) {
	s := newTest(t)
	big := `{"name":"BIG","value":"` + strings.Repeat("x", maxRequestBody) + `"}`
	h := map[string]string{"Content-Type": "application/json"}
	for _, path := range []string{"/api/spaces/bad.id/common-env", "/api/spaces/me/common-env", "/api/me/oauth/clients", "/api/me/oauth/clients/bad.id", "/api/nothing"} {
		for _, method := range []string{"POST", "PUT", "PATCH"} {
			st, _, got := raw(t, s, method, path, h, big)
			if st != http.StatusRequestEntityTooLarge || got["code"] != "PAYLOAD_TOO_LARGE" || got["error"] != "Request body exceeds maximum allowed size of 1MB" || got["max_size"] != float64(maxRequestBody) {
				t.Errorf("%s %s (%d bytes) = %d %v, want the flat 413", method, path, len(big), st, got)
			}
		}
	}
	if st, _, _ := raw(t, s, "DELETE", "/api/spaces/me/common-env/A", h, big); st != http.StatusUnauthorized {
		t.Errorf("DELETE with a large body = %d, want 401 (no limit on DELETE)", st)
	}
	if st, _, _ := raw(t, s, "PUT", "/api/spaces/me/common-env", h, big[:maxRequestBody]); st != http.StatusUnauthorized {
		t.Errorf("PUT of exactly 1 MB = %d, want 401 (within the limit)", st)
	}
}
