package lint

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/takos-dev/takos-apply/internal/fuzzy"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// checkOAuth runs the spec.oauth rules; a missing or non-mapping oauth block
// means the manifest declares no client, and nothing is checked.
func (c *checker) checkOAuth() {
	v, _ := c.doc.Get(manifest.PtrOAuth)
	if asMap(v) == nil {
		return
	}
	c.checkScopes()
	c.checkClientName()
	c.checkMetadataURI(manifest.PtrLogoURI, "logoUri")
	c.checkMetadataURI(manifest.PtrTOSURI, "tosUri")
	c.checkMetadataURI(manifest.PtrPolicyURI, "policyUri")
	c.checkRedirectURIs()
	c.checkAutoEnv()
}

// checkScopes compares scopes byte-exactly, as the Takos OAuth server does.
// A scalar or absent scopes field is the schema's finding.
func (c *checker) checkScopes() {
	v, _ := c.doc.Get(manifest.PtrScopes)
	list, ok := v.([]any)
	if !ok {
		return
	}
	if len(list) == 0 {
		c.report(ruleScopeEmpty, manifest.PtrScopes, func() string {
			return "scopes is empty, so Takos stores no allowed scopes and every authorization fails with invalid_scope; list the scopes the app needs"
		})
		return
	}
	// A linear scan: the catalogue has a dozen or so entries, and a set
	// would be rebuilt on every Check.
	known := func(s string) bool { return slices.Contains(c.scopes, s) }
	seen := map[string]int{}     // exact scope → first index
	firstLine := map[int]int{}   // first index → its line, once it is needed
	folded := map[string]int{}   // lower-cased scope → first index
	present := map[string]bool{} // every string scope, for write-implies-read
	for _, e := range list {
		if s, ok := e.(string); ok {
			present[s] = true
		}
	}
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			continue
		}
		p := manifest.PtrScopes + "/" + idx(i)
		if first, dup := seen[s]; dup {
			c.report(ruleScopeDuplicate, p, func() string {
				line, ok := firstLine[first]
				if !ok { // positioned once, not for every copy
					line = c.doc.Pos(manifest.PtrScopes + "/" + idx(first)).Line
					firstLine[first] = line
				}
				return fmt.Sprintf("scope %s is already listed at line %d; remove the duplicate", quote(s), line)
			})
			continue
		}
		seen[s] = i
		low := strings.ToLower(s)
		if first, dup := folded[low]; dup {
			other, _ := list[first].(string)
			c.report(ruleScopeCaseDuplicate, p, func() string {
				return fmt.Sprintf("scope %s differs only in case from %s at line %d; scopes are case-sensitive, so keep only the one you mean", quote(s), quote(other), c.doc.Pos(manifest.PtrScopes+"/"+idx(first)).Line)
			})
		} else {
			folded[low] = i
		}
		if !isScopeToken(s) {
			c.report(ruleScopeGrammar, p, func() string { return scopeTokenProblem(s) })
			continue
		}
		if !known(s) {
			rule := ruleScopeUnknown
			if isRunsScope(s) {
				rule = ruleScopeRuns
			}
			c.report(rule, p, func() string { return c.unknownScope(s) })
			continue
		}
		if res, ok := strings.CutSuffix(s, ":read"); ok && present[res+":write"] && known(res+":write") {
			c.report(ruleScopeImpliedRead, p, func() string {
				return fmt.Sprintf("scope %s is implied by %s on Takos, where write includes read; drop it unless you want the read grant to be explicit", quote(s), quote(res+":write"))
			})
		}
	}
}

// isRunsScope reports the runs scopes, which the Takos docs list but its
// server rejects: they have their own rule.
func isRunsScope(s string) bool { return s == "runs:read" || s == "runs:write" }

// unknownScope returns the message for a scope the catalogue does not
// hold: the runs scopes say why; other scopes get a case fix or the
// closest known scope.
func (c *checker) unknownScope(s string) string {
	if isRunsScope(s) {
		return fmt.Sprintf("scope %s is listed in the Takos docs but the Takos OAuth server rejects it (no runs scopes exist there); remove it", quote(s))
	}
	if isProtoName(s) {
		return fmt.Sprintf("scope %s is not a Takos scope; the Takos OAuth server lets it through only because it looks scopes up in a plain JavaScript object, where %s is a built-in property, so it grants nothing: remove it", quote(s), quote(s))
	}
	for _, k := range c.scopes {
		if strings.EqualFold(k, s) {
			return fmt.Sprintf("unknown scope %s is rejected by the Takos OAuth server; scopes are case-sensitive, so write %s", quote(s), quote(k))
		}
	}
	best := closest(s, c.scopes)
	if best == "" {
		return fmt.Sprintf("unknown scope %s, and the control plane supports no scopes at all; remove it", quote(s))
	}
	return fmt.Sprintf("unknown scope %s is rejected by the Takos OAuth server; did you mean %s", quote(s), quote(best))
}

// isScopeToken reports whether s is an RFC 6749 §3.3 scope-token
// (1*( %x21 / %x23-5B / %x5D-7E )).
func isScopeToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x21 || b > 0x7E || b == '"' || b == '\\' {
			return false
		}
	}
	return s != ""
}

// scopeTokenProblem returns why s is not an RFC 6749 §3.3 scope-token, or
// "" when it is one.
func scopeTokenProblem(s string) string {
	if s == "" {
		return "scope is an empty string; remove the entry or name a scope"
	}
	for _, r := range s {
		var what string
		switch {
		case r == ' ':
			what = "a space (a scope list is a YAML list, one scope per entry)"
		case r == '"':
			what = `a double quote (")`
		case r == '\\':
			what = `a backslash (\)`
		case r < 0x20 || r == 0x7F:
			what = fmt.Sprintf("control character U+%04X", r)
		case r > 0x7E && r != utf8.RuneError:
			what = fmt.Sprintf("non-ASCII character %q (U+%04X)", r, r)
		case r == utf8.RuneError:
			what = "an invalid UTF-8 sequence"
		default:
			continue
		}
		return fmt.Sprintf("scope %s contains %s, which RFC 6749 §3.3 forbids in a scope; remove it", quote(s), what)
	}
	return ""
}

// closest returns the candidate with the smallest edit distance to s,
// comparing case-insensitively so "Files:Read" suggests "files:read"; ties
// go to the earlier candidate, so the suggestion is deterministic.
func closest(s string, candidates []string) string {
	best, bestDist := "", -1
	low := strings.ToLower(s)
	for _, cand := range candidates {
		lc := strings.ToLower(cand)
		if bestDist < 0 {
			best, bestDist = cand, fuzzy.Distance(low, lc)
			continue
		}
		// Only a closer candidate matters: the bounded search stops early
		// on the long, far-off strings a hostile file lists by the thousand.
		if d, ok := fuzzy.DistanceAtMost(low, lc, bestDist-1); ok {
			best, bestDist = cand, d
		}
	}
	return best
}
