package lint

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// TestMergeSorted: merging the loader's and check's sorted findings gives
// what a stable sort of the two lists one after the other gives.
func TestMergeSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 18))
	gen := func() diag.List {
		l := make(diag.List, rng.IntN(30))
		for i := range l {
			l[i] = diag.Diagnostic{Pos: diag.Pos{Line: rng.IntN(4), Column: rng.IntN(3)}, Severity: diag.Severity(rng.IntN(3)),
				Rule: []string{"a", "b"}[rng.IntN(2)], Message: []string{"x", "y"}[rng.IntN(2)], Pointer: string(rune('0' + i))}
		}
		l.Sort()
		return l
	}
	for range 500 {
		a, b := gen(), gen()
		want := append(slices.Clone(a), b...)
		want.Sort()
		if got := mergeSorted(slices.Clone(a), slices.Clone(b)); !slices.Equal(got, want) {
			t.Fatalf("mergeSorted(%v, %v) = %v, want %v", a, b, got, want)
		}
	}
}
