package redirecturi

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// rawScan is the result of the character-level pass over the raw string,
// which runs before anything tries to parse it: net/url and the WHATWG
// parser both silently repair some of these inputs, and exact matching
// means the repaired string is not the registered one.
type rawScan struct {
	// control is the byte offset of the first control, invisible or
	// non-ASCII whitespace character, or of leading/trailing whitespace;
	// -1 if none.
	control     int
	controlRune rune
	edgeSpace   bool // the control finding is leading/trailing whitespace
	// invalid is the byte offset of the first character RFC 3986 does not
	// allow anywhere, or of a malformed percent-escape; -1 if none.
	invalid    int
	invalidLen int // bytes of the offending character or escape
	badEscape  bool
	badUTF8    bool
	// nonASCII records valid, visible non-ASCII characters; whether they
	// are allowed depends on where they are (only an IDN host may hold
	// them, and even that is reported by its own rule).
	nonASCII bool
}

func (s rawScan) bad() bool { return s.control >= 0 || s.invalid >= 0 }

// isInvisible reports whether r must never appear in a redirect URI because
// a reader cannot see it: ASCII and C1 controls, DEL, every invisible format
// character (safetext.IsInvisible: bidi overrides and isolates, zero-width
// characters, BOM, soft hyphen, tags) and, beyond that shared predicate,
// every non-ASCII space (Zs) and the line and paragraph separators (Zl,
// Zp), which look like nothing or like an ordinary space in a URI.
func isInvisible(r rune) bool {
	if r < 0x80 {
		return r < 0x20 || r == 0x7f
	}
	return unicode.Is(unicode.Cc, r) || safetext.IsInvisible(r) || unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp)
}

// rfc3986Forbidden reports the printable ASCII characters that RFC 3986
// allows nowhere in a URI (the space is handled separately).
func rfc3986Forbidden(c byte) bool {
	switch c {
	case '"', '<', '>', '\\', '^', '`', '{', '|', '}':
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}

// scanRaw runs the character-level checks without allocating.
func scanRaw(raw string) rawScan {
	s := rawScan{control: -1, invalid: -1}
	if raw[0] == ' ' || raw[len(raw)-1] == ' ' {
		s.control, s.controlRune, s.edgeSpace = 0, ' ', true
		if raw[0] != ' ' {
			s.control = len(raw) - 1
		}
	}
	for i := 0; i < len(raw); {
		c := raw[i]
		if c < utf8.RuneSelf {
			switch {
			case isInvisible(rune(c)):
				if s.control < 0 {
					s.control, s.controlRune = i, rune(c)
				}
			case c == ' ' && s.edgeSpace && (i == 0 || i == len(raw)-1):
				// Reported as leading/trailing whitespace.
			case c == ' ' || rfc3986Forbidden(c):
				if s.invalid < 0 {
					s.invalid, s.invalidLen = i, 1
				}
			case c == '%':
				if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
					if s.invalid < 0 {
						s.invalid, s.badEscape = i, true
						s.invalidLen = min(3, len(raw)-i)
					}
				}
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(raw[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			if s.invalid < 0 {
				s.invalid, s.invalidLen, s.badUTF8 = i, 1, true
			}
		case isInvisible(r):
			if s.control < 0 {
				s.control, s.controlRune = i, r
			}
		default:
			s.nonASCII = true
		}
		i += size
	}
	return s
}

// splitScheme splits "scheme:rest". ok is false when raw does not start
// with a syntactically valid scheme (RFC 3986 §3.1) followed by ':'.
func splitScheme(raw string) (scheme, rest string, ok bool) {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.':
			if i == 0 {
				return "", raw, false
			}
		case c == ':':
			if i == 0 {
				return "", raw, false
			}
			return raw[:i], raw[i+1:], true
		default:
			return "", raw, false
		}
	}
	return "", raw, false
}

// uriParts are substrings of the raw URI after "scheme:"; nothing is
// decoded or normalised.
type uriParts struct {
	hasAuthority bool
	userinfo     string
	hasUserinfo  bool
	host         string
	// hostErr describes malformed IPv6 brackets ("an unterminated '['").
	hostErr     string
	port        string
	hasPort     bool
	path        string // the opaque part when there is no authority
	query       string
	hasQuery    bool
	fragment    string
	hasFragment bool
}

// splitRest splits the part after "scheme:" following RFC 3986 §3.
func splitRest(rest string) uriParts {
	var p uriParts
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		p.fragment, p.hasFragment = rest[i+1:], true
		rest = rest[:i]
	}
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		p.query, p.hasQuery = rest[i+1:], true
		rest = rest[:i]
	}
	if !strings.HasPrefix(rest, "//") {
		p.path = rest
		return p
	}
	p.hasAuthority = true
	auth := rest[2:]
	if i := strings.IndexByte(auth, '/'); i >= 0 {
		p.path = auth[i:]
		auth = auth[:i]
	}
	// The last '@' ends the userinfo, as in the WHATWG parser, so that
	// "https://a@b@evil.com" is reported with host evil.com.
	if i := strings.LastIndexByte(auth, '@'); i >= 0 {
		p.userinfo, p.hasUserinfo = auth[:i], true
		auth = auth[i+1:]
	}
	if strings.HasPrefix(auth, "[") {
		end := strings.IndexByte(auth, ']')
		if end < 0 {
			p.host, p.hostErr = auth, "an unterminated '['"
			return p
		}
		p.host = auth[:end+1]
		after := auth[end+1:]
		switch {
		case after == "":
		case after[0] == ':':
			p.port, p.hasPort = after[1:], true
		default:
			p.hostErr = "unexpected characters after ']'"
		}
		return p
	}
	if i := strings.IndexByte(auth, ':'); i >= 0 {
		p.port, p.hasPort = auth[i+1:], true
		auth = auth[:i]
	}
	p.host = auth
	return p
}

// badOutsideHost returns the first non-ASCII byte or bracket outside the
// host, or -1. Non-ASCII is only tolerated in the host (where its own rule
// reports it with the A-label to use instead); brackets only delimit an
// IPv6 host (RFC 3986 §3.2.2).
func badOutsideHost(p *uriParts) (string, bool) {
	for _, s := range [...]string{p.userinfo, p.port, p.path, p.query, p.fragment} {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c >= utf8.RuneSelf || c == '[' || c == ']' {
				_, size := utf8.DecodeRuneInString(s[i:])
				return s[i : i+size], true
			}
		}
	}
	return "", false
}

func hasUpperASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return true
		}
	}
	return false
}

func hasNonASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && strings.EqualFold(s[len(s)-len(suffix):], suffix)
}

func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}

// decodeInto percent-decodes s into buf and reports whether it fitted.
// Used to compare query names and value prefixes without allocating.
func decodeInto(buf []byte, s string) ([]byte, bool) {
	out := buf[:0]
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			c = unhex(s[i+1])<<4 | unhex(s[i+2])
			i += 2
		} else if c == '+' {
			c = ' '
		}
		if len(out) == cap(out) {
			return out, false
		}
		out = append(out, c)
	}
	return out, true
}
