package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/reconcile"
)

// TestApplyInterleavings is a small stateless model checker: it runs two
// takos-apply cycles (list and select, then Apply: list, create, list,
// settle and list, revoke) against one fake store, and enumerates every
// order in which their store calls can reach the server, every way the
// server's millisecond clock can tick before each create (same millisecond
// or the next), and both id orders of the two new clients. Every execution
// must end with exactly one active client, whose secret was delivered, and
// every run that delivered a dead secret must say so.
//
// The runs are real goroutines, but only one moves at a time: each store
// call blocks until the scheduler grants it, and the scheduler takes the
// choices of a depth-first walk over the tree of schedules.
func TestApplyInterleavings(t *testing.T) {
	tests := []struct {
		name     string
		rotate   bool
		existing bool
	}{
		{name: "two creates"},
		{name: "two rotations", rotate: true, existing: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ex explorer
			executions := 0
			for {
				executions++
				trace, err := runInterleaving(&ex, tc.rotate, tc.existing)
				if err != nil {
					t.Fatalf("execution %d: %v\nschedule:\n  %s", executions, err, strings.Join(trace, "\n  "))
				}
				if !ex.next() {
					break
				}
			}
			// A walk that found nothing to choose checked nothing.
			if executions < 100 {
				t.Fatalf("only %d executions: the scheduler did not interleave the runs", executions)
			}
			t.Logf("%d executions, all with one active client", executions)
		})
	}
}

// explorer walks the tree of choices depth first: each execution replays
// the choices on the stack and takes the first option at new ones; next
// moves to the next unexplored leaf.
type explorer struct {
	stack []branch
	pos   int
}

type branch struct{ n, taken int }

func (e *explorer) choose(n int) int {
	if n == 1 {
		return 0
	}
	if e.pos < len(e.stack) {
		b := e.stack[e.pos]
		if b.n != n {
			panic(fmt.Sprintf("choice %d had %d options and now has %d: the execution is not deterministic", e.pos, b.n, n))
		}
		e.pos++
		return b.taken
	}
	e.stack = append(e.stack, branch{n: n})
	e.pos++
	return 0
}

func (e *explorer) next() bool {
	e.pos = 0
	for len(e.stack) > 0 {
		top := &e.stack[len(e.stack)-1]
		if top.taken+1 < top.n {
			top.taken++
			return true
		}
		e.stack = e.stack[:len(e.stack)-1]
	}
	return false
}

// scheduler serialises the runs' store calls.
type scheduler struct {
	s        *fakeStore
	events   chan schedEvent
	grant    []chan struct{}
	deadline []time.Time // the clock a run's next call must see, after it settled
}

type schedEvent struct {
	run  int
	op   string
	done bool
}

func (m *scheduler) step(run int, op string) {
	m.events <- schedEvent{run: run, op: op}
	<-m.grant[run]
}

// settle is run's ApplyOptions.Settle: its next call reaches the server
// after the server's clock has passed the current millisecond.
func (m *scheduler) settle(run int) func(context.Context) error {
	return func(context.Context) error {
		m.s.mu.Lock()
		m.deadline[run] = m.s.now.Add(time.Millisecond)
		m.s.mu.Unlock()
		return nil
	}
}

// runStore is one run's view of the shared store.
type runStore struct {
	run int
	m   *scheduler
}

func (r runStore) List(ctx context.Context) ([]reconcile.Client, error) {
	r.m.step(r.run, "list")
	return r.m.s.List(ctx)
}

func (r runStore) Create(ctx context.Context, d reconcile.Desired) (reconcile.Created, error) {
	r.m.step(r.run, "create")
	return r.m.s.Create(ctx, d)
}

func (r runStore) Update(ctx context.Context, id string, p reconcile.Patch) error {
	r.m.step(r.run, "update")
	return r.m.s.Update(ctx, id, p)
}

func (r runStore) Revoke(ctx context.Context, id string) error {
	r.m.step(r.run, "revoke")
	return r.m.s.Revoke(ctx, id)
}

// runInterleaving executes one schedule chosen by ex and checks its end
// state. It returns the schedule for the failure message.
func runInterleaving(ex *explorer, rotate, existingClient bool) ([]string, error) {
	const runs = 2
	var s *fakeStore
	if existingClient {
		s = newFakeStore(existing("c000"))
	} else {
		s = newFakeStore()
	}
	// The two new clients' ids in creation order: ascending or descending.
	ids := []string{"a-first", "b-second"}
	if ex.choose(2) == 1 {
		ids = []string{"b-first", "a-second"}
	}
	var trace []string
	trace = append(trace, "ids "+strings.Join(ids, ", "))
	s.newID = func() string {
		if len(ids) == 0 {
			panic("more creates than the model allows")
		}
		id := ids[0]
		ids = ids[1:]
		return id
	}
	m := &scheduler{s: s, events: make(chan schedEvent), deadline: make([]time.Time, runs)}
	sinks := make([]*sink, runs)
	results := make([]reconcile.Result, runs)
	errs := make([]error, runs)
	for i := range runs {
		m.grant = append(m.grant, make(chan struct{}))
		sinks[i] = newSink()
		go func() {
			st := runStore{run: i, m: m}
			results[i], errs[i] = func() (reconcile.Result, error) {
				list, err := st.List(context.Background())
				if err != nil {
					return reconcile.Result{}, err
				}
				cur, err := reconcile.Select(list, desired.Name, "")
				if err != nil {
					return reconcile.Result{}, err
				}
				p := reconcile.Diff(desired, cur, rotate)
				return reconcile.Apply(context.Background(), st, p, sinks[i], reconcile.ApplyOptions{Settle: m.settle(i)})
			}()
			m.events <- schedEvent{run: i, done: true}
		}()
	}
	waiting := map[int]schedEvent{}
	for range runs {
		if ev := <-m.events; !ev.done {
			waiting[ev.run] = ev
		}
	}
	for len(waiting) > 0 {
		ready := make([]int, 0, len(waiting))
		for r := range waiting {
			ready = append(ready, r)
		}
		slices.Sort(ready)
		run := ready[ex.choose(len(ready))]
		ev := waiting[run]
		delete(waiting, run)
		s.mu.Lock()
		if s.now.Before(m.deadline[run]) {
			s.now = m.deadline[run]
		}
		s.mu.Unlock()
		tick := ""
		if ev.op == "create" && ex.choose(2) == 1 {
			s.advance(time.Millisecond)
			tick = " (next millisecond)"
		}
		trace = append(trace, fmt.Sprintf("run %d: %s%s", run, ev.op, tick))
		m.grant[run] <- struct{}{}
		if ev := <-m.events; !ev.done {
			waiting[ev.run] = ev
		}
	}
	for i := range runs {
		trace = append(trace, fmt.Sprintf("run %d: result %s %s, retract %v, err %v", i, results[i].Action, results[i].ClientID, sinks[i].retracted() > 0, errs[i]))
	}
	return trace, checkInterleaving(s, sinks, results, errs)
}

func checkInterleaving(s *fakeStore, sinks []*sink, results []reconcile.Result, errs []error) error {
	active := s.active(desired.Name)
	if len(active) != 1 {
		return fmt.Errorf("%d active clients, want 1", len(active))
	}
	winner := active[0].ID
	ok := 0
	for i, err := range errs {
		if err != nil {
			// A run that lists while two clients coexist may refuse to
			// guess; that is the only allowed error.
			var amb *reconcile.AmbiguousError
			if !errors.As(err, &amb) {
				return fmt.Errorf("run %d: error %v, want nil or *AmbiguousError", i, err)
			}
			continue
		}
		ok++
		if replaced(results, i, results[i].ClientID) {
			continue
		}
		if results[i].ClientID != winner {
			return fmt.Errorf("run %d reports client %s, want the surviving client %s", i, results[i].ClientID, winner)
		}
		if results[i].Secret != "" && sinks[i].delivered[winner] != results[i].Secret {
			return fmt.Errorf("run %d returns a secret its sink does not hold", i)
		}
	}
	if ok == 0 {
		return errors.New("both runs failed")
	}
	holders := 0
	for i, k := range sinks {
		for id := range k.delivered {
			if id == winner {
				holders++
				continue
			}
			if k.retracted() == 0 && !replaced(results, i, id) {
				return fmt.Errorf("run %d delivered the secret of dead client %s and did not retract it", i, id)
			}
		}
	}
	if _, issued := s.secrets[winner]; issued && holders != 1 {
		return fmt.Errorf("%d sinks hold the surviving client's secret, want 1", holders)
	}
	return nil
}

// replaced reports whether a run other than i rotated client id away after
// run i finished with it: two rotations in a row, not a race.
func replaced(results []reconcile.Result, i int, id string) bool {
	for j, r := range results {
		if j != i && r.Action == reconcile.ResultRotated && slices.Contains(r.Revoked, id) {
			return true
		}
	}
	return false
}
