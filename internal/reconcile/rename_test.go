package reconcile_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/takos-dev/takos-apply/internal/reconcile"
)

// oldName is desired's client under the name it had before the manifest
// renamed it.
func oldName(id string) reconcile.Client {
	return with(existing(id), func(c *reconcile.Client) { c.Name = "Hello" })
}

func TestDetectRename(t *testing.T) {
	revoked := func(c reconcile.Client) reconcile.Client { c.Active = false; return c }
	tests := []struct {
		name      string
		clients   []reconcile.Client
		desired   *reconcile.Desired
		knownID   string
		wantIDs   []string // nil: no rename
		wantKnown bool
	}{
		{name: "nothing listed"},
		{name: "same redirect URIs under another name", clients: []reconcile.Client{oldName("c1")}, wantIDs: []string{"c1"}},
		{
			name: "same URIs in another order, with a duplicate",
			clients: []reconcile.Client{with(oldName("c1"), func(c *reconcile.Client) {
				c.RedirectURIs = []string{desired.RedirectURIs[1], desired.RedirectURIs[0], desired.RedirectURIs[1]}
			})},
			wantIDs: []string{"c1"},
		},
		{
			name:    "other fields differ too: still the same app",
			clients: []reconcile.Client{with(oldName("c1"), func(c *reconcile.Client) { c.Scopes = []string{"openid"}; c.LogoURI = "" })},
			wantIDs: []string{"c1"},
		},
		{
			name:    "a subset of the URIs is another app",
			clients: []reconcile.Client{with(oldName("c1"), func(c *reconcile.Client) { c.RedirectURIs = c.RedirectURIs[:1] })},
		},
		{
			name:    "more URIs is another app",
			clients: []reconcile.Client{with(oldName("c1"), func(c *reconcile.Client) { c.RedirectURIs = append(c.RedirectURIs, "https://x/cb") })},
		},
		{name: "a revoked client is gone, not renamed", clients: []reconcile.Client{revoked(oldName("c1"))}},
		{
			name:    "several candidates, oldest first",
			clients: []reconcile.Client{oldName("c2"), with(oldName("c1"), func(c *reconcile.Client) { c.CreatedAt = t0.Add(-time.Hour); c.Name = "Older" })},
			wantIDs: []string{"c1", "c2"},
		},
		{
			name:    "a manifest without redirect URIs matches nothing",
			clients: []reconcile.Client{with(oldName("c1"), func(c *reconcile.Client) { c.RedirectURIs = nil })},
			desired: &reconcile.Desired{Name: "my-app"},
		},
		{
			name:    "the known id wins over URI matches",
			clients: []reconcile.Client{oldName("c1"), with(oldName("c2"), func(c *reconcile.Client) { c.RedirectURIs = []string{"https://elsewhere/cb"} })},
			knownID: "c2", wantIDs: []string{"c2"}, wantKnown: true,
		},
		{
			name:    "a known id that is revoked falls back to the URIs",
			clients: []reconcile.Client{oldName("c1"), revoked(oldName("c2"))},
			knownID: "c2", wantIDs: []string{"c1"},
		},
		{name: "a known id that is not listed falls back to the URIs", clients: []reconcile.Client{oldName("c1")}, knownID: "zz", wantIDs: []string{"c1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := desired
			if tc.desired != nil {
				d = *tc.desired
			}
			got := reconcile.DetectRename(tc.clients, d, tc.knownID)
			if tc.wantIDs == nil {
				if got != nil {
					t.Fatalf("DetectRename = %+v, want nil", got)
				}
				return
			}
			if got == nil {
				t.Fatalf("DetectRename = nil, want %v", tc.wantIDs)
			}
			if diff := cmp.Diff(tc.wantIDs, got.IDs()); diff != "" {
				t.Errorf("DetectRename ids (-want +got):\n%s", diff)
			}
			if got.ByKnownID != tc.wantKnown {
				t.Errorf("ByKnownID = %v, want %v", got.ByKnownID, tc.wantKnown)
			}
		})
	}
}

func TestMakePlan(t *testing.T) {
	clients := []reconcile.Client{oldName("c1")}
	tests := []struct {
		name       string
		clients    []reconcile.Client
		opt        reconcile.PlanOptions
		wantAction reconcile.Action
		wantRename []string
		wantCreate bool // Rename.CreateNew
		wantErr    string
	}{
		{name: "rename detected", clients: clients, wantAction: reconcile.ActionCreate, wantRename: []string{"c1"}},
		{name: "--create-new is recorded", clients: clients, opt: reconcile.PlanOptions{CreateNew: true},
			wantAction: reconcile.ActionCreate, wantRename: []string{"c1"}, wantCreate: true},
		{name: "--client-id updates (renames) the old client", clients: clients, opt: reconcile.PlanOptions{PinnedID: "c1"},
			wantAction: reconcile.ActionUpdate},
		{name: "a client with the new name is the one, no hint", clients: append([]reconcile.Client{existing("c2")}, clients...),
			wantAction: reconcile.ActionUnchanged},
		{name: "a plain create has no hint", wantAction: reconcile.ActionCreate},
		{name: "known id", clients: []reconcile.Client{with(oldName("c1"), func(c *reconcile.Client) { c.RedirectURIs = []string{"https://x/cb"} })},
			opt: reconcile.PlanOptions{KnownID: "c1"}, wantAction: reconcile.ActionCreate, wantRename: []string{"c1"}},
		{name: "Select errors pass through", clients: clients, opt: reconcile.PlanOptions{PinnedID: "nope"}, wantErr: "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := reconcile.MakePlan(tc.clients, desired, tc.opt)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("MakePlan error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Action != tc.wantAction {
				t.Errorf("Action = %q, want %q", p.Action, tc.wantAction)
			}
			var ids []string
			if p.Rename != nil {
				ids = p.Rename.IDs()
				if p.Rename.CreateNew != tc.wantCreate {
					t.Errorf("Rename.CreateNew = %v, want %v", p.Rename.CreateNew, tc.wantCreate)
				}
			}
			if diff := cmp.Diff(tc.wantRename, ids, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Rename (-want +got):\n%s", diff)
			}
		})
	}
}

// TestApplyRefusesLikelyRename: a create while a rename is likely sends no
// request and names both ways out; with --create-new it creates, and the
// old client stays active.
func TestApplyRefusesLikelyRename(t *testing.T) {
	s := newFakeStore(oldName("c001"))
	p, err := reconcile.MakePlan(s.snapshot(), desired, reconcile.PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	k := newSink()
	res, err := reconcile.Apply(context.Background(), s, p, k, reconcile.ApplyOptions{Settle: s.settle})
	var re *reconcile.RenameError
	if !errors.As(err, &re) {
		t.Fatalf("Apply = %v, want a *RenameError", err)
	}
	msg := s.sym(err.Error())
	for _, w := range []string{`no OAuth client is named "my-app"`, `active client c001 (named "Hello") has the same redirect URIs`,
		"--client-id c001", "--create-new"} {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q lacks %q", msg, w)
		}
	}
	if calls := s.callLog(); len(calls) != 0 {
		t.Errorf("store calls %q, want none", calls)
	}
	if res.Action != "" || k.count() != 0 {
		t.Errorf("Apply = %+v, deliveries %d; want nothing done", res, k.count())
	}

	p, err = reconcile.MakePlan(s.snapshot(), desired, reconcile.PlanOptions{CreateNew: true})
	if err != nil {
		t.Fatal(err)
	}
	res, err = reconcile.Apply(context.Background(), s, p, k, reconcile.ApplyOptions{Settle: s.settle})
	if err != nil || res.Action != reconcile.ResultCreated {
		t.Fatalf("Apply --create-new = %+v, %v; want created", res, err)
	}
	if old, _ := s.client("c001"); !old.Active {
		t.Error("the old client was revoked; --create-new must leave it to the user")
	}
	if notes := s.symAll(res.Notes); len(notes) != 1 || !strings.Contains(notes[0], "c001 stays active") {
		t.Errorf("Notes = %q, want one saying the old client stays active", notes)
	}
}
