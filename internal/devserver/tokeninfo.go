package devserver

import (
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// /oauth/userinfo, /oauth/introspect and /oauth/revoke as
// routes/oauth/{userinfo,introspect,revoke}.ts serve them.

// accessValid is isAccessTokenValid: the access token row of jti exists,
// is not revoked and has not expired. a.mu must be held.
func (a *authServer) accessValid(jti string, now time.Time) bool {
	t := a.tokenByHash(sha256Hex(jti), "access")
	return t != nil && !t.Revoked && t.ExpiresAt.After(now)
}

func invalidToken(desc string) reply {
	return oauthError(http.StatusUnauthorized, oauthwire.InvalidToken, desc)
}

func (s *Server) userinfo(r *http.Request) reply {
	tok := ""
	if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		tok = strings.TrimSpace(v)
	}
	if tok == "" {
		return invalidToken("Missing or invalid Authorization header")
	}
	now := s.now()
	s.oa.mu.Lock()
	defer s.oa.mu.Unlock()
	c := s.oa.verifyJWT(tok, s.issuerURL(), "", now)
	switch {
	case c == nil:
		return invalidToken("Token verification failed")
	case c.ClientID == "" || c.Audience != c.ClientID:
		return invalidToken("Token audience is invalid")
	case !s.oa.accessValid(c.JTI, now):
		return invalidToken("Token has been revoked")
	}
	u, ok := s.oa.users[c.Subject]
	if !ok {
		return invalidToken("User not found")
	}
	scopes := parseScopes(c.Scope)
	profile, email := slices.Contains(scopes, "profile"), slices.Contains(scopes, "email")
	var picture any // null when the account has none
	if u.Picture != "" {
		picture = u.Picture
	}
	var mail any
	if u.Email != "" {
		mail = u.Email
	}
	inner := map[string]any{"id": u.ID}
	out := map[string]any{"sub": u.ID, "user": inner}
	if profile {
		inner["name"], inner["picture"] = u.Name, picture
		out["name"], out["picture"] = u.Name, picture
	}
	if email {
		inner["email"] = mail
		out["email"], out["email_verified"] = mail, true
	}
	return jsonReply(http.StatusOK, out)
}

func (s *Server) introspect(r *http.Request, body []byte) reply {
	form := parseBodyForm(r.Header.Get("Content-Type"), body)
	tok, clientID := form["token"], form["client_id"]
	if tok == "" || clientID == "" {
		return missingParams()
	}
	if _, rep, ok := s.checkClient(clientID, form["client_secret"]); !ok {
		return rep
	}
	inactive := jsonReply(http.StatusOK, map[string]bool{"active": false})
	now := s.now()
	s.oa.mu.Lock()
	defer s.oa.mu.Unlock()
	if c := s.oa.verifyJWT(tok, s.issuerURL(), clientID, now); c != nil {
		if c.ClientID != clientID || !s.oa.accessValid(c.JTI, now) {
			return inactive
		}
		return jsonReply(http.StatusOK, map[string]any{
			"active": true, "scope": c.Scope, "client_id": c.ClientID, "token_type": "Bearer",
			"exp": c.Expiry, "iat": c.IssuedAt, "sub": c.Subject, "aud": c.Audience, "iss": c.Issuer, "jti": c.JTI,
		})
	}
	rt := s.oa.tokenByHash(sha256Hex(tok), "refresh")
	if rt == nil || rt.Revoked || rt.ClientID != clientID || !rt.ExpiresAt.After(now) {
		return inactive
	}
	return jsonReply(http.StatusOK, map[string]any{
		"active": true, "scope": rt.Scope, "client_id": rt.ClientID, "token_type": "refresh_token",
		"exp": rt.ExpiresAt.Unix(), "sub": rt.UserID,
	})
}

// revoke answers 200 with an empty body whatever happened, once the client
// authenticated. It revokes the row whose token_hash is the SHA-256 of the
// token as sent: a refresh token is found, but an access token is stored
// under the hash of its jti, so revoking an access token changes nothing
// and it stays valid until it expires. Revoking a refresh token leaves the
// access tokens issued with it valid too.
func (s *Server) revokeToken(r *http.Request, body []byte) reply {
	form := parseBodyForm(r.Header.Get("Content-Type"), body)
	tok, hint, clientID := form["token"], form["token_type_hint"], form["client_id"]
	if tok == "" || clientID == "" {
		return missingParams()
	}
	if _, rep, ok := s.checkClient(clientID, form["client_secret"]); !ok {
		return rep
	}
	now := s.now()
	s.oa.mu.Lock()
	defer s.oa.mu.Unlock()
	mismatch := false
	if hint != "refresh_token" {
		if c := s.oa.verifyJWT(tok, s.issuerURL(), "", now); c != nil && c.ClientID != clientID {
			mismatch = true
		}
	}
	if !mismatch && hint != "access_token" {
		if rt := s.oa.tokenByHash(sha256Hex(tok), "refresh"); rt != nil && !rt.Revoked && rt.ClientID != clientID {
			mismatch = true
		}
	}
	if !mismatch {
		// revokeToken maps any hint but access_token to the refresh type.
		typ := ""
		switch hint {
		case "":
		case "access_token":
			typ = "access"
		default:
			typ = "refresh"
		}
		h := sha256Hex(tok)
		for _, t := range s.oa.tokens {
			if t.Hash == h && (typ == "" || t.Type == typ) {
				s.oa.revoke(t, "user_revoked", now)
			}
		}
	}
	return reply{status: http.StatusOK}
}
