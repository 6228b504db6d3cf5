package devserver

import (
	"net/http"
	"strings"

	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// oauth serves /oauth/*: the body limit first (the router's
// oauthBodyLimit), then the endpoint's rate limit, then the route. The
// device flow and dynamic registration (/oauth/device*, /oauth/register*)
// are not modelled: they answer 501 not_implemented, so a test that gets
// it knows it left what the fake models.
func (s *Server) oauth(r *http.Request, body []byte) reply {
	if rep, ok := bodyLimit(r.Method, body, maxOAuthBody, "64KB"); !ok {
		return rep
	}
	hdr, rep, ok := s.rateLimit(r)
	if ok {
		switch p, m := r.URL.Path, r.Method; {
		case p == "/oauth/token" && m == http.MethodPost:
			rep = s.tokenEndpoint(r, body)
		case p == "/oauth/authorize" && m == http.MethodGet:
			rep = s.authorizeGET(r)
		case p == "/oauth/authorize" && m == http.MethodPost:
			rep = s.authorizePOST(r, body)
		case p == "/oauth/introspect" && m == http.MethodPost:
			rep = s.introspect(r, body)
		case p == "/oauth/revoke" && m == http.MethodPost:
			rep = s.revokeToken(r, body)
		case p == "/oauth/userinfo" && m == http.MethodGet:
			rep = s.userinfo(r)
		case p == "/oauth/device/code" && m == http.MethodPost, p == "/oauth/device" && (m == http.MethodGet || m == http.MethodPost),
			p == "/oauth/register" && m == http.MethodPost, strings.HasPrefix(p, "/oauth/register/"):
			rep = notModelled(p)
		default:
			rep = routeNotFound()
		}
	}
	if hdr != nil {
		if rep.header == nil {
			rep.header = http.Header{}
		}
		for k, v := range hdr {
			rep.header[k] = v
		}
	}
	return rep
}

// oauthError is the flat RFC 6749 §5.2 error body of /oauth/*.
func oauthError(status int, code, desc string) reply {
	return reply{status: status, body: (&oauthwire.Error{Code: code, Description: desc}).Body()}
}

func notModelled(what string) reply {
	return oauthError(http.StatusNotImplemented, "not_implemented", "devserver does not model "+what)
}
