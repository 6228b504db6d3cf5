package devserver

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// Failure injection for the apps a developer runs against the dev server
// (takos-apply dev): the OAuth errors the docs' error table lists, on
// demand, so an app's handling of them can be tried. Unlike Fault (which
// breaks the transport under takos-apply's own client), these are replies
// the real token endpoint gives, in its shapes.

// TokenFault makes the token endpoint answer the next matching request
// with an error instead of handling it: nothing is consumed, so the code or
// refresh token the request carried still works afterwards.
type TokenFault struct {
	// GrantType limits the fault to requests of this grant_type; "" is any.
	GrantType string `json:"grant_type,omitempty"`
	// Error is an OAuth error code the token endpoint answers
	// (invalid_request, invalid_client, invalid_grant, invalid_scope,
	// unauthorized_client, unsupported_grant_type), or server_error (the
	// server's 500 for an unexpected failure) or rate_limited (its 429).
	Error string `json:"error"`
	// Description replaces the real server's text for Error.
	Description string `json:"error_description,omitempty"`
	// Times is how many requests it applies to; 0 is once.
	Times int `json:"times,omitempty"`
}

// tokenFaultErrors are the errors a TokenFault may name, with the real
// server's status and description for each.
var tokenFaultErrors = map[string]struct {
	status int
	desc   string
}{
	oauthwire.InvalidRequest:       {400, "Missing required parameters"},
	oauthwire.InvalidClient:        {401, "Invalid client secret"},
	oauthwire.InvalidGrant:         {400, "Invalid refresh token"},
	oauthwire.InvalidScope:         {400, "Requested scope exceeds original grant"},
	oauthwire.UnauthorizedClient:   {400, "Grant type not allowed"},
	oauthwire.UnsupportedGrantType: {400, "Unsupported grant type"},
	oauthwire.ServerError:          {500, "An unexpected error occurred. Please try again later."},
	"rate_limited":                 {429, "Too many token requests."},
}

// TokenFaultErrors lists the errors InjectTokenFault accepts.
func TokenFaultErrors() []string {
	out := make([]string, 0, len(tokenFaultErrors))
	for k := range tokenFaultErrors {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// InjectTokenFault queues f; faults apply in the order injected.
func (s *Server) InjectTokenFault(f TokenFault) error {
	if _, ok := tokenFaultErrors[f.Error]; !ok {
		return &adminError{"unknown error " + quoteJSON(f.Error) + "; use one of " + strings.Join(TokenFaultErrors(), ", ")}
	}
	if f.Times <= 0 {
		f.Times = 1
	}
	s.oa.mu.Lock()
	defer s.oa.mu.Unlock()
	s.oa.faults = append(s.oa.faults, f)
	return nil
}

type adminError struct{ msg string }

func (e *adminError) Error() string { return e.msg }

func quoteJSON(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// ExpireNextTokens makes the next access tokens (access) and refresh tokens
// (refresh) the token endpoint issues expired from the start: the reply
// still says expires_in, as a token revoked or expired early does, so the
// app meets the 401 invalid_token of /oauth/userinfo (or invalid_grant on
// refresh) on first use.
func (s *Server) ExpireNextTokens(access, refresh int) {
	s.oa.mu.Lock()
	defer s.oa.mu.Unlock()
	s.oa.expireNext.access += max(0, access)
	s.oa.expireNext.refresh += max(0, refresh)
}

// ExpireAccessTokens expires every access token issued so far (of
// clientID, or of every client when it is ""), as an hour passing would:
// the server then refuses them ("Token has been revoked" is what the real
// server says of an expired row). It returns how many it expired.
func (s *Server) ExpireAccessTokens(clientID string) int {
	now := s.now().UTC()
	s.oa.mu.Lock()
	defer s.oa.mu.Unlock()
	n := 0
	for _, t := range s.oa.tokens {
		if t.Type == "access" && (clientID == "" || t.ClientID == clientID) && t.ExpiresAt.After(now) {
			t.ExpiresAt = now
			n++
		}
	}
	return n
}

// takeTokenFault consumes the first fault matching grant and returns its
// reply.
func (s *Server) takeTokenFault(grant string) (reply, bool) {
	s.oa.mu.Lock()
	defer s.oa.mu.Unlock()
	for i, f := range s.oa.faults {
		if f.GrantType != "" && f.GrantType != grant {
			continue
		}
		s.oa.faults[i].Times--
		if s.oa.faults[i].Times == 0 {
			s.oa.faults = slices.Delete(s.oa.faults, i, i+1)
		}
		e := tokenFaultErrors[f.Error]
		desc := f.Description
		if desc == "" {
			desc = e.desc
			if f.Error == oauthwire.InvalidGrant && grant == "authorization_code" {
				desc = "Authorization code expired"
			}
		}
		switch f.Error {
		case oauthwire.ServerError:
			return jsonReply(e.status, map[string]any{"error": map[string]any{
				"code": "INTERNAL_ERROR", "message": desc, "details": map[string]string{"error_id": "devfault"}}}), true
		case "rate_limited":
			rep := jsonReply(e.status, map[string]any{"error": desc, "retryAfter": 60})
			rep.header = http.Header{"Retry-After": {"60"}}
			return rep, true
		}
		return oauthError(e.status, f.Error, desc), true
	}
	return reply{}, false
}

// AdminPath is the prefix of the dev server's own endpoints, which the real
// server does not have (it answers them 404).
const AdminPath = "/_dev/"

// admin serves /_dev/: JSON in and out, authenticated by the admin bearer
// (WithAdminToken, else Token), so that no web page can drive it.
//
//	POST   /_dev/token-faults        TokenFault               queue a token endpoint error
//	POST   /_dev/expire-next-token   {"access":N,"refresh":N}  issue the next tokens expired (default access 1)
//	POST   /_dev/expire-tokens       {"client_id":"…"}        expire the access tokens issued so far
//	GET    /_dev/faults                                       what is queued
//	DELETE /_dev/faults                                       clear it
//	POST   /_dev/deploy              DeployRequest            run a group apply (DeployGroup)
func (s *Server) admin(r *http.Request, body []byte) reply {
	want := s.adminToken
	if want == "" {
		want = s.Token
	}
	got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return jsonReply(http.StatusUnauthorized, map[string]string{"error": "the /_dev/ endpoints need Authorization: Bearer <admin token> (printed by takos-apply dev)"})
	}
	bad := func(msg string) reply { return jsonReply(http.StatusBadRequest, map[string]string{"error": msg}) }
	decode := func(v any) error {
		if len(strings.TrimSpace(string(body))) == 0 {
			return nil
		}
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.DisallowUnknownFields()
		return dec.Decode(v)
	}
	switch p := strings.TrimPrefix(r.URL.Path, AdminPath); {
	case p == "token-faults" && r.Method == http.MethodPost:
		var f TokenFault
		if err := decode(&f); err != nil {
			return bad("body: " + err.Error())
		}
		if err := s.InjectTokenFault(f); err != nil {
			return bad(err.Error())
		}
		return jsonReply(http.StatusOK, map[string]any{"queued": f})
	case p == "expire-next-token" && r.Method == http.MethodPost:
		req := struct{ Access, Refresh *int }{}
		if err := decode(&req); err != nil {
			return bad("body: " + err.Error())
		}
		a, rf := 1, 0
		if req.Access != nil || req.Refresh != nil {
			a, rf = deref(req.Access), deref(req.Refresh)
		}
		s.ExpireNextTokens(a, rf)
		return jsonReply(http.StatusOK, map[string]int{"access": a, "refresh": rf})
	case p == "expire-tokens" && r.Method == http.MethodPost:
		req := struct {
			ClientID string `json:"client_id"`
		}{}
		if err := decode(&req); err != nil {
			return bad("body: " + err.Error())
		}
		return jsonReply(http.StatusOK, map[string]int{"expired": s.ExpireAccessTokens(req.ClientID)})
	case p == "deploy" && r.Method == http.MethodPost:
		var req DeployRequest
		if err := decode(&req); err != nil {
			return bad("body: " + err.Error())
		}
		return s.adminDeploy(req)
	case p == "faults" && r.Method == http.MethodGet:
		s.oa.mu.Lock()
		defer s.oa.mu.Unlock()
		return jsonReply(http.StatusOK, map[string]any{
			"token_faults": append([]TokenFault{}, s.oa.faults...),
			"expire_next":  map[string]int{"access": s.oa.expireNext.access, "refresh": s.oa.expireNext.refresh},
		})
	case p == "faults" && r.Method == http.MethodDelete:
		s.oa.mu.Lock()
		defer s.oa.mu.Unlock()
		s.oa.faults = nil
		s.oa.expireNext.access, s.oa.expireNext.refresh = 0, 0
		return jsonReply(http.StatusOK, map[string]bool{"cleared": true})
	}
	return jsonReply(http.StatusNotFound, map[string]string{"error": "no such dev endpoint: " + r.Method + " " + r.URL.Path})
}

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return max(0, *p)
}

// AdminToken is the bearer the /_dev/ endpoints accept.
func (s *Server) AdminToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.adminToken == "" {
		return s.Token
	}
	return s.adminToken
}

// DeployRequest is the body of POST /_dev/deploy: a stand-in for the app's
// takos apply / takos deploy, which the dev server does not serve, so that
// the rollout of takos-apply's autoEnv (current, pending redeploy, the
// retiring client of a rotation) can be tried locally. Workers and
// Containers map each workload to its spec: one whose spec equals its last
// deployment's is skipped, as the engine skips an unchanged spec even with
// a new bundle (change the value to redeploy it).
type DeployRequest struct {
	// Space is the space id; default the signed-in user's personal space.
	Space string `json:"space"`
	// Group is the group's name, the manifest's metadata.name (required).
	Group      string            `json:"group"`
	Env        string            `json:"env"`
	Provider   string            `json:"provider"`
	Workers    map[string]string `json:"workers"`
	Containers map[string]string `json:"containers"`
}

func (s *Server) adminDeploy(req DeployRequest) reply {
	bad := func(msg string) reply { return jsonReply(http.StatusBadRequest, map[string]string{"error": msg}) }
	if strings.TrimSpace(req.Group) == "" {
		return bad(`group is required: the app's metadata.name, e.g. {"group":"hello","workers":{"web":"v1"}}`)
	}
	if len(req.Workers)+len(req.Containers) == 0 {
		return bad(`name the workloads to deploy with their spec, e.g. "workers":{"web":"v1"}; a changed value redeploys one, the same value is skipped`)
	}
	space := req.Space
	if space == "" {
		space = DefaultOwner
		s.sp.mu.Lock()
		s.personal(space, true) // as GET /api/spaces/me would
		s.sp.mu.Unlock()
	}
	res, err := s.DeployGroup(space, req.Group, DeployOptions{Env: req.Env, Provider: req.Provider, Workers: req.Workers, Containers: req.Containers})
	if err != nil {
		return jsonReply(http.StatusNotFound, map[string]string{"error": err.Error()})
	}
	return jsonReply(http.StatusOK, map[string]any{"space": space, "group": req.Group, "workloads": res})
}
