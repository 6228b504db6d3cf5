package fuzzy

import (
	"strings"
	"testing"
)

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"scopes", "scopes", 0},
		{"scoeps", "scopes", 1}, // adjacent transposition
		{"scope", "scopes", 1},
		{"file:read", "files:read", 1},
		{"kitten", "sitting", 3},
		{"descirption", "description", 1},
		{"ca", "abc", 3}, // OSA, unlike full Damerau-Levenshtein (2)
		{"ünï", "uni", 2},
	}
	for _, tc := range tests {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetry)", tc.b, tc.a, got, tc.want)
		}
	}
}

// TestDistanceAtMost compares the banded search with the full one on every
// pair of short words over a small alphabet (where transpositions and
// near-misses abound) and every bound.
func TestDistanceAtMost(t *testing.T) {
	var words []string
	var gen func(prefix string, n int)
	gen = func(prefix string, n int) {
		words = append(words, prefix)
		if n == 0 {
			return
		}
		for _, c := range []string{"a", "b", "é"} {
			gen(prefix+c, n-1)
		}
	}
	gen("", 5)
	// Past the stack buffers.
	long := strings.Repeat("ab", 20)
	words = append(words, long, long+"a", "b"+long, strings.Repeat("ba", 20), long[:39]+"é")
	for _, a := range words {
		for _, b := range words {
			want := Distance(a, b)
			for k := -1; k <= 6; k++ {
				got, ok := DistanceAtMost(a, b, k)
				if ok != (want <= k) || ok && got != want {
					t.Fatalf("DistanceAtMost(%q, %q, %d) = %d, %v; Distance = %d", a, b, k, got, ok, want)
				}
			}
		}
	}
}

func TestClosest(t *testing.T) {
	cmds := []string{"lint", "plan", "apply", "auth", "broker", "schema", "version"}
	for _, tc := range []struct{ word, want string }{
		{"lnit", "lint"}, {"plna", "plan"}, {"aply", "apply"}, {"lint", "lint"},
		{"x", ""}, {"frobnicate", ""}, {"", ""}, {"brokr", "broker"},
		{"jsn", "json"}, {"yaml", ""},
	} {
		cands := cmds
		if tc.word == "jsn" || tc.word == "yaml" {
			cands = []string{"text", "json", "github", "sarif"}
		}
		if got := Closest(tc.word, cands); got != tc.want {
			t.Errorf("Closest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
}

// TestClosestBounded checks that Closest, which measures with a shrinking
// bound, picks what the full distance would: the first of the nearest
// within half the word's length.
func TestClosestBounded(t *testing.T) {
	words := []string{"", "a", "ab", "ba", "abc", "acb", "bca", "aaaa", "abab", "baba", "abcde", "edcba", "ééab", strings.Repeat("ab", 20)}
	want := func(word string, cands []string) string {
		best, bestDist := "", max(1, len([]rune(word))/2)+1
		for _, c := range cands {
			if d := Distance(word, c); d < bestDist {
				best, bestDist = c, d
			}
		}
		return best
	}
	for _, w := range words {
		for i := range words {
			// Every rotation of the candidates, so ties are met in every order.
			var cands []string
			for _, c := range append(append([]string{}, words[i:]...), words[:i]...) {
				if c != w { // an exact match would end every search at 0
					cands = append(cands, c)
				}
			}
			if got, exp := Closest(w, cands), want(w, cands); got != exp {
				t.Fatalf("Closest(%q, %q) = %q, want %q", w, cands, got, exp)
			}
		}
	}
}
