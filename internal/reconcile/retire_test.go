package reconcile_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/reconcile"
)

func TestRetiringURIRoundTrip(t *testing.T) {
	uri := reconcile.RetiringURI("X2nNewClient")
	if got, ok := reconcile.ParseRetiring(uri); !ok || got != "X2nNewClient" {
		t.Errorf("ParseRetiring(%q) = %q, %v", uri, got, ok)
	}
	for _, u := range []string{"", "https://app.example.com", "https://retiring.takos-apply.invalid/?replaced-by=", "http://retiring.takos-apply.invalid/?replaced-by=x"} {
		if _, ok := reconcile.ParseRetiring(u); ok {
			t.Errorf("ParseRetiring(%q) = ok, want not a mark", u)
		}
	}
}

// A retiring client keeps its name but is not "ours": Select finds the
// one client in use, and a plan never sees two.
func TestSelectSkipsRetiringClients(t *testing.T) {
	old := with(existing("old"), func(c *reconcile.Client) { c.Retiring, c.ReplacedBy = true, "new" })
	cur := existing("new")
	got, err := reconcile.Select([]reconcile.Client{old, cur}, desired.Name, "")
	if err != nil || got == nil || got.ID != "new" {
		t.Fatalf("Select = %v, %v; want the client in use", got, err)
	}
	if got, err := reconcile.Select([]reconcile.Client{old}, desired.Name, ""); err != nil || got != nil {
		t.Errorf("Select(only a retiring client) = %v, %v; want nil (create)", got, err)
	}
	r := reconcile.RetiringNamed([]reconcile.Client{old, cur, with(existing("gone"), func(c *reconcile.Client) { c.Retiring, c.Active = true, false })}, desired.Name)
	if len(r) != 1 || r[0].ID != "old" {
		t.Errorf("RetiringNamed = %v, want [old]", r)
	}
}

func TestApplyRotateRetiresInsteadOfRevoking(t *testing.T) {
	s := newFakeStore(existing("c001"))
	plan := reconcile.Diff(desired, ptrTo(existing("c001")), true)
	var retired [][2]string
	opt := reconcile.ApplyOptions{Settle: s.settle, Retire: func(_ context.Context, oldID, newID string) error {
		retired = append(retired, [2]string{oldID, newID})
		return nil
	}}
	res, err := reconcile.Apply(context.Background(), s, plan, newSink(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(retired) != 1 || retired[0][0] != "c001" || retired[0][1] != res.ClientID {
		t.Errorf("Retire calls = %v, want [[c001 %s]]", retired, res.ClientID)
	}
	if len(res.Revoked) != 0 || !slices.Equal(res.Retired, []string{"c001"}) {
		t.Errorf("Revoked %v, Retired %v; want none revoked and c001 retired", res.Revoked, res.Retired)
	}
	if c, _ := s.client("c001"); !c.Active {
		t.Error("the old client was revoked; it must stay active while it retires")
	}

	// A failed mark leaves both active under one name and says how out.
	s = newFakeStore(existing("c001"))
	opt.Retire = func(context.Context, string, string) error { return errors.New("503") }
	res, err = reconcile.Apply(context.Background(), s, plan, newSink(), opt)
	if err == nil || !strings.Contains(err.Error(), "marking the old client c001 as retiring failed") || !strings.Contains(err.Error(), "--client-id "+res.ClientID) {
		t.Errorf("Apply with a failing Retire = %v", err)
	}
}
