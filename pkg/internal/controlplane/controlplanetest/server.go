// Package controlplanetest is an in-memory fake of the Takos control
// plane's owner-side OAuth client API and discovery document, served by
// httptest on loopback. It follows the server (github.com/tako0614/takos:
// packages/control/src/server/routes/me.ts and packages/control/src/application/services/oauth/client.ts), not
// takos-apply's client: the same validation order and messages, the same
// reply shapes (the list has no policy/tos URIs, the PATCH reply no
// timestamps), the same auth refusals, secrets stored only as SHA-256 hex
// and shown once. It adds what tests need: a request log, the secrets and
// registration access tokens ever issued, and fault injection.
//
// Behaviour taken from the server's source where the reference summary is
// coarser: PATCH of a revoked client answers 400 BAD_REQUEST "Client not
// found" (the handler's own NotFoundError is caught and re-thrown as a bad
// request), and DELETE of an already revoked client answers 200
// {"success": true}; unknown or foreign ids answer 404 NOT_FOUND "Client
// not found" on both.
package controlplanetest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
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
// (packages/control/src/application/services/oauth/scopes.ts in
// github.com/tako0614/takos): the 14 scopes registration accepts.
func Scopes() []string { return slices.Clone(knownScopes[:]) }

var knownScopes = [...]string{
	"openid", "profile", "email",
	"spaces:read", "spaces:write", "files:read", "files:write",
	"memories:read", "memories:write", "threads:read", "threads:write",
	"agents:execute", "repos:read", "repos:write",
}

// StoredClient is one row of oauth_clients. The secret and the
// registration access token exist only as SHA-256 hex. Nullable columns
// are pointers.
type StoredClient struct {
	ID                    string
	ClientID              string
	SecretHash            string // empty for a public client
	RegistrationTokenHash string
	ClientType            string // confidential or public
	Name                  string
	Description           *string
	LogoURI               *string
	ClientURI             *string
	PolicyURI             *string
	TOSURI                *string
	RedirectURIs          []string
	GrantTypes            []string
	ResponseTypes         []string
	AllowedScopes         []string
	Owner                 string
	Status                string // active, suspended or revoked
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

func (c StoredClient) clone() StoredClient {
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.ResponseTypes = slices.Clone(c.ResponseTypes)
	c.AllowedScopes = slices.Clone(c.AllowedScopes)
	for _, p := range []**string{&c.Description, &c.LogoURI, &c.ClientURI, &c.PolicyURI, &c.TOSURI} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return c
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

// FaultKind says how an injected fault changes a reply.
type FaultKind int

const (
	// None is no fault (used in RequestRecord).
	None FaultKind = iota
	// StatusBeforeAct answers Status without acting.
	StatusBeforeAct
	// StatusAfterAct acts, then answers Status instead of the real reply.
	StatusAfterAct
	// ResetBeforeAct reads the request and drops the connection without
	// acting.
	ResetBeforeAct
	// ResetAfterAct acts, then drops the connection: a create is
	// committed but its reply (and secret) is lost.
	ResetAfterAct
	// Delay sleeps for Fault.Delay (or until the client goes away), then
	// handles the request normally.
	Delay
	// MalformedJSON acts, then sends the real 2xx status with a truncated
	// JSON body.
	MalformedJSON
	// Redirect answers 302 to another origin without acting.
	Redirect
)

var faultNames = [...]string{"None", "StatusBeforeAct", "StatusAfterAct", "ResetBeforeAct", "ResetAfterAct", "Delay", "MalformedJSON", "Redirect"}

func (k FaultKind) String() string {
	if int(k) < len(faultNames) {
		return faultNames[k]
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is a queued misbehaviour. It matches a request whose method equals
// Method (empty: any) and whose path starts with Path (empty: any). Faults
// are consumed in the order injected; each applies Times times (0 means
// once). Delay, when set, is slept before any kind.
type Fault struct {
	Method     string
	Path       string
	Kind       FaultKind
	Status     int    // StatusBeforeAct, StatusAfterAct; default 500
	RetryAfter string // Retry-After header for status faults
	Location   string // Redirect target; default https://elsewhere.example + path
	Delay      time.Duration
	Times      int
	// AfterAct, when set, runs after the server acted on the request and
	// before it replies: the moment a concurrent writer can slip in.
	AfterAct func()
	// BeforeAct, when set, runs before the server acts on the request (after
	// Delay): a test holds the request there until another one has run.
	BeforeAct func()
}

// Option configures New.
type Option func(*Server)

// WithToken sets the bearer the server accepts as DefaultOwner. A token
// starting with "tak_pat_" is checked like a PAT; any other token without
// a dot like a session id. A token with a dot is never accepted: the
// server refuses OAuth JWTs on /api/*.
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

// WithoutDiscovery makes both well-known paths answer 404.
func WithoutDiscovery() Option { return func(s *Server) { s.noDiscovery = true } }

// WithRand sets the source of client ids and secrets (default
// crypto/rand), for deterministic tests.
func WithRand(r io.Reader) Option { return func(s *Server) { s.rand = r } }

// WithClock sets the clock for created_at/updated_at (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// Server is a running fake control plane.
type Server struct {
	// URL is the base URL (http://127.0.0.1:port).
	URL string
	// Token is the bearer accepted for DefaultOwner.
	Token string

	srv             *httptest.Server
	scopesSupported []string
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
}

// New starts a fake control plane on loopback; t.Cleanup closes it.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		Token:           DefaultToken,
		scopesSupported: Scopes(),
		now:             time.Now,
		rand:            rand.Reader,
		tokens:          map[string]string{DefaultToken: DefaultOwner},
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

// Inject queues a fault.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Times <= 0 {
		f.Times = 1
	}
	s.faults = append(s.faults, f)
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

// SecretMatches reports whether secret is the stored secret of clientID,
// the way the token endpoint checks it.
func (s *Server) SecretMatches(clientID, secret string) bool {
	c, ok := s.Client(clientID)
	return ok && c.SecretHash != "" && c.SecretHash == sha256Hex(secret)
}

func (s *Server) find(clientID string) *StoredClient {
	for _, c := range s.clients {
		if c.ClientID == clientID {
			return c
		}
	}
	return nil
}

// defaultGrantTypes and defaultResponseTypes are what createClient stores
// when the request names none. Each call returns a fresh slice, so no
// client shares (and can alter) another's.
func defaultGrantTypes() []string    { return []string{"authorization_code", "refresh_token"} }
func defaultResponseTypes() []string { return []string{"code"} }

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

func (s *Server) takeFault(method, path string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method == "" || strings.EqualFold(f.Method, method)) && strings.HasPrefix(path, f.Path) {
			s.faults[i].Times--
			if s.faults[i].Times == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
			return f, true
		}
	}
	return Fault{}, false
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

// reply is a response computed by act.
type reply struct {
	status int
	header http.Header
	body   []byte
}

const maxRequestBody = 1 << 20

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	idx := s.logStart(r)
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		return
	}
	f, faulted := s.takeFault(r.Method, r.URL.Path)
	kind := None
	if faulted {
		kind = f.Kind
		// Recorded now, so a request that ends without a reply (a Reset,
		// or a Delay the client gave up on) still shows its fault.
		s.logEnd(idx, 0, kind)
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
	}
	var rep reply
	switch kind {
	case StatusBeforeAct:
		rep = faultReply(f)
	case Redirect:
		loc := f.Location
		if loc == "" {
			loc = "https://elsewhere.example" + r.URL.RequestURI()
		}
		rep = reply{status: http.StatusFound, header: http.Header{"Location": {loc}}}
	case ResetBeforeAct:
		hangUp(w)
		return
	default:
		if faulted && f.BeforeAct != nil {
			f.BeforeAct()
		}
		rep = s.act(r, body)
		if faulted && f.AfterAct != nil {
			f.AfterAct()
		}
	}
	switch kind {
	case StatusAfterAct:
		rep = faultReply(f)
	case ResetAfterAct:
		hangUp(w)
		return
	case MalformedJSON:
		if rep.status >= 200 && rep.status < 300 && len(rep.body) > 1 {
			rep.body = rep.body[:len(rep.body)/2]
		}
	}
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if rep.body != nil {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.status)
	w.Write(rep.body)
	s.logEnd(idx, rep.status, kind)
}

func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("controlplanetest: response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

func faultReply(f Fault) reply {
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	code := map[int]string{
		400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT",
		429: "RATE_LIMITED", 500: "INTERNAL_ERROR", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE", 504: "GATEWAY_TIMEOUT",
	}[status]
	if code == "" {
		code = "INTERNAL_ERROR"
	}
	msg := http.StatusText(status)
	if status == http.StatusTooManyRequests {
		msg = "Rate limit exceeded"
	}
	rep := envelopeReply(status, code, msg)
	if f.RetryAfter != "" {
		rep.header = http.Header{"Retry-After": {f.RetryAfter}}
	}
	return rep
}

func jsonReply(status int, v any) reply {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return reply{status: status, body: b}
}

// envelopeReply is the /api error shape (takos-common AppError.toResponse).
func envelopeReply(status int, code, msg string) reply {
	return jsonReply(status, map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

func badRequest(msg string) reply { return envelopeReply(http.StatusBadRequest, "BAD_REQUEST", msg) }

func notFound(resource string) reply {
	return envelopeReply(http.StatusNotFound, "NOT_FOUND", resource+" not found")
}

// act performs the request against the store and returns the real reply.
func (s *Server) act(r *http.Request, body []byte) reply {
	p := r.URL.Path
	switch {
	case p == "/.well-known/oauth-authorization-server" || p == "/.well-known/openid-configuration":
		if r.Method != http.MethodGet || s.noDiscovery {
			return notFound("Route")
		}
		return s.discovery(p)
	case p == "/api" || strings.HasPrefix(p, "/api/"):
	default:
		return notFound("Route")
	}
	owner, rep, ok := s.authenticate(r)
	if !ok {
		return rep
	}
	if len(body) > maxRequestBody {
		return envelopeReply(http.StatusRequestEntityTooLarge, "PAYLOAD_TOO_LARGE", "Payload too large")
	}
	const clients = "/api/me/oauth/clients"
	switch {
	case p == clients && r.Method == http.MethodGet:
		return s.list(owner)
	case p == clients && r.Method == http.MethodPost:
		return s.create(owner, body)
	case strings.HasPrefix(p, clients+"/") && !strings.Contains(p[len(clients)+1:], "/") && p != clients+"/":
		id := p[len(clients)+1:]
		switch r.Method {
		case http.MethodPatch:
			return s.update(owner, id, body)
		case http.MethodDelete:
			return s.revoke(owner, id)
		}
	}
	return notFound("Route")
}

// authenticate follows requireAuth (middleware/auth.ts): a tak_pat_ bearer
// is checked as a PAT (flat invalid_token error), a bearer with a dot is
// an OAuth JWT and refused, anything else is a session id.
func (s *Server) authenticate(r *http.Request) (owner string, rep reply, ok bool) {
	h := r.Header.Get("Authorization")
	bearer := ""
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		bearer = strings.TrimSpace(h[7:])
	}
	s.mu.Lock()
	owner, known := s.tokens[bearer]
	s.mu.Unlock()
	if !known && bearer != "" && s.verify != nil {
		if o, ok := s.verify(bearer); ok {
			return o, reply{}, true
		}
	}
	switch {
	case bearer == "":
		return "", envelopeReply(http.StatusUnauthorized, "UNAUTHORIZED", "Authentication required"), false
	case strings.HasPrefix(bearer, "tak_pat_"):
		if !known {
			return "", jsonReply(http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": "Invalid or expired PAT"}), false
		}
	case strings.Contains(bearer, "."):
		return "", jsonReply(http.StatusUnauthorized, map[string]string{"error": "OAuth bearer token is not supported on this endpoint. Use OAuth-protected routes."}), false
	default:
		if !known {
			return "", envelopeReply(http.StatusUnauthorized, "UNAUTHORIZED", "Session expired"), false
		}
	}
	return owner, reply{}, true
}

func (s *Server) discovery(path string) reply {
	iss := s.URL
	m := map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/oauth/authorize",
		"token_endpoint":                        iss + "/oauth/token",
		"device_authorization_endpoint":         iss + "/oauth/device/code",
		"revocation_endpoint":                   iss + "/oauth/revoke",
		"introspection_endpoint":                iss + "/oauth/introspect",
		"registration_endpoint":                 iss + "/oauth/register",
		"jwks_uri":                              iss + "/.well-known/jwks.json",
		"scopes_supported":                      s.scopesSupported,
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":      []string{"S256"},
	}
	if path == "/.well-known/openid-configuration" {
		m["userinfo_endpoint"] = iss + "/oauth/userinfo"
		m["subject_types_supported"] = []string{"public"}
		m["id_token_signing_alg_values_supported"] = []string{"RS256"}
		m["claims_supported"] = []string{"sub", "iss", "aud", "exp", "iat", "scope", "client_id"}
	}
	rep := jsonReply(http.StatusOK, m)
	rep.header = http.Header{"Cache-Control": {"public, max-age=3600"}}
	return rep
}

// jsTime is the server's new Date().toISOString().
func jsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Server) list(owner string) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	// getClientsByOwner orders by created_at descending.
	for i := len(s.clients) - 1; i >= 0; i-- {
		c := s.clients[i]
		if c.Owner != owner {
			continue
		}
		m := clientJSON(c)
		m["client_type"] = c.ClientType
		m["created_at"] = jsTime(c.CreatedAt)
		m["updated_at"] = jsTime(c.UpdatedAt)
		out = append(out, m)
	}
	return jsonReply(http.StatusOK, map[string]any{"clients": out})
}

// clientJSON is the part of a client the list and the PATCH reply share;
// the list adds client_type and timestamps, the PATCH reply the row id,
// and neither has policy_uri or tos_uri.
func clientJSON(c *StoredClient) map[string]any {
	return map[string]any{
		"client_id":      c.ClientID,
		"name":           c.Name,
		"description":    c.Description,
		"logo_uri":       c.LogoURI,
		"client_uri":     c.ClientURI,
		"redirect_uris":  nonNil(c.RedirectURIs),
		"allowed_scopes": nonNil(c.AllowedScopes),
		"status":         c.Status,
	}
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// parseBody is parseJsonBody plus the `if (!body)` check: invalid JSON and
// falsy values are "Invalid JSON body". A non-object truthy value acts as
// an object without fields.
func parseBody(body []byte) (map[string]json.RawMessage, bool) {
	var v json.RawMessage
	if json.Unmarshal(body, &v) != nil || !truthy(v) {
		return nil, false
	}
	m := map[string]json.RawMessage{}
	if bytes.HasPrefix(bytes.TrimSpace(v), []byte("{")) {
		if json.Unmarshal(v, &m) != nil {
			return nil, false
		}
	}
	return m, true
}

func (s *Server) create(owner string, body []byte) reply {
	req, ok := parseBody(body)
	if !ok {
		return badRequest("Invalid JSON body")
	}
	if !truthy(req["client_name"]) {
		return badRequest("client_name is required")
	}
	uris, present, err := stringArray(req["redirect_uris"])
	switch {
	case err != nil:
		return badRequest(err.Error())
	case !present || len(uris) == 0:
		return badRequest("redirect_uris is required")
	}
	// createClient: scopes first, then redirect URIs.
	scopes, err := scopesFrom(req["scope"])
	if err != nil {
		return badRequest(err.Error())
	}
	if err := validateRedirectURIs(uris); err != nil {
		return badRequest(err.Error())
	}
	grants, ok1, err1 := stringArray(req["grant_types"])
	responses, ok2, err2 := stringArray(req["response_types"])
	if err1 != nil || err2 != nil {
		return badRequest("grant_types and response_types must be arrays")
	}
	if !ok1 {
		grants = defaultGrantTypes()
	}
	if !ok2 {
		responses = defaultResponseTypes()
	}
	clientType := "confidential"
	if jsString(req["token_endpoint_auth_method"]) == "none" && isJSONString(req["token_endpoint_auth_method"]) {
		clientType = "public"
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	c := &StoredClient{
		ID:            hex.EncodeToString(s.randBytes(16)),
		ClientID:      s.token(16),
		ClientType:    clientType,
		Name:          jsString(req["client_name"]),
		LogoURI:       nullableString(req["logo_uri"]),
		ClientURI:     nullableString(req["client_uri"]),
		PolicyURI:     nullableString(req["policy_uri"]),
		TOSURI:        nullableString(req["tos_uri"]),
		RedirectURIs:  uris,
		GrantTypes:    grants,
		ResponseTypes: responses,
		AllowedScopes: nonNil(scopes),
		Owner:         owner,
		Status:        "active",
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	secret := s.token(32)
	regToken := s.token(32)
	c.RegistrationTokenHash = sha256Hex(regToken)
	s.regTokens = append(s.regTokens, regToken)
	resp := map[string]any{
		"client_id":                 c.ClientID,
		"client_id_issued_at":       now.Unix(),
		"client_secret_expires_at":  0,
		"registration_access_token": regToken,
		"registration_client_uri":   "/oauth/register/" + c.ClientID,
		"client_name":               req["client_name"],
		"redirect_uris":             req["redirect_uris"],
		"grant_types":               grants,
		"response_types":            responses,
		"scope":                     strings.Join(scopes, " "),
	}
	if clientType == "confidential" {
		c.SecretHash = sha256Hex(secret)
		resp["client_secret"] = secret
		s.secrets = append(s.secrets, secret)
	}
	// undefined fields are omitted from the reply, null ones kept.
	for _, k := range []string{"client_uri", "logo_uri", "policy_uri", "tos_uri"} {
		if v, ok := req[k]; ok {
			resp[k] = v
		}
	}
	s.clients = append(s.clients, c)
	return jsonReply(http.StatusCreated, resp)
}

func (s *Server) update(owner, id string, body []byte) reply {
	req, ok := parseBody(body)
	if !ok {
		return badRequest("Invalid JSON body")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.find(id)
	if c == nil || c.Owner != owner {
		return notFound("Client")
	}
	if c.Status != "active" {
		// updateClient → null → NotFoundError, caught by the handler's
		// try/catch and re-thrown as BadRequestError.
		return badRequest("Client not found")
	}
	next := c.clone()
	changed := false
	if truthy(req["client_name"]) {
		next.Name, changed = jsString(req["client_name"]), true
	}
	if truthy(req["redirect_uris"]) {
		uris, _, err := stringArray(req["redirect_uris"])
		if err != nil {
			return badRequest(err.Error())
		}
		if err := validateRedirectURIs(uris); err != nil {
			return badRequest(err.Error())
		}
		next.RedirectURIs, changed = uris, true
	}
	for k, dst := range map[string]**string{"logo_uri": &next.LogoURI, "client_uri": &next.ClientURI, "policy_uri": &next.PolicyURI, "tos_uri": &next.TOSURI} {
		if v, ok := req[k]; ok {
			*dst, changed = nullableString(v), true
		}
	}
	if v, ok := req["scope"]; ok {
		scopes, err := scopesFrom(v)
		if err != nil {
			return badRequest(err.Error())
		}
		next.AllowedScopes, changed = nonNil(scopes), true
	}
	if changed {
		next.UpdatedAt = s.now().UTC()
		*c = next
	}
	m := clientJSON(c)
	m["id"] = c.ID
	return jsonReply(http.StatusOK, m)
}

func (s *Server) revoke(owner, id string) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.find(id)
	if c == nil || c.Owner != owner {
		return notFound("Client")
	}
	c.Status = "revoked"
	c.UpdatedAt = s.now().UTC()
	return jsonReply(http.StatusOK, map[string]bool{"success": true})
}

// Context-free helpers for the JavaScript semantics the server relies on.

// truthy is JavaScript truthiness of a JSON value; absent is undefined.
func truthy(v json.RawMessage) bool {
	t := string(bytes.TrimSpace(v))
	switch t {
	case "", "null", "false", `""`:
		return false
	}
	var f float64
	if json.Unmarshal(v, &f) == nil {
		return f != 0
	}
	return true
}

func isJSONString(v json.RawMessage) bool {
	var s string
	return json.Unmarshal(v, &s) == nil
}

// jsString is String(value) for the JSON values a client can send.
func jsString(v json.RawMessage) string {
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	t := string(bytes.TrimSpace(v))
	switch {
	case strings.HasPrefix(t, "{"):
		return "[object Object]"
	case strings.HasPrefix(t, "["):
		var a []json.RawMessage
		_ = json.Unmarshal(v, &a)
		parts := make([]string, len(a))
		for i, e := range a {
			if s := string(bytes.TrimSpace(e)); s != "null" {
				parts[i] = jsString(e)
			}
		}
		return strings.Join(parts, ",")
	}
	return t
}

func nullableString(v json.RawMessage) *string {
	if v == nil || string(bytes.TrimSpace(v)) == "null" {
		return nil
	}
	s := jsString(v)
	return &s
}

// stringArray reads redirect_uris-like fields. Elements become
// String(element), as `new URL(element)` would see them. A non-array value
// is refused: the real server fails on it in ways not worth mimicking.
func stringArray(v json.RawMessage) ([]string, bool, error) {
	if v == nil || string(bytes.TrimSpace(v)) == "null" {
		return nil, false, nil
	}
	var a []json.RawMessage
	if json.Unmarshal(v, &a) != nil {
		return nil, true, fmt.Errorf("expected an array of strings")
	}
	out := make([]string, len(a))
	for i, e := range a {
		out[i] = jsString(e)
	}
	return out, true, nil
}

// scopeString refuses a non-string scope: parseScopes calls .trim() on it,
// which throws, and the handler answers 400.
func scopeString(v json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", fmt.Errorf("scopeString.trim is not a function")
	}
	return s, nil
}

// scopesFrom reads and checks a request's scope the way create and update
// both do: an absent or falsy value is no scope, a string is split and
// every scope must be known.
func scopesFrom(v json.RawMessage) ([]string, error) {
	if !truthy(v) {
		return nil, nil
	}
	str, err := scopeString(v)
	if err != nil {
		return nil, err
	}
	scopes := parseScopes(str)
	if err := validateScopes(scopes); err != nil {
		return nil, err
	}
	return scopes, nil
}

// parseScopes splits on JavaScript's \s.
func parseScopes(s string) []string {
	return strings.FieldsFunc(s, isJSSpace)
}

func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// validateScopes returns the server's own message, capitalised as it is
// on the wire.
func validateScopes(scopes []string) error {
	var unknown []string
	for _, sc := range scopes {
		if !slices.Contains(knownScopes[:], sc) {
			unknown = append(unknown, sc)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("Unknown scopes: %s", strings.Join(unknown, ", "))
	}
	return nil
}

// validateRedirectURIs is validateRedirectUris of services/oauth/client.ts.
func validateRedirectURIs(uris []string) error {
	if len(uris) == 0 {
		return fmt.Errorf("At least one redirect_uri is required")
	}
	for _, u := range uris {
		p, err := whatwgParse(u)
		if err != nil {
			return fmt.Errorf("Invalid redirect_uri: %s", u)
		}
		if p.Protocol != "https:" && !isLocalhost(p.Hostname) {
			return fmt.Errorf("Invalid redirect_uri: %s - must use HTTPS", u)
		}
		if p.Hash != "" {
			return fmt.Errorf("Invalid redirect_uri: %s - fragment not allowed", u)
		}
	}
	return nil
}

func isLocalhost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "[::1]" || strings.HasSuffix(h, ".localhost")
}

// ValidateRedirectURIs exposes the server's redirect-URI check (nil or the
// server's message) so other packages can compare their lint against it.
func ValidateRedirectURIs(uris []string) error { return validateRedirectURIs(uris) }

// ValidateScope exposes the server's scope check of a space-separated
// scope string.
func ValidateScope(scope string) error { return validateScopes(parseScopes(scope)) }
