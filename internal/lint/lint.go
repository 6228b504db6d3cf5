// Package lint holds the semantic rules of takos-apply: everything about a
// Takos app manifest that its JSON Schema cannot express. That is the OAuth
// client (scopes against the Takos OAuth server's catalogue, metadata URLs,
// the client name), the cross-references the Takos parser checks (routes,
// MCP servers, bindings, env.inject templates, ...) and YAML 1.1 ambiguity.
//
// Rules assume the schema has run: a value of the wrong type is skipped, not
// reported again. Check never panics on a JSON-shaped value.
//
// The package also runs lint over files, as actionlint's LintFiles does:
// LintFiles finds the manifests (Targets, one walker), reads each under
// the file rules (ReadTarget: no symbolic link out of the directory being
// linted, only regular files, never a blocking open), lints them on
// GOMAXPROCS workers with Source (loader, schema, rules, suppressions once)
// and emits the results in path order, streaming.
package lint

import (
	"slices"
	"strconv"

	"github.com/takos-dev/takos-apply/internal/redirecturi"
	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// Options select the environment-dependent parts of the rules.
type Options struct {
	// Env is the deploy environment, classified by redirecturi.Development:
	// "development", "dev", "local" and "test" (any case, surrounding white
	// space ignored) are development; anything else, including "", is
	// production, so a typo never relaxes a rule.
	Env string
	// Scopes is the scope catalogue the OAuth client may request. Nil
	// means DefaultScopes(); a control plane's scopes_supported may replace
	// it. An empty non-nil slice means no scope is supported.
	Scopes []string
	// Disable lists rule IDs whose findings are dropped (--disable);
	// takos-apply:ignore comments in the manifest drop findings as well.
	Disable []string
}

// defaultScopes is the catalogue behind DefaultScopes. It is read-only:
// Check reads it in place and DefaultScopes hands out copies.
var defaultScopes = [...]string{
	"openid", "profile", "email",
	"spaces:read", "spaces:write",
	"files:read", "files:write",
	"memories:read", "memories:write",
	"threads:read", "threads:write",
	"agents:execute",
	"repos:read", "repos:write",
}

// DefaultScopes returns the 14 scopes the Takos OAuth server accepts
// (OAUTH_SCOPES in Takos's oauth/scopes.ts), identity scopes first, in a
// fixed order. The caller owns the returned slice.
func DefaultScopes() []string {
	return slices.Clone(defaultScopes[:])
}

// Check runs every semantic rule over doc, whose Value must be non-nil for
// any rule to fire, and returns the findings sorted by diag.Compare, ties
// broken by pointer, so the order never depends on Go's map iteration
// (diag.Collector's order). Every finding carries file:line:col and the
// JSON pointer of the value it is about; a missing reference is reported
// at the value that refers to it.
//
// The findings are those left after opts.Disable and the manifest's
// takos-apply:ignore comments; Source runs the loader, the schema and these
// rules into one Collector, which suppresses and caps as findings come.
func Check(doc *manifest.Document, opts Options) diag.List {
	if doc == nil {
		return nil
	}
	ds := directives(doc.Source)
	col := diag.Collector{Silenced: silencer(ds, opts.Disable)}
	check(&col, doc, ds, opts)
	return col.Sorted()
}

// check runs the rules over doc into col; ds are doc's suppression
// comments (directives).
func check(col *diag.Collector, doc *manifest.Document, ds []directive, opts Options) {
	if doc == nil || doc.Value == nil {
		return
	}
	c := &checker{doc: doc, col: col, directives: ds, env: opts.Env, production: !redirecturi.Development(opts.Env), scopes: opts.Scopes}
	if c.scopes == nil {
		c.scopes = defaultScopes[:]
	}
	c.checkOAuth()
	m := c.model()
	c.checkRefs(m)
	c.checkEnvInject(m)
	c.checkYAML11Booleans()
	c.checkDirectives()
}

// checker holds one Check run. scopes is only read, never written: it may
// be the package's defaultScopes.
type checker struct {
	doc        *manifest.Document
	col        *diag.Collector
	directives []directive
	env        string
	// production is env classified by redirecturi.Development.
	production bool
	scopes     []string
}

// report records a finding of rule r at the value at ptr. msg builds its
// message and is called only if the finding is kept (diag.Collector): a
// rule that fires a hundred thousand times in one file formats a hundred
// messages.
func (c *checker) report(r *diag.Rule, ptr string, msg func() string) {
	c.emit(r, c.doc.Pos(ptr), ptr, msg)
}

// reportKey records a finding of rule r at the key that names ptr.
func (c *checker) reportKey(r *diag.Rule, ptr string, msg func() string) {
	c.emit(r, c.doc.KeyPos(ptr), ptr, msg)
}

// emit records a finding of r at pos with r's severity in the run's deploy
// environment: every lint finding passes here, the one place a severity
// depends on --env (see diag.Rule).
func (c *checker) emit(r *diag.Rule, pos diag.Pos, ptr string, msg func() string) {
	c.col.AddFunc(diag.Diagnostic{File: c.doc.Path, Pos: pos, Severity: r.Severity(c.production), Rule: r.ID, Pointer: ptr}, msg)
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

// maxQuoted caps, in runes, the user text one message quotes: enough for
// any real name, URL or scope, short enough to keep a message on a line.
const maxQuoted = 120

// quote renders user text (a name, scope, URL, template) for a message:
// Go-quoted, so control and invisible characters show as escapes, and cut
// at maxQuoted runes.
func quote(s string) string { return safetext.Quote(s, maxQuoted) }

func ptr(tokens ...string) string { return manifest.Pointer(tokens...) }

func idx(i int) string { return strconv.Itoa(i) }
