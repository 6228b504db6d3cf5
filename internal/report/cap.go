package report

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// MaxPerRule is how many findings of one rule a report lists for one file,
// in every format. A manifest with a hundred thousand duplicate scopes
// would otherwise print a hundred thousand snippets (and a SARIF log of
// tens of megabytes); the first ones say all there is to say, and the rest
// are counted (File.Omitted) so nothing disappears silently.
const MaxPerRule = 100

// Omitted counts the findings of one rule and severity that a File does not
// list.
type Omitted struct {
	Rule     string
	Severity diag.Severity
	Count    int
}

// Cap returns f listing at most MaxPerRule findings of each rule — the
// first ones in f.Diags' order, which is sorted by position — with the
// others counted in Omitted. It allocates only when something is cut, and
// capping a capped File changes nothing. Summaries count the omitted
// findings, so exit codes do not change.
func Cap(f File) File {
	if len(f.Diags) <= MaxPerRule {
		return f
	}
	counts := map[string]int{}
	over := false
	for _, d := range f.Diags {
		counts[d.Rule]++
		if counts[d.Rule] > MaxPerRule {
			over = true
		}
	}
	if !over {
		return f
	}
	kept := make(diag.List, 0, min(len(f.Diags), len(counts)*MaxPerRule))
	type key struct {
		rule string
		sev  diag.Severity
	}
	cut := map[key]int{}
	clear(counts)
	for _, d := range f.Diags {
		counts[d.Rule]++
		if counts[d.Rule] <= MaxPerRule {
			kept = append(kept, d)
			continue
		}
		cut[key{d.Rule, d.Severity}]++
	}
	omitted := slices.Clone(f.Omitted)
	for k, n := range cut {
		omitted = append(omitted, Omitted{Rule: k.rule, Severity: k.sev, Count: n})
	}
	slices.SortFunc(omitted, func(a, b Omitted) int {
		return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(b.Severity, a.Severity))
	})
	f.Diags, f.Omitted = kept, omitted
	return f
}

// omittedLine is the text and log line of an Omitted: not a finding line
// ("path:line:col: severity: …"), so problem matchers do not read it as
// one.
func omittedLine(path string, o Omitted) string {
	return fmt.Sprintf("%s: %d more %s findings of rule %s are not shown: a report lists the first %d findings of each rule in a file",
		displayPath(path), o.Count, o.Severity, inline(o.Rule), MaxPerRule)
}
