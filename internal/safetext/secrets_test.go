package safetext

import (
	"cmp"
	"errors"
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

// TestSecretsMask: the mask hook takes every value once, those registered
// before MaskWith too; a failed mask is not recorded and is tried again,
// while the value is redacted all along.
func TestSecretsMask(t *testing.T) {
	var s Secrets
	s.Add("early-secret")
	var masked []string
	fail := true
	if err := s.MaskWith(func(v string) error {
		if v == "flaky-secret" && fail {
			return errors.New("stdout closed")
		}
		masked = append(masked, v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !s.Add("late-secret") || s.Add("late-secret") || s.Add("early-secret") {
		t.Error("Add did not report new values as new and known ones as known")
	}
	if err := s.Mask("flaky-secret"); err == nil {
		t.Error("Mask hid the hook's error")
	}
	if got := s.Redact("flaky-secret", "***"); got != "***" {
		t.Errorf("a value whose mask failed is shown: %q", got)
	}
	fail = false
	if err := s.Mask("flaky-secret"); err != nil {
		t.Errorf("Mask after the hook recovered = %v", err)
	}
	if err := s.Mask("flaky-secret"); err != nil {
		t.Error(err)
	}
	if want := []string{"early-secret", "late-secret", "flaky-secret"}; !slices.Equal(masked, want) {
		t.Errorf("masked %q, want %q (each once)", masked, want)
	}
}

// TestSecretsShape: credentials are redacted by shape whatever their value,
// a nil registry included; other text is not.
func TestSecretsShape(t *testing.T) {
	var none *Secrets
	for in, want := range map[string]string{
		"bad token tak_pat_abc123 here":               "bad token * here",
		"jwt eyJhbGciOi.eyJzdWIi.c2ln end":            "jwt * end",
		"broker takb_eyJydWxlIjoi.c2lnbmF0 token":     "broker * token",
		"eyJ alone, a.b.c and tak_pat alone are fine": "eyJ alone, a.b.c and tak_pat alone are fine",
	} {
		if got := none.Redact(in, "*"); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
