package devserver

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// DeployOptions is one group apply (takos apply / takos deploy) as
// DeployGroup runs it.
type DeployOptions struct {
	// Env is the deploy's --env (takos apply's default is "staging").
	Env string
	// Provider is the deploy's --provider; "" sends none.
	Provider string
	// Workers and Containers map each workload of the manifest to its spec
	// fingerprint: a workload whose fingerprint equals the one its last
	// deployment recorded is skipped, as the engine skips an unchanged
	// spec even with a new bundle.
	Workers    map[string]string
	Containers map[string]string
}

// DeployResult is what DeployGroup did to one workload: "deployed" (a new
// deployment) or "skipped" (unchanged spec).
type DeployResult struct {
	Name         string `json:"name"`
	Kind         string `json:"kind"` // worker or container
	ServiceID    string `json:"service_id"`
	Hostname     string `json:"hostname"`
	DeploymentID string `json:"deployment_id"`
	Action       string `json:"action"`
}

// DeployGroup stands in for the group apply engine (POST
// /api/spaces/:id/groups/apply, apply-engine.ts), which the fake does not
// serve over HTTP: it finds the group by name or creates it, adopts each
// workload's service by config.manifestName and componentKind (a service
// created beforehand through POST /api/services in that shape included) or
// creates one with the engine's slug, and deploys each workload whose spec
// changed. A new deployment snapshots the space values of the service's
// links (plain values in clear, secrets as secrets); containers get no
// environment at all, as at tako0614/takos@7d63ea66. The running
// deployment of a skipped workload keeps its old snapshot.
func (s *Server) DeployGroup(spaceID, groupName string, o DeployOptions) ([]DeployResult, error) {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	sp := s.spaceByID(spaceID)
	if sp == nil {
		return nil, fmt.Errorf("devserver: no space %s", spaceID)
	}
	var g *Group
	for _, c := range sp.groups {
		if c.Name == groupName {
			g = c
			break
		}
	}
	now := s.now().UTC()
	if g == nil {
		g = &Group{ID: s.genUUID(), SpaceID: sp.ID, Name: groupName, CreatedAt: now, UpdatedAt: now}
		sp.groups = append(sp.groups, g)
	}
	if o.Provider != "" {
		p := o.Provider
		g.Provider = &p
	}
	env := o.Env
	if env == "" {
		env = "staging"
	}
	e := env
	g.Env = &e
	var out []DeployResult
	for _, kind := range []string{"worker", "container"} {
		specs := o.Workers
		if kind == "container" {
			specs = o.Containers
		}
		names := make([]string, 0, len(specs))
		for n := range specs {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, name := range names {
			out = append(out, s.deployWorkload(sp, g, env, kind, name, specs[name]))
		}
	}
	return out, nil
}

func (s *Server) deployWorkload(sp *spaceState, g *Group, env, kind, name, spec string) DeployResult {
	var sv *serviceState
	for _, c := range s.sp.services {
		var cfg struct {
			ManagedBy     string `json:"managedBy"`
			ManifestName  string `json:"manifestName"`
			ComponentKind string `json:"componentKind"`
		}
		_ = json.Unmarshal([]byte(c.Config), &cfg)
		if c.GroupID == g.ID && cfg.ManagedBy == "group" && cfg.ManifestName == name && cfg.ComponentKind == kind {
			sv = c
			break
		}
	}
	now := s.now().UTC()
	if sv == nil {
		slug := ManagedSlug(g.ID, env, kind, name)
		sv = &serviceState{Service: Service{
			ID: s.genUUID(), SpaceID: sp.ID, GroupID: g.ID, ServiceType: "app", Status: "pending",
			Hostname: slug + "." + s.sp.tenantDomain(), RouteRef: managedRouteRef(g.ID, env, kind, name), Slug: slug,
			CreatedAt: now, UpdatedAt: now,
		}}
		s.sp.services = append(s.sp.services, sv)
	}
	cfg, _ := json.Marshal(map[string]string{"managedBy": "group", "manifestName": name, "componentKind": kind, "specFingerprint": spec})
	sv.Config = string(cfg)
	res := DeployResult{Name: name, Kind: kind, ServiceID: sv.ID, Hostname: sv.Hostname, DeploymentID: sv.ActiveDeploymentID, Action: "skipped"}
	if sv.fingerprint == spec && sv.ActiveDeploymentID != "" {
		return res
	}
	d := &Deployment{ID: s.genID(), ServiceID: sv.ID, Version: len(sv.deployments) + 1, Status: "success", RoutingStatus: "active", CreatedAt: now}
	if kind == "worker" {
		var names []string
		for _, l := range sv.links {
			if !slices.Contains(names, l.Name) {
				names = append(names, l.Name)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			if v, ok := sp.env[n]; ok {
				typ := "plain_text"
				if v.Secret {
					typ = "secret_text"
				}
				d.Bindings = append(d.Bindings, Binding{Type: typ, Name: n, Text: v.Value})
			}
		}
	}
	for _, old := range sv.deployments {
		if old.RoutingStatus == "active" {
			old.RoutingStatus = "archived"
		}
	}
	sv.deployments = append(sv.deployments, d)
	sv.ActiveDeploymentID = d.ID
	sv.Status = "deployed"
	sv.UpdatedAt = now
	sv.fingerprint = spec
	res.DeploymentID, res.Action = d.ID, "deployed"
	return res
}

// slugSegment is the engine's slugifySegment.
func slugSegment(v string) string { return slugify(v, 0) }

// ManagedSlug is the slug the group apply engine gives a workload's new
// service (buildManagedSlug in group-managed-services.ts):
// grp-<group id[:8]>-<env>-<kind>-<name>, each part slugified, cut to 48.
func ManagedSlug(groupID, env, kind, name string) string {
	return managedName(groupID, env, kind, name, 48)
}

func managedRouteRef(groupID, env, kind, name string) string {
	return managedName(groupID, env, kind, name, 63)
}

func managedName(groupID, env, kind, name string, max int) string {
	id := groupID
	if len(id) > 8 {
		id = id[:8]
	}
	var parts []string
	for _, p := range []string{"grp", id, env, kind, name} {
		if sp := slugSegment(p); sp != "" {
			parts = append(parts, sp)
		}
	}
	out := strings.Join(parts, "-")
	if len(out) > max {
		out = out[:max]
	}
	if out == "" {
		return "grp-" + id
	}
	return out
}
