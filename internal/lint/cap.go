package lint

import (
	"cmp"
	"slices"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// Omitted counts the findings of one rule and severity that a File does not
// list (see Cap). It is diag's type, which a Collector counts.
type Omitted = diag.Omitted

// Cap returns f listing at most max findings of each rule — the first ones
// in f.Diags' order, which is sorted by position — with the others counted
// in Omitted; max <= 0 lists all. It allocates only when something is cut,
// and capping a capped File changes nothing. It is the report's cap
// (report.Cap) for findings that were not collected with a cap (plan,
// apply, dev, broker); LintFiles caps as the findings come
// (Config.MaxPerRule, diag.Collector), so the files waiting to be emitted
// hold a few hundred findings each, not a hundred thousand, and the
// report's cap then finds nothing to cut.
func Cap(f File, max int) File {
	if max <= 0 || len(f.Diags) <= max {
		return f
	}
	counts := map[string]int{}
	over := false
	for _, d := range f.Diags {
		counts[d.Rule]++
		if counts[d.Rule] > max {
			over = true
		}
	}
	if !over {
		return f
	}
	kept := make(diag.List, 0, min(len(f.Diags), len(counts)*max))
	type key struct {
		rule string
		sev  diag.Severity
	}
	cut := map[key]int{}
	clear(counts)
	for _, d := range f.Diags {
		counts[d.Rule]++
		if counts[d.Rule] <= max {
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
