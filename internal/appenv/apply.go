package appenv

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/export"
	"github.com/takos-dev/takos-apply/internal/reconcile"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// WorkerResult is one worker after Apply.
type WorkerResult struct {
	Name      string
	ServiceID string
	Hostname  string
	// Created says the service was created by this run (first deploy);
	// Linked are the names this run linked.
	Created bool
	Linked  []string
	State   string
}

// Waiting is a retiring client kept because workers still run another id.
type Waiting struct {
	ClientID string
	Workers  []string
}

// Result is what Apply did.
type Result struct {
	Space controlplane.Space
	Names Names
	// ClientID is the id the space now holds.
	ClientID string
	// GroupID is the app's group; GroupCreated says this run created it.
	GroupID      string
	GroupCreated bool
	Workers      []WorkerResult
	// Unlinked are the containers and services of the manifest, which get
	// nothing on this Takos.
	Unlinked []string
	// Revoked are retiring clients this run revoked; Waiting those it
	// keeps.
	Revoked []string
	Waiting []Waiting
	Notes   []string
}

// Rollout sums the workers' states up for an output: "current" when no
// linked worker runs another id, "pending-redeploy" when one does,
// "not-deployed" when none runs yet, "no-workers" when the manifest has
// none, "not-linked" with autoEnv: false.
func (r *Result) Rollout(link bool) string {
	switch {
	case !link:
		return "not-linked"
	case len(r.Workers) == 0:
		return "no-workers"
	}
	deployed := false
	for _, w := range r.Workers {
		switch w.State {
		case StatePending:
			return StatePending
		case StateCurrent:
			deployed = true
		}
	}
	if !deployed {
		return StateNotDeployed
	}
	return StateCurrent
}

// Changed reports whether the run wrote anything besides the client and
// the values a new secret brought: a group, a service, a link, a
// revocation.
func (r *Result) Changed() bool {
	if r.GroupCreated || len(r.Revoked) > 0 {
		return true
	}
	for _, w := range r.Workers {
		if w.Created || len(w.Linked) > 0 {
			return true
		}
	}
	return false
}

// Revoke revokes an OAuth client; an already revoked client is not an
// error.
type Revoke func(ctx context.Context, clientID string) error

// Apply finishes the plan after the OAuth client was applied: clientID is
// the client the app now uses, and retired the client a rotation marked
// as retiring in this run (nil for none). It creates the group and the
// workers' services that do not exist yet, links the names that are not
// linked, computes each worker's rollout state and revokes retiring
// clients that no worker runs any longer. A failure here leaves the
// credentials stored: the error says so, and the next run completes the
// rest.
func (p *Plan) Apply(ctx context.Context, cp *controlplane.Client, clientID string, retired []reconcile.Client, revoke Revoke) (*Result, error) {
	res := &Result{Space: p.Space, Names: p.Options.Names, ClientID: clientID}
	res.Unlinked = append(prefixed("container", p.App.Containers), prefixed("service", p.App.Services)...)
	if p.TakeOver != "" {
		res.Notes = append(res.Notes, fmt.Sprintf("%s named client %s, which is %s to you; it now names %s", p.Options.Names.ID, safetext.Quote(p.StoredID, 64),
			map[string]string{"revoked": "revoked", "unknown": "not known", "renamed": "this app's client under its old name (kept active by --create-new)"}[p.TakeOver], clientID))
	}
	if p.App.Link && len(p.Workers) > 0 {
		if err := p.link(ctx, cp, res); err != nil {
			return res, fmt.Errorf("%s and %s are stored in space %s, but linking them to the app's workers failed; re-run takos-apply, which completes the links: %w",
				p.Options.Names.ID, p.Options.Names.Secret, p.Space.ID, err)
		}
	}
	retiring := slices.Clone(p.Retiring)
	for _, r := range retired {
		if !slices.ContainsFunc(retiring, func(c reconcile.Client) bool { return c.ID == r.ID }) {
			retiring = append(retiring, r)
		}
	}
	var pending []string
	for _, w := range res.Workers {
		if w.State == StatePending {
			pending = append(pending, w.Name)
		}
	}
	var errs []error
	for _, r := range retiring {
		if r.ID == clientID {
			continue
		}
		if len(pending) > 0 {
			res.Waiting = append(res.Waiting, Waiting{ClientID: r.ID, Workers: pending})
			continue
		}
		if err := revoke(ctx, r.ID); err != nil {
			errs = append(errs, fmt.Errorf("revoking retiring client %s failed (the next run tries again): %w", r.ID, err))
			continue
		}
		res.Revoked = append(res.Revoked, r.ID)
	}
	return res, errors.Join(errs...)
}

func prefixed(kind string, names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range sorted(names) {
		out = append(out, kind+" "+n)
	}
	return out
}

// link creates what the first deploy will adopt and adds missing links.
func (p *Plan) link(ctx context.Context, cp *controlplane.Client, res *Result) error {
	g := p.Group
	if g == nil {
		created, err := p.ensureGroup(ctx, cp)
		if err != nil {
			return err
		}
		g, res.GroupCreated = created, true
	}
	res.GroupID = g.ID
	for _, w := range p.Workers {
		wr := WorkerResult{Name: w.Name, State: w.State(res.ClientID)}
		svc := w.Service
		if svc == nil {
			var err error
			if svc, err = p.ensureService(ctx, cp, g, w.Name); err != nil {
				return err
			}
			wr.Created = true
			slug, exact := ServiceSlug(g.ID, p.Options.DeployEnv, w.Name)
			if !exact {
				res.Notes = append(res.Notes, fmt.Sprintf("worker %s: its hostname is %s, not the engine's longer one: Takos cuts a slug created through its API to 32 characters", w.Name, svc.Hostname))
			} else if svc.Slug != slug {
				res.Notes = append(res.Notes, fmt.Sprintf("worker %s: its service already existed with slug %s", w.Name, svc.Slug))
			}
		}
		wr.ServiceID, wr.Hostname = svc.ID, svc.Hostname
		if len(w.Missing) > 0 {
			if _, err := cp.AddEnvLinks(ctx, svc.ID, w.Missing); err != nil {
				return fmt.Errorf("worker %s: %w", w.Name, err)
			}
			wr.Linked = w.Missing
		}
		res.Workers = append(res.Workers, wr)
	}
	return nil
}

// ensureGroup creates the app's group with the deploy's provider and env.
// A create whose outcome is unknown (or that lost a race with takos apply
// creating the same group: Takos answers 500 on the second) is settled by
// listing again.
func (p *Plan) ensureGroup(ctx context.Context, cp *controlplane.Client) (*controlplane.Group, error) {
	g, err := cp.CreateGroup(ctx, p.Space.ID, controlplane.CreateGroupRequest{Name: p.App.Group, Provider: p.Options.Provider, Env: p.Options.DeployEnv})
	if err == nil {
		return g, nil
	}
	if !controlplane.IsUncertain(err) {
		return nil, fmt.Errorf("creating group %s: %w", safetext.Quote(p.App.Group, 80), err)
	}
	groups, lerr := cp.Groups(ctx, p.Space.ID)
	if lerr != nil {
		return nil, fmt.Errorf("creating group %s failed with an unknown outcome (%w), and listing the groups failed too: %w", safetext.Quote(p.App.Group, 80), err, lerr)
	}
	for _, c := range groups {
		if c.Name == p.App.Group {
			return &c, nil
		}
	}
	return nil, fmt.Errorf("creating group %s: %w", safetext.Quote(p.App.Group, 80), err)
}

// ensureService creates a worker's service in the shape the engine adopts
// (config managedBy group, manifestName, componentKind worker) with the
// engine's slug; an unknown outcome is settled by listing again.
func (p *Plan) ensureService(ctx context.Context, cp *controlplane.Client, g *controlplane.Group, worker string) (*controlplane.Service, error) {
	slug, _ := ServiceSlug(g.ID, p.Options.DeployEnv, worker)
	svc, err := cp.CreateService(ctx, controlplane.CreateServiceRequest{SpaceID: p.Space.ID, GroupID: g.ID, Slug: slug, ManifestName: worker, ComponentKind: "worker"})
	if err == nil {
		return svc, nil
	}
	if !controlplane.IsUncertain(err) {
		return nil, fmt.Errorf("creating the service of worker %s: %w", worker, err)
	}
	services, lerr := cp.GroupServices(ctx, p.Space.ID, g.ID)
	if lerr != nil {
		return nil, fmt.Errorf("creating the service of worker %s failed with an unknown outcome (%w), and listing the group's services failed too: %w", worker, err, lerr)
	}
	if s := workerService(services, worker); s != nil {
		return s, nil
	}
	return nil, fmt.Errorf("creating the service of worker %s (slug %s, which another service may hold): %w", worker, slug, err)
}

// Sink is the control-plane env sink: it stores a newly issued client id
// and secret in the space when the client is created, before anything else
// can fail (export.Sink). It holds no secret itself.
type Sink struct {
	cp   *controlplane.Client
	plan *Plan
	// stored is the id the space holds as far as this run knows; wrote is
	// the id whose secret this run stored.
	stored string
	wrote  string
}

var _ export.Sink = (*Sink)(nil)

// Sink returns the env sink of the plan: one per plan, whoever asks.
func (p *Plan) Sink(cp *controlplane.Client) *Sink {
	if p.sink == nil {
		p.sink = &Sink{cp: cp, plan: p, stored: p.StoredID}
	}
	return p.sink
}

// Name says where the secret went.
func (s *Sink) Name() string {
	return "Takos space " + s.plan.Space.ID + " (" + s.plan.Options.Names.ID + ", " + s.plan.Options.Names.Secret + ")"
}

// Check is the preflight: Locate has already refused a role that cannot
// write the space's env, so the write can only fail on the way.
func (s *Sink) Check(context.Context) error { return nil }

// Deliver stores the id, when it differs, and then the secret. The id goes
// first: if the secret fails, the space pairs a new id with the old
// secret, which the next run sees (the stored id is not the client in
// use) instead of silently serving a mismatched pair.
func (s *Sink) Deliver(ctx context.Context, clientID, secret string) error {
	n := s.plan.Options.Names
	if s.stored != clientID {
		if err := s.cp.PutCommonEnv(ctx, s.plan.Space.ID, n.ID, clientID, false); err != nil {
			return err
		}
		s.stored = clientID
	}
	if err := s.cp.PutCommonEnv(ctx, s.plan.Space.ID, n.Secret, secret, true); err != nil {
		return err
	}
	s.wrote = clientID
	return nil
}

// Retract withdraws a secret whose client turned out dead (a lost race):
// both names are deleted if the space still holds that client's id, so
// that no deployment pairs them; a newer write by the winning run is left
// alone.
func (s *Sink) Retract(ctx context.Context) error {
	if s.wrote == "" {
		return nil
	}
	n := s.plan.Options.Names
	env, err := s.cp.CommonEnv(ctx, s.plan.Space.ID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(env, func(e controlplane.EnvVar) bool { return e.Name == n.ID && e.Value == s.wrote }) {
		return nil
	}
	return errors.Join(s.cp.DeleteCommonEnv(ctx, s.plan.Space.ID, n.Secret), s.cp.DeleteCommonEnv(ctx, s.plan.Space.ID, n.ID))
}

// Publish writes nothing: the links and the rollout come from Plan.Apply,
// after the client was applied.
func (s *Sink) Publish(context.Context, export.Outcome) error { return nil }

// Took reports whether the sink stored the secret of clientID.
func (s *Sink) Took(clientID string) bool { return s.wrote != "" && s.wrote == clientID }

// Describe lists the plan's steps as lines for a plan or a log; the
// client id is the one the run will use ("" before a create).
func (p *Plan) Describe(clientID string, issues bool) []string {
	n := p.Options.Names
	var out []string
	out = append(out, fmt.Sprintf("Takos space %s (%s role)", p.Space.ID, p.Space.Role))
	switch {
	case issues:
		out = append(out, fmt.Sprintf("store %s and %s (the new secret) in the space's common env", n.ID, n.Secret))
	default:
		out = append(out, fmt.Sprintf("%s and %s are stored", n.ID, n.Secret))
	}
	if p.TakeOver != "" {
		out = append(out, fmt.Sprintf("take over %s, which names a %s client (%s)", n.ID, p.TakeOver, safetext.Quote(p.StoredID, 64)))
	}
	if !p.App.Link {
		out = append(out, "autoEnv is false: link nothing (link the names to the app's workers in Takos, or read them through the API)")
	} else if len(p.App.Workers) == 0 {
		out = append(out, "no worker to receive them (spec.workers is empty)")
	} else {
		if p.Group == nil {
			g := fmt.Sprintf("create group %s (env %s", safetext.Quote(p.App.Group, 80), p.Options.DeployEnv)
			if p.Options.Provider != "" {
				g += ", provider " + p.Options.Provider
			}
			out = append(out, g+") for the first deploy to adopt")
		}
		for _, w := range p.Workers {
			var parts []string
			if w.Service == nil {
				parts = append(parts, "create its service")
			}
			if len(w.Missing) > 0 {
				parts = append(parts, "link "+strings.Join(w.Missing, ", "))
			}
			switch {
			case clientID != "":
				parts = append(parts, StateLabel(w.State(clientID)))
			case w.DeploymentID == "":
				parts = append(parts, StateLabel(StateNotDeployed)+" (its first deploy gets the new client)")
			default:
				parts = append(parts, StateLabel(StatePending)+" after the new client (it runs "+nonEmpty(w.RunningID, "no client id")+")")
			}
			out = append(out, fmt.Sprintf("worker %s: %s", w.Name, strings.Join(parts, "; ")))
		}
	}
	if u := append(prefixed("container", p.App.Containers), prefixed("service", p.App.Services)...); len(u) > 0 {
		out = append(out, strings.Join(u, ", ")+": receive nothing (Takos gives containers and services no environment)")
	}
	for _, r := range p.Retiring {
		out = append(out, fmt.Sprintf("retiring client %s (replaced by %s): %s", r.ID, r.ReplacedBy, p.retireVerdict(clientID)))
	}
	return out
}

func (p *Plan) retireVerdict(clientID string) string {
	var pending []string
	for _, w := range p.Workers {
		if w.State(clientID) == StatePending {
			pending = append(pending, w.Name)
		}
	}
	if len(pending) > 0 {
		return "kept until " + WorkersRun(pending, clientID) + " (redeploy, then apply again)"
	}
	return "revoke"
}

// WorkersRun reads "worker web runs ID" or "workers api, web run ID".
func WorkersRun(workers []string, clientID string) string {
	if len(workers) == 1 {
		return "worker " + workers[0] + " runs " + clientID
	}
	return "workers " + strings.Join(workers, ", ") + " run " + clientID
}

func nonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
