package reconcile_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/takos-dev/takos-apply/internal/reconcile"
)

var (
	t0      = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	desired = reconcile.Desired{
		Name:         "my-app",
		RedirectURIs: []string{"https://app.example.com/cb", "https://app.example.com/cb2"},
		Scopes:       []string{"openid", "profile"},
		LogoURI:      "https://app.example.com/logo.png",
		TOSURI:       "https://app.example.com/tos",
		PolicyURI:    "https://app.example.com/privacy",
	}
)

// existing returns an active client matching desired, with the given id.
func existing(id string) reconcile.Client {
	return reconcile.Client{
		ID: id, Name: desired.Name,
		RedirectURIs: []string{"https://app.example.com/cb", "https://app.example.com/cb2"},
		Scopes:       []string{"openid", "profile"},
		LogoURI:      desired.LogoURI, TOSURI: desired.TOSURI, PolicyURI: desired.PolicyURI,
		Active: true, CreatedAt: t0,
	}
}

func with(c reconcile.Client, f func(*reconcile.Client)) reconcile.Client {
	c = cloneClient(c)
	f(&c)
	return c
}

// ch is a Change of field from → to; from is nil for a create, and a
// string or []string makes a scalar or list Value.
func ch(field reconcile.Field, from, to any) reconcile.Change {
	val := func(v any) reconcile.Value {
		if l, ok := v.([]string); ok {
			return reconcile.List(l)
		}
		return reconcile.Text(v.(string))
	}
	c := reconcile.Change{Field: field, To: val(to)}
	if from != nil {
		f := val(from)
		c.From = &f
	}
	return c
}

func TestDiff(t *testing.T) {
	cur := existing("c1")
	tests := []struct {
		name    string
		current *reconcile.Client
		desired reconcile.Desired
		rotate  bool
		want    reconcile.Action
		changes []reconcile.Change
	}{
		{
			name: "no current client creates with every set field", desired: desired, want: reconcile.ActionCreate,
			changes: []reconcile.Change{
				ch("name", nil, "my-app"),
				ch("redirect_uris", nil, desired.RedirectURIs),
				ch("scopes", nil, desired.Scopes),
				ch("logo_uri", nil, desired.LogoURI),
				ch("tos_uri", nil, desired.TOSURI),
				ch("policy_uri", nil, desired.PolicyURI),
			},
		},
		{
			name: "create omits unset optional fields", want: reconcile.ActionCreate,
			desired: reconcile.Desired{Name: "x", RedirectURIs: []string{"https://x/cb"}},
			changes: []reconcile.Change{ch("name", nil, "x"), ch("redirect_uris", nil, []string{"https://x/cb"})},
		},
		{
			name: "rotate without current is a create", desired: desired, rotate: true, want: reconcile.ActionCreate,
			changes: []reconcile.Change{
				ch("name", nil, "my-app"),
				ch("redirect_uris", nil, desired.RedirectURIs),
				ch("scopes", nil, desired.Scopes),
				ch("logo_uri", nil, desired.LogoURI),
				ch("tos_uri", nil, desired.TOSURI),
				ch("policy_uri", nil, desired.PolicyURI),
			},
		},
		{name: "identical is unchanged", current: &cur, desired: desired, want: reconcile.ActionUnchanged},
		{
			// The Takos list API omits tos_uri/policy_uri: a field the store
			// could not report is not a change, the reported ones still are.
			name: "unreported fields are not changes", want: reconcile.ActionUpdate,
			current: ptrTo(with(cur, func(c *reconcile.Client) {
				c.TOSURI, c.PolicyURI = "", ""
				c.Unreported = []reconcile.Field{reconcile.FieldTOSURI, reconcile.FieldPolicyURI}
			})),
			desired: withDesired(func(d *reconcile.Desired) { d.LogoURI = "https://app.example.com/new.png" }),
			changes: []reconcile.Change{ch("logo_uri", desired.LogoURI, "https://app.example.com/new.png")},
		},
		{
			name: "one unreported field hides only itself", want: reconcile.ActionUpdate,
			current: ptrTo(with(cur, func(c *reconcile.Client) {
				c.TOSURI, c.PolicyURI = "", "https://old.example.com/privacy"
				c.Unreported = []reconcile.Field{reconcile.FieldTOSURI}
			})),
			desired: desired,
			changes: []reconcile.Change{ch("policy_uri", "https://old.example.com/privacy", desired.PolicyURI)},
		},
		{
			name: "scopes in another order are unchanged", current: ptrTo(with(cur, func(c *reconcile.Client) { c.Scopes = []string{"profile", "openid"} })),
			desired: desired, want: reconcile.ActionUnchanged,
		},
		{
			name: "redirect URIs in another order are unchanged", current: ptrTo(with(cur, func(c *reconcile.Client) {
				c.RedirectURIs = []string{"https://app.example.com/cb2", "https://app.example.com/cb"}
			})),
			desired: desired, want: reconcile.ActionUnchanged,
		},
		{
			name: "duplicate scope in manifest is unchanged", current: &cur, want: reconcile.ActionUnchanged,
			desired: withDesired(func(d *reconcile.Desired) { d.Scopes = []string{"openid", "profile", "openid"} }),
		},
		{
			name: "nil and empty scopes are equal", want: reconcile.ActionUnchanged,
			current: ptrTo(with(cur, func(c *reconcile.Client) { c.Scopes = []string{} })),
			desired: withDesired(func(d *reconcile.Desired) { d.Scopes = nil }),
		},
		{
			name: "name", current: &cur, want: reconcile.ActionUpdate,
			desired: withDesired(func(d *reconcile.Desired) { d.Name = "renamed" }),
			changes: []reconcile.Change{ch("name", "my-app", "renamed")},
		},
		{
			name: "redirect URI added", current: &cur, want: reconcile.ActionUpdate,
			desired: withDesired(func(d *reconcile.Desired) { d.RedirectURIs = append(d.RedirectURIs, "https://app.example.com/cb3") }),
			changes: []reconcile.Change{ch("redirect_uris", cur.RedirectURIs, []string{"https://app.example.com/cb", "https://app.example.com/cb2", "https://app.example.com/cb3"})},
		},
		{
			name: "redirect URI differs by trailing slash", current: &cur, want: reconcile.ActionUpdate,
			desired: withDesired(func(d *reconcile.Desired) {
				d.RedirectURIs = []string{"https://app.example.com/cb/", "https://app.example.com/cb2"}
			}),
			changes: []reconcile.Change{ch("redirect_uris", cur.RedirectURIs, []string{"https://app.example.com/cb/", "https://app.example.com/cb2"})},
		},
		{
			name: "scope removed", current: &cur, want: reconcile.ActionUpdate,
			desired: withDesired(func(d *reconcile.Desired) { d.Scopes = []string{"openid"} }),
			changes: []reconcile.Change{ch("scopes", []string{"openid", "profile"}, []string{"openid"})},
		},
		{
			name: "logo changed", current: &cur, want: reconcile.ActionUpdate,
			desired: withDesired(func(d *reconcile.Desired) { d.LogoURI = "https://cdn.example.com/l.png" }),
			changes: []reconcile.Change{ch("logo_uri", desired.LogoURI, "https://cdn.example.com/l.png")},
		},
		{
			name: "tos cleared", current: &cur, want: reconcile.ActionUpdate,
			desired: withDesired(func(d *reconcile.Desired) { d.TOSURI = "" }),
			changes: []reconcile.Change{ch("tos_uri", desired.TOSURI, "")},
		},
		{
			name: "policy set", want: reconcile.ActionUpdate, desired: desired,
			current: ptrTo(with(cur, func(c *reconcile.Client) { c.PolicyURI = "" })),
			changes: []reconcile.Change{ch("policy_uri", "", desired.PolicyURI)},
		},
		{
			name: "every field in canonical order", want: reconcile.ActionUpdate,
			current: &reconcile.Client{ID: "c1", Name: "old", RedirectURIs: []string{"https://o/cb"}, Scopes: []string{"a"},
				LogoURI: "https://o/l", TOSURI: "https://o/t", PolicyURI: "https://o/p", Active: true},
			desired: desired,
			changes: []reconcile.Change{
				ch("name", "old", "my-app"),
				ch("redirect_uris", []string{"https://o/cb"}, desired.RedirectURIs),
				ch("scopes", []string{"a"}, desired.Scopes),
				ch("logo_uri", "https://o/l", desired.LogoURI),
				ch("tos_uri", "https://o/t", desired.TOSURI),
				ch("policy_uri", "https://o/p", desired.PolicyURI),
			},
		},
		{name: "rotate with no field change", current: &cur, desired: desired, rotate: true, want: reconcile.ActionRotate},
		{
			name: "rotate carries field changes", current: &cur, rotate: true, want: reconcile.ActionRotate,
			desired: withDesired(func(d *reconcile.Desired) { d.Scopes = []string{"openid"} }),
			changes: []reconcile.Change{ch("scopes", []string{"openid", "profile"}, []string{"openid"})},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := reconcile.Diff(tc.desired, tc.current, tc.rotate)
			if p.Action != tc.want {
				t.Errorf("Diff().Action = %q, want %q", p.Action, tc.want)
			}
			if diff := cmp.Diff(tc.changes, p.Changes); diff != "" {
				t.Errorf("Diff().Changes mismatch (-want +got):\n%s", diff)
			}
			wantID := ""
			if tc.current != nil {
				wantID = tc.current.ID
			}
			if p.ClientID != wantID {
				t.Errorf("Diff().ClientID = %q, want %q", p.ClientID, wantID)
			}
			if diff := cmp.Diff(tc.desired, p.Desired); diff != "" {
				t.Errorf("Diff().Desired mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDiffDoesNotAlias checks that the plan owns its slices: a caller that
// mutates its inputs afterwards must not change a plan it already printed.
func TestDiffDoesNotAlias(t *testing.T) {
	d := withDesired(func(d *reconcile.Desired) { d.Scopes = []string{"openid"} })
	cur := existing("c1")
	p := reconcile.Diff(d, &cur, false)
	d.Scopes[0] = "mutated"
	cur.Scopes[0] = "mutated"
	if got := p.Desired.Scopes[0]; got != "openid" {
		t.Errorf("Plan.Desired.Scopes[0] = %q after caller mutation, want %q", got, "openid")
	}
	if got := p.Current.Scopes[0]; got != "openid" {
		t.Errorf("Plan.Current.Scopes[0] = %q after caller mutation, want %q", got, "openid")
	}
	if got := p.Changes[0].To.Items[0]; got != "openid" {
		t.Errorf("Plan.Changes[0].To[0] = %q after caller mutation, want %q", got, "openid")
	}
}

func TestSelect(t *testing.T) {
	a := existing("a")
	b := with(existing("b"), func(c *reconcile.Client) { c.CreatedAt = t0.Add(-time.Hour) })
	revoked := with(existing("r"), func(c *reconcile.Client) { c.Active = false })
	other := with(existing("o"), func(c *reconcile.Client) { c.Name = "other-app" })
	tests := []struct {
		name     string
		clients  []reconcile.Client
		pinned   string
		wantID   string // "" = nil client
		wantErr  error
		wantText string
	}{
		{name: "none", clients: nil},
		{name: "only other names", clients: []reconcile.Client{other}},
		{name: "one", clients: []reconcile.Client{other, a}, wantID: "a"},
		{
			name: "several active, oldest first", clients: []reconcile.Client{a, other, b},
			wantErr: &reconcile.AmbiguousError{Name: "my-app", IDs: []string{"b", "a"}}, wantText: "--client-id",
		},
		{name: "revoked ignored", clients: []reconcile.Client{revoked, a}, wantID: "a"},
		{name: "only revoked means create", clients: []reconcile.Client{revoked}},
		{name: "pinned id among duplicates", clients: []reconcile.Client{a, b}, pinned: "b", wantID: "b"},
		{name: "pinned id with another name", clients: []reconcile.Client{a, other}, pinned: "o", wantID: "o"},
		{
			name: "pinned id not found", clients: []reconcile.Client{a}, pinned: "zz",
			wantErr: &reconcile.NotFoundError{ID: "zz"}, wantText: "not found",
		},
		{
			name: "pinned id revoked", clients: []reconcile.Client{a, revoked}, pinned: "r",
			wantErr: &reconcile.NotFoundError{ID: "r", Revoked: true}, wantText: "revoked",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := reconcile.Select(tc.clients, "my-app", tc.pinned)
			if tc.wantErr != nil {
				if diff := cmp.Diff(tc.wantErr, err); diff != "" {
					t.Fatalf("Select(%q) error mismatch (-want +got):\n%s", tc.pinned, diff)
				}
				if !strings.Contains(err.Error(), tc.wantText) {
					t.Errorf("Select(%q) error = %q, want it to mention %q", tc.pinned, err, tc.wantText)
				}
				var amb *reconcile.AmbiguousError
				var nf *reconcile.NotFoundError
				if !errors.As(err, &amb) && !errors.As(err, &nf) {
					t.Errorf("Select(%q) error %T is not a typed error", tc.pinned, err)
				}
				if got != nil {
					t.Errorf("Select(%q) = %v with an error, want nil", tc.pinned, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Select(%q) error = %v, want nil", tc.pinned, err)
			}
			gotID := ""
			if got != nil {
				gotID = got.ID
			}
			if gotID != tc.wantID {
				t.Errorf("Select(%q) = %q, want %q", tc.pinned, gotID, tc.wantID)
			}
		})
	}
}

func ptrTo[T any](v T) *T { return &v }

func withDesired(f func(*reconcile.Desired)) reconcile.Desired {
	d := desired
	d.RedirectURIs = append([]string(nil), desired.RedirectURIs...)
	d.Scopes = append([]string(nil), desired.Scopes...)
	f(&d)
	return d
}
