package devserver

import (
	"crypto/rsa"
	"encoding/hex"
	"slices"
	"sync"
	"time"
)

// The OAuth authorization server's state: the rows of oauth_authorization_codes,
// oauth_tokens and oauth_consents (infra/db/schema-oauth.ts), the accounts a
// token's sub names, the signing key, and what the dev harness adds (CSRF
// tokens of rendered consent pages, injected token faults). It has its own
// lock; a handler that also needs a client reads it first under Server.mu and
// never holds both.

// Lifetimes and sizes of OAUTH_CONSTANTS (shared/types/oauth.ts).
const (
	accessTokenTTL  = time.Hour
	refreshTokenTTL = 30 * 24 * time.Hour
	codeTTL         = 600 * time.Second
	csrfTTL         = 600 * time.Second
)

// User is an account as /oauth/userinfo reads it. Picture "" is null.
type User struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Email   string `json:"email,omitempty"`
	Picture string `json:"picture,omitempty"`
}

// DefaultUser is the account a dev server's browser is signed in as unless
// WithLoginUser says otherwise: the owner of the server's own PAT.
var DefaultUser = User{ID: DefaultOwner, Name: "Dev User", Email: "dev@example.com"}

type authCode struct {
	ID          string    `json:"id"`
	CodeHash    string    `json:"code_hash"`
	ClientID    string    `json:"client_id"`
	UserID      string    `json:"account_id"`
	RedirectURI string    `json:"redirect_uri"`
	Scope       string    `json:"scope"`
	Challenge   string    `json:"code_challenge"`
	Method      string    `json:"code_challenge_method"`
	Used        bool      `json:"used"`
	ExpiresAt   time.Time `json:"expires_at"`
	CreatedAt   time.Time `json:"created_at"`
}

// oauthToken is one row of oauth_tokens. An access token's Hash is the
// SHA-256 of its JWT's jti, a refresh token's that of the token itself.
type oauthToken struct {
	ID             string     `json:"id"`
	Type           string     `json:"token_type"` // access or refresh
	Hash           string     `json:"token_hash"`
	ClientID       string     `json:"client_id"`
	UserID         string     `json:"account_id"`
	Scope          string     `json:"scope"`
	RefreshTokenID string     `json:"refresh_token_id,omitempty"`
	Revoked        bool       `json:"revoked"`
	RevokedAt      *time.Time `json:"revoked_at,omitempty"`
	RevokedReason  string     `json:"revoked_reason,omitempty"`
	UsedAt         *time.Time `json:"used_at,omitempty"`
	Family         string     `json:"token_family,omitempty"`
	ExpiresAt      time.Time  `json:"expires_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

type consent struct {
	UserID   string   `json:"account_id"`
	ClientID string   `json:"client_id"`
	Scopes   []string `json:"scopes"`
	Status   string   `json:"status"` // active or revoked
}

type csrfEntry struct {
	params  string // the authorization request the page was rendered for
	expires time.Time
}

type authServer struct {
	mu       sync.Mutex
	key      *rsa.PrivateKey
	codes    []*authCode
	tokens   []*oauthToken
	consents []*consent
	users    map[string]User
	csrf     map[string]csrfEntry
	faults   []TokenFault
	// expireNext counts the next access and refresh tokens to issue
	// already expired (devfaults.go).
	expireNext struct{ access, refresh int }

	// Settings (options); not state.
	login       *User // nil: no browser session (WithoutLoginSession)
	autoApprove bool
	accessTTL   time.Duration
	jwks        bool
	docsHint    bool // append DocsJSONHint (WithoutDevHints turns it off)

	// afterRefreshMark, when set (in-package tests), runs between marking a
	// refresh token used and revoking it: the window in which the real
	// server detects a concurrent reuse.
	afterRefreshMark func()
}

func newAuthServer() authServer {
	u := DefaultUser
	return authServer{
		users:     map[string]User{u.ID: u},
		csrf:      map[string]csrfEntry{},
		login:     &u,
		accessTTL: accessTokenTTL,
		docsHint:  true,
	}
}

// generateID is generateId of services/oauth/pkce.ts: 16 random bytes as
// hex in the 8-4-4-4-12 layout of a UUID, without version bits.
func (s *Server) generateID() string {
	s.mu.Lock()
	b := s.randBytes(16)
	s.mu.Unlock()
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// randomToken is base64url of n random bytes (generateRandomString).
func (s *Server) randomToken(n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token(n)
}

// activeClient is getClientById: only an active client is found.
func (s *Server) activeClient(clientID string) (StoredClient, bool) {
	c, ok := s.Client(clientID)
	if !ok || c.Status != "active" {
		return StoredClient{}, false
	}
	return c, true
}

// --- tokens (services/oauth/token-*.ts) ---

func (a *authServer) tokenByHash(hash, typ string) *oauthToken {
	for _, t := range a.tokens {
		if t.Hash == hash && (typ == "" || t.Type == typ) {
			return t
		}
	}
	return nil
}

func (a *authServer) revoke(t *oauthToken, reason string, now time.Time) {
	at := now.UTC()
	t.Revoked, t.RevokedAt, t.RevokedReason = true, &at, reason
}

// revokeFamily is revokeTokenFamily: every token of the family not yet
// revoked. It returns how many.
func (a *authServer) revokeFamily(family, reason string, now time.Time) int {
	n := 0
	for _, t := range a.tokens {
		if t.Family == family && !t.Revoked {
			a.revoke(t, reason, now)
			n++
		}
	}
	return n
}

// revokeRefreshAndChildren is revokeRefreshTokenAndChildren: the refresh
// token and the access tokens issued with it, revoked or not.
func (a *authServer) revokeRefreshAndChildren(id, reason string, now time.Time) {
	for _, t := range a.tokens {
		if t.ID == id || t.RefreshTokenID == id {
			a.revoke(t, reason, now)
		}
	}
}

// --- consents (services/oauth/consent.ts) ---

func (a *authServer) consentOf(userID, clientID string) *consent {
	for _, c := range a.consents {
		if c.UserID == userID && c.ClientID == clientID && c.Status == "active" {
			return c
		}
	}
	return nil
}

// newScopes is getNewScopes: the requested scopes the user has not
// granted yet.
func (a *authServer) newScopes(userID, clientID string, requested []string) []string {
	c := a.consentOf(userID, clientID)
	if c == nil {
		return requested
	}
	var out []string
	for _, s := range requested {
		if !slices.Contains(c.Scopes, s) {
			out = append(out, s)
		}
	}
	return out
}

// grant is grantConsent: the scopes are merged into the active consent.
func (a *authServer) grant(userID, clientID string, scopes []string) {
	if c := a.consentOf(userID, clientID); c != nil {
		for _, s := range scopes {
			if !slices.Contains(c.Scopes, s) {
				c.Scopes = append(c.Scopes, s)
			}
		}
		return
	}
	a.consents = append(a.consents, &consent{UserID: userID, ClientID: clientID, Scopes: slices.Clone(scopes), Status: "active"})
}

// Tokens returns a snapshot of the issued OAuth tokens (oauth_tokens rows:
// type, client, scope, family, revocation), oldest first.
func (s *Server) Tokens() []TokenInfo {
	s.oa.mu.Lock()
	defer s.oa.mu.Unlock()
	out := make([]TokenInfo, len(s.oa.tokens))
	for i, t := range s.oa.tokens {
		out[i] = TokenInfo{Type: t.Type, ClientID: t.ClientID, UserID: t.UserID, Scope: t.Scope, Family: t.Family,
			Revoked: t.Revoked, RevokedReason: t.RevokedReason, Used: t.UsedAt != nil, ExpiresAt: t.ExpiresAt}
	}
	return out
}

// TokenInfo is what Tokens reports of one issued token; the token itself
// is never kept.
type TokenInfo struct {
	Type          string // access or refresh
	ClientID      string
	UserID        string
	Scope         string
	Family        string
	Revoked       bool
	RevokedReason string // rotated, reuse_detected, auth_code_replay, user_revoked
	Used          bool   // a refresh token that was rotated
	ExpiresAt     time.Time
}
