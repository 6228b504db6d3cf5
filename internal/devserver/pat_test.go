package devserver

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeClock is a settable clock for WithClock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var expiredPAT = map[string]any{"error": "invalid_token", "error_description": "Invalid or expired PAT"}

func TestPATLifecycle(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 12, 3, 8, 42, 3, 0, time.UTC)}
	s := newTest(t, WithClock(clock.Now))

	status, _, m := call(t, s, "POST", PATsPath, s.Token, `{"name":"ci","expiresAt":"2026-12-03T08:52:03Z"}`)
	if status != 201 {
		t.Fatalf("POST = %d %v, want 201", status, m)
	}
	tok, _ := m["token"].(string)
	if !strings.HasPrefix(tok, "tak_pat_") || m["token_prefix"] != tok[:12] {
		t.Fatalf("reply token %q / prefix %v, want tak_pat_… with its prefix", tok, m["token_prefix"])
	}
	want := map[string]any{"id": m["id"], "name": "ci", "token": tok, "token_prefix": tok[:12], "scopes": "*",
		"expires_at": "2026-12-03T08:52:03.000Z", "created_at": "2026-12-03T08:42:03.000Z"}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("POST reply (-want +got):\n%s", diff)
	}
	if got := s.IssuedPATs(); len(got) != 1 || got[0] != tok {
		t.Errorf("IssuedPATs() = %d values, want the one token", len(got))
	}

	// The new PAT acts as the owner; the list never shows a value.
	if status, _, _ := call(t, s, "GET", "/api/me/oauth/clients", tok, ""); status != 200 {
		t.Errorf("GET clients with the new PAT = %d, want 200", status)
	}
	_, _, list := call(t, s, "GET", PATsPath, tok, "")
	wantList := map[string]any{"tokens": []any{map[string]any{"id": m["id"], "name": "ci", "token_prefix": tok[:12], "scopes": "*",
		"expires_at": "2026-12-03T08:52:03.000Z", "last_used_at": "2026-12-03T08:42:03.000Z", "created_at": "2026-12-03T08:42:03.000Z"}}}
	if diff := cmp.Diff(wantList, list); diff != "" {
		t.Errorf("GET list (-want +got):\n%s", diff)
	}

	// Expiry is enforced on every /api/me route; the owner's PAT still works.
	clock.Add(10 * time.Minute)
	for _, path := range []string{"/api/me/oauth/clients", PATsPath} {
		status, _, body := call(t, s, "GET", path, tok, "")
		if status != 401 || !cmp.Equal(body, expiredPAT) {
			t.Errorf("GET %s with the expired PAT = %d %v, want 401 %v", path, status, body, expiredPAT)
		}
	}
	id := m["id"].(string)
	if status, _, body := call(t, s, "DELETE", PATsPath+"/"+id, s.Token, ""); status != 200 || body["success"] != true {
		t.Errorf("DELETE = %d %v, want 200 success", status, body)
	}
	if status, _, _ := call(t, s, "DELETE", PATsPath+"/"+id, s.Token, ""); status != 404 {
		t.Errorf("second DELETE = %d, want 404", status)
	}
	if p := s.PATs(); len(p) != 1 || !p[0].Revoked {
		t.Errorf("PATs() = %+v, want one revoked PAT", p)
	}
	if _, _, list := call(t, s, "GET", PATsPath, s.Token, ""); len(list["tokens"].([]any)) != 0 {
		t.Errorf("list after revoke = %v, want empty", list)
	}
}

// TestPATSnakeCaseNeverExpires pins the real server's quirk: expires_at in
// the request is ignored and the PAT never expires.
func TestPATSnakeCaseNeverExpires(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)}
	s := newTest(t, WithClock(clock.Now))
	status, _, m := call(t, s, "POST", PATsPath, s.Token, `{"name":"ci","expires_at":"2026-12-03T08:10:00Z"}`)
	if status != 201 || m["expires_at"] != nil {
		t.Fatalf("POST = %d %v, want 201 with expires_at null", status, m)
	}
	clock.Add(1000 * time.Hour)
	if status, _, _ := call(t, s, "GET", "/api/me/oauth/clients", m["token"].(string), ""); status != 200 {
		t.Errorf("GET with a snake_case PAT after 1000 h = %d, want 200 (it never expires)", status)
	}
}

func TestPATValidation(t *testing.T) {
	s := newTest(t)
	for _, tc := range []struct{ body, msg string }{
		{`{}`, "name is required"},
		{`{"name":"  "}`, "name is required"},
		{`{"name":1}`, "name is required"},
		{`{"name":"x","expiresAt":"tomorrow"}`, "expiresAt must be an ISO 8601 date"},
		{`nope`, "Invalid JSON body"},
	} {
		status, _, m := call(t, s, "POST", PATsPath, s.Token, tc.body)
		if status != 400 || !cmp.Equal(m, errEnvelope("BAD_REQUEST", tc.msg)) {
			t.Errorf("POST %s = %d %v, want 400 %q", tc.body, status, m, tc.msg)
		}
	}
	if status, _, _ := call(t, s, "POST", PATsPath, "tak_pat_unknown", `{"name":"x"}`); status != 401 {
		t.Errorf("POST with an unknown PAT = %d, want 401", status)
	}
	if len(s.PATs()) != 0 {
		t.Errorf("refused requests stored %d PATs", len(s.PATs()))
	}
}
