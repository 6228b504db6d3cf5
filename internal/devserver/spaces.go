package devserver

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Spaces, their common env, groups, services, links and deployments: the
// part of the control plane autoEnv writes to (routes/spaces/*.ts,
// routes/groups/routes.ts, routes/workers/*.ts at tako0614/takos@7d63ea66).
// Checked against the real server; the points that differ from a naive
// reading are pinned in spaces_parity_test.go:
//
//   - A role that a route does not allow is indistinguishable from a space
//     that does not exist: 404 NOT_FOUND "Space not found" (spaceAccess),
//     "Space not found or insufficient permissions" (POST /api/services) or
//     "Service not found" (service routes), never 403.
//   - A user's personal space exists only after GET /api/spaces or GET
//     /api/spaces/me; before, /api/spaces/me/... answers 404 "Space not
//     found".
//   - Env names are trimmed, checked against ^[A-Za-z_][A-Za-z0-9_]*$ and
//     stored upper-cased; TAKOS_API_URL and TAKOS_ACCESS_TOKEN are
//     reserved; a secret value reads back as "********"; the list is sorted
//     with '_' before digits before letters (JavaScript localeCompare).
//   - A duplicate group name, a duplicate service slug and a body that is
//     not JSON on a route that calls c.req.json() answer 500 INTERNAL_ERROR.
//   - POST /api/services cuts the slug to 32 characters (slugifyServiceName).
//   - A deployment lists its plain-text bindings in clear and secrets as
//     "********"; env_vars_masked shows the first and last two characters of
//     every value, secrets included.

// Roles of a space member.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleEditor = "editor"
	RoleViewer = "viewer"
)

// DefaultTenantDomain is the fake's TENANT_BASE_DOMAIN: a service's
// hostname is <slug>.<domain>. The real local platform uses app.localhost.
const DefaultTenantDomain = "app.takos.invalid"

// Space is a Takos space (an account of kind user or team).
type Space struct {
	ID   string
	Slug string
	Name string
	// Kind is "user" for a personal space, "team" otherwise.
	Kind string
	// Members maps an account to its role.
	Members   map[string]string
	CreatedAt time.Time
}

// EnvVar is one common env value of a space, in clear (the fake keeps
// values as the test needs to see them; Takos encrypts them at rest).
type EnvVar struct {
	Name      string
	Value     string
	Secret    bool
	UpdatedAt time.Time
}

// Group is a deploy group (an app installed in a space).
type Group struct {
	ID        string
	SpaceID   string
	Name      string
	Provider  *string
	Env       *string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Service is a service row (a worker, container or service of a group, or
// a standalone one). Config is the JSON text of the config column.
type Service struct {
	ID                 string
	SpaceID            string
	GroupID            string
	ServiceType        string
	Status             string
	Config             string
	Hostname           string
	RouteRef           string
	Slug               string
	ActiveDeploymentID string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Link is a service's link to a space env name; Source is "manual" (set
// through the links API) or "required".
type Link struct {
	Name   string
	Source string
}

// Binding is one environment binding of a deployment's snapshot.
type Binding struct {
	Type string // plain_text or secret_text
	Name string
	Text string
}

// Deployment is a service's deployment with the environment snapshotted
// when it was created.
type Deployment struct {
	ID            string
	ServiceID     string
	Version       int
	Status        string
	RoutingStatus string
	Bindings      []Binding
	CreatedAt     time.Time
}

type spaceState struct {
	Space
	env    map[string]*EnvVar
	groups []*Group
}

type serviceState struct {
	Service
	links       []Link
	deployments []*Deployment
	fingerprint string // the spec the last DeployGroup recorded
}

// spaceStore holds spaces and everything in them; its mutex is separate
// from the client store's.
type spaceStore struct {
	mu       sync.Mutex
	spaces   []*spaceState
	services []*serviceState
	domain   string
}

// WithTenantDomain sets TENANT_BASE_DOMAIN (default DefaultTenantDomain).
func WithTenantDomain(domain string) Option { return func(s *Server) { s.sp.domain = domain } }

func (st *spaceStore) tenantDomain() string {
	if st.domain == "" {
		return DefaultTenantDomain
	}
	return st.domain
}

// personal returns the personal space of account; create makes it, as
// getOrCreatePersonalWorkspace does. st.mu must be held.
func (s *Server) personal(account string, create bool) *spaceState {
	for _, sp := range s.sp.spaces {
		if sp.Kind == "user" && sp.ID == account {
			return sp
		}
	}
	if !create {
		return nil
	}
	sp := &spaceState{Space: Space{
		ID: account, Slug: slugify(account, 32), Name: account, Kind: "user",
		Members: map[string]string{account: RoleOwner}, CreatedAt: s.now().UTC(),
	}, env: map[string]*EnvVar{}}
	s.sp.spaces = append(s.sp.spaces, sp)
	return sp
}

// AddTeamSpace creates a team space owned by owner and returns it.
func (s *Server) AddTeamSpace(name, owner string) Space {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	id := s.genID()
	sp := &spaceState{Space: Space{
		ID: id, Slug: slugify(name, 32), Name: name, Kind: "team",
		Members: map[string]string{owner: RoleOwner}, CreatedAt: s.now().UTC(),
	}, env: map[string]*EnvVar{}}
	s.sp.spaces = append(s.sp.spaces, sp)
	return sp.snapshot()
}

// AddMember gives account the role in the space (replacing a former role).
func (s *Server) AddMember(spaceID, account, role string) {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	if sp := s.spaceByID(spaceID); sp != nil {
		sp.Members[account] = role
	}
}

// Spaces returns a snapshot of every space, personal ones once created.
func (s *Server) Spaces() []Space {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	out := make([]Space, len(s.sp.spaces))
	for i, sp := range s.sp.spaces {
		out[i] = sp.snapshot()
	}
	return out
}

func (sp *spaceState) snapshot() Space {
	c := sp.Space
	c.Members = map[string]string{}
	for k, v := range sp.Members {
		c.Members[k] = v
	}
	return c
}

func (s *Server) spaceByID(id string) *spaceState {
	for _, sp := range s.sp.spaces {
		if sp.ID == id {
			return sp
		}
	}
	return nil
}

// genID is generateId(): 12 characters of [a-z0-9]; s.sp.mu is held, so
// it takes s.mu for the random source.
func (s *Server) genID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	s.mu.Lock()
	b := s.randBytes(12)
	s.mu.Unlock()
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// genUUID is crypto.randomUUID(), the id of a group.
func (s *Server) genUUID() string {
	s.mu.Lock()
	b := s.randBytes(16)
	s.mu.Unlock()
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexd = "0123456789abcdef"
	var out strings.Builder
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out.WriteByte('-')
		}
		out.WriteByte(hexd[c>>4])
		out.WriteByte(hexd[c&15])
	}
	return out.String()
}

// slugify is slugifyServiceName: lower case, runs of other characters
// become "-", leading and trailing "-" dropped, then cut to max bytes
// (0: no cut).
func slugify(v string, max int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(v) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	// A dash is written only between two runs of [a-z0-9]: the leading
	// and trailing ones /^-|-$/ removes are never written.
	out := b.String()
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	return out
}

// spaceRouteParam is the pattern validateApiOpaqueRouteParams applies to
// :spaceId: "me", a slug or an opaque id.
func validSpaceParam(v string) bool {
	if v == "me" || validOpaqueID(v) {
		return true
	}
	return false
}

// access is spaceAccess/requireSpaceAccess: the space by "me", id or slug,
// and the caller's role, which must be one of roles (any when empty).
// Every refusal is the same 404, whatever the reason. s.sp.mu must be held.
func (s *Server) access(account, ident string, msg string, roles ...string) (*spaceState, string, reply, bool) {
	if msg == "" {
		msg = "Space not found"
	}
	refuse := envelopeReply(http.StatusNotFound, "NOT_FOUND", msg)
	var sp *spaceState
	if ident == "me" {
		sp = s.personal(account, false)
	} else {
		for _, c := range s.sp.spaces {
			if c.ID == ident || c.Slug == ident {
				sp = c
				break
			}
		}
	}
	if sp == nil {
		return nil, "", refuse, false
	}
	role, ok := sp.Members[account]
	if !ok || len(roles) > 0 && !slices.Contains(roles, role) {
		return nil, "", refuse, false
	}
	return sp, role, reply{}, true
}

// internalError is the reply to an exception no handler caught.
func (s *Server) internalError() reply {
	return jsonReply(http.StatusInternalServerError, map[string]any{"error": map[string]any{
		"code": "INTERNAL_ERROR", "message": "An unexpected error occurred. Please try again later.",
		"details": map[string]string{"error_id": s.genID()[:8]},
	}})
}

// validationError is zValidator's refusal of a body of the wrong shape.
func validationError() reply {
	return envelopeReply(http.StatusUnprocessableEntity, "VALIDATION_ERROR", "Validation error")
}

func spaceJSON(sp *spaceState) map[string]any {
	t := jsTime(sp.CreatedAt)
	return map[string]any{
		"id": sp.ID, "slug": sp.Slug, "name": sp.Name, "description": nil, "kind": sp.Kind,
		"owner_principal_id": ownerOf(sp), "automation_principal_id": nil, "security_posture": "standard",
		"created_at": t, "updated_at": t,
	}
}

func ownerOf(sp *spaceState) string {
	for a, r := range sp.Members {
		if r == RoleOwner {
			return a
		}
	}
	return ""
}

// serveSpaces routes /api/spaces and /api/spaces/... after auth.
func (s *Server) serveSpaces(account, method, p string, body []byte) reply {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	rest := strings.TrimPrefix(p, "/api/spaces")
	parts := strings.Split(strings.TrimPrefix(rest, "/"), "/")
	// Hono's routes are strict: /api/spaces/ is no route.
	if rest == "/" {
		return routeNotFound()
	}
	if rest == "" {
		if method != http.MethodGet {
			return routeNotFound()
		}
		// GET /api/spaces creates the personal space when it is missing.
		s.personal(account, true)
		out := []map[string]any{}
		for _, sp := range s.sp.spaces {
			if _, ok := sp.Members[account]; ok {
				out = append(out, spaceJSON(sp))
			}
		}
		return jsonReply(http.StatusOK, map[string]any{"spaces": out})
	}
	ident := parts[0]
	if len(parts) == 1 && method == http.MethodGet {
		if ident == "me" {
			s.personal(account, true)
		}
		sp, role, rep, ok := s.access(account, ident, "")
		if !ok {
			return rep
		}
		return jsonReply(http.StatusOK, map[string]any{"space": spaceJSON(sp), "role": role, "repository": nil})
	}
	switch {
	case len(parts) == 2 && parts[1] == "common-env":
		return s.serveCommonEnv(account, ident, method, body)
	case len(parts) == 3 && parts[1] == "common-env" && method == http.MethodDelete:
		return s.deleteCommonEnv(account, ident, parts[2])
	case len(parts) >= 2 && parts[1] == "groups":
		return s.serveGroups(account, ident, method, parts[2:], body)
	}
	return routeNotFound()
}

// apiSpaces serves /api/spaces[/...] and /api/services[/...] in the
// middleware order of createApiRouter (after the Content-Type check and
// body limit of api): route parameters (:spaceId, the service :id), then
// requireAuth; handled is false for other paths.
func (s *Server) apiSpaces(r *http.Request, body []byte) (reply, bool) {
	p := r.URL.Path
	var spaces bool
	switch {
	case p == "/api/spaces" || strings.HasPrefix(p, "/api/spaces/"):
		spaces = true
	case p == "/api/services" || strings.HasPrefix(p, "/api/services/"):
	default:
		return reply{}, false
	}
	seg := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/api/"), "/")
	if len(seg) > 1 && seg[1] != "" {
		param, err := url.PathUnescape(seg[1])
		if err != nil {
			param = seg[1]
		}
		switch {
		case spaces && !validSpaceParam(param):
			return badRequest("Invalid route parameter: spaceId"), true
		case !spaces && !validOpaqueID(param):
			return badRequest("Invalid route parameter: id"), true
		}
	}
	account, rep, ok := s.authenticate(r)
	if !ok {
		return rep, true
	}
	if spaces {
		return s.serveSpaces(account, r.Method, p, body), true
	}
	return s.serveServices(account, r.Method, p, body), true
}

// stateSpace and stateService are the space part of the dev server's state
// file (state.go): everything the space routes keep, so a restarted
// takos-apply dev still holds the credentials an apply stored and linked.
type stateSpace struct {
	Space
	Env    []EnvVar `json:"env"`
	Groups []Group  `json:"groups"`
}

type stateService struct {
	Service
	Links       []Link       `json:"links"`
	Deployments []Deployment `json:"deployments"`
	Fingerprint string       `json:"fingerprint,omitempty"`
}

func (s *Server) spacesSnapshot() ([]stateSpace, []stateService) {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	var spaces []stateSpace
	for _, sp := range s.sp.spaces {
		st := stateSpace{Space: sp.snapshot(), Env: sp.sortedEnv()}
		for _, g := range sp.groups {
			st.Groups = append(st.Groups, *g)
		}
		spaces = append(spaces, st)
	}
	var services []stateService
	for _, sv := range s.sp.services {
		st := stateService{Service: sv.Service, Links: slices.Clone(sv.links), Fingerprint: sv.fingerprint}
		for _, d := range sv.deployments {
			dd := *d
			dd.Bindings = slices.Clone(d.Bindings)
			st.Deployments = append(st.Deployments, dd)
		}
		services = append(services, st)
	}
	return spaces, services
}

func (s *Server) restoreSpaces(spaces []stateSpace, services []stateService) {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	for _, st := range spaces {
		sp := &spaceState{Space: st.Space, env: map[string]*EnvVar{}}
		if sp.Members == nil {
			sp.Members = map[string]string{}
		}
		for _, e := range st.Env {
			ee := e
			sp.env[e.Name] = &ee
		}
		for _, g := range st.Groups {
			gg := g
			sp.groups = append(sp.groups, &gg)
		}
		s.sp.spaces = append(s.sp.spaces, sp)
	}
	for _, st := range services {
		sv := &serviceState{Service: st.Service, links: st.Links, fingerprint: st.Fingerprint}
		for _, d := range st.Deployments {
			dd := d
			sv.deployments = append(sv.deployments, &dd)
		}
		s.sp.services = append(s.sp.services, sv)
	}
}
