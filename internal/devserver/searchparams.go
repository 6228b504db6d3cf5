package devserver

import (
	"bytes"
	"mime"
	"mime/multipart"
	"strings"
)

// The server builds redirects with URL.searchParams (WHATWG URLSearchParams)
// and reads queries and forms with Hono; these helpers reproduce what those
// do where Go's net/url differs.

// param is one name/value pair of a URLSearchParams list.
type param struct{ name, value string }

// parseSearchParams is the application/x-www-form-urlencoded parser of the
// URL Standard: "+" is a space, a malformed percent escape stays as
// written.
func parseSearchParams(q string) []param {
	var out []param
	for _, part := range strings.Split(q, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		out = append(out, param{percentDecode(name), percentDecode(value)})
	}
	return out
}

func percentDecode(s string) string {
	s = strings.ReplaceAll(s, "+", " ")
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool { return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func unhex(c byte) byte {
	switch {
	case isDigit(c):
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// set is URLSearchParams.set: the first pair named name gets value and
// the others are removed; without one, the pair is appended.
func setParam(ps []param, name, value string) []param {
	out := ps[:0:0]
	done := false
	for _, p := range ps {
		if p.name != name {
			out = append(out, p)
		} else if !done {
			out = append(out, param{name, value})
			done = true
		}
	}
	if !done {
		out = append(out, param{name, value})
	}
	return out
}

// serializeSearchParams is the application/x-www-form-urlencoded
// serializer: alphanumerics and *-._ stay, a space is "+", every other
// byte of the UTF-8 encoding is %XX.
func serializeSearchParams(ps []param) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		formEncode(&b, p.name)
		b.WriteByte('=')
		formEncode(&b, p.value)
	}
	return b.String()
}

func formEncode(b *strings.Builder, s string) {
	const hexDigits = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isAlpha(c) || isDigit(c) || c == '*' || c == '-' || c == '.' || c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		}
	}
}

// withParams is buildErrorRedirect/buildSuccessRedirect: new URL(uri), then
// searchParams.set for each pair, then toString(). The registered URI was
// matched byte for byte, so only its query (re-serialized, as assigning
// searchParams does) and fragment are taken apart; the rest is kept as
// registered, where WHATWG serialization would also normalize an upper-case
// host or a default port, which a loopback redirect URI does not have.
func withParams(uri string, set ...param) string {
	rest, frag, hasFrag := strings.Cut(uri, "#")
	base, query, _ := strings.Cut(rest, "?")
	ps := parseSearchParams(query)
	for _, p := range set {
		ps = setParam(ps, p.name, p.value)
	}
	out := base + "?" + serializeSearchParams(ps)
	if hasFrag {
		out += "#" + frag
	}
	return out
}

// queryFirst is Hono's c.req.query(): each name's first value, "+" a
// space, a malformed escape kept as written.
func queryFirst(rawQuery string) map[string]string {
	m := map[string]string{}
	for _, p := range parseSearchParams(rawQuery) {
		if _, ok := m[p.name]; !ok {
			m[p.name] = p.value
		}
	}
	return m
}

// encodeURIComponent is JavaScript's: everything but A-Z a-z 0-9 - _ . ! ~
// * ' ( ) is percent-encoded as UTF-8.
func encodeURIComponent(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlpha(c) || isDigit(c) || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// parseBodyForm is Hono's c.req.parseBody() on /oauth: a body whose
// Content-Type starts with (case-sensitively) a urlencoded or multipart type becomes its fields, the last value of a repeated name
// winning; any other media type (JSON included) reads as no fields. A file
// part is no text value.
func parseBodyForm(contentType string, body []byte) map[string]string {
	m := map[string]string{}
	switch {
	case strings.HasPrefix(contentType, "application/x-www-form-urlencoded"):
		for _, p := range parseSearchParams(string(body)) {
			m[p.name] = p.value
		}
	case strings.HasPrefix(contentType, "multipart/form-data"):
		_, params, _ := mime.ParseMediaType(contentType)
		form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(int64(maxOAuthBody))
		if err != nil {
			return m
		}
		for k, v := range form.Value {
			if len(v) > 0 {
				m[k] = v[len(v)-1]
			}
		}
		for k := range form.File {
			delete(m, k)
		}
		_ = form.RemoveAll()
	}
	return m
}

// maxOAuthBody is oauthBodyLimit (middleware/body-size.ts): 64 KB on every
// /oauth POST, PUT and PATCH.
const maxOAuthBody = 64 * 1024
