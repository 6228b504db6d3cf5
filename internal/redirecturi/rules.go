package redirecturi

import (
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// rules is every redirect-URI rule, each declared once below with its
// severity in production and development, the public source it follows
// (Ref: RFC, WHATWG or OpenID sections, or "Takos" for rules that model the
// Takos server) and a one-line summary for the catalogue (see diag.Rule).
// Their IDs are stable: never rename one.
var rules diag.RuleSet

// helpRedirect is the README section that documents the redirect-URI rules.
const helpRedirect = "https://github.com/takos-dev/takos-apply#redirect-uris"

func rule(id, ref string, prod, dev diag.Severity, summary string) *diag.Rule {
	return securityRule(id, ref, prod, dev, 0, summary)
}

// securityRule is a rule that guards against an attack on the
// authorization code or the user (RFC 9700 §4.1 open redirectors and
// redirect-URI validation, RFC 8252 §8 native apps, homograph hosts); score
// is its security severity on the CVSS-like 0–10 scale code scanning ranks
// alerts by. The other rules keep a manifest correct rather than safe.
func securityRule(id, ref string, prod, dev diag.Severity, score float64, summary string) *diag.Rule {
	return rules.Add(diag.Rule{ID: id, Ref: ref, Production: prod, Development: dev, Summary: summary,
		HelpURL: helpRedirect, SecuritySeverity: score})
}

// The rules in documentation order.
var (
	ruleEmpty              = rule("redirect-uri-empty", "RFC 6749 §3.1.2", diag.Error, diag.Error, "the redirect URI is empty or only whitespace")
	ruleControlChar        = securityRule("redirect-uri-control-char", "RFC 3986 §2", diag.Error, diag.Error, 5.3, "leading/trailing whitespace, an ASCII or C1 control character, a Unicode space or an invisible format/bidi character (U+200B–U+200F, U+202A–U+202E, U+2066–U+2069, U+FEFF, ...) anywhere")
	ruleInvalidChar        = rule("redirect-uri-invalid-char", "RFC 3986 §2, §3", diag.Error, diag.Error, "a character RFC 3986 does not allow (raw space, `\\`, `<`, `>`, `\"`, `{`, `}`, `^`, backtick, vertical bar, `[`/`]` outside an IPv6 host, non-ASCII outside the host, invalid UTF-8) or a malformed `%XX` escape")
	ruleNotAbsolute        = rule("redirect-uri-not-absolute", "RFC 6749 §3.1.2, RFC 3986 §4.3", diag.Error, diag.Error, "not an absolute URI: relative, scheme-relative (`//host`), invalid scheme, or `host:port` without a scheme")
	ruleFragment           = securityRule("redirect-uri-fragment", "RFC 6749 §3.1.2", diag.Error, diag.Error, 5.3, "contains `#`, including a bare `#` that Takos tolerates but URL parsers silently drop")
	ruleSchemeCase         = rule("redirect-uri-scheme-case", "RFC 3986 §6.2.2.1", diag.Warning, diag.Warning, "the scheme has upper-case letters; clients send it lower-case, so the exact match fails")
	ruleHostCase           = rule("redirect-uri-host-case", "RFC 3986 §6.2.2.1", diag.Warning, diag.Warning, "the host has upper-case letters; browsers send it lower-case, so the exact match fails")
	ruleSchemeForbidden    = securityRule("redirect-uri-scheme-forbidden", "RFC 9700 §2.6", diag.Error, diag.Error, 8.1, "a dangerous or non-redirect scheme: `javascript`, `data`, `vbscript`, `file`, `blob`, `about`, `filesystem`, `ftp`, `ws`, `wss`, `mailto`, `tel`, `intent`")
	ruleHTTP               = securityRule("redirect-uri-http", "RFC 9700 §2.6, RFC 6749 §3.1.2.1", diag.Error, diag.Error, 7.4, "`http` with a host other than `localhost`, `*.localhost`, `127.0.0.1` or `[::1]` (or a spelling the WHATWG URL parser rewrites to one of them, which `redirect-uri-ip-noncanonical` reports); Takos requires `https` there")
	ruleUserinfo           = securityRule("redirect-uri-userinfo", "RFC 3986 §3.2.1, §7.6", diag.Error, diag.Error, 6.5, "user information (`user@`, `user:pass@`) before the host")
	ruleMissingHost        = rule("redirect-uri-missing-host", "RFC 3986 §3.2", diag.Error, diag.Error, "`http`/`https` without a host (`https:///cb`, `https:/cb`, `https:cb`, `https://:443/`)")
	ruleWildcard           = securityRule("redirect-uri-wildcard", "RFC 9700 §2.1, §4.1", diag.Error, diag.Error, 8.1, "`*` in the host, path or query; Takos matches redirect URIs exactly and has no wildcards")
	rulePortInvalid        = rule("redirect-uri-port-invalid", "RFC 3986 §3.2.3, §6.2.3", diag.Error, diag.Error, "the port is `*`, not a number, 0, above 65535 or has leading zeros; Takos has no wildcard port (its docs' `http://localhost:*` is rejected by its server)")
	rulePortRedundant      = rule("redirect-uri-port-redundant", "RFC 3986 §3.2.3, §6.2.3", diag.Warning, diag.Warning, "an empty port or the scheme's default port (`https:443`, `http:80`), which URL normalisers drop")
	ruleHostTrailingDot    = rule("redirect-uri-host-trailing-dot", "RFC 1034 §3.1", diag.Warning, diag.Warning, "the host name ends with `.`")
	ruleHostUnicode        = securityRule("redirect-uri-host-unicode", "RFC 5890, RFC 5891", diag.Error, diag.Error, 6.1, "the host has non-ASCII characters; register the punycode A-label (`xn--...`) that browsers send")
	ruleHostPunycode       = securityRule("redirect-uri-host-punycode", "RFC 5890, RFC 5891", diag.Warning, diag.Warning, 4.3, "the host has a punycode label (`xn--`); the message shows the Unicode form to check for look-alikes")
	ruleHostMixedScript    = securityRule("redirect-uri-host-mixed-script", "RFC 5890, RFC 5891", diag.Error, diag.Warning, 7.1, "a punycode label mixes scripts (for example Latin and Cyrillic), a homograph-spoofing pattern")
	ruleHostInvalid        = rule("redirect-uri-host-invalid", "RFC 5890, RFC 5891", diag.Error, diag.Error, "the host is not a valid DNS name: `_`, `%`, sub-delimiters, empty label, label over 63 or name over 253 octets, leading/trailing `-`, invalid punycode, junk after `]`")
	ruleIPNonCanonical     = securityRule("redirect-uri-ip-noncanonical", "WHATWG URL §4.4, RFC 5952 §4", diag.Error, diag.Error, 5.3, "a non-canonical IP spelling browsers rewrite (`127.1`, `0x7f.0.0.1`, `2130706433`, `0177.0.0.1`, `127.0.0.1.`, `[::ffff:127.0.0.1]`, `[0:0:0:0:0:0:0:1]`, upper-case IPv6, zone IDs), for custom schemes too (`com.example.app://[0::1]/cb`); the Takos server accepts the loopback spellings (its URL parser rewrites them) but matches the string as written")
	ruleIPPrivate          = securityRule("redirect-uri-ip-private", "RFC 1918, RFC 6890", diag.Error, diag.Warning, 6.5, "a private, link-local, CGNAT, ULA, metadata, unspecified or multicast IP address")
	ruleLoopbackOther      = securityRule("redirect-uri-loopback-other", "RFC 8252 §7.3", diag.Warning, diag.Warning, 4.3, "a 127.0.0.0/8 address other than 127.0.0.1, which Takos does not exempt from `https`")
	ruleIPPublic           = rule("redirect-uri-ip-public", "RFC 8252 §7.3", diag.Warning, diag.Warning, "a public IP address instead of a DNS name")
	ruleLoopback           = securityRule("redirect-uri-loopback", "RFC 8252 §7.3, §8.3", diag.Warning, diag.Info, 5.3, "a loopback redirect URI (`localhost`, `*.localhost`, `127.0.0.1`, `[::1]`, any scheme): remove before a production deploy")
	ruleLocalhostLookalike = securityRule("redirect-uri-localhost-lookalike", "RFC 6761 §6.3", diag.Info, diag.Info, 4.3, "the host contains `localhost` but is a public name (`localhost.example.com`), not loopback")
	ruleLoopbackHTTPS      = rule("redirect-uri-loopback-https", "RFC 8252 §7.3", diag.Warning, diag.Info, "`https` with a loopback IP literal; RFC 8252 loopback redirects use `http` and certificates for IPs are unusual")
	ruleCustomScheme       = securityRule("redirect-uri-custom-scheme", "OpenID Connect Registration §2", diag.Error, diag.Error, 6.5, "a custom (private-use) scheme whose host is not `localhost`, `*.localhost`, `127.0.0.1` or `[::1]`: the Takos server rejects it")
	ruleCustomSchemeNoDot  = securityRule("redirect-uri-custom-scheme-no-dot", "RFC 8252 §8.4", diag.Error, diag.Error, 6.5, "a custom scheme without a `.`; use a reverse-DNS scheme such as `com.example.app` (RFC 8252 §7.1)")
	ruleCustomSchemeDomain = securityRule("redirect-uri-custom-scheme-domain", "RFC 8252 §7.1, §8.4", diag.Warning, diag.Warning, 4.3, "a custom scheme whose reversed form is not a domain under a public suffix")
	ruleCustomSchemeCase   = rule("redirect-uri-custom-scheme-case", "RFC 3986 §3.1", diag.Error, diag.Error, "a custom scheme with upper-case letters; operating systems register schemes in lower case")
	ruleQueryRedirectParam = securityRule("redirect-uri-query-redirect-param", "RFC 9700 §4.1.2, §4.11", diag.Error, diag.Warning, 7.4, "a query parameter named like a redirect target (`next`, `redirect_uri`, `returnTo`, ...) or whose value is a URL: an open-redirector pattern")
	ruleQueryOAuthParam    = securityRule("redirect-uri-query-oauth-param", "RFC 6749 §4.1.2, RFC 9207", diag.Error, diag.Error, 6.5, "a query parameter that collides with an OAuth response parameter (`code`, `state`, `error`, `iss`, ...)")
	ruleQueryEmpty         = rule("redirect-uri-query-empty", "RFC 6749 §3.1.2", diag.Warning, diag.Warning, "an empty query (`?`) or an empty or value-less parameter (`?a`, `&&`, trailing `&`)")
	ruleQuery              = rule("redirect-uri-query", "RFC 6749 §3.1.2.2", diag.Info, diag.Info, "has a query string; allowed, but prefer `state` for per-request data")
	ruleDotSegment         = securityRule("redirect-uri-dot-segment", "RFC 3986 §5.2.4, §6.2.2.3", diag.Error, diag.Error, 7.4, "a `.` or `..` path segment, raw or percent-encoded (`%2e`, `.%2E`)")
	ruleEncodedSlash       = securityRule("redirect-uri-encoded-slash", "RFC 3986 §2.2", diag.Error, diag.Error, 7.4, "an encoded `/` (`%2F`) or `\\` (`%5C`) in the path")
	ruleEmptyPath          = rule("redirect-uri-empty-path", "RFC 3986 §6.2.3", diag.Warning, diag.Warning, "no path after the host; normalisers add `/`, so the exact match fails")
	ruleDoubleSlash        = rule("redirect-uri-double-slash", "RFC 3986 §6.2.2", diag.Warning, diag.Warning, "`//` inside the path")
	rulePercentEncoding    = rule("redirect-uri-percent-encoding", "RFC 3986 §6.2.2.1, §6.2.2.2", diag.Warning, diag.Warning, "non-normalised percent-encoding: lower-case hex (`%c3`) or an encoded unreserved character (`%7E`, `%41`)")
	rulePathSpecialChar    = rule("redirect-uri-path-special-char", "RFC 3986 §2.2", diag.Info, diag.Info, "the path contains `! $ ' ( ) , ;`, which some identity providers reject")
	ruleTooLong            = rule("redirect-uri-too-long", "RFC 9110 §4.1", diag.Error, diag.Error, "longer than 2048 bytes")
	ruleLong               = rule("redirect-uri-long", "RFC 9110 §4.1", diag.Warning, diag.Warning, "longer than 256 bytes (the limit of some identity providers)")
	ruleHostNotPublic      = securityRule("redirect-uri-host-not-public", "RFC 2606, RFC 6761, RFC 8375", diag.Error, diag.Warning, 6.5, "the host is not a registrable public name: single label, reserved TLD (`.test`, `.example`, `.invalid`, `.local`, `.internal`, `.home.arpa`, `.onion`), unknown TLD or a bare public suffix")
	ruleTakosRejects       = rule("redirect-uri-takos-rejects", "Takos", diag.Error, diag.Error, "the Takos server would reject the URI for a reason no other rule reports (for example a host the WHATWG URL parser cannot parse, such as `1.2.3.4.5`, `256.0.0.1` or `[::1::]`)")
	ruleDuplicate          = rule("redirect-uri-duplicate", "Takos", diag.Error, diag.Warning, "the exact same redirect URI is listed twice")
	ruleNearDuplicate      = rule("redirect-uri-near-duplicate", "RFC 3986 §6.2", diag.Warning, diag.Warning, "two redirect URIs differ only by case, a trailing `/`, a default port or percent-encoding case")
	ruleMany               = rule("redirect-uri-many", "Takos", diag.Warning, diag.Warning, "more than 20 redirect URIs (reported on the 21st)")
	ruleTooMany            = rule("redirect-uri-too-many", "Takos", diag.Error, diag.Error, "more than 100 redirect URIs (reported on the 101st)")
	ruleListEmpty          = rule("redirect-uri-list-empty", "RFC 6749 §3.1.2", diag.Error, diag.Error, "no redirect URIs; Takos requires at least one")
)

// Rules returns every rule in documentation order. The caller owns the
// returned slice.
func Rules() []diag.Rule { return rules.Rules() }
