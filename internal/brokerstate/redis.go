package brokerstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// KeyPrefix starts every key the broker writes, so that its keys are
// recognisable in a Redis shared with other programs.
const KeyPrefix = "takos-apply-broker:"

// reserveScript sets KEYS[1] to this call's nonce for ARGV[2] ms unless it
// is set. A retry of the same call (the client retries once when a reply
// is lost) finds its own nonce and still gets 1, so a lost reply does not
// turn the first exchange of a token into a "replay".
var reserveScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == ARGV[1] then return 1 end
return 0
`)

// allowScript is GCRA on the server's clock (TIME), so replicas whose
// clocks differ still agree. KEYS[1] holds the theoretical arrival time
// in µs; ARGV[1] is the interval and ARGV[2] the tolerance, in µs. It
// answers {1, 0} for an allowed exchange and {0, µs to wait} otherwise.
// µs since the epoch stay below 2^53, exact in Lua's doubles.
var allowScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + interval
local allow_at = nxt - tonumber(ARGV[2])
if allow_at > now then return {0, allow_at - now} end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.max(1, math.ceil((nxt - now) / 1000)))
return {1, 0}
`)

var quietOnce sync.Once

// Redis is the Store of replicas that share a Redis (or Valkey) server.
type Redis struct {
	c     *redis.Client
	limit Limit
	now   func() time.Time
	desc  string
}

// NewRedis connects lazily to the server at rawURL (redis://, rediss://
// for TLS, or unix://; user and password in the URL, a database number as
// its path). now is the clock that turns Reserve's until into a lifetime
// (default time.Now). It makes no request; Ping does.
func NewRedis(rawURL string, limit Limit, now func() time.Time) (*Redis, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Parse's error quotes the URL, password and all.
		return nil, errors.New("the Redis URL is not a URL; write redis://[USER:PASSWORD@]HOST:PORT[/DB], rediss://… for TLS, or unix:///PATH")
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("the Redis URL %s: %s", u.Redacted(), redactedErr(err, u))
	}
	if now == nil {
		now = time.Now
	}
	// go-redis's own log lines are plain text on stderr, amid the broker's
	// JSON; every failure they describe comes back as an error too, which
	// the broker logs (and counts) itself.
	quietOnce.Do(func() { redis.SetLogger(&logging.VoidLogger{}) })
	// A store that does not answer fails the exchange in about a second
	// (503), instead of holding every request for go-redis's default 5 s
	// and 3 retries.
	opt.DialTimeout = 2 * time.Second
	opt.DialerRetries = 1
	opt.ReadTimeout = time.Second
	opt.WriteTimeout = time.Second
	opt.PoolTimeout = 2 * time.Second
	opt.MaxRetries = 1
	opt.ContextTimeoutEnabled = true
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	tls := "without TLS"
	if opt.TLSConfig != nil {
		tls = "over TLS"
	}
	where := opt.Addr
	if opt.Network == "unix" {
		where = "unix:" + opt.Addr
	}
	return &Redis{
		c:     redis.NewClient(opt),
		limit: limit,
		now:   now,
		desc:  fmt.Sprintf("in Redis at %s, database %d, %s: shared by every replica that uses it", where, opt.DB, tls),
	}, nil
}

// redactedErr is err's text with u's password removed.
func redactedErr(err error, u *url.URL) string {
	s := err.Error()
	if p, ok := u.User.Password(); ok && p != "" {
		s = strings.ReplaceAll(s, p, "xxxxx")
	}
	return s
}

func (r *Redis) Reserve(ctx context.Context, id string, until time.Time) (bool, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return false, err
	}
	ttl := max(1, until.Sub(r.now()).Milliseconds()+1)
	n, err := reserveScript.Run(ctx, r.c, []string{KeyPrefix + "replay:" + keyHash(id)}, hex.EncodeToString(nonce), ttl).Int()
	if err != nil {
		return false, fmt.Errorf("redis: reserving a subject token: %w", err)
	}
	return n == 1, nil
}

// Allow runs GCRA on the server; now is not used: the server's clock is
// the one every replica shares.
func (r *Redis) Allow(ctx context.Context, key string, _ time.Time) (bool, time.Duration, error) {
	if r.limit.PerMinute <= 0 {
		return true, 0, nil
	}
	interval, tolerance := r.limit.gcra()
	res, err := allowScript.Run(ctx, r.c, []string{KeyPrefix + "rate:" + keyHash(key)},
		interval.Microseconds(), tolerance.Microseconds()).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("redis: rate limit: %w", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("redis: rate limit: the script answered %d values, not 2", len(res))
	}
	return res[0] == 1, time.Duration(res[1]) * time.Microsecond, nil
}

func (r *Redis) Ping(ctx context.Context) error {
	if err := r.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	return nil
}

func (r *Redis) Describe() string { return r.desc }

func (r *Redis) Shared() bool { return true }

func (r *Redis) Close() error { return r.c.Close() }
