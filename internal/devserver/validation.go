package devserver

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// scopeString refuses a non-string scope: parseScopes calls .trim() on it,
// which throws, and the handler answers 400.
func scopeString(v json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(v, &s) != nil {
		return "", fmt.Errorf("scopeString.trim is not a function")
	}
	return s, nil
}

// scopesFrom reads and checks a request's scope the way create and update
// both do: an absent or falsy value is no scope, a string is split and
// every scope must be known.
func scopesFrom(v json.RawMessage) ([]string, error) {
	if !truthy(v) {
		return nil, nil
	}
	str, err := scopeString(v)
	if err != nil {
		return nil, err
	}
	scopes := parseScopes(str)
	if err := validateScopes(scopes); err != nil {
		return nil, err
	}
	return scopes, nil
}

// parseScopes splits on JavaScript's \s.
func parseScopes(s string) []string {
	return strings.FieldsFunc(s, isJSSpace)
}

func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// validateScopes returns the server's own message, capitalised as it is
// on the wire.
func validateScopes(scopes []string) error {
	var unknown []string
	for _, sc := range scopes {
		if !slices.Contains(knownScopes[:], sc) {
			unknown = append(unknown, sc)
		}
	}
	if len(unknown) > 0 {
		//lint:ignore ST1005 the fake returns the Takos server's error text byte for byte, capital letter included, because clients show it to users
		return fmt.Errorf("Unknown scopes: %s", strings.Join(unknown, ", "))
	}
	return nil
}

// validateRedirectURIs is validateRedirectUris of services/oauth/client.ts.
func validateRedirectURIs(uris []string) error {
	if len(uris) == 0 {
		//lint:ignore ST1005 the fake returns the Takos server's error text byte for byte, capital letter included, because clients show it to users
		return fmt.Errorf("At least one redirect_uri is required")
	}
	for _, u := range uris {
		p, err := whatwgParse(u)
		if err != nil {
			//lint:ignore ST1005 the fake returns the Takos server's error text byte for byte, capital letter included, because clients show it to users
			return fmt.Errorf("Invalid redirect_uri: %s", u)
		}
		if p.Protocol != "https:" && !isLocalhost(p.Hostname) {
			//lint:ignore ST1005 the fake returns the Takos server's error text byte for byte, capital letter included, because clients show it to users
			return fmt.Errorf("Invalid redirect_uri: %s - must use HTTPS", u)
		}
		if p.Hash != "" {
			//lint:ignore ST1005 the fake returns the Takos server's error text byte for byte, capital letter included, because clients show it to users
			return fmt.Errorf("Invalid redirect_uri: %s - fragment not allowed", u)
		}
	}
	return nil
}

func isLocalhost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "[::1]" || strings.HasSuffix(h, ".localhost")
}

// ValidateRedirectURIs exposes the server's redirect-URI check (nil or the
// server's message) so other packages can compare their lint against it.
func ValidateRedirectURIs(uris []string) error { return validateRedirectURIs(uris) }

// ValidateScope exposes the server's scope check of a space-separated
// scope string.
func ValidateScope(scope string) error { return validateScopes(parseScopes(scope)) }
