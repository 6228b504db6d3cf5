package redirecturi

import (
	"fmt"
	"net/netip"
	"strings"
	"unicode"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// isSpecialScheme reports the WHATWG "special" schemes, whose hosts the
// URL parser lower-cases and parses as domains or IP addresses. For other
// schemes the host is opaque and compared case-sensitively by Takos.
func isSpecialScheme(scheme string) bool {
	for _, s := range [...]string{"http", "https", "ws", "wss", "ftp", "file"} {
		if strings.EqualFold(scheme, s) {
			return true
		}
	}
	return false
}

// takosLoopbackHost mirrors the host test of Takos's validateRedirectUris:
// hostname is "localhost", "127.0.0.1", "[::1]" or ends in ".localhost".
// Only canonical spellings count: "127.1" is rewritten to 127.0.0.1 by the
// WHATWG parser, but it is reported by its own rule rather than exempted.
func takosLoopbackHost(host string, special bool) bool {
	if host == "127.0.0.1" || host == "[::1]" {
		return true
	}
	if special {
		return isLocalhostName(host)
	}
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// whatwgLoopback reports a non-canonical spelling of 127.0.0.1 or [::1]
// that the WHATWG URL parser rewrites to the canonical one (127.1,
// 0x7f000001, [0::1]): the Takos server's loopback test then passes, so
// it accepts the URI, while the string it stores still differs from what
// clients send.
func whatwgLoopback(host string) bool {
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		addr, err := netip.ParseAddr(host[1 : len(host)-1])
		return err == nil && addr.Is6() && !addr.Is4In6() && addr == netip.IPv6Loopback() && addr.Zone() == ""
	}
	v, ok := whatwgIPv4(host)
	return ok && endsInNumber(host) && v == 0x7f000001
}

// acceptedAnyway is the clause an ip-noncanonical message adds when the
// Takos server accepts the spelling (see whatwgLoopback).
func acceptedAnyway(host string) string {
	if !whatwgLoopback(host) || host == "127.0.0.1" || host == "[::1]" {
		return ""
	}
	return " (the Takos server accepts it, because its URL parser rewrites the host to a loopback address, but it stores and matches the string as written)"
}

// isLocalhostName reports localhost and *.localhost (RFC 6761 §6.3) in any
// case; a trailing dot must already be stripped.
func isLocalhostName(h string) bool {
	return strings.EqualFold(h, "localhost") || hasSuffixFold(h, ".localhost")
}

// checkHost classifies the host of an http(s) URI that is non-empty and has
// no wildcard.
func (c *checker) checkHost(p *uriParts) {
	host := p.host
	if herr := p.hostErr; herr != "" {
		c.add(ruleHostInvalid, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has an invalid host: %s; write a DNS name or a bracketed IPv6 address", uri, herr)
		})
		return
	}
	if host[0] == '[' {
		c.checkIPv6(host)
		return
	}
	if hasNonASCII(host) {
		c.checkUnicodeHost(host)
		return
	}
	if endsInNumber(host) {
		c.checkIPv4(host)
		return
	}
	c.checkRegName(host)
}

func (c *checker) checkIPv6(host string) {
	inner := host[1 : len(host)-1]
	if strings.IndexByte(inner, '%') >= 0 {
		c.add(ruleIPNonCanonical, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has an IPv6 zone ID, which is local to one machine and not supported by browsers or the WHATWG URL parser; remove the %%25 part", uri)
		})
		return
	}
	addr, err := netip.ParseAddr(inner)
	if err != nil || !addr.Is6() {
		c.add(ruleTakosRejects, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has the host %s, which is not a valid IPv6 address, so the Takos server cannot parse it; fix the address", uri, quote(host))
		})
		return
	}
	if addr.Is4In6() {
		c.add(ruleIPNonCanonical, func(uri string) string {
			return fmt.Sprintf("redirect URI %s uses the IPv4-mapped IPv6 form %s; browsers do not send this spelling, so write the plain IPv4 address %s", uri, quote(host), addr.Unmap())
		})
		return
	}
	if canon := addr.String(); canon != inner {
		c.add(ruleIPNonCanonical, func(uri string) string {
			return fmt.Sprintf("redirect URI %s spells the IPv6 address non-canonically (RFC 5952); browsers send [%s], so the exact match fails%s", uri, canon, acceptedAnyway(host))
		})
		return
	}
	switch {
	case addr.IsLoopback():
		// Handled by the loopback rule.
	case addr.IsPrivate(), addr.IsLinkLocalUnicast(), addr.IsUnspecified(), addr.IsMulticast(),
		isSiteLocal6(addr):
		c.ipPrivate(host)
	default:
		c.add(ruleIPPublic, func(uri string) string {
			return fmt.Sprintf("redirect URI %s uses the IP address %s; certificates for IP addresses are unusual and addresses change, so use a DNS name", uri, quote(host))
		})
	}
}

// isSiteLocal6 reports the deprecated site-local range fec0::/10.
func isSiteLocal6(addr netip.Addr) bool {
	a := addr.As16()
	return a[0] == 0xfe && a[1]&0xc0 == 0xc0
}

func (c *checker) checkIPv4(host string) {
	if addr, err := netip.ParseAddr(host); err == nil && addr.Is4() {
		a := addr.As4()
		switch {
		case a[0] == 127:
			if a != [4]byte{127, 0, 0, 1} {
				c.add(ruleLoopbackOther, func(uri string) string {
					return fmt.Sprintf("redirect URI %s uses the loopback address %s; Takos exempts only 127.0.0.1 (and [::1], localhost) from https and RFC 8252 names 127.0.0.1, so use http://127.0.0.1", uri, host)
				})
			}
		case isPrivate4(a):
			c.ipPrivate(host)
		default:
			c.add(ruleIPPublic, func(uri string) string {
				return fmt.Sprintf("redirect URI %s uses the IP address %s; certificates for IP addresses are unusual and addresses change, so use a DNS name", uri, host)
			})
		}
		return
	}
	if v, ok := whatwgIPv4(host); ok {
		c.add(ruleIPNonCanonical, func(uri string) string {
			return fmt.Sprintf("redirect URI %s spells an IPv4 address non-canonically; browsers rewrite %s to %d.%d.%d.%d and send that, so the exact match fails%s: write %d.%d.%d.%d",
				uri, quote(host), v>>24, v>>16&0xff, v>>8&0xff, v&0xff, acceptedAnyway(host), v>>24, v>>16&0xff, v>>8&0xff, v&0xff)
		})
		return
	}
	c.add(ruleTakosRejects, func(uri string) string {
		return fmt.Sprintf("redirect URI %s has the host %s, which ends in a number but is not a valid IPv4 address, so the WHATWG URL parser used by the Takos server rejects it; use a DNS name or a dotted-decimal address", uri, quote(host))
	})
}

func (c *checker) ipPrivate(host string) {
	c.add(ruleIPPrivate, func(uri string) string {
		return fmt.Sprintf("redirect URI %s uses the private, link-local or special address %s, which the user's browser usually cannot reach; use a public DNS name", uri, quote(host))
	})
}

// isPrivate4 covers 0/8, 10/8, 100.64/10 (CGNAT), 169.254/16 (link-local,
// cloud metadata), 172.16/12, 192.168/16 and 224/3 (multicast, reserved,
// broadcast).
func isPrivate4(a [4]byte) bool {
	switch {
	case a[0] == 0, a[0] == 10, a[0] >= 224:
		return true
	case a[0] == 100:
		return a[1]&0xc0 == 64
	case a[0] == 169:
		return a[1] == 254
	case a[0] == 172:
		return a[1]&0xf0 == 16
	case a[0] == 192:
		return a[1] == 168
	}
	return false
}

// endsInNumber is the WHATWG URL "ends in a number" checker: a host whose
// last label (ignoring one trailing dot) is all digits or a 0x-hex number
// is parsed as IPv4, and fails to parse if it is not one.
func endsInNumber(host string) bool {
	h := strings.TrimSuffix(host, ".")
	last := h[strings.LastIndexByte(h, '.')+1:]
	if last == "" {
		return false
	}
	if allDigits(last) {
		return true
	}
	_, ok := ipv4Number(last)
	return ok
}

// ipv4Number parses one WHATWG IPv4 part: 0x-prefixed hex, 0-prefixed
// octal or decimal. Values above 2^32 are reported as 2^32 so they stay
// out of range without overflowing.
func ipv4Number(s string) (uint64, bool) {
	if s == "" {
		return 0, false
	}
	base := uint64(10)
	switch {
	case len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		base, s = 16, s[2:]
		if s == "" {
			return 0, true
		}
	case len(s) >= 2 && s[0] == '0':
		base, s = 8, s[1:]
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		var d uint64
		switch {
		case '0' <= c && c <= '9':
			d = uint64(c - '0')
		case base == 16 && isHex(c):
			d = uint64(unhex(c))
		default:
			return 0, false
		}
		if d >= base {
			return 0, false
		}
		n = n*base + d
		if n > 1<<32 {
			n = 1 << 32
		}
	}
	return n, true
}

// whatwgIPv4 is the WHATWG URL IPv4 parser: it accepts 1 to 4 parts, each
// hex, octal or decimal, the last filling the remaining bytes.
func whatwgIPv4(host string) (uint32, bool) {
	h := strings.TrimSuffix(host, ".")
	var parts [4]uint64
	n := 0
	for {
		i := strings.IndexByte(h, '.')
		part := h
		if i >= 0 {
			part = h[:i]
		}
		if n == 4 {
			return 0, false
		}
		v, ok := ipv4Number(part)
		if !ok {
			return 0, false
		}
		parts[n] = v
		n++
		if i < 0 {
			break
		}
		h = h[i+1:]
	}
	var addr uint64
	for k := 0; k < n-1; k++ {
		if parts[k] > 255 {
			return 0, false
		}
		addr |= parts[k] << (8 * (3 - k))
	}
	last := parts[n-1]
	if last >= 1<<(8*(5-n)) {
		return 0, false
	}
	return uint32(addr + last), true
}

func (c *checker) checkUnicodeHost(host string) {
	ascii, err := idna.Lookup.ToASCII(strings.TrimSuffix(host, "."))
	if err != nil {
		c.add(ruleHostInvalid, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has the host %s, which is not a valid internationalised domain name; write a valid ASCII host", uri, quote(host))
		})
		return
	}
	c.add(ruleHostUnicode, func(uri string) string {
		return fmt.Sprintf("redirect URI %s has a non-ASCII host; browsers send the punycode form, so register %s and check it is the domain you own (look-alike letters are a spoofing risk)", uri, quote(ascii))
	})
}

func (c *checker) checkRegName(host string) {
	h := host
	if strings.HasSuffix(h, ".") {
		h = h[:len(h)-1]
		c.add(ruleHostTrailingDot, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has a host ending in '.', which clients do not send, so the exact match fails; remove the trailing dot", uri)
		})
	}
	problem := dnsNameProblem(h)
	if problem == "" && hasUpperASCII(h) {
		c.add(ruleHostCase, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has upper-case letters in its host; browsers send the host lower-case and Takos matches exactly, so write it in lower case", uri)
		})
	}
	if problem != "" {
		c.add(ruleHostInvalid, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has an invalid host name: %s; write a valid DNS name", uri, problem)
		})
		return
	}
	if hasACELabel(h) {
		u, err := idna.Lookup.ToUnicode(strings.ToLower(h))
		if err != nil {
			c.add(ruleHostInvalid, func(uri string) string {
				return fmt.Sprintf("redirect URI %s has a host with an invalid punycode (xn--) label; write a valid host name", uri)
			})
			return
		}
		if u == "" || u[0] == '.' || strings.Contains(u, "..") {
			c.add(ruleHostInvalid, func(uri string) string {
				return fmt.Sprintf("redirect URI %s has a host with an empty punycode (xn--) label; write a valid host name", uri)
			})
			return
		}
		// The Unicode form is what the promise is about, so it is shown
		// as glyphs (invisible characters still escaped), followed by
		// its escaped form, which tells look-alike letters apart.
		c.add(ruleHostPunycode, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has a punycode host that displays as %s (%s); check that this is the domain you own and not a look-alike", uri, safetext.Quote(u, maxQuoted), strings.Trim(quote(u), `"`))
		})
		if mixedScript(u) {
			c.add(ruleHostMixedScript, func(uri string) string {
				return fmt.Sprintf("redirect URI %s has a host label that mixes scripts (%s), a common homograph-spoofing pattern; use a single-script domain you own", uri, quote(u))
			})
		}
	}
	if isLocalhostName(h) {
		return
	}
	if containsFold(h, "localhost") {
		c.add(ruleLocalhostLookalike, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has a host that contains \"localhost\" but is a public name, not loopback; make sure that is intended", uri)
		})
	}
	if problem := notPublic(h); problem != "" {
		c.add(ruleHostNotPublic, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has a host that %s, so it is not reachable as a public site; use a registered public domain", uri, problem)
		})
	}
}

// dnsNameProblem checks LDH syntax (RFC 1035 §2.3.1, RFC 5890 lengths).
// The WHATWG parser is laxer (it allows '_' and empty labels), but such
// hosts do not resolve for browsers either.
func dnsNameProblem(h string) string {
	if h == "" {
		return "it is empty"
	}
	if len(h) > 253 {
		return "it is longer than 253 characters"
	}
	start := 0
	for i := 0; i <= len(h); i++ {
		if i < len(h) && h[i] != '.' {
			c := h[i]
			switch {
			case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-':
			case c == '_':
				return "it contains '_'"
			case c == '%':
				return "it contains a percent-escape"
			default:
				return fmt.Sprintf("it contains %s", quote(string(c)))
			}
			continue
		}
		label := h[start:i]
		switch {
		case label == "":
			return "it has an empty label"
		case len(label) > 63:
			return "it has a label longer than 63 characters"
		case label[0] == '-' || label[len(label)-1] == '-':
			return "a label starts or ends with '-'"
		}
		start = i + 1
	}
	return ""
}

func hasACELabel(h string) bool {
	for {
		if len(h) >= 4 && strings.EqualFold(h[:4], "xn--") {
			return true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return false
		}
		h = h[i+1:]
	}
}

// notPublic returns why a lower-or-mixed-case DNS name without a trailing
// dot is not a registrable public name, or "".
func notPublic(h string) string {
	dot := strings.LastIndexByte(h, '.')
	if dot < 0 {
		return "is a single label"
	}
	tld := h[dot+1:]
	for _, r := range [...]string{"test", "example", "invalid", "local", "internal", "onion", "localhost"} {
		if strings.EqualFold(tld, r) {
			return fmt.Sprintf("uses the reserved top-level domain .%s", strings.ToLower(tld))
		}
	}
	if hasSuffixFold(h, ".home.arpa") || strings.EqualFold(h, "home.arpa") {
		return "is under the reserved domain home.arpa"
	}
	lh := strings.ToLower(h)
	suffix, icann := publicsuffix.PublicSuffix(lh)
	if !icann && strings.IndexByte(suffix, '.') < 0 {
		return fmt.Sprintf("has the unknown top-level domain %s", quote("."+suffix))
	}
	if suffix == lh {
		return "is itself a public suffix"
	}
	return ""
}

// mixedScript reports whether a label of the Unicode host mixes scripts in
// a way UTS #39's "highly restrictive" profile forbids. It does not detect
// whole-script confusables (an all-Cyrillic look-alike), which need the
// confusables table.
func mixedScript(host string) bool {
	for label := range strings.SplitSeq(host, ".") {
		var set uint32
		for _, r := range label {
			if !unicode.IsLetter(r) {
				continue
			}
			set |= scriptBit(r)
		}
		if set&(set-1) == 0 {
			continue // zero or one script
		}
		const latin, han, hira, kata, hangul, bopo = 1 << 0, 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
		if set&^(latin|han|hira|kata) == 0 || set&^(latin|han|bopo) == 0 || set&^(latin|han|hangul) == 0 {
			continue
		}
		return true
	}
	return false
}

var scriptTables = [...]*unicode.RangeTable{
	unicode.Latin, unicode.Greek, unicode.Cyrillic, unicode.Armenian, unicode.Hebrew, unicode.Arabic,
	unicode.Georgian, unicode.Cherokee, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul,
	unicode.Bopomofo, unicode.Thai, unicode.Devanagari,
}

func scriptBit(r rune) uint32 {
	for k, t := range scriptTables {
		if unicode.Is(t, r) {
			return 1 << k
		}
	}
	return 1 << 31 // any other script
}
