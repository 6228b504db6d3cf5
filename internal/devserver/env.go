package devserver

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// ReservedEnvNames are the space env names Takos manages itself
// (RESERVED_SPACE_COMMON_ENV_KEYS in common-env/crypto.ts).
var ReservedEnvNames = []string{"TAKOS_API_URL", "TAKOS_ACCESS_TOKEN"}

// MaskedValue is how a secret reads back from the common env list and a
// deployment's bindings.
const MaskedValue = "********"

// normalizeEnvName is normalizeEnvName of common-env/crypto.ts: trimmed,
// ^[A-Za-z_][A-Za-z0-9_]*$, upper-cased; the error message is the
// server's.
func normalizeEnvName(name string) (string, string) {
	n := strings.TrimSpace(name)
	if n == "" {
		return "", "Environment variable name is required"
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		letter := c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return "", "Invalid environment variable name: " + n
		}
	}
	return strings.ToUpper(n), ""
}

// jsonString returns a JSON string's value; false for any other value
// (null included: typeof null is not "string").
func jsonString(raw json.RawMessage) (string, bool) {
	t := strings.TrimSpace(string(raw))
	if !strings.HasPrefix(t, `"`) {
		return "", false
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	return v, true
}

func reservedEnvName(n string) bool { return slices.Contains(ReservedEnvNames, n) }

// envNameLess orders names as the server's localeCompare does for
// [A-Z0-9_]: '_' before digits before letters.
func envNameLess(a, b string) int {
	rank := func(c byte) int {
		switch {
		case c == '_':
			return 0
		case c >= '0' && c <= '9':
			return 1 + int(c-'0')
		case c >= 'A' && c <= 'Z':
			return 11 + int(c-'A')
		}
		return 64 + int(c)
	}
	for i := 0; i < len(a) && i < len(b); i++ {
		if ra, rb := rank(a[i]), rank(b[i]); ra != rb {
			return ra - rb
		}
	}
	return len(a) - len(b)
}

// SpaceEnv returns the space's common env in clear, secrets included,
// sorted as the server lists it.
func (s *Server) SpaceEnv(spaceID string) []EnvVar {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	sp := s.spaceByID(spaceID)
	if sp == nil {
		return nil
	}
	return sp.sortedEnv()
}

// SetSpaceEnv stores a value as PUT /api/spaces/:id/common-env would,
// without the route's checks (tests seed other apps' values with it).
func (s *Server) SetSpaceEnv(spaceID, name, value string, secret bool) {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	if sp := s.spaceByID(spaceID); sp != nil {
		n := strings.ToUpper(name)
		sp.env[n] = &EnvVar{Name: n, Value: value, Secret: secret, UpdatedAt: s.now().UTC()}
	}
}

// DeleteSpaceEnv removes a value (as a user deleting it in the UI).
func (s *Server) DeleteSpaceEnv(spaceID, name string) {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	if sp := s.spaceByID(spaceID); sp != nil {
		delete(sp.env, strings.ToUpper(name))
	}
}

func (sp *spaceState) sortedEnv() []EnvVar {
	out := make([]EnvVar, 0, len(sp.env))
	for _, e := range sp.env {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b EnvVar) int { return envNameLess(a.Name, b.Name) })
	return out
}

// serveCommonEnv is GET (any member) and PUT (owner, admin) of
// /api/spaces/:spaceId/common-env (routes/spaces/common-env.ts).
func (s *Server) serveCommonEnv(account, ident, method string, body []byte) reply {
	switch method {
	case http.MethodGet:
		sp, _, rep, ok := s.access(account, ident, "")
		if !ok {
			return rep
		}
		out := []map[string]any{}
		for _, e := range sp.sortedEnv() {
			v := e.Value
			if e.Secret {
				v = MaskedValue
			}
			out = append(out, map[string]any{"name": e.Name, "secret": e.Secret, "value": v, "updatedAt": jsTime(e.UpdatedAt)})
		}
		return jsonReply(http.StatusOK, map[string]any{"env": out})
	case http.MethodPut:
		sp, _, rep, ok := s.access(account, ident, "", RoleOwner, RoleAdmin)
		if !ok {
			return rep
		}
		return s.putCommonEnv(sp, body)
	}
	return routeNotFound()
}

func (s *Server) putCommonEnv(sp *spaceState, body []byte) reply {
	req, ok := parseBody(body)
	if !ok {
		return badRequest("Invalid JSON body")
	}
	rawName := req["name"]
	if !truthy(rawName) {
		return badRequest("name is required")
	}
	name, isStr := jsonString(rawName)
	if !isStr {
		// body.name.trim() on a number, boolean, object or array throws
		// outside the handler's try: an uncaught TypeError.
		return s.internalError()
	}
	if strings.TrimSpace(name) == "" {
		return badRequest("name is required")
	}
	value, isStr := jsonString(req["value"])
	if !isStr {
		return badRequest("value must be a string")
	}
	n, msg := normalizeEnvName(name)
	if msg != "" {
		return badRequest(msg)
	}
	if reservedEnvName(n) {
		return badRequest(n + " is reserved as a managed Takos built-in env key")
	}
	secret := strings.TrimSpace(string(req["secret"])) == "true"
	if e, ok := sp.env[n]; ok && e.Value == value && e.Secret == secret {
		// The same value again changes nothing (no audit row either).
		return jsonReply(http.StatusOK, map[string]bool{"success": true})
	}
	sp.env[n] = &EnvVar{Name: n, Value: value, Secret: secret, UpdatedAt: s.now().UTC()}
	return jsonReply(http.StatusOK, map[string]bool{"success": true})
}

// deleteCommonEnv is DELETE /api/spaces/:spaceId/common-env/:name (owner,
// admin).
func (s *Server) deleteCommonEnv(account, ident, rawName string) reply {
	sp, _, rep, ok := s.access(account, ident, "", RoleOwner, RoleAdmin)
	if !ok {
		return rep
	}
	name, err := url.PathUnescape(rawName)
	if err != nil {
		name = rawName
	}
	n, msg := normalizeEnvName(name)
	if msg != "" {
		return badRequest(msg)
	}
	if reservedEnvName(n) {
		return badRequest(n + " is reserved as a managed Takos built-in env key")
	}
	if _, ok := sp.env[n]; !ok {
		return notFound("Common env")
	}
	delete(sp.env, n)
	return jsonReply(http.StatusOK, map[string]bool{"success": true})
}
