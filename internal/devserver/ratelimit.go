package devserver

import (
	"net/http"
	"strconv"
	"time"
)

// rateWindow is RATE_LIMIT_WINDOW_MS of shared/utils/rate-limiter.ts.
const rateWindow = time.Minute

// oauthLimits are the RateLimiters the /oauth routers mount, by exact
// path (Hono's use("/token", …) matches that path, any method). Each
// router builds its own limiter, so /oauth/introspect counts apart from
// /oauth/token although both use oauthToken(). /api has no limiter at all.
var oauthLimits = map[string]struct {
	max int
	msg string
}{
	"/oauth/token":      {20, "Too many token requests."},
	"/oauth/introspect": {20, "Too many token requests."},
	"/oauth/authorize":  {30, "Too many authorization requests."},
	"/oauth/revoke":     {10, "Too many revocation requests."},
}

// rateKey is the limiter's keyGenerator: the CF-Connecting-IP header, or
// one bucket, "unknown", shared by every caller without it (all of them,
// off Cloudflare).
func rateKey(r *http.Request) string {
	if ip := r.Header.Get("CF-Connecting-IP"); ip != "" {
		return ip
	}
	return "unknown"
}

// rateLimit is InMemoryRateLimiter.middleware: a sliding one-minute window
// of accepted requests per path and key, checked before the handler runs.
// It returns the X-RateLimit-* headers every reply of a limited path
// carries and, once the window is full, the flat 429 (not the /api
// envelope) with Retry-After and retryAfter in seconds until the oldest
// counted request leaves the window: 60 for a burst. A refused request is
// not counted. ok is false for the 429.
func (s *Server) rateLimit(r *http.Request) (hdr http.Header, rep reply, ok bool) {
	lim, limited := oauthLimits[r.URL.Path]
	if !limited {
		return nil, reply{}, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if now.Sub(s.rateClean) > rateWindow {
		// The server's cleanup (maybeCleanup, every minute): a bucket with
		// no hit left in the window goes, so a stream of made-up
		// CF-Connecting-IP values does not grow the map for good.
		for k, hits := range s.rateHits {
			if len(hits) == 0 || !hits[len(hits)-1].After(now.Add(-rateWindow)) {
				delete(s.rateHits, k)
			}
		}
		s.rateClean = now
	}
	bucket := r.URL.Path + " " + rateKey(r)
	var valid []time.Time
	for _, t := range s.rateHits[bucket] {
		if t.After(now.Add(-rateWindow)) {
			valid = append(valid, t)
		}
	}
	reset := now.Add(rateWindow)
	if len(valid) > 0 {
		reset = valid[0].Add(rateWindow)
	}
	remaining := max(0, lim.max-len(valid))
	hdr = http.Header{
		"X-Ratelimit-Limit":     {strconv.Itoa(lim.max)},
		"X-Ratelimit-Remaining": {strconv.Itoa(remaining)},
		"X-Ratelimit-Reset":     {strconv.FormatInt(ceilDiv(reset.UnixMilli(), 1000), 10)},
	}
	if remaining == 0 {
		s.rateHits[bucket] = valid
		retry := ceilDiv(reset.UnixMilli()-now.UnixMilli(), 1000)
		hdr.Set("Retry-After", strconv.FormatInt(retry, 10))
		return hdr, jsonReply(http.StatusTooManyRequests, map[string]any{"error": lim.msg, "retryAfter": retry}), false
	}
	s.rateHits[bucket] = append(valid, now)
	return hdr, reply{}, true
}

// ceilDiv is Math.ceil(a / b) for b > 0.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a > 0) == (b > 0) {
		q++
	}
	return q
}
