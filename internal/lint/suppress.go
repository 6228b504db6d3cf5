package lint

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/takos-dev/takos-apply/internal/fuzzy"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// Suppression comments, in the style of golangci-lint's //nolint:
//
//	key: value  # takos-apply:ignore RULE[,RULE…] [-- reason]   that line
//	# takos-apply:ignore RULE…                               the next line
//	# takos-apply:ignore-file RULE…                          the whole file
//
// A directive is a YAML comment: a '#' at the start of a line or after a
// space or tab. (Like every line-based tool, this reads a '#' inside a
// quoted or block scalar as a comment too.)
const (
	directiveLine = "takos-apply:ignore"
	directiveFile = "takos-apply:ignore-file"
)

// directive is one suppression comment.
type directive struct {
	line   int      // 1-based line of the comment
	target int      // line it silences; 0 for the whole file
	rules  []string // as written
	col    int      // 1-based column of the '#'
}

// directives parses the suppression comments of src. The fast path (no
// directive anywhere) costs one bytes.Contains.
func directives(src []byte) []directive {
	if !bytes.Contains(src, []byte(directiveLine)) {
		return nil
	}
	var out []directive
	lines := bytes.Split(src, []byte("\n"))
	for i, raw := range lines {
		line := string(bytes.TrimSuffix(raw, []byte("\r")))
		hash := commentStart(line)
		if hash < 0 {
			continue
		}
		body := strings.TrimSpace(line[hash+1:])
		var fileWide bool
		switch {
		case strings.HasPrefix(body, directiveFile) && isDirectiveEnd(body[len(directiveFile):]):
			fileWide, body = true, body[len(directiveFile):]
		case strings.HasPrefix(body, directiveLine) && isDirectiveEnd(body[len(directiveLine):]):
			body = body[len(directiveLine):]
		default:
			continue
		}
		if reason := strings.Index(body, "--"); reason >= 0 {
			body = body[:reason]
		}
		d := directive{line: i + 1, col: len([]rune(line[:hash])) + 1, rules: strings.FieldsFunc(body, func(r rune) bool {
			return r == ',' || r == ' ' || r == '\t'
		})}
		switch {
		case fileWide:
			d.target = 0
		case strings.TrimSpace(line[:hash]) != "":
			d.target = i + 1 // a trailing comment silences its own line
		default:
			d.target = nextContentLine(lines, i+1)
		}
		out = append(out, d)
	}
	return out
}

// commentStart returns the byte index of the '#' that starts a comment on
// line, or -1.
func commentStart(line string) int {
	for i := 0; i < len(line); i++ {
		if line[i] == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t') {
			return i
		}
	}
	return -1
}

func isDirectiveEnd(rest string) bool {
	return rest == "" || rest[0] == ' ' || rest[0] == '\t'
}

// nextContentLine returns the 1-based number of the first line from index
// i on that is neither blank nor only a comment; -1 if there is none.
func nextContentLine(lines [][]byte, i int) int {
	for ; i < len(lines); i++ {
		t := bytes.TrimSpace(lines[i])
		if len(t) > 0 && t[0] != '#' {
			return i + 1
		}
	}
	return -1
}

// Suppress returns diags without the findings silenced by disable (rule
// IDs dropped everywhere, --disable) or by a takos-apply:ignore comment in
// doc. It never modifies diags. The directives are indexed by the line they
// silence, so a file with a comment on every line and a finding on every
// line costs linear time.
func Suppress(doc *manifest.Document, diags diag.List, disable []string) diag.List {
	if len(diags) == 0 {
		return diags // nothing to silence: the source need not be scanned
	}
	var ds []directive
	if doc != nil {
		ds = directives(doc.Source)
	}
	silenced := silencer(ds, disable)
	if silenced == nil {
		return diags
	}
	out := make(diag.List, 0, len(diags))
	for _, d := range diags {
		if !silenced(d.Rule, d.Pos.Line) {
			out = append(out, d)
		}
	}
	return out
}

// silencer returns diag.Collector.Silenced for ds and disable: whether a
// finding of a rule at a line is dropped, in time independent of the
// number of directives; nil when nothing is, so a file without directives
// pays nothing for them.
func silencer(ds []directive, disable []string) func(rule string, line int) bool {
	if len(ds) == 0 && len(disable) == 0 {
		return nil
	}
	everywhere := map[string]bool{}     // --disable and ignore-file rules
	byLine := map[int]map[string]bool{} // line → rules silenced on it
	for _, r := range disable {
		everywhere[r] = true
	}
	for _, dir := range ds {
		switch {
		case dir.target == 0:
			for _, r := range dir.rules {
				everywhere[r] = true
			}
		case dir.target > 0:
			m := byLine[dir.target]
			if m == nil {
				m = map[string]bool{}
				byLine[dir.target] = m
			}
			for _, r := range dir.rules {
				m[r] = true
			}
		}
	}
	return func(rule string, line int) bool {
		return everywhere[rule] || byLine[line][rule]
	}
}

// checkDirectives reports the suppression comments of the document that
// silence nothing because they name no rule or an unknown one.
func (c *checker) checkDirectives() {
	type known struct{ known, suggest bool }
	ids := map[string]known{} // rule ID → what it is: each is looked up once
	for _, dir := range c.directives {
		pos := diag.Pos{Line: dir.line, Column: dir.col}
		if len(dir.rules) == 0 {
			c.emit(ruleIgnoreDirective, pos, "", func() string {
				return "takos-apply:ignore names no rule, so it silences nothing; write the rule IDs to ignore: # takos-apply:ignore RULE"
			})
			continue
		}
		for _, id := range dir.rules {
			k, seen := ids[id]
			if !seen {
				_, ok := Catalog().Lookup(id)
				// The "did you mean" search compares id with every rule
				// ID; a file of thousands of made-up IDs gets it for the
				// first ones only, which are all a report shows.
				k = known{known: ok, suggest: len(ids) < maxRuleSuggestions}
				ids[id] = k
			}
			if !k.known {
				c.emit(ruleIgnoreDirective, pos, "", func() string {
					return "takos-apply:ignore: " + unknownRule(id, k.suggest).Error()
				})
			}
		}
	}
}

// maxRuleSuggestions bounds the distinct unknown rule IDs of one file that
// get a "did you mean" search.
const maxRuleSuggestions = 100

// KnownRule returns nil for a rule ID of the catalogue and otherwise an
// error that names the closest one.
func KnownRule(id string) error {
	if _, ok := Catalog().Lookup(id); ok {
		return nil
	}
	return unknownRule(id, true)
}

// unknownRule is the error for a rule ID the catalogue does not hold, with
// the closest rule ID when suggest is set and one is close.
func unknownRule(id string, suggest bool) error {
	if suggest {
		if best := ClosestRule(id); best != "" {
			return fmt.Errorf("unknown rule %q; did you mean %q? (the README's Rules section lists them)", id, best)
		}
	}
	return fmt.Errorf("unknown rule %q; the README's Rules section lists the rule IDs", id)
}

// ClosestRule returns the catalogue's rule ID nearest to id in edit
// distance, ignoring case (every ID is lower-case), or "" when none is
// within half of id's length: the "did you mean" of an unknown rule ID.
// An id that is the leading words of rule IDs names the shortest of them
// (redirect-uri-port → redirect-uri-port-invalid, where a plain edit
// distance picks redirect-uri-long).
func ClosestRule(id string) string {
	low := strings.ToLower(id)
	prefixed := ""
	for _, r := range Catalog().Rules() {
		if strings.HasPrefix(r.ID, low+"-") && (prefixed == "" || len(r.ID) < len(prefixed)) {
			prefixed = r.ID
		}
	}
	if prefixed != "" {
		return prefixed
	}
	best, bestDist := "", len(id)/2+1
	for _, r := range Catalog().Rules() {
		// Bounded by the best so far: a far-off ID costs a few cells per
		// rule, not a full edit distance.
		if d, ok := fuzzy.DistanceAtMost(low, r.ID, bestDist-1); ok {
			best, bestDist = r.ID, d
		}
	}
	return best
}
