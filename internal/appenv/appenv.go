// Package appenv delivers an app's OAuth client credentials to the app
// itself (spec.oauth.autoEnv): it stores OAUTH_CLIENT_ID (plain) and
// OAUTH_CLIENT_SECRET (secret) in the common env of the app's Takos space
// and, with autoEnv: true, links both names to each of the app's workers,
// so that every deployment of a worker snapshots them.
//
// Why links: Takos (tako0614/takos@7d63ea66) injects nothing itself, and
// the group apply engine (takos apply / takos deploy) rewrites a worker's
// service-local env on every deploy, but leaves manual links to space env
// names alone; a deployment snapshots the linked values when it is
// created. Containers and services get no environment at all there.
//
// The work is split so that nothing is written before everything that can
// be checked was: Locate and Prepare read (the space and the caller's
// role, the stored values, the app's group, its workers' services, their
// links and the running deployments) and refuse what would go wrong — a role that
// cannot write space env, a name that another active client of the caller
// holds, a secret the space does not hold and Takos cannot show again,
// several groups of the app's name. Sink is the export.Sink that stores a
// newly issued secret in the space when the client is created, before
// anything else can fail. Plan.Apply then creates the group and the
// workers' services on the first deploy (in exactly the shape the engine
// adopts), adds the missing links, reports for each worker whether its
// running deployment carries the current client id, and revokes retiring
// clients once no worker runs them.
//
// Two-phase rotation: with workers that run, a rotation must not revoke
// the client they use. The old client is marked as retiring (see
// reconcile.RetiringURI) and revoked by the first later run (any apply)
// that finds no linked worker's running deployment with another id.
//
// The package sends no request of its own: it calls the typed routes of
// package controlplane, and decides; package cli wires it.
package appenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/reconcile"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// The names the app reads, without a prefix.
const (
	BaseID     = "OAUTH_CLIENT_ID"
	BaseSecret = "OAUTH_CLIENT_SECRET"
)

// DefaultDeployEnv is the --env of takos apply and takos deploy when none
// is given (apps/cli/src/commands/apply.ts, deploy.ts).
const DefaultDeployEnv = "staging"

// Providers are the group providers takos apply --provider accepts
// (apps/cli/src/lib/group-provider.ts); without one, Takos deploys a group
// to cloudflare.
var Providers = []string{"cloudflare", "local", "aws", "gcp", "k8s"}

// reservedNames are the space env names Takos manages itself; it refuses
// to store them.
var reservedNames = []string{"TAKOS_API_URL", "TAKOS_ACCESS_TOKEN", "APP_BASE_URL"}

// Names are the two space env names the credentials are stored under.
type Names struct {
	ID     string
	Secret string
}

func (n Names) list() []string { return []string{n.ID, n.Secret} }

// NamesFor returns the names for an --env-prefix: OAUTH_CLIENT_ID and
// OAUTH_CLIENT_SECRET without one, PREFIX_OAUTH_CLIENT_ID and
// PREFIX_OAUTH_CLIENT_SECRET with one. Takos stores names upper-cased, so
// the prefix is upper-cased here and the app must read the upper-case
// names. Its error is a usage error: no request has been sent.
func NamesFor(prefix string) (Names, error) {
	p := strings.ToUpper(strings.TrimSpace(prefix))
	if p == "" {
		if prefix != "" {
			return Names{}, errors.New("--env-prefix is blank")
		}
		return Names{ID: BaseID, Secret: BaseSecret}, nil
	}
	if strings.HasSuffix(p, "_") {
		return Names{}, fmt.Errorf("--env-prefix %s ends with _: give it without the separator (%s stores %s_%s)",
			safetext.Quote(prefix, 40), strings.TrimRight(p, "_"), strings.TrimRight(p, "_"), BaseID)
	}
	n := Names{ID: p + "_" + BaseID, Secret: p + "_" + BaseSecret}
	for _, name := range n.list() {
		if err := CheckName(name); err != nil {
			return Names{}, fmt.Errorf("--env-prefix %s: %w", safetext.Quote(prefix, 40), err)
		}
	}
	return n, nil
}

// CheckName refuses a name Takos would refuse to store: it must match
// ^[A-Za-z_][A-Za-z0-9_]*$ (stored upper-cased) and not be one of the
// names Takos manages.
func CheckName(name string) error {
	if !controlplane.ValidEnvName(strings.ToUpper(name)) {
		return fmt.Errorf("%s is not a valid env name (letters, digits and _, not starting with a digit)", safetext.Quote(name, 60))
	}
	if slices.Contains(reservedNames, strings.ToUpper(name)) {
		return fmt.Errorf("%s is reserved: Takos manages it itself", name)
	}
	return nil
}

// CheckProvider normalises a --provider as takos apply does (trimmed,
// lower-cased; "" means none).
func CheckProvider(p string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(p))
	if n == "" || slices.Contains(Providers, n) {
		return n, nil
	}
	return "", fmt.Errorf("--provider %s is not one of %s", safetext.Quote(p, 40), strings.Join(Providers, ", "))
}

// CheckDeployEnv refuses an empty --deploy-env, which Takos refuses too.
func CheckDeployEnv(env string) (string, error) {
	n := strings.TrimSpace(env)
	if n == "" {
		return "", errors.New("--deploy-env is empty")
	}
	return n, nil
}

// App is what the manifest says about the app.
type App struct {
	// Group is metadata.name: the group takos apply deploys to.
	Group string
	// ClientName is spec.oauth.clientName: how a client is recognised as
	// this app's.
	ClientName string
	// Workers, Containers and Services are the keys of spec.workers,
	// spec.containers and spec.services.
	Workers    []string
	Containers []string
	Services   []string
	// Link is autoEnv: true; autoEnv: false stores the values only.
	Link bool
}

// Options are the flags that place the values.
type Options struct {
	// Space is --space / TAKOS_WORKSPACE_ID; "" is the caller's personal
	// space.
	Space string
	// Provider and DeployEnv are what the app's takos apply uses
	// (--provider, --env): a group or service created before the first
	// deploy carries them.
	Provider  string
	DeployEnv string
	Names     Names
}

// Rollout states of a linked worker.
const (
	// StateCurrent: the running deployment carries the current client id.
	StateCurrent = "current"
	// StatePending: it runs, with another id or none; the next
	// spec-changing deploy gives it the current one.
	StatePending = "pending-redeploy"
	// StateNotDeployed: nothing runs yet; its first deploy gets the current
	// values.
	StateNotDeployed = "not-deployed"
)

// StateLabel is a rollout state as text shows it: "pending redeploy". The
// states themselves are the JSON values and the rollout output's words,
// one spelling for machines.
func StateLabel(state string) string { return strings.ReplaceAll(state, "-", " ") }

// Worker is one spec.workers entry as the control plane has it.
type Worker struct {
	Name string
	// Service is its service in the group, nil when none exists yet.
	Service *controlplane.Service
	// Missing are the names not linked to it yet.
	Missing []string
	// DeploymentID is its running deployment ("" for none); RunningID is
	// the id that deployment snapshotted ("" when it has none).
	DeploymentID string
	RunningID    string
}

// State is the worker's rollout state for the client id.
func (w Worker) State(clientID string) string {
	switch {
	case w.DeploymentID == "":
		return StateNotDeployed
	case w.RunningID == clientID:
		return StateCurrent
	}
	return StatePending
}

// Plan is what Prepare read and what Apply will do.
type Plan struct {
	App     App
	Options Options
	Space   controlplane.Space
	// StoredID is the id stored under Names.ID ("" when absent);
	// HasSecret says whether Names.Secret is stored.
	StoredID  string
	HasSecret bool
	// TakeOver is set when the stored id names a client this run replaces
	// without it being this app's: "revoked" or "unknown".
	TakeOver string
	// Group is the app's group, nil when it does not exist yet (it is
	// created when there are workers to link).
	Group   *controlplane.Group
	Workers []Worker
	// Retiring are this app's retiring clients.
	Retiring []reconcile.Client

	sink *Sink
}

// RoleError refuses a run whose token cannot write the space's env.
type RoleError struct {
	Space controlplane.Space
}

func (e *RoleError) Error() string {
	return fmt.Sprintf("your role in space %s is %s, and storing the OAuth client credentials in its common env needs owner or admin: "+
		"use a token of an owner or admin of that space, ask an owner to make you admin, or choose another space with --space",
		e.Space.ID, e.Space.Role)
}

// ConflictError refuses to overwrite a name that holds another active
// client of the caller: another app of the same space.
type ConflictError struct {
	Space, Name        string
	OtherID, OtherName string
	OurName            string
	Prefix             bool
}

func (e *ConflictError) Error() string {
	way := "give each app its own names with --env-prefix PREFIX (the app then reads PREFIX_" + BaseID + " and PREFIX_" + BaseSecret + ")"
	if e.Prefix {
		way = "choose another --env-prefix"
	}
	return fmt.Sprintf("space %s already stores %s = %s, the active client of app %s; app %s cannot use the same name: %s, or revoke client %s if that app is gone "+
		"(if %s is this app under an older clientName, keep managing it with --client-id %s)",
		e.Space, e.Name, e.OtherID, safetext.Quote(e.OtherName, 80), safetext.Quote(e.OurName, 80), way, e.OtherID, safetext.Quote(e.OtherName, 80), e.OtherID)
}

// MissingSecretError says that the space does not hold the secret of the
// client in use, and that Takos cannot show it again.
type MissingSecretError struct {
	Space, Name, ClientID string
	// Stored is the id the space holds instead ("" for none).
	Stored string
}

func (e *MissingSecretError) Error() string {
	what := "holds no " + e.Name
	if e.Stored != "" && e.Stored != e.ClientID {
		what = "holds the secret of another client (" + e.Stored + ")"
	}
	return fmt.Sprintf("space %s %s for client %s, and Takos shows a client secret only once: the app's workers would get no working secret; "+
		"run with --rotate-secret to issue a new client and store its secret (the old client stays until the workers run the new one)",
		e.Space, what, e.ClientID)
}

// AmbiguousGroupError refuses to guess among several groups of the app's
// name. Takos's database has a unique index on (space, name), so this
// means a control plane without it.
type AmbiguousGroupError struct {
	Space, Name string
	IDs         []string
}

func (e *AmbiguousGroupError) Error() string {
	return fmt.Sprintf("space %s has %d groups named %s (%s); takos apply would pick one of them arbitrarily: delete the extra groups, or rename the app (metadata.name)",
		e.Space, len(e.IDs), safetext.Quote(e.Name, 80), strings.Join(e.IDs, ", "))
}

// Locate reads the space (--space, else the caller's personal space,
// which this also creates on a fresh account), refuses a role that cannot
// write its env, and reads the values stored there and, with autoEnv:
// true, the app's group, its workers' services, their links and running
// deployments. It comes before the OAuth client's plan, whose rename check
// uses the stored id when the app's workers link it (KnownID).
func Locate(ctx context.Context, cp *controlplane.Client, app App, opt Options) (*Plan, error) {
	if opt.Names == (Names{}) {
		opt.Names = Names{ID: BaseID, Secret: BaseSecret}
	}
	if opt.DeployEnv == "" {
		opt.DeployEnv = DefaultDeployEnv
	}
	sp, err := cp.Space(ctx, opt.Space)
	if err != nil {
		return nil, err
	}
	p := &Plan{App: app, Options: opt, Space: *sp}
	if sp.Role != controlplane.RoleOwner && sp.Role != controlplane.RoleAdmin {
		return nil, &RoleError{Space: *sp}
	}
	env, err := cp.CommonEnv(ctx, sp.ID)
	if err != nil {
		return nil, err
	}
	for _, e := range env {
		switch e.Name {
		case opt.Names.ID:
			p.StoredID = e.Value
		case opt.Names.Secret:
			p.HasSecret = true
		}
	}
	if app.Link && len(app.Workers) > 0 {
		if err := p.readWorkers(ctx, cp); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// KnownID is the stored id when this app's workers link it, which makes
// it this app's (a rename hint for reconcile.PlanOptions.KnownID); ""
// otherwise: a space holds one value per name, and without the app's link
// the value may be another app's.
func (p *Plan) KnownID() string {
	for _, w := range p.Workers {
		if w.Service != nil && !slices.Contains(w.Missing, p.Options.Names.ID) {
			return p.StoredID
		}
	}
	return ""
}

// Prepare finishes the plan against the OAuth client's plan and refuses
// what cannot work, before anything is written: clients are the caller's
// OAuth clients (revoked ones included). It decides whose client the
// stored id names and requires the space to hold the secret of the client
// in use unless this run issues a new one.
func (p *Plan) Prepare(clients []reconcile.Client, plan reconcile.Plan) error {
	if err := p.checkOwner(clients, plan); err != nil {
		return err
	}
	p.Retiring = reconcile.RetiringNamed(clients, p.App.ClientName)
	if cur := plan.Current; !plan.IssuesSecret() && cur != nil && (p.StoredID != cur.ID || !p.HasSecret) {
		return &MissingSecretError{Space: p.Space.ID, Name: p.Options.Names.Secret, ClientID: cur.ID, Stored: p.StoredID}
	}
	return nil
}

// checkOwner decides whose client the stored id names.
func (p *Plan) checkOwner(clients []reconcile.Client, plan reconcile.Plan) error {
	v := p.StoredID
	if v == "" || plan.Current != nil && v == plan.Current.ID {
		return nil
	}
	i := slices.IndexFunc(clients, func(c reconcile.Client) bool { return c.ID == v })
	switch {
	case plan.Rename != nil && slices.Contains(plan.Rename.IDs(), v):
		// The app's client under its old name: the plan refuses to create
		// unless --create-new, which replaces it here too.
		p.TakeOver = "renamed"
	case i < 0:
		p.TakeOver = "unknown"
	case !clients[i].Active:
		p.TakeOver = "revoked"
	case clients[i].Retiring && clients[i].Name == p.App.ClientName:
		// This app's client that a rotation retires: the stored id was
		// ours, the new one replaces it.
	default:
		return &ConflictError{Space: p.Space.ID, Name: p.Options.Names.ID, OtherID: v, OtherName: clients[i].Name,
			OurName: p.App.ClientName, Prefix: p.Options.Names.ID != BaseID}
	}
	return nil
}

// readWorkers finds the group and each worker's service, its links and
// its running deployment's id.
func (p *Plan) readWorkers(ctx context.Context, cp *controlplane.Client) error {
	groups, err := cp.Groups(ctx, p.Space.ID)
	if err != nil {
		return err
	}
	var named []controlplane.Group
	for _, g := range groups {
		if g.Name == p.App.Group {
			named = append(named, g)
		}
	}
	switch len(named) {
	case 0:
		for _, w := range sorted(p.App.Workers) {
			p.Workers = append(p.Workers, Worker{Name: w, Missing: p.Options.Names.list()})
		}
		return nil
	case 1:
	default:
		ids := make([]string, len(named))
		for i, g := range named {
			ids[i] = g.ID
		}
		return &AmbiguousGroupError{Space: p.Space.ID, Name: p.App.Group, IDs: ids}
	}
	g := named[0]
	p.Group = &g
	services, err := cp.GroupServices(ctx, p.Space.ID, g.ID)
	if err != nil {
		return err
	}
	for _, name := range sorted(p.App.Workers) {
		w := Worker{Name: name}
		if s := workerService(services, name); s != nil {
			w.Service = s
			links, err := cp.EnvLinks(ctx, s.ID)
			if err != nil {
				return err
			}
			w.Missing = missing(links, p.Options.Names)
			if s.ActiveDeploymentID != "" {
				d, err := cp.Deployment(ctx, s.ID, s.ActiveDeploymentID)
				if err != nil {
					return err
				}
				w.DeploymentID, w.RunningID = d.ID, d.Plain[p.Options.Names.ID]
			}
		} else {
			w.Missing = p.Options.Names.list()
		}
		p.Workers = append(p.Workers, w)
	}
	return nil
}

// workerService is the service the group apply engine would adopt for
// worker name (findGroupManagedService: the first match).
func workerService(services []controlplane.Service, name string) *controlplane.Service {
	for _, s := range services {
		if s.ManagedBy == "group" && s.ComponentKind == "worker" && s.ManifestName == name {
			return &s
		}
	}
	return nil
}

func missing(links []controlplane.EnvLink, n Names) []string {
	var out []string
	for _, name := range n.list() {
		if !slices.ContainsFunc(links, func(l controlplane.EnvLink) bool { return l.Name == name && l.Source == "manual" }) {
			out = append(out, name)
		}
	}
	return out
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// Deployed reports whether a linked worker runs: a rotation then has to
// keep the old client until it runs the new one.
func (p *Plan) Deployed() bool {
	return slices.ContainsFunc(p.Workers, func(w Worker) bool { return w.DeploymentID != "" })
}

// Writes reports whether Apply will write anything (besides the values a
// new secret brings, which Sink writes).
func (p *Plan) Writes() bool {
	if p.App.Link && len(p.App.Workers) > 0 && p.Group == nil {
		return true
	}
	for _, w := range p.Workers {
		if w.Service == nil || len(w.Missing) > 0 {
			return true
		}
	}
	return false
}

// Pending reports whether applying the plan would change something in
// Takos for an unchanged client clientID: a group, service or link to
// create, or a retiring client to revoke.
func (p *Plan) Pending(clientID string) bool {
	if p.Writes() {
		return true
	}
	return len(p.Retiring) > 0 && p.retireVerdict(clientID) == "revoke"
}

// ServiceSlug is the slug a worker's service is created with before the
// first deploy: the one the group apply engine would give it
// (grp-<group id[:8]>-<env>-worker-<name>, each part slugified, at most 48
// characters), so that its hostname is the engine's. POST /api/services
// cuts a slug to 32 characters, so a longer one is cut to 25 and ends with
// "-" and 6 hex digits of its SHA-256 instead (exact is then false), which
// keeps two long worker names apart.
func ServiceSlug(groupID, env, worker string) (slug string, exact bool) {
	id := groupID
	if len(id) > 8 {
		id = id[:8]
	}
	var parts []string
	for _, s := range []string{"grp", id, env, "worker", worker} {
		if seg := slugSegment(s); seg != "" {
			parts = append(parts, seg)
		}
	}
	full := strings.Join(parts, "-")
	if len(full) > 48 {
		full = full[:48]
	}
	if len(full) <= 32 {
		return full, true
	}
	sum := sha256.Sum256([]byte(full))
	return strings.TrimRight(full[:25], "-") + "-" + hex.EncodeToString(sum[:3]), false
}

// slugSegment is the engine's slugifySegment: lower case, every run of
// other characters one "-", none at either end.
func slugSegment(v string) string {
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
	return b.String()
}
