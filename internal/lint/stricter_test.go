package lint

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/redirecturi"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// takosAccepts are manifests the Takos parser (parseAppManifestYaml at
// tako0614/takos@7d63ea66, YAML via npm yaml 2.8) accepts, each with the
// rule takos-apply rejects it by. The YAML-level ones were checked with
// npm yaml 2.8 (TestYAML12Differential); the rest follow the parser's
// rules as the README's Takos references describe them (unknown fields
// dropped, String()/Number() coercion, spec.oauth passed through, lookups
// in plain objects).
var takosAccepts = []struct {
	rule, src string
}{
	{"yaml-syntax", paritySpec + "  tags: [a/?b]\n"},
	{"yaml-key-type", paritySpec + "1: dropped\n"},
	{"yaml-tag", paritySpec + "  description: !custom text\n"},
	{"yaml-merge-key", paritySpec + "<<: {}\n"},
	{"yaml-control-char", paritySpec + "  description: \"\\e[1m\"\n"},
	{"yaml-number", paritySpec + "  description: .nan\n"},
	{"yaml-encoding", paritySpec + "  description: caf\xe9\n"},
	{"yaml-line-ending", paritySpec + "  description: \"a\rb\"\n"},
	{"yaml-directive", "%YAML 1.1\n---\n" + paritySpec},
	{"yaml-flow-token", paritySpec + "  tags: [?x]\n"},
	{"yaml-size", paritySpec + "  description: " + strings.Repeat("x", 1<<20) + "\n"},
	{"yaml-limit", strings.Replace(paritySpec, "  name: demo\n", "  name: demo\n"+manyKeys(2001), 1)},
	{"schema-unknown-field", paritySpec + "  somethingElse: 1\n"},
	{"schema-type", paritySpec + "  tags: [a, 5]\n"},
	{"schema-enum", paritySpec + "  services:\n    s: {imageRef: x, port: 80, provider: nomad}\n"},
	{"schema-pattern", paritySpec + "  services:\n    s: {imageRef: x, port: \"0x50\"}\n"},
	{"schema-minimum", paritySpec + parityWorker + "  routes:\n    - {name: r, target: web, timeoutMs: -1}\n"},
	{"schema-unique-items", paritySpec + "  tags: [a, a]\n"},
	{"schema-required", paritySpec + "  oauth: {}\n"},
	{"schema-min-length", paritySpec + "  takos: {scopes: [\" \"]}\n"},
	{"other-takos-contract", paritySpec + "  services:\n    web: {type: worker, imageRef: x, port: 80}\n"},
	{"route-target-unknown", paritySpec + parityWorker + "  routes:\n    - {name: r, target: constructor}\n"},
	{"route-ingress-unknown", paritySpec + parityWorker + "  routes:\n    - {name: r, target: web, ingress: toString}\n"},
	{"worker-container-unknown", paritySpec + parityWorker + "      containers: [valueOf]\n"},
	{"depends-on-unknown", paritySpec + parityWorker + "      dependsOn: [constructor]\n"},
	{"workflow-service-unknown", paritySpec + "  resources:\n    w: {type: workflow, workflow: {service: constructor, export: W}}\n"},
	{"env-inject-unknown", paritySpec + "  env:\n    inject: {PORT: \"{{containers.constructor.port}}\"}\n"},
	// A worker and a service share a name: Takos checks only the
	// service's bindings.
	{"binding-unknown", paritySpec + parityWorker + "      bindings: {d1: [nope]}\n  services:\n    web: {imageRef: x, port: 80}\n"},
	{"from-workflow-path", strings.Replace(paritySpec+parityWorker, "path: .takos/workflows/build.yml", "path: .takos/workflows/../../x.yml", 1)},
	{"scope-runs", oauthApp("", "[runs:read]", "")},
	{"client-name-empty", oauthApp(`""`, "", "")},
	{"metadata-uri-scheme", oauthApp("", "", "logoUri: ftp://x.example/l.png")},
	{"redirect-uri-http", strings.Replace(oauthApp("", "", ""), "https://demo", "http://demo", 1)},
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "  x%d: 1\n", i)
	}
	return b.String()
}

// takosRejectsToo are the rules with error findings that only fire where
// the Takos parser rejects the manifest as well (or, for the last group,
// never report errors). Every rule must be here or in the README's
// stricter table, so a new rule cannot skip the decision.
var takosRejectsToo = map[string]string{
	"yaml-duplicate-key":        "npm yaml: Map keys must be unique",
	"yaml-multi-document":       "npm yaml: Source contains multiple documents",
	"yaml-empty":                "apiVersion is required",
	"yaml-indentation":          "npm yaml: must be sufficiently indented / Missing closing quote",
	"yaml-comment-spacing":      "npm yaml: Comments must be separated from other tokens by white space characters",
	"schema-const":              "apiVersion must be takos.dev/v1alpha1, kind must be App, artifact kinds",
	"schema-one-of":             "mcpServers endpoint xor route, service bindings, migrations",
	"schema-min-items":          "not used by the schema",
	"schema-format":             "not used by the schema",
	"schema-invalid":            "fallback for keywords the schema does not use",
	"mcp-route-unknown":         "route must name a routes[].name",
	"mcp-endpoint-or-route":     "endpoint or route is required, not both",
	"mcp-auth-secret-unknown":   "must reference a secretRef resource",
	"queue-trigger-unknown":     "the queue must be a queue resource",
	"dead-letter-queue-unknown": "must reference a queue resource",
	"legacy-build-field":        "local build fields are not supported",
	"worker-build-source":       "must define build.fromWorkflow or artifact.kind=bundle",
	"image-source":              "must define dockerfile, imageRef, or artifact.kind=image",
	"env-inject-braces":         "mismatched template braces",
	"env-inject-path":           "invalid template path",
	"env-inject-section":        "unknown section",
	// Not errors.
	"value-whitespace": "warning", "value-empty": "info", "yaml-1.2-scalar": "warning",
}

// stricterTable reads the rule column of the README section "Where
// takos-apply is stricter than Takos". A cell may hold several rule ids
// and patterns such as `redirect-uri-*`.
func stricterTable(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(b), "\n### Where takos-apply is stricter than Takos\n")
	if !ok {
		t.Fatal(`README has no section "### Where takos-apply is stricter than Takos"`)
	}
	if i := strings.Index(sec, "\n#"); i >= 0 {
		sec = sec[:i]
	}
	var ids []string
	cell := regexp.MustCompile("`([a-z0-9.*-]+)`")
	for _, line := range strings.Split(sec, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.Split(line, "|")[1]
		for _, m := range cell.FindAllStringSubmatch(first, -1) {
			ids = append(ids, m[1])
		}
	}
	if len(ids) == 0 {
		t.Fatal("the stricter table lists no rules")
	}
	return ids
}

func matches(pattern, id string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(id, p)
	}
	return pattern == id
}

func inTable(table []string, id string) bool {
	for _, p := range table {
		if matches(p, id) {
			return true
		}
	}
	return false
}

// TestStricterTable keeps the README table honest both ways: every error
// takos-apply reports on a manifest Takos accepts belongs to a rule of the
// table, every row is shown to fire on such a manifest, and every rule that
// can report an error is either in the table or known to fire only where
// Takos rejects too.
func TestStricterTable(t *testing.T) {
	t.Parallel()
	table := stricterTable(t)
	shown := map[string]bool{}
	for _, tc := range takosAccepts {
		got := load(t, tc.src)
		fired := false
		for _, d := range got {
			if d.Severity != diag.Error {
				continue
			}
			if !inTable(table, d.Rule) {
				t.Errorf("rule %s rejects a manifest Takos accepts but is not in the README's stricter table:\n%s", d.Rule, render(diag.List{d}))
			}
			for _, p := range table {
				if matches(p, d.Rule) {
					shown[p] = true
				}
			}
			fired = fired || d.Rule == tc.rule
		}
		if !fired {
			t.Errorf("%s: no %s error on a manifest Takos accepts; got\n%s", tc.rule, tc.rule, render(got))
		}
	}
	// The real corpus: manifests from Takos's docs and tests whose first
	// line records the real parser's verdict "valid".
	corpus, _ := filepath.Glob("../../schema/testdata/valid/*.yaml")
	if len(corpus) < 10 {
		t.Fatalf("found %d files of the Takos corpus", len(corpus))
	}
	checked := 0
	for _, f := range corpus {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(string(b), "\n"); !strings.Contains(first, "parser verdict: valid") {
			continue
		}
		checked++
		for _, d := range load(t, string(b)) {
			if d.Severity == diag.Error && !inTable(table, d.Rule) {
				t.Errorf("%s (valid for the Takos parser): %s is not in the README's stricter table:\n%s", filepath.Base(f), d.Rule, render(diag.List{d}))
			}
		}
	}
	if checked < 5 {
		t.Errorf("only %d corpus files carry the verdict valid", checked)
	}
	for _, p := range table {
		if !shown[p] {
			t.Errorf("the stricter table lists %s, but no manifest of takosAccepts shows it firing", p)
		}
	}
	for _, id := range errorRules(t) {
		_, rejects := takosRejectsToo[id]
		switch {
		case inTable(table, id) && rejects:
			t.Errorf("rule %s is both in the stricter table and in takosRejectsToo", id)
		case !inTable(table, id) && !rejects:
			t.Errorf("rule %s can report an error: add it to the README's stricter table (with a manifest Takos accepts in takosAccepts) or to takosRejectsToo with the Takos error that matches it", id)
		}
	}
}

// errorRules lists every rule id of the loader and the schema, and those
// of the lint and redirect-URI rules that can report an error.
func errorRules(t *testing.T) []string {
	t.Helper()
	var ids []string
	for _, r := range manifest.Rules() {
		ids = append(ids, r.ID)
	}
	for _, r := range slices.Concat(Rules(), redirecturi.Rules()) {
		if r.Production == diag.Error || r.Development == diag.Error {
			ids = append(ids, r.ID)
		}
	}
	return ids
}
