package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Client is an OAuth client as the control plane lists it. Secrets are never
// part of it.
type Client struct {
	ID           string
	Name         string
	RedirectURIs []string
	Scopes       []string
	LogoURI      string
	TOSURI       string
	PolicyURI    string
	// Active is false for a revoked (soft-deleted) client.
	Active bool
	// Retiring marks an active client that a two-phase rotation replaced
	// by ReplacedBy and keeps until the app's workers run the new one (see
	// RetiringURI). It is never "ours": Select and the race rules skip it.
	Retiring   bool
	ReplacedBy string
	CreatedAt  time.Time
	// Unreported names the fields the store could not report; Diff treats
	// them as matching the desired state, since a difference it cannot see
	// would otherwise be a write on every run.
	Unreported []Field
}

// Desired is the client the manifest declares. An empty URI field means the
// manifest does not set it, and an existing value is cleared.
type Desired struct {
	Name         string
	RedirectURIs []string
	Scopes       []string
	LogoURI      string
	TOSURI       string
	PolicyURI    string
}

// Patch is a partial update. A nil field is left unchanged; a non-nil field
// replaces the stored value. A pointer to "" for LogoURI, TOSURI or PolicyURI
// clears that field (the adapter sends JSON null).
type Patch struct {
	Name         *string
	RedirectURIs *[]string
	Scopes       *[]string
	LogoURI      *string
	TOSURI       *string
	PolicyURI    *string
}

// Created is the reply to a successful create: the client and its secret,
// which the control plane shows this once only.
type Created struct {
	Client Client
	Secret string
}

// Store is the engine's view of the control plane's owner-side OAuth client
// API. It is implemented by an adapter over the control-plane HTTP client.
type Store interface {
	// List returns every client of the caller; revoked ones have Active=false.
	List(ctx context.Context) ([]Client, error)
	// Create registers a client and returns it with its one-time secret. An
	// error after which the client may nevertheless exist must wrap
	// ErrUncertain.
	Create(ctx context.Context, d Desired) (Created, error)
	// Update applies p to the active client id. When the client is unknown
	// or revoked the error must wrap ErrNotFound.
	Update(ctx context.Context, id string, p Patch) error
	// Revoke soft-deletes the client id. When the client is unknown or
	// already revoked the error must wrap ErrNotFound.
	Revoke(ctx context.Context, id string) error
}

// ErrUncertain marks a Store.Create error after which the server may or may
// not have created the client (connection reset or timeout after the request
// was sent, 5xx). The adapter wraps such errors with it.
var ErrUncertain = errors.New("outcome of the create request is unknown")

// ErrNotFound marks a Store error for a client that does not exist or is
// already revoked (HTTP 404 on the owner API). Apply treats it as success for
// Revoke, so that two runs revoking the same client both succeed.
var ErrNotFound = errors.New("oauth client not found")

// Action is what a plan will do.
type Action string

// Plan actions.
const (
	ActionCreate    Action = "create"
	ActionUpdate    Action = "update"
	ActionUnchanged Action = "unchanged"
	// ActionRotate creates a replacement client (new id, new secret) and
	// revokes the current one: the control plane cannot rotate a secret.
	ActionRotate Action = "rotate"
)

// Result actions (Result.Action).
const (
	ResultCreated   = "created"
	ResultUpdated   = "updated"
	ResultUnchanged = "unchanged"
	ResultRotated   = "rotated"
)

// Field is one of the OAuth client fields takos-apply manages; its value is
// the name plans and JSON output show.
type Field string

// The managed fields, in the order plans list them (the fields table).
const (
	FieldName         Field = "name"
	FieldRedirectURIs Field = "redirect_uris"
	FieldScopes       Field = "scopes"
	FieldLogoURI      Field = "logo_uri"
	FieldTOSURI       Field = "tos_uri"
	FieldPolicyURI    Field = "policy_uri"
)

// Value is one field's value: Text for a scalar field, Items for a list
// field (IsList).
type Value struct {
	IsList bool
	Text   string
	Items  []string
}

// Text is the Value of a scalar field.
func Text(s string) Value { return Value{Text: s} }

// List is the Value of a list field; items are copied.
func List(items []string) Value { return Value{IsList: true, Items: slices.Clone(items)} }

// set reports whether v holds anything.
func (v Value) set() bool { return v.Text != "" || len(v.Items) > 0 }

// equal compares as the control plane does: lists as sets (see Diff),
// scalars exactly.
func (v Value) equal(o Value) bool {
	if v.IsList {
		return sameSet(v.Items, o.Items)
	}
	return v.Text == o.Text
}

// Change is one field's old and new value; From is nil for a create.
type Change struct {
	Field Field
	From  *Value
	To    Value
}

// fieldSpec is one row of the fields table: how to read the field from the
// desired and the current client, and how to carry it in a Patch.
type fieldSpec struct {
	field   Field
	desired func(Desired) Value
	current func(Client) Value
	patch   func(*Patch, Desired)
}

// fields is the one table of the managed OAuth client fields; Diff, the
// create plan and patchFor all walk it, so a new field is one row here (and
// its wire mapping in the Store).
var fields = [...]fieldSpec{
	{FieldName, func(d Desired) Value { return Text(d.Name) }, func(c Client) Value { return Text(c.Name) },
		func(p *Patch, d Desired) { p.Name = ptr(d.Name) }},
	{FieldRedirectURIs, func(d Desired) Value { return List(d.RedirectURIs) }, func(c Client) Value { return List(c.RedirectURIs) },
		func(p *Patch, d Desired) { p.RedirectURIs = ptr(slices.Clone(d.RedirectURIs)) }},
	{FieldScopes, func(d Desired) Value { return List(d.Scopes) }, func(c Client) Value { return List(c.Scopes) },
		func(p *Patch, d Desired) { p.Scopes = ptr(slices.Clone(d.Scopes)) }},
	{FieldLogoURI, func(d Desired) Value { return Text(d.LogoURI) }, func(c Client) Value { return Text(c.LogoURI) },
		func(p *Patch, d Desired) { p.LogoURI = ptr(d.LogoURI) }},
	{FieldTOSURI, func(d Desired) Value { return Text(d.TOSURI) }, func(c Client) Value { return Text(c.TOSURI) },
		func(p *Patch, d Desired) { p.TOSURI = ptr(d.TOSURI) }},
	{FieldPolicyURI, func(d Desired) Value { return Text(d.PolicyURI) }, func(c Client) Value { return Text(c.PolicyURI) },
		func(p *Patch, d Desired) { p.PolicyURI = ptr(d.PolicyURI) }},
}

// Plan is what Apply will do. It is a value: print it for a dry run, or hand
// it to Apply.
type Plan struct {
	Action Action
	// ClientID is the existing client, "" for a create.
	ClientID string
	Changes  []Change
	Desired  Desired
	// Current is the existing client the plan was computed against, or nil.
	Current *Client
	// Rename, for a create, is a client the manifest probably still means
	// under an older name (MakePlan, DetectRename); nil when none is likely.
	Rename *Rename
}

// IssuesSecret says whether executing p creates a client, whose one-time
// secret then needs somewhere to go.
func (p Plan) IssuesSecret() bool { return p.Action == ActionCreate || p.Action == ActionRotate }

// Refusal is the error Apply returns for p before any call because the
// user must decide first: a create while a rename is likely (Plan.Rename)
// and not overridden (*RenameError). Nil otherwise.
func (p Plan) Refusal() error {
	if p.Action == ActionCreate && p.Rename != nil && !p.Rename.CreateNew {
		return &RenameError{Name: p.Desired.Name, Rename: *p.Rename}
	}
	return nil
}

// Diff computes the plan that makes current look like desired. It is pure.
//
//   - current == nil → create; Changes lists every field desired sets.
//   - rotate → rotate (a replacement client with the desired fields);
//     Changes lists the fields that differ from current.
//   - otherwise update with the differing fields, or unchanged.
//
// Comparison rules: scopes and redirect URIs are compared as sets (order and
// duplicates ignored). The control plane checks a redirect URI by exact
// membership in the list and a scope by membership in the allowed set, so
// order carries no meaning, and comparing as ordered lists would turn a
// reordered manifest, or a server that normalises order, into a write on every
// run. A nil list equals an empty list. Scalars compare exactly (no case or
// trailing-slash folding: the server compares redirect URIs byte for byte).
func Diff(desired Desired, current *Client, rotate bool) Plan {
	p := Plan{Desired: cloneDesired(desired)}
	if current == nil {
		p.Action = ActionCreate
		p.Changes = createChanges(desired)
		return p
	}
	cur := cloneClient(*current)
	p.Current = &cur
	p.ClientID = cur.ID
	p.Changes = fieldChanges(desired, cur)
	switch {
	case rotate:
		p.Action = ActionRotate
	case len(p.Changes) > 0:
		p.Action = ActionUpdate
	default:
		p.Action = ActionUnchanged
	}
	return p
}

func createChanges(d Desired) []Change {
	var out []Change
	for _, f := range fields {
		if v := f.desired(d); v.set() {
			out = append(out, Change{Field: f.field, To: v})
		}
	}
	return out
}

func fieldChanges(d Desired, c Client) []Change {
	var out []Change
	for _, f := range fields {
		from, to := f.current(c), f.desired(d)
		if !from.equal(to) && !slices.Contains(c.Unreported, f.field) {
			out = append(out, Change{Field: f.field, From: &from, To: to})
		}
	}
	return out
}

// sameSet reports whether a and b hold the same strings, ignoring order and
// duplicates.
func sameSet(a, b []string) bool {
	return slices.Equal(setOf(a), setOf(b))
}

func setOf(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// patchFor builds the Patch that carries exactly the plan's changed fields,
// with values taken from the desired state.
func patchFor(p Plan) Patch {
	var out Patch
	for _, c := range p.Changes {
		for _, f := range fields {
			if f.field == c.Field {
				f.patch(&out, p.Desired)
			}
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// matches reports whether c already has every desired field.
func matches(c Client, d Desired) bool { return len(fieldChanges(d, c)) == 0 }

func cloneDesired(d Desired) Desired {
	d.RedirectURIs = slices.Clone(d.RedirectURIs)
	d.Scopes = slices.Clone(d.Scopes)
	return d
}

func cloneClient(c Client) Client {
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.Scopes = slices.Clone(c.Scopes)
	c.Unreported = slices.Clone(c.Unreported)
	return c
}

// AmbiguousError reports that several active clients carry the manifest's
// name, so none of them can be assumed to be ours.
type AmbiguousError struct {
	Name string
	// IDs of the active clients with that name, oldest first.
	IDs []string
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%d active OAuth clients are named %q (ids: %s); pin the one to manage with --client-id or revoke the others",
		len(e.IDs), e.Name, strings.Join(e.IDs, ", "))
}

// NotFoundError reports that the pinned client id does not exist among the
// caller's clients, or exists but is revoked.
type NotFoundError struct {
	ID string
	// Revoked is true when the client exists but is revoked; a revoked client
	// cannot be updated or revived.
	Revoked bool
}

func (e *NotFoundError) Error() string {
	if e.Revoked {
		return fmt.Sprintf("OAuth client %q is revoked and cannot be updated; remove --client-id to create a new client", e.ID)
	}
	return fmt.Sprintf("OAuth client %q not found among the caller's clients; check --client-id", e.ID)
}

// retiringBase is the client_uri that marks a retiring client; the id of
// its replacement follows. The .invalid name never resolves, so the mark
// links nowhere if Takos ever shows it, and the manifest has no client_uri
// field, so takos-apply never manages that field otherwise.
const retiringBase = "https://retiring.takos-apply.invalid/?replaced-by="

// RetiringURI is the client_uri that marks a client as retiring in favour
// of the client replacedBy. A later run recognises it (ParseRetiring)
// without any state of its own; the client keeps its name, so what users
// see on the consent page does not change while it retires.
func RetiringURI(replacedBy string) string { return retiringBase + replacedBy }

// ParseRetiring returns the replacement named by a RetiringURI.
func ParseRetiring(clientURI string) (replacedBy string, ok bool) {
	id, ok := strings.CutPrefix(clientURI, retiringBase)
	if !ok || id == "" {
		return "", false
	}
	return id, true
}

// RetiringNamed returns the active retiring clients named name, oldest
// first: the clients of this app that earlier rotations keep until its
// workers run the new one.
func RetiringNamed(clients []Client, name string) []Client {
	var out []Client
	for _, c := range clients {
		if c.Active && c.Retiring && c.Name == name {
			out = append(out, cloneClient(c))
		}
	}
	slices.SortFunc(out, func(a, b Client) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out
}

// Select picks the existing client that is "ours":
//
//   - pinnedID != "": the client with that id, whatever its name (Diff then
//     plans a rename); missing or revoked → *NotFoundError.
//   - otherwise the one active client whose Name equals name; none → (nil,
//     nil), meaning create; several → *AmbiguousError listing their ids.
//
// Revoked clients never match by name. The returned client is a copy.
func Select(clients []Client, name, pinnedID string) (*Client, error) {
	if pinnedID != "" {
		for _, c := range clients {
			if c.ID != pinnedID {
				continue
			}
			if !c.Active {
				return nil, &NotFoundError{ID: pinnedID, Revoked: true}
			}
			cp := cloneClient(c)
			return &cp, nil
		}
		return nil, &NotFoundError{ID: pinnedID}
	}
	named := activeNamed(clients, name)
	switch len(named) {
	case 0:
		return nil, nil
	case 1:
		cp := cloneClient(named[0])
		return &cp, nil
	}
	return nil, ambiguous(name, named)
}

// ambiguous reports several active clients sharing name.
func ambiguous(name string, named []Client) *AmbiguousError {
	ids := make([]string, len(named))
	for i, c := range named {
		ids[i] = c.ID
	}
	return &AmbiguousError{Name: name, IDs: ids}
}

// activeNamed returns the active clients named name, oldest first (ties by
// id): the first element is the winner of a create race. Retiring clients
// are not among them: each app has one client in use.
func activeNamed(clients []Client, name string) []Client {
	var out []Client
	for _, c := range clients {
		if c.Active && !c.Retiring && c.Name == name {
			out = append(out, c)
		}
	}
	sortByAge(out)
	return out
}
