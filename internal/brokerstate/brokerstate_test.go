package brokerstate

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/brokerstate/brokerstatetest"
)

// replicas returns n stores that stand for n broker replicas: for Redis,
// n clients of one server (each its own connection pool, as in n
// processes); for Memory, one shared store (what one process does), so
// that both kinds run the same assertions.
type kind struct {
	name     string
	replicas func(t *testing.T, n int, l Limit, now func() time.Time) []Store
}

func kinds() []kind {
	return []kind{
		{"memory", func(t *testing.T, n int, l Limit, now func() time.Time) []Store {
			m := NewMemory(l, now)
			out := make([]Store, n)
			for i := range out {
				out[i] = m
			}
			return out
		}},
		{"redis", func(t *testing.T, n int, l Limit, now func() time.Time) []Store {
			srv := brokerstatetest.Start(t)
			out := make([]Store, n)
			for i := range out {
				r, err := NewRedis(srv.URL, l, now)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { r.Close() })
				out[i] = r
			}
			return out
		}},
	}
}

func TestReserveOnce(t *testing.T) {
	ctx := context.Background()
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) {
			s := k.replicas(t, 2, Limit{}, nil)
			until := time.Now().Add(time.Minute)
			for i, want := range []bool{true, false} {
				for r, st := range s {
					got, err := st.Reserve(ctx, "iss jti-1", until)
					if err != nil {
						t.Fatal(err)
					}
					if wantHere := want && r == 0; got != wantHere {
						t.Errorf("call %d on replica %d: Reserve = %v, want %v", i, r, got, wantHere)
					}
				}
			}
			if ok, err := s[1].Reserve(ctx, "iss jti-2", until); err != nil || !ok {
				t.Errorf("another id on replica 1: Reserve = %v, %v; want true", ok, err)
			}
		})
	}
}

// TestReserveConcurrent: of many concurrent reservations of one id spread
// over replicas, exactly one wins.
func TestReserveConcurrent(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) {
			s := k.replicas(t, 4, Limit{}, nil)
			until := time.Now().Add(time.Minute)
			for round := range 5 {
				id := "iss race-" + string(rune('a'+round))
				var wins atomic.Int32
				var wg sync.WaitGroup
				for i := range 40 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						ok, err := s[i%len(s)].Reserve(context.Background(), id, until)
						if err != nil {
							t.Error(err)
						}
						if ok {
							wins.Add(1)
						}
					}()
				}
				wg.Wait()
				if n := wins.Load(); n != 1 {
					t.Errorf("round %d: %d reservations won, want exactly 1", round, n)
				}
			}
		})
	}
}

// TestReserveLifetime: an entry lives as long as the token (until), no
// longer, so the store does not grow with old tokens.
func TestReserveLifetime(t *testing.T) {
	ctx := context.Background()
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) {
			s := k.replicas(t, 1, Limit{}, nil)[0]
			until := time.Now().Add(time.Second)
			if ok, _ := s.Reserve(ctx, "short", until); !ok {
				t.Fatal("first Reserve = false")
			}
			if ok, _ := s.Reserve(ctx, "short", until); ok {
				t.Fatal("second Reserve before until = true")
			}
			time.Sleep(time.Until(until) + 50*time.Millisecond)
			if ok, err := s.Reserve(ctx, "short", time.Now().Add(time.Minute)); err != nil || !ok {
				t.Errorf("Reserve after until = %v, %v; want true (the entry should have expired)", ok, err)
			}
		})
	}
}

func TestAllowBurstAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) {
			s := k.replicas(t, 3, Limit{PerMinute: 1, Burst: 3}, nil)
			now := time.Now()
			for i := range 3 {
				ok, _, err := s[i].Allow(ctx, "repo-1", now)
				if err != nil || !ok {
					t.Fatalf("exchange %d on replica %d: Allow = %v, %v; want allowed within the burst", i, i, ok, err)
				}
			}
			for i := range 3 {
				ok, wait, err := s[i].Allow(ctx, "repo-1", now)
				if err != nil || ok {
					t.Fatalf("exchange past the burst on replica %d: Allow = %v, %v; want refused", i, ok, err)
				}
				if wait <= 55*time.Second || wait > time.Minute {
					t.Errorf("replica %d: retry after %v, want just under a minute (one exchange a minute)", i, wait)
				}
			}
			if ok, _, err := s[0].Allow(ctx, "repo-2", now); err != nil || !ok {
				t.Errorf("another repository: Allow = %v, %v; want allowed", ok, err)
			}
		})
	}
}

// TestAllowRefills: a refused key is allowed again once the retry time has
// passed, and not before.
func TestAllowRefills(t *testing.T) {
	ctx := context.Background()
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) {
			s := k.replicas(t, 2, Limit{PerMinute: 60, Burst: 1}, nil)
			if ok, _, err := s[0].Allow(ctx, "r", time.Now()); err != nil || !ok {
				t.Fatalf("first: %v %v", ok, err)
			}
			ok, wait, err := s[1].Allow(ctx, "r", time.Now())
			if err != nil || ok || wait <= 0 || wait > time.Second {
				t.Fatalf("second at once: Allow = %v, wait %v, %v; want refused with a wait in (0, 1s]", ok, wait, err)
			}
			time.Sleep(wait + 30*time.Millisecond)
			if ok, _, err := s[1].Allow(ctx, "r", time.Now()); err != nil || !ok {
				t.Errorf("after the wait: Allow = %v, %v; want allowed", ok, err)
			}
		})
	}
}

// TestAllowHighRate: a rate beyond the stores' microsecond resolution
// still allows (the interval is clamped, not zero).
func TestAllowHighRate(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) {
			s := k.replicas(t, 1, Limit{PerMinute: 1 << 30, Burst: 5}, nil)[0]
			for i := range 5 {
				if ok, _, err := s.Allow(context.Background(), "r", time.Now()); err != nil || !ok {
					t.Fatalf("exchange %d: Allow = %v, %v", i, ok, err)
				}
			}
		})
	}
}

func TestAllowUnlimited(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) {
			s := k.replicas(t, 1, Limit{PerMinute: -1}, nil)[0]
			for i := range 100 {
				if ok, _, err := s.Allow(context.Background(), "r", time.Now()); err != nil || !ok {
					t.Fatalf("exchange %d: Allow = %v, %v with no limit", i, ok, err)
				}
			}
		})
	}
}

// TestRedisDown: with the server gone every call fails, quickly, and
// Reserve never answers true; once it is back, the store works again.
func TestRedisDown(t *testing.T) {
	srv := brokerstatetest.Start(t)
	s, err := NewRedis(srv.URL, Limit{PerMinute: 30, Burst: 10}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	start := time.Now()
	if ok, err := s.Reserve(ctx, "iss j", time.Now().Add(time.Minute)); err == nil || ok {
		t.Errorf("Reserve with Redis down = %v, %v; want false and an error", ok, err)
	}
	if ok, _, err := s.Allow(ctx, "r", time.Now()); err == nil || ok {
		t.Errorf("Allow with Redis down = %v, %v; want false and an error", ok, err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping with Redis down succeeded")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("three calls to a dead store took %v; each should fail within a few seconds", took)
	}
	srv.Restart()
	if ok, err := s.Reserve(ctx, "iss j", time.Now().Add(time.Minute)); err != nil || !ok {
		t.Errorf("Reserve after the restart = %v, %v; want true", ok, err)
	}
}

// TestReserveRetryIsIdempotent: the client retries a call once when its
// reply is lost; the retry (same nonce) must not see the first attempt's
// entry as a replay, and another call must.
func TestReserveRetryIsIdempotent(t *testing.T) {
	srv := brokerstatetest.Start(t)
	c := srv.Client()
	defer c.Close()
	ctx := context.Background()
	run := func(nonce string) int {
		n, err := reserveScript.Run(ctx, c, []string{KeyPrefix + "replay:x"}, nonce, 60000).Int()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got := []int{run("n1"), run("n1"), run("n2")}; got[0] != 1 || got[1] != 1 || got[2] != 0 {
		t.Errorf("reserve script with nonces n1, n1 (retry), n2 = %v, want [1 1 0]", got)
	}
}

// TestRedisKeys: keys are prefixed and hashed (nothing of the token or
// repository in a key name), and they expire with what they decide.
func TestRedisKeys(t *testing.T) {
	srv := brokerstatetest.Start(t)
	s, err := NewRedis(srv.URL, Limit{PerMinute: 6, Burst: 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	if ok, err := s.Reserve(ctx, "https://token.actions.githubusercontent.com jti-secretish", time.Now().Add(90*time.Second)); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if ok, _, err := s.Allow(ctx, "octo/repo", time.Now()); err != nil || !ok {
		t.Fatal(ok, err)
	}
	c := srv.Client()
	defer c.Close()
	keys, err := c.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("keys = %v, want one replay and one rate key", keys)
	}
	for _, key := range keys {
		if !strings.HasPrefix(key, KeyPrefix) || strings.Contains(key, "jti") || strings.Contains(key, "octo") {
			t.Errorf("key %q: want %s…<sha256>, with nothing of the id", key, KeyPrefix)
		}
		ttl, err := c.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		max := 90 * time.Second // the token's remaining lifetime
		if strings.Contains(key, ":rate:") {
			max = 10 * time.Second // one interval at 6 a minute
		}
		if ttl <= 0 || ttl > max+time.Second {
			t.Errorf("key %s expires in %v, want within (0, %v]", key, ttl, max)
		}
	}
}

func TestNewRedisNeverShowsThePassword(t *testing.T) {
	for _, u := range []string{
		"redis://:hunter2pw@127.0.0.1:6379/notadb",
		"redis://user:hunter2pw@127.0.0.1:6379/0/extra",
		"redis://:hunter2pw@[::1:6379/0",
		"http://:hunter2pw@127.0.0.1:6379/0",
	} {
		_, err := NewRedis(u, Limit{}, nil)
		if err == nil {
			t.Errorf("NewRedis(%q) succeeded; want an error", u)
			continue
		}
		if strings.Contains(err.Error(), "hunter2pw") {
			t.Errorf("NewRedis(%q) error shows the password: %v", u, err)
		}
	}
	s, err := NewRedis("rediss://user:hunter2pw@redis.internal:6380/3", Limit{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if d := s.Describe(); strings.Contains(d, "hunter2pw") || !strings.Contains(d, "redis.internal:6380") || !strings.Contains(d, "database 3") || !strings.Contains(d, "over TLS") {
		t.Errorf("Describe() = %q; want the address, database and TLS, never the password", d)
	}
}

func TestRedisWrongPassword(t *testing.T) {
	srv := brokerstatetest.Start(t)
	s, err := NewRedis(strings.Replace(srv.URL, srv.Password, "wrong-password", 1), Limit{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Ping(context.Background())
	if err == nil {
		t.Fatal("Ping with a wrong password succeeded")
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Errorf("error shows the password: %v", err)
	}
}

// TestMemoryForgets: Memory drops decided-out entries once it holds many
// keys, so a flood of repositories does not grow it without bound.
func TestMemoryForgets(t *testing.T) {
	m := NewMemory(Limit{PerMinute: 60, Burst: 1}, nil)
	now := time.Now()
	for i := range maxMemoryKeys {
		m.Allow(context.Background(), strconv.Itoa(i), now)
	}
	later := now.Add(2 * time.Second) // every key's TAT has passed
	m.Allow(context.Background(), "new", later)
	if n := len(m.tat); n != 1 {
		t.Errorf("after the sweep Memory holds %d keys, want 1", n)
	}
}

// BenchmarkStore measures what the state adds to one exchange: one Allow
// and one Reserve, in memory and against a real redis-server on loopback,
// with the p50 and p99 of the pair.
//
//	go test ./internal/brokerstate -run '^$' -bench BenchmarkStore -benchtime 5000x
func BenchmarkStore(b *testing.B) {
	for _, name := range []string{"memory", "redis"} {
		b.Run(name, func(b *testing.B) {
			l := Limit{PerMinute: 1 << 20, Burst: 1 << 20}
			var s Store = NewMemory(l, nil)
			if name == "redis" {
				srv := brokerstatetest.Start(b)
				r, err := NewRedis(srv.URL, l, nil)
				if err != nil {
					b.Fatal(err)
				}
				defer r.Close()
				s = r
			}
			ctx := context.Background()
			until := time.Now().Add(time.Minute)
			s.Allow(ctx, "warm", time.Now()) // connection, script load
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if ok, _, err := s.Allow(ctx, "repo", start); err != nil || !ok {
					b.Fatal(ok, err)
				}
				if ok, err := s.Reserve(ctx, "iss jti-"+strconv.Itoa(i), until); err != nil || !ok {
					b.Fatal(ok, err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2])/1e6, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100])/1e6, "p99-ms")
		})
	}
}
