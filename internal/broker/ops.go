package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/promtext"
)

// Paths of the operator endpoints.
const (
	ReadyPath   = "/readyz"
	MetricsPath = "/metrics"
)

// metrics are the broker's Prometheus metrics. No label carries a token,
// a claim or anything a request chose freely: outcomes are error codes,
// routes are the route table's patterns, methods are the HTTP methods the
// gateway knows, issuers are the configured ones.
type metrics struct {
	reg            *promtext.Registry
	exchanges      *promtext.Counter
	exchangeTime   *promtext.Histogram
	requests       *promtext.Counter
	requestTime    *promtext.Histogram
	keyFetches     *promtext.Counter
	storeErrors    *promtext.Counter
	policyReloads  *promtext.Counter
	readinessFails *promtext.Counter
}

// latencyBuckets cover an exchange (a few ms) to a forwarded request that
// hits the timeout (10 s).
var latencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}

func newMetrics(s *Server) *metrics {
	r := &promtext.Registry{}
	m := &metrics{
		reg: r,
		exchanges: r.Counter("takos_broker_exchanges_total",
			"Token exchanges by outcome: granted, or the OAuth error code (rate_limited for 429).", "outcome"),
		exchangeTime: r.Histogram("takos_broker_exchange_duration_seconds",
			"Time to answer a token exchange.", latencyBuckets, "outcome"),
		requests: r.Counter("takos_broker_gateway_requests_total",
			"Gateway requests by method, route pattern, decision (forwarded or refused) and status class.", "method", "route", "decision", "status"),
		requestTime: r.Histogram("takos_broker_gateway_request_duration_seconds",
			"Time to answer a gateway request, the round trip to Takos included.", latencyBuckets, "decision"),
		keyFetches: r.Counter("takos_broker_key_fetches_total",
			"Fetches of an issuer's OpenID configuration and JWKS, by result.", "issuer", "result"),
		storeErrors: r.Counter("takos_broker_store_errors_total",
			"Failed calls to the shared state (replay cache, rate limit, ping).", "op"),
		policyReloads: r.Counter("takos_broker_policy_reloads_total",
			"Policy reloads (SIGHUP) by result: reloaded, or refused (the policy in force stays).", "result"),
		readinessFails: r.Counter("takos_broker_readiness_failures_total",
			"Failed readiness checks by dependency: control_plane, issuer_keys, store.", "check"),
	}
	r.GaugeFunc("takos_broker_policy_rules", "Rules in the policy in force.", func() float64 { return float64(len(s.Policy().Rules)) })
	shared := 0.0
	if s.state.Shared() {
		shared = 1
	}
	r.GaugeFunc("takos_broker_shared_state", "1 when the replay cache and rate limits are shared (Redis), 0 when in this process.", func() float64 { return shared })
	return m
}

// exchangeOutcome is the outcome label of an exchange's answer.
func exchangeOutcome(e *refused) string {
	switch {
	case e == nil:
		return "granted"
	case e.Status == http.StatusTooManyRequests:
		return "rate_limited"
	}
	return e.Code
}

// methodLabel bounds the method label to the methods HTTP defines.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// routeLabel is the route table's pattern, or "none" for a path no route
// matched (the path itself is never a label).
func routeLabel(pattern string) string {
	if pattern == "" {
		return "none"
	}
	return pattern
}

func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}

// requestIDKey carries a request's id in its context.
type requestIDKey struct{}

// withRequestID gives each request an id of its own, in its context (every
// log line about it carries it as request_id) and in the X-Request-Id
// answer header. The id is the broker's: a client's X-Request-Id is not
// taken, so no one can make their requests share another's.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 8)
		rand.Read(b)
		id := hex.EncodeToString(b)
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
	})
}

// requestIDHandler adds request_id to every record logged with a
// request's context.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id, ok := ctx.Value(requestIDKey{}).(string); ok {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// readiness checks what the broker needs to grant and forward: the control
// plane answering the broker's credential, every issuer's keys, the
// shared state. The control plane is asked at most once per cpEvery (the
// probes of every replica would otherwise each cost Takos a request).
type readiness struct {
	s       *Server
	cpEvery time.Duration

	mu    sync.Mutex
	cpAt  time.Time
	cpErr error
	ready *bool // the last answer, to log changes only
}

// check is one dependency's state.
type check struct {
	Name   string `json:"name"`
	Issuer string `json:"issuer,omitempty"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
	// detail goes to the log only: it can name internal addresses.
	detail string
}

// readyTimeout bounds one /readyz answer, the control plane's probe
// included.
const readyTimeout = 5 * time.Second

func (rd *readiness) controlPlane(ctx context.Context) error {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if !rd.cpAt.IsZero() && rd.s.now().Sub(rd.cpAt) < rd.cpEvery && !rd.s.now().Before(rd.cpAt) {
		return rd.cpErr
	}
	// The answer is cached for every caller, so it must be the control
	// plane's, not this caller's: a client that hangs up must not make the
	// next 15 s of probes fail (anyone who reaches /readyz could otherwise
	// take the replica out of its load balancer with one request each time).
	probeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyTimeout)
	defer cancel()
	rd.cpErr = rd.s.gw.probe(probeCtx)
	rd.cpAt = rd.s.now()
	return rd.cpErr
}

func (rd *readiness) run(ctx context.Context) []check {
	var checks []check
	c := check{Name: "control_plane", OK: true}
	if err := rd.controlPlane(ctx); err != nil {
		c = check{Name: "control_plane", Reason: "the control plane does not answer the broker's credential", detail: err.Error()}
	}
	checks = append(checks, c)
	for _, iss := range rd.s.verifier.issuerList() {
		c := check{Name: "issuer_keys", Issuer: iss, OK: true}
		if err := rd.s.verifier.issuers[iss].ensure(ctx); err != nil {
			c = check{Name: "issuer_keys", Issuer: iss, Reason: "the issuer's keys are not loaded", detail: err.Error()}
		}
		checks = append(checks, c)
	}
	c = check{Name: "store", OK: true}
	if err := rd.s.state.Ping(ctx); err != nil {
		rd.s.metrics.storeErrors.Inc("ping")
		c = check{Name: "store", Reason: "the shared state does not answer", detail: err.Error()}
	}
	return append(checks, c)
}

// serveReady answers 200 when every dependency is there, else 503, with
// each check; a change of readiness is logged with the details.
func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	checks := s.ready.run(ctx)
	ok := true
	var failed []any
	for _, c := range checks {
		if !c.OK {
			ok = false
			s.metrics.readinessFails.Inc(c.Name)
			key := c.Name
			if c.Issuer != "" {
				key += " " + c.Issuer
			}
			failed = append(failed, slog.String(key, c.detail))
		}
	}
	s.ready.mu.Lock()
	changed := s.ready.ready == nil || *s.ready.ready != ok
	s.ready.ready = &ok
	s.ready.mu.Unlock()
	if changed && ok {
		s.audit.log.InfoContext(r.Context(), "ready")
	} else if changed {
		s.audit.log.WarnContext(r.Context(), "not ready", slog.Group("failed", failed...))
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]any{"ready": ok, "checks": checks})
}

// probe asks the control plane for the deploy account's client list with
// the broker's credential: the route the gateway serves most, so a 200
// means the credential is valid and the route works.
func (g *gateway) probe(ctx context.Context) error {
	target := *g.base
	target.Path += "/api/me/oauth/clients"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := g.hc.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %s", target.Path, transportReason(err))
	}
	httpx.ReadBody(resp, maxForwardReply)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s answered HTTP %d", target.Path, resp.StatusCode)
	}
	return nil
}

// recordKeyFetch counts an issuer key fetch.
func (m *metrics) recordKeyFetch(issuer string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.keyFetches.Inc(issuer, result)
}
