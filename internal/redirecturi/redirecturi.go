// Package redirecturi lints OAuth redirect URIs for a Takos OAuth client.
//
// Takos compares a redirect URI with the registered strings by exact string
// equality (no normalisation, no wildcards), so every check here runs on
// the raw string: a character-level pass first, then a hand-written RFC
// 3986 split that never decodes or re-serialises. Go's net/url is not used
// because it normalises (it lower-cases the scheme, drops a bare '#',
// accepts port 99999, decodes %2e%2e into ".."), which would hide exactly
// the differences that break an exact match.
//
// The rules follow the RU table of the project's security reference, with
// two Takos-specific adaptations: every loopback URI is a warning in
// production and only informational in development, and a rule models the
// Takos server (validateRedirectUris) so that a URI without error findings
// is one the server accepts.
//
// Check is pure and deterministic; for a clean URI it allocates once (inside
// golang.org/x/net/publicsuffix).
package redirecturi

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// Finding is one problem with one redirect URI.
type Finding struct {
	// Rule is the rule that found it, one of Rules().
	Rule *diag.Rule
	// Severity is the rule's in the deploy environment Check was given.
	Severity diag.Severity
	// Message is one sentence: what is wrong and what to do. The URI is
	// quoted with Go escaping (only printable ASCII) and cut after about
	// 200 characters, so messages are safe in terminals and annotations.
	Message string
}

// Limits of the length and list rules.
const (
	maxLenWarn   = 256
	maxLenError  = 2048
	maxListWarn  = 20
	maxListError = 100
)

// Development reports whether env names a development environment:
// "development", "dev", "local" or "test", in any case, surrounding
// white space ignored. Anything else, including "" and typos, is
// production: fail safe. This is the one classifier of the deploy
// environment; every environment-dependent rule of takos-apply uses it, so
// the redirect-URI rules and the other lint rules can never disagree.
func Development(env string) bool {
	env = strings.TrimSpace(env)
	for _, d := range [...]string{"development", "dev", "local", "test"} {
		if strings.EqualFold(env, d) {
			return true
		}
	}
	return false
}

// Check lints one redirect URI for the deploy environment env (see
// Development). It returns nil for a URI without findings. The URI is
// never modified or trimmed.
func Check(raw string, env string) []Finding {
	return check(raw, Development(env)).findings(raw)
}

func check(raw string, dev bool) pendingList {
	c := checker{raw: raw, dev: dev}
	c.run()
	return c.out
}

func mkFinding(r *diag.Rule, dev bool, msg string) Finding {
	return Finding{Rule: r, Severity: r.Severity(!dev), Message: msg}
}

// pending is a finding whose message is built only when it is needed:
// msg gets the URI quoted for a message (quote).
type pending struct {
	rule *diag.Rule
	sev  diag.Severity
	msg  func(uri string) string
}

// pendingList is the findings of one URI.
type pendingList []pending

// findings builds the messages of the findings of raw.
func (l pendingList) findings(raw string) []Finding {
	if len(l) == 0 {
		return nil
	}
	q := quote(raw)
	out := make([]Finding, len(l))
	for i, p := range l {
		out[i] = Finding{Rule: p.rule, Severity: p.sev, Message: p.msg(q)}
	}
	return out
}

// checker collects the findings for one URI.
type checker struct {
	raw      string
	dev      bool
	out      pendingList
	hasError bool
}

// add records a finding; each rule reports at most once per URI (a URI
// has a handful of findings at most, so a scan finds an earlier one). msg
// builds the message from the quoted URI, when it is needed.
func (c *checker) add(r *diag.Rule, msg func(uri string) string) {
	for _, f := range c.out {
		if f.rule == r {
			return
		}
	}
	sev := r.Severity(!c.dev)
	if sev == diag.Error {
		c.hasError = true
	}
	c.out = append(c.out, pending{rule: r, sev: sev, msg: msg})
}

// maxQuoted caps the quoted form of user input in messages.
const maxQuoted = 200

// quote renders s like strconv.QuoteToASCII (so control, bidi, non-ASCII
// and invalid bytes are escaped and no newline survives), cut after about
// maxQuoted characters with the original length appended.
//
// It deliberately differs from safetext.Quote, which the rest of the
// project uses for user text: a non-ASCII character in a redirect URI is
// itself what many rules report (U+0430, Cyrillic a, in a host is a
// homograph of the Latin a), so it is shown as an ASCII escape (\u0430)
// rather than as a glyph that looks exactly like the letter it imitates.
func quote(s string) string {
	if q := strconv.QuoteToASCII(s); len(q) <= maxQuoted+2 {
		return q
	}
	var b strings.Builder
	b.WriteByte('"')
	n := 0
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		q := strconv.QuoteToASCII(s[i : i+size])
		q = q[1 : len(q)-1]
		if n+len(q) > maxQuoted {
			break
		}
		b.WriteString(q)
		n += len(q)
		i += size
	}
	fmt.Fprintf(&b, `"... (%d bytes)`, len(s))
	return b.String()
}

// run checks the URI in three phases: the raw string (length, characters),
// the scheme and authority, then the parts of a URI that parsed. Each phase
// returns false when what follows cannot be checked meaningfully.
func (c *checker) run() {
	if strings.TrimSpace(c.raw) == "" {
		c.add(ruleEmpty, func(uri string) string {
			return "redirect URI is empty; write the absolute https URL of your app's OAuth callback"
		})
		return
	}
	sc, ok := c.checkRaw()
	if !ok {
		return
	}
	scheme, p, ok := c.checkScheme(sc)
	if !ok {
		return
	}
	c.checkParts(scheme, &p)
	if !c.hasError {
		if reason := takosRejectReason(scheme, &p); reason != "" {
			c.add(ruleTakosRejects, func(uri string) string {
				return fmt.Sprintf("redirect URI %s would be rejected by the Takos server: %s", uri, reason)
			})
		}
	}
}

// checkRaw applies the length limits and the character-level scan.
func (c *checker) checkRaw() (rawScan, bool) {
	raw := c.raw
	switch {
	case len(raw) > maxLenError:
		c.add(ruleTooLong, func(uri string) string {
			return fmt.Sprintf("redirect URI %s is %d bytes long, over the %d-byte limit; shorten the callback URL", uri, len(raw), maxLenError)
		})
	case len(raw) > maxLenWarn:
		c.add(ruleLong, func(uri string) string {
			return fmt.Sprintf("redirect URI %s is %d bytes long, over %d bytes, which some identity providers and consent screens refuse; shorten the callback URL", uri, len(raw), maxLenWarn)
		})
	}
	sc := scanRaw(raw)
	if sc.bad() {
		c.rawFindings(sc)
		// The scheme prefix is safe to read even in a broken URI, and a
		// javascript: or data: payload deserves its own finding.
		if scheme, _, ok := splitScheme(raw); ok && isForbiddenScheme(scheme) {
			c.forbiddenScheme(scheme)
		}
		return sc, false
	}
	return sc, true
}

// checkScheme splits the URI and checks its scheme and that it has a host
// where one is needed.
func (c *checker) checkScheme(sc rawScan) (string, uriParts, bool) {
	scheme, rest, ok := splitScheme(c.raw)
	switch {
	case !ok:
		c.add(ruleNotAbsolute, func(uri string) string {
			return fmt.Sprintf("redirect URI %s is not an absolute URI (it has no valid scheme); write the full URL, such as https://app.example.com/callback", uri)
		})
		return "", uriParts{}, false
	case looksLikeHostPort(scheme, rest):
		raw := c.raw
		c.add(ruleNotAbsolute, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has no scheme (%s is read as the scheme); write the full URL, such as %s", uri, quote(scheme+":"), quote("http://"+raw))
		})
		return "", uriParts{}, false
	case isForbiddenScheme(scheme):
		c.forbiddenScheme(scheme)
		return "", uriParts{}, false
	}
	p := splitRest(rest)
	if sc.nonASCII || strings.ContainsAny(rest, "[]") {
		if ch, bad := badOutsideHost(&p); bad {
			c.add(ruleInvalidChar, func(uri string) string {
				return fmt.Sprintf("redirect URI %s contains %s outside the host, which RFC 3986 does not allow; percent-encode it", uri, quote(ch))
			})
			return "", uriParts{}, false
		}
	}
	if !isHTTPScheme(scheme) {
		return scheme, p, c.customScheme(scheme, &p)
	}
	if hasUpperASCII(scheme) {
		c.add(ruleSchemeCase, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has upper-case letters in its scheme; clients send %s and Takos matches exactly, so write the scheme in lower case", uri, strings.ToLower(scheme))
		})
	}
	if !p.hasAuthority || p.host == "" {
		c.add(ruleMissingHost, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has no host; write it as %s://host/path", uri, strings.ToLower(scheme))
		})
		return "", uriParts{}, false
	}
	return scheme, p, true
}

func isHTTPScheme(scheme string) bool {
	return strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https")
}

// checkParts checks the fragment, user information, port, host, path and
// query of a URI whose scheme and authority are usable.
func (c *checker) checkParts(scheme string, p *uriParts) {
	isHTTP := strings.EqualFold(scheme, "http")
	isHTTPS := strings.EqualFold(scheme, "https")
	special := isHTTP || isHTTPS
	if p.hasFragment {
		if p.fragment == "" {
			c.add(ruleFragment, func(uri string) string {
				return fmt.Sprintf("redirect URI %s ends with an empty fragment '#', which URL parsers drop (so the exact match fails) and RFC 6749 forbids; remove the '#'", uri)
			})
		} else {
			c.add(ruleFragment, func(uri string) string {
				return fmt.Sprintf("redirect URI %s has a fragment, which RFC 6749 §3.1.2 forbids and the Takos server rejects; remove everything from '#'", uri)
			})
		}
	}
	if p.hasUserinfo {
		host := p.host
		c.add(ruleUserinfo, func(uri string) string {
			return fmt.Sprintf("redirect URI %s has user information before '@', which hides the real host (%s) from readers; remove it", uri, quote(host))
		})
	}
	loopback := takosLoopbackHost(p.host, special) && p.hostErr == ""
	if p.hasPort {
		c.checkPort(scheme, p, loopback)
	}
	hostWildcard := strings.IndexByte(p.host, '*') >= 0
	if special && !hostWildcard {
		c.checkHost(p)
	}
	if isHTTP && !loopback && !whatwgLoopback(p.host) {
		c.add(ruleHTTP, func(uri string) string {
			return fmt.Sprintf("redirect URI %s uses http with a non-loopback host; Takos requires https except for localhost, *.localhost, 127.0.0.1 and [::1], so use https", uri)
		})
	}
	if loopback && !hostWildcard {
		c.loopback(special, p)
	}
	if host := p.host; isHTTPS && p.hostErr == "" && (host == "127.0.0.1" || host == "[::1]") {
		c.add(ruleLoopbackHTTPS, func(uri string) string {
			return fmt.Sprintf("redirect URI %s uses https with a loopback IP address; RFC 8252 loopback redirects use http and certificates for IP addresses are unusual, so use http://%s", uri, host)
		})
	}
	switch {
	case hostWildcard:
		c.wildcard("host")
	case strings.IndexByte(p.path, '*') >= 0:
		c.wildcard("path")
	case strings.IndexByte(p.query, '*') >= 0:
		c.wildcard("query")
	}
	c.checkPath(scheme, p, loopback)
	if p.hasQuery {
		c.checkQuery(p.query)
	}
}

func (c *checker) rawFindings(sc rawScan) {
	if sc.control >= 0 {
		if sc.edgeSpace {
			c.add(ruleControlChar, func(uri string) string {
				return fmt.Sprintf("redirect URI %s has leading or trailing whitespace, which Takos does not trim, so the exact match fails; remove it", uri)
			})
		} else {
			c.add(ruleControlChar, func(uri string) string {
				return fmt.Sprintf("redirect URI %s contains the invisible or control character U+%04X at byte %d; remove it (it can hide or reorder text on consent screens)", uri, sc.controlRune, sc.control)
			})
		}
	}
	if sc.invalid >= 0 {
		ch := quote(c.raw[sc.invalid : sc.invalid+sc.invalidLen])
		switch {
		case sc.badEscape:
			c.add(ruleInvalidChar, func(uri string) string {
				return fmt.Sprintf("redirect URI %s has the malformed percent-escape %s at byte %d; '%%' must be followed by two hex digits (write %%25 for a literal '%%')", uri, ch, sc.invalid)
			})
		case sc.badUTF8:
			c.add(ruleInvalidChar, func(uri string) string {
				return fmt.Sprintf("redirect URI %s is not valid UTF-8 (byte %d); write the URI in ASCII", uri, sc.invalid)
			})
		default:
			c.add(ruleInvalidChar, func(uri string) string {
				return fmt.Sprintf("redirect URI %s contains %s at byte %d, which RFC 3986 does not allow; percent-encode it or remove it", uri, ch, sc.invalid)
			})
		}
	}
}

func (c *checker) loopback(special bool, p *uriParts) {
	if c.dev {
		c.add(ruleLoopback, func(uri string) string {
			return fmt.Sprintf("redirect URI %s is a loopback URI, fine for development; remove it before a production deploy", uri)
		})
		return
	}
	advice := "register it on a separate development client"
	if special && isLocalhostName(p.host) {
		advice = "register it on a separate development client, preferring http://127.0.0.1:PORT because localhost can resolve to a non-loopback interface (RFC 8252 §8.3)"
	}
	c.add(ruleLoopback, func(uri string) string {
		return fmt.Sprintf("redirect URI %s points at the local machine in a production environment; remove it before the production deploy and %s", uri, advice)
	})
}
