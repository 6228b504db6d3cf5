package cli

import (
	"context"
	"fmt"

	"github.com/takos-dev/takos-apply/pkg/internal/controlplane"
	"github.com/takos-dev/takos-apply/pkg/internal/reconcile"
)

// store adapts the control-plane HTTP client to reconcile.Store, so that
// reconcile knows nothing about HTTP and controlplane nothing about plans.
type store struct {
	cp *controlplane.Client
	// unknownURIs records, per client id, that the list view did not report
	// its tos_uri / policy_uri (the Takos list API omits them).
	unknownURIs map[string]bool
}

var _ reconcile.Store = (*store)(nil)

func (s *store) List(ctx context.Context) ([]reconcile.Client, error) {
	cs, err := s.cp.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	if s.unknownURIs == nil {
		s.unknownURIs = map[string]bool{}
	}
	out := make([]reconcile.Client, 0, len(cs))
	for _, c := range cs {
		s.unknownURIs[c.ClientID] = !c.HasTOSURI || !c.HasPolicyURI
		out = append(out, fromControlPlane(c))
	}
	return out, nil
}

func (s *store) Create(ctx context.Context, d reconcile.Desired) (reconcile.Created, error) {
	reg, err := s.cp.CreateClient(ctx, controlplane.CreateRequest{
		ClientName:   d.Name,
		RedirectURIs: d.RedirectURIs,
		Scopes:       d.Scopes,
		LogoURI:      d.LogoURI,
		TOSURI:       d.TOSURI,
		PolicyURI:    d.PolicyURI,
	})
	if err != nil {
		if controlplane.IsUncertain(err) {
			return reconcile.Created{}, fmt.Errorf("%w: %w", reconcile.ErrUncertain, err)
		}
		return reconcile.Created{}, err
	}
	// The reply echoes the registration; the desired fields are what was
	// stored.
	return reconcile.Created{
		Client: reconcile.Client{ID: reg.ClientID, Name: d.Name, RedirectURIs: d.RedirectURIs, Scopes: d.Scopes,
			LogoURI: d.LogoURI, TOSURI: d.TOSURI, PolicyURI: d.PolicyURI, Active: true},
		Secret: reg.ClientSecret,
	}, nil
}

func (s *store) Update(ctx context.Context, id string, p reconcile.Patch) (reconcile.Client, error) {
	c, err := s.cp.UpdateClient(ctx, id, controlplane.UpdateRequest{
		ClientName:   p.Name,
		RedirectURIs: p.RedirectURIs,
		Scopes:       p.Scopes,
		LogoURI:      p.LogoURI,
		TOSURI:       p.TOSURI,
		PolicyURI:    p.PolicyURI,
	})
	if err != nil {
		if controlplane.IsNotFound(err) {
			return reconcile.Client{}, fmt.Errorf("%w: %w", reconcile.ErrNotFound, err)
		}
		return reconcile.Client{}, err
	}
	rc := fromControlPlane(*c)
	// The PATCH reply may omit status; a client that was just updated is
	// active (revoked ones answer 404).
	rc.Active = rc.Active || c.Status == ""
	return rc, nil
}

func fromControlPlane(c controlplane.OAuthClient) reconcile.Client {
	return reconcile.Client{
		ID:           c.ClientID,
		Name:         c.Name,
		RedirectURIs: c.RedirectURIs,
		Scopes:       c.AllowedScopes,
		LogoURI:      c.LogoURI,
		TOSURI:       c.TOSURI,
		PolicyURI:    c.PolicyURI,
		Active:       c.Active(),
		CreatedAt:    c.CreatedAt,
	}
}

func (s *store) Revoke(ctx context.Context, id string) error {
	err := s.cp.RevokeClient(ctx, id)
	if err != nil && controlplane.IsNotFound(err) {
		return fmt.Errorf("%w: %w", reconcile.ErrNotFound, err)
	}
	return err
}
