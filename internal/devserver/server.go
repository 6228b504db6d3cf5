// Package devserver is an in-memory stand-in for the Takos control
// plane's owner-side OAuth client API and discovery document, and for the
// space, common env, group, service, link and deployment routes autoEnv
// uses (spaces.go, env.go, groups.go; DeployGroup stands in for the group
// apply engine), served on loopback. It is the one fake: every test uses it (devservertest starts
// one per test), and takos-apply dev serves it. It follows the server (tako0614/takos@7d63ea66:
// web.ts, routes/api.ts, routes/me.ts, services/oauth/client.ts,
// shared/utils/rate-limiter.ts), not takos-apply's client: the same
// middleware order (Content-Type, route parameters, then auth), validation
// order and messages, the same reply shapes (the list has no policy/tos
// URIs, the PATCH reply no timestamps, /api errors in an envelope, 415,
// 404 and /oauth errors flat), the same auth refusals, secrets stored
// only as SHA-256 hex and shown once, a discovery document that names
// https://ADMIN_DOMAIN whatever URL it was fetched from, the /oauth
// rate limits, and the CORS headers and preflights (cors.go). It adds what tests need: a request log, the secrets and
// registration access tokens ever issued, and fault injection. It issues
// no OAuth tokens: past the checks that need none, /oauth endpoints
// answer 501 not_implemented.
//
// Behaviour taken from the server's source where a summary would be
// coarser: PATCH of a revoked client answers 400 BAD_REQUEST "Client not
// found" (the handler's own NotFoundError is caught and re-thrown as a bad
// request), and DELETE of an already revoked client answers 200
// {"success": true}; unknown or foreign ids answer 404 NOT_FOUND "Client
// not found" on both.
package devserver

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// DefaultToken is the PAT the server accepts when WithToken is not given.
const DefaultToken = "tak_pat_controlplanetest0000000000000000000000000000"

// DefaultOwner is the account that owns DefaultToken (or WithToken's
// token).
const DefaultOwner = "acct_owner"

// Scopes returns the control plane's OAUTH_SCOPES registry
// (shared/types/oauth.ts): the 14 scopes registration accepts.
func Scopes() []string { return slices.Clone(knownScopes[:]) }

var knownScopes = [...]string{
	"openid", "profile", "email",
	"spaces:read", "spaces:write", "files:read", "files:write",
	"memories:read", "memories:write", "threads:read", "threads:write",
	"agents:execute", "repos:read", "repos:write",
}

// RequestRecord is one request as the server saw it. The Authorization
// value is never kept.
type RequestRecord struct {
	Method    string
	Path      string
	Status    int // 0 while in flight, or when the connection was dropped (Reset faults, client gone)
	HasAuth   bool
	UserAgent string
	Fault     FaultKind // None unless an injected fault applied
}

// Server is a running fake control plane.
type Server struct {
	// URL is the base URL (http://127.0.0.1:port).
	URL string
	// Token is the bearer accepted for DefaultOwner.
	Token string

	srv             *http.Server
	done            chan struct{}
	scopesSupported []string
	issuer          string // https://ADMIN_DOMAIN; empty: URL (WithSelfIssuer)
	adminOrigin     string // https://ADMIN_DOMAIN, the one origin CORS allows besides loopback http (cors.go)
	noDiscovery     bool
	now             func() time.Time
	verify          func(string) (string, bool)

	mu        sync.Mutex
	rand      io.Reader
	tokens    map[string]string
	clients   []*StoredClient
	requests  []RequestRecord
	reqLimit  int // WithRequestLimit; 0 keeps every request
	reqFirst  int // the number of the first record in requests (older ones were dropped)
	secrets   []string
	regTokens []string
	faults    []Fault
	rateHits  map[string][]time.Time // accepted /oauth requests by "path key"
	rateClean time.Time              // the last sweep of rateHits

	pats patStore   // pat.go
	sp   spaceStore // spaces.go: spaces, env, groups, services

	oa            authServer        // the OAuth authorization server (oauthstore.go)
	adminToken    string            // bearer of /_dev/ (devfaults.go); "" is Token
	clientSecrets map[string]string // client_id → the secret issued at its creation
	log           io.Writer         // WithLog; nil: no request log
	logMu         sync.Mutex
	statePath     string // WithStateFile (state.go)
	saveMu        sync.Mutex
	saved         []byte // the state last written
}

// Start serves a fake control plane on a free loopback port until Close.
func Start(opts ...Option) (*Server, error) {
	return Listen("127.0.0.1:0", opts...)
}

// Listen serves a fake control plane on addr, which must be a loopback
// address: the server accepts a fixed token and is never meant to be
// reachable from another host.
func Listen(addr string, opts ...Option) (*Server, error) {
	s := &Server{
		Token:           DefaultToken,
		scopesSupported: Scopes(),
		issuer:          "https://" + DefaultAdminDomain,
		adminOrigin:     "https://" + DefaultAdminDomain,
		now:             time.Now,
		rand:            rand.Reader,
		tokens:          map[string]string{DefaultToken: DefaultOwner},
		rateHits:        map[string][]time.Time{},
		oa:              newAuthServer(),
		clientSecrets:   map[string]string{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.statePath != "" {
		if err := s.loadState(); err != nil {
			return nil, fmt.Errorf("dev server state: %w", err)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dev server: %w", err)
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("dev server: %s is not a loopback address", ln.Addr())
	}
	// Set URL before serving: handlers read it, and a client that learned
	// it through the network has no happens-before edge the race detector
	// could see.
	s.URL = "http://" + ln.Addr().String()
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serveHTTP),
		ReadHeaderTimeout: 10 * time.Second,
	}
	s.done = make(chan struct{})
	go func() {
		defer close(s.done)
		s.srv.Serve(ln)
	}()
	return s, nil
}

// Close stops the server at once: open connections are closed, as
// httptest.Server.Close does, so a test never waits for a hung client.
func (s *Server) Close() {
	s.srv.Close()
	<-s.done
}

// Clients returns a snapshot of every stored client, revoked ones and
// other owners' included, oldest first.
func (s *Server) Clients() []StoredClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]StoredClient, len(s.clients))
	for i, c := range s.clients {
		out[i] = c.clone()
	}
	return out
}

// Client returns the stored client with the given client_id.
func (s *Server) Client(clientID string) (StoredClient, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.find(clientID); c != nil {
		return c.clone(), true
	}
	return StoredClient{}, false
}

// Requests returns the request log in arrival order (with
// WithRequestLimit, at least the last n requests).
func (s *Server) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// IssuedSecrets returns every client secret the server generated and put
// in a reply, including replies lost to a fault, in order.
func (s *Server) IssuedSecrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.secrets)
}

// IssuedRegistrationTokens returns every registration access token the
// server generated and put in a reply, including replies lost to a fault,
// in order. Public clients get one too, so it can be longer than
// IssuedSecrets.
func (s *Server) IssuedRegistrationTokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.regTokens)
}

// Seed stores c as is, for tests that start from existing clients. Empty
// ClientID, ID, Owner, Status, ClientType and timestamps are filled in.
func (s *Server) Seed(c StoredClient) StoredClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ClientID == "" {
		c.ClientID = s.token(16)
	}
	if c.ID == "" {
		c.ID = hex.EncodeToString(s.randBytes(16))
	}
	if c.Owner == "" {
		c.Owner = DefaultOwner
	}
	if c.Status == "" {
		c.Status = "active"
	}
	if c.ClientType == "" {
		c.ClientType = "confidential"
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now().UTC()
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	if c.GrantTypes == nil {
		c.GrantTypes = defaultGrantTypes()
	}
	if c.ResponseTypes == nil {
		c.ResponseTypes = defaultResponseTypes()
	}
	cc := c.clone()
	s.clients = append(s.clients, &cc)
	return c.clone()
}

// randBytes returns n bytes of s.rand; s.mu must be held. Row ids are
// their hex, client ids, secrets and registration tokens their base64url
// (token).
func (s *Server) randBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		panic(fmt.Sprintf("devserver: random source failed: %v", err))
	}
	return b
}

// token is base64url of n random bytes; s.mu must be held.
func (s *Server) token(n int) string { return base64.RawURLEncoding.EncodeToString(s.randBytes(n)) }

func sha256Hex(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

// logStart records a request on arrival, so a test that saw its client
// give up can already count it; logEnd fills in the outcome.
func (s *Server) logStart(r *http.Request) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, RequestRecord{
		Method:    r.Method,
		Path:      r.URL.Path,
		HasAuth:   r.Header.Get("Authorization") != "",
		UserAgent: r.Header.Get("User-Agent"),
	})
	if s.reqLimit > 0 && len(s.requests) >= 2*s.reqLimit {
		drop := len(s.requests) - s.reqLimit
		s.requests = slices.Clone(s.requests[drop:])
		s.reqFirst += drop
	}
	return s.reqFirst + len(s.requests) - 1
}

func (s *Server) logEnd(i, status int, kind FaultKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i -= s.reqFirst; i < 0 {
		return // dropped meanwhile (WithRequestLimit)
	}
	s.requests[i].Status = status
	s.requests[i].Fault = kind
}
