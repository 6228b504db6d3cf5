package controlplane_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/devserver/devservertest"
	"github.com/takos-dev/takos-apply/internal/httpx"
)

func TestPATs(t *testing.T) {
	now := time.Date(2026, 12, 3, 8, 42, 3, 0, time.UTC)
	s := devservertest.New(t, devserver.WithClock(func() time.Time { return now }))
	c := newClient(t, s, httpx.Options{})
	ctx := context.Background()
	exp := now.Add(10 * time.Minute)
	p, err := c.CreatePAT(ctx, "takos-apply broker: octo-org/octo-repo@refs/heads/main run 1", exp)
	if err != nil {
		t.Fatalf("CreatePAT() = %v", err)
	}
	if !p.ExpiresAt.Equal(exp) || p.Token != s.IssuedPATs()[0] {
		t.Errorf("CreatePAT() = %v expiring %v, want the issued token expiring %v", p, p.ExpiresAt, exp)
	}
	if got := s.PATs()[0].ExpiresAt; !got.Equal(exp) {
		t.Errorf("stored expiry %v, want %v (expiresAt must be camelCase)", got, exp)
	}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("minted", "pat", *p)
	for _, out := range []string{fmt.Sprint(p), fmt.Sprintf("%v %+v %#v %s", *p, *p, *p, *p), buf.String()} {
		if strings.Contains(out, p.Token) {
			t.Errorf("a print of NewPAT shows the token: %s", strings.ReplaceAll(out, p.Token, "<TOKEN>"))
		}
	}
	list, err := c.ListPATs(ctx)
	if err != nil || len(list) != 1 || list[0].ID != p.ID || !list[0].ExpiresAt.Equal(exp) {
		t.Fatalf("ListPATs() = %+v, %v; want the PAT", list, err)
	}
	if err := c.RevokePAT(ctx, p.ID); err != nil {
		t.Fatalf("RevokePAT() = %v", err)
	}
	if err := c.RevokePAT(ctx, p.ID); err != nil {
		t.Errorf("RevokePAT() of a revoked PAT = %v, want nil (idempotent)", err)
	}
	if !s.PATs()[0].Revoked {
		t.Error("the PAT is not revoked")
	}
}

func TestCreatePATUncertain(t *testing.T) {
	for _, f := range []devserver.Fault{
		{Method: "POST", Kind: devserver.ResetAfterAct},
		{Method: "POST", Kind: devserver.StatusAfterAct, Status: 502},
		{Method: "POST", Kind: devserver.MalformedJSON},
	} {
		s := devservertest.New(t)
		s.Inject(f)
		_, err := newClient(t, s, httpx.Options{}).CreatePAT(context.Background(), "x", time.Now().Add(time.Minute))
		if !controlplane.IsUncertain(err) {
			t.Errorf("%v: CreatePAT() = %v, want an uncertain error", f.Kind, err)
		}
		if n := requests(s, "POST"); n != 1 {
			t.Errorf("%v: %d POSTs, want 1 (never re-POSTed)", f.Kind, n)
		}
		for _, tok := range s.IssuedPATs() {
			if err != nil && strings.Contains(err.Error(), tok) {
				t.Errorf("%v: the error shows the token", f.Kind)
			}
		}
	}
}
