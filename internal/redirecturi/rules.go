package redirecturi

import (
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// ruleInfo describes one rule for the README table and for tests; Rules
// turns it into the diag catalogue's shape.
type ruleInfo struct {
	// ID is the stable kebab-case rule identifier carried by every Finding.
	ID string
	// Ref names the public source of the rule: the RFC (or WHATWG, OpenID)
	// sections it follows ("RFC 9700 §2.6"), or "Takos" for rules that
	// model the Takos server.
	Ref string
	// Production and Development are the severities the rule reports in
	// each environment.
	Production  diag.Severity
	Development diag.Severity
	// Description is one line for the README table.
	Description string
}

// rule indexes the registry below. The order is documentation order.
type rule int

const (
	ruleEmpty rule = iota
	ruleControlChar
	ruleInvalidChar
	ruleNotAbsolute
	ruleFragment
	ruleSchemeCase
	ruleHostCase
	ruleSchemeForbidden
	ruleHTTP
	ruleUserinfo
	ruleMissingHost
	ruleWildcard
	rulePortInvalid
	rulePortRedundant
	ruleHostTrailingDot
	ruleHostUnicode
	ruleHostPunycode
	ruleHostMixedScript
	ruleHostInvalid
	ruleIPNonCanonical
	ruleIPPrivate
	ruleLoopbackOther
	ruleIPPublic
	ruleLoopback
	ruleLocalhostLookalike
	ruleLoopbackHTTPS
	ruleCustomScheme
	ruleCustomSchemeNoDot
	ruleCustomSchemeDomain
	ruleCustomSchemeCase
	ruleQueryRedirectParam
	ruleQueryOAuthParam
	ruleQueryEmpty
	ruleQuery
	ruleDotSegment
	ruleEncodedSlash
	ruleEmptyPath
	ruleDoubleSlash
	rulePercentEncoding
	rulePathSpecialChar
	ruleTooLong
	ruleLong
	ruleHostNotPublic
	ruleTakosRejects
	ruleDuplicate
	ruleNearDuplicate
	ruleMany
	ruleTooMany
	ruleListEmpty
	numRules
)

const (
	sevErr  = diag.Error
	sevWarn = diag.Warning
	sevInfo = diag.Info
)

// registry is read-only: it is indexed by rule and copied by Rules, never
// written after initialisation.
var registry = [numRules]ruleInfo{
	ruleEmpty:              {"redirect-uri-empty", "RFC 6749 §3.1.2", sevErr, sevErr, "the redirect URI is empty or only whitespace"},
	ruleControlChar:        {"redirect-uri-control-char", "RFC 3986 §2", sevErr, sevErr, "leading/trailing whitespace, an ASCII or C1 control character, a Unicode space or an invisible format/bidi character (U+200B–U+200F, U+202A–U+202E, U+2066–U+2069, U+FEFF, ...) anywhere"},
	ruleInvalidChar:        {"redirect-uri-invalid-char", "RFC 3986 §2, §3", sevErr, sevErr, "a character RFC 3986 does not allow (raw space, `\\`, `<`, `>`, `\"`, `{`, `}`, `^`, backtick, vertical bar, `[`/`]` outside an IPv6 host, non-ASCII outside the host, invalid UTF-8) or a malformed `%XX` escape"},
	ruleNotAbsolute:        {"redirect-uri-not-absolute", "RFC 6749 §3.1.2, RFC 3986 §4.3", sevErr, sevErr, "not an absolute URI: relative, scheme-relative (`//host`), invalid scheme, or `host:port` without a scheme"},
	ruleFragment:           {"redirect-uri-fragment", "RFC 6749 §3.1.2", sevErr, sevErr, "contains `#`, including a bare `#` that Takos tolerates but URL parsers silently drop"},
	ruleSchemeCase:         {"redirect-uri-scheme-case", "RFC 3986 §6.2.2.1", sevWarn, sevWarn, "the scheme has upper-case letters; clients send it lower-case, so the exact match fails"},
	ruleHostCase:           {"redirect-uri-host-case", "RFC 3986 §6.2.2.1", sevWarn, sevWarn, "the host has upper-case letters; browsers send it lower-case, so the exact match fails"},
	ruleSchemeForbidden:    {"redirect-uri-scheme-forbidden", "RFC 9700 §2.6", sevErr, sevErr, "a dangerous or non-redirect scheme: `javascript`, `data`, `vbscript`, `file`, `blob`, `about`, `filesystem`, `ftp`, `ws`, `wss`, `mailto`, `tel`, `intent`"},
	ruleHTTP:               {"redirect-uri-http", "RFC 9700 §2.6, RFC 6749 §3.1.2.1", sevErr, sevErr, "`http` with a host other than `localhost`, `*.localhost`, `127.0.0.1` or `[::1]` (or a spelling the WHATWG URL parser rewrites to one of them, which `redirect-uri-ip-noncanonical` reports); Takos requires `https` there"},
	ruleUserinfo:           {"redirect-uri-userinfo", "RFC 3986 §3.2.1, §7.6", sevErr, sevErr, "user information (`user@`, `user:pass@`) before the host"},
	ruleMissingHost:        {"redirect-uri-missing-host", "RFC 3986 §3.2", sevErr, sevErr, "`http`/`https` without a host (`https:///cb`, `https:/cb`, `https:cb`, `https://:443/`)"},
	ruleWildcard:           {"redirect-uri-wildcard", "RFC 9700 §2.1, §4.1", sevErr, sevErr, "`*` in the host, path or query; Takos matches redirect URIs exactly and has no wildcards"},
	rulePortInvalid:        {"redirect-uri-port-invalid", "RFC 3986 §3.2.3, §6.2.3", sevErr, sevErr, "the port is `*`, not a number, 0, above 65535 or has leading zeros; Takos has no wildcard port (its docs' `http://localhost:*` is rejected by its server)"},
	rulePortRedundant:      {"redirect-uri-port-redundant", "RFC 3986 §3.2.3, §6.2.3", sevWarn, sevWarn, "an empty port or the scheme's default port (`https:443`, `http:80`), which URL normalisers drop"},
	ruleHostTrailingDot:    {"redirect-uri-host-trailing-dot", "RFC 1034 §3.1", sevWarn, sevWarn, "the host name ends with `.`"},
	ruleHostUnicode:        {"redirect-uri-host-unicode", "RFC 5890, RFC 5891", sevErr, sevErr, "the host has non-ASCII characters; register the punycode A-label (`xn--...`) that browsers send"},
	ruleHostPunycode:       {"redirect-uri-host-punycode", "RFC 5890, RFC 5891", sevWarn, sevWarn, "the host has a punycode label (`xn--`); the message shows the Unicode form to check for look-alikes"},
	ruleHostMixedScript:    {"redirect-uri-host-mixed-script", "RFC 5890, RFC 5891", sevErr, sevWarn, "a punycode label mixes scripts (for example Latin and Cyrillic), a homograph-spoofing pattern"},
	ruleHostInvalid:        {"redirect-uri-host-invalid", "RFC 5890, RFC 5891", sevErr, sevErr, "the host is not a valid DNS name: `_`, `%`, sub-delimiters, empty label, label over 63 or name over 253 octets, leading/trailing `-`, invalid punycode, junk after `]`"},
	ruleIPNonCanonical:     {"redirect-uri-ip-noncanonical", "WHATWG URL §4.4, RFC 5952 §4", sevErr, sevErr, "a non-canonical IP spelling browsers rewrite (`127.1`, `0x7f.0.0.1`, `2130706433`, `0177.0.0.1`, `127.0.0.1.`, `[::ffff:127.0.0.1]`, `[0:0:0:0:0:0:0:1]`, upper-case IPv6, zone IDs), for custom schemes too (`com.example.app://[0::1]/cb`); the Takos server accepts the loopback spellings (its URL parser rewrites them) but matches the string as written"},
	ruleIPPrivate:          {"redirect-uri-ip-private", "RFC 1918, RFC 6890", sevErr, sevWarn, "a private, link-local, CGNAT, ULA, metadata, unspecified or multicast IP address"},
	ruleLoopbackOther:      {"redirect-uri-loopback-other", "RFC 8252 §7.3", sevWarn, sevWarn, "a 127.0.0.0/8 address other than 127.0.0.1, which Takos does not exempt from `https`"},
	ruleIPPublic:           {"redirect-uri-ip-public", "RFC 8252 §7.3", sevWarn, sevWarn, "a public IP address instead of a DNS name"},
	ruleLoopback:           {"redirect-uri-loopback", "RFC 8252 §7.3, §8.3", sevWarn, sevInfo, "a loopback redirect URI (`localhost`, `*.localhost`, `127.0.0.1`, `[::1]`, any scheme): remove before a production deploy"},
	ruleLocalhostLookalike: {"redirect-uri-localhost-lookalike", "RFC 6761 §6.3", sevInfo, sevInfo, "the host contains `localhost` but is a public name (`localhost.example.com`), not loopback"},
	ruleLoopbackHTTPS:      {"redirect-uri-loopback-https", "RFC 8252 §7.3", sevWarn, sevInfo, "`https` with a loopback IP literal; RFC 8252 loopback redirects use `http` and certificates for IPs are unusual"},
	ruleCustomScheme:       {"redirect-uri-custom-scheme", "OpenID Connect Registration §2", sevErr, sevErr, "a custom (private-use) scheme whose host is not `localhost`, `*.localhost`, `127.0.0.1` or `[::1]`: the Takos server rejects it"},
	ruleCustomSchemeNoDot:  {"redirect-uri-custom-scheme-no-dot", "RFC 8252 §8.4", sevErr, sevErr, "a custom scheme without a `.`; use a reverse-DNS scheme such as `com.example.app` (RFC 8252 §7.1)"},
	ruleCustomSchemeDomain: {"redirect-uri-custom-scheme-domain", "RFC 8252 §7.1, §8.4", sevWarn, sevWarn, "a custom scheme whose reversed form is not a domain under a public suffix"},
	ruleCustomSchemeCase:   {"redirect-uri-custom-scheme-case", "RFC 3986 §3.1", sevErr, sevErr, "a custom scheme with upper-case letters; operating systems register schemes in lower case"},
	ruleQueryRedirectParam: {"redirect-uri-query-redirect-param", "RFC 9700 §4.1.2, §4.11", sevErr, sevWarn, "a query parameter named like a redirect target (`next`, `redirect_uri`, `returnTo`, ...) or whose value is a URL: an open-redirector pattern"},
	ruleQueryOAuthParam:    {"redirect-uri-query-oauth-param", "RFC 6749 §4.1.2, RFC 9207", sevErr, sevErr, "a query parameter that collides with an OAuth response parameter (`code`, `state`, `error`, `iss`, ...)"},
	ruleQueryEmpty:         {"redirect-uri-query-empty", "RFC 6749 §3.1.2", sevWarn, sevWarn, "an empty query (`?`) or an empty or value-less parameter (`?a`, `&&`, trailing `&`)"},
	ruleQuery:              {"redirect-uri-query", "RFC 6749 §3.1.2.2", sevInfo, sevInfo, "has a query string; allowed, but prefer `state` for per-request data"},
	ruleDotSegment:         {"redirect-uri-dot-segment", "RFC 3986 §5.2.4, §6.2.2.3", sevErr, sevErr, "a `.` or `..` path segment, raw or percent-encoded (`%2e`, `.%2E`)"},
	ruleEncodedSlash:       {"redirect-uri-encoded-slash", "RFC 3986 §2.2", sevErr, sevErr, "an encoded `/` (`%2F`) or `\\` (`%5C`) in the path"},
	ruleEmptyPath:          {"redirect-uri-empty-path", "RFC 3986 §6.2.3", sevWarn, sevWarn, "no path after the host; normalisers add `/`, so the exact match fails"},
	ruleDoubleSlash:        {"redirect-uri-double-slash", "RFC 3986 §6.2.2", sevWarn, sevWarn, "`//` inside the path"},
	rulePercentEncoding:    {"redirect-uri-percent-encoding", "RFC 3986 §6.2.2.1, §6.2.2.2", sevWarn, sevWarn, "non-normalised percent-encoding: lower-case hex (`%c3`) or an encoded unreserved character (`%7E`, `%41`)"},
	rulePathSpecialChar:    {"redirect-uri-path-special-char", "RFC 3986 §2.2", sevInfo, sevInfo, "the path contains `! $ ' ( ) , ;`, which some identity providers reject"},
	ruleTooLong:            {"redirect-uri-too-long", "RFC 9110 §4.1", sevErr, sevErr, "longer than 2048 bytes"},
	ruleLong:               {"redirect-uri-long", "RFC 9110 §4.1", sevWarn, sevWarn, "longer than 256 bytes (the limit of some identity providers)"},
	ruleHostNotPublic:      {"redirect-uri-host-not-public", "RFC 2606, RFC 6761, RFC 8375", sevErr, sevWarn, "the host is not a registrable public name: single label, reserved TLD (`.test`, `.example`, `.invalid`, `.local`, `.internal`, `.home.arpa`, `.onion`), unknown TLD or a bare public suffix"},
	ruleTakosRejects:       {"redirect-uri-takos-rejects", "Takos", sevErr, sevErr, "the Takos server would reject the URI for a reason no other rule reports (for example a host the WHATWG URL parser cannot parse, such as `1.2.3.4.5`, `256.0.0.1` or `[::1::]`)"},
	ruleDuplicate:          {"redirect-uri-duplicate", "Takos", sevErr, sevWarn, "the exact same redirect URI is listed twice"},
	ruleNearDuplicate:      {"redirect-uri-near-duplicate", "RFC 3986 §6.2", sevWarn, sevWarn, "two redirect URIs differ only by case, a trailing `/`, a default port or percent-encoding case"},
	ruleMany:               {"redirect-uri-many", "Takos", sevWarn, sevWarn, "more than 20 redirect URIs (reported on the 21st)"},
	ruleTooMany:            {"redirect-uri-too-many", "Takos", sevErr, sevErr, "more than 100 redirect URIs (reported on the 101st)"},
	ruleListEmpty:          {"redirect-uri-list-empty", "RFC 6749 §3.1.2", sevErr, sevErr, "no redirect URIs; Takos requires at least one"},
}

// helpRedirect is the README section that documents the redirect-URI rules.
const helpRedirect = "https://github.com/takos-dev/takos-apply#redirect-uris"

// securitySeverity scores the rules that guard against an attack on the
// authorization code or the user (RFC 9700 §4.1 open redirectors and
// redirect-URI validation, RFC 8252 §8 native apps, homograph hosts), on the
// CVSS-like 0–10 scale code scanning ranks alerts by. Rules absent here keep
// a manifest correct rather than safe.
var securitySeverity = map[rule]float64{
	ruleControlChar:        5.3,
	ruleFragment:           5.3,
	ruleSchemeForbidden:    8.1,
	ruleHTTP:               7.4,
	ruleUserinfo:           6.5,
	ruleWildcard:           8.1,
	ruleHostUnicode:        6.1,
	ruleHostPunycode:       4.3,
	ruleHostMixedScript:    7.1,
	ruleIPNonCanonical:     5.3,
	ruleIPPrivate:          6.5,
	ruleLoopbackOther:      4.3,
	ruleLoopback:           5.3,
	ruleLocalhostLookalike: 4.3,
	ruleCustomScheme:       6.5,
	ruleCustomSchemeNoDot:  6.5,
	ruleCustomSchemeDomain: 4.3,
	ruleQueryRedirectParam: 7.4,
	ruleQueryOAuthParam:    6.5,
	ruleDotSegment:         7.4,
	ruleEncodedSlash:       7.4,
	ruleHostNotPublic:      6.5,
}

// Rules returns every rule with its severity in production and development
// and a one-line description, in documentation order. The caller owns the
// returned slice.
func Rules() []diag.Rule {
	out := make([]diag.Rule, 0, len(registry))
	for i, r := range registry {
		out = append(out, diag.Rule{
			ID:               r.ID,
			Production:       r.Production,
			Development:      r.Development,
			Summary:          r.Description,
			HelpURL:          helpRedirect,
			SecuritySeverity: securitySeverity[rule(i)],
		})
	}
	return out
}
