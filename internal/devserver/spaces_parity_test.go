package devserver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/realtakostest"
)

// TestSpacesParity pins the space, common env, group, service, link and
// deployment routes as the real Takos (tako0614/takos@7d63ea66) answers
// them. The same table runs against the fake always and, with
// TAKOS_REAL_COORDS naming a realtakos coordinates file
// (../shared/realtakos/start.sh), against the real server too, so a
// difference fails here rather than in a reading of the source.
func TestSpacesParity(t *testing.T) {
	t.Run("fake", func(t *testing.T) { runParity(t, fakeTarget(t)) })
	t.Run("real", func(t *testing.T) {
		tg := realTarget(t)
		if tg == nil {
			t.Skip("TAKOS_REAL_COORDS is not set: the table ran against the fake only (see ../shared/realtakos)")
		}
		runParity(t, tg)
	})
}

// parityTarget is a server under test: its URL, a fresh account's token
// per role ("owner" has no personal space yet; "admin", "editor" and
// "viewer" are members of the team space "team", which "owner" owns), and
// how a group apply deploys.
type parityTarget struct {
	url    string
	tokens map[string]string
	team   string
	domain string
	deploy func(t *testing.T, space, group string)
}

func fakeTarget(t *testing.T) *parityTarget {
	s := newTest(t, WithTenantDomain("app.localhost"))
	tg := &parityTarget{url: s.URL, tokens: map[string]string{}, domain: "app.localhost"}
	for _, role := range []string{RoleOwner, RoleAdmin, RoleEditor, RoleViewer} {
		tok := "tak_pat_parity_" + role + "_0123456789abcdef0123456789"
		WithUser(tok, "acct_"+role)(s)
		tg.tokens[role] = tok
	}
	team := s.AddTeamSpace("Parity Team", "acct_owner")
	for _, role := range []string{RoleAdmin, RoleEditor, RoleViewer} {
		s.AddMember(team.ID, "acct_"+role, role)
	}
	tg.team = team.ID
	tg.deploy = func(t *testing.T, space, group string) {
		if _, err := s.DeployGroup(space, group, DeployOptions{Env: "staging", Provider: "local", Workers: map[string]string{"web": "v1"}}); err != nil {
			t.Fatal(err)
		}
	}
	return tg
}

// realTarget seeds four fresh accounts and a team space into the running
// real server's database (as realtakos/start.sh seeds its owner) and
// deploys through POST /api/spaces/:id/groups/apply with provider local.
func realTarget(t *testing.T) *parityTarget {
	if realtakostest.Path() == "" {
		return nil
	}
	coords := realtakostest.Coords(t, "URL", "PAT", "DATA_DIR", "ACCOUNT_ID", "ADMIN_DOMAIN")
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 is needed to seed accounts into the real server's database")
	}
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	cmd := exec.Command("python3", "-c", seedScript, coords["DATA_DIR"]+"/db/control.sqlite", suffix)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("seeding the real server: %v", err)
	}
	tg := &parityTarget{url: coords["URL"], tokens: map[string]string{}, domain: "app.localhost"}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		if k == "team" {
			tg.team = v
		} else {
			tg.tokens[k] = v
		}
	}
	tg.deploy = func(t *testing.T, space, group string) {
		body := map[string]any{
			"group_name": group, "env": "staging", "provider": "local",
			"manifest": map[string]any{"apiVersion": "takos.dev/v1alpha1", "kind": "App", "metadata": map[string]any{"name": group},
				"spec": map[string]any{"version": "0.1.0", "workers": map[string]any{"web": map[string]any{"build": map[string]any{"fromWorkflow": map[string]any{
					"path": ".takos/workflows/deploy.yml", "job": "build", "artifact": "web", "artifactPath": "dist/web.js"}}}}}},
			"artifacts": map[string]any{"web": map[string]any{"kind": "worker_bundle", "bundleContent": "export default { fetch() { return new Response('ok'); } };"}},
		}
		b, _ := json.Marshal(body)
		status, got := tcall(t, tg, RoleOwner, http.MethodPost, "/api/spaces/"+space+"/groups/apply", string(b))
		if status != http.StatusOK {
			t.Fatalf("group apply = %d %v", status, got)
		}
	}
	return tg
}

// seedScript writes accounts and PATs exactly as realtakos/start.sh does,
// plus a team space with memberships.
const seedScript = `
import base64, datetime, hashlib, secrets, sqlite3, sys
db = sqlite3.connect(sys.argv[1]); sfx = sys.argv[2]
now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'
team = 'pt' + sfx
def account(id, type, owner=None):
    db.execute("INSERT INTO accounts (id, type, status, name, slug, email, setup_completed, owner_account_id, created_at, updated_at) VALUES (?, ?, 'active', ?, ?, NULL, 1, ?, ?, ?)", (id, type, id, id.replace('_', '-'), owner, now, now))
def member(space, acct, role):
    db.execute("INSERT INTO account_memberships (id, account_id, member_id, role, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'active', ?, ?)", (secrets.token_hex(6), space, acct, role, now, now))
for role in ['owner', 'admin', 'editor', 'viewer']:
    acct = 'pt_' + sfx + '_' + role
    account(acct, 'user')
    token = 'tak_pat_' + base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b'=').decode()
    db.execute("INSERT INTO personal_access_tokens (id, account_id, name, token_hash, token_prefix, scopes, created_at) VALUES (?, ?, 'parity', ?, ?, '*', ?)", (secrets.token_hex(16), acct, hashlib.sha256(token.encode()).hexdigest(), token[:12], now))
    print(role + '=' + token)
account(team, 'team', 'pt_' + sfx + '_owner')
for role in ['owner', 'admin', 'editor', 'viewer']:
    member(team, 'pt_' + sfx + '_' + role, role)
db.commit()
print('team=' + team)
`

func tcall(t *testing.T, tg *parityTarget, as, method, path, body string) (int, any) {
	t.Helper()
	req, err := http.NewRequest(method, tg.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if as != "" {
		req.Header.Set("Authorization", "Bearer "+tg.tokens[as])
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v any
	if len(b) > 0 && json.Unmarshal(b, &v) != nil {
		t.Fatalf("%s %s: reply is not JSON: %q", method, path, b)
	}
	return resp.StatusCode, v
}

// step is one request of the parity table. want is matched as a subset:
// every key of an object must be present with a matching value, arrays
// must match element by element, "*" matches any present value, and
// {name} in strings is replaced by a saved value. save stores values of
// the reply (dotted paths, array indexes as numbers) under a name.
type step struct {
	name, as, method, path, body string
	status                       int
	want                         any
	save                         map[string]string
	deploy                       string // instead of a request: a group apply of this group
}

func obj(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func arr(v ...any) []any { return v }

func apiErr(code, msg string) map[string]any {
	return obj("error", obj("code", code, "message", msg))
}

var (
	spaceNotFound = apiErr("NOT_FOUND", "Space not found")
	internalErr   = apiErr("INTERNAL_ERROR", "An unexpected error occurred. Please try again later.")
	validationErr = apiErr("VALIDATION_ERROR", "Validation error")
	successTrue   = obj("success", true)
)

const workerConfig = `"{\"managedBy\":\"group\",\"manifestName\":\"web\",\"componentKind\":\"worker\"}"`

func parityTable() []step {
	const env = "/api/spaces/me/common-env"
	link := func(name string, has bool) map[string]any {
		return obj("name", name, "source", "manual", "hasCommonValue", has, "syncState", "pending", "syncReason", "link_created")
	}
	return []step{
		// The personal space exists only after /api/spaces or /api/spaces/me.
		{name: "env before the personal space", as: "owner", method: "GET", path: env, status: 404, want: spaceNotFound},
		{name: "groups before the personal space", as: "owner", method: "GET", path: "/api/spaces/me/groups", status: 404, want: spaceNotFound},
		{name: "me creates it", as: "owner", method: "GET", path: "/api/spaces/me", status: 200,
			want: obj("space", obj("id", "*", "kind", "user"), "role", "owner"), save: map[string]string{"me": "space.id"}},
		{name: "empty env", as: "owner", method: "GET", path: env, status: 200, want: obj("env", arr())},
		{name: "unauthenticated", method: "GET", path: "/api/spaces/me", status: 401, want: apiErr("UNAUTHORIZED", "Authentication required")},
		{name: "bad space param", as: "owner", method: "GET", path: "/api/spaces/bad.id/groups", status: 400, want: apiErr("BAD_REQUEST", "Invalid route parameter: spaceId")},
		{name: "bad service param", as: "owner", method: "GET", path: "/api/services/bad.id/common-env-links", status: 400, want: apiErr("BAD_REQUEST", "Invalid route parameter: id")},

		// Common env: names trimmed and upper-cased, secrets masked,
		// reserved and invalid names refused.
		{name: "put plain", as: "owner", method: "PUT", path: env, body: `{"name":" oauth_client_id ","value":"cid-1"}`, status: 200, want: successTrue},
		{name: "put secret", as: "owner", method: "PUT", path: env, body: `{"name":"OAUTH_CLIENT_SECRET","value":"s3cr3t-value","secret":true}`, status: 200, want: successTrue},
		{name: "put A_B", as: "owner", method: "PUT", path: env, body: `{"name":"A_B","value":"x"}`, status: 200, want: successTrue},
		{name: "put AB", as: "owner", method: "PUT", path: env, body: `{"name":"AB","value":"x"}`, status: 200, want: successTrue},
		{name: "put A1, secret as a string", as: "owner", method: "PUT", path: env, body: `{"name":"A1","value":"x","secret":"true"}`, status: 200, want: successTrue},
		{name: "list", as: "owner", method: "GET", path: env, status: 200, want: obj("env", arr(
			obj("name", "A_B", "secret", false, "value", "x", "updatedAt", "*"),
			obj("name", "A1", "secret", false, "value", "x"),
			obj("name", "AB", "secret", false, "value", "x"),
			obj("name", "OAUTH_CLIENT_ID", "secret", false, "value", "cid-1"),
			obj("name", "OAUTH_CLIENT_SECRET", "secret", true, "value", "********")))},
		{name: "reserved", as: "owner", method: "PUT", path: env, body: `{"name":"TAKOS_ACCESS_TOKEN","value":"x"}`, status: 400, want: apiErr("BAD_REQUEST", "TAKOS_ACCESS_TOKEN is reserved as a managed Takos built-in env key")},
		{name: "reserved lower case", as: "owner", method: "PUT", path: env, body: `{"name":"takos_api_url","value":"x"}`, status: 400, want: apiErr("BAD_REQUEST", "TAKOS_API_URL is reserved as a managed Takos built-in env key")},
		{name: "leading digit", as: "owner", method: "PUT", path: env, body: `{"name":"1BAD","value":"x"}`, status: 400, want: apiErr("BAD_REQUEST", "Invalid environment variable name: 1BAD")},
		{name: "dash", as: "owner", method: "PUT", path: env, body: `{"name":"A-B","value":"x"}`, status: 400, want: apiErr("BAD_REQUEST", "Invalid environment variable name: A-B")},
		{name: "no value", as: "owner", method: "PUT", path: env, body: `{"name":"B"}`, status: 400, want: apiErr("BAD_REQUEST", "value must be a string")},
		{name: "number value", as: "owner", method: "PUT", path: env, body: `{"name":"B","value":5}`, status: 400, want: apiErr("BAD_REQUEST", "value must be a string")},
		{name: "null value", as: "owner", method: "PUT", path: env, body: `{"name":"B","value":null}`, status: 400, want: apiErr("BAD_REQUEST", "value must be a string")},
		{name: "no name", as: "owner", method: "PUT", path: env, body: `{"value":"x"}`, status: 400, want: apiErr("BAD_REQUEST", "name is required")},
		{name: "blank name", as: "owner", method: "PUT", path: env, body: `{"name":"  ","value":"x"}`, status: 400, want: apiErr("BAD_REQUEST", "name is required")},
		{name: "number name", as: "owner", method: "PUT", path: env, body: `{"name":5,"value":"x"}`, status: 500, want: internalErr},
		{name: "array body", as: "owner", method: "PUT", path: env, body: `[]`, status: 400, want: apiErr("BAD_REQUEST", "name is required")},
		{name: "not JSON", as: "owner", method: "PUT", path: env, body: `notjson`, status: 400, want: apiErr("BAD_REQUEST", "Invalid JSON body")},
		{name: "null body", as: "owner", method: "PUT", path: env, body: `null`, status: 400, want: apiErr("BAD_REQUEST", "Invalid JSON body")},
		{name: "delete", as: "owner", method: "DELETE", path: env + "/a_b", status: 200, want: successTrue},
		{name: "delete again", as: "owner", method: "DELETE", path: env + "/A_B", status: 404, want: apiErr("NOT_FOUND", "Common env not found")},
		{name: "delete reserved", as: "owner", method: "DELETE", path: env + "/TAKOS_API_URL", status: 400, want: apiErr("BAD_REQUEST", "TAKOS_API_URL is reserved as a managed Takos built-in env key")},
		{name: "delete invalid", as: "owner", method: "DELETE", path: env + "/1x", status: 400, want: apiErr("BAD_REQUEST", "Invalid environment variable name: 1x")},

		// Groups: names trimmed, one per name (the duplicate hits the
		// unique index: 500), provider and env checked.
		{name: "no groups", as: "owner", method: "GET", path: "/api/spaces/me/groups", status: 200, want: obj("groups", arr())},
		{name: "create group", as: "owner", method: "POST", path: "/api/spaces/me/groups", body: `{"name":" app "}`, status: 201,
			want: obj("id", "*", "name", "app"), save: map[string]string{"g": "id"}},
		{name: "duplicate group", as: "owner", method: "POST", path: "/api/spaces/me/groups", body: `{"name":"app"}`, status: 500, want: internalErr},
		{name: "bad provider", as: "owner", method: "POST", path: "/api/spaces/me/groups", body: `{"name":"x","provider":"bogus"}`, status: 400, want: apiErr("BAD_REQUEST", "Invalid provider: bogus")},
		{name: "empty env", as: "owner", method: "POST", path: "/api/spaces/me/groups", body: `{"name":"x","env":""}`, status: 400, want: apiErr("BAD_REQUEST", "env must be a non-empty string")},
		{name: "no name", as: "owner", method: "POST", path: "/api/spaces/me/groups", body: `{}`, status: 400, want: apiErr("BAD_REQUEST", "name is required")},
		{name: "group body not JSON", as: "owner", method: "POST", path: "/api/spaces/me/groups", body: `bad`, status: 500, want: internalErr},
		{name: "provider and env", as: "owner", method: "POST", path: "/api/spaces/me/groups", body: `{"name":"app2","provider":"LOCAL","env":" staging "}`, status: 201, want: obj("id", "*", "name", "app2"),
			save: map[string]string{"g2": "id"}},
		{name: "list groups", as: "owner", method: "GET", path: "/api/spaces/me/groups", status: 200, want: obj("groups", arr(
			obj("id", "{g}", "spaceId", "{me}", "name", "app", "provider", nil, "env", nil),
			obj("name", "app2", "provider", "local", "env", "staging")))},

		// Services: a worker's row in the shape the engine adopts.
		{name: "no services", as: "owner", method: "GET", path: "/api/spaces/me/groups/{g}/services", status: 200, want: obj("services", arr())},
		{name: "unknown group", as: "owner", method: "GET", path: "/api/spaces/me/groups/nonexistent/services", status: 404, want: apiErr("NOT_FOUND", "Group not found")},
		{name: "create service", as: "owner", method: "POST", path: "/api/services",
			body: `{"space_id":"{me}","group_id":"{g}","service_type":"app","slug":"web-{g8}","config":` + workerConfig + `}`, status: 201,
			want: obj("service", obj("id", "*", "space_id", "{me}", "group_id", "{g}", "service_type", "app", "status", "pending",
				"slug", "web-{g8}", "hostname", "web-{g8}.{domain}")), save: map[string]string{"svc": "service.id"}},
		{name: "slug taken", as: "owner", method: "POST", path: "/api/services", body: `{"space_id":"{me}","slug":"web-{g8}"}`, status: 500, want: internalErr},
		{name: "slug cut to 32", as: "owner", method: "POST", path: "/api/services", body: `{"space_id":"{me}","slug":"{g8} Long Name That Is Longer Than 32"}`, status: 201,
			want: obj("service", obj("slug", "{g8}-long-name-that-is-longe"))},
		{name: "foreign group", as: "owner", method: "POST", path: "/api/services", body: `{"space_id":"{me}","group_id":"nonexistent"}`, status: 400,
			want: obj("error", "group_id must belong to the selected workspace")},
		{name: "config object", as: "owner", method: "POST", path: "/api/services", body: `{"space_id":"{me}","config":{}}`, status: 422, want: validationErr},
		{name: "group services", as: "owner", method: "GET", path: "/api/spaces/me/groups/{g}/services", status: 200, want: obj("services", arr(
			obj("id", "{svc}", "groupId", "{g}", "slug", "web-{g8}", "activeDeploymentId", nil,
				"config", obj("managedBy", "group", "manifestName", "web", "componentKind", "worker"))))},

		// Links.
		{name: "no links", as: "owner", method: "GET", path: "/api/services/{svc}/common-env-links", status: 200, want: obj("links", arr(), "builtins", "*")},
		{name: "add links", as: "owner", method: "PATCH", path: "/api/services/{svc}/common-env-links", body: `{"add":["OAUTH_CLIENT_ID","oauth_client_secret"]}`, status: 200,
			want: obj("success", true, "diff", obj("added", arr("OAUTH_CLIENT_ID", "OAUTH_CLIENT_SECRET"), "removed", arr()),
				"links", arr(link("OAUTH_CLIENT_ID", true), link("OAUTH_CLIENT_SECRET", true)))},
		{name: "add again", as: "owner", method: "PATCH", path: "/api/services/{svc}/common-env-links", body: `{"add":["OAUTH_CLIENT_ID","OAUTH_CLIENT_SECRET"]}`, status: 200,
			want: obj("diff", obj("added", arr(), "removed", arr()))},
		{name: "link without a value", as: "owner", method: "PATCH", path: "/api/services/{svc}/common-env-links", body: `{"add":["NOT_STORED"]}`, status: 200,
			want: obj("links", arr(link("NOT_STORED", false), link("OAUTH_CLIENT_ID", true), link("OAUTH_CLIENT_SECRET", true)))},
		{name: "unlink", as: "owner", method: "PATCH", path: "/api/services/{svc}/common-env-links", body: `{"remove":["not_stored"]}`, status: 200,
			want: obj("diff", obj("added", arr(), "removed", arr("NOT_STORED")))},
		{name: "invalid link name", as: "owner", method: "PATCH", path: "/api/services/{svc}/common-env-links", body: `{"add":["1bad"]}`, status: 400, want: apiErr("BAD_REQUEST", "Invalid environment variable name: 1bad")},
		{name: "empty patch", as: "owner", method: "PATCH", path: "/api/services/{svc}/common-env-links", body: `{}`, status: 400, want: apiErr("BAD_REQUEST", "one of add/remove/set must be provided")},
		{name: "add not a list", as: "owner", method: "PATCH", path: "/api/services/{svc}/common-env-links", body: `{"add":"X"}`, status: 422, want: validationErr},
		{name: "add and set", as: "owner", method: "PATCH", path: "/api/services/{svc}/common-env-links", body: `{"add":["X"],"set":["Y"]}`, status: 400, want: apiErr("BAD_REQUEST", "set cannot be combined with add/remove")},
		{name: "add and remove", as: "owner", method: "PATCH", path: "/api/services/{svc}/common-env-links", body: `{"add":["X"],"remove":["x"]}`, status: 400, want: apiErr("BAD_REQUEST", "Cannot add and remove the same key: X")},
		{name: "access token", as: "owner", method: "PATCH", path: "/api/services/{svc}/common-env-links", body: `{"add":["TAKOS_ACCESS_TOKEN"]}`, status: 400, want: apiErr("BAD_REQUEST", "TAKOS_ACCESS_TOKEN requires builtins.TAKOS_ACCESS_TOKEN.scopes when first linked")},
		{name: "patch not JSON", as: "owner", method: "PATCH", path: "/api/services/{svc}/common-env-links", body: `bad`, status: 500, want: internalErr},
		{name: "unknown service", as: "owner", method: "GET", path: "/api/services/nonexist1234/common-env-links", status: 404, want: apiErr("NOT_FOUND", "Service not found")},

		// A group apply adopts the service and snapshots the links:
		// plain values in clear, secrets masked, env_vars_masked shows
		// the ends of every value longer than 8.
		{name: "deploy", deploy: "app"},
		{name: "adopted", as: "owner", method: "GET", path: "/api/spaces/me/groups/{g}/services", status: 200, want: obj("services", arr(
			obj("id", "{svc}", "status", "deployed", "activeDeploymentId", "*", "config", obj("managedBy", "group", "manifestName", "web", "componentKind", "worker")))),
			save: map[string]string{"dep": "services.0.activeDeploymentId"}},
		{name: "deployment", as: "owner", method: "GET", path: "/api/services/{svc}/deployments/{dep}", status: 200, want: obj("deployment", obj(
			"id", "{dep}", "service_id", "{svc}", "routing_status", "active",
			"bindings", arr(obj("type", "plain_text", "name", "OAUTH_CLIENT_ID", "text", "cid-1"), obj("type", "secret_text", "name", "OAUTH_CLIENT_SECRET", "text", "********")),
			"env_vars_masked", obj("OAUTH_CLIENT_ID", "****", "OAUTH_CLIENT_SECRET", "s3****ue")))},
		{name: "unknown deployment", as: "owner", method: "GET", path: "/api/services/{svc}/deployments/zzzzzzzzzzzz", status: 404, want: apiErr("NOT_FOUND", "Deployment not found")},
		// An apply of the same workload spec deploys nothing, even after
		// a linked value changed: the old snapshot stays active.
		{name: "deploy the same again", deploy: "app"},
		{name: "same deployment", as: "owner", method: "GET", path: "/api/spaces/me/groups/{g}/services", status: 200, want: obj("services", arr(
			obj("id", "{svc}", "activeDeploymentId", "{dep}")))},
		{name: "a value changes", as: "owner", method: "PUT", path: env, body: `{"name":"OAUTH_CLIENT_ID","value":"cid-9"}`, status: 200, want: successTrue},
		{name: "deploy after the change", deploy: "app"},
		{name: "after the change", as: "owner", method: "GET", path: "/api/spaces/me/groups/{g}/services", status: 200, want: obj("services", arr(
			obj("id", "{svc}", "activeDeploymentId", "{dep}")))},
		{name: "its env", as: "owner", method: "GET", path: "/api/services/{svc}/deployments/{dep}", status: 200, want: obj("deployment", obj(
			"bindings", arr(obj("type", "plain_text", "name", "OAUTH_CLIENT_ID", "text", "cid-1"), "*")))},

		// Roles in a team space: a refused role is a 404, never a 403.
		{name: "admin role", as: "admin", method: "GET", path: "/api/spaces/{team}", status: 200, want: obj("space", obj("id", "{team}", "kind", "team"), "role", "admin")},
		{name: "editor role", as: "editor", method: "GET", path: "/api/spaces/{team}", status: 200, want: obj("role", "editor")},
		{name: "admin writes env", as: "admin", method: "PUT", path: "/api/spaces/{team}/common-env", body: `{"name":"T","value":"v"}`, status: 200, want: successTrue},
		{name: "editor cannot", as: "editor", method: "PUT", path: "/api/spaces/{team}/common-env", body: `{"name":"T","value":"v"}`, status: 404, want: spaceNotFound},
		{name: "editor cannot delete", as: "editor", method: "DELETE", path: "/api/spaces/{team}/common-env/T", status: 404, want: spaceNotFound},
		{name: "viewer reads env", as: "viewer", method: "GET", path: "/api/spaces/{team}/common-env", status: 200, want: obj("env", arr(obj("name", "T", "value", "v")))},
		{name: "editor creates a group", as: "editor", method: "POST", path: "/api/spaces/{team}/groups", body: `{"name":"team-app"}`, status: 201,
			want: obj("name", "team-app"), save: map[string]string{"tg": "id"}},
		{name: "viewer cannot", as: "viewer", method: "POST", path: "/api/spaces/{team}/groups", body: `{"name":"v-app"}`, status: 404, want: spaceNotFound},
		{name: "editor creates a service", as: "editor", method: "POST", path: "/api/services", body: `{"space_id":"{team}","group_id":"{tg}","slug":"t-{g8}","config":` + workerConfig + `}`, status: 201,
			want: obj("service", obj("group_id", "{tg}")), save: map[string]string{"tsvc": "service.id"}},
		{name: "viewer cannot create", as: "viewer", method: "POST", path: "/api/services", body: `{"space_id":"{team}","slug":"v-{g8}"}`, status: 404,
			want: apiErr("NOT_FOUND", "Space not found or insufficient permissions")},
		{name: "editor links", as: "editor", method: "PATCH", path: "/api/services/{tsvc}/common-env-links", body: `{"add":["T"]}`, status: 200, want: obj("diff", obj("added", arr("T")))},
		{name: "viewer reads links", as: "viewer", method: "GET", path: "/api/services/{tsvc}/common-env-links", status: 200, want: obj("links", arr(link("T", true)))},
		{name: "editor, access token", as: "editor", method: "PATCH", path: "/api/services/{tsvc}/common-env-links", body: `{"add":["TAKOS_ACCESS_TOKEN"]}`, status: 400, want: apiErr("BAD_REQUEST", "Service not found")},
		// builtins touches the access token only when it names it.
		{name: "editor, empty builtins", as: "editor", method: "PATCH", path: "/api/services/{tsvc}/common-env-links", body: `{"add":["U"],"builtins":{}}`, status: 200,
			want: obj("diff", obj("added", arr("U"), "removed", arr()))},
		{name: "editor, builtins", as: "editor", method: "PATCH", path: "/api/services/{tsvc}/common-env-links", body: `{"add":["V"],"builtins":{"TAKOS_ACCESS_TOKEN":{"scopes":["x"]}}}`, status: 400,
			want: apiErr("BAD_REQUEST", "Service not found")},
		{name: "null builtins", as: "owner", method: "PATCH", path: "/api/services/{tsvc}/common-env-links", body: `{"add":["V"],"builtins":null}`, status: 422, want: validationErr},
		{name: "no scopes", as: "owner", method: "PATCH", path: "/api/services/{tsvc}/common-env-links", body: `{"add":["V"],"builtins":{"TAKOS_ACCESS_TOKEN":{"scopes":[]}}}`, status: 422, want: validationErr},
		{name: "scope not a string", as: "owner", method: "PATCH", path: "/api/services/{tsvc}/common-env-links", body: `{"add":["V"],"builtins":{"TAKOS_ACCESS_TOKEN":{"scopes":[1]}}}`, status: 422, want: validationErr},
		{name: "null access token", as: "owner", method: "PATCH", path: "/api/services/{tsvc}/common-env-links", body: `{"add":["V"],"builtins":{"TAKOS_ACCESS_TOKEN":null}}`, status: 422, want: validationErr},
		{name: "builtins not an object", as: "owner", method: "PATCH", path: "/api/services/{tsvc}/common-env-links", body: `{"add":["V"],"builtins":[]}`, status: 422, want: validationErr},
		{name: "scopes without the link", as: "owner", method: "PATCH", path: "/api/services/{tsvc}/common-env-links", body: `{"add":["V"],"builtins":{"TAKOS_ACCESS_TOKEN":{"scopes":["openid"]}}}`, status: 400,
			want: apiErr("BAD_REQUEST", "builtins.TAKOS_ACCESS_TOKEN requires TAKOS_ACCESS_TOKEN to be linked")},
		{name: "other builtins", as: "owner", method: "PATCH", path: "/api/services/{tsvc}/common-env-links", body: `{"remove":["U"],"builtins":{"OTHER":5}}`, status: 200,
			want: obj("diff", obj("added", arr(), "removed", arr("U")))},
		{name: "viewer cannot link", as: "viewer", method: "PATCH", path: "/api/services/{tsvc}/common-env-links", body: `{"add":["U"]}`, status: 404, want: apiErr("NOT_FOUND", "Service not found")},
		{name: "team owner reads links", as: "owner", method: "GET", path: "/api/services/{tsvc}/common-env-links", status: 200, want: obj("links", "*")},
		{name: "not a member", as: "admin", method: "GET", path: "/api/spaces/{me}/common-env", status: 404, want: spaceNotFound},

		// Paths next to the served ones, and answers the fake gives that
		// the steps above do not reach.
		{name: "list spaces", as: "viewer", method: "GET", path: "/api/spaces", status: 200, want: obj("spaces", arr("*", "*"))},
		{name: "spaces with a slash", as: "owner", method: "GET", path: "/api/spaces/", status: 404, want: apiErr("NOT_FOUND", "Not Found")},
		{name: "unknown space route", as: "owner", method: "GET", path: "/api/spaces/me/nothing", status: 404, want: apiErr("NOT_FOUND", "Not Found")},
		{name: "POST a space", as: "owner", method: "POST", path: "/api/spaces/me", body: `{}`, status: 404, want: apiErr("NOT_FOUND", "Not Found")},
		{name: "group by name", as: "owner", method: "GET", path: "/api/spaces/me/groups/app/services", status: 404, want: apiErr("NOT_FOUND", "Group not found")},
		{name: "services with a slash", as: "owner", method: "GET", path: "/api/spaces/me/groups/{g}/services/", status: 404, want: apiErr("NOT_FOUND", "Not Found")},
		{name: "number group name", as: "owner", method: "POST", path: "/api/spaces/me/groups", body: `{"name":5}`, status: 400, want: apiErr("BAD_REQUEST", "name is required")},
		{name: "null provider and env", as: "owner", method: "POST", path: "/api/spaces/me/groups", body: `{"name":"q","provider":null,"env":null}`, status: 201, want: obj("id", "*", "name", "q")},
		{name: "number provider", as: "owner", method: "POST", path: "/api/spaces/me/groups", body: `{"name":"q2","provider":5}`, status: 400, want: apiErr("BAD_REQUEST", "Invalid provider: 5")},
		{name: "viewer, unknown deployment", as: "viewer", method: "GET", path: "/api/services/{tsvc}/deployments/zzzzzzzzzzzz", status: 404, want: apiErr("NOT_FOUND", "Deployment not found")},
		{name: "links unauthenticated", method: "GET", path: "/api/services/{svc}/common-env-links", status: 401, want: apiErr("UNAUTHORIZED", "Authentication required")},
		{name: "remove what is not linked", as: "owner", method: "PATCH", path: "/api/services/{svc}/common-env-links", body: `{"remove":["NEVER_LINKED"]}`, status: 200,
			want: obj("diff", obj("added", arr(), "removed", arr()), "links", arr(link("OAUTH_CLIENT_ID", true), link("OAUTH_CLIENT_SECRET", true)))},
		// set drops the other links, yet its diff lists no removal.
		{name: "set links", as: "owner", method: "PATCH", path: "/api/services/{svc}/common-env-links", body: `{"set":["OAUTH_CLIENT_ID"]}`, status: 200,
			want: obj("success", true, "diff", obj("added", arr(), "removed", arr()), "links", arr(link("OAUTH_CLIENT_ID", true)))},
		{name: "plain becomes secret", as: "owner", method: "PUT", path: env, body: `{"name":"OAUTH_CLIENT_ID","value":"cid-2","secret":true}`, status: 200, want: successTrue},
		{name: "secret becomes plain", as: "owner", method: "PUT", path: env, body: `{"name":"OAUTH_CLIENT_ID","value":"cid-3"}`, status: 200, want: successTrue},
		{name: "list after the flips", as: "owner", method: "GET", path: env, status: 200, want: obj("env", arr(
			obj("name", "A1"), obj("name", "AB"), obj("name", "OAUTH_CLIENT_ID", "secret", false, "value", "cid-3"), obj("name", "OAUTH_CLIENT_SECRET", "secret", true))),
			save: map[string]string{"a1t": "env.0.updatedAt"}},
		// The same value again changes nothing, not even updatedAt.
		{name: "same value again", as: "owner", method: "PUT", path: env, body: `{"name":"A1","value":"x"}`, status: 200, want: successTrue},
		{name: "updatedAt kept", as: "owner", method: "GET", path: env, status: 200, want: obj("env", arr(
			obj("name", "A1", "updatedAt", "{a1t}"), "*", "*", "*"))},

		// A workload with no service yet: the engine makes one and names
		// it as ManagedSlug does.
		{name: "deploy a new workload", deploy: "app2"},
		{name: "engine's service", as: "owner", method: "GET", path: "/api/spaces/me/groups/{g2}/services", status: 200, want: obj("services", arr(
			obj("groupId", "{g2}", "slug", "{managed}", "hostname", "{managed}.{domain}", "status", "deployed", "activeDeploymentId", "*",
				"config", obj("managedBy", "group", "manifestName", "web", "componentKind", "worker"))))},
	}
}

func runParity(t *testing.T, tg *parityTarget) {
	vars := map[string]string{"team": tg.team, "domain": tg.domain}
	for _, st := range parityTable() {
		if st.deploy != "" {
			tg.deploy(t, vars["me"], st.deploy)
			continue
		}
		path, body := expand(st.path, vars), expand(st.body, vars)
		status, got := tcall(t, tg, st.as, st.method, path, body)
		if status != st.status {
			t.Fatalf("%s: %s %s = %d %v, want %d", st.name, st.method, path, status, got, st.status)
		}
		if why := match(st.want, got, vars, ""); why != "" {
			t.Fatalf("%s: %s %s: %s\n got %v", st.name, st.method, path, why, got)
		}
		for k, p := range st.save {
			v, ok := lookup(got, p)
			if !ok {
				t.Fatalf("%s: no %s in %v", st.name, p, got)
			}
			vars[k] = fmt.Sprint(v)
			switch k {
			case "g":
				vars["g8"] = vars[k][:8]
			case "g2":
				vars["managed"] = ManagedSlug(vars[k], "staging", "worker", "web")
			}
		}
	}
}

func expand(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

func match(want, got any, vars map[string]string, at string) string {
	switch w := want.(type) {
	case string:
		if w == "*" {
			return ""
		}
		if g, ok := got.(string); !ok || g != expand(w, vars) {
			return fmt.Sprintf("%s = %#v, want %q", at, got, expand(w, vars))
		}
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s = %#v, want an object", at, got)
		}
		for k, wv := range w {
			gv, present := g[k]
			if !present {
				return fmt.Sprintf("%s.%s is missing", at, k)
			}
			if why := match(wv, gv, vars, at+"."+k); why != "" {
				return why
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Sprintf("%s = %#v, want %d elements", at, got, len(w))
		}
		for i := range w {
			if why := match(w[i], g[i], vars, fmt.Sprintf("%s[%d]", at, i)); why != "" {
				return why
			}
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			return fmt.Sprintf("%s = %#v, want %#v", at, got, want)
		}
	}
	return ""
}

func lookup(v any, path string) (any, bool) {
	for _, p := range strings.Split(path, ".") {
		switch c := v.(type) {
		case map[string]any:
			v = c[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, v != nil
}
