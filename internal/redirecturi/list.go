// The list rules: duplicates, near-duplicates and list length.

package redirecturi

import (
	"fmt"
	"strings"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// CheckList lints a client's whole redirect_uris list. The result has one
// entry per URI, index for index: the findings of Check plus the list
// rules (exact duplicate, near-duplicate, more than 20 or 100 URIs), each
// reported on the later URI. An empty list, which Takos rejects, yields a
// single entry holding the redirect-uri-list-empty finding.
func CheckList(uris []string, env string) [][]Finding {
	dev := Development(env)
	out := make([][]Finding, max(1, len(uris)))
	CheckListFunc(uris, env, func(k int, r *diag.Rule, msg func() string) {
		out[k] = append(out[k], mkFinding(r, dev, msg()))
	})
	return out
}

// CheckListFunc is CheckList handing each finding to add, with the index
// of its URI (0 for the empty list's), instead of collecting them. msg
// builds the message and may be called later, or never: a list of a
// hundred thousand URIs costs a check of each distinct one, and messages
// only for the findings the caller keeps.
func CheckListFunc(uris []string, env string, add func(k int, r *diag.Rule, msg func() string)) {
	dev := Development(env)
	if len(uris) == 0 {
		add(0, ruleListEmpty, func() string {
			return "the redirect URI list is empty; Takos requires at least one redirect URI, so add the exact callback URL of your app"
		})
		return
	}
	// seen holds each distinct URI's first index and its findings, which
	// depend on nothing else.
	type first struct {
		k  int
		fs pendingList
	}
	seen := make(map[string]first, len(uris))
	near := make(map[string]int, len(uris))
	for k, u := range uris {
		f, dup := seen[u]
		if !dup {
			f = first{k, check(u, dev)}
			seen[u] = f
		}
		for _, p := range f.fs {
			add(k, p.rule, func() string { return p.msg(quote(u)) })
		}
		if dup {
			j := f.k
			add(k, ruleDuplicate, func() string {
				return fmt.Sprintf("redirect URI %s at index %d repeats index %d exactly; remove the duplicate", quote(u), k, j)
			})
		} else {
			key := nearKey(u)
			if j, ok := near[key]; ok {
				add(k, ruleNearDuplicate, func() string {
					return fmt.Sprintf("redirect URI %s at index %d differs from %s at index %d only by case, a trailing '/', a default port or percent-encoding case; Takos matches exactly, so keep only the spelling your app sends", quote(u), k, quote(uris[j]), j)
				})
			} else {
				near[key] = k
			}
		}
		switch k {
		case maxListWarn:
			add(k, ruleMany, func() string {
				return fmt.Sprintf("redirect URI %s at index %d makes the list longer than %d URIs; every URI widens the attack surface, so remove those you do not use", quote(u), k, maxListWarn)
			})
		case maxListError:
			add(k, ruleTooMany, func() string {
				return fmt.Sprintf("redirect URI %s at index %d makes the list longer than %d URIs; split the client or remove unused URIs", quote(u), k, maxListError)
			})
		}
	}
}

// nearKey folds the differences redirect-uri-near-duplicate reports: case, a
// trailing '/', a trailing dot in the host, an explicit default or empty
// port, and percent-encoding case.
func nearKey(u string) string {
	scheme, rest, ok := splitScheme(u)
	if !ok {
		return strings.ToLower(strings.TrimRight(u, "/"))
	}
	p := splitRest(rest)
	var b strings.Builder
	b.Grow(len(u))
	b.WriteString(scheme)
	b.WriteByte(':')
	if p.hasAuthority {
		b.WriteString("//")
		if p.hasUserinfo {
			b.WriteString(p.userinfo)
			b.WriteByte('@')
		}
		b.WriteString(strings.TrimSuffix(p.host, "."))
		if p.hasPort && p.port != "" && !isDefaultPort(scheme, p.port) {
			b.WriteByte(':')
			b.WriteString(p.port)
		}
	}
	b.WriteString(strings.TrimRight(p.path, "/"))
	if p.hasQuery {
		b.WriteByte('?')
		b.WriteString(p.query)
	}
	if p.hasFragment {
		b.WriteByte('#')
		b.WriteString(p.fragment)
	}
	return strings.ToLower(b.String())
}

func isDefaultPort(scheme, port string) bool {
	return strings.EqualFold(scheme, "https") && port == "443" || strings.EqualFold(scheme, "http") && port == "80"
}
