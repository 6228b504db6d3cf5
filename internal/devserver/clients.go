package devserver

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

// StoredClient is one row of oauth_clients. The secret and the
// registration access token exist only as SHA-256 hex. Nullable columns
// are pointers.
type StoredClient struct {
	ID                    string
	ClientID              string
	SecretHash            string // empty for a public client
	RegistrationTokenHash string
	ClientType            string // confidential or public
	Name                  string
	Description           *string
	LogoURI               *string
	ClientURI             *string
	PolicyURI             *string
	TOSURI                *string
	RedirectURIs          []string
	GrantTypes            []string
	ResponseTypes         []string
	AllowedScopes         []string
	Owner                 string
	Status                string // active, suspended or revoked
	CreatedAt             time.Time
	UpdatedAt             time.Time
}

func (c StoredClient) clone() StoredClient {
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.GrantTypes = slices.Clone(c.GrantTypes)
	c.ResponseTypes = slices.Clone(c.ResponseTypes)
	c.AllowedScopes = slices.Clone(c.AllowedScopes)
	for _, p := range []**string{&c.Description, &c.LogoURI, &c.ClientURI, &c.PolicyURI, &c.TOSURI} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return c
}

// SecretMatches reports whether secret is the stored secret of clientID,
// the way the token endpoint checks it.
func (s *Server) SecretMatches(clientID, secret string) bool {
	c, ok := s.Client(clientID)
	return ok && c.SecretHash != "" && c.SecretHash == sha256Hex(secret)
}

func (s *Server) find(clientID string) *StoredClient {
	for _, c := range s.clients {
		if c.ClientID == clientID {
			return c
		}
	}
	return nil
}

// defaultGrantTypes and defaultResponseTypes are what createClient stores
// when the request names none. Each call returns a fresh slice, so no
// client shares (and can alter) another's.
func defaultGrantTypes() []string    { return []string{"authorization_code", "refresh_token"} }
func defaultResponseTypes() []string { return []string{"code"} }

// jsTime is the server's new Date().toISOString().
func jsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func (s *Server) list(owner string) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	// getClientsByOwner orders by created_at descending.
	for i := len(s.clients) - 1; i >= 0; i-- {
		c := s.clients[i]
		if c.Owner != owner {
			continue
		}
		m := clientJSON(c)
		m["client_type"] = c.ClientType
		m["created_at"] = jsTime(c.CreatedAt)
		m["updated_at"] = jsTime(c.UpdatedAt)
		out = append(out, m)
	}
	return jsonReply(http.StatusOK, map[string]any{"clients": out})
}

// clientJSON is the part of a client the list and the PATCH reply share;
// the list adds client_type and timestamps, the PATCH reply the row id,
// and neither has policy_uri or tos_uri.
func clientJSON(c *StoredClient) map[string]any {
	return map[string]any{
		"client_id":      c.ClientID,
		"name":           c.Name,
		"description":    c.Description,
		"logo_uri":       c.LogoURI,
		"client_uri":     c.ClientURI,
		"redirect_uris":  nonNil(c.RedirectURIs),
		"allowed_scopes": nonNil(c.AllowedScopes),
		"status":         c.Status,
	}
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// parseBody is parseJsonBody plus the `if (!body)` check: invalid JSON and
// falsy values are "Invalid JSON body". A non-object truthy value acts as
// an object without fields.
func parseBody(body []byte) (map[string]json.RawMessage, bool) {
	var v json.RawMessage
	if json.Unmarshal(body, &v) != nil || !truthy(v) {
		return nil, false
	}
	m := map[string]json.RawMessage{}
	if bytes.HasPrefix(bytes.TrimSpace(v), []byte("{")) {
		if json.Unmarshal(v, &m) != nil {
			return nil, false
		}
	}
	return m, true
}

func (s *Server) create(owner string, body []byte) reply {
	req, ok := parseBody(body)
	if !ok {
		return badRequest("Invalid JSON body")
	}
	if !truthy(req["client_name"]) {
		return badRequest("client_name is required")
	}
	uris, present, err := redirectURIList(req["redirect_uris"])
	switch {
	case err != nil:
		return badRequest(err.Error())
	case !present || len(uris) == 0:
		return badRequest("redirect_uris is required")
	}
	// createClient: scopes first, then redirect URIs.
	scopes, err := scopesFrom(req["scope"])
	if err != nil {
		return badRequest(err.Error())
	}
	if err := validateRedirectURIs(uris); err != nil {
		return badRequest(err.Error())
	}
	grants, ok1, err1 := stringArray(req["grant_types"])
	responses, ok2, err2 := stringArray(req["response_types"])
	if err1 != nil || err2 != nil {
		return badRequest("grant_types and response_types must be arrays")
	}
	if !ok1 {
		grants = defaultGrantTypes()
	}
	if !ok2 {
		responses = defaultResponseTypes()
	}
	clientType := "confidential"
	if jsString(req["token_endpoint_auth_method"]) == "none" && isJSONString(req["token_endpoint_auth_method"]) {
		clientType = "public"
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	c := &StoredClient{
		ID:            hex.EncodeToString(s.randBytes(16)),
		ClientID:      s.token(16),
		ClientType:    clientType,
		Name:          jsString(req["client_name"]),
		LogoURI:       nullableString(req["logo_uri"]),
		ClientURI:     nullableString(req["client_uri"]),
		PolicyURI:     nullableString(req["policy_uri"]),
		TOSURI:        nullableString(req["tos_uri"]),
		RedirectURIs:  uris,
		GrantTypes:    grants,
		ResponseTypes: responses,
		AllowedScopes: nonNil(scopes),
		Owner:         owner,
		Status:        "active",
		CreatedAt:     now,
		UpdatedAt:     now,
	}
	secret := s.token(32)
	regToken := s.token(32)
	c.RegistrationTokenHash = sha256Hex(regToken)
	s.regTokens = append(s.regTokens, regToken)
	resp := map[string]any{
		"client_id":                 c.ClientID,
		"client_id_issued_at":       now.Unix(),
		"client_secret_expires_at":  0,
		"registration_access_token": regToken,
		"registration_client_uri":   "/oauth/register/" + c.ClientID,
		"client_name":               req["client_name"],
		"redirect_uris":             req["redirect_uris"],
		"grant_types":               grants,
		"response_types":            responses,
		"scope":                     strings.Join(scopes, " "),
	}
	if clientType == "confidential" {
		c.SecretHash = sha256Hex(secret)
		resp["client_secret"] = secret
		s.secrets = append(s.secrets, secret)
		s.clientSecrets[c.ClientID] = secret
	}
	// undefined fields are omitted from the reply, null ones kept.
	for _, k := range []string{"client_uri", "logo_uri", "policy_uri", "tos_uri"} {
		if v, ok := req[k]; ok {
			resp[k] = v
		}
	}
	s.clients = append(s.clients, c)
	return jsonReply(http.StatusCreated, resp)
}

func (s *Server) update(owner, id string, body []byte) reply {
	req, ok := parseBody(body)
	if !ok {
		return badRequest("Invalid JSON body")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.find(id)
	if c == nil || c.Owner != owner {
		return notFound("Client")
	}
	if c.Status != "active" {
		// updateClient → null → NotFoundError, caught by the handler's
		// try/catch and re-thrown as BadRequestError.
		return badRequest("Client not found")
	}
	next := c.clone()
	changed := false
	if truthy(req["client_name"]) {
		next.Name, changed = jsString(req["client_name"]), true
	}
	if truthy(req["redirect_uris"]) {
		uris, _, err := redirectURIList(req["redirect_uris"])
		if err != nil {
			return badRequest(err.Error())
		}
		if err := validateRedirectURIs(uris); err != nil {
			return badRequest(err.Error())
		}
		next.RedirectURIs, changed = uris, true
	}
	for k, dst := range map[string]**string{"logo_uri": &next.LogoURI, "client_uri": &next.ClientURI, "policy_uri": &next.PolicyURI, "tos_uri": &next.TOSURI} {
		if v, ok := req[k]; ok {
			*dst, changed = nullableString(v), true
		}
	}
	if v, ok := req["scope"]; ok {
		scopes, err := scopesFrom(v)
		if err != nil {
			return badRequest(err.Error())
		}
		next.AllowedScopes, changed = nonNil(scopes), true
	}
	if changed {
		next.UpdatedAt = s.now().UTC()
		*c = next
	}
	m := clientJSON(c)
	m["id"] = c.ID
	return jsonReply(http.StatusOK, m)
}

func (s *Server) revoke(owner, id string) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.find(id)
	if c == nil || c.Owner != owner {
		return notFound("Client")
	}
	c.Status = "revoked"
	c.UpdatedAt = s.now().UTC()
	return jsonReply(http.StatusOK, map[string]bool{"success": true})
}
