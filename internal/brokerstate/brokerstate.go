// Package brokerstate holds the state of the takos-apply broker that its
// replicas must agree on: the replay cache of exchanged subject tokens and
// the per-repository rate limit of exchanges.
//
// Memory keeps both in this process: exact for one replica, and silently
// weaker for each replica added (a token replayed to another replica is
// accepted there, and every replica grants its own burst). Redis keeps
// them in a Redis or Valkey server that every replica shares, with each
// decision made atomically on the server (one Lua script per decision), so
// N replicas enforce exactly what one does.
//
// Both run the same algorithms: a set-if-absent entry per subject token
// that lives as long as the token, and GCRA (the generic cell rate
// algorithm, a token bucket kept as one timestamp per key) for the limit.
// Every method can fail; the broker then refuses with 503 and grants
// nothing, so a store that is down never lets a replay through.
package brokerstate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Store is the broker's shared state.
type Store interface {
	// Reserve records id until the given time and reports whether it was
	// new. Of concurrent calls with one id, on any replica sharing the
	// store, exactly one sees true.
	Reserve(ctx context.Context, id string, until time.Time) (bool, error)
	// Allow takes one exchange from key's budget, or says how long until
	// one is available.
	Allow(ctx context.Context, key string, now time.Time) (ok bool, retryAfter time.Duration, err error)
	// Ping checks that the store answers (readiness).
	Ping(ctx context.Context) error
	// Describe says where the state lives, for the start-up log line. It
	// holds no credential.
	Describe() string
	// Shared reports whether replicas share this state.
	Shared() bool
	Close() error
}

// Limit is the rate limit per key: PerMinute exchanges a minute on
// average, Burst at once. PerMinute ≤ 0 allows everything.
type Limit struct {
	PerMinute int
	Burst     int
}

// interval is GCRA's emission interval (the time one exchange costs) and
// tolerance the budget a key may spend at once.
// The interval is at least 1 µs, the store's resolution.
func (l Limit) gcra() (interval, tolerance time.Duration) {
	interval = max(time.Minute/time.Duration(l.PerMinute), time.Microsecond)
	return interval, interval * time.Duration(max(l.Burst, 1))
}

// keyHash names a key in a store by a hash: a store key has a bounded
// length and no character of the caller's choosing.
func keyHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
