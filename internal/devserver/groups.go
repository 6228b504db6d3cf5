package devserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// maxServicesPerSpace is WORKSPACE_SERVICE_LIMITS.maxServices.
const maxServicesPerSpace = 100

var groupProviders = []string{"cloudflare", "local", "aws", "gcp", "k8s"}

func (s *Server) groupIn(sp *spaceState, id string) *Group {
	for _, g := range sp.groups {
		if g.ID == id {
			return g
		}
	}
	return nil
}

// Groups returns the space's groups in creation order.
func (s *Server) Groups(spaceID string) []Group {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	sp := s.spaceByID(spaceID)
	if sp == nil {
		return nil
	}
	out := make([]Group, len(sp.groups))
	for i, g := range sp.groups {
		out[i] = *g
	}
	return out
}

// SeedGroup stores a group as is, bypassing the route's checks and the
// unique (space, name) index the real database has: only for tests of a
// control plane whose database lacks that index. Empty ID and timestamps
// are filled in.
func (s *Server) SeedGroup(g Group) Group {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	sp := s.spaceByID(g.SpaceID)
	if sp == nil {
		panic("devserver: SeedGroup in unknown space " + g.SpaceID)
	}
	if g.ID == "" {
		g.ID = s.genUUID()
	}
	if g.CreatedAt.IsZero() {
		g.CreatedAt = s.now().UTC()
		g.UpdatedAt = g.CreatedAt
	}
	gc := g
	sp.groups = append(sp.groups, &gc)
	return g
}

func groupJSON(g *Group) map[string]any {
	return map[string]any{
		"id": g.ID, "spaceId": g.SpaceID, "name": g.Name, "appVersion": nil,
		"provider": g.Provider, "env": g.Env,
		"sourceKind": nil, "sourceRepositoryUrl": nil, "sourceRef": nil, "sourceRefType": nil, "sourceCommitSha": nil,
		"currentAppDeploymentId": nil, "desiredSpecJson": nil, "providerStateJson": map[string]any{},
		"reconcileStatus": "idle", "lastAppliedAt": nil,
		"createdAt": jsTime(g.CreatedAt), "updatedAt": jsTime(g.UpdatedAt),
	}
}

// serveGroups is /api/spaces/:spaceId/groups[/...] (routes/groups/routes.ts);
// rest is the path after "groups". s.sp.mu is held.
func (s *Server) serveGroups(account, ident, method string, rest []string, body []byte) reply {
	switch {
	case len(rest) == 0 && method == http.MethodGet:
		sp, _, rep, ok := s.access(account, ident, "")
		if !ok {
			return rep
		}
		out := []map[string]any{}
		for _, g := range sp.groups {
			out = append(out, groupJSON(g))
		}
		return jsonReply(http.StatusOK, map[string]any{"groups": out})
	case len(rest) == 0 && method == http.MethodPost:
		sp, _, rep, ok := s.access(account, ident, "", RoleOwner, RoleAdmin, RoleEditor)
		if !ok {
			return rep
		}
		return s.createGroup(sp, body)
	case len(rest) == 2 && rest[1] == "services" && method == http.MethodGet:
		sp, _, rep, ok := s.access(account, ident, "")
		if !ok {
			return rep
		}
		g := s.groupIn(sp, rest[0])
		if g == nil {
			return notFound("Group")
		}
		out := []map[string]any{}
		for _, sv := range s.sp.services {
			if sv.GroupID == g.ID {
				out = append(out, groupServiceJSON(sv))
			}
		}
		return jsonReply(http.StatusOK, map[string]any{"services": out})
	}
	return routeNotFound()
}

// parseOptional is parseGroupProvider / parseGroupEnv: absent or null is
// nil; otherwise a non-empty string (provider: one of groupProviders,
// lower-cased).
func parseGroupField(field string, raw json.RawMessage, present bool) (*string, string) {
	if !present || string(bytes.TrimSpace(raw)) == "null" {
		return nil, ""
	}
	v, ok := jsonString(raw)
	if !ok {
		return nil, fmt.Sprintf("Invalid %s: %s", field, jsString(raw))
	}
	n := strings.TrimSpace(v)
	if n == "" {
		return nil, field + " must be a non-empty string"
	}
	if field == "provider" {
		n = strings.ToLower(n)
		if !slices.Contains(groupProviders, n) {
			return nil, "Invalid provider: " + v
		}
	}
	return &n, ""
}

func (s *Server) createGroup(sp *spaceState, body []byte) reply {
	var raw json.RawMessage
	if json.Unmarshal(body, &raw) != nil || string(bytes.TrimSpace(raw)) == "null" {
		// c.req.json() throws on a body that is not JSON; hasOwnProperty
		// on null throws too.
		return s.internalError()
	}
	req := map[string]json.RawMessage{}
	if bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		_ = json.Unmarshal(raw, &req)
	}
	pRaw, hasP := req["provider"]
	provider, msg := parseGroupField("provider", pRaw, hasP)
	if msg != "" {
		return badRequest(msg)
	}
	eRaw, hasE := req["env"]
	env, msg := parseGroupField("env", eRaw, hasE)
	if msg != "" {
		return badRequest(msg)
	}
	name, ok := jsonString(req["name"])
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return badRequest("name is required")
	}
	for _, g := range sp.groups {
		if g.Name == name {
			// UNIQUE constraint failed: groups.space_id, groups.name.
			return s.internalError()
		}
	}
	now := s.now().UTC()
	g := &Group{ID: s.genUUID(), SpaceID: sp.ID, Name: name, Provider: provider, Env: env, CreatedAt: now, UpdatedAt: now}
	sp.groups = append(sp.groups, g)
	return jsonReply(http.StatusCreated, map[string]any{"id": g.ID, "name": g.Name})
}

// Services returns the services of a space in creation order, with their
// links and deployments left out (Links, Deployments).
func (s *Server) Services(spaceID string) []Service {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	var out []Service
	for _, sv := range s.sp.services {
		if sv.SpaceID == spaceID {
			out = append(out, sv.Service)
		}
	}
	return out
}

// Links returns a service's env links.
func (s *Server) Links(serviceID string) []Link {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	if sv := s.service(serviceID); sv != nil {
		return slices.Clone(sv.links)
	}
	return nil
}

// Deployments returns a service's deployments, oldest first, bindings in
// clear.
func (s *Server) Deployments(serviceID string) []Deployment {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	sv := s.service(serviceID)
	if sv == nil {
		return nil
	}
	out := make([]Deployment, len(sv.deployments))
	for i, d := range sv.deployments {
		out[i] = *d
		out[i].Bindings = slices.Clone(d.Bindings)
	}
	return out
}

func (s *Server) service(id string) *serviceState {
	for _, sv := range s.sp.services {
		if sv.ID == id {
			return sv
		}
	}
	return nil
}

// groupServiceJSON is a row of GET /api/spaces/:id/groups/:gid/services:
// camelCase columns, config parsed (an object; {} when absent).
func groupServiceJSON(sv *serviceState) map[string]any {
	var cfg any = map[string]any{}
	if sv.Config != "" {
		var v any
		if json.Unmarshal([]byte(sv.Config), &v) == nil && v != nil {
			cfg = v
		}
	}
	return map[string]any{
		"id": sv.ID, "accountId": sv.SpaceID, "groupId": nullIfEmpty(sv.GroupID), "serviceType": sv.ServiceType,
		"nameType": nil, "status": sv.Status, "config": cfg, "hostname": sv.Hostname, "routeRef": sv.RouteRef,
		"slug": sv.Slug, "activeDeploymentId": nullIfEmpty(sv.ActiveDeploymentID), "fallbackDeploymentId": nil,
		"currentVersion": len(sv.deployments), "workloadKind": nil,
		"createdAt": jsTime(sv.CreatedAt), "updatedAt": jsTime(sv.UpdatedAt),
	}
}

// apiServiceJSON is toApiService (POST /api/services): snake_case, config
// as the stored string.
func apiServiceJSON(sv *serviceState) map[string]any {
	return map[string]any{
		"id": sv.ID, "space_id": sv.SpaceID, "group_id": nullIfEmpty(sv.GroupID), "service_type": sv.ServiceType,
		"status": sv.Status, "config": nullIfEmpty(sv.Config), "hostname": sv.Hostname, "service_name": sv.RouteRef,
		"slug": sv.Slug, "created_at": jsTime(sv.CreatedAt), "updated_at": jsTime(sv.UpdatedAt),
	}
}

func nullIfEmpty(v string) any {
	if v == "" {
		return nil
	}
	return v
}

// serveServices routes /api/services/... (routes/workers/*.ts) after auth.
func (s *Server) serveServices(account, method, p string, body []byte) reply {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	rest := strings.Split(strings.TrimPrefix(strings.TrimPrefix(p, "/api/services"), "/"), "/")
	switch {
	case len(rest) == 1 && rest[0] == "" && method == http.MethodPost:
		return s.createService(account, body)
	case len(rest) == 2 && rest[1] == "common-env-links" && method == http.MethodGet:
		sv, _, rep, ok := s.serviceFor(account, rest[0])
		if !ok {
			return rep
		}
		return jsonReply(http.StatusOK, map[string]any{"links": s.linksJSON(sv), "builtins": builtinsJSON()})
	case len(rest) == 2 && rest[1] == "common-env-links" && method == http.MethodPatch:
		return s.patchLinks(account, rest[0], body)
	case len(rest) == 3 && rest[1] == "deployments" && method == http.MethodGet:
		sv, _, rep, ok := s.serviceFor(account, rest[0])
		if !ok {
			return rep
		}
		for _, d := range sv.deployments {
			if d.ID == rest[2] {
				return jsonReply(http.StatusOK, map[string]any{"deployment": deploymentJSON(sv, d), "events": []any{}})
			}
		}
		return notFound("Deployment")
	}
	return routeNotFound()
}

// serviceFor is getServiceForUser(WithRole): the service when the caller
// is a member of its space with one of roles (any when empty); otherwise
// 404 "Service not found". s.sp.mu is held.
func (s *Server) serviceFor(account, id string, roles ...string) (*serviceState, string, reply, bool) {
	refuse := notFound("Service")
	sv := s.service(id)
	if sv == nil {
		return nil, "", refuse, false
	}
	// A service made in a personal space that GET /api/spaces has not
	// created yet has no membership row either.
	role := ""
	if sp := s.spaceByID(sv.SpaceID); sp != nil {
		role = sp.Members[account]
	}
	if role == "" || len(roles) > 0 && !slices.Contains(roles, role) {
		return nil, "", refuse, false
	}
	return sv, role, reply{}, true
}

// createService is POST /api/services.
func (s *Server) createService(account string, body []byte) reply {
	var raw json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return s.internalError()
	}
	var req struct {
		SpaceID     *string `json:"space_id"`
		GroupID     *string `json:"group_id"`
		ServiceType *string `json:"service_type"`
		Slug        *string `json:"slug"`
		Config      *string `json:"config"`
	}
	// zValidator: an object whose fields, when present, are strings
	// (service_type app or service); anything else is 422.
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) || json.Unmarshal(raw, &req) != nil {
		return validationError()
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(raw, &fields)
	for _, k := range []string{"space_id", "group_id", "service_type", "slug", "config"} {
		if v, ok := fields[k]; ok {
			if _, isStr := jsonString(v); !isStr {
				return validationError()
			}
		}
	}
	serviceType := "app"
	if req.ServiceType != nil {
		if *req.ServiceType != "app" && *req.ServiceType != "service" {
			return validationError()
		}
		serviceType = *req.ServiceType
	}
	spaceID := account
	if req.SpaceID != nil && strings.TrimSpace(*req.SpaceID) != "" {
		sp, _, rep, ok := s.access(account, strings.TrimSpace(*req.SpaceID), "Space not found or insufficient permissions", RoleOwner, RoleAdmin, RoleEditor)
		if !ok {
			return rep
		}
		spaceID = sp.ID
	}
	groupID := ""
	if req.GroupID != nil && strings.TrimSpace(*req.GroupID) != "" {
		groupID = strings.TrimSpace(*req.GroupID)
		sp := s.spaceByID(spaceID)
		if sp == nil || s.groupIn(sp, groupID) == nil {
			return jsonReply(http.StatusBadRequest, map[string]string{"error": "group_id must belong to the selected workspace"})
		}
	}
	count := 0
	for _, sv := range s.sp.services {
		if sv.SpaceID == spaceID {
			count++
		}
	}
	if count >= maxServicesPerSpace {
		return jsonReply(http.StatusTooManyRequests, map[string]string{"error": fmt.Sprintf("Space has reached the maximum number of services (%d)", maxServicesPerSpace)})
	}
	id := s.genID()
	slug := id
	if req.Slug != nil {
		slug = *req.Slug
	}
	slug = slugify(slug, 32)
	hostname := slug + "." + s.sp.tenantDomain()
	for _, sv := range s.sp.services {
		if sv.Slug == slug || sv.Hostname == hostname {
			// UNIQUE constraint failed: services.slug.
			return s.internalError()
		}
	}
	cfg := ""
	if req.Config != nil {
		cfg = *req.Config
	}
	now := s.now().UTC()
	sv := &serviceState{Service: Service{
		ID: id, SpaceID: spaceID, GroupID: groupID, ServiceType: serviceType, Status: "pending",
		Config: cfg, Hostname: hostname, RouteRef: "worker-" + id, Slug: slug, CreatedAt: now, UpdatedAt: now,
	}}
	s.sp.services = append(s.sp.services, sv)
	return jsonReply(http.StatusCreated, map[string]any{"service": apiServiceJSON(sv)})
}

// linksJSON is listServiceCommonEnvLinks: one row per name (a manual link
// wins over a required one), sorted by name.
func (s *Server) linksJSON(sv *serviceState) []map[string]any {
	sp := s.spaceByID(sv.SpaceID)
	byName := map[string]Link{}
	for _, l := range sv.links {
		if cur, ok := byName[l.Name]; !ok || cur.Source != "manual" {
			byName[l.Name] = l
		}
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return envNameLess(names[i], names[j]) < 0 })
	out := []map[string]any{}
	for _, n := range names {
		has := n == "TAKOS_API_URL"
		if sp != nil {
			_, stored := sp.env[n]
			has = has || stored
		}
		out = append(out, map[string]any{"name": n, "source": byName[n].Source, "hasCommonValue": has,
			"syncState": "pending", "syncReason": "link_created"})
	}
	return out
}

// builtinsJSON is listServiceBuiltins for a service with no
// TAKOS_ACCESS_TOKEN configuration, as the real server lists it.
func builtinsJSON() map[string]any {
	return map[string]any{
		"TAKOS_API_URL": map[string]any{"managed": true, "available": true, "sync_state": "managed", "sync_reason": nil},
		"TAKOS_ACCESS_TOKEN": map[string]any{"managed": true, "available": true, "configured": false, "scopes": []string{},
			"subject_mode": "owner_principal", "sync_state": "pending", "sync_reason": "missing_config"},
	}
}

// patchLinks is PATCH /api/services/:id/common-env-links.
func (s *Server) patchLinks(account, id string, body []byte) reply {
	var raw json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return s.internalError()
	}
	if !bytes.HasPrefix(bytes.TrimSpace(raw), []byte("{")) {
		return validationError()
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return validationError()
	}
	lists := map[string][]string{}
	for _, k := range []string{"add", "remove", "set"} {
		v, ok := fields[k]
		if !ok {
			continue
		}
		var elems []json.RawMessage
		if json.Unmarshal(v, &elems) != nil || string(bytes.TrimSpace(v)) == "null" {
			return validationError()
		}
		names := []string{}
		for _, e := range elems {
			n, isStr := jsonString(e)
			if !isStr {
				return validationError()
			}
			names = append(names, n)
		}
		lists[k] = names
	}
	// builtins (workerBuiltinsSchema): absent, or an object whose
	// TAKOS_ACCESS_TOKEN, when present, is {"scopes": [one or more
	// strings]}. Only that key touches the access token.
	scoped := false
	if v, ok := fields["builtins"]; ok {
		var b map[string]json.RawMessage
		if !bytes.HasPrefix(bytes.TrimSpace(v), []byte("{")) || json.Unmarshal(v, &b) != nil {
			return validationError()
		}
		if t, ok := b["TAKOS_ACCESS_TOKEN"]; ok {
			var tok struct {
				Scopes []json.RawMessage `json:"scopes"`
			}
			if !bytes.HasPrefix(bytes.TrimSpace(t), []byte("{")) || json.Unmarshal(t, &tok) != nil || len(tok.Scopes) == 0 {
				return validationError()
			}
			for _, sc := range tok.Scopes {
				if _, isStr := jsonString(sc); !isStr {
					return validationError()
				}
			}
			scoped = true
		}
	}
	_, hasSet := lists["set"]
	_, hasAdd := lists["add"]
	_, hasRemove := lists["remove"]
	switch {
	case !hasSet && !hasAdd && !hasRemove:
		return badRequest("one of add/remove/set must be provided")
	case hasSet && (hasAdd || hasRemove):
		return badRequest("set cannot be combined with add/remove")
	}
	sv, role, rep, ok := s.serviceFor(account, id, RoleOwner, RoleAdmin, RoleEditor)
	if !ok {
		return rep
	}
	current := []string{}
	for _, l := range sv.links {
		if l.Source == "manual" {
			current = append(current, l.Name)
		}
	}
	next := slices.Clone(current)
	if hasSet {
		next = nil
		for _, n := range lists["set"] {
			if nn, msg := normalizeEnvName(n); msg == "" {
				next = append(next, nn)
			}
		}
	}
	for _, n := range lists["add"] {
		if nn, msg := normalizeEnvName(n); msg == "" && !slices.Contains(next, nn) {
			next = append(next, nn)
		}
	}
	for _, n := range lists["remove"] {
		if nn, msg := normalizeEnvName(n); msg == "" {
			next = slices.DeleteFunc(next, func(x string) bool { return x == nn })
		}
	}
	const tat = "TAKOS_ACCESS_TOKEN"
	if slices.Contains(current, tat) || slices.Contains(next, tat) || scoped {
		if role != RoleOwner && role != RoleAdmin {
			// The privileged lookup's NotFoundError is thrown inside the
			// handler's try, whose catch turns every Error into a 400.
			return badRequest("Service not found")
		}
	}
	if scoped && !slices.Contains(next, tat) {
		return badRequest("builtins.TAKOS_ACCESS_TOKEN requires TAKOS_ACCESS_TOKEN to be linked")
	}
	if slices.Contains(next, tat) && !scoped {
		return badRequest("TAKOS_ACCESS_TOKEN requires builtins.TAKOS_ACCESS_TOKEN.scopes when first linked")
	}
	// patchServiceManualLinks: uniqueEnvNames throws on the first invalid
	// name, and the handler turns it into a 400.
	norm := map[string][]string{}
	for k, names := range lists {
		for _, n := range names {
			nn, msg := normalizeEnvName(n)
			if msg != "" {
				return badRequest(msg)
			}
			if !slices.Contains(norm[k], nn) {
				norm[k] = append(norm[k], nn)
			}
		}
	}
	var overlap []string
	for _, n := range norm["add"] {
		if slices.Contains(norm["remove"], n) {
			overlap = append(overlap, n)
		}
	}
	if len(overlap) > 0 {
		return badRequest("Cannot add and remove the same key: " + strings.Join(overlap, ", "))
	}
	added, removed := []string{}, []string{}
	if hasSet {
		sv.links = slices.DeleteFunc(sv.links, func(l Link) bool { return l.Source == "manual" && !slices.Contains(norm["set"], l.Name) })
		for _, n := range norm["set"] {
			if !slices.Contains(current, n) {
				sv.links = append(sv.links, Link{Name: n, Source: "manual"})
			}
		}
	} else {
		for _, n := range norm["add"] {
			if !slices.Contains(current, n) {
				sv.links = append(sv.links, Link{Name: n, Source: "manual"})
				added = append(added, n)
			}
		}
		for _, n := range norm["remove"] {
			if slices.Contains(current, n) {
				sv.links = slices.DeleteFunc(sv.links, func(l Link) bool { return l.Source == "manual" && l.Name == n })
				removed = append(removed, n)
			}
		}
	}
	return jsonReply(http.StatusOK, map[string]any{"success": true, "diff": map[string]any{"added": added, "removed": removed},
		"links": s.linksJSON(sv), "builtins": builtinsJSON()})
}

// maskValue is maskValue of shared/utils/crypto.ts.
func maskValue(v string) string {
	if len(v) <= 8 {
		return "****"
	}
	return v[:2] + "****" + v[len(v)-2:]
}

func deploymentJSON(sv *serviceState, d *Deployment) map[string]any {
	bindings := []map[string]any{}
	masked := map[string]string{}
	for _, b := range d.Bindings {
		text := b.Text
		if b.Type == "secret_text" {
			text = MaskedValue
		}
		bindings = append(bindings, map[string]any{"type": b.Type, "name": b.Name, "text": text})
		masked[b.Name] = maskValue(b.Text)
	}
	t := jsTime(d.CreatedAt)
	return map[string]any{
		"id": d.ID, "service_id": sv.ID, "space_id": sv.SpaceID, "version": d.Version, "status": d.Status,
		"deploy_state": "completed", "routing_status": d.RoutingStatus, "routing_weight": 100,
		"artifact_kind": "worker-bundle", "artifact_ref": sv.RouteRef + fmt.Sprintf("-v%d", d.Version),
		"provider": map[string]string{"name": "runtime-host"}, "provider_name": "runtime-host",
		"target": map[string]any{"route_ref": sv.RouteRef}, "error_message": nil, "step_error": nil,
		"env_vars_masked": masked, "bindings": bindings, "created_at": t, "completed_at": t, "updated_at": t,
	}
}
