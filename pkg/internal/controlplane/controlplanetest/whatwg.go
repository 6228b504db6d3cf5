package controlplanetest

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
	switch {
	case scheme == "file":
		if len(rest) >= 2 && isSlash(rest[0]) && isSlash(rest[1]) {
			auth := rest[2:]
			if i := strings.IndexAny(auth, "/\\?"); i >= 0 {
				auth = auth[:i]
			}
			// A drive letter ("C:") is a path, not a host.
			if isWindowsDriveLetter(auth) {
				return out, nil
			}
			if auth == "" {
				return out, nil
			}
			h, err := parseSpecialHost(auth)
			if err != nil {
				return parsedURL{}, err
			}
			if h == "localhost" {
				h = ""
			}
			out.Hostname = h
		}
		return out, nil
	case special:
		// "special authority ignore slashes": any run of / and \.
		rest = strings.TrimLeft(rest, "/\\")
		auth := rest
		if i := strings.IndexAny(auth, "/\\?"); i >= 0 {
			auth = auth[:i]
		}
		hostport := auth
		if i := strings.LastIndexByte(auth, '@'); i >= 0 {
			hostport = auth[i+1:]
		}
		host, port, err := splitHostPort(hostport)
		if err != nil {
			return parsedURL{}, err
		}
		if host == "" {
			return parsedURL{}, errParse
		}
		if err := checkPort(port); err != nil {
			return parsedURL{}, err
		}
		h, err := parseSpecialHost(host)
		if err != nil {
			return parsedURL{}, err
		}
		out.Hostname = h
		return out, nil
	case strings.HasPrefix(rest, "//"):
		auth := rest[2:]
		if i := strings.IndexAny(auth, "/?"); i >= 0 {
			auth = auth[:i]
		}
		hostport := auth
		if i := strings.LastIndexByte(auth, '@'); i >= 0 {
			hostport = auth[i+1:]
		}
		host, port, err := splitHostPort(hostport)
		if err != nil {
			return parsedURL{}, err
		}
		if err := checkPort(port); err != nil {
			return parsedURL{}, err
		}
		h, err := parseOpaqueHost(host)
		if err != nil {
			return parsedURL{}, err
		}
		out.Hostname = h
		return out, nil
	default:
		return out, nil // opaque path: no host at all
	}
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

func checkPort(p string) error {
	if p == "" {
		return nil
	}
	for i := 0; i < len(p); i++ {
		if !isDigit(p[i]) {
			return errParse
		}
	}
	n := new(big.Int)
	n.SetString(p, 10)
	if n.Cmp(big.NewInt(65535)) > 0 {
		return errParse
	}
	return nil
}

const forbiddenHost = "\x00\t\n\r #/:<>?@[\\]^|"

// parseSpecialHost is the URL Standard's host parser for special schemes.
func parseSpecialHost(h string) (string, error) {
	if strings.HasPrefix(h, "[") {
		if !strings.HasSuffix(h, "]") {
			return "", errParse
		}
		return parseIPv6(h[1 : len(h)-1])
	}
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
	if strings.HasPrefix(h, "[") {
		if !strings.HasSuffix(h, "]") {
			return "", errParse
		}
		return parseIPv6(h[1 : len(h)-1])
	}
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

// parseIPv6 parses the inside of [...] and serialises it the WHATWG way:
// lower-case hex, the first longest run of two or more zero pieces
// compressed, embedded IPv4 written as hex.
func parseIPv6(s string) (string, error) {
	if strings.Contains(s, "%") {
		return "", errParse // zones are not allowed
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is6() {
		return "", errParse
	}
	b := a.As16()
	var pieces [8]uint16
	for i := range pieces {
		pieces[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	bestStart, bestLen := -1, 1
	for i := 0; i < 8; {
		if pieces[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && pieces[j] == 0 {
			j++
		}
		if j-i > bestLen {
			bestStart, bestLen = i, j-i
		}
		i = j
	}
	var out strings.Builder
	out.WriteByte('[')
	for i := 0; i < 8; i++ {
		if i == bestStart {
			if i == 0 {
				out.WriteByte(':')
			}
			out.WriteByte(':')
			i += bestLen - 1
			continue
		}
		out.WriteString(strconv.FormatUint(uint64(pieces[i]), 16))
		if i != 7 {
			out.WriteByte(':')
		}
	}
	out.WriteByte(']')
	return out.String(), nil
}
