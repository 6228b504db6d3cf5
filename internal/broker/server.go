// Package broker is takos-apply's GitHub OIDC federation broker: an RFC
// 8693 token endpoint that trusts GitHub Actions' OIDC issuer, checks each
// token against a trust policy and answers with a Takos personal access
// token that expires in minutes, minted with the broker's own credential.
// Takos has no token exchange of its own; with the broker, a workflow with
// id-token: write deploys without any stored Takos secret.
//
// Every decision is one JSON line in the audit log. No token (the broker's
// credential, a minted PAT, a subject JWT) is ever written to the log, to an
// error or to a response other than the access_token of a success.
package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/httpx"
	"github.com/takos-dev/takos-apply/internal/oauthmeta"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// RFC 8693 §3 names.
const (
	GrantTypeTokenExchange = "urn:ietf:params:oauth:grant-type:token-exchange"
	TokenTypeJWT           = "urn:ietf:params:oauth:token-type:jwt"
	TokenTypeIDToken       = "urn:ietf:params:oauth:token-type:id_token"
	TokenTypeAccessToken   = "urn:ietf:params:oauth:token-type:access_token"
)

// Paths served by the broker.
const (
	TokenPath    = "/token"
	MetadataPath = oauthmeta.Path
	HealthPath   = "/healthz"
)

// maxRequestBody caps a token request: a GitHub JWT is about 1.5 KiB.
const maxRequestBody = 64 << 10

// mintBudget bounds one mint with its retries and clean-up.
const mintBudget = 45 * time.Second

// Config configures a broker. URL, Policy, ControlPlaneURL and Token are
// required.
type Config struct {
	// URL is the broker's public URL: the issuer of its RFC 8414 metadata.
	URL string
	// Audience is the aud GitHub tokens must carry; default the control
	// plane's origin, which takos-apply requests unless --audience says
	// otherwise.
	Audience string
	// Issuers are the trusted OIDC issuers (default GitHubIssuer); GHES
	// uses https://HOST/_services/token.
	Issuers []string
	// Policy is the trust policy (LoadPolicy).
	Policy *Policy
	// ControlPlaneURL is the Takos control plane PATs are minted on.
	ControlPlaneURL string
	// Token is the broker's own PAT (a PAT of the deploy account). It is
	// sent only to the control plane's origin.
	Token string
	// Timeout bounds each outbound request (default 10 s).
	Timeout time.Duration
	// RatePerMinute and Burst bound exchanges per repository (defaults 30
	// and 10; a negative rate disables the limit).
	RatePerMinute, Burst int
	// JWKSRefresh is the least time between two JWKS fetches caused by an
	// unknown kid (default 1 min).
	JWKSRefresh time.Duration
	// ReapEvery is how often expired PATs are revoked (default 1 min).
	ReapEvery time.Duration
	// Audit receives one JSON line per decision; nil discards.
	Audit io.Writer
	// Now is the clock (default time.Now); Tick, when set, replaces the
	// reaper's ticker, and Sleep every retry wait (the mint's and the
	// HTTP client's). For tests.
	Now   func() time.Time
	Tick  <-chan time.Time
	Sleep func(context.Context, time.Duration) error
	// Reaped, when set, is called after each reaper pass (tests).
	Reaped func()
}

// Server is a broker. Its handler is safe for concurrent use.
type Server struct {
	cfg      Config
	url      string
	cpOrigin string
	verifier *verifier
	replay   *replayCache
	limits   *rateLimiter
	minter   *minter
	audit    *auditLog
	redactor *redactor
	now      func() time.Time
}

// New checks cfg and builds a broker; it makes no request.
func New(cfg Config) (*Server, error) {
	if cfg.Policy == nil {
		return nil, errors.New("broker: no trust policy")
	}
	if strings.TrimSpace(cfg.Token) == "" {
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
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.RatePerMinute == 0 {
		cfg.RatePerMinute = 30
	}
	if cfg.Burst <= 0 {
		cfg.Burst = 10
	}
	if cfg.JWKSRefresh <= 0 {
		cfg.JWKSRefresh = time.Minute
	}
	if cfg.ReapEvery <= 0 {
		cfg.ReapEvery = time.Minute
	}
	var httpSleep func(context.Context, time.Duration) error
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	} else {
		httpSleep = cfg.Sleep
	}
	if len(cfg.Issuers) == 0 {
		cfg.Issuers = []string{GitHubIssuer}
	}
	if cfg.Audit == nil {
		cfg.Audit = io.Discard
	}
	cpOrigin := httpx.Origin(cpu)
	if cfg.Audience == "" {
		cfg.Audience = cpOrigin
	}
	ua := "takos-apply-broker"
	jwksHTTP := httpx.NewClient(httpx.Options{Timeout: cfg.Timeout, UserAgent: ua, Sleep: httpSleep})
	v, err := newVerifier(cfg.Issuers, cfg.Audience, jwksHTTP, cfg.Now, cfg.JWKSRefresh)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	api := httpx.NewClient(httpx.Options{Timeout: cfg.Timeout, UserAgent: ua, Sleep: httpSleep})
	hc := &http.Client{
		Transport:     httpx.SameOrigin(bearer{base: api.Transport, token: strings.TrimSpace(cfg.Token)}, cpOrigin),
		CheckRedirect: api.CheckRedirect,
	}
	cp, err := controlplane.New(cfg.ControlPlaneURL, hc)
	if err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	red := &redactor{}
	red.known.Add(cfg.Token)
	red.known.Add(strings.TrimSpace(cfg.Token))
	audit := newAuditLog(cfg.Audit, cfg.Now, red)
	return &Server{
		redactor: red,
		cfg:      cfg,
		url:      strings.TrimRight(pub.String(), "/"),
		cpOrigin: cpOrigin,
		verifier: v,
		replay:   newReplayCache(),
		limits:   newRateLimiter(cfg.RatePerMinute, cfg.Burst),
		minter:   newMinter(cp, cfg.Now, cfg.Sleep, audit),
		audit:    audit,
		now:      cfg.Now,
	}, nil
}

// bearer adds the broker's PAT; httpx.SameOrigin around it refuses every
// other origin before the header is set.
type bearer struct {
	base  http.RoundTripper
	token string
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.base.RoundTrip(r)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Handler serves POST /token, the RFC 8414 metadata and /healthz.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc(TokenPath, s.serveToken)
	mux.HandleFunc(MetadataPath, s.serveMetadata)
	mux.HandleFunc(HealthPath, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	return mux
}

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.url,
		"token_endpoint":                        s.url + TokenPath,
		"grant_types_supported":                 []string{GrantTypeTokenExchange},
		"token_endpoint_auth_methods_supported": []string{"none"},
	})
}

// Recover tracks the PATs a previous run of the broker minted (by name
// prefix), so the reaper revokes them too.
func (s *Server) Recover(ctx context.Context) error {
	n, err := s.minter.recover(ctx)
	if err != nil {
		return fmt.Errorf("listing the broker's PATs: %w", err)
	}
	s.audit.event("recovered minted PATs", "count", n)
	return nil
}

// Reap revokes the minted PATs that have expired.
func (s *Server) Reap(ctx context.Context) error { return s.minter.reap(ctx) }

// Pending returns how many minted PATs await revocation.
func (s *Server) Pending() int { return s.minter.pending() }

// Run serves on ln and revokes expired PATs in the background until ctx
// ends, then shuts down gracefully: in-flight exchanges finish (within
// 10 s, Cloud Run's grace period), new connections are refused.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	if err := s.Recover(ctx); err != nil {
		s.audit.failure("recover", err)
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	reaperDone := make(chan struct{})
	reapCtx, stopReaper := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		defer close(reaperDone)
		s.reapLoop(reapCtx)
	}()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.audit.event("broker started", "url", s.url, "addr", ln.Addr().String(), "audience", s.cfg.Audience,
		"issuers", strings.Join(s.cfg.Issuers, " "), "policy", s.cfg.Policy.Path, "rules", len(s.cfg.Policy.Rules))
	var err error
	select {
	case err = <-serveErr:
	case <-ctx.Done():
		shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = srv.Shutdown(shutCtx)
		cancel()
		<-serveErr
	}
	stopReaper()
	<-reaperDone
	s.audit.event("broker stopped")
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) reapLoop(ctx context.Context) {
	tick := s.cfg.Tick
	if tick == nil {
		t := time.NewTicker(s.cfg.ReapEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick:
			if err := s.minter.reap(ctx); err != nil {
				s.audit.failure("reap", err)
			}
			if s.cfg.Reaped != nil {
				s.cfg.Reaped()
			}
		}
	}
}

// oauthError is an RFC 6749 §5.2 error answer.
type oauthError struct {
	status int
	code   string
	desc   string
	header http.Header
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	remote := r.RemoteAddr
	claims, res, e := s.exchange(r)
	if e != nil {
		// The audit log redacts every string itself; the answer is redacted here.
		s.audit.exchange(remote, claims, res.verified, e.code, e.desc, res.rule, "", time.Time{})
		desc := s.redactor.redact(e.desc)
		for k, v := range e.header {
			w.Header()[k] = v
		}
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": desc})
		return
	}
	s.audit.exchange(remote, claims, true, "", "", res.rule, res.pat.ID, res.pat.ExpiresAt)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":      res.pat.Token,
		"issued_token_type": TokenTypeAccessToken,
		"token_type":        "Bearer",
		"expires_in":        max(0, int64((res.pat.ExpiresAt.Sub(s.now())+time.Second-1)/time.Second)),
	})
}

type exchangeResult struct {
	verified bool // the claims come from a verified token
	rule     string
	pat      *controlplane.NewPAT
}

func badRequest(code, desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: code, desc: desc}
}

// readRequest checks an RFC 8693 request and returns its subject token.
func (s *Server) readRequest(r *http.Request) (string, *oauthError) {
	if r.Method != http.MethodPost {
		return "", &oauthError{status: http.StatusMethodNotAllowed, code: "invalid_request", desc: "the token endpoint takes POST",
			header: http.Header{"Allow": {"POST"}}}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return "", badRequest("invalid_request", "the body must be application/x-www-form-urlencoded (RFC 6749 §3.2)")
	}
	if r.URL.RawQuery != "" {
		// Tokens in a URL end up in access logs.
		return "", badRequest("invalid_request", "parameters must be sent in the body, not the query string")
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxRequestBody)
	if err := r.ParseForm(); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return "", &oauthError{status: http.StatusRequestEntityTooLarge, code: "invalid_request", desc: "the request body is larger than 64 KiB"}
		}
		return "", badRequest("invalid_request", "the body is not a valid form")
	}
	f := r.PostForm
	for _, k := range []string{"grant_type", "subject_token", "subject_token_type", "requested_token_type"} {
		if len(f[k]) > 1 {
			return "", badRequest("invalid_request", k+" is repeated")
		}
	}
	switch {
	case f.Get("grant_type") != GrantTypeTokenExchange:
		return "", badRequest("unsupported_grant_type", "grant_type must be "+GrantTypeTokenExchange+" (RFC 8693)")
	case f.Get("subject_token") == "":
		return "", badRequest("invalid_request", "subject_token is missing")
	case f.Get("subject_token_type") != TokenTypeJWT && f.Get("subject_token_type") != TokenTypeIDToken:
		return "", badRequest("invalid_request", "subject_token_type must be "+TokenTypeJWT+" or "+TokenTypeIDToken)
	case f.Get("requested_token_type") != "" && f.Get("requested_token_type") != TokenTypeAccessToken:
		return "", badRequest("invalid_request", "requested_token_type must be "+TokenTypeAccessToken)
	case f.Has("actor_token"):
		return "", badRequest("invalid_request", "actor_token (delegation) is not supported")
	}
	// The RFC 8693 audience names the control plane the credential is for:
	// its origin, or the identity GitHub tokens are issued for.
	for _, a := range append(f["audience"], f["resource"]...) {
		if a = strings.TrimSuffix(a, "/"); a != s.cpOrigin && a != s.cfg.Audience {
			return "", badRequest("invalid_target", fmt.Sprintf("this broker issues credentials for %s only, not %s", s.cpOrigin, safetext.Quote(a, 200)))
		}
	}
	return f.Get("subject_token"), nil
}

// exchange verifies the request's subject token, applies the rate limit,
// the replay cache and the policy, and mints.
func (s *Server) exchange(r *http.Request) (Claims, exchangeResult, *oauthError) {
	var res exchangeResult
	subject, e := s.readRequest(r)
	if e != nil {
		return nil, res, e
	}
	claims, jti, exp, ref := s.verifier.verify(r.Context(), subject)
	if ref != nil {
		status := http.StatusBadRequest
		if ref.code == "temporarily_unavailable" {
			status = http.StatusServiceUnavailable
		}
		desc := ref.reason
		if len(ref.claims) > 0 {
			desc += " (unverified claims: " + describeClaims(ref.claims) + ")"
		}
		return ref.claims, res, &oauthError{status: status, code: ref.code, desc: desc}
	}
	res.verified = true
	key := claims["repository_id"]
	if key == "" {
		key = claims["repository"]
	}
	if ok, wait := s.limits.allow(key, s.now()); !ok {
		secs := int(wait/time.Second) + 1
		return claims, res, &oauthError{status: http.StatusTooManyRequests, code: "invalid_request",
			desc:   fmt.Sprintf("too many exchanges for repository %s; retry in %d s", safetext.Quote(claims["repository"], 100), secs),
			header: http.Header{"Retry-After": {strconv.Itoa(secs)}}}
	}
	if !s.replay.reserve(jti, exp, s.now()) {
		return claims, res, badRequest("invalid_grant", fmt.Sprintf("subject_token jti %s was already exchanged; request a fresh GitHub token for each exchange", safetext.Quote(jti, 80)))
	}
	d := s.cfg.Policy.Evaluate(claims)
	if d.Rule == nil {
		s.replay.release(jti)
		return claims, res, policyRefusal(d, claims)
	}
	res.rule = d.Rule.Name
	nonce := make([]byte, 4)
	rand.Read(nonce)
	// The mint runs to its end even if the client goes away: a PAT created
	// for nobody is then tracked and revoked, not forgotten half-made.
	mintCtx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), mintBudget)
	defer cancel()
	pat, err := s.minter.mint(mintCtx, patName(claims, hex.EncodeToString(nonce)), d.Rule.TTL)
	if err != nil {
		s.replay.release(jti)
		s.audit.failure("mint", err)
		return claims, res, &oauthError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable",
			desc: "rule " + d.Rule.Name + " matched, but the control plane did not mint a PAT: " + safetext.Compact(err.Error(), 300)}
	}
	res.pat = pat
	return claims, res, nil
}

// policyRefusal explains a denial: fork-capable events get
// unauthorized_client, a plain miss invalid_grant, both with each rule's
// reason and the token's claims.
func policyRefusal(d Decision, c Claims) *oauthError {
	var why []string
	for _, m := range d.Misses {
		why = append(why, m.Rule+": "+m.Reason)
	}
	code, head := "invalid_grant", "no trust policy rule matches"
	if d.Untrusted {
		code, head = "unauthorized_client", "event "+c["event_name"]+" can run code from a fork and no rule names it in event_name"
	}
	if len(why) > 5 {
		why = append(why[:5], fmt.Sprintf("%d more", len(why)-5))
	}
	return &oauthError{status: http.StatusBadRequest, code: code,
		desc: head + " (" + strings.Join(why, "; ") + "); token claims: " + describeClaims(c)}
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
