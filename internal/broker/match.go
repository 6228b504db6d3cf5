package broker

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// checkGlob validates a pattern: * and ** and ? are the only special
// characters, and *** is refused as a likely typo.
func checkGlob(p string) error {
	if strings.Contains(p, "***") {
		return errors.New("*** is not a pattern; use * (within a path segment) or ** (across /)")
	}
	return nil
}

// globMatch reports whether s matches p: * matches any run of characters
// except /, ** any run including /, ? exactly one character other than /.
// Everything else matches itself. Backtracking is bounded by memoising
// (pattern index, string index) pairs, so hostile patterns stay linear in
// len(p)*len(s).
func globMatch(p, s string) bool {
	if !strings.ContainsAny(p, "*?") {
		return p == s
	}
	seen := map[[2]int]bool{}
	var m func(i, j int) bool
	m = func(i, j int) bool {
		key := [2]int{i, j}
		if v, ok := seen[key]; ok {
			return v
		}
		var ok bool
		switch {
		case i == len(p):
			ok = j == len(s)
		case strings.HasPrefix(p[i:], "**"):
			ok = m(i+2, j) || (j < len(s) && m(i, j+1))
		case p[i] == '*':
			ok = m(i+1, j) || (j < len(s) && s[j] != '/' && m(i, j+1))
		case p[i] == '?':
			ok = j < len(s) && s[j] != '/' && m(i+1, j+1)
		default:
			ok = j < len(s) && p[i] == s[j] && m(i+1, j+1)
		}
		seen[key] = ok
		return ok
	}
	return m(0, 0)
}

// Claims are a token's claims as strings, as rules see them.
type Claims map[string]string

// Miss says why one rule did not match.
type Miss struct {
	Rule   string
	Reason string
}

// Decision is the outcome of evaluating a policy against claims: Rule is
// the first matching rule (nil: denied), Misses say why each earlier (or,
// when denied, every) rule did not match.
type Decision struct {
	Rule   *Rule
	Misses []Miss
	// Untrusted is set when the token comes from a fork-capable event
	// (pull_request, pull_request_target) that no rule named.
	Untrusted bool
}

// Evaluate tries the rules in order. A rule matches when every condition
// holds; a token from an untrusted event additionally needs the rule to
// list that event by name in event_name (a glob or an absent event_name
// does not count).
func (p *Policy) Evaluate(c Claims) Decision {
	var d Decision
	event := c["event_name"]
	untrusted := slices.Contains(untrustedEvents, event)
	for i := range p.Rules {
		r := &p.Rules[i]
		if reason := r.miss(c); reason != "" {
			d.Misses = append(d.Misses, Miss{Rule: r.Name, Reason: reason})
			continue
		}
		if untrusted && !r.namesEvent(event) {
			d.Untrusted = true
			d.Misses = append(d.Misses, Miss{Rule: r.Name, Reason: fmt.Sprintf(
				"event_name %q can run code from a fork; the rule must list it by name in event_name to allow it", event)})
			continue
		}
		d.Rule = r
		return d
	}
	return d
}

func (r *Rule) namesEvent(event string) bool {
	for _, c := range r.Match {
		if c.Claim == "event_name" && slices.Contains(c.Patterns, event) {
			return true
		}
	}
	return false
}

// miss returns why r does not match c, or "".
func (r *Rule) miss(c Claims) string {
	for _, cond := range r.Match {
		v, ok := c[cond.Claim]
		if !ok {
			return fmt.Sprintf("the token has no %s claim (rule wants %s)", cond.Claim, patterns(cond.Patterns))
		}
		if !slices.ContainsFunc(cond.Patterns, func(p string) bool { return globMatch(p, v) }) {
			return fmt.Sprintf("%s is %s, rule wants %s", cond.Claim, safetext.Quote(v, 200), patterns(cond.Patterns))
		}
	}
	return ""
}

func patterns(ps []string) string {
	q := make([]string, len(ps))
	for i, p := range ps {
		q[i] = safetext.Quote(p, 200)
	}
	if len(q) == 1 {
		return q[0]
	}
	return "one of " + strings.Join(q, ", ")
}
