package brokerstate

import (
	"context"
	"sync"
	"time"
)

// maxMemoryKeys bounds the maps of Memory: past it, entries that no
// longer decide anything (expired reservations, keys whose budget is full
// again) are dropped.
const maxMemoryKeys = 10_000

// Memory is the Store of one process.
type Memory struct {
	limit Limit
	now   func() time.Time

	mu      sync.Mutex
	seen    map[string]time.Time // id → forget after
	inserts int
	tat     map[string]time.Time // key → GCRA theoretical arrival time
}

// NewMemory returns a Store held in this process; now is the clock of
// Reserve (default time.Now).
func NewMemory(limit Limit, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{limit: limit, now: now, seen: map[string]time.Time{}, tat: map[string]time.Time{}}
}

func (m *Memory) Reserve(_ context.Context, id string, until time.Time) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.seen[id]; ok && now.Before(t) {
		return false, nil
	}
	m.seen[id] = until
	// Expired entries are dropped every 1024 inserts: the map holds at
	// most the tokens of the last few minutes.
	if m.inserts++; m.inserts%1024 == 0 {
		for k, t := range m.seen {
			if !now.Before(t) {
				delete(m.seen, k)
			}
		}
	}
	return true, nil
}

// Allow runs GCRA: each exchange moves the key's theoretical arrival time
// (TAT) one interval on; an exchange is allowed while TAT stays within
// burst intervals of now.
func (m *Memory) Allow(_ context.Context, key string, now time.Time) (bool, time.Duration, error) {
	if m.limit.PerMinute <= 0 {
		return true, 0, nil
	}
	interval, tolerance := m.limit.gcra()
	m.mu.Lock()
	defer m.mu.Unlock()
	tat, ok := m.tat[key]
	if !ok && len(m.tat) >= maxMemoryKeys {
		// A key whose TAT has passed behaves exactly like a new one.
		for k, t := range m.tat {
			if !t.After(now) {
				delete(m.tat, k)
			}
		}
	}
	if tat.Before(now) {
		tat = now
	}
	next := tat.Add(interval)
	if allowAt := next.Add(-tolerance); allowAt.After(now) {
		return false, allowAt.Sub(now), nil
	}
	m.tat[key] = next
	return true, 0, nil
}

func (m *Memory) Ping(context.Context) error { return nil }

func (m *Memory) Describe() string {
	return "in this process's memory: single replica (a second replica would accept tokens already exchanged here and grant its own rate budget; pass --redis-url to run several)"
}

func (m *Memory) Shared() bool { return false }

func (m *Memory) Close() error { return nil }
