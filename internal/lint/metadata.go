package lint

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// maxClientName is a policy limit, not a Takos one (Takos has none): longer
// names are truncated or wrapped on consent screens.
const maxClientName = 128

// checkClientName applies the rules that keep the consent screen honest.
func (c *checker) checkClientName() {
	v, _ := c.doc.Get(manifest.PtrClientName)
	s, ok := asString(v)
	if !ok {
		return
	}
	p := manifest.PtrClientName
	if manifest.TrimJS(s) == "" {
		c.report(ruleClientNameEmpty, p, func() string {
			return "clientName is empty; set the name users see on the Takos consent screen"
		})
		return
	}
	for _, r := range s {
		if what := hiddenCharKind(r); what != "" {
			c.report(ruleClientNameControl, p, func() string {
				return fmt.Sprintf("clientName contains %s (U+%04X); remove it, because hidden or line-breaking characters can make the consent screen show a different name", what, r)
			})
			break
		}
	}
	if n := utf8.RuneCountInString(s); n > maxClientName {
		c.report(ruleClientNameLength, p, func() string {
			return fmt.Sprintf("clientName is %d characters long; shorten it to at most %d so consent screens show it whole", n, maxClientName)
		})
	}
}

// hiddenCharKind names the class of r when r is invisible or breaks lines
// in a name, or returns "". Beyond safetext.IsInvisible (format characters)
// and the controls, it deliberately covers the line breaks U+2028 and
// U+2029 (the only characters of Zl and Zp), which are neither.
func hiddenCharKind(r rune) string {
	switch {
	case r == '\n' || r == '\r' || r == 0x85 || r == 0x2028 || r == 0x2029:
		return "a line break"
	case unicode.Is(unicode.Cc, r):
		return "a control character"
	case safetext.IsInvisible(r):
		if isBidiControl(r) {
			return "a bidirectional control character"
		}
		return "an invisible format character"
	}
	return ""
}

// isBidiControl reports the invisible characters that reorder text (ALM,
// LRM, RLM, the embeddings and overrides, the isolates): the Trojan Source
// tools, named in the message because they are the likely attack.
func isBidiControl(r rune) bool {
	return r == 0x061C || r == 0x200E || r == 0x200F || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}

// checkMetadataURI applies the structural rules to one of the client's
// display URLs. The raw string is inspected first because net/url accepts
// and normalises things the consent page would show differently.
func (c *checker) checkMetadataURI(p, field string) {
	v, _ := c.doc.Get(p)
	raw, ok := asString(v)
	if !ok {
		return
	}
	if raw == "" {
		c.report(ruleMetadataURIInvalid, p, func() string {
			return fmt.Sprintf("%s is empty; remove the field or set an absolute https URL", field)
		})
		return
	}
	for _, r := range raw {
		if unicode.IsSpace(r) || unicode.IsControl(r) || safetext.IsInvisible(r) {
			c.report(ruleMetadataURIWhitespace, p, func() string {
				return fmt.Sprintf("%s contains whitespace or an invisible character (U+%04X); percent-encode it or remove it", field, r)
			})
			return
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		c.report(ruleMetadataURIInvalid, p, func() string {
			return fmt.Sprintf("%s %s is not a valid URL; set an absolute https URL such as https://example.com/%s", field, quote(raw), exampleFile(field))
		})
		return
	}
	switch scheme := strings.ToLower(u.Scheme); scheme {
	case "https":
	case "http":
		c.report(ruleMetadataURIHTTPS, p, func() string {
			return fmt.Sprintf("%s uses http; serve it over https, because the consent page shows it to every user", field)
		})
	case "":
		c.report(ruleMetadataURIInvalid, p, func() string {
			return fmt.Sprintf("%s %s is not an absolute URL; write it with https:// and a host", field, quote(raw))
		})
		return
	case "data", "javascript":
		c.report(ruleMetadataURIScheme, p, func() string {
			return fmt.Sprintf("%s uses a %s: URL, which can run or embed content on the consent page; host the file and use an https URL", field, scheme)
		})
		return
	default:
		c.report(ruleMetadataURIScheme, p, func() string {
			return fmt.Sprintf("%s uses the %s scheme, which browsers will not show on the consent page; use an https URL", field, quote(scheme))
		})
		return
	}
	if u.Opaque != "" || u.Host == "" || u.Hostname() == "" {
		c.report(ruleMetadataURIInvalid, p, func() string {
			return fmt.Sprintf("%s %s has no host; write it as https://host/path", field, quote(raw))
		})
		return
	}
	if u.User != nil {
		c.report(ruleMetadataURIUserinfo, p, func() string {
			return fmt.Sprintf("%s contains user information before the host; remove the user:password@ part", field)
		})
	}
	host := u.Hostname()
	for _, r := range host {
		if r > unicode.MaxASCII {
			c.report(ruleMetadataURIInvalid, p, func() string {
				return fmt.Sprintf("%s has the non-ASCII host %s; write the host in its punycode (xn--) form", field, quote(host))
			})
			return
		}
	}
	if _, err := netip.ParseAddr(host); err == nil {
		c.report(ruleMetadataURIHost, p, func() string {
			return fmt.Sprintf("%s uses the IP address %s as its host; use a public domain name that end users can reach", field, quote(host))
		})
	} else if isLocalhostName(host) {
		c.report(ruleMetadataURIHost, p, func() string {
			return fmt.Sprintf("%s points at %s, which end users cannot reach; use a public domain name", field, quote(host))
		})
	}
	if field == "logoUri" && strings.HasSuffix(strings.ToLower(u.EscapedPath()), ".svg") {
		c.report(ruleMetadataLogoSVG, p, func() string {
			return "logoUri points at an SVG file, which can carry script; use a PNG or JPEG logo"
		})
	}
}

func exampleFile(field string) string {
	switch field {
	case "logoUri":
		return "logo.png"
	case "tosUri":
		return "terms"
	}
	return "privacy"
}

// isLocalhostName reports whether host is localhost or a *.localhost name
// (RFC 6761 §6.3), with or without the trailing dot; IP literals are
// handled before. Lint keeps its own copy rather than import the network
// layer (httpx).
func isLocalhostName(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	return h == "localhost" || strings.HasSuffix(h, ".localhost")
}
