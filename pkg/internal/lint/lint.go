// Package lint holds the semantic rules of takos-apply: everything about a
// Takos app manifest that its JSON Schema cannot express. That is the OAuth
// client (scopes against the Takos OAuth server's catalogue, metadata URLs,
// the client name), the cross-references the Takos parser checks (routes,
// MCP servers, bindings, env.inject templates, ...) and YAML 1.1 ambiguity.
//
// Rules assume the schema has run: a value of the wrong type is skipped, not
// reported again. Check never panics on a JSON-shaped value.
package lint

import (
	"strconv"
	"strings"

	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// Options select the environment-dependent parts of the rules.
type Options struct {
	// Env is the deploy environment. "development", "dev", "local" and
	// "test" (any case) are development; anything else, including "", is
	// production, so a typo never relaxes a rule.
	Env string
	// Scopes is the scope catalogue the OAuth client may request. Nil
	// means DefaultScopes(); a control plane's scopes_supported may replace
	// it. An empty non-nil slice means no scope is supported.
	Scopes []string
}

// DefaultScopes returns the 14 scopes the Takos OAuth server accepts
// (OAUTH_SCOPES in Takos's oauth/scopes.ts), identity scopes first, in a
// fixed order. The caller owns the returned slice.
func DefaultScopes() []string {
	return []string{
		"openid", "profile", "email",
		"spaces:read", "spaces:write",
		"files:read", "files:write",
		"memories:read", "memories:write",
		"threads:read", "threads:write",
		"agents:execute",
		"repos:read", "repos:write",
	}
}

// isProduction reports whether env selects the production rules: everything
// but development/dev/local/test (case-insensitive, surrounding spaces
// ignored) is production.
func isProduction(env string) bool {
	switch strings.ToLower(strings.TrimSpace(env)) {
	case "development", "dev", "local", "test":
		return false
	}
	return true
}

// Check runs every semantic rule over doc, whose Value must be non-nil for
// any rule to fire, and returns the findings sorted by position. Every
// finding carries file:line:col and the JSON pointer of the value it is
// about; a missing reference is reported at the value that refers to it.
func Check(doc *manifest.Document, opts Options) diag.List {
	if doc == nil || doc.Value == nil {
		return nil
	}
	c := &checker{doc: doc, prod: isProduction(opts.Env), env: opts.Env, scopes: opts.Scopes}
	if c.scopes == nil {
		c.scopes = DefaultScopes()
	}
	c.checkOAuth()
	m := c.model()
	c.checkRefs(m)
	c.checkEnvInject(m)
	c.checkYAML11Booleans()
	c.out.Sort()
	return c.out
}

type checker struct {
	doc    *manifest.Document
	prod   bool
	env    string
	scopes []string
	out    diag.List
}

func (c *checker) add(ptr string, sev diag.Severity, rule, msg string) {
	c.out = append(c.out, c.doc.Finding(ptr, sev, rule, msg))
}

func (c *checker) addKey(ptr string, sev diag.Severity, rule, msg string) {
	c.out = append(c.out, c.doc.KeyFinding(ptr, sev, rule, msg))
}

// envSeverity picks the production or development severity of a rule.
func (c *checker) envSeverity(prod, dev diag.Severity) diag.Severity {
	if c.prod {
		return prod
	}
	return dev
}

// Small accessors over JSON-shaped values: each returns the zero value for
// a value of another type, which is how rules skip what the schema reports.

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func asString(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok
}

func ptr(tokens ...string) string { return manifest.Pointer(tokens...) }

func idx(i int) string { return strconv.Itoa(i) }
