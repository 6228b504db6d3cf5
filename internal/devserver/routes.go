package devserver

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// reply is a response computed by act.
type reply struct {
	status int
	header http.Header
	body   []byte
	bare   bool // no security headers: answered before that middleware runs (a CORS preflight)
}

const maxRequestBody = 1 << 20

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	idx := s.logStart(r)
	if !loopbackHost(r.Host) {
		s.finish(w, r, idx, foreignHost(r.Host), None)
		return
	}
	if r.Method == http.MethodOptions && corsApplies(r) {
		// The real server's CORS middleware answers every OPTIONS before
		// anything else runs: no route, auth, rate limit or state change,
		// and no injected fault is spent on a browser's preflight.
		s.finish(w, r, idx, s.corsPreflight(r), None)
		return
	}
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
	if corsApplies(r) {
		rep = s.withCORS(r, rep)
	}
	if mayChangeState(r) {
		// The state file is written before the reply: a client never holds
		// a token or secret the next run of the server would not know.
		if err := s.persist(); err != nil {
			s.logf("state file %s not written: %v", s.statePath, err)
		}
	}
	s.finish(w, r, idx, rep, kind)
}

// securityHeaders are what the real server's middleware (web.ts, "S28")
// sets on every response, JSON included: no MIME sniffing, no framing by
// another origin, no full Referer to another origin. A reply that sets one
// itself keeps its own (the consent page is stricter: DENY, no-referrer).
var securityHeaders = [][2]string{
	{"X-Content-Type-Options", "nosniff"},
	{"X-Frame-Options", "SAMEORIGIN"},
	{"X-Xss-Protection", "1; mode=block"},
	{"Referrer-Policy", "strict-origin-when-cross-origin"},
	{"Permissions-Policy", "camera=(), microphone=(), geolocation=()"},
}

// finish writes rep and logs the request's outcome.
func (s *Server) finish(w http.ResponseWriter, r *http.Request, idx int, rep reply, kind FaultKind) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	for _, h := range securityHeaders {
		if !rep.bare && w.Header().Get(h[0]) == "" {
			w.Header().Set(h[0], h[1])
		}
	}
	if rep.body != nil && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(rep.status)
	w.Write(rep.body)
	s.logEnd(idx, rep.status, kind)
	s.logf("%s %s %d", r.Method, r.URL.Path, rep.status)
}

// loopbackHost reports whether a request's Host names this machine: a
// loopback address, localhost or a name under .localhost (which browsers
// resolve to loopback themselves), any port; or no Host at all (HTTP/1.0),
// which no browser sends. The server listens on loopback only, but a web
// page can still reach it by DNS rebinding: evil.example re-pointed at
// 127.0.0.1 is the dev server's origin in the browser's eyes, and its
// script could read the consent page, drive the OAuth endpoints and read
// their answers. Its requests carry Host: evil.example, refused here. The
// real server has no such check: it is not on loopback.
func loopbackHost(hostport string) bool {
	if hostport == "" {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func foreignHost(host string) reply {
	return envelopeReply(http.StatusForbidden, "FORBIDDEN", "takos-apply dev serves only loopback names (127.0.0.1, localhost, *.localhost), not Host "+
		quoteJSON(host)+": a web page that re-points its own name at 127.0.0.1 (DNS rebinding) must not reach the dev server")
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

// bodyLimit is the router's bodyLimit (middleware/body-size.ts): on POST,
// PUT and PATCH only, a body over max bytes answers 413 with a flat
// body, before route parameters and auth are checked.
func bodyLimit(method string, body []byte, max int, size string) (reply, bool) {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		if len(body) > max {
			return jsonReply(http.StatusRequestEntityTooLarge, map[string]any{
				"error": "Request body exceeds maximum allowed size of " + size, "code": "PAYLOAD_TOO_LARGE", "max_size": max,
			}), false
		}
	}
	return reply{}, true
}

func badRequest(msg string) reply { return envelopeReply(http.StatusBadRequest, "BAD_REQUEST", msg) }

func notFound(resource string) reply {
	return envelopeReply(http.StatusNotFound, "NOT_FOUND", resource+" not found")
}

// routeNotFound is app.notFound of web.ts: every path no route matched
// (under /api/, /oauth/, /.well-known/ and, without SPA assets, elsewhere)
// answers {"error": {"code": "NOT_FOUND", "message": "Not Found"}},
// whatever the method.
func routeNotFound() reply {
	return envelopeReply(http.StatusNotFound, "NOT_FOUND", "Not Found")
}

// Paths the fake serves.
const (
	wellKnownAS   = "/.well-known/oauth-authorization-server"
	wellKnownOIDC = "/.well-known/openid-configuration"
	wellKnownJWKS = "/.well-known/jwks.json"
	clientsPath   = "/api/me/oauth/clients"
)

// act performs the request against the store and returns the real reply.
func (s *Server) act(r *http.Request, body []byte) reply {
	p := r.URL.Path
	switch {
	case p == wellKnownAS || p == wellKnownOIDC:
		if r.Method != http.MethodGet || s.noDiscovery {
			return routeNotFound()
		}
		return s.discovery(p)
	case p == wellKnownJWKS:
		if r.Method != http.MethodGet {
			return routeNotFound()
		}
		return s.jwks()
	case strings.HasPrefix(p, "/oauth/"):
		return s.oauth(r, body)
	case strings.HasPrefix(p, AdminPath):
		return s.admin(r, body)
	case p == "/api" || strings.HasPrefix(p, "/api/"):
		return s.api(r, body)
	}
	return routeNotFound()
}

// api follows the middleware order of createApiRouter (routes/api.ts):
// Content-Type first, then the body limit, then route parameters, then
// requireAuth on /me;
// only then is the route matched. So a malformed client id answers 400
// even without credentials, and an unknown route under /api/me answers 401
// before 404.
func (s *Server) api(r *http.Request, body []byte) reply {
	if rep, ok := checkContentType(r); !ok {
		return rep
	}
	if rep, ok := bodyLimit(r.Method, body, maxRequestBody, "1MB"); !ok {
		return rep
	}
	id, hasID := clientIDParam(r)
	if hasID && !validOpaqueID(id) {
		return badRequest("Invalid route parameter: clientId")
	}
	p := r.URL.Path
	if rep, handled := s.apiSpaces(r, body); handled {
		return rep
	}
	if p != "/api/me" && !strings.HasPrefix(p, "/api/me/") {
		return routeNotFound()
	}
	owner, rep, ok := s.authenticate(r)
	if !ok {
		return rep
	}
	switch {
	case p == PATsPath || strings.HasPrefix(p, PATsPath+"/"):
		return s.servePATs(owner, r.Method, p, body)
	case p == clientsPath && r.Method == http.MethodGet:
		return s.list(owner)
	case p == clientsPath && r.Method == http.MethodPost:
		return s.create(owner, body)
	case hasID && r.Method == http.MethodPatch:
		return s.update(owner, id, body)
	case hasID && r.Method == http.MethodDelete:
		return s.revoke(owner, id)
	}
	return routeNotFound()
}

// clientIDParam is the :clientId of the route pattern
// /api/me/oauth/clients/:clientId: exactly one non-empty segment after the
// collection, percent-decoded as Hono's c.req.param() decodes it (a
// malformed escape is kept as written).
func clientIDParam(r *http.Request) (string, bool) {
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), clientsPath+"/")
	if !ok || rest == "" || strings.Contains(rest, "/") {
		return "", false
	}
	if id, err := url.PathUnescape(rest); err == nil {
		return id, true
	}
	return rest, true
}

// validOpaqueID is isValidOpaqueId (shared/utils/db-guards.ts), which
// validateApiOpaqueRouteParams applies to every :clientId:
// ^[A-Za-z0-9_-]{1,128}$.
func validOpaqueID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
