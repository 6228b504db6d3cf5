package devserver_test

import (
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/devserver"
	"github.com/takos-dev/takos-apply/internal/redirecturi"
	"github.com/takos-dev/takos-apply/internal/redirecturi/redirecturitest"
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// seedsFile is the redirect-URI lint's fuzz corpus, shared so that every
// URI the lint is fuzzed with is also checked against the server.
// loadSeeds returns the redirect checker's corpus.
func loadSeeds(t *testing.T) []string {
	t.Helper()
	seeds, err := redirecturitest.Seeds()
	if err != nil {
		t.Fatal(err)
	}
	return seeds
}

// TestLintPassImpliesServerAccepts is the promise of the redirect-URI
// lint: a URI with no error finding in production is one the control
// plane's validateRedirectUris accepts. ValidateRedirectURIs is that check,
// written from the URL Standard apart from the lint's own parser.
func TestLintPassImpliesServerAccepts(t *testing.T) {
	uris := append(loadSeeds(t),
		// Spellings the two parsers could disagree on.
		"http://localhost:8080/cb",
		"HTTP://LOCALHOST:3000/cb",
		"http://localhost.:3000/cb",
		"http://dev.localhost/cb",
		"http://127.1/cb",
		"http://[::1]:3000/cb",
		"http://[::1]:65536/cb",
		"https://[::1]:443/cb",
		"https://app.example.com:00443/cb",
		"https://app.example.com:65536/cb",
		"https://app.example.com/cb#",
		"https://app.example.com/cb?next=/a#b",
		"https://xn--bcher-kva.example/cb",
		"https://bücher.example/cb",
		"myapp://[::1]/cb",
		"myapp:callback",
	)
	passed := 0
	for _, uri := range uris {
		var errs []string
		for _, f := range redirecturi.Check(uri, "production") {
			if f.Severity == diag.Error {
				errs = append(errs, f.Rule.ID)
			}
		}
		if len(errs) > 0 {
			continue
		}
		passed++
		if err := devserver.ValidateRedirectURIs([]string{uri}); err != nil {
			t.Errorf("redirecturi.Check(%q) has no error finding, but ValidateRedirectURIs = %v", uri, err)
		}
	}
	t.Logf("%d of %d URIs pass the lint", passed, len(uris))
	// The implication is only tested on URIs the lint passes: make sure
	// there are enough of them for the test to mean something.
	if passed < 20 {
		t.Errorf("only %d of %d URIs pass the lint; the property is barely exercised", passed, len(uris))
	}
}

// TestValidateScope pins the exported scope check against the registry.
func TestValidateScope(t *testing.T) {
	tests := []struct{ scope, want string }{
		{"", ""},
		{strings.Join(devserver.Scopes(), " "), ""},
		{"openid\tprofile\u00a0email", ""},
		{"openid runs:read files:*", "Unknown scopes: runs:read, files:*"},
		{"OpenID", "Unknown scopes: OpenID"},
	}
	for _, tc := range tests {
		t.Run(tc.scope, func(t *testing.T) {
			got := ""
			if err := devserver.ValidateScope(tc.scope); err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("ValidateScope(%q) = %q, want %q", tc.scope, got, tc.want)
			}
		})
	}
}
