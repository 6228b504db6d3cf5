package devserver

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// PATsPath is the personal access token API of /api/me.
const PATsPath = "/api/me/personal-access-tokens"

// StoredPAT is one personal access token as the server stores it: the
// token value exists only as its SHA-256 hex. ExpiresAt and LastUsedAt are
// zero when null.
type StoredPAT struct {
	ID          string
	Name        string
	TokenHash   string
	TokenPrefix string
	Owner       string
	ExpiresAt   time.Time
	LastUsedAt  time.Time
	CreatedAt   time.Time
	Revoked     bool
}

// Expired reports whether the PAT is past its expiry at now.
func (p StoredPAT) Expired(now time.Time) bool {
	return !p.ExpiresAt.IsZero() && !now.Before(p.ExpiresAt)
}

// patStore holds the PATs created through the API. The server's own
// bearer (WithToken) is not in it and never expires.
type patStore struct {
	mu     sync.Mutex
	pats   []*StoredPAT
	issued []string
}

// PATs returns a snapshot of every PAT created through the API, revoked
// ones included, oldest first.
func (s *Server) PATs() []StoredPAT {
	s.pats.mu.Lock()
	defer s.pats.mu.Unlock()
	out := make([]StoredPAT, len(s.pats.pats))
	for i, p := range s.pats.pats {
		out[i] = *p
	}
	return out
}

// IssuedPATs returns every PAT value the server put in a reply, in order,
// for secret-canary assertions.
func (s *Server) IssuedPATs() []string {
	s.pats.mu.Lock()
	defer s.pats.mu.Unlock()
	return slices.Clone(s.pats.issued)
}

// patOwner authenticates a bearer created through the PAT API: it must be
// neither revoked nor expired (the server then answers 401 invalid_token
// "Invalid or expired PAT" on every /api/me route). A successful use sets
// last_used_at.
func (s *Server) patOwner(bearer string) (string, bool) {
	if !strings.HasPrefix(bearer, "tak_pat_") {
		return "", false
	}
	h := sha256Hex(bearer)
	now := s.now()
	s.pats.mu.Lock()
	defer s.pats.mu.Unlock()
	for _, p := range s.pats.pats {
		if p.TokenHash == h && !p.Revoked && !p.Expired(now) {
			p.LastUsedAt = now.UTC()
			return p.Owner, true
		}
	}
	return "", false
}

// servePATs implements POST and GET /api/me/personal-access-tokens and
// DELETE /api/me/personal-access-tokens/:id for an authenticated owner.
func (s *Server) servePATs(owner, method, path string, body []byte) reply {
	switch {
	case path == PATsPath && method == http.MethodPost:
		return s.createPAT(owner, body)
	case path == PATsPath && method == http.MethodGet:
		return s.listPATs(owner)
	case strings.HasPrefix(path, PATsPath+"/") && method == http.MethodDelete:
		id := path[len(PATsPath)+1:]
		if id != "" && !strings.Contains(id, "/") {
			return s.revokePAT(owner, id)
		}
	}
	return notFound("Route")
}

// createPAT reads {"name", "expiresAt"}: the field is camelCase, and the
// snake_case expires_at is ignored, which yields a PAT that never expires.
func (s *Server) createPAT(owner string, body []byte) reply {
	req, ok := parseBody(body)
	if !ok {
		return badRequest("Invalid JSON body")
	}
	name := strings.TrimSpace(jsString(req["name"]))
	if name == "" || !isJSONString(req["name"]) {
		return badRequest("name is required")
	}
	var expires time.Time
	if raw, present := req["expiresAt"]; present && string(raw) != "null" {
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return badRequest("expiresAt must be an ISO 8601 date")
		}
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return badRequest("expiresAt must be an ISO 8601 date")
		}
		expires = t.UTC()
	}
	s.mu.Lock()
	tok := "tak_pat_" + s.token(24)
	id := s.token(12)
	s.mu.Unlock()
	now := s.now().UTC()
	p := &StoredPAT{ID: id, Name: name, TokenHash: sha256Hex(tok), TokenPrefix: tok[:12], Owner: owner, ExpiresAt: expires, CreatedAt: now}
	s.pats.mu.Lock()
	s.pats.pats = append(s.pats.pats, p)
	s.pats.issued = append(s.pats.issued, tok)
	s.pats.mu.Unlock()
	m := patJSON(p)
	delete(m, "last_used_at")
	m["token"] = tok
	return jsonReply(http.StatusCreated, m)
}

func (s *Server) listPATs(owner string) reply {
	s.pats.mu.Lock()
	defer s.pats.mu.Unlock()
	out := []map[string]any{}
	for i := len(s.pats.pats) - 1; i >= 0; i-- {
		if p := s.pats.pats[i]; p.Owner == owner && !p.Revoked {
			out = append(out, patJSON(p))
		}
	}
	return jsonReply(http.StatusOK, map[string]any{"tokens": out})
}

func (s *Server) revokePAT(owner, id string) reply {
	s.pats.mu.Lock()
	defer s.pats.mu.Unlock()
	for _, p := range s.pats.pats {
		if p.ID == id && p.Owner == owner && !p.Revoked {
			p.Revoked = true
			return jsonReply(http.StatusOK, map[string]any{"success": true})
		}
	}
	return notFound("Token")
}

func patJSON(p *StoredPAT) map[string]any {
	return map[string]any{
		"id":           p.ID,
		"name":         p.Name,
		"token_prefix": p.TokenPrefix,
		"scopes":       "*",
		"expires_at":   nullTime(p.ExpiresAt),
		"last_used_at": nullTime(p.LastUsedAt),
		"created_at":   jsTime(p.CreatedAt),
	}
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return jsTime(t)
}
