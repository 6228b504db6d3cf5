package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// Paths of the space, group and service routes autoEnv uses
// (github.com/tako0614/takos/packages/control/src/server/routes/spaces/*.ts,
// groups/routes.ts and workers/*.ts); see the package doc for the list.
const (
	SpacesPath   = "/api/spaces"
	ServicesPath = "/api/services"
)

// Space roles, from the most to the least privileged.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleEditor = "editor"
	RoleViewer = "viewer"
)

// MaskedValue is what the control plane shows for a secret value.
const MaskedValue = "********"

// Space is a space and the caller's role in it.
type Space struct {
	ID   string
	Slug string
	Name string
	// Kind is "user" for a personal space, "team" otherwise.
	Kind string
	Role string
}

// EnvVar is one value of a space's common env. Value is "" for a secret:
// the control plane never shows it.
type EnvVar struct {
	Name      string
	Secret    bool
	Value     string
	UpdatedAt time.Time
}

// Group is a deploy group: an app of the space, named by the manifest's
// metadata.name. Provider and Env are "" when unset.
type Group struct {
	ID       string
	Name     string
	Provider string
	Env      string
}

// Service is a service row of a group, with the group apply engine's
// config fields (managedBy, manifestName, componentKind).
type Service struct {
	ID                 string
	GroupID            string
	Slug               string
	Hostname           string
	Status             string
	ActiveDeploymentID string
	ManagedBy          string
	ManifestName       string
	ComponentKind      string
}

// EnvLink is a service's link to a space env name. Source is "manual"
// (what the links API sets) or "required".
type EnvLink struct {
	Name           string
	Source         string
	HasCommonValue bool
}

// Deployment is what a deployment's environment snapshot shows: plain
// values in clear, secrets by name only.
type Deployment struct {
	ID            string
	Status        string
	RoutingStatus string
	Plain         map[string]string
	SecretNames   []string
}

// validID accepts the opaque ids the Takos API uses in paths (spaces,
// groups, services, deployments): ^[A-Za-z0-9_-]{1,128}$.
func validID(id string) bool { return validClientID(id) }

// ValidEnvName reports whether name is a space env name Takos accepts as
// it is stored: ^[A-Z_][A-Z0-9_]*$ (the server upper-cases what it gets).
func ValidEnvName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func checkEnvName(op, name string) error {
	if !ValidEnvName(name) {
		return fmt.Errorf("%s: %s is not a valid env name", op, safetext.Quote(name, 64))
	}
	return nil
}

func checkID(op, what, id string) error {
	if !validID(id) {
		return fmt.Errorf("%s: %s %s is not a Takos id (^[A-Za-z0-9_-]{1,128}$)", op, what, safetext.Quote(id, 64))
	}
	return nil
}

// spacePath is /api/spaces/{id}: "me" stands for the caller's personal
// space.
func spacePath(id string) string { return SpacesPath + "/" + url.PathEscape(id) }

// servicePath is /api/services/{id}; the id is checked by checkID.
func servicePath(id string) string { return ServicesPath + "/" + id }

// roleRefusal rewrites the reply to a write that the caller's role does
// not allow. Takos folds the role check into the space or service lookup,
// so a missing role reads 404 "Space not found" / "Service not found"
// (measured); a 403 is treated the same.
func roleRefusal(err error, need string) error {
	var a *APIError
	if !errors.As(err, &a) || (a.Status != http.StatusForbidden && a.Status != http.StatusNotFound) {
		return err
	}
	a.roleRefused = true
	a.summary = "the control plane refused the write (" + statusDetail(a.Status, a.Code, a.Message) + ")"
	a.Fix = "this needs the " + need + " role in the space (Takos answers 404 when the role is missing): use a token of such a member, or ask an owner to grant the role"
	return a
}

// IsRoleRefusal reports whether err is a write refused for the caller's
// role in the space (see roleRefusal).
func IsRoleRefusal(err error) bool {
	var a *APIError
	return errors.As(err, &a) && a.roleRefused
}

// Space returns the space id names, or the caller's personal space when
// id is "" (GET /api/spaces/me, which also creates the personal space of
// a fresh account), with the caller's role. An id may be a space's slug;
// the returned ID is the canonical one. A space that does not exist or
// of which the caller is not a member is an error for which IsNotFound is
// true.
func (c *Client) Space(ctx context.Context, id string) (*Space, error) {
	const op = "read space"
	ident := "me"
	if id != "" {
		if err := checkID(op, "space", id); err != nil {
			return nil, err
		}
		ident = id
	}
	var w struct {
		Space *struct {
			ID   string `json:"id"`
			Slug string `json:"slug"`
			Name string `json:"name"`
			Kind string `json:"kind"`
		} `json:"space"`
		Role string `json:"role"`
	}
	status, err := c.do(ctx, request{op: op, method: http.MethodGet, path: spacePath(ident), what: "space " + ident}, &w)
	if err != nil {
		return nil, spaceNotFound(err, id)
	}
	if w.Space == nil || !validID(w.Space.ID) {
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: "the space id is missing or not a Takos id"}
	}
	switch w.Role {
	case RoleOwner, RoleAdmin, RoleEditor, RoleViewer:
	default:
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: "the role " + safetext.Quote(w.Role, 32) + " is not owner, admin, editor or viewer"}
	}
	return &Space{ID: w.Space.ID, Slug: w.Space.Slug, Name: w.Space.Name, Kind: w.Space.Kind, Role: w.Role}, nil
}

// spaceNotFound gives a read's 404 the space's wording.
func spaceNotFound(err error, id string) error {
	var a *APIError
	if errors.As(err, &a) && a.Status == http.StatusNotFound {
		a.notFound = true
		name := "your personal space"
		if id != "" {
			name = "space " + safetext.Quote(id, 64)
		}
		a.summary = name + " was not found, or you are not a member (" + statusDetail(a.Status, a.Code, a.Message) + ")"
		a.Fix = "check --space (TAKOS_WORKSPACE_ID)"
	}
	return err
}

// CommonEnv lists the space's common env (GET
// /api/spaces/{id}/common-env). Secret values are not shown.
func (c *Client) CommonEnv(ctx context.Context, spaceID string) ([]EnvVar, error) {
	const op = "read the space's common env"
	if err := checkID(op, "space", spaceID); err != nil {
		return nil, err
	}
	var w struct {
		Env *[]struct {
			Name      string          `json:"name"`
			Secret    bool            `json:"secret"`
			Value     string          `json:"value"`
			UpdatedAt json.RawMessage `json:"updatedAt"`
		} `json:"env"`
	}
	status, err := c.do(ctx, request{op: op, method: http.MethodGet, path: spacePath(spaceID) + "/common-env", what: "space " + spaceID}, &w)
	if err != nil {
		return nil, spaceNotFound(err, spaceID)
	}
	if w.Env == nil {
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: `the "env" array is missing`}
	}
	out := make([]EnvVar, 0, len(*w.Env))
	for _, e := range *w.Env {
		if !ValidEnvName(e.Name) {
			return nil, &MalformedResponseError{Op: op, Status: status, Reason: "an env name " + safetext.Quote(e.Name, 64) + " is not one Takos stores"}
		}
		v := EnvVar{Name: e.Name, Secret: e.Secret, Value: e.Value}
		if e.Secret {
			v.Value = ""
		}
		v.UpdatedAt, _ = parseTime(e.UpdatedAt)
		out = append(out, v)
	}
	return out, nil
}

// PutCommonEnv stores value under name in the space's common env (PUT
// /api/spaces/{id}/common-env; owner or admin). Storing the same value
// again changes nothing on the server. value never appears in an error.
// A refusal for the caller's role matches IsRoleRefusal.
func (c *Client) PutCommonEnv(ctx context.Context, spaceID, name, value string, secret bool) error {
	op := "store " + name + " in the space's common env"
	if err := checkID(op, "space", spaceID); err != nil {
		return err
	}
	if err := checkEnvName(op, name); err != nil {
		return err
	}
	body := map[string]any{"name": name, "value": value, "secret": secret}
	var w struct {
		Success *bool `json:"success"`
	}
	status, err := c.do(ctx, request{op: op, method: http.MethodPut, path: spacePath(spaceID) + "/common-env", body: body}, &w)
	if err != nil {
		return roleRefusal(err, "owner or admin")
	}
	if w.Success == nil || !*w.Success {
		return &MalformedResponseError{Op: op, Status: status, Reason: `the reply has no "success": true`}
	}
	return nil
}

// DeleteCommonEnv removes name from the space's common env (DELETE
// /api/spaces/{id}/common-env/{name}; owner or admin). A name that is not
// stored is not an error.
func (c *Client) DeleteCommonEnv(ctx context.Context, spaceID, name string) error {
	op := "delete " + name + " from the space's common env"
	if err := checkID(op, "space", spaceID); err != nil {
		return err
	}
	if err := checkEnvName(op, name); err != nil {
		return err
	}
	var w json.RawMessage
	_, err := c.do(ctx, request{op: op, method: http.MethodDelete, path: spacePath(spaceID) + "/common-env/" + name}, &w)
	var a *APIError
	if errors.As(err, &a) && a.Status == http.StatusNotFound && a.Message == "Common env not found" {
		return nil
	}
	if err != nil {
		return roleRefusal(err, "owner or admin")
	}
	return nil
}

// Groups lists the space's groups (GET /api/spaces/{id}/groups).
func (c *Client) Groups(ctx context.Context, spaceID string) ([]Group, error) {
	const op = "list the space's groups"
	if err := checkID(op, "space", spaceID); err != nil {
		return nil, err
	}
	var w struct {
		Groups *[]wireGroup `json:"groups"`
	}
	status, err := c.do(ctx, request{op: op, method: http.MethodGet, path: spacePath(spaceID) + "/groups", what: "space " + spaceID}, &w)
	if err != nil {
		return nil, spaceNotFound(err, spaceID)
	}
	if w.Groups == nil {
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: `the "groups" array is missing`}
	}
	out := make([]Group, 0, len(*w.Groups))
	for _, g := range *w.Groups {
		if !validID(g.ID) {
			return nil, &MalformedResponseError{Op: op, Status: status, Reason: "a group id " + safetext.Quote(g.ID, 64) + " is not a Takos id"}
		}
		out = append(out, Group{ID: g.ID, Name: g.Name, Provider: deref(g.Provider), Env: deref(g.Env)})
	}
	return out, nil
}

type wireGroup struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Provider *string `json:"provider"`
	Env      *string `json:"env"`
}

// CreateGroupRequest is a new group: Provider and Env are sent only when
// set (a group without a provider deploys to Takos's default, cloudflare).
type CreateGroupRequest struct {
	Name     string
	Provider string
	Env      string
}

// CreateGroup creates a group (POST /api/spaces/{id}/groups; owner, admin
// or editor). POST is not retried: when IsUncertain(err) the group may
// exist, and the caller lists before trying again. Takos allows one group
// per name; a second create of a name fails with a 5xx (uncertain too).
func (c *Client) CreateGroup(ctx context.Context, spaceID string, r CreateGroupRequest) (*Group, error) {
	const op = "create group"
	if err := checkID(op, "space", spaceID); err != nil {
		return nil, err
	}
	body := map[string]any{"name": r.Name}
	if r.Provider != "" {
		body["provider"] = r.Provider
	}
	if r.Env != "" {
		body["env"] = r.Env
	}
	var w wireGroup
	status, err := c.do(ctx, request{op: op, method: http.MethodPost, path: spacePath(spaceID) + "/groups", body: body}, &w)
	if err != nil {
		return nil, roleRefusal(err, "owner, admin or editor")
	}
	if !validID(w.ID) {
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: "the group id is missing or not a Takos id", Uncertain: true}
	}
	return &Group{ID: w.ID, Name: w.Name, Provider: r.Provider, Env: r.Env}, nil
}

type wireService struct {
	ID                 string          `json:"id"`
	GroupID            *string         `json:"groupId"`
	Slug               *string         `json:"slug"`
	Hostname           *string         `json:"hostname"`
	Status             string          `json:"status"`
	ActiveDeploymentID *string         `json:"activeDeploymentId"`
	Config             json.RawMessage `json:"config"`
}

// serviceConfig is the part of a service's config the group apply engine
// matches a workload by.
type serviceConfig struct {
	ManagedBy     string `json:"managedBy"`
	ManifestName  string `json:"manifestName"`
	ComponentKind string `json:"componentKind"`
}

// GroupServices lists a group's services (GET
// /api/spaces/{id}/groups/{groupId}/services), config parsed.
func (c *Client) GroupServices(ctx context.Context, spaceID, groupID string) ([]Service, error) {
	const op = "list the group's services"
	if err := checkID(op, "space", spaceID); err != nil {
		return nil, err
	}
	if err := checkID(op, "group", groupID); err != nil {
		return nil, err
	}
	var w struct {
		Services *[]wireService `json:"services"`
	}
	status, err := c.do(ctx, request{op: op, method: http.MethodGet, path: spacePath(spaceID) + "/groups/" + groupID + "/services", what: "group " + groupID}, &w)
	if err != nil {
		return nil, err
	}
	if w.Services == nil {
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: `the "services" array is missing`}
	}
	out := make([]Service, 0, len(*w.Services))
	for _, ws := range *w.Services {
		s, err := ws.toService()
		if err != nil {
			return nil, &MalformedResponseError{Op: op, Status: status, Reason: err.Error()}
		}
		out = append(out, s)
	}
	return out, nil
}

func (ws wireService) toService() (Service, error) {
	if !validID(ws.ID) {
		return Service{}, fmt.Errorf("a service id %s is not a Takos id", safetext.Quote(ws.ID, 64))
	}
	s := Service{ID: ws.ID, GroupID: deref(ws.GroupID), Slug: deref(ws.Slug), Hostname: deref(ws.Hostname),
		Status: ws.Status, ActiveDeploymentID: deref(ws.ActiveDeploymentID)}
	if s.ActiveDeploymentID != "" && !validID(s.ActiveDeploymentID) {
		return Service{}, fmt.Errorf("service %s: the active deployment id is not a Takos id", ws.ID)
	}
	// The group list parses config; POST /api/services returns the
	// stored JSON text. Either way only these three fields are read, and
	// a config that is neither is no group-managed workload.
	var cfg serviceConfig
	raw := ws.Config
	var text string
	if json.Unmarshal(raw, &text) == nil {
		raw = json.RawMessage(text)
	}
	_ = json.Unmarshal(raw, &cfg)
	s.ManagedBy, s.ManifestName, s.ComponentKind = cfg.ManagedBy, cfg.ManifestName, cfg.ComponentKind
	return s, nil
}

// CreateServiceRequest is a service row in the shape the group apply
// engine adopts for a workload: service_type "app", config {managedBy:
// "group", manifestName, componentKind}. Takos cuts Slug to 32 characters
// and makes the hostname <slug>.<tenant domain>.
type CreateServiceRequest struct {
	SpaceID       string
	GroupID       string
	Slug          string
	ManifestName  string
	ComponentKind string
}

// CreateService creates a service (POST /api/services; owner, admin or
// editor of the space). POST is not retried: when IsUncertain(err) the
// service may exist, and the caller lists before trying again.
func (c *Client) CreateService(ctx context.Context, r CreateServiceRequest) (*Service, error) {
	const op = "create service"
	if err := checkID(op, "space", r.SpaceID); err != nil {
		return nil, err
	}
	if err := checkID(op, "group", r.GroupID); err != nil {
		return nil, err
	}
	cfg, err := json.Marshal(serviceConfig{ManagedBy: "group", ManifestName: r.ManifestName, ComponentKind: r.ComponentKind})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	body := map[string]any{"space_id": r.SpaceID, "group_id": r.GroupID, "service_type": "app", "slug": r.Slug, "config": string(cfg)}
	var w struct {
		Service *struct {
			ID       string  `json:"id"`
			GroupID  *string `json:"group_id"`
			Slug     *string `json:"slug"`
			Hostname *string `json:"hostname"`
			Status   string  `json:"status"`
			Config   *string `json:"config"`
		} `json:"service"`
	}
	status, err := c.do(ctx, request{op: op, method: http.MethodPost, path: ServicesPath, body: body}, &w)
	if err != nil {
		return nil, roleRefusal(err, "owner, admin or editor")
	}
	if w.Service == nil || !validID(w.Service.ID) {
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: "the service id is missing or not a Takos id", Uncertain: true}
	}
	s := Service{ID: w.Service.ID, GroupID: deref(w.Service.GroupID), Slug: deref(w.Service.Slug), Hostname: deref(w.Service.Hostname), Status: w.Service.Status,
		ManagedBy: "group", ManifestName: r.ManifestName, ComponentKind: r.ComponentKind}
	return &s, nil
}

type wireLink struct {
	Name           string `json:"name"`
	Source         string `json:"source"`
	HasCommonValue bool   `json:"hasCommonValue"`
}

func toLinks(op string, status int, ws []wireLink) ([]EnvLink, error) {
	out := make([]EnvLink, 0, len(ws))
	for _, l := range ws {
		if !ValidEnvName(l.Name) {
			return nil, &MalformedResponseError{Op: op, Status: status, Reason: "a link name " + safetext.Quote(l.Name, 64) + " is not one Takos stores"}
		}
		out = append(out, EnvLink(l))
	}
	return out, nil
}

// EnvLinks lists a service's links to space env names (GET
// /api/services/{id}/common-env-links).
func (c *Client) EnvLinks(ctx context.Context, serviceID string) ([]EnvLink, error) {
	const op = "read the service's env links"
	if err := checkID(op, "service", serviceID); err != nil {
		return nil, err
	}
	var w struct {
		Links *[]wireLink `json:"links"`
	}
	status, err := c.do(ctx, request{op: op, method: http.MethodGet, path: servicePath(serviceID) + "/common-env-links", what: "service " + serviceID}, &w)
	if err != nil {
		return nil, err
	}
	if w.Links == nil {
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: `the "links" array is missing`}
	}
	return toLinks(op, status, *w.Links)
}

// AddEnvLinks links names to the service (PATCH
// /api/services/{id}/common-env-links {"add": names}; owner, admin or
// editor) and returns the links the service has afterwards. A name that is
// already linked is left as it is.
func (c *Client) AddEnvLinks(ctx context.Context, serviceID string, names []string) ([]EnvLink, error) {
	const op = "link env names to the service"
	if err := checkID(op, "service", serviceID); err != nil {
		return nil, err
	}
	for _, n := range names {
		if err := checkEnvName(op, n); err != nil {
			return nil, err
		}
	}
	var w struct {
		Success *bool       `json:"success"`
		Links   *[]wireLink `json:"links"`
	}
	status, err := c.do(ctx, request{op: op, method: http.MethodPatch, path: servicePath(serviceID) + "/common-env-links", body: map[string]any{"add": nonNil(names)}, what: "service " + serviceID}, &w)
	if err != nil {
		return nil, roleRefusal(err, "owner, admin or editor")
	}
	if w.Success == nil || !*w.Success || w.Links == nil {
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: `the reply has no "success": true or no "links"`}
	}
	return toLinks(op, status, *w.Links)
}

// Deployment reads one deployment of a service (GET
// /api/services/{id}/deployments/{deploymentId}) and returns its
// environment snapshot. The reply also carries env_vars_masked, which
// shows the ends of every value, secrets included; it is never decoded.
func (c *Client) Deployment(ctx context.Context, serviceID, deploymentID string) (*Deployment, error) {
	const op = "read the deployment"
	if err := checkID(op, "service", serviceID); err != nil {
		return nil, err
	}
	if err := checkID(op, "deployment", deploymentID); err != nil {
		return nil, err
	}
	var w struct {
		Deployment *struct {
			ID            string `json:"id"`
			Status        string `json:"status"`
			RoutingStatus string `json:"routing_status"`
			Bindings      []struct {
				Type string `json:"type"`
				Name string `json:"name"`
				Text string `json:"text"`
			} `json:"bindings"`
		} `json:"deployment"`
	}
	status, err := c.do(ctx, request{op: op, method: http.MethodGet, path: servicePath(serviceID) + "/deployments/" + deploymentID, what: "service " + serviceID + " or its deployment " + deploymentID}, &w)
	if err != nil {
		return nil, err
	}
	if w.Deployment == nil || w.Deployment.ID != deploymentID {
		return nil, &MalformedResponseError{Op: op, Status: status, Reason: "the reply is not deployment " + deploymentID}
	}
	d := &Deployment{ID: w.Deployment.ID, Status: w.Deployment.Status, RoutingStatus: w.Deployment.RoutingStatus, Plain: map[string]string{}}
	for _, b := range w.Deployment.Bindings {
		switch b.Type {
		case "plain_text":
			d.Plain[strings.ToUpper(b.Name)] = b.Text
		case "secret_text":
			d.SecretNames = append(d.SecretNames, strings.ToUpper(b.Name))
		}
	}
	return d, nil
}
