package controlplanetest

import (
	"net/http"
	"strings"
)

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
