// Port rules and the corrected URIs messages suggest.

package redirecturi

import (
	"fmt"
	"strconv"
	"strings"
)

func (c *checker) checkPort(scheme string, p *uriParts, loopback bool) {
	port := p.port
	if port == "" {
		c.add(rulePortRedundant, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has an empty port after ':', which URL parsers drop, so the exact match fails; remove the ':'", uri)
		})
		return
	}
	// Messages are built when reported, from a copy of the parts: this
	// runs for every URI, and p is the caller's.
	if !allDigits(port) || len(port) > 5 {
		pv := *p
		c.add(rulePortInvalid, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has the invalid port %s: Takos matches redirect URIs exactly, with no wildcard port (its docs show http://localhost:* but its server rejects it), so %s", uri, quote(port), portAdvice(scheme, &pv, loopback))
		})
		return
	}
	n, _ := strconv.Atoi(port)
	switch {
	case n == 0 || n > 65535:
		pv := *p
		c.add(rulePortInvalid, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has the port %s, outside 1-65535: Takos matches redirect URIs exactly, with no wildcard port (its docs show http://localhost:* but its server rejects it), so %s", uri, port, portAdvice(scheme, &pv, loopback))
		})
	case port[0] == '0':
		fixed := suggestion(scheme, p, strconv.Itoa(n))
		if isDefaultPort(scheme, strconv.Itoa(n)) {
			fixed = suggestion(scheme, p, "")
		}
		c.add(rulePortInvalid, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has the port %s with leading zeros, which URL parsers rewrite to %d: Takos matches redirect URIs exactly, with no port normalisation or wildcard port (its docs show http://localhost:* but its server rejects it), so write %s", uri, port, n, quote(fixed))
		})
	case isDefaultPort(scheme, port):
		pv := *p
		c.add(rulePortRedundant, func(uri string) string {
			return fmt.Sprintf("redirect URI %s spells out the default port %s, which browsers and URL parsers drop, so the exact match fails; write %s", uri, port, quote(suggestion(scheme, &pv, "")))
		})
	}
}

// suggestion rebuilds the URI with the given port ("" for none), without
// userinfo or fragment, with a lower-case scheme and "/callback" for an
// empty path. It only feeds messages; the registered URI is never rewritten.
func suggestion(scheme string, p *uriParts, port string) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(scheme))
	b.WriteString("://")
	b.WriteString(p.host)
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	if p.path == "" {
		b.WriteString("/callback")
	} else {
		b.WriteString(p.path)
	}
	if p.hasQuery {
		b.WriteByte('?')
		b.WriteString(p.query)
	}
	return b.String()
}

// loopbackIP returns p with a localhost name replaced by 127.0.0.1, the
// host the loopback rules recommend (RFC 8252 §8.3), so that every finding
// on a loopback URI suggests the same corrected URI.
// portAdvice says which port to register instead of a broken one.
func portAdvice(scheme string, p *uriParts, loopback bool) string {
	if loopback {
		return "register a concrete port, such as " + quote(suggestion(scheme, loopbackIP(p), "3000"))
	}
	return "register a concrete port from 1 to 65535 or none, such as " + quote(suggestion(scheme, p, ""))
}

func loopbackIP(p *uriParts) *uriParts {
	if !isLocalhostName(p.host) {
		return p
	}
	q := *p
	q.host = "127.0.0.1"
	return &q
}

// suggestHost is loopbackIP for a loopback URI, p otherwise.
func suggestHost(p *uriParts, loopback bool) *uriParts {
	if loopback {
		return loopbackIP(p)
	}
	return p
}

// usablePort returns the URI's port if it is one Takos would match as
// written, "3000" in place of a broken loopback port, and "" otherwise.
func usablePort(scheme string, p *uriParts, loopback bool) string {
	port := p.port
	if allDigits(port) && len(port) <= 5 && port[0] != '0' && atoi(port) <= 65535 && !isDefaultPort(scheme, port) {
		return port
	}
	if loopback && p.hasPort && port != "" && !isDefaultPort(scheme, port) {
		return "3000"
	}
	return ""
}
