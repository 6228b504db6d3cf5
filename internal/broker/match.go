package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

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

// Claims are a token's claims as rules see them: string claims as they
// are, integers written in canonical form (GitHub writes its ids as
// strings, but a claims file may not) as their decimal text. Nothing else
// becomes a claim: see DecodeClaims.
type Claims map[string]string

// canonicalInt is an integer as JSON writes it canonically: no sign but
// a minus, no leading zero, no fraction, no exponent.
var canonicalInt = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^-?(0|[1-9][0-9]{0,30})$`) })

// DecodeClaims reads a JWT payload or a claims file (a JSON object) the
// one way the server and broker check both use. A string claim is kept as
// it is; a number only when it is an integer in canonical form (41.6,
// 4.2e1, 042.0 and 1e3 are not: a rule for "42" must not match what only
// rounds to 42). Any other value of a claim a rule can match is left out,
// and notes say which and why, so a decision never depends on a reader's
// rounding.
func DecodeClaims(payload []byte) (Claims, []string, error) {
	var all map[string]json.RawMessage
	if err := json.Unmarshal(payload, &all); err != nil || all == nil {
		return nil, nil, errors.New("not a JSON object of claims")
	}
	c := Claims{}
	var notes []string
	for k, raw := range all {
		var s string
		// A JSON null decodes into a string without error: it must not
		// become the claim "".
		if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
			c[k] = s
			continue
		}
		text := strings.TrimSpace(string(raw))
		if canonicalInt().MatchString(text) && text != "-0" {
			c[k] = text
			continue
		}
		if slices.Contains(MatchClaims[:], k) {
			notes = append(notes, fmt.Sprintf("claim %s is %s, which is neither a string nor an integer written in canonical form, so no rule can match it",
				k, safetext.Quote(text, 60)))
		}
	}
	slices.Sort(notes)
	return c, notes, nil
}

// Miss says why one rule did not match.
type Miss struct {
	Rule   string
	Reason string
}

// Decision is the outcome of evaluating a policy against claims: Rule is
// the first matching rule (nil: denied), Misses say why each earlier (or,
// when denied, every) rule did not match, and Notes what the claims
// themselves held that no rule can use.
type Decision struct {
	Rule   *Rule
	Misses []Miss
	Notes  []string
	// Untrusted is set when the token comes from an event that can run
	// code or inputs of a fork or an outsider (UntrustedEvents) and no
	// matching rule named it.
	Untrusted bool
}

// UntrustedEvents are the workflow events whose runs carry code or inputs
// that a fork or an outsider controls, with the base repository's OIDC
// permission; a token from one is refused unless the matching rule names
// the event literally in event_name. Event names are compared without
// regard to case. Why each is here (README "The trust policy"):
var UntrustedEvents = []string{
	"pull_request",                // a fork's code, where fork runs get tokens
	"pull_request_target",         // the base's context with a fork's head and inputs
	"pull_request_review",         // anyone who can review a fork's pull request
	"pull_request_review_comment", // anyone who can comment on a pull request
	"issue_comment",               // anyone who can comment, on issues and pull requests
	"issues",                      // anyone who can open an issue
	"discussion",                  // anyone who can open a discussion
	"discussion_comment",          // anyone who can comment on one
	"workflow_run",                // follows runs that forks trigger, with their artifacts
	"fork",                        // anyone who can fork the repository
	"watch",                       // anyone who can star it
	"gollum",                      // anyone who can edit an open wiki
}

// Decide decodes payload (DecodeClaims) and evaluates the policy: what the
// server does with a verified token and broker check with a captured one
// or a claims file.
func (p *Policy) Decide(payload []byte) (Decision, Claims, error) {
	c, notes, err := DecodeClaims(payload)
	if err != nil {
		return Decision{}, nil, err
	}
	d := p.Evaluate(c)
	d.Notes = append(notes, d.Notes...)
	return d, c, nil
}

// Evaluate tries the rules in order. A rule matches when every condition
// holds; a token from an untrusted event additionally needs the rule to
// list that event by name in event_name (a glob or an absent event_name
// does not count).
func (p *Policy) Evaluate(c Claims) Decision {
	var d Decision
	event := c["event_name"]
	untrusted := slices.Contains(UntrustedEvents, strings.ToLower(event))
	for i := range p.Rules {
		r := &p.Rules[i]
		if reason := r.miss(c); reason != "" {
			d.Misses = append(d.Misses, Miss{Rule: r.Name, Reason: reason})
			continue
		}
		if untrusted && !r.namesEvent(event) {
			d.Untrusted = true
			d.Misses = append(d.Misses, Miss{Rule: r.Name, Reason: fmt.Sprintf(
				"event_name %s can run code or inputs of a fork or an outsider; the rule must list it by name in event_name to allow it", safetext.Quote(event, 60))})
			continue
		}
		d.Rule = r
		return d
	}
	return d
}

// namesEvent reports whether the rule lists event literally (no glob) in
// event_name, ignoring case.
func (r *Rule) namesEvent(event string) bool {
	for _, c := range r.Match {
		if c.Claim != "event_name" {
			continue
		}
		for _, p := range c.Patterns {
			if !strings.ContainsAny(p, "*?") && strings.EqualFold(p, event) {
				return true
			}
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
			why := fmt.Sprintf("%s is %s, rule wants %s", cond.Claim, safetext.Quote(v, 200), patterns(cond.Patterns))
			if cond.Claim == "sub" {
				why += subFormHint(cond.Patterns, v)
			}
			return why
		}
	}
	return ""
}

// GitHub's subject forms: repo:OWNER/REPO:… and, for repositories created
// or renamed from 2026-07-15 (and those that opt in), the immutable
// repo:OWNER@OWNER_ID/REPO@REPO_ID:….
var (
	oldSub = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^repo:([^/@:*?]+)/([^/@:*?]+):`) })
	newSub = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^repo:([^/@:]+)@([0-9]+)/([^/@:]+)@([0-9]+):`) })
)

// subFormHint explains a sub mismatch that is only the subject's form: the
// token carries the immutable form and a pattern the old one.
func subFormHint(pats []string, sub string) string {
	m := newSub().FindStringSubmatch(sub)
	if m == nil {
		return ""
	}
	for _, p := range pats {
		o := oldSub().FindStringSubmatch(p)
		if o == nil {
			continue
		}
		fix := "repo:" + o[1] + "@" + m[2] + "/" + o[2] + "@" + m[4] + ":" + p[len(o[0]):]
		if !strings.EqualFold(o[1], m[1]) || !strings.EqualFold(o[2], m[3]) {
			fix = "repo:OWNER@OWNER_ID/REPO@REPO_ID:" + p[len(o[0]):]
		}
		return fmt.Sprintf("; the pattern %s uses the old subject form repo:OWNER/REPO:…, but this token's sub has GitHub's immutable form "+
			"(repositories created or renamed from 2026-07-15), which the old form never matches: write %s, or match repository_id instead",
			safetext.Quote(p, 200), safetext.Quote(fix, 200))
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
