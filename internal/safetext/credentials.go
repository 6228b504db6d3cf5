package safetext

import "strings"

// RedactCredentials returns s with everything shaped like a credential
// (credentialShape: a Takos PAT, a broker token, a JWS) masked, for text
// read from a file and shown to the user: a source line in a lint
// snippet, a message quoting a value. Unlike Secrets.Redact, the mask
// keeps the recognisable prefix ("tak_pat_", "takb_", "eyJ") and replaces
// the rest with as many '*', so a caret under a later column still points
// at the right character; the Stream's redaction, which a masked string no
// longer matches, stays the net under it.
func RedactCredentials(s string) string {
	if !hasShape(s) {
		return s
	}
	return credentialShape().ReplaceAllStringFunc(s, func(m string) string {
		keep := len("eyJ")
		for _, p := range []string{patPrefix, brokerPrefix} {
			if strings.HasPrefix(m, p) {
				keep = len(p)
			}
		}
		return m[:keep] + strings.Repeat("*", len(m)-keep)
	})
}
