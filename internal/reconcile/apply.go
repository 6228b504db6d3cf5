package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
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
	// Notes are human-readable remarks (warnings) for the report. They never
	// contain a secret.
	Notes []string
	// RetractSecret is set when this run delivered a secret whose client is
	// no longer active (it lost a race, or a concurrent run revoked it):
	// the caller must withdraw that secret from the sinks it reached, on
	// success and on error alike.
	RetractSecret bool
	// AppliedAt is when Apply finished, from ApplyOptions.Now.
	AppliedAt time.Time
}

// Deliver must put the secret somewhere durable (step output, env file,
// stdout) and return nil only when it did. Apply calls it exactly once per
// issued secret, immediately after the create call returns, with r.Secret
// and r.ClientID set. When Deliver fails the new client is revoked.
type Deliver func(ctx context.Context, r Result) error

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
	// timestamp of a client this run just created, so that a List sent
	// afterwards shows every client stamped with the same or an earlier time
	// (see Apply, race resolution). Default: sleep SettleDelay.
	Settle func(ctx context.Context) error
	// Pinned says the plan's client was chosen by id (--client-id), not by
	// name. The name-based race check after a rotation is then skipped: other
	// active clients with the same name are expected (they are why the id was
	// pinned) and must not be mistaken for a concurrent run's clients.
	Pinned bool
}

// Apply executes p against s.
//
//   - unchanged: no store call at all.
//   - update: one Update carrying only the changed fields.
//   - create: List (the baseline), Create, Deliver at once, then List again
//     (and, unless that list proves a lost race, Settle and List once more)
//     to resolve a race with a concurrent run.
//   - rotate: like create; after the new secret was delivered and the race
//     check, Revoke the old client. If delivery fails the new client is
//     revoked and the old one stays active.
//
// Create is retried only after an ErrUncertain failure, and only after listing
// again and revoking every active client named p.Desired.Name that was not in
// the baseline: such a client was (most likely) created by the failed attempt,
// and its secret is lost. Any other create error fails at once. A client that
// a concurrent run created in the same window is indistinguishable from that
// orphan and is revoked too; that run's race check then finds its own client
// revoked and fails with an error rather than reporting a dead secret (unless
// the revocation lands after its check).
//
// Race resolution: when several active clients carry the desired name after a
// create, the one with the earliest CreatedAt (ties: smallest id) wins. Every
// run computes the same winner from immutable fields, so each loser revokes
// its own client and reports the winner as unchanged. The winner does not
// revoke the losers: it only ever revokes clients it created (and, for a
// rotation, the client it replaces), because another active client may belong
// to a run that has not finished its own check yet, or may have been created
// by hand, and a run that deletes credentials it did not issue could break a
// deployment that is using them. For a rotation the replaced client is not a
// contender, and only the winner revokes it: if every rotating run revoked
// its old client at once, a loser could be deferring to a winner that another
// rotation is revoking, and both could end revoked.
//
// A run decides only on a list that proves the outcome. The control plane
// stamps CreatedAt with millisecond resolution, so a client a concurrent run
// commits in the same millisecond, just after this run's List, ties with this
// run's client and may have the smaller id. A list that shows a client
// stamped strictly earlier than this run's proves a loss (every such client
// was committed before this run's, so the earliest of them is the winner).
// Any other list, including one where this run's client is alone, proves
// nothing yet: the run waits (Settle) until the server's clock has passed its
// client's timestamp and lists again. That list holds every client stamped at
// or before this run's, so every run reaches the same verdict on the tie, and
// a run that saw only its own client never keeps it while a tied client with
// a smaller id appears later. TestApplyInterleavings checks every
// interleaving of two runs.
//
// Known limits: the rule needs CreatedAt order to match the order in which
// clients become visible to List, and the server's clock not to step back. A
// database that stamps a row before a slower transaction commits can break
// that, and then two clients may stay active; the next run reports them as
// ambiguous (Select) instead of guessing. And only runs that create are
// checked: with three or more concurrent runs, one whose plan found the
// client of a run that has not finished its check reports that client
// unchanged, and if that client then loses a same-millisecond tie, the run's
// outputs name a revoked client until the next run.
//
// Calls made to finish or undo a create after it succeeded (delivery clean-up,
// revoking the old client, the race check) ignore cancellation of ctx, so that
// a cancelled run does not strand a client; the Store's own timeouts bound
// them.
//
// On error the Result still reports what was done (Revoked, Notes) and never
// carries a secret; error texts, Notes and Changes never contain the secret.
func Apply(ctx context.Context, s Store, p Plan, deliver Deliver, opt ApplyOptions) (Result, error) {
	if opt.MaxCreateAttempts <= 0 {
		opt.MaxCreateAttempts = 3
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Settle == nil {
		opt.Settle = sleepSettle
	}
	a := &applier{s: s, p: p, deliver: deliver, opt: opt}
	res, err := a.run(ctx)
	res.AppliedAt = opt.Now()
	// Belt and braces: a Deliver or Store error might quote the secret.
	for i, n := range res.Notes {
		res.Notes[i] = a.redact(n)
	}
	if err != nil {
		res.Secret = ""
		if a.secret != "" {
			err = &redactedError{err: err, secret: a.secret}
		}
	}
	return res, err
}

type applier struct {
	s       Store
	p       Plan
	deliver Deliver
	opt     ApplyOptions
	secret  string // the secret this run issued, to keep it out of texts
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
		if a.deliver == nil {
			return Result{}, fmt.Errorf("invalid call: %s needs a Deliver func for the new secret", p.Action)
		}
		return a.create(ctx)
	default:
		return Result{}, fmt.Errorf("invalid plan: unknown action %q", p.Action)
	}
}

func (a *applier) create(ctx context.Context) (Result, error) {
	p, d := a.p, a.p.Desired
	rotate := p.Action == ActionRotate
	res := Result{Changes: p.Changes}

	// The baseline tells a client the failed attempt created apart from the
	// ones that existed before.
	base, err := a.s.List(ctx)
	if err != nil {
		return res, fmt.Errorf("listing OAuth clients before creating %q: %w", d.Name, err)
	}
	known := make(map[string]bool, len(base))
	for _, c := range base {
		known[c.ID] = true
	}
	if !rotate {
		// The plan saw no client with this name; one that appeared since was
		// created by a concurrent run, which delivered its secret. Creating
		// another would only lose the race below.
		switch named := activeNamed(base, d.Name); len(named) {
		case 0:
		case 1:
			return a.deferToConcurrent(ctx, res, known)
		default:
			return res, ambiguous(d.Name, named)
		}
	}

	return a.createAndCheck(ctx, res, known)
}

// createAndCheck creates the client, delivers its secret, resolves a race
// with concurrent runs and, for a rotation, revokes the old client.
func (a *applier) createAndCheck(ctx context.Context, res Result, known map[string]bool) (Result, error) {
	p := a.p
	rotate := p.Action == ActionRotate
	made, err := a.createWithRecovery(ctx, &res, known)
	if err != nil {
		return res, err
	}
	id := made.Client.ID
	a.secret = made.Secret
	res.ClientID = id
	res.Secret = made.Secret
	res.Action = ResultCreated
	if rotate {
		res.Action = ResultRotated
	}

	// Deliver before anything else can fail: the secret exists nowhere else.
	if derr := a.deliver(ctx, res); derr != nil {
		return a.undoCreate(ctx, res, id, derr)
	}

	// From here the new client is live and its secret is stored; finish the
	// job even if the caller's context is cancelled.
	cctx := context.WithoutCancel(ctx)
	if !(rotate && a.opt.Pinned) {
		var lost bool
		if res, lost, err = a.raceCheck(cctx, res); err != nil || lost {
			return res, err
		}
	}
	if rotate {
		// Only the winner of a race revokes the client it replaces: that
		// client may itself be the winner a losing run deferred to.
		if err := a.revoke(cctx, p.ClientID); err != nil {
			return res, fmt.Errorf("new OAuth client %s was created and its secret delivered, but revoking the old client %s failed, so both are active: revoke %s by hand: %w",
				id, p.ClientID, p.ClientID, err)
		}
		res.Revoked = append(res.Revoked, p.ClientID)
		if a.opt.Pinned {
			res.Notes = append(res.Notes, fmt.Sprintf("client %s replaces the pinned client %s, which is now revoked: update --client-id", id, p.ClientID))
		}
	}
	return res, nil
}

// deferToConcurrent handles a baseline that shows one client with the
// plan's name, created by a concurrent run since the plan. That run may not
// have finished its own race check, and may yet lose it to a client stamped
// in the same millisecond; so this run settles and lists again, and reports
// the earliest active client of that complete list (the winner every run
// computes), or creates after all if the client has gone.
func (a *applier) deferToConcurrent(ctx context.Context, res Result, known map[string]bool) (Result, error) {
	d := a.p.Desired
	if err := a.opt.Settle(ctx); err != nil {
		return res, fmt.Errorf("waiting to check OAuth clients before creating %q: %w", d.Name, err)
	}
	list, err := a.s.List(ctx)
	if err != nil {
		return res, fmt.Errorf("listing OAuth clients before creating %q: %w", d.Name, err)
	}
	if named := activeNamed(list, d.Name); len(named) > 0 {
		return a.concurrentWinner(res, named[0]), nil
	}
	for _, c := range list {
		known[c.ID] = true
	}
	return a.createAndCheck(ctx, res, known)
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
	res.Action = ""
	res.Secret = ""
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

// raceCheck lists again after a create and, if a concurrent run's client
// wins (see Apply), revokes this run's client and reports lost. The client a
// rotation replaces is not a contender: it is about to be revoked by
// whichever run wins.
func (a *applier) raceCheck(ctx context.Context, res Result) (Result, bool, error) {
	d, id := a.p.Desired, res.ClientID
	named, own, err := a.contenders(ctx, id)
	if err != nil {
		res.Notes = append(res.Notes, fmt.Sprintf("could not list clients to check for a concurrent run (%v); if takos-apply later reports several clients named %q, keep %s and revoke the others", err, d.Name, id))
		return res, false, nil
	}
	if own == nil {
		return a.revokedUnderUs(res)
	}
	if len(named) == 0 || !named[0].CreatedAt.Before(own.CreatedAt) {
		// Nothing stamped earlier is listed, so the list does not prove
		// the outcome: a tied client may not be visible yet.
		if err := a.opt.Settle(ctx); err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("could not wait to check for a concurrent run (%v); if takos-apply later reports several clients named %q, keep %s and revoke the others", err, d.Name, id))
			return res, false, nil
		}
		if named, own, err = a.contenders(ctx, id); err != nil {
			res.Notes = append(res.Notes, fmt.Sprintf("could not list clients to check for a concurrent run (%v); if takos-apply later reports several clients named %q, keep %s and revoke the others", err, d.Name, id))
			return res, false, nil
		}
		if own == nil {
			return a.revokedUnderUs(res)
		}
	}
	if named[0].ID == id {
		if len(named) > 1 {
			others := make([]string, 0, len(named)-1)
			for _, c := range named[1:] {
				others = append(others, c.ID)
			}
			res.Notes = append(res.Notes, fmt.Sprintf("other active clients are named %q (%s): a concurrent run that created one revokes it itself; revoke any that remain by hand", d.Name, strings.Join(others, ", ")))
		}
		return res, false, nil
	}
	winner := named[0]
	if err := a.revoke(ctx, id); err != nil {
		return res, false, fmt.Errorf("a concurrent run created OAuth client %s first; revoking this run's duplicate client %s failed, so both are active: revoke %s by hand: %w",
			winner.ID, id, id, err)
	}
	res.Revoked = append(res.Revoked, id)
	res.RetractSecret = true
	res.Notes = append(res.Notes, fmt.Sprintf("this run's client %s was revoked, so the secret this run delivered must not be used", id))
	if a.p.Action == ActionRotate {
		res.Notes = append(res.Notes, fmt.Sprintf("this run did not revoke client %s: the concurrent run that won replaces it", a.p.ClientID))
	}
	return a.concurrentWinner(res, winner), true, nil
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

// revokedUnderUs fails a run whose new client is no longer active. Only a
// concurrent run's orphan clean-up revokes a client it did not create: it
// took ours for the one its failed attempt made.
func (a *applier) revokedUnderUs(res Result) (Result, bool, error) {
	res.Action = ""
	res.RetractSecret = true
	return res, false, fmt.Errorf("new OAuth client %s was revoked by a concurrent takos-apply run after its secret was delivered, so the delivered secret does not work; re-run takos-apply", res.ClientID)
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

func (a *applier) redact(s string) string { return redact(s, a.secret) }

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[REDACTED]")
}

// redactedError hides the issued secret from the message of an error that
// may quote it (a Deliver error, for instance). Unwrap keeps errors.Is/As
// working; callers must print Error(), not the unwrapped chain.
type redactedError struct {
	err    error
	secret string
}

func (e *redactedError) Error() string { return redact(e.err.Error(), e.secret) }

func (e *redactedError) Unwrap() error { return e.err }
