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
	// Rule is the stable kebab-case rule ID, one of the IDs of Rules().
	Rule     string
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
	return check(raw, Development(env))
}

func check(raw string, dev bool) []Finding {
	c := checker{raw: raw, dev: dev}
	c.run()
	return c.out
}

// CheckList lints a client's whole redirect_uris list. The result has one
// entry per URI, index for index: the findings of Check plus the list
// rules (exact duplicate, near-duplicate, more than 20 or 100 URIs), each
// reported on the later URI. An empty list, which Takos rejects, yields a
// single entry holding the redirect-uri-list-empty finding.
func CheckList(uris []string, env string) [][]Finding {
	dev := Development(env)
	if len(uris) == 0 {
		return [][]Finding{{mkFinding(ruleListEmpty, dev, "the redirect URI list is empty; Takos requires at least one redirect URI, so add the exact callback URL of your app")}}
	}
	out := make([][]Finding, len(uris))
	exact := make(map[string]int, len(uris))
	near := make(map[string]int, len(uris))
	for k, u := range uris {
		fs := check(u, dev)
		if j, ok := exact[u]; ok {
			fs = append(fs, mkFinding(ruleDuplicate, dev, fmt.Sprintf("redirect URI %s at index %d repeats index %d exactly; remove the duplicate", quote(u), k, j)))
		} else {
			exact[u] = k
			key := nearKey(u)
			if j, ok := near[key]; ok {
				fs = append(fs, mkFinding(ruleNearDuplicate, dev, fmt.Sprintf("redirect URI %s at index %d differs from %s at index %d only by case, a trailing '/', a default port or percent-encoding case; Takos matches exactly, so keep only the spelling your app sends", quote(u), k, quote(uris[j]), j)))
			} else {
				near[key] = k
			}
		}
		switch k {
		case maxListWarn:
			fs = append(fs, mkFinding(ruleMany, dev, fmt.Sprintf("redirect URI %s at index %d makes the list longer than %d URIs; every URI widens the attack surface, so remove those you do not use", quote(u), k, maxListWarn)))
		case maxListError:
			fs = append(fs, mkFinding(ruleTooMany, dev, fmt.Sprintf("redirect URI %s at index %d makes the list longer than %d URIs; split the client or remove unused URIs", quote(u), k, maxListError)))
		}
		out[k] = fs
	}
	return out
}

// nearKey folds the differences RU24b calls near-duplicates: case, a
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

func mkFinding(r rule, dev bool, msg string) Finding {
	info := &registry[r]
	sev := info.Production
	if dev {
		sev = info.Development
	}
	return Finding{Rule: info.ID, Severity: sev, Message: msg}
}

// checker collects the findings for one URI.
type checker struct {
	raw      string
	dev      bool
	quoted   string
	out      []Finding
	hasError bool
	seen     [numRules]bool
}

// add records a finding; each rule reports at most once per URI.
func (c *checker) add(r rule, msg string) {
	if c.seen[r] {
		return
	}
	c.seen[r] = true
	f := mkFinding(r, c.dev, msg)
	if f.Severity == diag.Error {
		c.hasError = true
	}
	c.out = append(c.out, f)
}

// uri returns the sanitised, quoted URI for messages.
func (c *checker) uri() string {
	if c.quoted == "" {
		c.quoted = quote(c.raw)
	}
	return c.quoted
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

// forbiddenSchemes can execute script, read local files or are not HTTP
// redirect targets at all (RU08).
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

func (c *checker) run() {
	raw := c.raw
	if strings.TrimSpace(raw) == "" {
		c.add(ruleEmpty, "redirect URI is empty; write the absolute https URL of your app's OAuth callback")
		return
	}
	switch {
	case len(raw) > maxLenError:
		c.add(ruleTooLong, fmt.Sprintf("redirect URI %s is %d bytes long, over the %d-byte limit; shorten the callback URL", c.uri(), len(raw), maxLenError))
	case len(raw) > maxLenWarn:
		c.add(ruleLong, fmt.Sprintf("redirect URI %s is %d bytes long, over %d bytes, which some identity providers and consent screens refuse; shorten the callback URL", c.uri(), len(raw), maxLenWarn))
	}
	sc := scanRaw(raw)
	if sc.bad() {
		c.rawFindings(sc)
		// The scheme prefix is safe to read even in a broken URI, and a
		// javascript: or data: payload deserves its own finding.
		if scheme, _, ok := splitScheme(raw); ok && isForbiddenScheme(scheme) {
			c.forbiddenScheme(scheme)
		}
		return
	}
	scheme, rest, ok := splitScheme(raw)
	if !ok {
		c.add(ruleNotAbsolute, fmt.Sprintf("redirect URI %s is not an absolute URI (it has no valid scheme); write the full URL, such as https://app.example.com/callback", c.uri()))
		return
	}
	if looksLikeHostPort(scheme, rest) {
		c.add(ruleNotAbsolute, fmt.Sprintf("redirect URI %s has no scheme (%s is read as the scheme); write the full URL, such as %s", c.uri(), quote(scheme+":"), quote("http://"+raw)))
		return
	}
	if isForbiddenScheme(scheme) {
		c.forbiddenScheme(scheme)
		return
	}
	p := splitRest(rest)
	if sc.nonASCII || strings.ContainsAny(rest, "[]") {
		if ch, bad := badOutsideHost(&p); bad {
			c.add(ruleInvalidChar, fmt.Sprintf("redirect URI %s contains %s outside the host, which RFC 3986 does not allow; percent-encode it", c.uri(), quote(ch)))
			return
		}
	}
	isHTTP := strings.EqualFold(scheme, "http")
	isHTTPS := strings.EqualFold(scheme, "https")
	special := isHTTP || isHTTPS
	if special {
		if hasUpperASCII(scheme) {
			c.add(ruleSchemeCase, fmt.Sprintf("redirect URI %s has upper-case letters in its scheme; clients send %s and Takos matches exactly, so write the scheme in lower case", c.uri(), strings.ToLower(scheme)))
		}
		if !p.hasAuthority || p.host == "" {
			c.add(ruleMissingHost, fmt.Sprintf("redirect URI %s has no host; write it as %s://host/path", c.uri(), strings.ToLower(scheme)))
			return
		}
	} else if !c.customScheme(scheme, &p) {
		return
	}
	if p.hasFragment {
		if p.fragment == "" {
			c.add(ruleFragment, fmt.Sprintf("redirect URI %s ends with an empty fragment '#', which URL parsers drop (so the exact match fails) and RFC 6749 forbids; remove the '#'", c.uri()))
		} else {
			c.add(ruleFragment, fmt.Sprintf("redirect URI %s has a fragment, which RFC 6749 §3.1.2 forbids and the Takos server rejects; remove everything from '#'", c.uri()))
		}
	}
	if p.hasUserinfo {
		c.add(ruleUserinfo, fmt.Sprintf("redirect URI %s has user information before '@', which hides the real host (%s) from readers; remove it", c.uri(), quote(p.host)))
	}
	loopback := takosLoopbackHost(p.host, special) && p.hostErr == ""
	if p.hasPort {
		c.checkPort(scheme, &p, loopback)
	}
	hostWildcard := strings.IndexByte(p.host, '*') >= 0
	if special && !hostWildcard {
		c.checkHost(&p)
	}
	if isHTTP && !loopback && !whatwgLoopback(p.host) {
		c.add(ruleHTTP, fmt.Sprintf("redirect URI %s uses http with a non-loopback host; Takos requires https except for localhost, *.localhost, 127.0.0.1 and [::1], so use https", c.uri()))
	}
	if loopback && !hostWildcard {
		c.loopback(special, &p)
	}
	if isHTTPS && p.hostErr == "" && (p.host == "127.0.0.1" || p.host == "[::1]") {
		c.add(ruleLoopbackHTTPS, fmt.Sprintf("redirect URI %s uses https with a loopback IP address; RFC 8252 loopback redirects use http and certificates for IP addresses are unusual, so use http://%s", c.uri(), p.host))
	}
	switch {
	case hostWildcard:
		c.wildcard("host")
	case strings.IndexByte(p.path, '*') >= 0:
		c.wildcard("path")
	case strings.IndexByte(p.query, '*') >= 0:
		c.wildcard("query")
	}
	c.checkPath(scheme, &p, loopback)
	if p.hasQuery {
		c.checkQuery(p.query)
	}
	if !c.hasError {
		if reason := takosRejectReason(scheme, &p); reason != "" {
			c.add(ruleTakosRejects, fmt.Sprintf("redirect URI %s would be rejected by the Takos server: %s", c.uri(), reason))
		}
	}
}

func (c *checker) rawFindings(sc rawScan) {
	if sc.control >= 0 {
		if sc.edgeSpace {
			c.add(ruleControlChar, fmt.Sprintf("redirect URI %s has leading or trailing whitespace, which Takos does not trim, so the exact match fails; remove it", c.uri()))
		} else {
			c.add(ruleControlChar, fmt.Sprintf("redirect URI %s contains the invisible or control character U+%04X at byte %d; remove it (it can hide or reorder text on consent screens)", c.uri(), sc.controlRune, sc.control))
		}
	}
	if sc.invalid >= 0 {
		ch := quote(c.raw[sc.invalid : sc.invalid+sc.invalidLen])
		switch {
		case sc.badEscape:
			c.add(ruleInvalidChar, fmt.Sprintf("redirect URI %s has the malformed percent-escape %s at byte %d; '%%' must be followed by two hex digits (write %%25 for a literal '%%')", c.uri(), ch, sc.invalid))
		case sc.badUTF8:
			c.add(ruleInvalidChar, fmt.Sprintf("redirect URI %s is not valid UTF-8 (byte %d); write the URI in ASCII", c.uri(), sc.invalid))
		default:
			c.add(ruleInvalidChar, fmt.Sprintf("redirect URI %s contains %s at byte %d, which RFC 3986 does not allow; percent-encode it or remove it", c.uri(), ch, sc.invalid))
		}
	}
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
	c.add(ruleSchemeForbidden, fmt.Sprintf("redirect URI %s uses the %s scheme, which can run script, read local files or is not a redirect target; use an https URL", c.uri(), quote(strings.ToLower(scheme)+":")))
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
		c.add(ruleCustomScheme, fmt.Sprintf("redirect URI %s uses the custom scheme %s without a localhost host; the Takos server rejects every scheme but https unless the host is exactly localhost, *.localhost, 127.0.0.1 or [::1], so use a claimed https URL or http://127.0.0.1:PORT/callback", c.uri(), quote(scheme+":")))
		return false
	}
	if strings.IndexByte(scheme, '.') < 0 {
		c.add(ruleCustomSchemeNoDot, fmt.Sprintf("redirect URI %s uses the custom scheme %s without a '.', which other apps can claim too; use a reverse-DNS scheme of a domain you own, such as com.example.app (RFC 8252 §7.1)", c.uri(), quote(scheme+":")))
	} else if problem := notPublic(reverseLabels(scheme)); problem != "" {
		c.add(ruleCustomSchemeDomain, fmt.Sprintf("redirect URI %s uses the custom scheme %s, but its reversed form %s is not a public domain you can own; use the reverse of your domain (RFC 8252 §7.1)", c.uri(), quote(scheme+":"), quote(reverseLabels(scheme))))
	}
	if hasUpperASCII(scheme) {
		c.add(ruleCustomSchemeCase, fmt.Sprintf("redirect URI %s has upper-case letters in its custom scheme; operating systems register schemes in lower case and Takos matches exactly, so write %s", c.uri(), quote(strings.ToLower(scheme)+":")))
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

func (c *checker) checkPort(scheme string, p *uriParts, loopback bool) {
	port := p.port
	if port == "" {
		c.add(rulePortRedundant, fmt.Sprintf("redirect URI %s has an empty port after ':', which URL parsers drop, so the exact match fails; remove the ':'", c.uri()))
		return
	}
	// The suggestion is built only when reported: this runs for every URI.
	suggest := func() string {
		if loopback {
			return "register a concrete port, such as " + quote(suggestion(scheme, p, "3000"))
		}
		return "register a concrete port from 1 to 65535 or none, such as " + quote(suggestion(scheme, p, ""))
	}
	if !allDigits(port) || len(port) > 5 {
		c.add(rulePortInvalid, fmt.Sprintf("redirect URI %s has the invalid port %s: Takos matches redirect URIs exactly, with no wildcard port (its docs show http://localhost:* but its server rejects it), so %s", c.uri(), quote(port), suggest()))
		return
	}
	n, _ := strconv.Atoi(port)
	switch {
	case n == 0 || n > 65535:
		c.add(rulePortInvalid, fmt.Sprintf("redirect URI %s has the port %s, outside 1-65535: Takos matches redirect URIs exactly, with no wildcard port (its docs show http://localhost:* but its server rejects it), so %s", c.uri(), port, suggest()))
	case port[0] == '0':
		fixed := suggestion(scheme, p, strconv.Itoa(n))
		if isDefaultPort(scheme, strconv.Itoa(n)) {
			fixed = suggestion(scheme, p, "")
		}
		c.add(rulePortInvalid, fmt.Sprintf("redirect URI %s has the port %s with leading zeros, which URL parsers rewrite to %d: Takos matches redirect URIs exactly, with no port normalisation or wildcard port (its docs show http://localhost:* but its server rejects it), so write %s", c.uri(), port, n, quote(fixed)))
	case isDefaultPort(scheme, port):
		c.add(rulePortRedundant, fmt.Sprintf("redirect URI %s spells out the default port %s, which browsers and URL parsers drop, so the exact match fails; write %s", c.uri(), port, quote(suggestion(scheme, p, ""))))
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

func (c *checker) loopback(special bool, p *uriParts) {
	if c.dev {
		c.add(ruleLoopback, fmt.Sprintf("redirect URI %s is a loopback URI, fine for development; remove it before a production deploy", c.uri()))
		return
	}
	advice := "register it on a separate development client"
	if special && isLocalhostName(p.host) {
		advice = "register it on a separate development client, preferring http://127.0.0.1:PORT because localhost can resolve to a non-loopback interface (RFC 8252 §8.3)"
	}
	c.add(ruleLoopback, fmt.Sprintf("redirect URI %s points at the local machine in a production environment; remove it before the production deploy and %s", c.uri(), advice))
}

func (c *checker) wildcard(where string) {
	c.add(ruleWildcard, fmt.Sprintf("redirect URI %s has '*' in its %s, but Takos matches redirect URIs exactly, so '*' is not a wildcard and never matches a real callback; list each concrete URI", c.uri(), where))
}

// checkPath runs the RU22 checks on the raw path.
func (c *checker) checkPath(scheme string, p *uriParts, loopback bool) {
	path := p.path
	if path == "" {
		c.add(ruleEmptyPath, fmt.Sprintf("redirect URI %s has no path; clients and URL parsers add '/', so the exact match fails: write the full callback path, such as %s", c.uri(), quote(suggestion(scheme, p, usablePort(scheme, p, loopback)))))
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
		c.add(ruleDotSegment, fmt.Sprintf("redirect URI %s has a '.' or '..' path segment (raw or percent-encoded), which URL normalisers resolve differently, enabling path confusion; remove it", c.uri()))
	}
	if slash {
		c.add(ruleEncodedSlash, fmt.Sprintf("redirect URI %s has an encoded '/' or '\\' (%%2F, %%5C) in its path, which proxies and frameworks decode differently; remove it", c.uri()))
	}
	if strings.Contains(path, "//") {
		c.add(ruleDoubleSlash, fmt.Sprintf("redirect URI %s has '//' in its path, which some servers and clients collapse, so the exact match can fail; use single slashes", c.uri()))
	}
	if pct {
		c.percentEncoding()
	}
	if strings.ContainsAny(path, "!$'(),;") {
		c.add(rulePathSpecialChar, fmt.Sprintf("redirect URI %s has one of ! $ ' ( ) , ; in its path; legal, but some identity providers reject them", c.uri()))
	}
}

func (c *checker) percentEncoding() {
	c.add(rulePercentEncoding, fmt.Sprintf("redirect URI %s has non-normalised percent-encoding (lower-case hex or an encoded letter, digit or -._~); clients may normalise it, so write upper-case hex and plain unreserved characters", c.uri()))
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

// Query parameter names that make a redirect target an open redirector
// (RU21a) or collide with the authorization response (RU21b).
var (
	redirectHints = [...]string{
		"redirect", "redirect_uri", "redirect_url", "redirecturi", "redirecturl", "redir",
		"next", "url", "return", "returnto", "return_to", "returnurl", "return_url",
		"continue", "dest", "destination", "target", "goto",
	}
	oauthParams = [...]string{
		"code", "state", "error", "error_description", "error_uri", "iss",
		"access_token", "id_token", "token_type",
	}
)

func (c *checker) checkQuery(q string) {
	if q == "" {
		c.add(ruleQueryEmpty, fmt.Sprintf("redirect URI %s ends with an empty query '?', which URL parsers may drop, so the exact match fails; remove the '?'", c.uri()))
		return
	}
	var nameBuf, valBuf [32]byte
	pct := false
	for param := range strings.SplitSeq(q, "&") {
		name, value, hasEq := strings.Cut(param, "=")
		if param == "" || name == "" || !hasEq {
			c.add(ruleQueryEmpty, fmt.Sprintf("redirect URI %s has an empty or value-less query parameter (%s), which clients may drop or rewrite; write name=value pairs", c.uri(), quote(param)))
		}
		for k := 0; k+2 < len(param); k++ {
			if param[k] == '%' && badEscape(param[k+1], param[k+2], unhex(param[k+1])<<4|unhex(param[k+2])) {
				pct = true
			}
		}
		dn, ok := decodeInto(nameBuf[:], name)
		if ok {
			for _, h := range redirectHints {
				if strings.EqualFold(string(dn), h) {
					c.add(ruleQueryRedirectParam, fmt.Sprintf("redirect URI %s has the query parameter %s, which names a redirect target: if your callback follows it, it is an open redirector that leaks codes; carry such data in state instead", c.uri(), quote(name)))
				}
			}
			for _, h := range oauthParams {
				if strings.EqualFold(string(dn), h) {
					c.add(ruleQueryOAuthParam, fmt.Sprintf("redirect URI %s has the query parameter %s, which collides with the OAuth authorization response; rename or remove it", c.uri(), quote(name)))
				}
			}
		}
		dv, _ := decodeInto(valBuf[:], value)
		if looksLikeURL(dv) {
			c.add(ruleQueryRedirectParam, fmt.Sprintf("redirect URI %s has a query parameter whose value is a URL: if your callback redirects to it, it is an open redirector that leaks codes; carry such data in state instead", c.uri()))
		}
	}
	if pct {
		c.percentEncoding()
	}
	c.add(ruleQuery, fmt.Sprintf("redirect URI %s has a query string, which Takos matches exactly; prefer the state parameter for per-request data", c.uri()))
}

// looksLikeURL reports a decoded value prefix that is an absolute or
// scheme-relative URL.
func looksLikeURL(v []byte) bool {
	s := string(v) // does not allocate: used only for comparisons below
	if strings.HasPrefix(s, "//") {
		return true
	}
	scheme, rest, ok := splitScheme(s)
	return ok && strings.HasPrefix(rest, "//") && scheme != ""
}

// takosRejectReason models the remaining checks of the Takos server's
// validateRedirectUris (tako0614/takos
// packages/control/src/application/services/oauth/client.ts@7d63ea66):
// https unless the host is a loopback name, no non-empty fragment, a port
// the WHATWG parser accepts. Check calls it only when no error was found,
// as a safety net guaranteeing that a URI without errors is accepted.
func takosRejectReason(scheme string, p *uriParts) string {
	special := isSpecialScheme(scheme)
	switch {
	case special && (!p.hasAuthority || p.host == ""):
		return "the WHATWG URL parser finds no host; write https://host/path"
	case p.hostErr != "":
		return "the WHATWG URL parser cannot parse the host"
	case p.hasPort && p.port != "" && (!allDigits(p.port) || len(p.port) > 5 || atoi(p.port) > 65535):
		return "the WHATWG URL parser rejects the port; use a number from 1 to 65535"
	case !strings.EqualFold(scheme, "https") && !takosLoopbackHost(p.host, special):
		return "it must use https unless the host is localhost, *.localhost, 127.0.0.1 or [::1]"
	case p.fragment != "":
		return "fragments are not allowed; remove everything from '#'"
	}
	return ""
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
