// Package broker is takos-apply's GitHub OIDC federation broker and
// least-privilege gateway to Takos. Takos has no token exchange, and its
// only API credential, a personal access token, acts as the whole account
// (scopes are not enforced) and can mint more PATs that never expire. So
// the job never gets one:
//
//   - POST /token is an RFC 8693 token endpoint that trusts GitHub
//     Actions' OIDC issuer, checks each job's token against the trust
//     policy and answers with a short-lived access token of the broker's
//     own (token.go), bound to the rule that granted it, the repository,
//     the run and an expiry;
//   - /api/… is the job's control plane: the broker serves the routes
//     takos-apply uses (routes.go), checks each request against the
//     rule's permissions and forwards it to Takos with its own credential,
//     which never leaves the broker (gateway.go). Everything else, the PAT
//     routes first, is refused.
//
// Every decision and every forwarded request is one JSON line in the
// audit log. No token (the broker's credential, an access token, a subject
// JWT) is ever written to the log, to an error or to a response other than
// the access_token of a success.
package broker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/takos-dev/takos-apply/internal/brokerstate"
	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/oauthmeta"
	"github.com/takos-dev/takos-apply/internal/oauthwire"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// Paths served by the broker besides the gateway's /api/ routes.
const (
	TokenPath    = "/token"
	MetadataPath = oauthmeta.Path
	HealthPath   = "/healthz"
)

// Config configures a broker. URL, Policy, ControlPlaneURL and Token are
// required.
type Config struct {
	// URL is the broker's public URL: the issuer of its RFC 8414 metadata,
	// the control-plane URL jobs are given, and (its origin) the default
	// audience of their GitHub tokens.
	URL string
	// Audience is the aud GitHub tokens must carry; default the origin of
	// URL, which takos-apply requests when the broker is its control plane.
	Audience string
	// Issuers are the trusted OIDC issuers (default GitHubIssuer); GHES
	// uses https://HOST/_services/token.
	Issuers []string
	// Policy is the trust policy (LoadPolicy).
	Policy *Policy
	// ControlPlaneURL is the Takos control plane requests are forwarded to.
	ControlPlaneURL string
	// Token is the broker's own credential (a PAT of the deploy account).
	// It is sent only to the control plane's origin, and it keys the
	// access tokens the broker issues.
	Token string
	// Timeout bounds each outbound request (default 10 s).
	Timeout time.Duration
	// RatePerMinute and Burst bound exchanges per repository in the
	// default in-memory state (defaults 30 and 10; a negative rate
	// disables the limit; see ExchangeLimit).
	RatePerMinute, Burst int
	// State holds what replicas must share: the replay cache and the rate
	// limit (brokerstate.NewRedis for several replicas, with its own
	// limit). nil means this process's memory: one replica.
	State brokerstate.Store
	// JWKSRefresh is the least time between two JWKS fetches caused by an
	// unknown kid (default 1 min).
	JWKSRefresh time.Duration
	// Audit receives one JSON line per decision and forwarded request;
	// nil discards.
	Audit io.Writer
	// Secrets is the process's secret registry, which redacts the audit log
	// and every answer: New registers Token there (the access tokens the
	// broker issues are redacted by their shape). Nil: a registry of the broker's
	// own.
	Secrets *safetext.Secrets
	// Now is the clock (default time.Now); Sleep replaces the HTTP
	// clients' retry waits. For tests.
	Now   func() time.Time
	Sleep func(context.Context, time.Duration) error
}

// ExchangeLimit is the per-repository limit of exchanges that
// Config.RatePerMinute and Burst (the --rate and --burst flags) give, with
// their defaults: a rate of 0 is 30 a minute (a negative rate is
// unlimited), a burst of 0 or less is 10. A shared State is built with it
// (brokerstate.NewRedis), so that the flags mean the same with it as
// without.
func ExchangeLimit(perMinute, burst int) brokerstate.Limit {
	if perMinute == 0 {
		perMinute = 30
	}
	if burst <= 0 {
		burst = 10
	}
	return brokerstate.Limit{PerMinute: perMinute, Burst: burst}
}

// Server is a broker. Its handler is safe for concurrent use.
type Server struct {
	cfg      Config
	url      string
	origin   string // the broker's own origin
	cpOrigin string
	verifier *verifier
	state    brokerstate.Store
	tokens   *signer
	gw       *gateway
	audit    *auditLog
	redactor *redactor
	now      func() time.Time
	scopes   scopeCache
	metrics  *metrics
	ready    *readiness
	// policy is the trust policy in force; ReloadPolicy swaps it whole.
	policy atomic.Pointer[Policy]
}

// New checks cfg and builds a broker; it makes no request.
func New(cfg Config) (*Server, error) {
	if cfg.Policy == nil {
		return nil, errors.New("broker: no trust policy")
	}
	cred := strings.TrimSpace(cfg.Token)
	if cred == "" {
		return nil, errors.New("broker: no control-plane credential (TAKOS_BROKER_TOKEN)")
	}
	pub, err := httpx.CheckURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("broker URL: %w", err)
	}
	cpu, err := httpx.CheckURL(cfg.ControlPlaneURL)
	if err != nil {
		return nil, fmt.Errorf("control-plane URL: %w", err)
	}
	if cpu.RawQuery != "" || cpu.Fragment != "" {
		return nil, fmt.Errorf("control-plane URL %s must not have a query or fragment", httpx.Redact(cfg.ControlPlaneURL))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	lim := ExchangeLimit(cfg.RatePerMinute, cfg.Burst)
	cfg.RatePerMinute, cfg.Burst = lim.PerMinute, lim.Burst
	if cfg.JWKSRefresh <= 0 {
		cfg.JWKSRefresh = time.Minute
	}
	if len(cfg.Issuers) == 0 {
		cfg.Issuers = []string{GitHubIssuer}
	}
	if cfg.Audit == nil {
		cfg.Audit = io.Discard
	}
	if cfg.State == nil {
		cfg.State = brokerstate.NewMemory(lim, cfg.Now)
	}
	origin := httpx.Origin(pub)
	if cfg.Audience == "" {
		cfg.Audience = origin
	}
	cpOrigin := httpx.Origin(cpu)
	if cpOrigin == origin {
		return nil, errors.New("broker: the control-plane URL is the broker's own URL; pass Takos's URL as --control-plane")
	}
	if cfg.Secrets == nil {
		cfg.Secrets = &safetext.Secrets{}
	}
	red := &redactor{known: cfg.Secrets}
	red.known.Add(cfg.Token)
	red.known.Add(cred)
	ua := "takos-apply-broker"
	jwksHTTP := httpx.NewClient(httpx.Options{Timeout: cfg.Timeout, UserAgent: ua, Sleep: cfg.Sleep})
	v, err := newVerifier(cfg.Issuers, cfg.Audience, cpOrigin, jwksHTTP, cfg.Now, cfg.JWKSRefresh, 3*cfg.Timeout, red.redact)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	key, err := tokenKey(cred)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	audit := newAuditLog(cfg.Audit, cfg.Now, red)
	s := &Server{
		redactor: red,
		cfg:      cfg,
		url:      strings.TrimRight(pub.String(), "/"),
		origin:   origin,
		cpOrigin: cpOrigin,
		verifier: v,
		state:    cfg.State,
		tokens:   &signer{key: key},
		audit:    audit,
		now:      cfg.Now,
	}
	// Discovery is public: fetched without the credential, never retried
	// inline (the scope list is optional, see scopeCache).
	s.scopes = scopeCache{hc: httpx.NewClient(httpx.Options{Timeout: cfg.Timeout, UserAgent: ua, MaxAttempts: 1}), base: cpOrigin, now: cfg.Now}
	s.policy.Store(cfg.Policy)
	s.gw = newGateway(s, cpu, cred, ua)
	s.metrics = newMetrics(s)
	s.ready = &readiness{s: s, cpEvery: 15 * time.Second}
	for _, ks := range v.issuers {
		ks.fetched = s.metrics.recordKeyFetch
	}
	return s, nil
}

// Policy returns the trust policy in force. A request reads it once and
// is decided by that one policy, whatever a reload does meanwhile.
func (s *Server) Policy() *Policy { return s.policy.Load() }

// ReloadPolicy reads the policy again (load returns its source; the
// CLI reads the --policy file on SIGHUP) and puts it in force at once for
// every request that starts after it. A policy with any error finding is
// refused: the one in force stays, and the findings are logged. Access
// tokens are judged by the rule of their name in the new policy, so a
// rule removed or narrowed takes effect on the tokens it granted.
func (s *Server) ReloadPolicy(load func() ([]byte, error)) error {
	old := s.Policy()
	src, err := load()
	if err != nil {
		s.metrics.policyReloads.Inc("refused")
		s.audit.failure(context.Background(), "policy reload refused; the policy in force stays", err)
		return err
	}
	p, _, diags, err := CheckPolicy(old.Path, src)
	if err == nil && p == nil {
		err = fmt.Errorf("%s has errors", old.Path)
	}
	if err != nil {
		var findings []string
		for _, d := range diags {
			findings = append(findings, d.String())
		}
		s.metrics.policyReloads.Inc("refused")
		s.audit.log.Error("policy reload refused; the policy in force stays", "error", err.Error(), "findings", findings)
		return err
	}
	s.policy.Store(p)
	s.metrics.policyReloads.Inc("reloaded")
	var warnings []string
	for _, d := range diags {
		warnings = append(warnings, d.String())
	}
	s.audit.event("policy reloaded", "policy", p.Path, "rules", len(p.Rules), "warnings", warnings)
	return nil
}

// Handler serves the token endpoint, the RFC 8414 metadata, /healthz and
// the gateway. Every path is matched exactly, on the raw request line:
// no prefix, no cleaning, so no path reaches a handler it was not meant
// for; anything under /api/ goes to the gateway, which refuses what its
// route table does not list.
func (s *Server) Handler() http.Handler {
	return withRequestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := r.RequestURI
		if path == "" { // a request handed to the handler directly
			path = r.URL.RequestURI()
		}
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
		switch {
		case path == TokenPath:
			s.serveToken(w, r)
		case path == MetadataPath:
			s.serveMetadata(w, r)
		case path == HealthPath:
			// Alive: the process serves. What it depends on is /readyz's.
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			io.WriteString(w, "ok\n")
		case path == ReadyPath:
			s.serveReady(w, r)
		case path == MetricsPath:
			s.metrics.reg.Handler().ServeHTTP(w, r)
		case strings.HasPrefix(path, "/api/"):
			s.gw.ServeHTTP(w, r)
		default:
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "Not Found"})
		}
	}))
}

// serveMetadata answers RFC 8414 metadata naming the broker as issuer and
// token endpoint, and, so that takos-apply's scope lint works with the
// broker as its control plane, Takos's scopes_supported.
func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	doc := map[string]any{
		"issuer":                                s.url,
		"token_endpoint":                        s.url + TokenPath,
		"grant_types_supported":                 []string{oauthwire.GrantTypeTokenExchange},
		"token_endpoint_auth_methods_supported": []string{"none"},
	}
	if scopes := s.scopes.get(r.Context()); scopes != nil {
		doc["scopes_supported"] = scopes
	}
	w.Header().Set("Cache-Control", "no-cache")
	writeJSON(w, http.StatusOK, doc)
}

// scopeCache holds Takos's scopes_supported for an hour (Takos sends
// max-age=3600); a failed fetch is retried after a minute, and until then
// the metadata simply has no scope list (takos-apply then lints with its
// built-in one).
type scopeCache struct {
	hc   *http.Client
	base string
	now  func() time.Time

	mu      sync.Mutex
	scopes  []string
	fetched time.Time
	failed  bool
}

func (c *scopeCache) get(ctx context.Context) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	age := c.now().Sub(c.fetched)
	if !c.fetched.IsZero() && (age < time.Minute || !c.failed && age < time.Hour) {
		return c.scopes
	}
	// Cached for every caller: a client that hangs up must not count as a
	// failed fetch (hc bounds the fetch itself).
	m, err := oauthmeta.Fetch(context.WithoutCancel(ctx), c.hc, c.base)
	c.fetched, c.failed = c.now(), err != nil
	if err == nil {
		c.scopes = m.ScopesSupported
	}
	return c.scopes
}

// Run serves on ln until ctx ends, then shuts down gracefully: in-flight
// requests finish (within 10 s, Cloud Run's grace period), new connections
// are refused.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.audit.event("broker started", "url", s.url, "addr", ln.Addr().String(), "audience", s.cfg.Audience,
		"control_plane", s.cpOrigin, "issuers", strings.Join(s.cfg.Issuers, " "), "policy", s.Policy().Path, "rules", len(s.Policy().Rules),
		"state", s.state.Describe())
	// The issuers' keys are fetched now rather than by the first job, and
	// the shared state is tried once, so a wrong --redis-url shows at once.
	for _, ks := range s.verifier.issuers {
		go func() {
			warm, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			ks.ensure(warm)
		}()
	}
	if err := s.state.Ping(ctx); err != nil {
		s.metrics.storeErrors.Inc("ping")
		s.audit.failure(ctx, "shared state: the store does not answer; exchanges are refused (503) until it does", err)
	}
	if !s.state.Shared() {
		s.audit.event("single replica: the replay cache and rate limits are in this process; run one instance, or give every instance the same --redis-url")
	}
	var err error
	select {
	case err = <-serveErr:
	case <-ctx.Done():
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = srv.Shutdown(shutCtx)
		cancel()
		<-serveErr
	}
	s.audit.event("broker stopped")
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
