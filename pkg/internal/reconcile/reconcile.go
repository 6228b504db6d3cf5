// Package reconcile is the plan/apply engine for the OAuth client that a
// Takos app manifest declares. It is pure logic over the small Store
// interface: no HTTP, no YAML, no GitHub.
//
// The control plane has no natural unique key, no idempotency key and no
// rotation API for OAuth clients (a client secret is returned once, by the
// create call, and never again). The engine therefore:
//
//   - identifies "our" client by a pinned id, or by being the only active
//     client with the manifest's name (Select);
//   - computes a plan (Diff) and executes it with as few writes as possible
//     (Apply): no write at all when nothing changed, one PATCH with only the
//     changed fields for an update;
//   - hands a newly issued secret to a Deliver sink before any other call that
//     could fail, and revokes a client whose secret reached no sink;
//   - never blindly retries a create: after an ambiguous failure it lists
//     again and revokes the client the failed attempt may have created;
//   - resolves two runs that created a client at the same time with a rule both
//     compute identically (earliest CreatedAt, then smallest id wins).
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
	Active    bool
	CreatedAt time.Time
	// Unreported names the fields (Field* constants) the store could not
	// report; Diff treats them as matching the desired state, since a
	// difference it cannot see would otherwise be a write on every run.
	Unreported []string
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

// Field names used in Change.Field.
const (
	FieldName         = "name"
	FieldRedirectURIs = "redirect_uris"
	FieldScopes       = "scopes"
	FieldLogoURI      = "logo_uri"
	FieldTOSURI       = "tos_uri"
	FieldPolicyURI    = "policy_uri"
)

// Change is one field's old and new value. From and To are a string for
// scalar fields and a []string for list fields; From is nil for a create.
type Change struct {
	Field string
	From  any
	To    any
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
	add := func(field string, set bool, v any) {
		if set {
			out = append(out, Change{Field: field, To: v})
		}
	}
	add(FieldName, d.Name != "", d.Name)
	add(FieldRedirectURIs, len(d.RedirectURIs) > 0, slices.Clone(d.RedirectURIs))
	add(FieldScopes, len(d.Scopes) > 0, slices.Clone(d.Scopes))
	add(FieldLogoURI, d.LogoURI != "", d.LogoURI)
	add(FieldTOSURI, d.TOSURI != "", d.TOSURI)
	add(FieldPolicyURI, d.PolicyURI != "", d.PolicyURI)
	return out
}

func fieldChanges(d Desired, c Client) []Change {
	var out []Change
	str := func(field, from, to string) {
		if from != to && !slices.Contains(c.Unreported, field) {
			out = append(out, Change{Field: field, From: from, To: to})
		}
	}
	list := func(field string, from, to []string) {
		if !sameSet(from, to) && !slices.Contains(c.Unreported, field) {
			out = append(out, Change{Field: field, From: slices.Clone(from), To: slices.Clone(to)})
		}
	}
	str(FieldName, c.Name, d.Name)
	list(FieldRedirectURIs, c.RedirectURIs, d.RedirectURIs)
	list(FieldScopes, c.Scopes, d.Scopes)
	str(FieldLogoURI, c.LogoURI, d.LogoURI)
	str(FieldTOSURI, c.TOSURI, d.TOSURI)
	str(FieldPolicyURI, c.PolicyURI, d.PolicyURI)
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
	d := p.Desired
	for _, c := range p.Changes {
		switch c.Field {
		case FieldName:
			out.Name = ptr(d.Name)
		case FieldRedirectURIs:
			out.RedirectURIs = ptr(slices.Clone(d.RedirectURIs))
		case FieldScopes:
			out.Scopes = ptr(slices.Clone(d.Scopes))
		case FieldLogoURI:
			out.LogoURI = ptr(d.LogoURI)
		case FieldTOSURI:
			out.TOSURI = ptr(d.TOSURI)
		case FieldPolicyURI:
			out.PolicyURI = ptr(d.PolicyURI)
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
// id): the first element is the winner of a create race.
func activeNamed(clients []Client, name string) []Client {
	var out []Client
	for _, c := range clients {
		if c.Active && c.Name == name {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Client) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}
