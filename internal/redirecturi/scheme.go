// Scheme rules: forbidden, missing and custom (private-use) schemes.

package redirecturi

import (
	"fmt"
	"strings"
)

// forbiddenSchemes can execute script, read local files or are not HTTP
// redirect targets at all (rule redirect-uri-scheme-forbidden).
var forbiddenSchemes = [...]string{
	"javascript", "data", "vbscript", "file", "blob", "about", "filesystem",
	"ftp", "ws", "wss", "mailto", "tel", "intent",
}

func isForbiddenScheme(scheme string) bool {
	for _, s := range forbiddenSchemes {
		if strings.EqualFold(scheme, s) {
			return true
		}
	}
	return false
}

// looksLikeHostPort catches "localhost:3000/cb" and "app.example.com:443/cb",
// which parse as the scheme "localhost" or "app.example.com".
func looksLikeHostPort(scheme, rest string) bool {
	if rest == "" || rest[0] < '0' || rest[0] > '9' {
		return false
	}
	return strings.EqualFold(scheme, "localhost") || strings.IndexByte(scheme, '.') >= 0
}

func (c *checker) forbiddenScheme(scheme string) {
	c.add(ruleSchemeForbidden, func(uri string) string {
		return fmt.Sprintf("redirect URI %s uses the %s scheme, which can run script, read local files or is not a redirect target; use an https URL", uri, quote(strings.ToLower(scheme)+":"))
	})
}

// customScheme applies the Takos rule for private-use schemes (accepted
// only with a localhost/loopback host) and RFC 8252 §7.1 to the accepted
// ones. It reports whether checking should continue.
func (c *checker) customScheme(scheme string, p *uriParts) bool {
	if p.hasAuthority && p.hostErr == "" && whatwgLoopback(p.host) && strings.HasPrefix(p.host, "[") && p.host != "[::1]" {
		// The WHATWG parser parses IPv6 hosts of any scheme, so the
		// server sees [::1] and accepts the URI.
		c.checkIPv6(p.host)
	} else if !p.hasAuthority || p.hostErr != "" || !takosLoopbackHost(p.host, false) {
		c.add(ruleCustomScheme, func(uri string) string {
			return fmt.Sprintf("redirect URI %s uses the custom scheme %s without a localhost host; the Takos server rejects every scheme but https unless the host is exactly localhost, *.localhost, 127.0.0.1 or [::1], so use a claimed https URL or http://127.0.0.1:PORT/callback", uri, quote(scheme+":"))
		})
		return false
	}
	if strings.IndexByte(scheme, '.') < 0 {
		c.add(ruleCustomSchemeNoDot, func(uri string) string {
			return fmt.Sprintf("redirect URI %s uses the custom scheme %s without a '.', which other apps can claim too; use a reverse-DNS scheme of a domain you own, such as com.example.app (RFC 8252 §7.1)", uri, quote(scheme+":"))
		})
	} else if problem := notPublic(reverseLabels(scheme)); problem != "" {
		c.add(ruleCustomSchemeDomain, func(uri string) string {
			return fmt.Sprintf("redirect URI %s uses the custom scheme %s, but its reversed form %s is not a public domain you can own; use the reverse of your domain (RFC 8252 §7.1)", uri, quote(scheme+":"), quote(reverseLabels(scheme)))
		})
	}
	if hasUpperASCII(scheme) {
		c.add(ruleCustomSchemeCase, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has upper-case letters in its custom scheme; operating systems register schemes in lower case and Takos matches exactly, so write %s", uri, quote(strings.ToLower(scheme)+":"))
		})
	}
	return true
}

// reverseLabels turns "com.example.app" into "app.example.com".
func reverseLabels(s string) string {
	labels := strings.Split(s, ".")
	for a, b := 0, len(labels)-1; a < b; a, b = a+1, b-1 {
		labels[a], labels[b] = labels[b], labels[a]
	}
	return strings.Join(labels, ".")
}
