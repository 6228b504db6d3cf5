package reconcile

import (
	"fmt"
	"slices"
	"strings"
)

// Rename is a likely rename that a create plan would orphan: the manifest's
// clientName changed, no client carries the new name, and an active client
// of the caller still looks like the app's (DetectRename). Creating would
// leave that client active and give the app a new client id and secret;
// managing it by id (--client-id) renames it instead.
type Rename struct {
	// Clients are the likely old clients, oldest first (ties by id).
	Clients []Client
	// ByKnownID is true when the client is the one the caller already knew
	// for this app (PlanOptions.KnownID), false when it was found by its
	// redirect URIs.
	ByKnownID bool
	// CreateNew records the user's choice to create a new client anyway
	// (--create-new); Apply refuses a create with a likely rename without it.
	CreateNew bool
}

// IDs returns the ids of r's clients.
func (r *Rename) IDs() []string {
	ids := make([]string, len(r.Clients))
	for i, c := range r.Clients {
		ids[i] = c.ID
	}
	return ids
}

// DetectRename looks for the client that a create of d would orphan. It is
// meant for a plan that found no client by name and was not pinned to an
// id; clients is the caller's list (the control plane lists only the
// caller's own clients). knownID, optional, is a client id stored for this
// app earlier (the space env's OAUTH_CLIENT_ID, for instance).
//
//   - knownID names an active client not called d.Name: that client,
//     whatever its redirect URIs (the stored id says it is the app's);
//   - otherwise every active client not called d.Name whose redirect URIs
//     equal d's as a set (the server matches them by membership, so order
//     and duplicates carry no meaning). A desired client without redirect
//     URIs matches nothing.
//
// It returns nil when nothing matches.
func DetectRename(clients []Client, d Desired, knownID string) *Rename {
	if knownID != "" {
		for _, c := range clients {
			if c.ID == knownID && c.Active && c.Name != d.Name {
				return &Rename{Clients: []Client{cloneClient(c)}, ByKnownID: true}
			}
		}
	}
	if len(d.RedirectURIs) == 0 {
		return nil
	}
	var same []Client
	for _, c := range clients {
		if c.Active && c.Name != d.Name && sameSet(c.RedirectURIs, d.RedirectURIs) {
			same = append(same, cloneClient(c))
		}
	}
	if len(same) == 0 {
		return nil
	}
	sortByAge(same)
	return &Rename{Clients: same}
}

// PlanOptions are the user's choices that shape a plan.
type PlanOptions struct {
	// PinnedID manages this client id instead of the client named like the
	// manifest's (--client-id).
	PinnedID string
	// KnownID is a client id stored for this app earlier; it only hints at
	// a rename (DetectRename). Optional.
	KnownID string
	// Rotate plans a replacement client with a new secret (--rotate-secret).
	Rotate bool
	// CreateNew creates a new client even when a rename is likely
	// (--create-new).
	CreateNew bool
}

// MakePlan is the plan for d against the caller's clients: the current
// client by Select, the changes by Diff and, for a create that is not
// pinned, a likely rename by DetectRename (Plan.Rename).
func MakePlan(clients []Client, d Desired, o PlanOptions) (Plan, error) {
	current, err := Select(clients, d.Name, o.PinnedID)
	if err != nil {
		return Plan{}, err
	}
	p := Diff(d, current, o.Rotate)
	if p.Action == ActionCreate && o.PinnedID == "" {
		if p.Rename = DetectRename(clients, d, o.KnownID); p.Rename != nil {
			p.Rename.CreateNew = o.CreateNew
		}
	}
	return p, nil
}

// RenameError is Apply's refusal to create a client while its plan found a
// likely rename that the user did not override.
type RenameError struct {
	// Name is the manifest's clientName.
	Name   string
	Rename Rename
}

func (e *RenameError) Error() string {
	r := e.Rename
	var b strings.Builder
	fmt.Fprintf(&b, "no OAuth client is named %q, but %s", e.Name, renameReason(&r))
	if len(r.Clients) == 1 {
		id := r.Clients[0].ID
		fmt.Fprintf(&b, ": the manifest most likely renamed it, and creating a new client would leave %s active and give the app a new client id and secret. "+
			"Keep managing it with --client-id %s (apply renames it; its id and secret stay), or pass --create-new to create a new client on purpose", id, id)
		return b.String()
	}
	b.WriteString(": the manifest most likely renamed one of them, and creating a new client would give the app a new client id and secret. " +
		"Pin the one to keep managing with --client-id (apply renames it; its id and secret stay), or pass --create-new to create a new client on purpose")
	return b.String()
}

// renameReason says which clients r found and why, as one clause:
// `active client X (named "Hello") has the same redirect URIs`.
func renameReason(r *Rename) string {
	named := make([]string, len(r.Clients))
	for i, c := range r.Clients {
		named[i] = fmt.Sprintf("%s (named %q)", c.ID, c.Name)
	}
	switch {
	case r.ByKnownID:
		return fmt.Sprintf("client %s is the one stored for this app", named[0])
	case len(named) == 1:
		return fmt.Sprintf("active client %s has the same redirect URIs", named[0])
	}
	return fmt.Sprintf("active clients %s have the same redirect URIs", strings.Join(named, ", "))
}

// sortByAge orders clients oldest first, ties by id: the winning order of a
// create race.
func sortByAge(cs []Client) {
	slices.SortFunc(cs, func(a, b Client) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
