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
