// Path rules and wildcards.

package redirecturi

import (
	"fmt"
	"strings"
)

func (c *checker) wildcard(where string) {
	c.add(ruleWildcard, func(uri string) string {
		return fmt.Sprintf("redirect URI %s has '*' in its %s, but Takos matches redirect URIs exactly, so '*' is not a wildcard and never matches a real callback; list each concrete URI", uri, where)
	})
}

// checkPath checks the raw path, before any parser normalises it: empty,
// dot segments, encoded slashes, '//', bad percent-encoding and special
// characters.
func (c *checker) checkPath(scheme string, p *uriParts, loopback bool) {
	path := p.path
	if path == "" {
		pv := *p // built when reported, from a copy: p is the caller's
		c.add(ruleEmptyPath, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has no path; clients and URL parsers add '/', so the exact match fails: write the full callback path, such as %s", uri, quote(suggestion(scheme, suggestHost(&pv, loopback), usablePort(scheme, &pv, loopback))))
		})
		return
	}
	dot, slash, pct := false, false, false
	for seg := range strings.SplitSeq(path, "/") {
		if isDotSegment(seg) {
			dot = true
			continue // its %2e escapes belong to the dot-segment finding
		}
		for k := 0; k+2 < len(seg); k++ {
			if seg[k] != '%' {
				continue
			}
			d := unhex(seg[k+1])<<4 | unhex(seg[k+2])
			if d == '/' || d == '\\' {
				slash = true
				continue
			}
			if badEscape(seg[k+1], seg[k+2], d) {
				pct = true
			}
		}
	}
	if dot {
		c.add(ruleDotSegment, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has a '.' or '..' path segment (raw or percent-encoded), which URL normalisers resolve differently, enabling path confusion; remove it", uri)
		})
	}
	if slash {
		c.add(ruleEncodedSlash, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has an encoded '/' or '\\' (%%2F, %%5C) in its path, which proxies and frameworks decode differently; remove it", uri)
		})
	}
	if strings.Contains(path, "//") {
		c.add(ruleDoubleSlash, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has '//' in its path, which some servers and clients collapse, so the exact match can fail; use single slashes", uri)
		})
	}
	if pct {
		c.percentEncoding()
	}
	if strings.ContainsAny(path, "!$'(),;") {
		c.add(rulePathSpecialChar, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has one of ! $ ' ( ) , ; in its path; legal, but some identity providers reject them", uri)
		})
	}
}

func (c *checker) percentEncoding() {
	c.add(rulePercentEncoding, func(uri string) string {
		return fmt.Sprintf("redirect URI %s has non-normalised percent-encoding (lower-case hex or an encoded letter, digit or -._~); clients may normalise it, so write upper-case hex and plain unreserved characters", uri)
	})
}

// badEscape reports a %XX escape RFC 3986 §6.2.2 normalises away:
// lower-case hex digits or an encoded unreserved character.
func badEscape(h1, h2, d byte) bool {
	if 'a' <= h1 && h1 <= 'f' || 'a' <= h2 && h2 <= 'f' {
		return true
	}
	return 'a' <= d && d <= 'z' || 'A' <= d && d <= 'Z' || '0' <= d && d <= '9' ||
		d == '-' || d == '.' || d == '_' || d == '~'
}

// isDotSegment reports "." and ".." with any of the dots written as %2e.
func isDotSegment(seg string) bool {
	dots := 0
	for k := 0; k < len(seg); {
		switch {
		case seg[k] == '.':
			k++
		case k+2 < len(seg) && seg[k] == '%' && seg[k+1] == '2' && (seg[k+2] == 'e' || seg[k+2] == 'E'):
			k += 3
		default:
			return false
		}
		dots++
	}
	return dots == 1 || dots == 2
}
