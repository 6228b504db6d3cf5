package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/takos-dev/takos-apply/internal/reconcile"
)

type scenario struct {
	name    string
	initial []reconcile.Client
	desired *reconcile.Desired // nil = desired
	rotate  bool
	pinned  string
	opt     reconcile.ApplyOptions
	// setup runs after the plan was computed and before Apply.
	setup func(s *fakeStore, k *sink, cancel context.CancelFunc)

	wantCalls    []string
	wantAction   string
	wantID       string
	wantSecretOf string // client whose secret Result.Secret must carry
	wantRevoked  []string
	wantErr      []string // substrings of the error; nil = no error
	wantIs       error
	wantNotes    []string // each must be a substring of some note
	wantActive   []string // active clients named desired.Name at the end
	wantDelivers int
	// wantRetract: the delivered secret's client is dead, so Apply withdrew
	// it from the sink (Secrets.Retract, exactly once).
	wantRetract bool
	// lostOK lists clients whose secret may be lost while they stay active,
	// because the error told the user so without knowing the id.
	lostOK []string
	// mismatchOK: the surviving client need not match the manifest.
	mismatchOK bool
}

func TestApply(t *testing.T) {
	c1 := func() reconcile.Client { return existing("c001") }
	drift := func() reconcile.Client {
		return with(existing("c001"), func(c *reconcile.Client) { c.Scopes = []string{"openid"}; c.TOSURI = "" })
	}
	// concurrent injects a client a concurrent run created in an earlier
	// millisecond than anything this run creates next; later, one it
	// creates in a later millisecond than this run's last create.
	concurrent := func(s *fakeStore) reconcile.Client {
		c := existing("")
		c.CreatedAt = time.Time{}
		c = s.inject(c)
		s.advance(time.Millisecond)
		return c
	}
	later := func(s *fakeStore) reconcile.Client {
		s.advance(time.Millisecond)
		c := existing("")
		c.CreatedAt = time.Time{}
		return s.inject(c)
	}
	// tied injects a concurrent client stamped in the same millisecond as
	// this run's client c001, with an id that sorts before (or after) it.
	tied := func(s *fakeStore, before bool) {
		own, _ := s.client("c001")
		c := existing("000000000000")
		if !before {
			c.ID = "ffffffffffff"
		}
		c.CreatedAt = own.CreatedAt
		s.alias(c.ID, "c000")
		s.inject(c)
	}
	beforeCall := func(op string, n int, f func()) func(string, int) {
		return func(o string, m int) {
			if o == op && m == n {
				f()
			}
		}
	}

	tests := []scenario{
		// Plain paths.
		{
			name: "unchanged sends no call", initial: []reconcile.Client{c1()},
			wantCalls: nil, wantAction: "unchanged", wantID: "c001", wantActive: []string{"c001"},
		},
		{
			name: "update sends one patch", initial: []reconcile.Client{drift()},
			wantCalls: []string{"update c001"}, wantAction: "updated", wantID: "c001", wantActive: []string{"c001"},
		},
		{
			name:      "create delivers then checks for a race",
			wantCalls: []string{"list", "create", "list", "list"}, wantAction: "created", wantID: "c001", wantSecretOf: "c001",
			wantActive: []string{"c001"}, wantDelivers: 1,
		},
		{
			name: "rotate creates, delivers, revokes the old one", initial: []reconcile.Client{c1()}, rotate: true,
			wantCalls:  []string{"list", "create", "list", "list", "revoke c001"},
			wantAction: "rotated", wantID: "c002", wantSecretOf: "c002", wantRevoked: []string{"c001"},
			wantActive: []string{"c002"}, wantDelivers: 1,
		},
		{
			name:    "rotate pinned among duplicates skips the name race check",
			initial: []reconcile.Client{c1(), with(existing("c002"), func(c *reconcile.Client) { c.CreatedAt = t0.Add(-time.Hour) })},
			rotate:  true, pinned: "c001", opt: reconcile.ApplyOptions{Pinned: true},
			wantCalls:  []string{"list", "create", "revoke c001"},
			wantAction: "rotated", wantID: "c003", wantSecretOf: "c003", wantRevoked: []string{"c001"},
			wantNotes: []string{"update --client-id"}, wantActive: []string{"c002", "c003"}, wantDelivers: 1,
		},
		{
			name: "client that appeared since the plan is used, not duplicated",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				concurrent(s)
			},
			wantCalls: []string{"list", "list"}, wantAction: "unchanged", wantID: "c001",
			wantNotes: []string{"concurrent run created client c001"}, wantActive: []string{"c001"},
		},
		{
			name: "client that appeared since the plan loses a tie found after settling",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.before = beforeCall("list", 2, func() { tied(s, true); s.forceRevoke("c001") })
				concurrent(s)
			},
			wantCalls: []string{"list", "list"}, wantAction: "unchanged", wantID: "c000",
			wantNotes: []string{"concurrent run created client c000"}, wantActive: []string{"c000"},
		},
		{
			name: "client that appeared since the plan is gone after settling",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.before = beforeCall("list", 2, func() { s.forceRevoke("c001") })
				concurrent(s)
			},
			wantCalls:  []string{"list", "list", "create", "list", "list"},
			wantAction: "created", wantID: "c002", wantSecretOf: "c002", wantActive: []string{"c002"}, wantDelivers: 1,
		},
		{
			name: "two clients that appeared since the plan are ambiguous",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				concurrent(s)
				concurrent(s)
			},
			wantCalls: []string{"list"}, wantErr: []string{"c001, c002", "--client-id"},
			wantActive: []string{"c001", "c002"}, mismatchOK: true,
		},

		// Faults before or during create.
		{
			name:      "baseline list fails",
			setup:     func(s *fakeStore, _ *sink, _ context.CancelFunc) { s.fail("list", 1, failPlain) },
			wantCalls: []string{"list"}, wantErr: []string{"listing OAuth clients before creating"},
		},
		{
			name:      "create rejected fails at once",
			setup:     func(s *fakeStore, _ *sink, _ context.CancelFunc) { s.fail("create", 1, failPlain) },
			wantCalls: []string{"list", "create"}, wantErr: []string{"creating OAuth client \"my-app\"", "400"},
		},
		{
			name:       "uncertain create that committed nothing is retried",
			setup:      func(s *fakeStore, _ *sink, _ context.CancelFunc) { s.fail("create", 1, uncertainLost) },
			wantCalls:  []string{"list", "create", "list", "create", "list", "list"},
			wantAction: "created", wantID: "c001", wantSecretOf: "c001", wantActive: []string{"c001"}, wantDelivers: 1,
		},
		{
			name:       "create committed but reply lost: orphan revoked, created again",
			setup:      func(s *fakeStore, _ *sink, _ context.CancelFunc) { s.fail("create", 1, committedLost) },
			wantCalls:  []string{"list", "create", "list", "revoke c001", "create", "list", "list"},
			wantAction: "created", wantID: "c002", wantSecretOf: "c002", wantRevoked: []string{"c001"},
			wantNotes: []string{"revoked client c001", "never received"}, wantActive: []string{"c002"}, wantDelivers: 1,
		},
		{
			name: "two lost replies then success",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.fail("create", 1, committedLost).fail("create", 2, committedLost)
			},
			wantCalls: []string{"list", "create", "list", "revoke c001", "create", "list", "revoke c002", "create", "list",
				"list"},
			wantAction: "created", wantID: "c003", wantSecretOf: "c003", wantRevoked: []string{"c001", "c002"},
			wantActive: []string{"c003"}, wantDelivers: 1,
		},
		{
			name: "gives up after three lost replies leaving nothing active",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.fail("create", 1, committedLost).fail("create", 2, committedLost).fail("create", 3, committedLost)
			},
			wantCalls: []string{"list", "create", "list", "revoke c001", "create", "list", "revoke c002",
				"create", "list", "revoke c003"},
			wantErr: []string{"giving up after 3 attempts"}, wantIs: reconcile.ErrUncertain,
			wantRevoked: []string{"c001", "c002", "c003"},
		},
		{
			name: "MaxCreateAttempts 1 still cleans up", opt: reconcile.ApplyOptions{MaxCreateAttempts: 1},
			setup:     func(s *fakeStore, _ *sink, _ context.CancelFunc) { s.fail("create", 1, committedLost) },
			wantCalls: []string{"list", "create", "list", "revoke c001"},
			wantErr:   []string{"giving up after 1 attempts"}, wantRevoked: []string{"c001"},
		},
		{
			name: "certain failure after an uncertain one stops",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.fail("create", 1, committedLost).fail("create", 2, failPlain)
			},
			wantCalls: []string{"list", "create", "list", "revoke c001", "create"},
			wantErr:   []string{"400"}, wantRevoked: []string{"c001"}, wantNotes: []string{"revoked client c001"},
		},
		{
			name: "re-list after uncertain create fails: never silent",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.fail("create", 1, committedLost).fail("list", 2, failPlain)
			},
			wantCalls: []string{"list", "create", "list"},
			wantErr:   []string{"may now exist", "secret is lost", "--rotate-secret", "\"my-app\""},
			wantIs:    reconcile.ErrUncertain, wantActive: []string{"c001"}, lostOK: []string{"c001"},
		},
		{
			name: "orphan revoke fails: no further create, id named",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.fail("create", 1, committedLost).fail("revoke", 1, failPlain)
			},
			wantCalls: []string{"list", "create", "list", "revoke c001"},
			wantErr:   []string{"c001", "by hand"}, wantActive: []string{"c001"},
		},
		{
			name: "cancelled during an uncertain create still cleans up",
			setup: func(s *fakeStore, _ *sink, cancel context.CancelFunc) {
				s.fail("create", 1, committedLost)
				s.before = beforeCall("create", 1, cancel)
			},
			wantCalls: []string{"list", "create", "list", "revoke c001"},
			wantErr:   []string{"stopped before attempt 2", "context canceled"}, wantIs: context.Canceled,
			wantRevoked: []string{"c001"},
		},
		{
			name: "Wait error stops the retries",
			opt: reconcile.ApplyOptions{Wait: func(ctx context.Context, attempt int) error {
				return fmt.Errorf("backoff %d: %w", attempt, context.DeadlineExceeded)
			}},
			setup:     func(s *fakeStore, _ *sink, _ context.CancelFunc) { s.fail("create", 1, uncertainLost) },
			wantCalls: []string{"list", "create", "list"},
			wantErr:   []string{"stopped before attempt 2", "backoff 2"}, wantIs: context.DeadlineExceeded,
		},

		// Faults in delivery.
		{
			name: "delivery fails: new client revoked, nothing changed",
			setup: func(_ *fakeStore, k *sink, _ context.CancelFunc) {
				k.failOn[1] = true
			},
			wantCalls: []string{"list", "create", "revoke c001"},
			wantErr:   []string{"c001", "revoked and nothing changed", "disk full"}, wantRevoked: []string{"c001"},
		},
		{
			name: "delivery and revoke fail: id named for manual revoke",
			setup: func(s *fakeStore, k *sink, _ context.CancelFunc) {
				k.failOn[1] = true
				s.fail("revoke", 1, failPlain)
			},
			wantCalls: []string{"list", "create", "revoke c001"},
			wantErr:   []string{"revoke client c001 by hand", "disk full"}, wantActive: []string{"c001"},
		},
		{
			name: "delivery error quoting the secret is redacted",
			setup: func(_ *fakeStore, k *sink, _ context.CancelFunc) {
				k.failOn[1] = true
				k.quoteErr = true
			},
			wantCalls: []string{"list", "create", "revoke c001"},
			wantErr:   []string{"client_secret=[REDACTED]"}, wantRevoked: []string{"c001"},
		},
		{
			name: "rotate delivery fails: replacement revoked, old kept", initial: []reconcile.Client{c1()}, rotate: true,
			setup:     func(_ *fakeStore, k *sink, _ context.CancelFunc) { k.failOn[1] = true },
			wantCalls: []string{"list", "create", "revoke c002"},
			wantErr:   []string{"old client c001 is still active and nothing changed"},
			wantID:    "c001", wantRevoked: []string{"c002"}, wantActive: []string{"c001"},
		},
		{
			name: "rotate delivery and revoke of replacement fail", initial: []reconcile.Client{c1()}, rotate: true,
			setup: func(s *fakeStore, k *sink, _ context.CancelFunc) {
				k.failOn[1] = true
				s.fail("revoke", 1, failPlain)
			},
			wantCalls: []string{"list", "create", "revoke c002"},
			wantErr:   []string{"revoke client c002 by hand"}, wantID: "c001", wantActive: []string{"c001", "c002"},
		},

		// Faults after delivery.
		{
			name: "rotate: revoking the old client fails", initial: []reconcile.Client{c1()}, rotate: true,
			setup:     func(s *fakeStore, _ *sink, _ context.CancelFunc) { s.fail("revoke", 1, failPlain) },
			wantCalls: []string{"list", "create", "list", "list", "revoke c001"},
			wantErr:   []string{"secret delivered", "revoke c001 by hand"},
			wantID:    "c002", wantActive: []string{"c001", "c002"}, wantDelivers: 1, wantAction: "rotated",
		},
		{
			name: "rotate: old client already revoked by a concurrent run", initial: []reconcile.Client{c1()}, rotate: true,
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.before = beforeCall("revoke", 1, func() { s.forceRevoke("c001") })
			},
			wantCalls:  []string{"list", "create", "list", "list", "revoke c001"},
			wantAction: "rotated", wantID: "c002", wantSecretOf: "c002", wantRevoked: []string{"c001"},
			wantActive: []string{"c002"}, wantDelivers: 1,
		},
		{
			name: "rotate with a lost create reply", initial: []reconcile.Client{c1()}, rotate: true,
			setup:      func(s *fakeStore, _ *sink, _ context.CancelFunc) { s.fail("create", 1, committedLost) },
			wantCalls:  []string{"list", "create", "list", "revoke c002", "create", "list", "list", "revoke c001"},
			wantAction: "rotated", wantID: "c003", wantSecretOf: "c003", wantRevoked: []string{"c002", "c001"},
			wantActive: []string{"c003"}, wantDelivers: 1,
		},
		{
			name:       "race-check list fails: success with a warning",
			setup:      func(s *fakeStore, _ *sink, _ context.CancelFunc) { s.fail("list", 2, failPlain) },
			wantCalls:  []string{"list", "create", "list"},
			wantAction: "created", wantID: "c001", wantSecretOf: "c001",
			wantNotes: []string{"could not list clients to check for a concurrent run"}, wantActive: []string{"c001"}, wantDelivers: 1,
		},
		{
			name:       "list after settling fails: success with a warning",
			setup:      func(s *fakeStore, _ *sink, _ context.CancelFunc) { s.fail("list", 3, failPlain) },
			wantCalls:  []string{"list", "create", "list", "list"},
			wantAction: "created", wantID: "c001", wantSecretOf: "c001",
			wantNotes: []string{"could not list clients to check for a concurrent run"}, wantActive: []string{"c001"}, wantDelivers: 1,
		},
		{
			name: "settle fails: success with a warning",
			opt: reconcile.ApplyOptions{Settle: func(context.Context) error {
				return context.DeadlineExceeded
			}},
			wantCalls:  []string{"list", "create", "list"},
			wantAction: "created", wantID: "c001", wantSecretOf: "c001",
			wantNotes: []string{"could not wait to check for a concurrent run"}, wantActive: []string{"c001"}, wantDelivers: 1,
		},
		{
			name: "race lost: own client revoked, winner reported",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.before = beforeCall("create", 1, func() { concurrent(s) })
			},
			wantCalls:  []string{"list", "create", "list", "revoke c002"},
			wantAction: "unchanged", wantID: "c001", wantRevoked: []string{"c002"},
			wantNotes:  []string{"concurrent run created client c001", "secret this run delivered must not be used"},
			wantActive: []string{"c001"}, wantDelivers: 1, wantRetract: true,
		},
		{
			name: "rotate race lost: old client left for the winner", initial: []reconcile.Client{c1()}, rotate: true,
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.before = beforeCall("create", 1, func() { concurrent(s) })
			},
			wantCalls:  []string{"list", "create", "list", "revoke c003"},
			wantAction: "unchanged", wantID: "c002", wantRevoked: []string{"c003"},
			wantNotes:  []string{"concurrent run created client c002", "did not revoke client c001"},
			wantActive: []string{"c001", "c002"}, wantDelivers: 1, wantRetract: true,
		},
		{
			name: "race lost to a client with other settings",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.before = beforeCall("create", 1, func() {
					s.inject(reconcile.Client{Name: "my-app", Active: true, RedirectURIs: []string{"https://x/cb"}})
					s.advance(time.Millisecond)
				})
			},
			wantCalls:  []string{"list", "create", "list", "revoke c002"},
			wantAction: "unchanged", wantID: "c001", wantRevoked: []string{"c002"},
			wantNotes: []string{"does not match the manifest yet"}, wantActive: []string{"c001"}, wantDelivers: 1, wantRetract: true,
			mismatchOK: true,
		},
		{
			name: "race tie on CreatedAt goes to the smallest id",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.after = beforeCall("create", 1, func() { tied(s, true) })
			},
			wantCalls:  []string{"list", "create", "list", "list", "revoke c001"},
			wantAction: "unchanged", wantID: "c000", wantRevoked: []string{"c001"},
			wantActive: []string{"c000"}, wantDelivers: 1, wantRetract: true,
		},
		{
			name: "race tie won by the smallest id",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.after = beforeCall("create", 1, func() { tied(s, false) })
			},
			wantCalls:  []string{"list", "create", "list", "list"},
			wantAction: "created", wantID: "c001", wantSecretOf: "c001",
			wantNotes: []string{"(c000)"}, wantActive: []string{"c001", "c000"}, wantDelivers: 1,
		},
		{
			// The race the settle exists for: this run's first check sees
			// only its own client, and a concurrent run then commits one in
			// the same millisecond with a smaller id, which that run keeps.
			name: "tie committed after a check that saw only this run's client",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.after = beforeCall("list", 2, func() { tied(s, true) })
			},
			wantCalls:  []string{"list", "create", "list", "list", "revoke c001"},
			wantAction: "unchanged", wantID: "c000", wantRevoked: []string{"c001"},
			wantActive: []string{"c000"}, wantDelivers: 1, wantRetract: true,
		},
		{
			name: "race lost and self-revoke fails: id named",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.before = beforeCall("create", 1, func() { concurrent(s) })
				s.fail("revoke", 1, failPlain)
			},
			wantCalls: []string{"list", "create", "list", "revoke c002"},
			wantErr:   []string{"revoke c002 by hand", "c001 first"}, wantID: "c002", wantAction: "created",
			wantActive: []string{"c001", "c002"}, wantDelivers: 1,
		},
		{
			name: "race won: later client left to its own run",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.after = beforeCall("create", 1, func() { later(s) })
			},
			wantCalls:  []string{"list", "create", "list", "list"},
			wantAction: "created", wantID: "c001", wantSecretOf: "c001",
			wantNotes: []string{"(c002)"}, wantActive: []string{"c001", "c002"}, wantDelivers: 1,
		},
		{
			name: "own client revoked by a concurrent clean-up after delivery",
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.after = beforeCall("create", 1, func() { s.forceRevoke("c001") })
			},
			wantCalls: []string{"list", "create", "list"},
			wantErr:   []string{"c001 was revoked by a concurrent", "re-run"}, wantID: "c001", wantDelivers: 1, wantRetract: true,
		},

		// Update faults.
		{
			name: "update fails", initial: []reconcile.Client{drift()},
			setup:     func(s *fakeStore, _ *sink, _ context.CancelFunc) { s.fail("update", 1, failPlain) },
			wantCalls: []string{"update c001"}, wantErr: []string{"updating OAuth client c001", "400"},
			wantActive: []string{"c001"}, mismatchOK: true,
		},
		{
			name: "update of a client revoked since the plan", initial: []reconcile.Client{drift()},
			setup: func(s *fakeStore, _ *sink, _ context.CancelFunc) {
				s.before = beforeCall("update", 1, func() { s.forceRevoke("c001") })
			},
			wantCalls: []string{"update c001"}, wantErr: []string{"updating OAuth client c001"}, wantIs: reconcile.ErrNotFound,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runScenario(t, tc)
		})
	}
}

func runScenario(t *testing.T, tc scenario) {
	t.Helper()
	d := desired
	if tc.desired != nil {
		d = *tc.desired
	}
	s := newFakeStore(tc.initial...)
	k := newSink()
	cur, err := reconcile.Select(s.snapshot(), d.Name, tc.pinned)
	if err != nil {
		t.Fatalf("Select() error = %v", err)
	}
	p := reconcile.Diff(d, cur, tc.rotate)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if tc.setup != nil {
		tc.setup(s, k, cancel)
	}

	opt := tc.opt
	if opt.Settle == nil {
		opt.Settle = s.settle
	}
	res, err := reconcile.Apply(ctx, s, p, k, opt)
	rawErr := ""
	if err != nil {
		rawErr = err.Error()
	}

	if diff := cmp.Diff(tc.wantCalls, s.symAll(s.callLog()), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("store calls mismatch (-want +got):\n%s", diff)
	}
	errText := ""
	if err != nil {
		errText = s.sym(err.Error())
	}
	switch {
	case tc.wantErr == nil && err != nil:
		t.Errorf("Apply() error = %v, want nil", err)
	case tc.wantErr != nil && err == nil:
		t.Errorf("Apply() error = nil, want one containing %q", tc.wantErr)
	}
	for _, w := range tc.wantErr {
		if err != nil && !strings.Contains(errText, w) {
			t.Errorf("Apply() error = %q, want it to contain %q", errText, w)
		}
	}
	if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
		t.Errorf("Apply() error = %v, want errors.Is(%v)", err, tc.wantIs)
	}
	if res.Action != tc.wantAction {
		t.Errorf("Apply().Action = %q, want %q", res.Action, tc.wantAction)
	}
	if got := s.sym(res.ClientID); got != tc.wantID {
		t.Errorf("Apply().ClientID = %q, want %q", got, tc.wantID)
	}
	wantSecret := ""
	if tc.wantSecretOf != "" {
		id := s.real(tc.wantSecretOf)
		s.mu.Lock()
		wantSecret = s.secrets[id]
		s.mu.Unlock()
		if wantSecret == "" {
			t.Fatalf("scenario wants the secret of %s, which the fake never issued", tc.wantSecretOf)
		}
		if got := k.delivered[s.real(tc.wantSecretOf)]; got != wantSecret {
			t.Errorf("sink holds %q for %s, want the issued secret", got, tc.wantSecretOf)
		}
	}
	if res.Secret != wantSecret {
		t.Errorf("Apply().Secret = %q, want %q", res.Secret, wantSecret)
	}
	if diff := cmp.Diff(tc.wantRevoked, s.symAll(res.Revoked), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Apply().Revoked mismatch (-want +got):\n%s", diff)
	}
	for _, w := range tc.wantNotes {
		found := false
		for _, n := range s.symAll(res.Notes) {
			found = found || strings.Contains(n, w)
		}
		if !found {
			t.Errorf("Apply().Notes = %q, want one containing %q", res.Notes, w)
		}
	}
	var activeIDs []string
	for _, c := range s.active(d.Name) {
		activeIDs = append(activeIDs, s.sym(c.ID))
		if !tc.mismatchOK && len(reconcile.Diff(d, &c, false).Changes) != 0 {
			t.Errorf("active client %s does not match the manifest: %+v", c.ID, c)
		}
	}
	if diff := cmp.Diff(tc.wantActive, activeIDs, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("active clients mismatch (-want +got):\n%s", diff)
	}
	if got := k.count(); got != tc.wantDelivers {
		t.Errorf("deliveries = %d, want %d", got, tc.wantDelivers)
	}
	wantRetracts := 0
	if tc.wantRetract {
		wantRetracts = 1
	}
	if got := k.retracted(); got != wantRetracts {
		t.Errorf("Secrets.Retract calls = %d, want %d", got, wantRetracts)
	}
	lostText := rawErr
	for _, id := range tc.lostOK {
		lostText += " " + s.real(id)
	}
	checkNoLostSecret(t, s, []*sink{k}, lostText)
	checkNoCanary(t, res, err)
	if res.AppliedAt.IsZero() {
		t.Errorf("Apply().AppliedAt is zero")
	}
}

// TestApplyUpdatePatch checks that an update sends exactly the changed fields,
// each with the manifest's value, and nothing else.
func TestApplyUpdatePatch(t *testing.T) {
	tests := []struct {
		name    string
		current reconcile.Client
		want    reconcile.Patch
	}{
		{
			name:    "name only",
			current: with(existing("c001"), func(c *reconcile.Client) { c.Name = "old" }),
			want:    reconcile.Patch{Name: ptrTo("my-app")},
		},
		{
			name:    "lists only",
			current: with(existing("c001"), func(c *reconcile.Client) { c.Scopes = nil; c.RedirectURIs = []string{"https://o/cb"} }),
			want:    reconcile.Patch{RedirectURIs: ptrTo(desired.RedirectURIs), Scopes: ptrTo(desired.Scopes)},
		},
		{
			name:    "URIs set and cleared",
			current: with(existing("c001"), func(c *reconcile.Client) { c.LogoURI = ""; c.TOSURI = "https://o/t"; c.PolicyURI = "https://o/p" }),
			want:    reconcile.Patch{LogoURI: ptrTo(desired.LogoURI), TOSURI: ptrTo(desired.TOSURI), PolicyURI: ptrTo(desired.PolicyURI)},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeStore(tc.current)
			p := reconcile.Diff(desired, &tc.current, false)
			res, err := reconcile.Apply(context.Background(), s, p, nil, reconcile.ApplyOptions{})
			if err != nil {
				t.Fatalf("Apply() error = %v", err)
			}
			if res.Action != reconcile.ResultUpdated {
				t.Errorf("Apply().Action = %q, want %q", res.Action, reconcile.ResultUpdated)
			}
			if diff := cmp.Diff([]reconcile.Patch{tc.want}, s.patches); diff != "" {
				t.Errorf("patches mismatch (-want +got):\n%s", diff)
			}
			got, _ := s.client("c001")
			if n := len(reconcile.Diff(desired, &got, false).Changes); n != 0 {
				t.Errorf("client after update still differs in %d fields: %+v", n, got)
			}
		})
	}
}

// TestApplySecondApplyIsUnchanged runs the full list → select → diff → apply
// cycle twice: the second run must plan unchanged and send no write.
func TestApplySecondApplyIsUnchanged(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		t.Run(fmt.Sprintf("first rotate=%v", rotate), func(t *testing.T) {
			s := newFakeStore()
			if rotate {
				s.inject(existing("c000"))
			}
			k := newSink()
			cycle := func(rotate bool) reconcile.Result {
				t.Helper()
				list, err := s.List(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				cur, err := reconcile.Select(list, desired.Name, "")
				if err != nil {
					t.Fatalf("Select() error = %v", err)
				}
				res, err := reconcile.Apply(context.Background(), s, reconcile.Diff(desired, cur, rotate), k, reconcile.ApplyOptions{})
				if err != nil {
					t.Fatalf("Apply() error = %v", err)
				}
				return res
			}
			first := cycle(rotate)
			before := len(s.callLog())
			second := cycle(false)
			calls := s.callLog()[before:]
			if diff := cmp.Diff([]string{"list"}, calls); diff != "" {
				t.Errorf("second apply calls mismatch (-want +got):\n%s", diff)
			}
			if second.Action != reconcile.ResultUnchanged || second.ClientID != first.ClientID {
				t.Errorf("second Apply() = %q %q, want %q %q", second.Action, second.ClientID, reconcile.ResultUnchanged, first.ClientID)
			}
			if second.Secret != "" {
				t.Errorf("second Apply().Secret is set; an unchanged run issues no secret")
			}
		})
	}
}

// TestApplyDeliversBeforeAnyOtherCall checks that Deliver runs right after
// the successful Create, before any further store call.
func TestApplyDeliversBeforeAnyOtherCall(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		t.Run(fmt.Sprintf("rotate=%v", rotate), func(t *testing.T) {
			s := newFakeStore()
			var cur *reconcile.Client
			if rotate {
				c := s.inject(existing("c000"))
				cur = &c
			}
			s.fail("create", 1, committedLost)
			var atDelivery []string
			deliver := deliverFunc(func(context.Context, string, string) error {
				atDelivery = s.callLog()
				return nil
			})
			if _, err := reconcile.Apply(context.Background(), s, reconcile.Diff(desired, cur, rotate), deliver, reconcile.ApplyOptions{}); err != nil {
				t.Fatalf("Apply() error = %v", err)
			}
			if n := len(atDelivery); n == 0 || atDelivery[n-1] != "create" {
				t.Errorf("store calls before Deliver = %q, want the last to be create", atDelivery)
			}
			if got := s.callLog(); len(got) <= len(atDelivery) {
				t.Errorf("no store call after Deliver (%q); the race check or revoke is missing", got)
			}
		})
	}
}

// TestApplySecretCanary drives every path that issues a secret with a Deliver
// and a Store that quote whatever they can, and checks that no error, Note or
// Change carries a secret.
func TestApplySecretCanary(t *testing.T) {
	type setup func(s *fakeStore, k *sink)
	paths := map[string]setup{
		"delivery error quotes secret": func(s *fakeStore, k *sink) { k.failOn[1] = true; k.quoteErr = true },
		"delivery error quotes secret and revoke fails": func(s *fakeStore, k *sink) {
			k.failOn[1] = true
			k.quoteErr = true
			s.fail("revoke", 1, failPlain)
		},
		"lost reply then success":  func(s *fakeStore, k *sink) { s.fail("create", 1, committedLost) },
		"race check list fails":    func(s *fakeStore, k *sink) { s.fail("list", 2, failPlain) },
		"race lost":                func(s *fakeStore, k *sink) { s.before = raceBefore(s) },
		"plain success":            func(s *fakeStore, k *sink) {},
		"rotate old revoke fails":  func(s *fakeStore, k *sink) { s.fail("revoke", 1, failPlain) },
		"rotate delivery fails":    func(s *fakeStore, k *sink) { k.failOn[1] = true; k.quoteErr = true },
		"own revoked concurrently": func(s *fakeStore, k *sink) { s.after = ownRevoked(s) },
	}
	for name, f := range paths {
		for _, rotate := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s rotate=%v", name, rotate), func(t *testing.T) {
				s := newFakeStore()
				var cur *reconcile.Client
				if rotate {
					c := s.inject(existing("c000"))
					cur = &c
				}
				k := newSink()
				f(s, k)
				res, err := reconcile.Apply(context.Background(), s, reconcile.Diff(desired, cur, rotate), k, reconcile.ApplyOptions{})
				checkNoCanary(t, res, err)
				if err == nil && res.Action != reconcile.ResultUnchanged && !strings.Contains(res.Secret, canary) {
					t.Errorf("Apply().Secret = %q on success, want the issued secret", res.Secret)
				}
				if err != nil && k.quoteErr && !strings.Contains(err.Error(), "[REDACTED]") {
					t.Errorf("Apply() error = %q, want the quoted secret replaced by [REDACTED]", err)
				}
			})
		}
	}
}

func raceBefore(s *fakeStore) func(string, int) {
	return func(op string, n int) {
		if op == "create" && n == 1 {
			c := existing("")
			c.CreatedAt = time.Time{}
			s.inject(c)
		}
	}
}

func ownRevoked(s *fakeStore) func(string, int) {
	return func(op string, n int) {
		if op == "create" && n == 1 {
			s.mu.Lock()
			id := fmt.Sprintf("c%03d", s.seq)
			s.mu.Unlock()
			s.forceRevoke(id)
		}
	}
}

func TestApplyInvalidPlans(t *testing.T) {
	noop := deliverFunc(func(context.Context, string, string) error { return nil })
	tests := []struct {
		name    string
		plan    reconcile.Plan
		deliver reconcile.Secrets
		want    string
	}{
		{name: "unknown action", plan: reconcile.Plan{Action: "delete", ClientID: "c1"}, deliver: noop, want: `unknown action "delete"`},
		{name: "unchanged without id", plan: reconcile.Plan{Action: reconcile.ActionUnchanged}, want: "unchanged without a client id"},
		{name: "update without id", plan: reconcile.Plan{Action: reconcile.ActionUpdate, Changes: []reconcile.Change{{Field: "name"}}}, want: "update without a client id"},
		{name: "create without name", plan: reconcile.Plan{Action: reconcile.ActionCreate}, deliver: noop, want: "without a client name"},
		{name: "create without deliver", plan: reconcile.Diff(desired, nil, false), want: "needs Secrets to deliver"},
		{name: "rotate without id", plan: reconcile.Plan{Action: reconcile.ActionRotate, Desired: desired}, deliver: noop, want: "rotate without a client id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeStore()
			_, err := reconcile.Apply(context.Background(), s, tc.plan, tc.deliver, reconcile.ApplyOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Apply(%q) error = %v, want one containing %q", tc.plan.Action, err, tc.want)
			}
			if calls := s.callLog(); len(calls) != 0 {
				t.Errorf("Apply(%q) made store calls %q on an invalid plan", tc.plan.Action, calls)
			}
		})
	}
}

func TestApplyOptions(t *testing.T) {
	s := newFakeStore().fail("create", 1, uncertainLost).fail("create", 2, uncertainLost)
	var waits []int
	now := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	opt := reconcile.ApplyOptions{
		Now:  func() time.Time { return now },
		Wait: func(ctx context.Context, attempt int) error { waits = append(waits, attempt); return nil },
	}
	res, err := reconcile.Apply(context.Background(), s, reconcile.Diff(desired, nil, false), newSink(), opt)
	if err != nil {
		t.Fatalf("Apply() error = %v", err)
	}
	if diff := cmp.Diff([]int{2, 3}, waits); diff != "" {
		t.Errorf("Wait attempts mismatch (-want +got):\n%s", diff)
	}
	if !res.AppliedAt.Equal(now) {
		t.Errorf("Apply().AppliedAt = %v, want %v", res.AppliedAt, now)
	}
}

// TestApplyRetractFails: a run that lost a race and cannot withdraw the
// secret it delivered says so with an error, and still reports the winner.
func TestApplyRetractFails(t *testing.T) {
	s := newFakeStore()
	s.before = func(op string, n int) {
		if op == "create" && n == 1 {
			// A concurrent run's client, a millisecond older than ours.
			c := existing("")
			c.CreatedAt = time.Time{}
			s.inject(c)
			s.advance(time.Millisecond)
		}
	}
	k := &failingRetract{sink: newSink()}
	res, err := reconcile.Apply(context.Background(), s, reconcile.Diff(desired, nil, false), k, reconcile.ApplyOptions{Settle: s.settle})
	if err == nil || !strings.Contains(err.Error(), "dead secret may remain") || !strings.Contains(err.Error(), "read-only file system") {
		t.Fatalf("Apply error = %v, want the failed withdrawal", err)
	}
	if res.Action != reconcile.ResultUnchanged || s.sym(res.ClientID) != "c001" || res.Secret != "" {
		t.Errorf("Apply = %q %q secret %v; want the winner c001 unchanged and no secret", res.Action, s.sym(res.ClientID), res.Secret != "")
	}
	if k.retracts != 1 {
		t.Errorf("Retract calls = %d, want 1", k.retracts)
	}
	checkNoCanary(t, res, err)
}

type failingRetract struct {
	*sink
	retracts int
}

func (f *failingRetract) Retract(context.Context) error {
	f.retracts++
	return errors.New("GITHUB_OUTPUT: read-only file system")
}
