// Package controlplanetest is an in-memory fake of the Takos control
// plane's owner-side OAuth client API and discovery document, served by
// httptest on loopback. It follows the server (tako0614/takos@7d63ea66:
// web.ts, routes/api.ts, routes/me.ts, services/oauth/client.ts,
// shared/utils/rate-limiter.ts), not takos-apply's client: the same
// middleware order (Content-Type, route parameters, then auth), validation
// order and messages, the same reply shapes (the list has no policy/tos
// URIs, the PATCH reply no timestamps, /api errors in an envelope, 415,
// 404 and /oauth errors flat), the same auth refusals, secrets stored
// only as SHA-256 hex and shown once, a discovery document that names
// https://ADMIN_DOMAIN whatever URL it was fetched from, and the /oauth
// rate limits. It adds what tests need: a request log, the secrets and
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
package controlplanetest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
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

	srv             *httptest.Server
	scopesSupported []string
	issuer          string // https://ADMIN_DOMAIN; empty: URL (WithSelfIssuer)
	noDiscovery     bool
	now             func() time.Time
	verify          func(string) (string, bool)

	mu        sync.Mutex
	rand      io.Reader
	tokens    map[string]string
	clients   []*StoredClient
	requests  []RequestRecord
	secrets   []string
	regTokens []string
	faults    []Fault
	rateHits  map[string][]time.Time // accepted /oauth requests by "path key"

	pats patStore // pat.go
}

// New starts a fake control plane on loopback; t.Cleanup closes it.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		Token:           DefaultToken,
		scopesSupported: Scopes(),
		issuer:          "https://" + DefaultAdminDomain,
		now:             time.Now,
		rand:            rand.Reader,
		tokens:          map[string]string{DefaultToken: DefaultOwner},
		rateHits:        map[string][]time.Time{},
	}
	for _, o := range opts {
		o(s)
	}
	// Set URL before serving: handlers read it, and a client that learned
	// it through the network has no happens-before edge the race detector
	// could see.
	s.srv = httptest.NewUnstartedServer(http.HandlerFunc(s.serveHTTP))
	s.URL = "http://" + s.srv.Listener.Addr().String()
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	return s
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

// Requests returns the request log in arrival order.
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
		panic(fmt.Sprintf("controlplanetest: random source failed: %v", err))
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
	return len(s.requests) - 1
}

func (s *Server) logEnd(i, status int, kind FaultKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests[i].Status = status
	s.requests[i].Fault = kind
}
