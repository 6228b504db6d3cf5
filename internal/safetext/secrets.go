package safetext

import (
	"slices"
	"strings"
	"sync"
)

// Secrets is a set of secret values to keep out of text, shared by every
// redactor (auth's scrub of tokens, the Actions masker's Redact) so that the
// ordering rule lives in one place: values are replaced longest first,
// because a shorter secret inside a longer one (a token and its bare
// signature, a header value and the token it carries) replaced first would
// leave the rest of the longer one visible. Equal lengths keep the order of
// Add, so the result depends on nothing but the values. The zero value is
// empty and ready; a Secrets is safe for concurrent use.
type Secrets struct {
	mu   sync.Mutex
	vals []string // longest first
}

// Add records v and reports whether it was new; "" is ignored.
func (s *Secrets) Add(v string) bool {
	if v == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.Contains(s.vals, v) {
		return false
	}
	// The insertion point after every value at least as long keeps the
	// order stable for equal lengths.
	i, _ := slices.BinarySearchFunc(s.vals, len(v), func(e string, n int) int {
		if len(e) >= n {
			return -1
		}
		return 1
	})
	s.vals = slices.Insert(s.vals, i, v)
	return true
}

// Contains reports whether v was added.
func (s *Secrets) Contains(v string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Contains(s.vals, v)
}

// Redact returns text with every recorded value replaced by with, longest
// first.
func (s *Secrets) Redact(text, with string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range s.vals {
		text = strings.ReplaceAll(text, v, with)
	}
	return text
}
