package devserver

import (
	"io"
	"slices"
	"time"
)

// Option configures New.
type Option func(*Server)

// WithToken sets the bearer the server accepts as DefaultOwner. A token
// starting with "tak_pat_" is checked like a PAT; any other token without
// a dot like a session id, which must be 16–128 [A-Za-z0-9_-]. A token
// with a dot is never accepted: the server refuses OAuth JWTs on /api/*.
func WithToken(tok string) Option {
	return func(s *Server) {
		delete(s.tokens, DefaultToken)
		s.tokens[tok] = DefaultOwner
		s.Token = tok
	}
}

// WithUser adds another accepted bearer owned by owner, for tests of
// ownership (a client of another owner is invisible and answers 404).
func WithUser(tok, owner string) Option { return func(s *Server) { s.tokens[tok] = owner } }

// WithFederation makes the server also accept bearers that verify returns
// an owner for: the access tokens a workload-identity token exchange issues.
// Takos has no federation at its pinned commit; the fake models the control
// plane takos-apply's OIDC mode is built for.
func WithFederation(verify func(bearer string) (owner string, ok bool)) Option {
	return func(s *Server) { s.verify = verify }
}

// WithScopesSupported sets the discovery document's scopes_supported
// (default Scopes()). It does not change what registration accepts.
func WithScopesSupported(scopes ...string) Option {
	return func(s *Server) { s.scopesSupported = slices.Clone(scopes) }
}

// WithAdminDomain sets the server's ADMIN_DOMAIN (default
// DefaultAdminDomain): the discovery document's issuer and endpoints are
// https://domain whatever URL the request came to, as on the real server;
// and https://domain is an origin CORS allows (with WithSelfIssuer too).
func WithAdminDomain(domain string) Option {
	return func(s *Server) { s.issuer = "https://" + domain; s.adminOrigin = s.issuer }
}

// WithSelfIssuer makes the discovery document name the fake's own URL as
// issuer and endpoint base. Takos never does this (it always answers with
// https://ADMIN_DOMAIN); it stands for a control plane reached at the URL
// its issuer names, for tests of the matching case that cannot run over
// https.
func WithSelfIssuer() Option { return func(s *Server) { s.issuer = "" } }

// WithoutDiscovery makes both well-known paths answer 404.
func WithoutDiscovery() Option { return func(s *Server) { s.noDiscovery = true } }

// WithRand sets the source of client ids and secrets (default
// crypto/rand), for deterministic tests.
func WithRand(r io.Reader) Option { return func(s *Server) { s.rand = r } }

// WithClock sets the clock for created_at/updated_at and for the /oauth
// rate limits' one-minute windows (default time.Now), so a test can move
// past a window without waiting.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithRequestLimit keeps at least the last n requests of the request log
// (Requests) and at most 2n, instead of every request: a long-running
// takos-apply dev, which never reads the log, must not grow with each
// request its app makes.
func WithRequestLimit(n int) Option { return func(s *Server) { s.reqLimit = max(0, n) } }
