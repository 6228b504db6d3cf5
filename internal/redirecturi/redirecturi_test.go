package redirecturi

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/google/go-cmp/cmp"

	"github.com/takos-dev/takos-apply/internal/redirecturi/redirecturitest"
	"github.com/takos-dev/takos-apply/pkg/diag"
)

const prefix = "redirect-uri-"

// checkCase is one row of the Check table. want lists the expected
// findings as space-separated "rule:S" or "rule:P/D" tokens, the rule
// without the "redirect-uri-" prefix and S, P, D one of E, W, I: S is the
// severity in both environments, P the one in production and D the one in
// development. An empty want means no findings in either environment.
type checkCase struct {
	name string
	in   string
	want string
}

// checkCases is the table the brief asks for: every rule triggered by at
// least three inputs, a near miss for each, every row of the reference's
// tricky-input table (§1.2), loopback forms, IP oddities, ports, schemes.
func checkCases() []checkCase {
	long := func(n int) string { // an otherwise clean URI of exactly n bytes
		base := "https://app.example.com/"
		return base + strings.Repeat("a", n-len(base))
	}
	label64 := strings.Repeat("a", 64)
	return []checkCase{
		// Clean URIs and near misses for many rules.
		{"clean callback", "https://app.example.com/callback", ""},
		{"clean nested path", "https://app.example.com/oauth/callback", ""},
		{"clean non-default port", "https://app.example.com:8443/cb", ""},
		{"near miss port-redundant: 80 on https", "https://app.example.com:80/cb", ""},
		{"clean private PSL suffix", "https://user.github.io/cb", ""},
		{"near miss empty-path and double-slash: trailing slash", "https://app.example.com/cb/", ""},
		{"near miss dot-segment: .well-known", "https://app.example.com/.well-known/cb", ""},
		{"near miss dot-segment: three dots", "https://app.example.com/cb/...", ""},
		{"near miss percent-encoding: upper-case UTF-8", "https://app.example.com/caf%C3%A9", ""},
		{"near miss userinfo: @ in path", "https://app.example.com/@user/cb", ""},
		{"near miss punycode: single hyphen", "https://xn-bcher.example.com/cb", ""},
		{"near miss case: upper-case path", "https://app.example.com/HTTPS/CB", ""},
		{"clean multi-level suffix", "https://app-1.example.co.uk/cb", ""},
		{"near miss trailing-dot: dot in path", "https://app.example.com/cb.", ""},
		{"near miss long: exactly 256 bytes", long(256), ""},
		{"near miss wildcard: encoded star in path", "https://app.example.com/cb%2A", ""},

		// Empty.
		{"empty string", "", "empty:E"},
		{"spaces only", "   ", "empty:E"},
		{"tab only", "\t", "empty:E"},
		{"newline only", "\n", "empty:E"},
		{"near miss empty: one letter", "x", "not-absolute:E"},

		// Control and invisible characters.
		{"leading space", " https://app.example.com/cb", "control-char:E"},
		{"trailing space", "https://app.example.com/cb ", "control-char:E"},
		{"trailing newline", "https://app.example.com/cb\n", "control-char:E"},
		{"CRLF header injection", "https://app.example.com/cb\r\nSet-Cookie: x=1", "control-char:E invalid-char:E"},
		{"tab inside", "https://app.example.com/c\tb", "control-char:E"},
		{"NUL", "https://app.example.com/cb\x00", "control-char:E"},
		{"DEL", "https://app.example.com/cb\x7f", "control-char:E"},
		{"C1 NEL", "https://app.example.com/cb\u0085", "control-char:E"},
		{"bidi override RLO", "https://app.example.com/cb\u202e", "control-char:E"},
		{"zero-width space", "https://app.example.com/\u200bcb", "control-char:E"},
		{"BOM prefix", "\ufeffhttps://app.example.com/cb", "control-char:E"},
		{"bidi isolates", "https://app.example.com/\u2066cb\u2069", "control-char:E"},
		{"trailing no-break space", "https://app.example.com/cb\u00a0", "control-char:E"},
		{"line separator", "https://app.example.com/c\u2028b", "control-char:E"},
		{"bidi in host", "https://app.exa\u202emple.com/cb", "control-char:E"},
		{"javascript with newline", "javascript:alert(1)\n", "control-char:E scheme-forbidden:E"},
		{"space and newline", "https://app.example.com/c b\n", "control-char:E invalid-char:E"},

		// Characters outside RFC 3986.
		{"raw space in path", "https://app.example.com/c b", "invalid-char:E"},
		{"backslash before @", "https://evil.com\\@app.example.com/cb", "invalid-char:E"},
		{"angle brackets", "https://app.example.com/cb<script>", "invalid-char:E"},
		{"malformed escape", "https://app.example.com/cb%zz", "invalid-char:E"},
		{"truncated escape", "https://app.example.com/cb%2", "invalid-char:E"},
		{"non-ASCII in path", "https://app.example.com/caf\u00e9", "invalid-char:E"},
		{"non-ASCII in query", "https://app.example.com/cb?q=\u00e9", "invalid-char:E"},
		{"pipe in query", "https://app.example.com/cb?q=a|b", "invalid-char:E"},
		{"braces template", "https://app.example.com/{id}", "invalid-char:E"},
		{"brackets in path", "https://app.example.com/cb/[x]", "invalid-char:E"},
		{"invalid UTF-8", "https://app.example.com/cb\xff", "invalid-char:E"},
		{"double quote", "https://app.example.com/cb\"", "invalid-char:E"},
		{"backtick", "https://app.example.com/cb`", "invalid-char:E"},
		{"data URL with script tag", "data:text/html,<script>alert(1)</script>", "invalid-char:E scheme-forbidden:E"},

		// Not absolute.
		{"relative path", "/relative/cb", "not-absolute:E"},
		{"scheme-relative", "//app.example.com/cb", "not-absolute:E"},
		{"host without scheme", "app.example.com/cb", "not-absolute:E"},
		{"localhost:port without scheme", "localhost:3000/callback", "not-absolute:E"},
		{"host:port without scheme", "app.example.com:443/cb", "not-absolute:E"},
		{"scheme starting with digit", "1http://app.example.com/cb", "not-absolute:E"},
		{"empty scheme", ":cb", "not-absolute:E"},
		{"query only", "?code=x", "not-absolute:E"},
		{"near miss not-absolute: one-letter scheme", "a:b", "custom-scheme:E"},

		// Fragment.
		{"bare hash", "https://app.example.com/cb#", "fragment:E"},
		{"fragment", "https://app.example.com/cb#x", "fragment:E"},
		{"SPA route fragment", "https://app.example.com/cb#/route", "fragment:E"},
		{"query and fragment", "https://app.example.com/cb?x=1#y", "fragment:E query:I"},
		{"loopback with fragment", "http://localhost:3000/cb#frag", "fragment:E loopback:W/I"},
		{"near miss fragment: encoded hash", "https://app.example.com/cb?x=%23", "query:I"},

		// Scheme case and host case.
		{"upper-case scheme", "HTTPS://app.example.com/cb", "scheme-case:W"},
		{"mixed-case scheme", "Https://app.example.com/cb", "scheme-case:W"},
		{"upper-case http loopback", "HTTP://localhost:3000/cb", "scheme-case:W loopback:W/I"},
		{"upper-case scheme and host", "HTTPS://App.Example.COM/cb", "scheme-case:W host-case:W"},
		{"capitalised host", "https://App.example.com/cb", "host-case:W"},
		{"upper-case host", "https://APP.EXAMPLE.COM/cb", "host-case:W"},
		{"upper-case localhost", "http://LOCALHOST:3000/cb", "host-case:W loopback:W/I"},
		{"upper-case host with trailing dot", "https://APP.example.com./cb", "host-case:W host-trailing-dot:W"},

		// Forbidden schemes.
		{"javascript", "javascript:alert(1)", "scheme-forbidden:E"},
		{"javascript upper-case", "JAVASCRIPT:alert(1)", "scheme-forbidden:E"},
		{"data base64", "data:text/html;base64,PHNjcmlwdD4=", "scheme-forbidden:E"},
		{"vbscript", "vbscript:msgbox(1)", "scheme-forbidden:E"},
		{"file", "file:///etc/passwd", "scheme-forbidden:E"},
		{"file with localhost host", "file://localhost/etc/passwd", "scheme-forbidden:E"},
		{"ftp", "ftp://app.example.com/cb", "scheme-forbidden:E"},
		{"wss", "wss://app.example.com/cb", "scheme-forbidden:E"},
		{"mailto", "mailto:a@example.com", "scheme-forbidden:E"},
		{"blob", "blob:https://app.example.com/uuid", "scheme-forbidden:E"},
		{"javascript with localhost host", "javascript://localhost/%0Aalert(1)", "scheme-forbidden:E"},
		{"about", "about:blank", "scheme-forbidden:E"},
		{"intent", "intent://cb#Intent;scheme=x;end", "scheme-forbidden:E"},
		{"near miss forbidden: javascriptx", "javascriptx://localhost/cb", "custom-scheme-no-dot:E loopback:W/I"},

		// Http off loopback.
		{"http public host", "http://app.example.com/cb", "http:E"},
		{"HTTP public host", "HTTP://app.example.com/cb", "http:E scheme-case:W"},
		{"http localhost look-alike", "http://localhost.evil.com/cb", "http:E localhost-lookalike:I"},
		{"http private IP", "http://192.168.0.10:8080/cb", "http:E ip-private:E/W"},
		{"http other 127 address", "http://127.0.0.2/cb", "http:E loopback-other:W"},
		{"http localhost with trailing dot", "http://localhost./cb", "http:E host-trailing-dot:W"},
		{"http no path", "http://example.com", "http:E empty-path:W"},
		{"near miss http: 127.0.0.1", "http://127.0.0.1:9090/cb", "loopback:W/I"},

		// Userinfo.
		{"userinfo spoofing host", "https://app.example.com@evil.com/cb", "userinfo:E"},
		{"user and password", "https://user:pass@app.example.com/cb", "userinfo:E"},
		{"empty userinfo", "https://@app.example.com/cb", "userinfo:E"},
		{"userinfo on loopback", "http://user@localhost:3000/cb", "userinfo:E loopback:W/I"},
		{"two @", "https://a@b@evil.com/cb", "userinfo:E"},
		{"near miss userinfo: @ in query", "https://app.example.com/cb?email=a@example.com", "query:I"},

		// Missing host.
		{"three slashes", "https:///cb", "missing-host:E"},
		{"one slash", "https:/app.example.com/cb", "missing-host:E"},
		{"no slash", "https:app.example.com/cb", "missing-host:E"},
		{"port without host", "http://:8080/cb", "missing-host:E"},
		{"scheme and slashes only", "https://", "missing-host:E"},
		{"userinfo without host", "https://user@/cb", "missing-host:E"},
		{"upper-case scheme without host", "HTTPS:///cb", "scheme-case:W missing-host:E"},

		// Wildcards.
		{"wildcard subdomain", "https://*.example.com/cb", "wildcard:E"},
		{"wildcard path", "https://app.example.com/cb/*", "wildcard:E"},
		{"wildcard query", "https://app.example.com/cb?x=*", "wildcard:E query:I"},
		{"wildcard localhost subdomain", "http://*.localhost:3000/cb", "wildcard:E"},
		{"wildcard middle label", "https://app.*.example.com/cb", "wildcard:E"},
		{"wildcard over http", "http://*.example.com/cb", "wildcard:E http:E"},
		{"near miss wildcard: encoded star in query", "https://app.example.com/cb?x=%2A", "query:I"},

		// Ports.
		{"localhost wildcard port (Takos docs)", "http://localhost:*/callback", "port-invalid:E loopback:W/I"},
		{"localhost wildcard port without path", "http://localhost:*", "port-invalid:E loopback:W/I empty-path:W"},
		{"127.0.0.1 wildcard port", "http://127.0.0.1:*/cb", "port-invalid:E loopback:W/I"},
		{"public host wildcard port", "https://app.example.com:*/cb", "port-invalid:E"},
		{"port 0", "https://app.example.com:0/cb", "port-invalid:E"},
		{"port 65536", "https://app.example.com:65536/cb", "port-invalid:E"},
		{"port 99999", "https://app.example.com:99999/cb", "port-invalid:E"},
		{"port 0443", "https://app.example.com:0443/cb", "port-invalid:E"},
		{"port letters", "https://app.example.com:abc/cb", "port-invalid:E"},
		{"negative port", "https://app.example.com:-1/cb", "port-invalid:E"},
		{"port range", "http://localhost:3000-3010/cb", "port-invalid:E loopback:W/I"},
		{"huge port", "https://app.example.com:123456789012345678901/cb", "port-invalid:E"},
		{"near miss port-invalid: 65535", "http://localhost:65535/cb", "loopback:W/I"},
		{"near miss port-invalid: 1", "http://localhost:1/cb", "loopback:W/I"},
		{"default https port", "https://app.example.com:443/cb", "port-redundant:W"},
		{"default http port on localhost", "http://localhost:80/cb", "port-redundant:W loopback:W/I"},
		{"empty port", "https://app.example.com:/cb", "port-redundant:W"},
		{"default http port on 127.0.0.1", "http://127.0.0.1:80/cb", "port-redundant:W loopback:W/I"},
		{"near miss port-redundant: 443 on http", "http://localhost:443/cb", "loopback:W/I"},

		// Trailing dot.
		{"trailing dot", "https://app.example.com./cb", "host-trailing-dot:W"},
		{"trailing dot with port", "https://app.example.com.:8443/cb", "host-trailing-dot:W"},
		{"two trailing dots", "https://app.example.com../cb", "host-trailing-dot:W host-invalid:E"},

		// Internationalised and invalid hosts.
		{"Cyrillic a in host", "https://\u0430pp.example.com/cb", "host-unicode:E"},
		{"German umlaut host", "https://m\u00fcnchen.de/cb", "host-unicode:E"},
		{"umlaut subdomain", "https://b\u00fccher.example.com/cb", "host-unicode:E"},
		{"unicode host over http", "http://b\u00fccher.de/cb", "host-unicode:E http:E"},
		{"Japanese host", "https://\u4f8b\u3048.jp/cb", "host-unicode:E"},
		{"unassigned code point in host", "https://x\u0378.com/cb", "host-invalid:E"},
		{"punycode host", "https://xn--mnchen-3ya.de/cb", "host-punycode:W"},
		{"punycode subdomain", "https://xn--bcher-kva.example.com/cb", "host-punycode:W"},
		{"upper-case punycode", "https://XN--MNCHEN-3YA.de/cb", "host-case:W host-punycode:W"},
		{"whole-script Cyrillic look-alike (not detected as mixed)", "https://xn--80ak6aa92e.com/cb", "host-punycode:W"},
		{"Japanese Han and Hiragana (allowed mix)", "https://xn--38jv62nb2a.jp/cb", "host-punycode:W"},
		{"Latin and Hiragana (allowed mix)", "https://xn--abc-r73b4fvb9j.jp/cb", "host-punycode:W"},
		{"Cyrillic a in Latin label", "https://xn--pp-6kc.example.com/cb", "host-punycode:W host-mixed-script:E/W"},
		{"paypal with Cyrillic a", "https://xn--pypal-4ve.com/cb", "host-punycode:W host-mixed-script:E/W"},
		{"Greek epsilon in Latin label", "https://xn--xample-hye.com/cb", "host-punycode:W host-mixed-script:E/W"},
		{"underscore", "https://exa_mple.com/cb", "host-invalid:E"},
		{"leading hyphen", "https://-app.example.com/cb", "host-invalid:E"},
		{"trailing hyphen", "https://app-.example.com/cb", "host-invalid:E"},
		{"empty label", "https://a..b.com/cb", "host-invalid:E"},
		{"leading dot", "https://.example.com/cb", "host-invalid:E"},
		{"percent-encoded host", "https://app.exa%6Dple.com/cb", "host-invalid:E"},
		{"sub-delimiter in host", "https://app!.example.com/cb", "host-invalid:E"},
		{"invalid punycode", "https://xn--a.com/cb", "host-invalid:E"},
		{"empty punycode label", "https://xn--.com/cb", "host-invalid:E"},
		{"label of 64 characters", "https://" + label64 + ".example.com/cb", "host-invalid:E"},
		{"unterminated IPv6 bracket", "https://[::1/cb", "host-invalid:E"},
		{"junk after IPv6 bracket", "https://[::1]x/cb", "host-invalid:E"},
		{"bracket in host name", "https://app.example.com[/cb", "host-invalid:E"},

		// IP literals.
		{"127.1 (Takos accepts: WHATWG rewrites it)", "http://127.1/", "ip-noncanonical:E"},
		{"0x7f000001 (Takos accepts)", "http://0x7f000001/cb", "ip-noncanonical:E"},
		{"hex 0x7f.0.0.1", "http://0x7f.0.0.1/", "ip-noncanonical:E"},
		{"decimal 2130706433", "http://2130706433/", "ip-noncanonical:E"},
		{"octal 0177.0.0.1", "http://0177.0.0.1/", "ip-noncanonical:E"},
		{"zero-padded 127.000.000.001", "http://127.000.000.001/", "ip-noncanonical:E"},
		{"IPv4-mapped IPv6 loopback", "http://[::ffff:127.0.0.1]/", "ip-noncanonical:E http:E"},
		{"uncompressed IPv6 loopback", "http://[0:0:0:0:0:0:0:1]/", "ip-noncanonical:E"},
		{"IPv6 loopback with zone", "http://[::1%25eth0]/", "ip-noncanonical:E http:E"},
		{"link-local with zone", "https://[fe80::1%25en0]/cb", "ip-noncanonical:E"},
		{"upper-case IPv6", "https://[2001:DB8::1]/cb", "ip-noncanonical:E"},
		{"zero-padded IPv6", "https://[2001:0db8::1]/cb", "ip-noncanonical:E"},
		{"IPv4 with trailing dot", "https://127.0.0.1./cb", "ip-noncanonical:E"},
		{"all-hex IPv4", "https://0x08.0x08.0x08.0x08/cb", "ip-noncanonical:E"},
		{"single zero host", "http://0/", "ip-noncanonical:E http:E"},
		{"10/8", "https://10.0.0.5/cb", "ip-private:E/W"},
		{"172.16/12", "https://172.16.0.1/cb", "ip-private:E/W"},
		{"192.168/16", "https://192.168.1.10/cb", "ip-private:E/W"},
		{"cloud metadata", "https://169.254.169.254/latest", "ip-private:E/W"},
		{"CGNAT", "https://100.64.0.1/cb", "ip-private:E/W"},
		{"IPv6 ULA", "https://[fd00::1]/cb", "ip-private:E/W"},
		{"IPv6 link-local", "https://[fe80::1]/cb", "ip-private:E/W"},
		{"unspecified IPv4", "https://0.0.0.0/cb", "ip-private:E/W"},
		{"unspecified IPv6", "https://[::]/cb", "ip-private:E/W"},
		{"multicast", "https://224.0.0.1/cb", "ip-private:E/W"},
		{"broadcast", "https://255.255.255.255/cb", "ip-private:E/W"},
		{"near miss ip-private: 172.32", "https://172.32.0.1/cb", "ip-public:W"},
		{"near miss ip-private: 100.128", "https://100.128.0.1/cb", "ip-public:W"},
		{"127.0.0.2 over https", "https://127.0.0.2/cb", "loopback-other:W"},
		{"127.255.255.254", "https://127.255.255.254/cb", "loopback-other:W"},
		{"127.1.2.3 with port", "https://127.1.2.3:8443/cb", "loopback-other:W"},
		{"public IPv4", "https://8.8.8.8/cb", "ip-public:W"},
		{"public IPv4 with port", "https://93.184.216.34:8443/cb", "ip-public:W"},
		{"public IPv6", "https://[2001:db8::1]/cb", "ip-public:W"},
		{"near miss takos-rejects: valid IPv4", "https://1.2.3.4/cb", "ip-public:W"},

		// Loopback, localhost look-alikes, https loopback.
		{"127.0.0.1 with port", "http://127.0.0.1:8080/cb", "loopback:W/I"},
		{"[::1] with port", "http://[::1]:8080/cb", "loopback:W/I"},
		{"localhost with port", "http://localhost:3000/callback", "loopback:W/I"},
		{"*.localhost", "http://app.localhost:3000/cb", "loopback:W/I"},
		{"https localhost", "https://localhost:8443/cb", "loopback:W/I"},
		{"127.0.0.1 without port", "http://127.0.0.1/cb", "loopback:W/I"},
		{"localhost without path", "http://localhost", "loopback:W/I empty-path:W"},
		{"mixed-case localhost subdomain", "http://LocalHost.LOCALHOST/cb", "host-case:W loopback:W/I"},
		{"near miss lookalike: https *.localhost", "https://app.localhost/cb", "loopback:W/I"},
		{"localhost as a subdomain of a public name", "https://localhost.evil.com/cb", "localhost-lookalike:I"},
		{"localhost inside a label", "https://mylocalhost.com/cb", "localhost-lookalike:I"},
		{"localhost- prefix", "https://localhost-app.example.com/cb", "localhost-lookalike:I"},
		{"localhost in a subdomain label", "https://sub.localhost.example.com/cb", "localhost-lookalike:I"},
		{"https 127.0.0.1 with port", "https://127.0.0.1:8443/cb", "loopback:W/I loopback-https:W/I"},
		{"https [::1] with port", "https://[::1]:8443/cb", "loopback:W/I loopback-https:W/I"},
		{"https 127.0.0.1", "https://127.0.0.1/cb", "loopback:W/I loopback-https:W/I"},

		// Custom schemes, following the Takos server.
		{"private-use scheme, RFC 8252 form", "com.example.app:/oauth2redirect", "custom-scheme:E"},
		{"custom scheme without dot", "myapp://callback", "custom-scheme:E"},
		{"private-use scheme with host", "com.example.app://oauth2redirect", "custom-scheme:E"},
		{"OOB URN", "urn:ietf:wg:oauth:2.0:oob", "custom-scheme:E"},
		{"custom scheme, upper-case localhost (opaque host)", "com.example.app://LOCALHOST/cb", "custom-scheme:E"},
		{"custom scheme, localhost with trailing dot", "com.example.app://localhost./cb", "custom-scheme:E"},
		{"custom scheme, opaque", "myapp:callback", "custom-scheme:E"},
		// The WHATWG parser parses IPv6 hosts of every scheme, so the
		// server sees [::1] and accepts these; the spelling still differs.
		{"custom scheme, [0::1]", "com.example.app://[0::1]/cb", "ip-noncanonical:E"},
		{"custom scheme, [::0:1]", "com.example.app://[::0:1]/cb", "ip-noncanonical:E"},
		{"custom scheme, [::01]", "com.example.app://[::01]/cb", "ip-noncanonical:E"},
		{"custom scheme, [0:0:0:0:0:0:0:1]", "com.example.app://[0:0:0:0:0:0:0:1]/cb", "ip-noncanonical:E"},
		{"custom scheme, IPv4 is opaque", "com.example.app://127.1/cb", "custom-scheme:E"},
		{"near miss custom-scheme: localhost host", "com.example.app://localhost/cb", "loopback:W/I"},
		{"custom scheme on 127.0.0.1", "com.example.app://127.0.0.1/cb", "loopback:W/I"},
		{"custom scheme on [::1]", "com.example.app://[::1]/cb", "loopback:W/I"},
		{"near miss custom-scheme-domain: com.github", "com.github://localhost/cb", "loopback:W/I"},
		{"no-dot scheme on localhost", "myapp://localhost/cb", "custom-scheme-no-dot:E loopback:W/I"},
		{"no-dot scheme on 127.0.0.1", "myapp://127.0.0.1/cb", "custom-scheme-no-dot:E loopback:W/I"},
		{"no-dot scheme on [::1] with port", "myapp://[::1]:7777/cb", "custom-scheme-no-dot:E loopback:W/I"},
		{"reversed scheme under unknown TLD", "zz.example.app://localhost/cb", "custom-scheme-domain:W loopback:W/I"},
		{"reversed scheme under .test", "test.example.myapp://localhost/cb", "custom-scheme-domain:W loopback:W/I"},
		{"reversed scheme under .local", "local.app://localhost/cb", "custom-scheme-domain:W loopback:W/I"},
		{"capitalised private-use scheme", "Com.Example.App://localhost/cb", "custom-scheme-case:E loopback:W/I"},
		{"upper-case private-use scheme", "COM.EXAMPLE.APP://localhost/cb", "custom-scheme-case:E loopback:W/I"},
		{"upper-case scheme without dot", "MyApp://localhost/cb", "custom-scheme-no-dot:E custom-scheme-case:E loopback:W/I"},

		// Query.
		{"next parameter", "https://app.example.com/cb?next=/home", "query-redirect-param:E/W query:I"},
		{"redirect_uri with encoded URL", "https://app.example.com/cb?redirect_uri=https%3A%2F%2Fevil.com", "query-redirect-param:E/W query:I"},
		{"URL value", "https://app.example.com/cb?foo=https://evil.com", "query-redirect-param:E/W query:I"},
		{"returnTo camel case", "https://app.example.com/cb?returnTo=x", "query-redirect-param:E/W query:I"},
		{"scheme-relative value", "https://app.example.com/cb?x=%2F%2Fevil.com", "query-redirect-param:E/W query:I"},
		{"percent-encoded name", "https://app.example.com/cb?%6Eext=1", "query-redirect-param:E/W percent-encoding:W query:I"},
		{"near miss redirect-param: nextPage", "https://app.example.com/cb?nextPage=2", "query:I"},
		{"near miss redirect-param: value https without slashes", "https://app.example.com/cb?tab=https", "query:I"},
		{"code parameter", "https://app.example.com/cb?code=x", "query-oauth-param:E query:I"},
		{"state parameter", "https://app.example.com/cb?state=abc", "query-oauth-param:E query:I"},
		{"error parameter", "https://app.example.com/cb?error=x", "query-oauth-param:E query:I"},
		{"iss parameter", "https://app.example.com/cb?iss=x", "query-oauth-param:E query:I"},
		{"access_token upper-case", "https://app.example.com/cb?ACCESS_TOKEN=x", "query-oauth-param:E query:I"},
		{"near miss oauth-param: codes", "https://app.example.com/cb?codes=1", "query:I"},
		{"empty query", "https://app.example.com/cb?", "query-empty:W"},
		{"value-less parameter", "https://app.example.com/cb?a", "query-empty:W query:I"},
		{"trailing ampersand", "https://app.example.com/cb?a=1&", "query-empty:W query:I"},
		{"double ampersand", "https://app.example.com/cb?a=1&&b=2", "query-empty:W query:I"},
		{"empty name", "https://app.example.com/cb?=1", "query-empty:W query:I"},
		{"near miss query-empty: empty value", "https://app.example.com/cb?a=", "query:I"},
		{"plain query", "https://app.example.com/cb?tab=settings", "query:I"},
		{"version query", "https://app.example.com/cb?v=2", "query:I"},
		{"query with slash and colon", "https://app.example.com/cb?p=a/b:c", "query:I"},

		// Paths.
		{"dot-dot segment", "https://app.example.com/cb/../admin", "dot-segment:E"},
		{"dot segment", "https://app.example.com/cb/./x", "dot-segment:E"},
		{"encoded dot-dot lower-case", "https://app.example.com/cb/%2e%2e/admin", "dot-segment:E"},
		{"half-encoded dot-dot", "https://app.example.com/cb/.%2E/admin", "dot-segment:E"},
		{"encoded single dot", "https://app.example.com/cb/%2E", "dot-segment:E"},
		{"trailing dot-dot", "https://app.example.com/cb/..", "dot-segment:E"},
		{"leading dot segment", "https://app.example.com/./cb", "dot-segment:E"},
		{"encoded slash", "https://app.example.com/a%2Fb", "encoded-slash:E"},
		{"encoded slash lower-case", "https://app.example.com/a%2fb", "encoded-slash:E"},
		{"encoded backslash", "https://app.example.com/a%5Cb", "encoded-slash:E"},
		{"encoded backslash lower-case", "https://app.example.com/a%5cb", "encoded-slash:E"},
		{"near miss encoded-slash: in query", "https://app.example.com/cb?a=%2F", "query:I"},
		{"no path", "https://app.example.com", "empty-path:W"},
		{"no path with query", "https://app.example.com?x=1", "empty-path:W query:I"},
		{"no path with port", "https://app.example.com:8443", "empty-path:W"},
		{"loopback without path", "http://localhost:3000", "empty-path:W loopback:W/I"},
		{"double slash at start", "https://app.example.com//cb", "double-slash:W"},
		{"double slash inside", "https://app.example.com/cb//x", "double-slash:W"},
		{"double slash at end", "https://app.example.com/cb//", "double-slash:W"},
		{"encoded tilde", "https://app.example.com/cb%7E", "percent-encoding:W"},
		{"encoded letter", "https://app.example.com/%41bc", "percent-encoding:W"},
		{"lower-case hex", "https://app.example.com/caf%c3%a9", "percent-encoding:W"},
		{"lower-case hex in query", "https://app.example.com/cb?q=%3d", "percent-encoding:W query:I"},
		{"encoded dot inside a segment", "https://app.example.com/file%2ejson", "percent-encoding:W"},
		{"semicolon parameter", "https://app.example.com/cb;jsessionid=1", "path-special-char:I"},
		{"parentheses", "https://app.example.com/cb(1)", "path-special-char:I"},
		{"apostrophe", "https://app.example.com/it's", "path-special-char:I"},
		{"comma", "https://app.example.com/cb,x", "path-special-char:I"},
		{"near miss path-special-char: in query", "https://app.example.com/cb?a=(1)", "query:I"},

		// Length.
		{"257 bytes", long(257), "long:W"},
		{"300 bytes", long(300), "long:W"},
		{"2048 bytes", long(2048), "long:W"},
		{"2049 bytes", long(2049), "too-long:E"},
		{"3000 bytes", long(3000), "too-long:E"},
		{"3000 bytes with a fragment", long(3000) + "#x", "too-long:E fragment:E"},

		// Hosts that are not public names.
		{"single label", "https://intranet/cb", "host-not-public:E/W"},
		{".test", "https://app.test/cb", "host-not-public:E/W"},
		{".local", "https://printer.local/cb", "host-not-public:E/W"},
		{".internal", "https://svc.internal/cb", "host-not-public:E/W"},
		{".onion", "https://abc.onion/cb", "host-not-public:E/W"},
		{".home.arpa", "https://router.home.arpa/cb", "host-not-public:E/W"},
		{".example", "https://app.example/cb", "host-not-public:E/W"},
		{".invalid", "https://app.invalid/cb", "host-not-public:E/W"},
		{"unknown TLD", "https://app.notarealtld/cb", "host-not-public:E/W"},
		{"bare public suffix", "https://co.uk/cb", "host-not-public:E/W"},
		{"localhost under .test", "https://localhost.test/cb", "localhost-lookalike:I host-not-public:E/W"},

		// Takos server parse failures no other rule reports.
		{"five-part IPv4", "https://1.2.3.4.5/cb", "takos-rejects:E"},
		{"IPv4 part over 255", "https://256.0.0.1/cb", "takos-rejects:E"},
		{"name ending in a number", "https://example.123/cb", "takos-rejects:E"},
		{"double :: in IPv6", "https://[::1::]/cb", "takos-rejects:E"},
		{"IPv6 group too long", "https://[12345::]/cb", "takos-rejects:E"},
		{"invalid octal IPv4 part", "https://09.1.1.1/cb", "takos-rejects:E"},
		{"server parse failure with another error", "http://1.2.3.4.5/cb", "takos-rejects:E http:E"},
	}
}

// parseWant turns a want string into the expected "rule:severity" sets for
// production and development.
func parseWant(t *testing.T, want string) (prod, dev []string) {
	t.Helper()
	sev := map[byte]string{'E': "error", 'W': "warning", 'I': "info"}
	for tok := range strings.FieldsSeq(want) {
		name, levels, ok := strings.Cut(tok, ":")
		if !ok {
			t.Fatalf("bad want token %q", tok)
		}
		p, d, both := strings.Cut(levels, "/")
		if !both {
			d = p
		}
		if len(p) != 1 || len(d) != 1 || sev[p[0]] == "" || sev[d[0]] == "" {
			t.Fatalf("bad severities in want token %q", tok)
		}
		prod = append(prod, prefix+name+":"+sev[p[0]])
		dev = append(dev, prefix+name+":"+sev[d[0]])
	}
	slices.Sort(prod)
	slices.Sort(dev)
	return prod, dev
}

func summary(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule.ID+":"+f.Severity.String())
	}
	slices.Sort(out)
	return out
}

func TestCheckTable(t *testing.T) {
	cases := checkCases()
	if len(cases) < 170 {
		t.Errorf("table has %d cases, want at least 170", len(cases))
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		if seen[tc.in] {
			t.Errorf("input %q appears twice in the table", tc.in)
		}
		seen[tc.in] = true
		t.Run(tc.name, func(t *testing.T) {
			wantProd, wantDev := parseWant(t, tc.want)
			for _, env := range []struct {
				name string
				want []string
			}{{"production", wantProd}, {"development", wantDev}} {
				fs := Check(tc.in, env.name)
				if diff := cmp.Diff(env.want, summary(fs)); diff != "" {
					t.Errorf("Check(%q, %q) findings mismatch (-want +got):\n%s", tc.in, env.name, diff)
					for _, f := range fs {
						t.Logf("  %s: %s", f.Rule, f.Message)
					}
				}
			}
		})
	}
}

// TestCheckAgreesWithNetURL cross-checks the hand-written splitter: for
// every table input without errors that Go's net/url can also parse, both
// find the same host and port.
func TestCheckAgreesWithNetURL(t *testing.T) {
	for _, tc := range checkCases() {
		if diag.List(toDiag(Check(tc.in, "production"))).HasErrors() {
			continue
		}
		scheme, rest, ok := splitScheme(tc.in)
		if !ok || !isSpecialScheme(scheme) {
			continue
		}
		u, err := url.Parse(tc.in)
		if err != nil {
			continue
		}
		p := splitRest(rest)
		if !strings.EqualFold(u.Hostname(), strings.Trim(p.host, "[]")) || u.Port() != p.port {
			t.Errorf("splitRest(%q) host %q port %q, net/url host %q port %q", tc.in, p.host, p.port, u.Hostname(), u.Port())
		}
	}
}

func toDiag(fs []Finding) []diag.Diagnostic {
	var out []diag.Diagnostic
	for _, f := range fs {
		out = append(out, diag.Diagnostic{Rule: f.Rule.ID, Severity: f.Severity, Message: f.Message})
	}
	return out
}

func TestCheckMessages(t *testing.T) {
	tests := []struct {
		in       string
		rule     string
		contains []string
	}{
		{"http://localhost:*/callback", "redirect-uri-port-invalid", []string{
			`"http://localhost:*/callback"`, "exactly", "no wildcard port", "docs show http://localhost:*", "server rejects",
			`"http://127.0.0.1:3000/callback"`,
		}},
		{"http://localhost:*", "redirect-uri-port-invalid", []string{`"http://127.0.0.1:3000/callback"`}},
		{"https://app.example.com:0443/cb", "redirect-uri-port-invalid", []string{`"https://app.example.com/cb"`, "443"}},
		{"http://localhost:3000/callback", "redirect-uri-loopback", []string{"remove it before the production deploy", "127.0.0.1"}},
		{"http://127.1/", "redirect-uri-ip-noncanonical", []string{"127.0.0.1"}},
		{"http://[0:0:0:0:0:0:0:1]/", "redirect-uri-ip-noncanonical", []string{"[::1]"}},
		{"https://\u0430pp.example.com/cb", "redirect-uri-host-unicode", []string{`"xn--pp-6kc.example.com"`, `"https://\u0430pp.example.com/cb"`}},
		{"https://xn--pp-6kc.example.com/cb", "redirect-uri-host-punycode", []string{"\"\u0430pp.example.com\"", `\u0430pp.example.com`}},
		{"https://xn--pp-6kc.example.com/cb", "redirect-uri-host-mixed-script", []string{`"\u0430pp.example.com"`}},
		{"https://xn--zckzah.example.com/cb", "redirect-uri-host-punycode", []string{"\"\u30c6\u30b9\u30c8.example.com\""}},
		{"http://127.1/cb", "redirect-uri-ip-noncanonical", []string{"the Takos server accepts it", "write 127.0.0.1"}},
		{"com.example.app://[0::1]/cb", "redirect-uri-ip-noncanonical", []string{"the Takos server accepts it", "[::1]"}},
		{"https://app.example.com:443/cb", "redirect-uri-port-redundant", []string{`"https://app.example.com/cb"`}},
		{"localhost:3000/callback", "redirect-uri-not-absolute", []string{`"http://localhost:3000/callback"`}},
		{"myapp://callback", "redirect-uri-custom-scheme", []string{"Takos server rejects"}},
		{"https://app.example.com/cb\u202e", "redirect-uri-control-char", []string{`\u202e`, "U+202E"}},
		{"https://app.example.com", "redirect-uri-empty-path", []string{`"https://app.example.com/callback"`}},
		{"http://localhost:*", "redirect-uri-empty-path", []string{`"http://127.0.0.1:3000/callback"`}},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			var msg string
			for _, f := range Check(tc.in, "production") {
				if f.Rule.ID == tc.rule {
					msg = f.Message
				}
			}
			if msg == "" {
				t.Fatalf("Check(%q) has no %s finding", tc.in, tc.rule)
			}
			for _, s := range tc.contains {
				if !strings.Contains(msg, s) {
					t.Errorf("Check(%q) %s message = %q, want it to contain %q", tc.in, tc.rule, msg, s)
				}
			}
		})
	}
	// The development message for loopback must not ask for removal now.
	for _, f := range Check("http://localhost:3000/callback", "development") {
		if f.Rule.ID == "redirect-uri-loopback" && (f.Severity != diag.Info || !strings.Contains(f.Message, "fine for development")) {
			t.Errorf("development loopback finding = %+v, want info saying it is fine for development", f)
		}
	}
}

func TestMessageSanitised(t *testing.T) {
	hostile := "https://app.example.com/\u202e\n\r\x1b[31m" + strings.Repeat("\u0430", 500)
	for _, f := range Check(hostile, "production") {
		if !isSafeMessage(f.Message) {
			t.Errorf("Check(hostile) message %q has unsafe characters", f.Message)
		}
		if len(f.Message) > 600 {
			t.Errorf("Check(hostile) message is %d bytes, want the URI capped", len(f.Message))
		}
	}
	q := quote(strings.Repeat("a", 1000))
	if want := `"` + strings.Repeat("a", maxQuoted) + `"... (1000 bytes)`; q != want {
		t.Errorf("quote(1000 × a) = %q, want %q", q, want)
	}
	if q := quote("a\nb\u202ec\xff"); q != `"a\nb\u202ec\xff"` {
		t.Errorf(`quote("a\nb\u202ec\xff") = %s`, q)
	}
}

func isSafeMessage(m string) bool {
	if m == "" {
		return false
	}
	for _, r := range m {
		if r == '\n' || r == '\r' || r == 0x7f || r < 0x20 || unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp) {
			return false
		}
	}
	return true
}

// envCases are the deploy environments both Development and the severities
// of Check are checked against. Surrounding white space is trimmed, so
// " development" (say, from a padded CI variable) is development. It once
// was production here but development for the other lint rules, so one run
// mixed both; trimming is the reading those rules already had, and it
// relaxes nothing else: a name is development only if, trimmed, it is one
// of the four names in some case.
var envCases = []struct {
	env string
	dev bool
}{
	{"development", true}, {"DEVELOPMENT", true}, {"Development", true}, {"dev", true}, {"DEV", true},
	{"local", true}, {"test", true}, {"Test", true}, {"TEST", true},
	{" development", true}, {" Development ", true}, {"\tdev\n", true},
	{"production", false}, {"prod", false}, {"", false}, {" ", false}, {"staging", false},
	{"developmentx", false}, {"develop", false}, {"devel", false}, {"de v", false}, {"dev-local", false},
}

func TestDevelopment(t *testing.T) {
	for _, tc := range envCases {
		if got := Development(tc.env); got != tc.dev {
			t.Errorf("Development(%q) = %v, want %v", tc.env, got, tc.dev)
		}
	}
}

// TestEnvironment checks that Check and CheckList apply the environment
// Development reports.
func TestEnvironment(t *testing.T) {
	for _, tc := range envCases {
		// http://127.0.0.1 is a warning in production and info in development.
		want := diag.Warning
		if tc.dev {
			want = diag.Info
		}
		fs := Check("http://127.0.0.1:8080/cb", tc.env)
		if len(fs) != 1 || fs[0].Severity != want {
			t.Errorf("Check(loopback, %q) = %v, want one finding of severity %v", tc.env, fs, want)
		}
		// An exact duplicate is an error in production, a warning in
		// development: CheckList classifies the environment too.
		wantDup := diag.Error
		if tc.dev {
			wantDup = diag.Warning
		}
		list := CheckList([]string{"https://app.example.com/cb", "https://app.example.com/cb"}, tc.env)
		if len(list) != 2 || len(list[1]) != 1 || list[1][0].Rule.ID != "redirect-uri-duplicate" || list[1][0].Severity != wantDup {
			t.Errorf("CheckList(duplicate, %q) = %v, want one redirect-uri-duplicate of severity %v on the second URI", tc.env, list, wantDup)
		}
	}
}

// listCase is one CheckList row: want maps an index to its expected
// production findings in the parseWant format (only the list rules and
// the per-URI rules of that index).
type listCase struct {
	name string
	uris []string
	want map[int]string
}

func listCases() []listCase {
	many := func(n int) []string {
		out := make([]string, n)
		for k := range out {
			out[k] = fmt.Sprintf("https://app.example.com/cb%d", k)
		}
		return out
	}
	return []listCase{
		{"empty list", []string{}, map[int]string{0: "list-empty:E"}},
		{"nil list", nil, map[int]string{0: "list-empty:E"}},
		{"empty list with capacity", make([]string, 0, 4), map[int]string{0: "list-empty:E"}},
		{"single clean URI", []string{"https://app.example.com/cb"}, nil},
		{"exact duplicate", []string{"https://app.example.com/cb", "https://app.example.com/cb"}, map[int]string{1: "duplicate:E/W"}},
		{"exact duplicate after another URI", []string{"https://a.example.com/cb", "https://b.example.com/cb", "https://a.example.com/cb"}, map[int]string{2: "duplicate:E/W"}},
		{"three copies", []string{"https://app.example.com/cb", "https://app.example.com/cb", "https://app.example.com/cb"}, map[int]string{1: "duplicate:E/W", 2: "duplicate:E/W"}},
		{"duplicate loopback", []string{"http://localhost:3000/cb", "http://localhost:3000/cb"}, map[int]string{0: "loopback:W/I", 1: "loopback:W/I duplicate:E/W"}},
		{"near duplicate: trailing slash", []string{"https://app.example.com/cb", "https://app.example.com/cb/"}, map[int]string{1: "near-duplicate:W"}},
		{"near duplicate: host case", []string{"https://app.example.com/cb", "https://App.example.com/cb"}, map[int]string{1: "near-duplicate:W host-case:W"}},
		{"near duplicate: path case", []string{"https://app.example.com/Callback", "https://app.example.com/callback"}, map[int]string{1: "near-duplicate:W"}},
		{"near duplicate: default port", []string{"https://app.example.com/cb", "https://app.example.com:443/cb"}, map[int]string{1: "near-duplicate:W port-redundant:W"}},
		{"near duplicate: percent case", []string{"https://app.example.com/caf%C3%A9", "https://app.example.com/caf%c3%a9"}, map[int]string{1: "near-duplicate:W percent-encoding:W"}},
		{"near duplicate: trailing dot", []string{"https://app.example.com/cb", "https://app.example.com./cb"}, map[int]string{1: "near-duplicate:W host-trailing-dot:W"}},
		{"near miss: different ports", []string{"http://localhost:3000/cb", "http://localhost:3001/cb"}, map[int]string{0: "loopback:W/I", 1: "loopback:W/I"}},
		{"near miss: different paths", []string{"https://app.example.com/cb", "https://app.example.com/cb2"}, nil},
		{"near miss: http and https", []string{"https://localhost/cb", "http://localhost/cb"}, map[int]string{0: "loopback:W/I", 1: "loopback:W/I"}},
		{"20 URIs", many(20), nil},
		{"21 URIs", many(21), map[int]string{20: "many:W"}},
		{"30 URIs", many(30), map[int]string{20: "many:W"}},
		{"100 URIs", many(100), map[int]string{20: "many:W"}},
		{"101 URIs", many(101), map[int]string{20: "many:W", 100: "too-many:E"}},
		{"150 URIs", many(150), map[int]string{20: "many:W", 100: "too-many:E"}},
		{"250 URIs", many(250), map[int]string{20: "many:W", 100: "too-many:E"}},
	}
}

func TestCheckList(t *testing.T) {
	for _, tc := range listCases() {
		t.Run(tc.name, func(t *testing.T) {
			for _, env := range []string{"production", "development"} {
				got := CheckList(tc.uris, env)
				wantLen := max(len(tc.uris), 1)
				if len(got) != wantLen {
					t.Fatalf("len(CheckList(%d URIs, %q)) = %d, want %d", len(tc.uris), env, len(got), wantLen)
				}
				for k := range got {
					prod, dev := parseWant(t, tc.want[k])
					want := prod
					if env == "development" {
						want = dev
					}
					if diff := cmp.Diff(want, summary(got[k])); diff != "" {
						t.Errorf("CheckList(%s, %q)[%d] mismatch (-want +got):\n%s", tc.name, env, k, diff)
					}
					for _, f := range got[k] {
						if !isSafeMessage(f.Message) {
							t.Errorf("CheckList(%s)[%d] message %q is unsafe", tc.name, k, f.Message)
						}
					}
				}
			}
		})
	}
}

// TestRulesMeta checks the registry against the tables: IDs are unique,
// kebab-case and prefixed; every rule fires in at least three cases and
// stays silent in at least one; the severities Rules() documents are the
// ones Check and CheckList report.
func TestRulesMeta(t *testing.T) {
	rules := Rules()
	byID := map[string]diag.Rule{}
	for _, r := range rules {
		if _, dup := byID[r.ID]; dup {
			t.Errorf("rule %q listed twice", r.ID)
		}
		byID[r.ID] = r
		if !strings.HasPrefix(r.ID, prefix) || strings.ToLower(r.ID) != r.ID || strings.ContainsAny(r.ID, " _") {
			t.Errorf("rule ID %q is not kebab-case with prefix %q", r.ID, prefix)
		}
		if r.Summary == "" || r.Ref == "" || strings.Contains(r.Summary, "\n") || r.HelpURL == "" {
			t.Errorf("rule %q has an empty ref/summary/help URL or a multi-line summary", r.ID)
		}
		if r.Production < r.Development {
			t.Errorf("rule %q is %v in production but %v in development; production must be at least as strict", r.ID, r.Production, r.Development)
		}
	}
	// Rules returns a copy.
	rules[0].ID = "mutated"
	if Rules()[0].ID == "mutated" {
		t.Error("Rules() returned the rule set itself")
	}

	fired := map[string]int{}
	silent := map[string]int{}
	observe := func(prod, dev []Finding) {
		got := map[string]bool{}
		for _, f := range prod {
			got[f.Rule.ID] = true
			r, ok := byID[f.Rule.ID]
			if !ok {
				t.Errorf("finding with unknown rule %q", f.Rule.ID)
				continue
			}
			if f.Severity != r.Production {
				t.Errorf("rule %q reported as %v in production, Rules() says %v", f.Rule.ID, f.Severity, r.Production)
			}
		}
		for _, f := range dev {
			if r := byID[f.Rule.ID]; f.Severity != r.Development {
				t.Errorf("rule %q reported as %v in development, Rules() says %v", f.Rule.ID, f.Severity, r.Development)
			}
		}
		for id := range byID {
			if got[id] {
				fired[id]++
			} else {
				silent[id]++
			}
		}
	}
	for _, tc := range checkCases() {
		observe(Check(tc.in, "production"), Check(tc.in, "development"))
	}
	for _, tc := range listCases() {
		prod, dev := CheckList(tc.uris, "production"), CheckList(tc.uris, "development")
		var p, d []Finding
		for k := range prod {
			p = append(p, prod[k]...)
			d = append(d, dev[k]...)
		}
		observe(p, d)
	}
	for id := range byID {
		if fired[id] < 3 {
			t.Errorf("rule %q is triggered by %d table cases, want at least 3", id, fired[id])
		}
		if silent[id] < 1 {
			t.Errorf("rule %q is triggered by every table case", id)
		}
	}
}

// validURIs generates n clean https URIs with a seeded generator.
func validURIs(n int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	word := func(min, max int) string {
		b := make([]byte, min+rng.IntN(max-min+1))
		for k := range b {
			b[k] = alnum[rng.IntN(len(alnum))]
		}
		b[0] = 'a' + byte(rng.IntN(26))
		return string(b)
	}
	tlds := []string{"com", "org", "net", "io", "dev", "app", "co.uk", "de", "jp", "com.au"}
	out := make([]string, 0, n)
	for range n {
		var b strings.Builder
		b.WriteString("https://")
		for range rng.IntN(3) {
			b.WriteString(word(1, 12))
			if rng.IntN(3) == 0 {
				b.WriteString("-" + word(1, 5))
			}
			b.WriteByte('.')
		}
		// At least six letters, so that no generated name is itself on the
		// public suffix list (such as ae.org).
		b.WriteString(word(6, 15))
		b.WriteByte('.')
		b.WriteString(tlds[rng.IntN(len(tlds))])
		if rng.IntN(4) == 0 {
			b.WriteString(":" + strconv.Itoa(1024+rng.IntN(60000)))
		}
		for range 1 + rng.IntN(4) {
			b.WriteString("/" + word(1, 10))
		}
		if rng.IntN(3) == 0 {
			b.WriteString("/")
		}
		out = append(out, b.String())
	}
	return out
}

func hasError(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == diag.Error {
			return true
		}
	}
	return false
}

func TestPropertyValidAndMutated(t *testing.T) {
	uris := validURIs(2500)
	mutations := []struct {
		name string
		f    func(u string) string
	}{
		{"fragment", func(u string) string { return u + "#frag" }},
		{"userinfo", func(u string) string { return strings.Replace(u, "https://", "https://user@", 1) }},
		{"control char", func(u string) string { return u[:len(u)/2] + "\x01" + u[len(u)/2:] }},
		{"wildcard", func(u string) string { return u + "*" }},
		{"dot-dot segment", func(u string) string { return strings.TrimSuffix(u, "/") + "/../x" }},
	}
	for _, u := range uris {
		for _, env := range []string{"production", "development"} {
			if fs := Check(u, env); hasError(fs) {
				t.Fatalf("Check(%q, %q) = %v, want no error", u, env, summary(fs))
			}
		}
		for _, m := range mutations {
			mu := m.f(u)
			for _, env := range []string{"production", "development"} {
				if fs := Check(mu, env); !hasError(fs) {
					t.Fatalf("Check(%q, %q) after %s = %v, want an error", mu, env, m.name, summary(fs))
				}
			}
		}
	}
}

// maxSeverity returns the highest severity per rule, or -1 if none.
func maxSeverity(fs []Finding) diag.Severity {
	m := diag.Severity(-1)
	for _, f := range fs {
		m = max(m, f.Severity)
	}
	return m
}

func TestPropertyProductionAtLeastDevelopment(t *testing.T) {
	inputs := validURIs(500)
	for _, tc := range checkCases() {
		inputs = append(inputs, tc.in)
	}
	inputs = append(inputs, loadSeeds(t)...)
	for _, in := range inputs {
		prod, dev := Check(in, "production"), Check(in, "development")
		if maxSeverity(prod) < maxSeverity(dev) {
			t.Errorf("Check(%q): production max severity %v < development %v", in, maxSeverity(prod), maxSeverity(dev))
		}
		// Same rules fire in both environments; only severities differ,
		// and never downwards in production.
		if len(prod) != len(dev) {
			t.Fatalf("Check(%q): %d findings in production, %d in development", in, len(prod), len(dev))
		}
		for k := range prod {
			if prod[k].Rule != dev[k].Rule || prod[k].Severity < dev[k].Severity {
				t.Errorf("Check(%q) finding %d: production %s/%v, development %s/%v", in, k, prod[k].Rule, prod[k].Severity, dev[k].Rule, dev[k].Severity)
			}
		}
	}
}

// loadSeeds returns the shared redirect-URI corpus.
func loadSeeds(tb testing.TB) []string {
	tb.Helper()
	seeds, err := redirecturitest.Seeds()
	if err != nil {
		tb.Fatal(err)
	}
	return seeds
}

func TestSeedsFile(t *testing.T) {
	if n := len(loadSeeds(t)); n < 50 {
		t.Errorf("fuzz-seeds.txt has %d seeds, want at least 50", n)
	}
}

func FuzzCheck(f *testing.F) {
	for _, tc := range checkCases() {
		f.Add(tc.in, "production")
	}
	for _, s := range loadSeeds(f) {
		f.Add(s, "development")
	}
	known := map[string]bool{}
	for _, r := range Rules() {
		known[r.ID] = true
	}
	f.Fuzz(func(t *testing.T, raw, env string) {
		a, b := Check(raw, env), Check(raw, env)
		if !cmp.Equal(a, b) {
			t.Fatalf("Check(%q, %q) not deterministic: %v then %v", raw, env, a, b)
		}
		seen := map[string]bool{}
		for _, fd := range a {
			if !known[fd.Rule.ID] {
				t.Errorf("Check(%q) reported unknown rule %q", raw, fd.Rule.ID)
			}
			if seen[fd.Rule.ID] {
				t.Errorf("Check(%q) reported %q twice", raw, fd.Rule.ID)
			}
			seen[fd.Rule.ID] = true
			if !isSafeMessage(fd.Message) {
				t.Errorf("Check(%q) message %q is empty or has control characters", raw, fd.Message)
			}
		}
		if !hasError(Check(raw, "production")) {
			if reason := takosAccepts(raw); reason != "" {
				t.Errorf("Check(%q) has no error, but the Takos server model rejects it: %s", raw, reason)
			}
		}
		_ = CheckList([]string{raw, raw, strings.ToUpper(raw)}, env)
	})
}

// takosAccepts is an independent test model of the Takos server for the
// fuzz invariant "no error finding ⇒ the server accepts": it uses Go's
// net/url (after the linter's raw checks passed, net/url's leniency is
// harmless here) to confirm the scheme/host/fragment rule.
func takosAccepts(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "net/url cannot parse it: " + err.Error()
	}
	host := strings.ToLower(u.Host)
	if h, _, ok := strings.Cut(host, ":"); ok && !strings.HasPrefix(host, "[") {
		host = h
	} else if strings.HasPrefix(host, "[") {
		host = host[:strings.IndexByte(host, ']')+1]
	}
	if !isSpecialScheme(u.Scheme) {
		host = u.Host
		if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
			host = host[:i]
		}
	}
	loop := host == "localhost" || host == "127.0.0.1" || host == "[::1]" || strings.HasSuffix(host, ".localhost")
	if u.Scheme != "https" && !loop {
		return "not https and not loopback"
	}
	if u.Fragment != "" {
		return "fragment"
	}
	if u.Host == "" {
		return "no host"
	}
	return ""
}

func BenchmarkCheck(b *testing.B) {
	inputs := []string{
		"https://app.example.com/oauth/callback",
		"http://localhost:3000/callback",
		"https://app.example.com/cb?tab=settings",
		"http://localhost:*/callback",
	}
	for _, in := range inputs {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Check(in, "production")
			}
		})
	}
}

// TestCheckCleanURIAllocations pins the cost of the hot path: a clean URI
// allocates once, inside publicsuffix.PublicSuffix (netip.ParseAddr builds
// an error value for every non-IP name).
func TestCheckCleanURIAllocations(t *testing.T) {
	for _, in := range []string{"https://app.example.com/oauth/callback", "https://app.example.co.uk:8443/a/b/"} {
		if n := testing.AllocsPerRun(100, func() { Check(in, "production") }); n > 1 {
			t.Errorf("Check(%q) allocates %v times per call, want at most 1", in, n)
		}
	}
}

// TestLoopbackAdviceIsConsistent: the findings on one loopback URI
// recommend one host. The port and path errors used to suggest
// http://localhost:3000/callback while the loopback warning beside them
// said to prefer 127.0.0.1 (RFC 8252 §8.3).
func TestLoopbackAdviceIsConsistent(t *testing.T) {
	for _, raw := range []string{"http://localhost:*", "http://localhost:*/cb", "http://app.localhost:0/cb", "http://LOCALHOST:99999"} {
		for _, env := range []string{"production", "development"} {
			fs := Check(raw, env)
			if len(fs) < 2 {
				t.Fatalf("Check(%q, %s) = %v, want a port finding and more", raw, env, fs)
			}
			for _, f := range fs {
				if strings.Contains(f.Message, "such as \"http://localhost") || strings.Contains(f.Message, "such as \"http://app.localhost") {
					t.Errorf("Check(%q, %s) %s suggests a localhost URI, the loopback rules recommend 127.0.0.1: %s", raw, env, f.Rule, f.Message)
				}
			}
		}
	}
}

// TestCheckListFuncBuildsMessagesOnDemand: CheckListFunc hands every
// finding of a list of repeated URIs to its caller (each distinct URI is
// checked once) with a message built on demand, later, and the findings
// and messages are CheckList's.
func TestCheckListFuncBuildsMessagesOnDemand(t *testing.T) {
	uris := make([]string, 150)
	for i := range uris {
		uris[i] = []string{"a", "https://app.example.com/cb", "HTTPS://app.example.com/cb/"}[i%3]
	}
	want := CheckList(uris, "production")
	got := make([][]Finding, len(uris))
	var msgs []func() string
	CheckListFunc(uris, "production", func(k int, r *diag.Rule, msg func() string) {
		got[k] = append(got[k], Finding{Rule: r, Severity: r.Severity(true)})
		msgs = append(msgs, msg)
	})
	i := 0
	for k := range got {
		for j := range got[k] {
			got[k][j].Message = msgs[i]()
			i++
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CheckListFunc's findings differ from CheckList's (-want +got):\n%s", diff)
	}
	if n := len(msgs); n < 2*len(uris)/3 {
		t.Errorf("%d findings for %d URIs, most of them repeated", n, len(uris))
	}
}
