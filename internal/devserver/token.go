package devserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// POST /oauth/token as routes/oauth/token.ts serves it, with
// services/oauth/{authorization,token-grants,token-refresh}.ts.
//
// What surprises clients written from the docs:
//   - the body must be application/x-www-form-urlencoded; JSON (the docs'
//     example) is invalid_request;
//   - client credentials are read from the body only; HTTP Basic (which
//     discovery advertises) leaves client_id missing: invalid_request;
//   - the code_verifier is mandatory and must hash to the S256 challenge;
//   - a refresh rotates: the old refresh token and the access tokens issued
//     with it are revoked at once. Presenting the old refresh token again
//     is invalid_grant "Invalid refresh token" and leaves the family alone;
//     only a concurrent reuse (the second request arrives between the first
//     one's marking and revoking) is detected as reuse and revokes the
//     family ("Refresh token has been invalidated for security reasons");
//   - a code presented twice is invalid_grant and revokes every token
//     issued from it.

// DocsJSONHint is appended to the server's error description when a token
// request has a JSON body: the Takos docs show JSON, the server reads forms.
const DocsJSONHint = " (takos-apply dev: the Takos docs show a JSON body here, but the server reads only application/x-www-form-urlencoded)"

func (s *Server) tokenEndpoint(r *http.Request, body []byte) reply {
	ct := r.Header.Get("Content-Type")
	if !strings.Contains(ct, "application/x-www-form-urlencoded") {
		desc := "Content-Type must be application/x-www-form-urlencoded"
		if s.oa.docsHint && strings.Contains(strings.ToLower(ct), "json") {
			desc += DocsJSONHint
		}
		return oauthError(http.StatusBadRequest, oauthwire.InvalidRequest, desc)
	}
	form := parseBodyForm(ct, body)
	grant := form["grant_type"]
	if rep, ok := s.takeTokenFault(grant); ok {
		return rep
	}
	var rep reply
	switch grant {
	case "authorization_code":
		rep = s.codeGrant(form)
	case "refresh_token":
		rep = s.refreshGrant(form)
	case "client_credentials":
		rep = s.clientCredentialsGrant(form)
	case deviceCodeGrant:
		rep = s.deviceGrant(form)
	default:
		return oauthError(http.StatusBadRequest, oauthwire.UnsupportedGrantType, "Unsupported grant type")
	}
	return rep
}

const deviceCodeGrant = oauthwire.GrantTypeDeviceCode

func missingParams() reply {
	return oauthError(http.StatusBadRequest, oauthwire.InvalidRequest, "Missing required parameters")
}

func invalidGrant(desc string) reply {
	return oauthError(http.StatusBadRequest, oauthwire.InvalidGrant, desc)
}

// checkClient is validateClientCredentials: an unknown (or not active)
// client, a confidential client without a secret, or a wrong secret is
// invalid_client 401. A public client needs no secret.
func (s *Server) checkClient(clientID, secret string) (StoredClient, reply, bool) {
	c, ok := s.activeClient(clientID)
	if !ok {
		return c, oauthError(http.StatusUnauthorized, oauthwire.InvalidClient, "Client not found"), false
	}
	if c.ClientType == "confidential" {
		if secret == "" {
			return c, oauthError(http.StatusUnauthorized, oauthwire.InvalidClient, "Client secret required"), false
		}
		if c.SecretHash == "" || subtle.ConstantTimeCompare([]byte(sha256Hex(secret)), []byte(c.SecretHash)) != 1 {
			return c, oauthError(http.StatusUnauthorized, oauthwire.InvalidClient, "Invalid client secret"), false
		}
	}
	return c, reply{}, true
}

func (s *Server) codeGrant(form map[string]string) reply {
	code, redirect, clientID, verifier := form["code"], form["redirect_uri"], form["client_id"], form["code_verifier"]
	if code == "" || redirect == "" || clientID == "" || verifier == "" {
		return missingParams()
	}
	client, rep, ok := s.checkClient(clientID, form["client_secret"])
	if !ok {
		return rep
	}
	now := s.now()
	s.oa.mu.Lock()
	var ac *authCode
	h := sha256Hex(code)
	for _, c := range s.oa.codes {
		if c.CodeHash == h {
			ac = c
		}
	}
	var fail string
	switch {
	case ac == nil:
		fail = "Authorization code not found"
	case ac.Used:
		// Replay: every token issued from this code is revoked.
		s.oa.revokeFamily(codeFamily(ac.ID), "auth_code_replay", now)
		fail = "Authorization code already used"
	case expired(ac.ExpiresAt, now):
		fail = "Authorization code expired"
	case ac.ClientID != clientID:
		fail = "Client ID mismatch"
	case ac.RedirectURI != redirect:
		fail = "Redirect URI mismatch"
	case ac.Method != "S256":
		fail = "Unsupported PKCE code challenge method"
	case subtle.ConstantTimeCompare([]byte(s256(verifier)), []byte(ac.Challenge)) != 1:
		fail = "PKCE verification failed"
	default:
		ac.Used = true
	}
	var userID, scope, id string
	if fail == "" {
		userID, scope, id = ac.UserID, ac.Scope, ac.ID
	}
	s.oa.mu.Unlock()
	if fail != "" {
		return invalidGrant(fail)
	}
	return s.tokenResponse(client, userID, scope, codeFamily(id), true)
}

// codeFamily is buildAuthorizationCodeTokenFamily.
func codeFamily(codeID string) string { return "auth_code:" + codeID }

// s256 is the PKCE S256 transform.
func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (s *Server) refreshGrant(form map[string]string) reply {
	rt, clientID, scope := form["refresh_token"], form["client_id"], form["scope"]
	if rt == "" || clientID == "" {
		return missingParams()
	}
	client, rep, ok := s.checkClient(clientID, form["client_secret"])
	if !ok {
		return rep
	}
	const reused = "Refresh token has been invalidated for security reasons"
	now := s.now()
	// getRefreshTokenWithReuseCheck: a revoked token is not found at all.
	s.oa.mu.Lock()
	var st oauthToken
	found := false
	h := sha256Hex(rt)
	for _, t := range s.oa.tokens {
		if t.Hash == h && t.Type == "refresh" && !t.Revoked {
			st, found = *t, true
			break
		}
	}
	if found && st.UsedAt != nil {
		// Used but not yet revoked: another request is rotating it now.
		if st.Family != "" {
			s.oa.revokeFamily(st.Family, "reuse_detected", now)
		}
		s.oa.mu.Unlock()
		return invalidGrant(reused)
	}
	s.oa.mu.Unlock()
	switch {
	case !found:
		return invalidGrant("Invalid refresh token")
	case st.ClientID != clientID:
		return invalidGrant("Token was not issued to this client")
	case expired(st.ExpiresAt, now):
		return invalidGrant("Refresh token expired")
	}
	final := st.Scope
	if scope != "" {
		original := parseScopes(st.Scope)
		for _, sc := range parseScopes(scope) {
			if !slices.Contains(original, sc) {
				return oauthError(http.StatusBadRequest, oauthwire.InvalidScope, "Requested scope exceeds original grant")
			}
		}
		final = scope
	}
	// rotateRefreshToken: mark used (only if still unused and not
	// revoked), then revoke it and its access tokens, then issue.
	s.oa.mu.Lock()
	marked := false
	for _, t := range s.oa.tokens {
		if t.ID == st.ID && t.Type == "refresh" && !t.Revoked && t.UsedAt == nil {
			at := now.UTC()
			t.UsedAt, marked = &at, true
		}
	}
	if !marked {
		if st.Family != "" {
			s.oa.revokeFamily(st.Family, "reuse_detected", now)
		} else {
			s.oa.revokeRefreshAndChildren(st.ID, "reuse_detected", now)
		}
	}
	hook := s.oa.afterRefreshMark
	s.oa.mu.Unlock()
	if !marked {
		return invalidGrant(reused)
	}
	if hook != nil {
		hook()
	}
	s.oa.mu.Lock()
	s.oa.revokeRefreshAndChildren(st.ID, "rotated", s.now())
	s.oa.mu.Unlock()
	return s.tokenResponse(client, st.UserID, final, st.Family, true)
}

func (s *Server) clientCredentialsGrant(form map[string]string) reply {
	clientID, secret, scope := form["client_id"], form["client_secret"], form["scope"]
	if clientID == "" || secret == "" {
		return oauthError(http.StatusBadRequest, oauthwire.InvalidRequest, "Missing client_id or client_secret")
	}
	client, rep, ok := s.checkClient(clientID, secret)
	if !ok {
		return rep
	}
	if !slices.Contains(client.GrantTypes, "client_credentials") {
		return oauthError(http.StatusBadRequest, oauthwire.UnauthorizedClient, "Grant type not allowed")
	}
	requested := parseScopes(scope)
	for _, sc := range requested {
		if !slices.Contains(client.AllowedScopes, sc) {
			return oauthError(http.StatusBadRequest, oauthwire.InvalidScope, "Requested scope exceeds allowed scopes")
		}
	}
	final := strings.Join(client.AllowedScopes, " ")
	if len(requested) > 0 {
		final = strings.Join(requested, " ")
	}
	return s.tokenResponse(client, clientID, final, "", false)
}

// deviceGrant checks what the device-code grant checks before it looks the
// device code up. The dev server issues no device codes
// (/oauth/device/code is not modelled), so a lookup never finds one.
func (s *Server) deviceGrant(form map[string]string) reply {
	if form["device_code"] == "" || form["client_id"] == "" {
		return missingParams()
	}
	client, rep, ok := s.checkClient(form["client_id"], form["client_secret"])
	if !ok {
		return rep
	}
	if !slices.Contains(client.GrantTypes, deviceCodeGrant) {
		return oauthError(http.StatusBadRequest, oauthwire.UnauthorizedClient, "Client does not support device_code grant")
	}
	return invalidGrant("Invalid device code")
}

// issuerURL is https://ADMIN_DOMAIN, or the server's own URL with
// WithSelfIssuer: the iss of every access token and what verification
// expects.
func (s *Server) issuerURL() string {
	if s.issuer == "" {
		return s.URL
	}
	return s.issuer
}

// tokenResponse is generateTokenResponse: an access token, and a refresh
// token when allowed and the client has the refresh_token grant, both in
// family (a new family for a new refresh token without one).
func (s *Server) tokenResponse(client StoredClient, userID, scope, family string, withRefresh bool) reply {
	now := s.now()
	jti := s.generateID()
	accessID := s.generateID()
	var refresh, refreshID string
	if withRefresh && slices.Contains(client.GrantTypes, "refresh_token") {
		refresh, refreshID = s.randomToken(32), s.generateID()
		if family == "" {
			family = s.generateID()
		}
	}
	s.oa.mu.Lock()
	ttl := s.oa.accessTTL
	accessExp := now.Add(ttl)
	if s.oa.expireNext.access > 0 {
		s.oa.expireNext.access--
		accessExp = now
	}
	refreshExp := now.Add(refreshTokenTTL)
	if refresh != "" && s.oa.expireNext.refresh > 0 {
		s.oa.expireNext.refresh--
		refreshExp = now.Add(-time.Millisecond)
	}
	tok := s.oa.signJWT(AccessClaims{
		Scope: scope, ClientID: client.ClientID, JTI: jti, Issuer: s.issuerURL(), Audience: client.ClientID,
		Subject: userID, IssuedAt: now.Unix(), Expiry: accessExp.Unix(),
	})
	created := now.UTC()
	if refresh != "" {
		s.oa.tokens = append(s.oa.tokens, &oauthToken{
			ID: refreshID, Type: "refresh", Hash: sha256Hex(refresh), ClientID: client.ClientID, UserID: userID,
			Scope: scope, Family: family, ExpiresAt: refreshExp.UTC(), CreatedAt: created,
		})
	}
	s.oa.tokens = append(s.oa.tokens, &oauthToken{
		ID: accessID, Type: "access", Hash: sha256Hex(jti), ClientID: client.ClientID, UserID: userID,
		Scope: scope, RefreshTokenID: refreshID, Family: family, ExpiresAt: time.Unix(accessExp.Unix(), 0).UTC(), CreatedAt: created,
	})
	s.oa.mu.Unlock()
	out := map[string]any{
		"access_token": tok,
		"token_type":   "Bearer",
		"expires_in":   int64(ttl / time.Second),
		"scope":        scope,
	}
	if refresh != "" {
		out["refresh_token"] = refresh
	}
	rep := jsonReply(http.StatusOK, out)
	rep.header = http.Header{"Cache-Control": {"no-store"}}
	return rep
}
