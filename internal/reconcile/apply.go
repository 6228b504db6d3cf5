package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// Result is what Apply did.
type Result struct {
	// Action is one of ResultCreated, ResultUpdated, ResultUnchanged,
	// ResultRotated; "" when Apply failed before changing anything.
	Action string
	// ClientID is the client the manifest now maps to.
	ClientID string
	// Secret is the client secret, set only when this run issued it and the
	// client is still the one in use. It is never set on an error return.
	Secret  string
	Changes []Change
	// Revoked lists the clients this run revoked: the old client of a
	// rotation, clients left by an ambiguous create, and this run's own client
	// when it lost a race or its secret could not be delivered.
	Revoked []string
	// Retired lists the client a rotation kept active as retiring
	// (ApplyOptions.Retire) instead of revoking it.
	Retired []string
	// Notes are human-readable remarks (warnings) for the report. They never
	// contain a secret.
	Notes []string
	// AppliedAt is when Apply finished, from ApplyOptions.Now.
	AppliedAt time.Time
}

// Secrets is where Apply puts the secret of a client it creates: the run's
// sinks (step outputs, env files, a terminal). Errors must not contain the
// secret; Apply redacts it anyway.
type Secrets interface {
	// Deliver stores the secret durably and returns nil only when it did.
	// Apply calls it once per issued secret, right after the create call
	// returns and before any other call. When it fails, the new client is
	// revoked.
	Deliver(ctx context.Context, clientID, secret string) error
	// Retract withdraws the secret Deliver stored: its client turned out
	// not to survive (a lost race, or a concurrent run revoked it).
	Retract(ctx context.Context) error
}

// ApplyOptions tunes Apply. The zero value is usable.
type ApplyOptions struct {
	// MaxCreateAttempts bounds create calls after ambiguous failures
	// (ErrUncertain). Default 3.
	MaxCreateAttempts int
	// Now stamps Result.AppliedAt. Default time.Now.
	Now func() time.Time
	// Wait is called before create attempt n (n >= 2) and may sleep for a
	// backoff; a non-nil error stops the retries. Nil retries at once.
	Wait func(ctx context.Context, attempt int) error
	// Settle waits until the control plane's clock has moved past the
	// timestamp of a client this run just created (see the package doc,
	// race resolution). Default: sleep SettleDelay.
	Settle func(ctx context.Context) error
	// Pinned says the plan's client was chosen by id (--client-id), not by
	// name: a rotation then skips the race check by name.
	Pinned bool
	// Retire, when set, replaces the revocation of a rotated client: the
	// old client stays active, marked as retiring (RetiringURI), because
	// running workers still use it; a later run revokes it once they run
	// the new one. It is called where the revocation would be, after the
	// new secret was delivered and the race check was won.
	Retire func(ctx context.Context, oldID, newID string) error
	// Registry is the run's secret registry: Apply registers the secret it
	// issues there (in Actions that masks it) and redacts every registered
	// secret from its errors and Notes. Nil: a registry of Apply's own.
	Registry *safetext.Secrets
}

// Apply executes p against s: no call for unchanged, one Update with the
// changed fields for update. Create and rotate create a client, Deliver its
// secret to secrets before any other call, make sure one client survives
// concurrent runs (Retracting a delivered secret whose client did not),
// and for a rotation revoke the old client; the package doc describes the
// sequence. A create plan with a likely rename (Plan.Rename) is refused
// with a *RenameError unless the rename was overridden.
//
// On error the Result still reports what was done (Revoked, Notes); it
// never carries the secret, and no error, Note or Change contains it.
func Apply(ctx context.Context, s Store, p Plan, secrets Secrets, opt ApplyOptions) (Result, error) {
	if opt.MaxCreateAttempts <= 0 {
		opt.MaxCreateAttempts = 3
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Settle == nil {
		opt.Settle = sleepSettle
	}
	if opt.Registry == nil {
		opt.Registry = &safetext.Secrets{}
	}
	a := &applier{s: s, p: p, secrets: secrets, opt: opt}
	res, err := a.run(ctx)
	res.AppliedAt = opt.Now()
	// Belt and braces: a Secrets or Store error might quote the secret.
	for i, n := range res.Notes {
		res.Notes[i] = a.redact(n)
	}
	if err != nil {
		res.Secret = ""
		err = &redactedError{err: err, secrets: opt.Registry}
	}
	return res, err
}

type applier struct {
	s       Store
	p       Plan
	secrets Secrets
	opt     ApplyOptions
}

func (a *applier) run(ctx context.Context) (Result, error) {
	p := a.p
	switch p.Action {
	case ActionUnchanged:
		if p.ClientID == "" {
			return Result{}, errors.New("invalid plan: unchanged without a client id")
		}
		return Result{Action: ResultUnchanged, ClientID: p.ClientID}, nil
	case ActionUpdate:
		if p.ClientID == "" {
			return Result{}, errors.New("invalid plan: update without a client id")
		}
		if len(p.Changes) == 0 {
			return Result{Action: ResultUnchanged, ClientID: p.ClientID}, nil
		}
		if err := a.s.Update(ctx, p.ClientID, patchFor(p)); err != nil {
			return Result{}, fmt.Errorf("updating OAuth client %s: %w", p.ClientID, err)
		}
		return Result{Action: ResultUpdated, ClientID: p.ClientID, Changes: p.Changes}, nil
	case ActionCreate, ActionRotate:
		if p.Desired.Name == "" {
			return Result{}, fmt.Errorf("invalid plan: %s without a client name", p.Action)
		}
		if p.Action == ActionRotate && p.ClientID == "" {
			return Result{}, errors.New("invalid plan: rotate without a client id")
		}
		if a.secrets == nil {
			return Result{}, fmt.Errorf("invalid call: %s needs Secrets to deliver the new secret to", p.Action)
		}
		if err := p.Refusal(); err != nil {
			return Result{}, err
		}
		return a.create(ctx)
	default:
		return Result{}, fmt.Errorf("invalid plan: unknown action %q", p.Action)
	}
}

// create runs a create or rotate plan; the steps are those of the package
// doc.
func (a *applier) create(ctx context.Context) (Result, error) {
	p := a.p
	res := Result{Changes: p.Changes}

	// 1. Baseline, or the client a concurrent run created since the plan.
	known, earlier, err := a.baseline(ctx)
	if err != nil {
		return res, err
	}
	if earlier != nil {
		return a.concurrentWinner(res, *earlier), nil
	}

	// 2. Create, revoking what ambiguous failures may have left.
	made, err := a.createWithRecovery(ctx, &res, known)
	if err != nil {
		return res, err
	}
	id := made.Client.ID
	// Registered before anything else happens to it (the Store may have
	// done so already): from here it is kept out of every text.
	a.opt.Registry.Add(made.Secret)

	// 3. Deliver before anything else can fail: the secret exists nowhere
	// else.
	if err := a.secrets.Deliver(ctx, id, made.Secret); err != nil {
		return a.undoCreate(ctx, res, id, err)
	}
	res.ClientID, res.Secret, res.Action = id, made.Secret, ResultCreated
	if p.Action == ActionRotate {
		res.Action = ResultRotated
	}

	// 4. The new client is live and its secret stored: finish the job even
	// if the caller's context is cancelled.
	ctx = context.WithoutCancel(ctx)
	if !(p.Action == ActionRotate && a.opt.Pinned) {
		winner, err := a.raceWinner(ctx, &res, id)
		if err != nil {
			// A concurrent run's orphan clean-up revoked our client.
			res.Action = ""
			return res, a.retract(ctx, err)
		}
		if winner.ID != id {
			// 5. Lost: revoke our client, withdraw its secret.
			return a.yieldTo(ctx, res, winner)
		}
	}

	// 6. Only the winner of a race revokes the client a rotation replaces:
	// that client may itself be the winner a losing run deferred to.
	if p.Action == ActionRotate && a.opt.Retire != nil {
		if err := a.opt.Retire(ctx, p.ClientID, id); err != nil {
			return res, fmt.Errorf("new OAuth client %s was created and its secret delivered, but marking the old client %s as retiring failed, so both are active under one name: re-run with --client-id %s, and revoke %s by hand once the app's workers run %s: %w",
				id, p.ClientID, id, p.ClientID, id, err)
		}
		res.Retired = append(res.Retired, p.ClientID)
		if a.opt.Pinned {
			res.Notes = append(res.Notes, fmt.Sprintf("client %s replaces the pinned client %s, which now retires: update --client-id", id, p.ClientID))
		}
	} else if p.Action == ActionRotate {
		if err := a.revoke(ctx, p.ClientID); err != nil {
			return res, fmt.Errorf("new OAuth client %s was created and its secret delivered, but revoking the old client %s failed, so both are active: revoke %s by hand: %w",
				id, p.ClientID, p.ClientID, err)
		}
		res.Revoked = append(res.Revoked, p.ClientID)
		if a.opt.Pinned {
			res.Notes = append(res.Notes, fmt.Sprintf("client %s replaces the pinned client %s, which is now revoked: update --client-id", id, p.ClientID))
		}
	}
	if p.Rename != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("%s stays active (--create-new does not revoke it): revoke it once nothing uses it", strings.Join(p.Rename.IDs(), ", ")))
	}
	return res, nil
}

// baseline lists the clients before the create and returns their ids. For
// a create (not a rotation), a client with the plan's name that appeared
// since the plan was made by a concurrent run; after settling and listing
// again, baseline returns the earliest such client as earlier, or, if it
// has gone, the ids of that second list too.
func (a *applier) baseline(ctx context.Context) (known map[string]bool, earlier *Client, err error) {
	d := a.p.Desired
	list, err := a.s.List(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("listing OAuth clients before creating %q: %w", d.Name, err)
	}
	known = make(map[string]bool, len(list))
	for _, c := range list {
		known[c.ID] = true
	}
	if a.p.Action == ActionRotate {
		return known, nil, nil
	}
	switch named := activeNamed(list, d.Name); len(named) {
	case 0:
		return known, nil, nil
	case 1:
	default:
		return nil, nil, ambiguous(d.Name, named)
	}
	// That run may not have finished its own check, and may yet lose it to
	// a client stamped in the same millisecond.
	if err := a.opt.Settle(ctx); err != nil {
		return nil, nil, fmt.Errorf("waiting to check OAuth clients before creating %q: %w", d.Name, err)
	}
	if list, err = a.s.List(ctx); err != nil {
		return nil, nil, fmt.Errorf("listing OAuth clients before creating %q: %w", d.Name, err)
	}
	if named := activeNamed(list, d.Name); len(named) > 0 {
		return nil, &named[0], nil
	}
	for _, c := range list {
		known[c.ID] = true
	}
	return known, nil, nil
}

// createWithRecovery calls Create until it succeeds, fails for certain, or
// runs out of attempts. After each ErrUncertain failure it lists again and
// revokes the client the attempt may have created.
func (a *applier) createWithRecovery(ctx context.Context, res *Result, known map[string]bool) (Created, error) {
	d := a.p.Desired
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			if err := ctx.Err(); err != nil {
				return Created{}, fmt.Errorf("creating OAuth client %q: stopped before attempt %d: %w", d.Name, attempt, err)
			}
			if a.opt.Wait != nil {
				if err := a.opt.Wait(ctx, attempt); err != nil {
					return Created{}, fmt.Errorf("creating OAuth client %q: stopped before attempt %d: %w", d.Name, attempt, err)
				}
			}
		}
		made, err := a.s.Create(ctx, d)
		if err == nil {
			return made, nil
		}
		if !errors.Is(err, ErrUncertain) {
			return Created{}, fmt.Errorf("creating OAuth client %q: %w", d.Name, err)
		}

		// The server may have created the client; its secret is lost either
		// way. Clean-up must run even if ctx was what cut the request.
		cctx := context.WithoutCancel(ctx)
		list, lerr := a.s.List(cctx)
		if lerr != nil {
			// A plain re-run would not help: it would select the orphan by its
			// name and report it unchanged, with its secret lost. A rotation
			// replaces it (or simply creates if nothing was committed).
			return Created{}, fmt.Errorf("creating OAuth client %q failed with an unknown outcome (%w) and listing clients to check failed (%w): a client named %q may now exist whose secret is lost; re-run takos-apply with --rotate-secret, which replaces such a client and revokes it, or revoke it by hand",
				d.Name, err, lerr, d.Name)
		}
		for _, o := range activeNamed(list, d.Name) {
			if known[o.ID] {
				continue
			}
			if rerr := a.revoke(cctx, o.ID); rerr != nil {
				return Created{}, fmt.Errorf("OAuth client %s appeared after a create attempt with an unknown outcome and its secret is lost; revoking it failed, so it is still active: revoke %s by hand: %w",
					o.ID, o.ID, rerr)
			}
			known[o.ID] = true
			res.Revoked = append(res.Revoked, o.ID)
			res.Notes = append(res.Notes, fmt.Sprintf("revoked client %s: it appeared after a create attempt failed with an unknown outcome, and its secret was never received", o.ID))
		}
		if attempt >= a.opt.MaxCreateAttempts {
			return Created{}, fmt.Errorf("creating OAuth client %q: giving up after %d attempts with unknown outcomes, no client is left active by them: %w",
				d.Name, attempt, err)
		}
	}
}

// undoCreate revokes a client whose secret reached no sink.
func (a *applier) undoCreate(ctx context.Context, res Result, id string, derr error) (Result, error) {
	res.ClientID = a.p.ClientID
	rerr := a.revoke(context.WithoutCancel(ctx), id)
	if rerr != nil {
		return res, fmt.Errorf("delivering the secret of new OAuth client %s failed (%w) and revoking that client failed too (%w): its secret is lost, revoke client %s by hand",
			id, derr, rerr, id)
	}
	res.Revoked = append(res.Revoked, id)
	if a.p.Action == ActionRotate {
		return res, fmt.Errorf("delivering the secret of replacement OAuth client %s failed, so it was revoked; the old client %s is still active and nothing changed: %w",
			id, a.p.ClientID, derr)
	}
	return res, fmt.Errorf("delivering the secret of new OAuth client %s failed, so it was revoked and nothing changed: %w", id, derr)
}

// SettleDelay is how long the default Settle sleeps: several times the
// control plane's millisecond timestamp resolution, so that rounding and the
// time between its commit and its reply cannot keep a later client in the
// same millisecond.
const SettleDelay = 10 * time.Millisecond

func sleepSettle(ctx context.Context) error {
	t := time.NewTimer(SettleDelay)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errRevokedUnderUs: this run's new client is no longer active. Only a
// concurrent run's orphan clean-up revokes a client it did not create: it
// took ours for the one its failed attempt made.
var errRevokedUnderUs = errors.New("revoked by a concurrent takos-apply run")

// raceWinner returns the client that stays among this run's client id and
// the contenders (see the package doc, race resolution), listing until a
// list proves the outcome. A check that cannot list or wait keeps this
// run's client and says so in a Note. The error is errRevokedUnderUs when
// this run's client is no longer active.
func (a *applier) raceWinner(ctx context.Context, res *Result, id string) (Client, error) {
	d := a.p.Desired
	unchecked := func(what string, err error) (Client, error) {
		res.Notes = append(res.Notes, fmt.Sprintf("could not %s to check for a concurrent run (%v); if takos-apply later reports several clients named %q, keep %s and revoke the others", what, err, d.Name, id))
		return Client{ID: id}, nil
	}
	named, own, err := a.contenders(ctx, id)
	if err != nil {
		return unchecked("list clients", err)
	}
	if own != nil && (len(named) == 0 || !named[0].CreatedAt.Before(own.CreatedAt)) {
		// Nothing stamped earlier is listed, so the list does not prove
		// the outcome: a tied client may not be visible yet.
		if err := a.opt.Settle(ctx); err != nil {
			return unchecked("wait", err)
		}
		if named, own, err = a.contenders(ctx, id); err != nil {
			return unchecked("list clients", err)
		}
	}
	if own == nil {
		return Client{}, fmt.Errorf("new OAuth client %s was %w after its secret was delivered, so the delivered secret does not work; re-run takos-apply", id, errRevokedUnderUs)
	}
	if len(named) == 0 {
		// The server lists our client under another name: no contender.
		return *own, nil
	}
	if named[0].ID == id && len(named) > 1 {
		others := make([]string, 0, len(named)-1)
		for _, c := range named[1:] {
			others = append(others, c.ID)
		}
		res.Notes = append(res.Notes, fmt.Sprintf("other active clients are named %q (%s): a concurrent run that created one revokes it itself; revoke any that remain by hand", d.Name, strings.Join(others, ", ")))
	}
	return named[0], nil
}

// contenders lists the clients and returns the active ones named like the
// plan's client, in winning order, without the client a rotation replaces,
// and this run's client id; own is nil when that client is not active.
func (a *applier) contenders(ctx context.Context, id string) (named []Client, own *Client, err error) {
	list, err := a.s.List(ctx)
	if err != nil {
		return nil, nil, err
	}
	i := slices.IndexFunc(list, func(c Client) bool { return c.ID == id })
	if i < 0 || !list[i].Active {
		return nil, nil, nil
	}
	for _, c := range activeNamed(list, a.p.Desired.Name) {
		if a.p.Action != ActionRotate || c.ID != a.p.ClientID {
			named = append(named, c)
		}
	}
	return named, &list[i], nil
}

// yieldTo is a lost race: this run revokes its own client, withdraws the
// secret it delivered and reports the winner as unchanged.
func (a *applier) yieldTo(ctx context.Context, res Result, winner Client) (Result, error) {
	id := res.ClientID
	if err := a.revoke(ctx, id); err != nil {
		return res, fmt.Errorf("a concurrent run created OAuth client %s first; revoking this run's duplicate client %s failed, so both are active: revoke %s by hand: %w",
			winner.ID, id, id, err)
	}
	res.Revoked = append(res.Revoked, id)
	res.Notes = append(res.Notes, fmt.Sprintf("this run's client %s was revoked, so the secret this run delivered must not be used", id))
	if a.p.Action == ActionRotate {
		res.Notes = append(res.Notes, fmt.Sprintf("this run did not revoke client %s: the concurrent run that won replaces it", a.p.ClientID))
	}
	return a.concurrentWinner(res, winner), a.retract(ctx, nil)
}

// retract withdraws the delivered secret of a client that did not survive,
// adding a failure to err.
func (a *applier) retract(ctx context.Context, err error) error {
	if rerr := a.secrets.Retract(ctx); rerr != nil {
		return errors.Join(err, fmt.Errorf("withdrawing the secret of revoked OAuth client from where it was delivered failed, so a dead secret may remain there: %w", rerr))
	}
	return err
}

// concurrentWinner reports the client a concurrent run created (and whose
// secret that run delivered) as the unchanged result of this run.
func (a *applier) concurrentWinner(res Result, winner Client) Result {
	d := a.p.Desired
	res.Action = ResultUnchanged
	res.ClientID = winner.ID
	res.Secret = ""
	res.Changes = nil
	res.Notes = append(res.Notes, fmt.Sprintf("a concurrent run created client %s named %q and delivered its secret; this run uses it", winner.ID, d.Name))
	if !matches(winner, d) {
		res.Notes = append(res.Notes, fmt.Sprintf("client %s does not match the manifest yet; re-run takos-apply to update it", winner.ID))
	}
	return res
}

// revoke revokes id; a client that is already gone counts as revoked, so that
// two runs cleaning up the same client both succeed.
func (a *applier) revoke(ctx context.Context, id string) error {
	if err := a.s.Revoke(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

func (a *applier) redact(s string) string { return a.opt.Registry.Redact(s, "[REDACTED]") }

// redactedError hides the run's secrets from the message of an error that
// may quote one (a Deliver error, for instance). Unwrap keeps errors.Is/As
// working; callers must print Error(), not the unwrapped chain.
type redactedError struct {
	err     error
	secrets *safetext.Secrets
}

func (e *redactedError) Error() string { return e.secrets.Redact(e.err.Error(), "[REDACTED]") }

func (e *redactedError) Unwrap() error { return e.err }
