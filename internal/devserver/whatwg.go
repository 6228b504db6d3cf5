package devserver

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// The control plane validates redirect URIs with JavaScript's WHATWG URL
// parser (`new URL(uri)`), whose notion of "parses" and "hostname" differs
// from net/url: `https:example.com` parses, `http://127.1/` has hostname
// 127.0.0.1, `http://[0::1]/` has hostname [::1], a custom scheme keeps the
// host's case, `file://localhost/` has an empty hostname, and an invalid
// port fails. whatwgParse implements the parts of the URL Standard that
// decide what validateRedirectUris sees: failure, hostname and hash.
// Paths, queries and userinfo never make parsing fail, so they are only
// skipped.
//
// This parser deliberately shares no code with internal/redirecturi.
// The fake is the oracle the redirect-URI lint is tested against ("a URI
// the lint passes is one the server accepts"); if both used one parser, a
// bug in it would make them agree and hide itself. Keep it written from
// the URL Standard, not from the lint.

var errParse = errors.New("invalid URL")

var specialSchemes = map[string]bool{"ftp": true, "file": true, "http": true, "https": true, "ws": true, "wss": true}

// parsedURL is what validateRedirectUris reads from a URL object.
type parsedURL struct {
	Protocol string // scheme plus ":"
	Hostname string
	Hash     string // "" or "#" + non-empty fragment
}

func whatwgParse(input string) (parsedURL, error) {
	// Leading/trailing C0 control or space is stripped, tab and newline
	// are removed everywhere.
	s := strings.TrimFunc(input, func(r rune) bool { return r <= 0x20 })
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)

	colon := strings.IndexByte(s, ':')
	if colon <= 0 || !isAlpha(s[0]) {
		return parsedURL{}, errParse // relative reference without a base
	}
	for i := 1; i < colon; i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return parsedURL{}, errParse
		}
	}
	scheme := strings.ToLower(s[:colon])
	rest := s[colon+1:]
	out := parsedURL{Protocol: scheme + ":"}

	if i := strings.IndexByte(rest, '#'); i >= 0 {
		if frag := rest[i+1:]; frag != "" {
			out.Hash = "#" + frag
		}
		rest = rest[:i]
	}

	special := specialSchemes[scheme]
	isSlash := func(c byte) bool { return c == '/' || (special && c == '\\') }
	var err error
	switch {
	case scheme == "file":
		// A file host has no userinfo or port; an empty host, a drive
		// letter ("C:", a path) and "localhost" all mean no host.
		if len(rest) >= 2 && isSlash(rest[0]) && isSlash(rest[1]) {
			auth := cutAuthority(rest[2:], true)
			if auth == "" || isWindowsDriveLetter(auth) {
				return out, nil
			}
			if out.Hostname, err = parseHost(auth, true); err != nil {
				return parsedURL{}, err
			}
			if out.Hostname == "localhost" {
				out.Hostname = ""
			}
		}
	case special:
		// "special authority ignore slashes": any run of / and \.
		out.Hostname, err = authorityHost(strings.TrimLeft(rest, "/\\"), true)
	case strings.HasPrefix(rest, "//"):
		out.Hostname, err = authorityHost(rest[2:], false)
	default:
		// opaque path: no host at all
	}
	if err != nil {
		return parsedURL{}, err
	}
	return out, nil
}

// cutAuthority returns the authority at the start of rest: everything
// before the first '/', '?' or, for a special scheme, '\'.
func cutAuthority(rest string, special bool) string {
	end := "/?"
	if special {
		end = "/?\\"
	}
	if i := strings.IndexAny(rest, end); i >= 0 {
		return rest[:i]
	}
	return rest
}

// authorityHost parses the authority at the start of rest and returns its
// serialised host. Userinfo is skipped; the port must be empty or at most
// 65535; a special scheme needs a non-empty host.
func authorityHost(rest string, special bool) (string, error) {
	hostport := cutAuthority(rest, special)
	if i := strings.LastIndexByte(hostport, '@'); i >= 0 {
		hostport = hostport[i+1:]
	}
	host, port, err := splitHostPort(hostport)
	if err != nil {
		return "", err
	}
	if special && host == "" {
		return "", errParse
	}
	if err := checkPort(port); err != nil {
		return "", err
	}
	return parseHost(host, special)
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isWindowsDriveLetter(s string) bool {
	return len(s) == 2 && isAlpha(s[0]) && (s[1] == ':' || s[1] == '|')
}

// splitHostPort splits at the first colon outside brackets.
func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", errParse
		}
		host, rest := s[:end+1], s[end+1:]
		switch {
		case rest == "":
			return host, "", nil
		case rest[0] == ':':
			return host, rest[1:], nil
		default:
			return "", "", errParse
		}
	}
	if i := strings.IndexByte(s, ':'); i >= 0 {
		return s[:i], s[i+1:], nil
	}
	return s, "", nil
}

// checkPort accepts an empty port or decimal digits worth at most 65535
// (leading zeros allowed, as in the URL Standard).
func checkPort(p string) error {
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return errParse
		}
	}
	p = strings.TrimLeft(p, "0")
	if p == "" {
		return nil
	}
	if n, err := strconv.Atoi(p); len(p) > 5 || err != nil || n > 65535 {
		return errParse
	}
	return nil
}

const forbiddenHost = "\x00\t\n\r #/:<>?@[\\]^|"

// parseHost is the URL Standard's host parser: "[...]" is an IPv6 address
// for every scheme; otherwise a special scheme's host is a domain or IPv4
// address, and any other scheme's an opaque host.
func parseHost(h string, special bool) (string, error) {
	switch {
	case strings.HasPrefix(h, "["):
		if !strings.HasSuffix(h, "]") {
			return "", errParse
		}
		return parseIPv6(h[1 : len(h)-1])
	case special:
		return parseDomain(h)
	default:
		return parseOpaqueHost(h)
	}
}

// parseDomain percent-decodes, IDNA-maps and checks a special scheme's
// host, and parses it as IPv4 when it ends in a number.
func parseDomain(h string) (string, error) {
	dec, err := url.PathUnescape(h)
	if err != nil {
		// The standard percent-decodes leniently; an invalid sequence
		// keeps its "%", which is a forbidden domain code point below.
		dec = h
	}
	ascii := dec
	if !isASCII(dec) || strings.Contains(strings.ToLower(dec), "xn--") {
		p := idna.New(idna.MapForLookup(), idna.StrictDomainName(false), idna.Transitional(false), idna.ValidateLabels(false), idna.BidiRule(), idna.CheckJoiners(true))
		ascii, err = p.ToASCII(dec)
		if err != nil || ascii == "" {
			return "", errParse
		}
	} else {
		ascii = strings.ToLower(dec)
	}
	for i := 0; i < len(ascii); i++ {
		c := ascii[i]
		if c <= 0x1f || c == '%' || c == 0x7f || strings.IndexByte(forbiddenHost, c) >= 0 {
			return "", errParse
		}
	}
	if endsInNumber(ascii) {
		return parseIPv4(ascii)
	}
	return ascii, nil
}

// parseOpaqueHost is the host parser for non-special schemes: no
// lower-casing and no IPv4 parsing.
func parseOpaqueHost(h string) (string, error) {
	for i := 0; i < len(h); i++ {
		if strings.IndexByte(forbiddenHost, h[i]) >= 0 {
			return "", errParse
		}
	}
	var b strings.Builder
	for i := 0; i < len(h); i++ {
		if c := h[i]; c < 0x20 || c >= 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String(), nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func endsInNumber(h string) bool {
	parts := strings.Split(h, ".")
	if parts[len(parts)-1] == "" {
		if len(parts) == 1 {
			return false
		}
		parts = parts[:len(parts)-1]
	}
	last := parts[len(parts)-1]
	if last != "" && strings.Trim(last, "0123456789") == "" {
		return true
	}
	_, ok := ipv4Number(last)
	return ok
}

// ipv4Number parses one IPv4 part: decimal, 0x hex or 0-prefixed octal.
func ipv4Number(s string) (*big.Int, bool) {
	if s == "" {
		return nil, false
	}
	base := 10
	switch {
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
	case len(s) >= 2 && s[0] == '0':
		s, base = s[1:], 8
	}
	if s == "" {
		return big.NewInt(0), true
	}
	n, ok := new(big.Int).SetString(s, base)
	if !ok || n.Sign() < 0 || strings.ContainsAny(s, "+-_") {
		return nil, false
	}
	return n, true
}

func parseIPv4(h string) (string, error) {
	parts := strings.Split(h, ".")
	if parts[len(parts)-1] == "" && len(parts) > 1 {
		parts = parts[:len(parts)-1]
	}
	if len(parts) > 4 {
		return "", errParse
	}
	nums := make([]*big.Int, len(parts))
	for i, p := range parts {
		n, ok := ipv4Number(p)
		if !ok {
			return "", errParse
		}
		nums[i] = n
	}
	b255 := big.NewInt(255)
	for _, n := range nums[:len(nums)-1] {
		if n.Cmp(b255) > 0 {
			return "", errParse
		}
	}
	limit := new(big.Int).Lsh(big.NewInt(1), uint(8*(5-len(nums))))
	last := nums[len(nums)-1]
	if last.Cmp(limit) >= 0 {
		return "", errParse
	}
	v := last.Uint64()
	for i, n := range nums[:len(nums)-1] {
		v += n.Uint64() << (8 * (3 - i))
	}
	return fmt.Sprintf("%d.%d.%d.%d", v>>24&0xff, v>>16&0xff, v>>8&0xff, v&0xff), nil
}

// parseIPv6 parses the inside of [...] and serialises it the WHATWG way,
// which is netip's (lower-case hex, the first longest run of two or more
// zero pieces compressed) except for an IPv4-mapped address: WHATWG
// writes its last 32 bits as two hex pieces, netip as dotted IPv4.
func parseIPv6(s string) (string, error) {
	if strings.Contains(s, "%") {
		return "", errParse // zones are not allowed
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return "", errParse
	}
	if a.Is4In6() {
		b := a.As16()
		return fmt.Sprintf("[::ffff:%x:%x]", uint16(b[12])<<8|uint16(b[13]), uint16(b[14])<<8|uint16(b[15])), nil
	}
	return "[" + a.String() + "]", nil
}
