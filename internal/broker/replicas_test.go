package broker

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/takos-dev/takos-apply/internal/brokerstate"
	"github.com/takos-dev/takos-apply/internal/brokerstate/brokerstatetest"
)

// replicaSet is n brokers behind one public URL (as behind a load
// balancer), each in its own server with its own Redis client, sharing
// one real redis-server, one GitHub issuer and one control plane.
type replicaSet struct {
	*fixture
	redis *brokerstatetest.Redis
	urls  []string // each replica's own address
}

func newReplicas(t *testing.T, n int, limit brokerstate.Limit) *replicaSet {
	t.Helper()
	redis := brokerstatetest.Start(t)
	state := func() brokerstate.Store {
		st, err := brokerstate.NewRedis(redis.URL, limit, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	rs := &replicaSet{redis: redis}
	rs.fixture = newFixture(t, testPolicy, func(c *Config) { c.State = state() })
	rs.urls = []string{rs.url}
	for range n - 1 {
		cfg := rs.cfg
		cfg.State = state()
		srv, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv.Handler())
		t.Cleanup(ts.Close)
		rs.urls = append(rs.urls, ts.URL)
	}
	return rs
}

// postTo sends an exchange to replica i.
func (rs *replicaSet) postTo(i int, tok string) answer {
	rs.t.Helper()
	req, err := http.NewRequest("POST", rs.urls[i]+TokenPath, strings.NewReader(exchangeForm(tok).Encode()))
	if err != nil {
		rs.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return rs.send(req)
}

// TestReplicasRefuseAReplayToAnother: a token exchanged at one replica is
// refused as a replay at every other.
func TestReplicasRefuseAReplayToAnother(t *testing.T) {
	rs := newReplicas(t, 3, brokerstate.Limit{PerMinute: -1})
	tok := rs.token(nil)
	if a := rs.postTo(0, tok); a.status != 200 {
		t.Fatalf("first exchange at replica 0 = %d %s", a.status, a.raw)
	}
	for i := 1; i < 3; i++ {
		a := rs.postTo(i, tok)
		if a.status != 400 || a.body["error"] != "invalid_grant" || !strings.Contains(a.raw, "already exchanged") {
			t.Errorf("replay at replica %d = %d %s, want invalid_grant: already exchanged", i, a.status, a.raw)
		}
	}
	// An access token issued by one replica works at the others (it is
	// signed with a key every replica derives from the same credential).
	access := rs.exchange(nil)
	for i := range rs.urls {
		req, _ := http.NewRequest("GET", rs.urls[i]+"/api/me/oauth/clients", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		if a := rs.send(req); a.status != 200 {
			t.Errorf("replica %d: list with another replica's token = %d %s", i, a.status, a.raw)
		}
	}
}

// TestReplicasGrantOneTokenOnce: concurrent exchanges of one token, spread
// over the replicas, are granted exactly once.
func TestReplicasGrantOneTokenOnce(t *testing.T) {
	rs := newReplicas(t, 2, brokerstate.Limit{PerMinute: -1})
	for round := range 3 {
		tok := rs.token(nil)
		var granted, replayed atomic.Int32
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				a := rs.postTo(i%2, tok)
				switch {
				case a.status == 200:
					granted.Add(1)
				case a.status == 400 && strings.Contains(a.raw, "already exchanged"):
					replayed.Add(1)
				default:
					t.Errorf("exchange = %d %s", a.status, a.raw)
				}
			}()
		}
		wg.Wait()
		if granted.Load() != 1 || replayed.Load() != 15 {
			t.Errorf("round %d: %d granted, %d refused as replays; want 1 and 15", round, granted.Load(), replayed.Load())
		}
	}
}

// TestReplicasShareTheRateLimit: the per-repository budget is one budget
// for all replicas, not one each.
func TestReplicasShareTheRateLimit(t *testing.T) {
	rs := newReplicas(t, 2, brokerstate.Limit{PerMinute: 1, Burst: 4})
	for i := range 4 {
		if a := rs.postTo(i%2, rs.token(nil)); a.status != 200 {
			t.Fatalf("exchange %d (within the burst) at replica %d = %d %s", i, i%2, a.status, a.raw)
		}
	}
	for i := range 2 {
		a := rs.postTo(i, rs.token(nil))
		if a.status != 429 || a.header.Get("Retry-After") == "" {
			t.Errorf("exchange past the shared burst at replica %d = %d %s, want 429 with Retry-After", i, a.status, a.raw)
		}
	}
	// Another repository has its own budget.
	other := func(c map[string]any) { c["repository_id"], c["repository"] = "987654321", "octo-org/other" }
	if a := rs.postTo(1, rs.token(other)); a.status == 429 {
		t.Errorf("another repository was limited: %s", a.raw)
	}
}

// TestReplicasRedisKilled: with Redis gone mid-run, every replica refuses
// exchanges with 503 and a log line; none grants without the replay check
// (a token exchanged before the crash stays refused), and access tokens
// already issued keep working (they need no shared state). Once Redis is
// back, exchanges are granted again.
func TestReplicasRedisKilled(t *testing.T) {
	rs := newReplicas(t, 2, brokerstate.Limit{PerMinute: 30, Burst: 10})
	used := rs.token(nil)
	if a := rs.postTo(0, used); a.status != 200 {
		t.Fatalf("exchange before the crash = %d %s", a.status, a.raw)
	}
	access := rs.exchange(nil)
	rs.redis.Kill()
	for i := range rs.urls {
		for _, tok := range []string{rs.token(nil), used} {
			a := rs.postTo(i, tok)
			if a.status != 503 || a.body["error"] != "temporarily_unavailable" || a.body["access_token"] != nil {
				t.Errorf("replica %d with Redis down = %d %s, want 503 temporarily_unavailable", i, a.status, a.raw)
			}
		}
	}
	if !strings.Contains(rs.audit.String(), `"level":"ERROR","msg":"shared state: the rate limit could not be checked; refused"`) {
		t.Errorf("no log line for the store failure:\n%s", rs.audit.String())
	}
	if a := rs.api(access, "GET", "/api/me/oauth/clients", ""); a.status != 200 {
		t.Errorf("an issued access token with Redis down = %d %s, want 200", a.status, a.raw)
	}
	if status, checks := rs.readyz(); status != 503 || checks["store"]["ok"] != false {
		t.Errorf("/readyz with Redis down = %d %v, want 503 naming the store", status, checks)
	}
	rs.redis.Restart()
	if status, checks := rs.readyz(); status != 200 {
		t.Errorf("/readyz after Redis came back = %d %v", status, checks)
	}
	if a := rs.postTo(1, rs.token(nil)); a.status != 200 {
		t.Errorf("exchange after Redis came back = %d %s", a.status, a.raw)
	}
}
