package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/reconcile"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// store adapts the control-plane HTTP client to reconcile.Store, so that
// reconcile knows nothing about HTTP and controlplane nothing about plans.
// It registers the credentials a create returns in the run's registry the
// moment they are decoded.
type store struct {
	cp      *controlplane.Client
	secrets *safetext.Secrets
}

var _ reconcile.Store = (*store)(nil)

func (s *store) List(ctx context.Context) ([]reconcile.Client, error) {
	cs, err := s.cp.ListClients(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]reconcile.Client, 0, len(cs))
	for _, c := range cs {
		rc := reconcile.Client{
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
		rc.ReplacedBy, rc.Retiring = reconcile.ParseRetiring(c.ClientURI)
		// The Takos list view omits these two; say so rather than let an
		// absent field read as a cleared one.
		if !c.HasTOSURI {
			rc.Unreported = append(rc.Unreported, reconcile.FieldTOSURI)
		}
		if !c.HasPolicyURI {
			rc.Unreported = append(rc.Unreported, reconcile.FieldPolicyURI)
		}
		out = append(out, rc)
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
	// A failed mask is retried (and reported) when the secret is
	// delivered; the registration access token is never written anywhere.
	s.secrets.Add(reg.ClientSecret)
	s.secrets.Add(reg.RegistrationAccessToken)
	// The reply echoes the registration; the desired fields are what was
	// stored.
	return reconcile.Created{
		Client: reconcile.Client{ID: reg.ClientID, Name: d.Name, RedirectURIs: d.RedirectURIs, Scopes: d.Scopes,
			LogoURI: d.LogoURI, TOSURI: d.TOSURI, PolicyURI: d.PolicyURI, Active: true},
		Secret: reg.ClientSecret,
	}, nil
}

func (s *store) Update(ctx context.Context, id string, p reconcile.Patch) error {
	_, err := s.cp.UpdateClient(ctx, id, controlplane.UpdateRequest{
		ClientName:   p.Name,
		RedirectURIs: p.RedirectURIs,
		Scopes:       p.Scopes,
		LogoURI:      p.LogoURI,
		TOSURI:       p.TOSURI,
		PolicyURI:    p.PolicyURI,
	})
	if err != nil && controlplane.IsNotFound(err) {
		return fmt.Errorf("%w: %w", reconcile.ErrNotFound, err)
	}
	return err
}

func (s *store) Revoke(ctx context.Context, id string) error {
	err := s.cp.RevokeClient(ctx, id)
	if err != nil && controlplane.IsNotFound(err) {
		return fmt.Errorf("%w: %w", reconcile.ErrNotFound, err)
	}
	return err
}

// revokeIdempotent revokes id; a client that is already revoked counts as
// revoked.
func (s *store) revokeIdempotent(ctx context.Context, id string) error {
	if err := s.Revoke(ctx, id); err != nil && !errors.Is(err, reconcile.ErrNotFound) {
		return err
	}
	return nil
}
