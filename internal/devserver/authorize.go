package devserver

import (
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// /oauth/authorize as routes/oauth/authorize.ts and
// services/oauth/authorization.ts serve it. The dev server's browser is
// always signed in as its login user (WithLoginUser; DefaultUser), where
// the real server needs a Google sign-in; WithoutLoginSession restores the
// real server's answer to a browser without a session.

// authzRequest is an AuthorizationRequest; an absent field is "".
type authzRequest struct {
	ResponseType, ClientID, RedirectURI, Scope, State, CodeChallenge, CodeChallengeMethod string
}

// authzResult is AuthorizationValidationResult.
type authzResult struct {
	ok          bool
	client      StoredClient
	err, desc   string
	redirectURI string // set once the redirect URI is known to be registered
}

// validateAuthz is validateAuthorizationRequest: the first failing check
// wins, in the server's order. Errors before the redirect URI is known to
// be registered carry no redirectURI and are answered as JSON.
func (s *Server) validateAuthz(req authzRequest) authzResult {
	bad := func(err, desc, redirect string) authzResult {
		return authzResult{err: err, desc: desc, redirectURI: redirect}
	}
	if req.ResponseType != "code" {
		return bad("unsupported_response_type", "Only response_type=code is supported", "")
	}
	if req.ClientID == "" {
		return bad(oauthwire.InvalidRequest, "client_id is required", "")
	}
	c, ok := s.activeClient(req.ClientID)
	if !ok {
		return bad(oauthwire.InvalidClient, "Client not found", "")
	}
	if req.RedirectURI == "" {
		return bad(oauthwire.InvalidRequest, "redirect_uri is required", "")
	}
	if !slices.Contains(c.RedirectURIs, req.RedirectURI) {
		return bad(oauthwire.InvalidRequest, "redirect_uri not registered", "")
	}
	ru := req.RedirectURI
	switch {
	case req.State == "":
		return bad(oauthwire.InvalidRequest, "state is required", ru)
	case req.CodeChallenge == "":
		return bad(oauthwire.InvalidRequest, "code_challenge is required (PKCE)", ru)
	case req.CodeChallengeMethod != "S256":
		return bad(oauthwire.InvalidRequest, "code_challenge_method must be S256", ru)
	case !validCodeChallenge(req.CodeChallenge):
		return bad(oauthwire.InvalidRequest, "Invalid code_challenge format", ru)
	case !slices.Contains(c.GrantTypes, "authorization_code"):
		return bad(oauthwire.UnauthorizedClient, "Client does not support authorization_code grant", ru)
	case req.Scope == "":
		return bad(oauthwire.InvalidRequest, "scope is required", ru)
	}
	requested := parseScopes(req.Scope)
	if err := validateScopes(requested); err != nil {
		return bad(oauthwire.InvalidScope, err.Error(), ru)
	}
	for _, sc := range requested {
		if !slices.Contains(c.AllowedScopes, sc) {
			return bad(oauthwire.InvalidScope, "Requested scope exceeds allowed scopes", ru)
		}
	}
	return authzResult{ok: true, client: c, redirectURI: ru}
}

// validCodeChallenge is isValidCodeChallenge: 43 base64url characters.
func validCodeChallenge(ch string) bool { return len(ch) == 43 && validOpaqueID(ch) }

func redirectTo(loc string) reply {
	return reply{status: http.StatusFound, header: http.Header{"Location": {loc}}}
}

func (s *Server) authorizeGET(r *http.Request) reply {
	q := queryFirst(r.URL.RawQuery)
	req := authzRequest{
		ResponseType: q["response_type"], ClientID: q["client_id"], RedirectURI: q["redirect_uri"], Scope: q["scope"],
		State: q["state"], CodeChallenge: q["code_challenge"], CodeChallengeMethod: q["code_challenge_method"],
	}
	v := s.validateAuthz(req)
	if !v.ok {
		if v.redirectURI == "" || req.State == "" {
			return oauthError(http.StatusBadRequest, v.err, v.desc)
		}
		return redirectTo(withParams(v.redirectURI, param{"error", v.err}, param{"error_description", v.desc}, param{"state", req.State}))
	}
	s.oa.mu.Lock()
	login, auto := s.oa.login, s.oa.autoApprove
	s.oa.mu.Unlock()
	if login == nil {
		return redirectTo("/auth/login?return_to=" + encodeURIComponent("/oauth/authorize?"+jsObjectQuery(r.URL.RawQuery)))
	}
	scopes := parseScopes(req.Scope)
	s.oa.mu.Lock()
	fresh := s.oa.newScopes(login.ID, v.client.ClientID, scopes)
	full := s.oa.consentOf(login.ID, v.client.ClientID) != nil && len(fresh) == 0
	if auto && !full {
		// --auto-approve: the user pressed Allow without seeing the page.
		s.oa.grant(login.ID, v.client.ClientID, scopes)
		full = true
	}
	s.oa.mu.Unlock()
	if full {
		code := s.issueCode(v.client.ClientID, login.ID, req)
		return redirectTo(withParams(req.RedirectURI, param{"code", code}, param{"state", req.State}))
	}
	return s.consentPage(v.client, *login, req, fresh)
}

// authorizePOST is the consent form's submission: CSRF first, then the
// session, then the same validation as GET; "deny" answers access_denied,
// any other action approves.
func (s *Server) authorizePOST(r *http.Request, body []byte) reply {
	form := parseBodyForm(r.Header.Get("Content-Type"), body)
	req := authzRequest{
		ResponseType: "code", ClientID: form["client_id"], RedirectURI: form["redirect_uri"], Scope: form["scope"],
		State: form["state"], CodeChallenge: form["code_challenge"], CodeChallengeMethod: form["code_challenge_method"],
	}
	if !s.checkCSRF(r, form["csrf_token"], req) {
		return jsonReply(http.StatusForbidden, map[string]string{"error": "CSRF token mismatch"})
	}
	s.oa.mu.Lock()
	login := s.oa.login
	s.oa.mu.Unlock()
	if login == nil {
		return jsonReply(http.StatusUnauthorized, map[string]string{"error": "Not authenticated"})
	}
	v := s.validateAuthz(req)
	if !v.ok {
		if v.redirectURI != "" && req.State != "" {
			return redirectTo(withParams(v.redirectURI, param{"error", v.err}, param{"error_description", v.desc}, param{"state", req.State}))
		}
		return oauthError(http.StatusBadRequest, v.err, v.desc)
	}
	if form["action"] == "deny" {
		return redirectTo(withParams(req.RedirectURI, param{"error", oauthwire.AccessDenied}, param{"error_description", "User denied the request"}, param{"state", req.State}))
	}
	s.oa.mu.Lock()
	s.oa.grant(login.ID, v.client.ClientID, parseScopes(req.Scope))
	s.oa.mu.Unlock()
	code := s.issueCode(v.client.ClientID, login.ID, req)
	return redirectTo(withParams(req.RedirectURI, param{"code", code}, param{"state", req.State}))
}

// issueCode is generateAuthorizationCode: 32 random bytes, stored as their
// SHA-256, valid 600 s, single use.
func (s *Server) issueCode(clientID, userID string, req authzRequest) string {
	code := s.randomToken(32)
	id := s.generateID()
	now := s.now().UTC()
	s.oa.mu.Lock()
	defer s.oa.mu.Unlock()
	s.oa.codes = append(s.oa.codes, &authCode{
		ID: id, CodeHash: sha256Hex(code), ClientID: clientID, UserID: userID, RedirectURI: req.RedirectURI,
		Scope: req.Scope, Challenge: req.CodeChallenge, Method: req.CodeChallengeMethod,
		ExpiresAt: now.Add(codeTTL), CreatedAt: now,
	})
	return code
}

// jsObjectQuery is new URLSearchParams(c.req.query()).toString(): the
// first value of each name, names in the order of a JavaScript object's
// keys (integer-like names first, ascending, then the others as they first
// appeared).
func jsObjectQuery(rawQuery string) string {
	var ps []param
	seen := map[string]bool{}
	for _, p := range parseSearchParams(rawQuery) {
		if !seen[p.name] {
			seen[p.name] = true
			ps = append(ps, p)
		}
	}
	index := func(k string) (uint64, bool) {
		n, err := strconv.ParseUint(k, 10, 32)
		return n, err == nil && strconv.FormatUint(n, 10) == k && n < 1<<32-1
	}
	sort.SliceStable(ps, func(i, j int) bool {
		a, ai := index(ps[i].name)
		b, bi := index(ps[j].name)
		switch {
		case ai && bi:
			return a < b
		case ai != bi:
			return ai
		}
		return false
	})
	return serializeSearchParams(ps)
}

// expired is `new Date(expires_at) < new Date()`.
func expired(at, now time.Time) bool { return at.Before(now) }

// scopeDescriptions is OAUTH_SCOPES (shared/types/oauth.ts): what the
// consent page says of each scope, and whether it is an identity scope.
var scopeDescriptions = map[string]struct {
	desc     string
	identity bool
}{
	"openid":         {"OpenID Connect identity", true},
	"profile":        {"User profile (name, picture)", true},
	"email":          {"Email address", true},
	"spaces:read":    {"Read workspaces", false},
	"spaces:write":   {"Write workspaces", false},
	"files:read":     {"Read files", false},
	"files:write":    {"Write files", false},
	"memories:read":  {"Read memories", false},
	"memories:write": {"Write memories", false},
	"threads:read":   {"Read threads", false},
	"threads:write":  {"Write threads", false},
	"agents:execute": {"Execute agents", false},
	"repos:read":     {"Read repositories", false},
	"repos:write":    {"Write repositories", false},
}
