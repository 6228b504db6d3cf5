package devserver

import (
	"net/http"

	"github.com/takos-dev/takos-apply/internal/oauthwire"
)

// DefaultAdminDomain is the ADMIN_DOMAIN of a fake built without
// WithAdminDomain. .invalid never resolves (RFC 6761 §6.4), so a client
// that follows the document's endpoints fails without touching the
// network.
const DefaultAdminDomain = "takos.invalid"

// discovery is routes/well-known.ts: the issuer and every endpoint are
// built from ADMIN_DOMAIN, not from the request, so a client that fetched
// the document from another URL (the fake's loopback address, a Cloud Run
// URL) sees an issuer that does not match it (RFC 8414 §3.3).
func (s *Server) discovery(path string) reply {
	iss := s.issuer
	if iss == "" {
		iss = s.URL
	}
	m := map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/oauth/authorize",
		"token_endpoint":                        iss + "/oauth/token",
		"device_authorization_endpoint":         iss + "/oauth/device/code",
		"revocation_endpoint":                   iss + "/oauth/revoke",
		"introspection_endpoint":                iss + "/oauth/introspect",
		"registration_endpoint":                 iss + "/oauth/register",
		"jwks_uri":                              iss + "/.well-known/jwks.json",
		"scopes_supported":                      s.scopesSupported,
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", oauthwire.GrantTypeDeviceCode},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post", "none"},
		"code_challenge_methods_supported":      []string{"S256"},
	}
	if path == "/.well-known/openid-configuration" {
		m["userinfo_endpoint"] = iss + "/oauth/userinfo"
		m["subject_types_supported"] = []string{"public"}
		m["id_token_signing_alg_values_supported"] = []string{"RS256"}
		m["claims_supported"] = []string{"sub", "iss", "aud", "exp", "iat", "scope", "client_id"}
	}
	rep := jsonReply(http.StatusOK, m)
	rep.header = http.Header{"Cache-Control": {"public, max-age=3600"}}
	return rep
}
