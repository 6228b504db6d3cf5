// Package fuzzy measures how far apart two words are, for the "did you
// mean" hints of the schema (field names) and the lint rules (scopes).
package fuzzy

import "unicode/utf8"

// Distance is the optimal-string-alignment Damerau–Levenshtein distance
// between a and b, counted in runes: insertions, deletions, substitutions
// and transpositions of adjacent runes each cost 1 — a transposition is
// the most common typo ("scoeps"), so it must not cost 2.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// DistanceAtMost returns Distance(a, b) and true when it is at most k, and
// false otherwise. It computes only the cells within k of the diagonal and
// stops as soon as a row exceeds k, so it costs O(k·len) instead of
// O(len²): the suggestion searches call it with the largest distance they
// would still suggest, over input an attacker controls.
func DistanceAtMost(a, b string, k int) (int, bool) {
	if k < 0 {
		return 0, false
	}
	if d := utf8.RuneCountInString(a) - utf8.RuneCountInString(b); d > k || -d > k {
		return 0, false
	}
	// Words are short: keep them and the rows on the stack.
	var abuf, bbuf [32]rune
	ra, rb := abuf[:0], bbuf[:0]
	for _, r := range a {
		ra = append(ra, r)
	}
	for _, r := range b {
		rb = append(rb, r)
	}
	n := len(rb)
	var rowBuf [3 * 33]int
	var prev2, prev, cur []int
	if n < 33 {
		prev2, prev, cur = rowBuf[:n+1], rowBuf[33:33+n+1], rowBuf[66:66+n+1]
	} else {
		prev2, prev, cur = make([]int, n+1), make([]int, n+1), make([]int, n+1)
	}
	inf := k + 1
	for j := range prev {
		prev[j] = min(j, inf)
		prev2[j] = inf
	}
	for i := 1; i <= len(ra); i++ {
		lo, hi := max(1, i-k), min(n, i+k)
		cur[0] = min(i, inf)
		// The cells next to the band are read by this row and the next:
		// they are out of reach.
		if lo > 1 {
			cur[lo-1] = inf
		}
		if hi < n {
			cur[hi+1] = inf
		}
		best := cur[0]
		for j := lo; j <= hi; j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			v = min(v, inf)
			cur[j] = v
			best = min(best, v)
		}
		if best > k {
			return 0, false
		}
		prev2, prev, cur = prev, cur, prev2
	}
	if d := prev[n]; d <= k {
		return d, true
	}
	return 0, false
}

// Closest returns the candidate nearest to word, for a "did you mean"
// hint: the first of the nearest within half of word's length (at least
// 1), or "" when none is that close. An exact match is returned as is.
// Each candidate is measured with the bound of the best so far, so a long
// word costs O(bound·len) per candidate, not O(len²).
func Closest(word string, candidates []string) string {
	best, bestDist := "", max(1, len([]rune(word))/2)+1
	for _, c := range candidates {
		if d, ok := DistanceAtMost(word, c, bestDist-1); ok {
			best, bestDist = c, d
		}
	}
	return best
}
