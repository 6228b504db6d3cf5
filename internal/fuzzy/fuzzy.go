// Package fuzzy measures how far apart two words are, for the "did you
// mean" hints of the schema (field names) and the lint rules (scopes).
package fuzzy

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

// Closest returns the candidate nearest to word, for a "did you mean"
// hint: the first of the nearest within half of word's length (at least
// 1), or "" when none is that close. An exact match is returned as is.
func Closest(word string, candidates []string) string {
	best, bestDist := "", max(1, len([]rune(word))/2)+1
	for _, c := range candidates {
		if d := Distance(word, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}
