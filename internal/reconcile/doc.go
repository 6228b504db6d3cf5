// Package reconcile is the plan/apply engine for the OAuth client that a
// Takos app manifest declares. It is pure logic over the small Store
// interface: no HTTP, no YAML, no GitHub.
//
// The control plane has no natural unique key, no idempotency key and no
// rotation API for OAuth clients (a client secret is returned once, by the
// create call, and never again). The engine therefore:
//
//   - identifies "our" client by a pinned id, or by being the only active
//     client with the manifest's name (Select); when there is none, it
//     looks for a client the manifest probably renamed (DetectRename), and
//     Apply does not create while one is likely unless told to;
//   - computes a plan (Diff, MakePlan) and executes it with as few writes
//     as possible (Apply): no write at all when nothing changed, one PATCH
//     with only the changed fields for an update;
//   - hands a newly issued secret to the caller's Secrets before any other
//     call that could fail, and revokes a client whose secret reached no
//     sink;
//   - never blindly retries a create: after an ambiguous failure it lists
//     again and revokes the client the failed attempt may have created;
//   - resolves two runs that created a client at the same time with a rule
//     both compute identically (earliest CreatedAt, then smallest id wins),
//     and withdraws (Secrets.Retract) a secret it delivered for a client
//     that did not survive.
//
// # Creating a client, step by step
//
// Apply's create path (apply.go, applier.create) is one sequence:
//
//  1. Baseline. List the clients, so that a client a failed create attempt
//     made can be told apart from the ones that existed. For a create (not a
//     rotation), a client with the plan's name that appeared since the plan
//     was made by a concurrent run, which delivered its secret; creating
//     another would only lose the race. That run may not have finished its
//     own check, so this run settles and lists again and reports the
//     earliest active client of that list (the winner every run computes),
//     or creates after all if the client has gone.
//  2. Create. Only an ErrUncertain failure is retried, and only after
//     listing again and revoking every active client with the plan's name
//     that was not in the baseline: the failed attempt most likely created
//     it, and its secret is lost. A client that a concurrent run created in
//     the same window cannot be told apart from that orphan and is revoked
//     too; that run's race check then finds its own client revoked and
//     fails with an error rather than reporting a dead secret (unless the
//     revocation lands after its check).
//  3. Deliver the secret at once: it exists nowhere else. If no sink took
//     it, the new client is revoked and nothing changed (a rotation keeps
//     its old client). The caller runs a preflight before Apply so that
//     this is the last line of defence, not the normal way to learn that
//     there is nowhere to put a secret.
//  4. Race check (below). The calls from here on ignore cancellation of the
//     caller's context, so that a cancelled run does not strand a client;
//     the Store's own timeouts bound them.
//  5. A run that lost revokes its own client, retracts the secret it
//     delivered and reports the winner as unchanged.
//  6. A rotation that won revokes the client it replaces.
//
// # Race resolution
//
// When several active clients carry the desired name after a create, the
// one with the earliest CreatedAt (ties: smallest id) wins. Every run
// computes the same winner from immutable fields, so each loser revokes its
// own client and reports the winner as unchanged. The winner does not
// revoke the losers: it only ever revokes clients it created (and, for a
// rotation, the client it replaces), because another active client may
// belong to a run that has not finished its own check yet, or may have been
// created by hand, and a run that deletes credentials it did not issue could
// break a deployment that is using them. For a rotation the replaced client
// is not a contender, and only the winner revokes it: if every rotating run
// revoked its old client at once, a loser could be deferring to a winner
// that another rotation is revoking, and both could end revoked. A rotation
// pinned by id (ApplyOptions.Pinned) skips the check: other active clients
// with the same name are expected there, which is why the id was pinned.
//
// A run decides only on a list that proves the outcome. The control plane
// stamps CreatedAt with millisecond resolution, so a client a concurrent run
// commits in the same millisecond, just after this run's List, ties with
// this run's client and may have the smaller id. A list that shows a client
// stamped strictly earlier than this run's proves a loss (every such client
// was committed before this run's, so the earliest of them is the winner).
// Any other list, including one where this run's client is alone, proves
// nothing yet: the run waits (ApplyOptions.Settle) until the server's clock
// has passed its client's timestamp and lists again. That list holds every
// client stamped at or before this run's, so every run reaches the same
// verdict on the tie, and a run that saw only its own client never keeps it
// while a tied client with a smaller id appears later. When a check cannot
// list or wait, the run keeps its client and says so in a Note.
// TestApplyInterleavings checks every interleaving of two runs.
//
// Known limits: the rule needs CreatedAt order to match the order in which
// clients become visible to List, and the server's clock not to step back.
// A database that stamps a row before a slower transaction commits can
// break that, and then two clients may stay active; the next run reports
// them as ambiguous (Select) instead of guessing. And only runs that create
// are checked: with three or more concurrent runs, one whose plan found the
// client of a run that has not finished its check reports that client
// unchanged, and if that client then loses a same-millisecond tie, the
// run's outputs name a revoked client until the next run.
package reconcile
