package broker

import (
	"sync"
	"time"
)

// replayCache remembers each accepted jti until its token expires (plus
// Leeway), so a token is exchanged at most once. A jti is reserved while
// its exchange runs and released if minting fails, so that the client's
// retry of a failed exchange is not refused as a replay.
type replayCache struct {
	mu      sync.Mutex
	seen    map[string]time.Time // jti → forget after
	inserts int
}

func newReplayCache() *replayCache { return &replayCache{seen: map[string]time.Time{}} }

// reserve records jti until exp+Leeway and reports whether it was new.
func (c *replayCache) reserve(jti string, exp, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if until, ok := c.seen[jti]; ok && now.Before(until) {
		return false
	}
	c.seen[jti] = exp.Add(Leeway)
	// Expired entries are dropped every 1024 inserts: the map holds at
	// most the tokens of the last few minutes.
	if c.inserts++; c.inserts%1024 == 0 {
		for k, until := range c.seen {
			if !now.Before(until) {
				delete(c.seen, k)
			}
		}
	}
	return true
}

// release forgets jti after a failed exchange.
func (c *replayCache) release(jti string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.seen, jti)
}

// rateLimiter is a token bucket per key (the repository id): perMinute
// tokens refill continuously up to burst.
type rateLimiter struct {
	perMinute float64
	burst     float64

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perMinute, burst int) *rateLimiter {
	return &rateLimiter{perMinute: float64(perMinute), burst: float64(burst), buckets: map[string]*bucket{}}
}

// allow takes one token for key, or returns how long until one is there.
func (l *rateLimiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l.perMinute <= 0 {
		return true, 0
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
		return true, 0
	}
	wait := time.Duration((1 - b.tokens) / l.perMinute * float64(time.Minute))
	return false, wait
}
