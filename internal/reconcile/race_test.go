package reconcile_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/reconcile"
)

// runCycle is one takos-apply run: list, select by name, diff, apply.
func runCycle(ctx context.Context, s *fakeStore, rotate bool, k *sink) (reconcile.Result, error) {
	list, err := s.List(ctx)
	if err != nil {
		return reconcile.Result{}, err
	}
	cur, err := reconcile.Select(list, desired.Name, "")
	if err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Apply(ctx, s, reconcile.Diff(desired, cur, rotate), k, reconcile.ApplyOptions{Settle: s.settle})
}

// TestApplyConcurrent races several runs of one manifest against one store
// whose calls yield and sleep at random, many times over, and checks that
// every race ends with exactly one active client whose secret was delivered.
func TestApplyConcurrent(t *testing.T) {
	tests := []struct {
		name     string
		runs     int
		rotate   bool
		existing bool
	}{
		{name: "two creates", runs: 2},
		{name: "three creates", runs: 3},
		{name: "two rotations", runs: 2, rotate: true, existing: true},
		{name: "three rotations", runs: 3, rotate: true, existing: true},
	}
	const iterations = 300
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raced, stale := 0, 0
			for it := 0; it < iterations; it++ {
				var s *fakeStore
				if tc.existing {
					s = newFakeStore(existing("c000"))
				} else {
					s = newFakeStore()
				}
				jitter := func(string, int) {
					switch rand.IntN(3) {
					case 0:
						runtime.Gosched()
					case 1:
						time.Sleep(time.Duration(rand.IntN(50)) * time.Microsecond)
					}
				}
				s.before, s.after = jitter, jitter

				sinks := make([]*sink, tc.runs)
				results := make([]reconcile.Result, tc.runs)
				errs := make([]error, tc.runs)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range tc.runs {
					sinks[i] = newSink()
					wg.Go(func() {
						<-start
						results[i], errs[i] = runCycle(context.Background(), s, tc.rotate, sinks[i])
					})
				}
				close(start)
				wg.Wait()

				creates := 0
				for _, c := range s.callLog() {
					if c == "create" {
						creates++
					}
				}
				if creates > 1 {
					raced++
				}
				active := s.active(desired.Name)
				if len(active) != 1 {
					t.Fatalf("iteration %d: %d active clients, want 1; calls %q; errors %v", it, len(active), s.callLog(), errs)
				}
				winner := active[0].ID
				checkNoLostSecret(t, s, sinks, "")
				holders := 0
				for i, err := range errs {
					checkNoCanary(t, results[i], err)
					if err != nil {
						// A run that lists while two clients briefly coexist
						// may refuse to guess; that is the only allowed error.
						var amb *reconcile.AmbiguousError
						if !errors.As(err, &amb) {
							t.Fatalf("iteration %d run %d: error %v, want nil or *AmbiguousError", it, i, err)
						}
						continue
					}
					if results[i].Secret != "" && results[i].ClientID == winner {
						holders++
					}
					if tc.runs > 2 && results[i].Action == reconcile.ResultUnchanged && len(results[i].Notes) == 0 {
						// Known limit (see Apply): a third run whose plan
						// found a client that then loses a same-millisecond
						// tie reports it without a check of its own.
						stale++
						continue
					}
					if !tc.rotate && results[i].ClientID != winner {
						t.Errorf("iteration %d run %d: ClientID = %q, want the surviving client %q (%v)", it, i, results[i].ClientID, winner, results[i].Notes)
					}
				}
				if _, issued := s.secrets[winner]; issued && holders != 1 {
					t.Errorf("iteration %d: %d results carry the surviving client's secret, want 1", it, holders)
				}
				if t.Failed() {
					t.Fatalf("iteration %d calls: %q", it, s.callLog())
				}
			}
			if raced == 0 {
				t.Errorf("no iteration had two creates; the test did not exercise the race")
			}
			t.Logf("%d of %d iterations had concurrent creates; %d results named a client found at plan time that lost a tie later", raced, iterations, stale)
		})
	}
}

// TestApplyLockstepRace forces two creates to overlap: each run's Create
// waits until the other run has sent its Create too, so both commit.
// The later client must revoke itself and report the earlier one.
func TestApplyLockstepRace(t *testing.T) {
	s := newFakeStore()
	var planned sync.WaitGroup
	planned.Add(2)
	s.before = func(op string, n int) {
		if op == "create" && n <= 2 {
			// Neither create commits before both runs have sent one.
			planned.Done()
			planned.Wait()
		}
	}
	sinks := []*sink{newSink(), newSink()}
	results := make([]reconcile.Result, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() { results[i], errs[i] = runCycle(context.Background(), s, false, sinks[i]) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("run %d: Apply() error = %v", i, err)
		}
	}
	active := s.active(desired.Name)
	if len(active) != 1 {
		t.Fatalf("%d active clients, want 1", len(active))
	}
	var actions []string
	for _, r := range results {
		actions = append(actions, r.Action)
		if r.ClientID != active[0].ID {
			t.Errorf("result ClientID = %q, want %q", r.ClientID, active[0].ID)
		}
	}
	creates := 0
	for _, c := range s.callLog() {
		if c == "create" {
			creates++
		}
	}
	if creates != 2 {
		t.Fatalf("%d creates, want 2: the test did not force a race", creates)
	}
	if !(actions[0] == "created" && actions[1] == "unchanged") && !(actions[0] == "unchanged" && actions[1] == "created") {
		t.Errorf("actions = %q, want one created and one unchanged", actions)
	}
	checkNoLostSecret(t, s, sinks, "")
}
