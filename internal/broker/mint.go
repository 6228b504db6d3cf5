package broker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/takos-dev/takos-apply/internal/controlplane"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// PATNamePrefix starts the name of every PAT the broker mints; after a
// restart the broker finds its own PATs by it.
const PATNamePrefix = "takos-apply broker: "

// maxMintAttempts bounds the POSTs of one mint.
const maxMintAttempts = 3

// patName is "takos-apply broker: <repository>@<ref> run <run_id> [<nonce>]":
// readable in the Takos UI, and unique (the nonce), so that after an
// ambiguous failure the broker revokes exactly the PAT it lost, never a
// PAT another job of the same run is using.
func patName(c Claims, nonce string) string {
	return fmt.Sprintf("%s%s@%s run %s [%s]", PATNamePrefix,
		safetext.Compact(c["repository"], 100), safetext.Compact(c["ref"], 100), safetext.Compact(c["run_id"], 20), nonce)
}

// tracked is a PAT the broker minted and will revoke once expired.
type tracked struct {
	name    string
	expires time.Time
}

// minter creates PATs with the broker's own credential and revokes them
// once they expire.
type minter struct {
	cp    *controlplane.Client
	now   func() time.Time
	sleep func(context.Context, time.Duration) error
	audit *auditLog

	mu     sync.Mutex
	minted map[string]tracked // PAT id → name and expiry
	// sweep is set when a PAT may exist that is not tracked (an ambiguous
	// create whose clean-up failed): the next reap lists them first.
	sweep bool
}

func newMinter(cp *controlplane.Client, now func() time.Time, sleep func(context.Context, time.Duration) error, audit *auditLog) *minter {
	return &minter{cp: cp, now: now, sleep: sleep, audit: audit, minted: map[string]tracked{}}
}

// mint creates a PAT named name that expires ttl from now. A create that
// failed before reaching the server (connection refused) is retried; one
// that may have reached it (IsUncertain: timeout, reset, 5xx, unusable
// reply) is retried only after listing the PATs and revoking the one with
// this name, whose value is lost: never a blind re-POST. Other refusals
// (401, 4xx, 429) are returned at once.
func (m *minter) mint(ctx context.Context, name string, ttl time.Duration) (*controlplane.NewPAT, error) {
	exp := m.now().Add(ttl).Truncate(time.Second)
	var err error
	for attempt := 0; attempt < maxMintAttempts; attempt++ {
		if attempt > 0 {
			// 250 ms, 500 ms with full jitter.
			d := time.Duration(rand.Int64N(int64(250*time.Millisecond) << (attempt - 1)))
			if serr := m.sleep(ctx, d); serr != nil {
				return nil, errors.Join(err, serr)
			}
		}
		var p *controlplane.NewPAT
		p, err = m.cp.CreatePAT(ctx, name, exp)
		if err == nil {
			m.track(p.ID, name, p.ExpiresAt)
			return p, nil
		}
		var te *controlplane.TransportError
		switch {
		case controlplane.IsUncertain(err):
			if cerr := m.revokeNamed(ctx, name); cerr != nil {
				m.mu.Lock()
				m.sweep = true
				m.mu.Unlock()
				return nil, fmt.Errorf("%w; and the PAT it may have created could not be found and revoked, so no retry: %v", err, cerr)
			}
		case errors.As(err, &te):
			// Not written: nothing can exist.
		default:
			return nil, err
		}
	}
	return nil, err
}

// revokeNamed revokes every PAT called name (the remains of an ambiguous
// create).
func (m *minter) revokeNamed(ctx context.Context, name string) error {
	pats, err := m.cp.ListPATs(ctx)
	if err != nil {
		return err
	}
	for _, p := range pats {
		if p.Name != name {
			continue
		}
		if err := m.cp.RevokePAT(ctx, p.ID); err != nil {
			return err
		}
		m.audit.revoked(p.ID, p.Name, "lost in an ambiguous create")
	}
	return nil
}

func (m *minter) track(id, name string, expires time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.minted[id] = tracked{name: name, expires: expires}
}

// pending returns how many minted PATs still await revocation.
func (m *minter) pending() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.minted)
}

// recover finds the broker's PATs from before a restart by name prefix and
// tracks them; one without an expiry (a control plane that ignored
// expiresAt) is due at once.
func (m *minter) recover(ctx context.Context) (int, error) {
	pats, err := m.cp.ListPATs(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range pats {
		if !strings.HasPrefix(p.Name, PATNamePrefix) {
			continue
		}
		exp := p.ExpiresAt
		if exp.IsZero() {
			exp = m.now()
		}
		m.track(p.ID, p.Name, exp)
		n++
	}
	return n, nil
}

// reap revokes every tracked PAT that has expired; a PAT that fails to
// revoke stays tracked for the next pass. After a lost create it first
// lists the broker's PATs, so the lost one is tracked too.
func (m *minter) reap(ctx context.Context) error {
	m.mu.Lock()
	sweep := m.sweep
	m.sweep = false
	m.mu.Unlock()
	if sweep {
		if _, err := m.recover(ctx); err != nil {
			m.mu.Lock()
			m.sweep = true
			m.mu.Unlock()
			return err
		}
	}
	now := m.now()
	m.mu.Lock()
	var due []string
	for id, t := range m.minted {
		if !now.Before(t.expires) {
			due = append(due, id)
		}
	}
	m.mu.Unlock()
	var errs []error
	for _, id := range due {
		if err := m.cp.RevokePAT(ctx, id); err != nil {
			errs = append(errs, err)
			continue
		}
		m.mu.Lock()
		t := m.minted[id]
		delete(m.minted, id)
		m.mu.Unlock()
		m.audit.revoked(id, t.name, "expired")
	}
	return errors.Join(errs...)
}
