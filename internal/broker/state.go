package broker

import (
	"context"
	"sync"
	"time"
)

// The broker's state that must agree across replicas sits behind two
// small interfaces. The in-memory implementations below are exact for one
// process; an implementation over a shared store (Redis) makes N replicas
// enforce what one does. Every method may fail: the caller refuses the
// exchange (503) rather than granting without the check.

// ReplayCache remembers the subject tokens already exchanged.
type ReplayCache interface {
	// Reserve records id until the given time and reports whether it was
	// new. It is atomic: of concurrent calls with one id, one sees true.
	Reserve(ctx context.Context, id string, until time.Time) (bool, error)
}

// RateLimiter bounds exchanges per key (a repository).
type RateLimiter interface {
	// Allow takes one exchange from key's budget at now, or says how long
	// until one is available.
	Allow(ctx context.Context, key string, now time.Time) (ok bool, retryAfter time.Duration, err error)
}

// memoryReplay is the ReplayCache of one process.
type memoryReplay struct {
	now func() time.Time

	mu      sync.Mutex
	seen    map[string]time.Time // id → forget after
	inserts int
}

// NewMemoryReplayCache returns a ReplayCache held in this process.
func NewMemoryReplayCache(now func() time.Time) ReplayCache {
	if now == nil {
		now = time.Now
	}
	return &memoryReplay{now: now, seen: map[string]time.Time{}}
}

func (c *memoryReplay) Reserve(_ context.Context, id string, until time.Time) (bool, error) {
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.seen[id]; ok && now.Before(t) {
		return false, nil
	}
	c.seen[id] = until
	// Expired entries are dropped every 1024 inserts: the map holds at
	// most the tokens of the last few minutes.
	if c.inserts++; c.inserts%1024 == 0 {
		for k, t := range c.seen {
			if !now.Before(t) {
				delete(c.seen, k)
			}
		}
	}
	return true, nil
}

// memoryLimiter is a token bucket per key in this process: perMinute
// tokens refill continuously up to burst.
type memoryLimiter struct {
	perMinute float64
	burst     float64

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

// NewMemoryRateLimiter returns a RateLimiter held in this process;
// perMinute ≤ 0 allows everything.
func NewMemoryRateLimiter(perMinute, burst int) RateLimiter {
	return &memoryLimiter{perMinute: float64(perMinute), burst: float64(max(burst, 1)), buckets: map[string]*bucket{}}
}

func (l *memoryLimiter) Allow(_ context.Context, key string, now time.Time) (bool, time.Duration, error) {
	if l.perMinute <= 0 {
		return true, 0, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) > 10_000 {
			// Forget full buckets: they behave exactly like new ones.
			for k, ob := range l.buckets {
				if ob.tokens+now.Sub(ob.last).Minutes()*l.perMinute >= l.burst {
					delete(l.buckets, k)
				}
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Minutes()*l.perMinute)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0, nil
	}
	return false, time.Duration((1 - b.tokens) / l.perMinute * float64(time.Minute)), nil
}
