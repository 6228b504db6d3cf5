// Query rules.

package redirecturi

import (
	"fmt"
	"strings"
)

// Query parameter names that make a redirect target an open redirector
// (redirect-uri-query-redirect-param) or collide with the authorization
// response (redirect-uri-query-oauth-param).
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
		c.add(ruleQueryEmpty, func(uri string) string {
			return fmt.Sprintf("redirect URI %s ends with an empty query '?', which URL parsers may drop, so the exact match fails; remove the '?'", uri)
		})
		return
	}
	var nameBuf, valBuf [32]byte
	pct := false
	for param := range strings.SplitSeq(q, "&") {
		name, value, hasEq := strings.Cut(param, "=")
		if param == "" || name == "" || !hasEq {
			c.add(ruleQueryEmpty, func(uri string) string {
				return fmt.Sprintf("redirect URI %s has an empty or value-less query parameter (%s), which clients may drop or rewrite; write name=value pairs", uri, quote(param))
			})
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
					c.add(ruleQueryRedirectParam, func(uri string) string {
						return fmt.Sprintf("redirect URI %s has the query parameter %s, which names a redirect target: if your callback follows it, it is an open redirector that leaks codes; carry such data in state instead", uri, quote(name))
					})
				}
			}
			for _, h := range oauthParams {
				if strings.EqualFold(string(dn), h) {
					c.add(ruleQueryOAuthParam, func(uri string) string {
						return fmt.Sprintf("redirect URI %s has the query parameter %s, which collides with the OAuth authorization response; rename or remove it", uri, quote(name))
					})
				}
			}
		}
		dv, _ := decodeInto(valBuf[:], value)
		if looksLikeURL(dv) {
			c.add(ruleQueryRedirectParam, func(uri string) string {
				return fmt.Sprintf("redirect URI %s has a query parameter whose value is a URL: if your callback redirects to it, it is an open redirector that leaks codes; carry such data in state instead", uri)
			})
		}
	}
	if pct {
		c.percentEncoding()
	}
	c.add(ruleQuery, func(uri string) string {
		return fmt.Sprintf("redirect URI %s has a query string, which Takos matches exactly; prefer the state parameter for per-request data", uri)
	})
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
