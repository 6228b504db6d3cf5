package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/internal/reconcile"
)

// canary is part of every secret the fake issues; no error, Note or Change
// may ever contain it.
const canary = "CANARY-SECRET"

// fault is what the fake does on one call.
type fault int

const (
	ok fault = iota
	// failPlain fails before any effect with a definite error (400, 401).
	failPlain
	// uncertainLost fails with ErrUncertain and nothing was committed.
	uncertainLost
	// committedLost commits the create, then loses the reply (ErrUncertain).
	committedLost
	// notFound fails with ErrNotFound.
	notFound
)

type faultKey struct {
	op string
	n  int // 1-based call number of op
}

// fakeStore is an in-memory Store that records every call and injects faults
// on the Nth call of an operation. It is safe for concurrent use. Like the
// control plane, it gives clients random ids and stamps CreatedAt with
// millisecond resolution under the lock, so clients created in the same
// millisecond tie and their id order is random. Its clock moves only when a
// test advances it or a run settles (ApplyOptions.Settle), which makes every
// create between two settles a tie: the worst case for race resolution.
//
// Tests name clients by creation order ("c001", "c002", …, shared with
// injected clients); sym and real translate between those names and the
// random ids.
type fakeStore struct {
	mu      sync.Mutex
	clients []reconcile.Client
	secrets map[string]string // secret issued by Create, by client id
	calls   []string
	patches []reconcile.Patch
	counts  map[string]int
	faults  map[faultKey]fault
	seq     int
	now     time.Time
	// newID returns the id of the next client; default random.
	newID func() string
	names map[string]string // symbolic name by random id
	ids   map[string]string // random id by symbolic name

	// before and after run outside the lock around call n of op; tests use
	// them to interleave a concurrent actor.
	before func(op string, n int)
	after  func(op string, n int)
}

func newFakeStore(initial ...reconcile.Client) *fakeStore {
	s := &fakeStore{
		secrets: map[string]string{},
		counts:  map[string]int{},
		faults:  map[faultKey]fault{},
		now:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		names:   map[string]string{},
		ids:     map[string]string{},
	}
	for _, c := range initial {
		s.inject(c)
	}
	return s
}

func (s *fakeStore) fail(op string, n int, f fault) *fakeStore {
	s.faults[faultKey{op, n}] = f
	return s
}

// inject adds a client created by someone else (a concurrent run, a human),
// whose secret is not this test's concern. A missing id is random (named by
// creation order) and a missing time is the fake's clock.
func (s *fakeStore) inject(c reconcile.Client) reconcile.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.ID == "" {
		c.ID = s.assignID()
	} else {
		s.seq++
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.now
	}
	s.clients = append(s.clients, c)
	return c
}

// assignID returns a new random id named by creation order. Call with mu
// held.
func (s *fakeStore) assignID() string {
	s.seq++
	var id string
	for id == "" || s.names[id] != "" {
		if s.newID != nil {
			id = s.newID()
		} else {
			id = fmt.Sprintf("%012x", rand.Uint64()&(1<<48-1))
		}
	}
	name := fmt.Sprintf("c%03d", s.seq)
	s.names[id], s.ids[name] = name, id
	return id
}

// alias names a client injected with a fixed id in test expectations.
func (s *fakeStore) alias(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.names[id], s.ids[name] = name, id
}

// advance moves the fake's clock forward by d.
func (s *fakeStore) advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
}

// settle is an ApplyOptions.Settle: the server's clock passes the current
// millisecond.
func (s *fakeStore) settle(context.Context) error {
	s.advance(time.Millisecond)
	return nil
}

// real returns the random id of a client named by creation order, or name
// itself for a client injected with a fixed id.
func (s *fakeStore) real(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.ids[name]; ok {
		return id
	}
	return name
}

// sym replaces every random id in text with its creation-order name.
func (s *fakeStore) sym(text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, name := range s.names {
		text = strings.ReplaceAll(text, id, name)
	}
	return text
}

func (s *fakeStore) symAll(texts []string) []string {
	if texts == nil {
		return nil
	}
	out := make([]string, len(texts))
	for i, t := range texts {
		out[i] = s.sym(t)
	}
	return out
}

// forceRevoke revokes id behind the engine's back (a concurrent run).
func (s *fakeStore) forceRevoke(id string) {
	id = s.real(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.clients {
		if s.clients[i].ID == id {
			s.clients[i].Active = false
		}
	}
}

// begin records the call and returns its fault.
func (s *fakeStore) begin(op, arg string) (int, fault) {
	s.mu.Lock()
	s.counts[op]++
	n := s.counts[op]
	call := op
	if arg != "" {
		call += " " + arg
	}
	s.calls = append(s.calls, call)
	f := s.faults[faultKey{op, n}]
	s.mu.Unlock()
	if s.before != nil {
		s.before(op, n)
	}
	return n, f
}

func (s *fakeStore) end(op string, n int) {
	if s.after != nil {
		s.after(op, n)
	}
}

func errFor(op string, f fault) error {
	switch f {
	case failPlain:
		return fmt.Errorf("%s: 400 bad request", op)
	case uncertainLost, committedLost:
		return fmt.Errorf("%s: connection reset by peer: %w", op, reconcile.ErrUncertain)
	case notFound:
		return fmt.Errorf("%s: 404: %w", op, reconcile.ErrNotFound)
	}
	return nil
}

func (s *fakeStore) List(ctx context.Context) ([]reconcile.Client, error) {
	n, f := s.begin("list", "")
	defer s.end("list", n)
	if f != ok {
		return nil, fmt.Errorf("list: 503 service unavailable")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]reconcile.Client, len(s.clients))
	for i, c := range s.clients {
		out[i] = cloneClient(c)
	}
	return out, nil
}

func (s *fakeStore) Create(ctx context.Context, d reconcile.Desired) (reconcile.Created, error) {
	n, f := s.begin("create", "")
	defer s.end("create", n)
	if f == failPlain || f == uncertainLost || f == notFound {
		return reconcile.Created{}, errFor("create", f)
	}
	s.mu.Lock()
	c := reconcile.Client{
		ID:           s.assignID(),
		Name:         d.Name,
		RedirectURIs: slices.Clone(d.RedirectURIs),
		Scopes:       slices.Clone(d.Scopes),
		LogoURI:      d.LogoURI,
		TOSURI:       d.TOSURI,
		PolicyURI:    d.PolicyURI,
		Active:       true,
		CreatedAt:    s.now,
	}
	secret := fmt.Sprintf("%s-%s-q9Xz", canary, c.ID)
	s.clients = append(s.clients, c)
	s.secrets[c.ID] = secret
	s.mu.Unlock()
	if f == committedLost {
		return reconcile.Created{}, errFor("create", f)
	}
	return reconcile.Created{Client: cloneClient(c), Secret: secret}, nil
}

func (s *fakeStore) Update(ctx context.Context, id string, p reconcile.Patch) error {
	n, f := s.begin("update", id)
	defer s.end("update", n)
	if f != ok {
		return errFor("update", f)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.patches = append(s.patches, p)
	for i := range s.clients {
		c := &s.clients[i]
		if c.ID != id || !c.Active {
			continue
		}
		if p.Name != nil {
			c.Name = *p.Name
		}
		if p.RedirectURIs != nil {
			c.RedirectURIs = slices.Clone(*p.RedirectURIs)
		}
		if p.Scopes != nil {
			c.Scopes = slices.Clone(*p.Scopes)
		}
		if p.LogoURI != nil {
			c.LogoURI = *p.LogoURI
		}
		if p.TOSURI != nil {
			c.TOSURI = *p.TOSURI
		}
		if p.PolicyURI != nil {
			c.PolicyURI = *p.PolicyURI
		}
		return nil
	}
	return fmt.Errorf("update %s: 404: %w", id, reconcile.ErrNotFound)
}

func (s *fakeStore) Revoke(ctx context.Context, id string) error {
	n, f := s.begin("revoke", id)
	defer s.end("revoke", n)
	if f != ok {
		return errFor("revoke", f)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.clients {
		if s.clients[i].ID == id && s.clients[i].Active {
			s.clients[i].Active = false
			return nil
		}
	}
	return fmt.Errorf("revoke %s: 404: %w", id, reconcile.ErrNotFound)
}

func (s *fakeStore) snapshot() []reconcile.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]reconcile.Client, len(s.clients))
	for i, c := range s.clients {
		out[i] = cloneClient(c)
	}
	return out
}

func (s *fakeStore) callLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *fakeStore) active(name string) []reconcile.Client {
	var out []reconcile.Client
	for _, c := range s.snapshot() {
		if c.Active && c.Name == name {
			out = append(out, c)
		}
	}
	return out
}

func (s *fakeStore) client(id string) (reconcile.Client, bool) {
	id = s.real(id)
	for _, c := range s.snapshot() {
		if c.ID == id {
			return c, true
		}
	}
	return reconcile.Client{}, false
}

func cloneClient(c reconcile.Client) reconcile.Client {
	c.RedirectURIs = slices.Clone(c.RedirectURIs)
	c.Scopes = slices.Clone(c.Scopes)
	c.Unreported = slices.Clone(c.Unreported)
	return c
}

// sink is a reconcile.Secrets that records what reached it and fails on
// chosen Deliver calls.
type sink struct {
	mu        sync.Mutex
	n         int
	failOn    map[int]bool
	quoteErr  bool              // the failure message quotes the secret
	delivered map[string]string // secret by client id
	retracts  int               // Retract calls
}

func newSink(failOn ...int) *sink {
	k := &sink{failOn: map[int]bool{}, delivered: map[string]string{}}
	for _, n := range failOn {
		k.failOn[n] = true
	}
	return k
}

func (k *sink) Deliver(ctx context.Context, clientID, secret string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.n++
	if k.failOn[k.n] {
		if k.quoteErr {
			return fmt.Errorf("writing client_secret=%s to GITHUB_OUTPUT: disk full", secret)
		}
		return errors.New("writing GITHUB_OUTPUT: disk full")
	}
	if secret == "" || clientID == "" {
		return errors.New("deliver called without a secret or client id")
	}
	k.delivered[clientID] = secret
	return nil
}

func (k *sink) Retract(context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.delivered) == 0 {
		return errors.New("retract called before a secret was delivered")
	}
	k.retracts++
	return nil
}

func (k *sink) retracted() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.retracts
}

// deliverFunc is a reconcile.Secrets that runs a function on Deliver.
type deliverFunc func(ctx context.Context, clientID, secret string) error

func (f deliverFunc) Deliver(ctx context.Context, clientID, secret string) error {
	return f(ctx, clientID, secret)
}

func (deliverFunc) Retract(context.Context) error { return nil }

func (k *sink) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.delivered)
}

// checkNoLostSecret asserts that every secret the fake issued was delivered,
// or belongs to a client that is now revoked, or to a client whose id the
// returned error names (the user was told to revoke it by hand).
func checkNoLostSecret(t *testing.T, s *fakeStore, sinks []*sink, errText string) {
	t.Helper()
	s.mu.Lock()
	secrets := make(map[string]string, len(s.secrets))
	for id, sec := range s.secrets {
		secrets[id] = sec
	}
	s.mu.Unlock()
	for id, sec := range secrets {
		c, _ := s.client(id)
		if !c.Active {
			continue
		}
		got := false
		for _, k := range sinks {
			k.mu.Lock()
			if k.delivered[id] == sec {
				got = true
			}
			k.mu.Unlock()
		}
		if !got && !strings.Contains(errText, id) {
			t.Errorf("client %s is active but its secret reached no sink and the error does not name it (err %q)", id, errText)
		}
	}
}

// checkNoCanary asserts the secret canary appears in no error, Note or Change.
func checkNoCanary(t *testing.T, res reconcile.Result, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), canary) {
		t.Errorf("error leaks a secret: %q", err.Error())
	}
	for _, n := range res.Notes {
		if strings.Contains(n, canary) {
			t.Errorf("note leaks a secret: %q", n)
		}
	}
	if s := fmt.Sprintf("%v %#v", res.Changes, res.Changes); strings.Contains(s, canary) {
		t.Errorf("changes leak a secret: %s", s)
	}
	if err != nil && res.Secret != "" {
		t.Errorf("Result.Secret is set on an error return")
	}
}
