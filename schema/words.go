// How violations name fields and values, and "did you mean" suggestions.

package schema

import (
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/takos-dev/takos-apply/internal/fuzzy"
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// suggest picks the allowed property closest to key, or "" when none is
// close enough to be a plausible typo. Properties the object already has are
// not suggested: "did you mean redirectUris" is useless next to one.
func suggest(key string, allowed map[string]any, present map[string]any) string {
	return suggestFrom(key, candidates(allowed, present))
}

// candidate is an allowed property that suggest may name.
type candidate struct {
	name, lower string
	runes       int     // in lower
	ascii       charset // the ASCII characters of lower
}

// charset is a set of ASCII characters.
type charset [2]uint64

func asciiSet(s string) charset {
	var set charset
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x80 {
			set[c>>6] |= 1 << (c & 63)
		}
	}
	return set
}

// missing counts the ASCII bytes of s that are not in set: each is an edit
// (a deletion or a substitution) between s and a string made of set, so it
// bounds their edit distance from below.
func (set charset) missing(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x80 && set[c>>6]&(1<<(c&63)) == 0 {
			n++
		}
	}
	return n
}

// candidates returns the allowed properties present does not hold, in
// name order, for suggestFrom: the keys of one mapping share them.
func candidates(allowed, present map[string]any) []candidate {
	out := make([]candidate, 0, len(allowed))
	for name := range allowed {
		if _, dup := present[name]; dup {
			continue
		}
		lc := strings.ToLower(name)
		out = append(out, candidate{name: name, lower: lc, runes: utf8.RuneCountInString(lc), ascii: asciiSet(lc)})
	}
	slices.SortFunc(out, func(a, b candidate) int { return strings.Compare(a.name, b.name) })
	return out
}

// suggestFrom is suggest over candidates (sorted by name): the best score
// wins, the first name among equal scores.
func suggestFrom(key string, cands []candidate) string {
	lk := strings.ToLower(key)
	n := utf8.RuneCountInString(lk)
	budget := typoBudget(len(lk))
	keySet := asciiSet(lk)
	best, bestScore := "", 1<<30
	for _, c := range cands {
		lc := c.lower
		score := -1
		switch {
		case lc == lk:
			score = 0
		case plural(lc, lk) || plural(lk, lc):
			score = 1
		case len(lk) >= 3 && strings.HasPrefix(lc, lk):
			score = 3
		case c.runes-n > budget || n-c.runes > budget,
			c.ascii.missing(lk) > budget, keySet.missing(lc) > budget:
			// Too far apart, in length or in the characters they are
			// made of, for the edit distance to be within budget
			// (DistanceAtMost would say so too, more slowly).
		default:
			if d, ok := fuzzy.DistanceAtMost(lk, lc, budget); ok {
				score = 1 + d
			}
		}
		if score >= 0 && score < bestScore {
			best, bestScore = c.name, score
		}
	}
	return best
}

// plural reports whether p is s with an "s" or "es" appended (without
// building the strings: suggest runs for every unknown key of a file).
func plural(p, s string) bool {
	rest, ok := strings.CutPrefix(p, s)
	return ok && (rest == "s" || rest == "es")
}

// typoBudget is the edit distance tolerated for a key of n characters: one
// slip in a short name, two in a long one.
func typoBudget(n int) int {
	switch {
	case n <= 3:
		return 0
	case n <= 5:
		return 1
	case n <= 10:
		return 2
	default:
		return 3
	}
}

// name renders an instance location the way users write it:
// spec.routes[0].methods[1], spec.resources["a.b"]; the root is "the
// manifest". A key that is not a short identifier is quoted (and cut) as
// user text.
func (f *flattener) name(tokens []string) string {
	if len(tokens) == 0 {
		return f.c.opts.Document
	}
	var b strings.Builder
	v := f.root
	for i, tok := range tokens {
		arr, isArr := v.([]any)
		switch {
		case isArr:
			b.WriteString("[" + tok + "]")
			if n, err := strconv.Atoi(tok); err == nil && n >= 0 && n < len(arr) {
				v = arr[n]
			} else {
				v = nil
			}
			continue
		case plainKey(tok) && len(tok) <= maxQuoted:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(tok)
		default:
			b.WriteString("[" + quote(tok) + "]")
		}
		if m, ok := v.(map[string]any); ok {
			v = m[tok]
		} else {
			v = nil
		}
	}
	return b.String()
}

// where names the object holding a field, for required/unknown messages.
func (f *flattener) where(tokens []string) string {
	if len(tokens) == 0 {
		return "at the top level"
	}
	return "in " + f.name(tokens)
}

func plainKey(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '$' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

// jsonType names the JSON type of a JSON-shaped value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

func typeList(want []string) string {
	words := make([]string, len(want))
	for i, w := range want {
		switch w {
		case "object", "array", "integer":
			words[i] = "an " + w
		default:
			words[i] = "a " + w
		}
	}
	switch len(words) {
	case 0:
		return "of another type"
	case 1:
		return words[0]
	default:
		return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
	}
}

// maxQuoted caps, in runes, the manifest text one message quotes.
const maxQuoted = 60

// quote renders text from the manifest (a key, a string value) for a
// message: Go-quoted, so control and invisible characters show as escapes,
// and cut at maxQuoted runes (safetext.Quote).
func quote(s string) string { return safetext.Quote(s, maxQuoted) }

// display renders a value for a message: strings quoted (and shortened),
// numbers and booleans as written, containers by their type.
func display(v any) string {
	switch t := v.(type) {
	case string:
		return quote(t)
	case json.Number:
		return t.String()
	case nil:
		return "null"
	case bool, float64, float32, int, int64:
		return fmt.Sprint(t)
	default:
		return "an " + jsonType(v)
	}
}

func joinValues(vs []any) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		if s, ok := v.(string); ok {
			parts[i] = s
		} else {
			parts[i] = display(v)
		}
	}
	return strings.Join(parts, ", ")
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

func formatName(f string) string {
	switch f {
	case "uri":
		return "an absolute URI (for example https://example.com/terms)"
	case "email":
		return "an email address"
	default:
		return "a valid " + f
	}
}
