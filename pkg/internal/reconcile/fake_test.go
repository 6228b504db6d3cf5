package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/takos-dev/takos-apply/pkg/internal/reconcile"
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
// on the Nth call of an operation. It is safe for concurrent use; CreatedAt
// is assigned under the lock from a strictly increasing clock, like a
// database that serialises inserts.
type fakeStore struct {
	mu      sync.Mutex
	clients []reconcile.Client
	secrets map[string]string // secret issued by Create, by client id
	calls   []string
	patches []reconcile.Patch
	counts  map[string]int
	faults  map[faultKey]fault
	seq     int
	epoch   time.Time

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
		epoch:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
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
// whose secret is not this test's concern. Missing id and time are assigned.
func (s *fakeStore) inject(c reconcile.Client) reconcile.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	if c.ID == "" {
		c.ID = fmt.Sprintf("c%03d", s.seq)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.epoch.Add(time.Duration(s.seq) * time.Second)
	}
	s.clients = append(s.clients, c)
	return c
}

// forceRevoke revokes id behind the engine's back (a concurrent run).
func (s *fakeStore) forceRevoke(id string) {
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
	s.seq++
	c := reconcile.Client{
		ID:           fmt.Sprintf("c%03d", s.seq),
		Name:         d.Name,
		RedirectURIs: slices.Clone(d.RedirectURIs),
		Scopes:       slices.Clone(d.Scopes),
		LogoURI:      d.LogoURI,
		TOSURI:       d.TOSURI,
		PolicyURI:    d.PolicyURI,
		Active:       true,
		CreatedAt:    s.epoch.Add(time.Duration(s.seq) * time.Second),
	}
	secret := fmt.Sprintf("%s-%03d-q9Xz", canary, s.seq)
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

// sink is a Deliver target that records what reached it and fails on chosen
// calls.
type sink struct {
	mu        sync.Mutex
	n         int
	failOn    map[int]bool
	quoteErr  bool              // the failure message quotes the secret
	delivered map[string]string // secret by client id
	results   []reconcile.Result
}

func newSink(failOn ...int) *sink {
	k := &sink{failOn: map[int]bool{}, delivered: map[string]string{}}
	for _, n := range failOn {
		k.failOn[n] = true
	}
	return k
}

func (k *sink) deliver(ctx context.Context, r reconcile.Result) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.n++
	if k.failOn[k.n] {
		if k.quoteErr {
			return fmt.Errorf("writing client_secret=%s to GITHUB_OUTPUT: disk full", r.Secret)
		}
		return errors.New("writing GITHUB_OUTPUT: disk full")
	}
	if r.Secret == "" || r.ClientID == "" {
		return errors.New("deliver called without a secret or client id")
	}
	k.delivered[r.ClientID] = r.Secret
	k.results = append(k.results, r)
	return nil
}

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
