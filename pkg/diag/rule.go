package diag

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Rule is the catalogue entry of one rule: what the README tables, SARIF's
// rule list and suppressions know about a Diagnostic.Rule.
type Rule struct {
	// ID is the stable kebab-case identifier findings carry.
	ID string
	// Production and Development are the severities the rule reports in each
	// deploy environment; most rules report the same in both.
	Production  Severity
	Development Severity
	// Summary is one line (Markdown code spans allowed) saying what the rule
	// finds; it is SARIF's shortDescription and the README table's text.
	Summary string
	// HelpURL points at the documentation of the rule.
	HelpURL string
	// SecuritySeverity is a CVSS-style score (0.1–10.0) for rules that guard
	// against an attack, such as an open redirect or consent-screen
	// spoofing; 0 for rules that only keep a manifest correct. Code
	// scanning ranks security alerts by it.
	SecuritySeverity float64
}

// Severity returns the rule's severity in production or development.
func (r Rule) Severity(production bool) Severity {
	if production {
		return r.Production
	}
	return r.Development
}

// Catalog is a read-only set of rules keyed by ID.
type Catalog struct {
	rules []Rule // sorted by ID
}

// NewCatalog merges the rule sets of the packages that report findings. It
// refuses an empty or duplicate ID, an empty or multi-line summary and a
// security score outside 0–10, so that a catalogue that exists is one every
// output format can print.
func NewCatalog(sets ...[]Rule) (*Catalog, error) {
	var all []Rule
	for _, s := range sets {
		all = append(all, s...)
	}
	slices.SortFunc(all, func(a, b Rule) int { return cmp.Compare(a.ID, b.ID) })
	var errs []error
	for i, r := range all {
		switch {
		case r.ID == "":
			errs = append(errs, fmt.Errorf("rule with summary %q has no ID", r.Summary))
		case i > 0 && all[i-1].ID == r.ID:
			errs = append(errs, fmt.Errorf("rule %q is registered twice", r.ID))
		case r.Summary == "" || strings.ContainsAny(r.Summary, "\r\n"):
			errs = append(errs, fmt.Errorf("rule %q needs a one-line summary", r.ID))
		case r.SecuritySeverity < 0 || r.SecuritySeverity > 10:
			errs = append(errs, fmt.Errorf("rule %q has security severity %v outside 0–10", r.ID, r.SecuritySeverity))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Catalog{rules: all}, nil
}

// MustCatalog is NewCatalog for package-level catalogues built from
// literals: an invalid one is a programming error that every test run
// reports.
func MustCatalog(sets ...[]Rule) *Catalog {
	c, err := NewCatalog(sets...)
	if err != nil {
		panic("diag: invalid rule catalogue: " + err.Error())
	}
	return c
}

// Rules returns every rule sorted by ID. The caller owns the slice.
func (c *Catalog) Rules() []Rule { return slices.Clone(c.rules) }

// Lookup returns the rule with the given ID.
func (c *Catalog) Lookup(id string) (Rule, bool) {
	i, ok := slices.BinarySearchFunc(c.rules, id, func(r Rule, id string) int { return cmp.Compare(r.ID, id) })
	if !ok {
		return Rule{}, false
	}
	return c.rules[i], true
}

// Len is the number of rules.
func (c *Catalog) Len() int { return len(c.rules) }
