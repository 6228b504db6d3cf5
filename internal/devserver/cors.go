package devserver

import (
	"net/http"
	"strings"
)

// CORS, as the real server's web.ts configures hono/cors (hono 4.12.9) for
// every path but /git/*, measured on tako0614/takos@7d63ea66:
//
//   - An origin is allowed when it is https://ADMIN_DOMAIN, or starts with
//     "http://localhost:" or "http://127.0.0.1:" (isAllowedOrigin: a
//     case-sensitive prefix test, so any port, but not http://localhost
//     without one, https://localhost:3000, http://[::1]:3000 or
//     http://app.localhost:3000). Nothing else is configurable: the
//     server has no list of app origins.
//   - Every response carries Access-Control-Allow-Credentials: true and
//     Access-Control-Expose-Headers (the X-RateLimit-* headers), whatever
//     the origin or none; Access-Control-Allow-Origin echoes an allowed
//     origin only. So a refused origin is refused by the browser, not by
//     the server: the request is handled all the same.
//   - Every OPTIONS request, preflight or not, on any path (a route or
//     not) answers 204 at once, before authentication, rate limits and
//     the security headers: the methods and headers below, Max-Age 86400
//     and Vary: Origin, Access-Control-Request-Headers. Other responses
//     get Vary: Origin appended.
//
// The dev server refuses a foreign Host before any of this (DNS rebinding,
// routes.go), which the real server, not on loopback, has no need to, and
// leaves its own /_dev/ endpoints out.

const (
	corsAllowMethods  = "GET,POST,PUT,PATCH,DELETE,OPTIONS"
	corsAllowHeaders  = "Content-Type,Authorization,X-Requested-With,Accept"
	corsExposeHeaders = "X-RateLimit-Limit,X-RateLimit-Remaining,X-RateLimit-Reset"
	corsMaxAge        = "86400"
)

// corsApplies is false for git Smart HTTP paths, which the real server
// leaves without CORS (its test is on the URL's pathname, escaped as sent),
// and for the dev server's own /_dev/ endpoints, which the real server
// does not have: no web page is to drive them (a preflight there gets the
// endpoints' 401 and no grant).
func corsApplies(r *http.Request) bool {
	p := r.URL.EscapedPath()
	return !strings.HasPrefix(p, "/git/") && !strings.HasPrefix(r.URL.Path, AdminPath)
}

// corsAllowedOrigin is isAllowedOrigin of web.ts; the empty origin (no
// Origin header) is never allowed.
func (s *Server) corsAllowedOrigin(origin string) bool {
	return origin != "" && (origin == s.adminOrigin ||
		strings.HasPrefix(origin, "http://localhost:") || strings.HasPrefix(origin, "http://127.0.0.1:"))
}

// corsHeaders are the headers the middleware sets on every response
// before the route runs.
func (s *Server) corsHeaders(r *http.Request) http.Header {
	h := http.Header{}
	if o := r.Header.Get("Origin"); s.corsAllowedOrigin(o) {
		h.Set("Access-Control-Allow-Origin", o)
	}
	h.Set("Access-Control-Allow-Credentials", "true")
	h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
	return h
}

// corsPreflight is the middleware's answer to any OPTIONS request.
func (s *Server) corsPreflight(r *http.Request) reply {
	h := s.corsHeaders(r)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	h.Set("Access-Control-Allow-Methods", corsAllowMethods)
	h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
	h.Set("Vary", "Origin, Access-Control-Request-Headers")
	return reply{status: http.StatusNoContent, header: h, bare: true}
}

// withCORS adds the middleware's headers to a route's reply: they replace
// the reply's own (Hono copies the prepared headers over the route's
// response), and Origin is appended to its Vary.
func (s *Server) withCORS(r *http.Request, rep reply) reply {
	h := rep.header.Clone()
	if h == nil {
		h = http.Header{}
	}
	for k, v := range s.corsHeaders(r) {
		h[k] = v
	}
	if v := h.Get("Vary"); v != "" {
		h.Set("Vary", v+", Origin")
	} else {
		h.Set("Vary", "Origin")
	}
	rep.header = h
	return rep
}
