package devserver

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// grantTypes are the grants POST /oauth/token dispatches on
// (routes/oauth/token.ts); any other, RFC 8693 token exchange included, is
// unsupported_grant_type: Takos has no federation at its pinned commit.
var grantTypes = []string{"authorization_code", "refresh_token", "client_credentials", oauthwire.GrantTypeDeviceCode}

// oauth serves /oauth/*: the rate limit first, then the route. The fake
// issues no OAuth tokens, so past the checks that need none (the body's
// media type, the grant type) the token endpoint and the authorize,
// introspect and revoke endpoints answer 501 not_implemented: a test that
// gets it has left what the fake models.
func (s *Server) oauth(r *http.Request, body []byte) reply {
	hdr, rep, ok := s.rateLimit(r)
	if ok {
		switch p := r.URL.Path; {
		case p == "/oauth/token" && r.Method == http.MethodPost:
			rep = tokenEndpoint(r, body)
		case p == "/oauth/authorize" && (r.Method == http.MethodGet || r.Method == http.MethodPost),
			(p == "/oauth/introspect" || p == "/oauth/revoke") && r.Method == http.MethodPost:
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

// tokenEndpoint is the part of POST /oauth/token the fake can answer
// faithfully: the body must be form-encoded (a substring check on the
// header, as the server does), and the grant type must be one it handles.
func tokenEndpoint(r *http.Request, body []byte) reply {
	if !strings.Contains(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		return oauthError(http.StatusBadRequest, oauthwire.InvalidRequest, "Content-Type must be application/x-www-form-urlencoded")
	}
	form, _ := url.ParseQuery(string(body))
	grant := form.Get("grant_type")
	for _, g := range grantTypes {
		if g == grant {
			return notModelled("/oauth/token grant_type=" + grant)
		}
	}
	return oauthError(http.StatusBadRequest, oauthwire.UnsupportedGrantType, "Unsupported grant type")
}

// oauthError is the flat RFC 6749 §5.2 error body of /oauth/*.
func oauthError(status int, code, desc string) reply {
	return reply{status: status, body: (&oauthwire.Error{Code: code, Description: desc}).Body()}
}

func notModelled(what string) reply {
	return oauthError(http.StatusNotImplemented, "not_implemented", "devserver does not model "+what)
}
