package safetext

import (
	"cmp"
	"slices"
	"sync"
	"testing"
)

func TestSecretsLongestFirst(t *testing.T) {
	tests := []struct {
		name string
		add  []string
		in   string
		want string
	}{
		{"shorter added first is inside a longer one", []string{"sig", "header.payload.sig"}, "a header.payload.sig b sig", "a * b *"},
		{"longer added first", []string{"header.payload.sig", "sig"}, "a header.payload.sig b sig", "a * b *"},
		{"duplicates and empty ignored", []string{"x", "", "x"}, "xyx", "*y*"},
		{"none", nil, "plain", "plain"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Secrets
			for _, v := range tc.add {
				s.Add(v)
			}
			if got := s.Redact(tc.in, "*"); got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestSecretsOrder checks the kept order equals a stable longest-first
// sort of the values in the order they were added.
func TestSecretsOrder(t *testing.T) {
	add := []string{"bb", "a", "cccc", "dd", "e", "ffff", "bb"}
	var s Secrets
	news := 0
	for _, v := range add {
		if s.Add(v) {
			news++
		}
	}
	if news != 6 {
		t.Errorf("Add reported %d new values, want 6", news)
	}
	want := slices.Compact(slices.Clone(add[:6]))
	sortLongestFirst(want)
	if !slices.Equal(s.vals, want) {
		t.Errorf("order = %q, want %q", s.vals, want)
	}
}

func TestSecretsConcurrent(t *testing.T) {
	var s Secrets
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s.Add(string(rune('a' + i)))
			_ = s.Redact("abcdefgh", "")
		})
	}
	wg.Wait()
	if got := s.Redact("abcdefgh", ""); got != "" {
		t.Errorf("Redact after concurrent adds = %q, want all removed", got)
	}
}

// sortLongestFirst is the order Redact applies, written the obvious way.
func sortLongestFirst(vals []string) {
	slices.SortStableFunc(vals, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
}
