package diag

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Rule is one rule: its stable ID, its severity, what it finds and where it
// is documented. A package declares each of its rules once, as a *Rule
// returned by RuleSet.Add, and reports every finding with that value (see
// Rule.Finding), so the severity of a finding is always its rule's: no
// call site names a severity, and a misspelt rule does not compile. The
// catalogue (Catalog), SARIF's rule list, `takos-apply rules` and
// `explain`, and the README's rule tables (checked by a test) all read
// these same values.
//
// The one exception is the deploy environment: a rule may be stricter in
// production than in development (a loopback redirect URI is a warning in
// production and information in development). Only package lint knows the
// environment (--env); it reports with Severity(production), and every
// other reporter uses the production severity, which for its rules is the
// same in both environments.
type Rule struct {
	// ID is the stable kebab-case identifier findings carry.
	ID string
	// Production and Development are the severities the rule reports in each
	// deploy environment; most rules report the same in both, and
	// production is never the laxer of the two.
	Production  Severity
	Development Severity
	// Summary is one line (Markdown code spans allowed) saying what the rule
	// finds; it is SARIF's shortDescription and what `takos-apply rules`
	// prints.
	Summary string
	// HelpURL points at the documentation of the rule.
	HelpURL string
	// Ref names the public source the rule follows, such as "RFC 9700
	// §2.6", or "Takos" for a rule that models the Takos server; "" for a
	// rule of takos-apply's own.
	Ref string
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

// Finding returns a finding of r in file at pos: the rule's ID and its
// production severity (see Rule for the environment). r must not be nil.
func (r *Rule) Finding(file string, pos Pos, msg string) Diagnostic {
	return Diagnostic{File: file, Pos: pos, Severity: r.Production, Rule: r.ID, Message: msg}
}

// String returns the rule's ID, so that a Rule prints as the ID findings
// carry.
func (r *Rule) String() string { return r.ID }

// RuleSet is the rules one package declares, in declaration order. Each
// rule is a package-level variable initialised by Add, which is both its
// declaration and its registration:
//
//	var rules diag.RuleSet
//	var ruleScopeEmpty = rules.Add(diag.Rule{ID: "scope-empty", Production: diag.Error, ...})
//
// so no rule can be reported without being in its package's set. A zero
// RuleSet is empty and ready to use.
type RuleSet struct {
	rules []*Rule
	// free is the unused rest of the block the next rule is stored in:
	// rules are allocated in blocks, so a program's hundred-odd rules cost
	// a few allocations at start-up, not one each.
	free []Rule
}

// ruleBlock is how many rules one allocation of a RuleSet holds.
const ruleBlock = 32

// Add registers r and returns the value findings of the rule are reported
// with. It is meant for package initialisation; a rule is not changed after
// it is added.
func (s *RuleSet) Add(r Rule) *Rule {
	if len(s.free) == 0 {
		s.free = make([]Rule, ruleBlock)
		if s.rules == nil {
			s.rules = make([]*Rule, 0, ruleBlock)
		}
	}
	p := &s.free[0]
	*p = r
	s.free = s.free[1:]
	s.rules = append(s.rules, p)
	return p
}

// Rules returns a copy of every rule in declaration order. The caller owns
// the slice.
func (s *RuleSet) Rules() []Rule {
	out := make([]Rule, len(s.rules))
	for i, r := range s.rules {
		out[i] = *r
	}
	return out
}

// Catalog is a read-only set of rules keyed by ID.
type Catalog struct {
	rules []Rule // sorted by ID
}

// NewCatalog merges the rule sets of the packages that report findings. It
// refuses an empty or duplicate ID, an empty or multi-line summary, a rule
// laxer in production than in development and a security score outside
// 0–10, so that a catalogue that exists is one every output format can
// print.
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
		case r.Production < r.Development:
			errs = append(errs, fmt.Errorf("rule %q is %v in production but %v in development; production must be at least as strict", r.ID, r.Production, r.Development))
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
