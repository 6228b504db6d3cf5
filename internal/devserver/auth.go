package devserver

import (
	"net/http"
	"strings"

	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// authenticate follows requireAuth (middleware/auth.ts). The scheme must
// be written "Bearer " exactly: "bearer …" is no credential at all. A
// tak_pat_ bearer is checked as a PAT (flat invalid_token error), a bearer
// with a dot is an OAuth JWT and refused, and anything else is looked up as
// a session id of 16–128 [A-Za-z0-9_-]; a bearer that is neither a known
// PAT nor a known session is "Authentication required", the same as none.
// A session cookie, when sent, is the only credential looked at.
func (s *Server) authenticate(r *http.Request) (owner string, rep reply, ok bool) {
	required := envelopeReply(http.StatusUnauthorized, "UNAUTHORIZED", "Authentication required")
	if c, err := r.Cookie(sessionCookie); err == nil {
		// The session cookie, when present, wins over Authorization.
		s.mu.Lock()
		owner, known := s.tokens[c.Value]
		s.mu.Unlock()
		if !known || strings.HasPrefix(c.Value, "tak_pat_") || !validSessionID(c.Value) {
			return "", required, false
		}
		return owner, reply{}, true
	}
	bearer, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	bearer = strings.TrimSpace(bearer)
	if !found || bearer == "" {
		return "", required, false
	}
	s.mu.Lock()
	owner, known := s.tokens[bearer]
	s.mu.Unlock()
	if !known {
		owner, known = s.patOwner(bearer)
	}
	if !known && s.verify != nil {
		if o, ok := s.verify(bearer); ok {
			return o, reply{}, true
		}
	}
	switch {
	case strings.HasPrefix(bearer, "tak_pat_"):
		if !known {
			return "", oauthError(http.StatusUnauthorized, oauthwire.InvalidToken, "Invalid or expired PAT"), false
		}
	case strings.Contains(bearer, "."):
		return "", jsonReply(http.StatusUnauthorized, map[string]string{"error": "OAuth bearer token is not supported on this endpoint. Use OAuth-protected routes."}), false
	case !known || !validSessionID(bearer):
		return "", required, false
	}
	return owner, reply{}, true
}

// sessionCookie carries a browser session id.
const sessionCookie = "__Host-tp_session"

// validSessionID is the shape requireAuth accepts as a session id.
func validSessionID(v string) bool { return len(v) >= 16 && validOpaqueID(v) }
