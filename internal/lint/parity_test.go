package lint

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// load runs the whole pipeline a user gets: loader, schema and lint.
func load(t *testing.T, src string) diag.List {
	t.Helper()
	doc, ds, err := manifest.Load("app.yml", []byte(src), manifest.DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if !ds.HasErrors() || doc.Value != nil {
		ds = append(ds, Check(doc, Options{Env: prod})...)
	}
	ds.Sort()
	return ds
}

// errorRules lists "rule@line" of each error, and "rule:W"/"rule:I" for
// warnings and infos, sorted.
func findingKeys(l diag.List) []string {
	var out []string
	for _, d := range l {
		k := d.Rule
		switch d.Severity {
		case diag.Warning:
			k += ":W"
		case diag.Info:
			k += ":I"
		}
		out = append(out, k)
	}
	return out
}

const paritySpec = header + "spec:\n  version: 1.0.0\n"

// worker is a complete worker; routes and bindings refer to it.
const parityWorker = `  workers:
    web:
      build:
        fromWorkflow: {path: .takos/workflows/build.yml, job: build, artifact: dist, artifactPath: dist/worker.js}
`

// parityCases are the repros of the parity comparison with the real Takos
// parser (tako0614/takos@7d63ea66): what it rejects must be an error here,
// what it accepts must be at most a warning unless the rule is in the
// README's "Where takos-apply is stricter than Takos" table.
var parityCases = []struct {
	name string
	src  string
	want []string
}{
	// Missed errors: whitespace-only required strings.
	{"blank metadata.name", strings.Replace(paritySpec, "name: demo", `name: " "`, 1), []string{"schema-required"}},
	{"blank tag", paritySpec + "  tags: [a, \" \"]\n", []string{"schema-min-length"}},
	{"blank capability", paritySpec + "  capabilities: [\"\u00a0\"]\n", []string{"schema-min-length"}},
	{"blank env.required", paritySpec + "  env:\n    required: [\" \"]\n", []string{"schema-min-length"}},
	{"blank env.inject key", paritySpec + "  env:\n    inject: {\" \": x}\n", []string{"schema-required"}},
	{"blank dependsOn", paritySpec + "  containers:\n    c: {imageRef: x, port: 80, dependsOn: [\" \"]}\n", []string{"schema-min-length"}},
	{"blank worker container", paritySpec + parityWorker + "      containers: [\" \"]\n", []string{"schema-min-length"}},
	{"blank d1 binding", paritySpec + parityWorker + "      bindings: {d1: [\" \"]}\n", []string{"schema-min-length"}},
	{"blank service binding name", paritySpec + parityWorker + "      bindings: {services: [{name: \" \"}]}\n", []string{"schema-required"}},
	{"blank route target", paritySpec + parityWorker + "  routes:\n    - {name: r, target: \" \"}\n", []string{"schema-required"}},
	{"blank route name", paritySpec + parityWorker + "  routes:\n    - {name: \"\u3000\", target: web}\n", []string{"schema-required"}},
	{"blank fromWorkflow fields", paritySpec + "  workers:\n    web:\n      build:\n        fromWorkflow: {path: \" \", job: \" \", artifact: \" \", artifactPath: \" \"}\n",
		[]string{"schema-required", "schema-required", "schema-required", "schema-required"}},
	{"blank cron", paritySpec + parityWorker + "      triggers:\n        schedules: [{cron: \" \", export: run}]\n", []string{"schema-required"}},
	{"blank mcp server name", paritySpec + "  mcpServers:\n    - {name: \" \", endpoint: https://x.example/mcp}\n", []string{"schema-required"}},
	{"blank openPath", paritySpec + "  fileHandlers:\n    - {name: md, openPath: \" \"}\n", []string{"schema-required"}},
	{"blank lifecycle command", paritySpec + "  lifecycle:\n    preApply: {command: \" \"}\n", []string{"schema-required"}},
	{"blank volume size", paritySpec + "  containers:\n    c:\n      imageRef: x\n      port: 80\n      volumes: [{name: v, mountPath: /v, size: \" \"}]\n", []string{"schema-required"}},
	{"blank artifact imageRef", paritySpec + "  services:\n    s: {port: 80, artifact: {kind: image, imageRef: \" \"}}\n", []string{"schema-required"}},
	{"blank durableObject className", paritySpec + "  resources:\n    d: {type: durableObject, durableObject: {className: \" \"}}\n", []string{"schema-required"}},
	{"blank workflow export", paritySpec + parityWorker + "  resources:\n    w: {type: workflow, workflow: {service: web, export: \" \"}}\n", []string{"schema-required"}},
	{"blank bundle deploymentId", paritySpec + "  workers:\n    w:\n      artifact: {kind: bundle, deploymentId: \" \"}\n", []string{"schema-one-of", "value-empty:I"}},

	// Missed errors: fromWorkflow.path normalised once, as Takos does.
	{"././ path", strings.Replace(paritySpec+parityWorker, "path: .takos", "path: ././.takos", 1), []string{"from-workflow-path"}},
	{"/./ path", strings.Replace(paritySpec+parityWorker, "path: .takos", "path: /./.takos", 1), []string{"from-workflow-path"}},
	{`.\./ path`, strings.Replace(paritySpec+parityWorker, "path: .takos", `path: .\./.takos`, 1), []string{"from-workflow-path"}},
	{"./ path once is fine", strings.Replace(paritySpec+parityWorker, "path: .takos", "path: ./.takos", 1), nil},

	// Missed errors: integers with underscores stay text in YAML 1.2.
	{"port 1_000", paritySpec + "  services:\n    s: {imageRef: x, port: 1_000}\n", []string{"schema-pattern", "yaml-1.2-scalar:W"}},
	{"maxRetries 1_0", paritySpec + "  resources:\n    q: {type: queue, queue: {maxRetries: 1_0}}\n", []string{"schema-type", "yaml-1.2-scalar:W"}},

	// False positives: Takos trims before comparing.
	{"kind padded", strings.Replace(paritySpec, "kind: App", `kind: " App "`, 1), []string{"value-whitespace:W"}},
	{"version padded", strings.Replace(paritySpec, "version: 1.0.0", `version: "1.0.0 "`, 1), []string{"value-whitespace:W"}},
	{"version with NBSP", strings.Replace(paritySpec, "version: 1.0.0", "version: \"1.0.0\u00a0\"", 1), []string{"value-whitespace:W"}},
	{"version with U+3000", strings.Replace(paritySpec, "version: 1.0.0", "version: \"\u30001.0.0\"", 1), []string{"value-whitespace:W"}},
	{"version as block scalar", strings.Replace(paritySpec, "version: 1.0.0", "version: |\n    1.0.0", 1), []string{"value-whitespace:W"}},
	{"method padded", paritySpec + parityWorker + "  routes:\n    - {name: r, target: web, methods: [\" GET \"]}\n", []string{"value-whitespace:W"}},
	{"resource type padded", paritySpec + "  resources:\n    k: {type: \" kv\"}\n", []string{"value-whitespace:W"}},

	// False positives: null or empty sections are absent.
	{"workers with no value", paritySpec + "  workers:\n", []string{"value-empty:I"}},
	{"binding null", paritySpec + "  resources:\n    k: {type: kv, binding: ~}\n", []string{"value-empty:I"}},
	{"binding empty", paritySpec + "  resources:\n    k: {type: kv, binding: \"\"}\n", []string{"value-empty:I"}},
	{"instanceType with only a comment", paritySpec + "  services:\n    s:\n      imageRef: x\n      port: 80\n      instanceType: # later\n", []string{"value-empty:I"}},

	// False positives: YAML 1.2 input yaml.v3 alone refuses.
	{"%YAML 1.2 directive", "%YAML 1.2\n---\n" + paritySpec, nil},
	{"U+2028 in a plain scalar", paritySpec + "  description: a\u2028b\n", nil},

	// Missed errors at the YAML level.
	{"CR-only line endings", strings.ReplaceAll(paritySpec, "\n", "\r"), []string{"yaml-line-ending"}},
	{"comment glued to a quoted name", strings.Replace(paritySpec, "name: demo", `name: "r"#x`, 1), []string{"yaml-comment-spacing"}},
	{"comment glued to a flow mapping", paritySpec + parityWorker + "  routes:\n    - {name: r, target: web}#x\n", []string{"yaml-comment-spacing"}},

	// Deliberately stricter (README table): coercions and accidents.
	{"tag as a number", paritySpec + "  tags: [a, 5]\n", []string{"schema-type"}},
	{"port true", paritySpec + "  services:\n    s: {imageRef: x, port: true}\n", []string{"schema-type"}},
	{"port hex string", paritySpec + "  services:\n    s: {imageRef: x, port: \"0x50\"}\n", []string{"schema-pattern"}},
	{"name a number", strings.Replace(paritySpec, "name: demo", "name: 123", 1), []string{"schema-type"}},
	{"provider dropped", paritySpec + "  services:\n    s: {imageRef: x, port: 80, provider: nomad}\n", []string{"schema-enum"}},
	{"vectorize dimensions text", paritySpec + "  resources:\n    v: {type: vectorize, vectorize: {dimensions: abc}}\n", []string{"schema-type"}},
	// A manifest written for newer Takos docs gets one tailored finding.
	{"services.web.type: worker", paritySpec + "  services:\n    web:\n      type: worker\n      build: {command: npm run build}\n", []string{"other-takos-contract"}},

	// Messages that were wrong: the OAuth server accepts prototype names
	// as scopes; with nothing to suggest, say so.
	{"prototype scope", oauthApp("", "[openid, constructor]", ""), []string{"scope-unknown"}},
	{"route target with no workload at all", paritySpec + "  routes:\n    - {name: r, target: web}\n", []string{"route-target-unknown"}},
	{"mcp route with no routes at all", paritySpec + "  mcpServers:\n    - {name: m, route: api}\n", []string{"mcp-route-unknown"}},

	{"prototype route target", paritySpec + parityWorker + "  routes:\n    - {name: r, target: constructor}\n", []string{"route-target-unknown"}},
}

func TestParity(t *testing.T) {
	t.Parallel()
	var golden strings.Builder
	for _, tc := range parityCases {
		got := load(t, tc.src)
		if d := cmp.Diff(tc.want, findingKeys(got)); d != "" {
			t.Errorf("%s: findings (-want +got):\n%s\n%s", tc.name, d, render(got))
		}
		golden.WriteString("== " + tc.name + "\n" + render(got))
	}
	const out = "testdata/parity.out"
	if *update {
		if err := os.WriteFile(out, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update to create it): %v", err)
	}
	if d := cmp.Diff(string(want), golden.String()); d != "" {
		t.Errorf("messages differ from %s (-want +got):\n%s", out, d)
	}
}

// TestEveryStringIsReadAsTakosReadsIt is the property behind the
// whitespace repros, checked on every string of a manifest that uses the
// whole surface (testdata/ok/complete.yml) rather than on a list of
// fields: a string Takos trims, padded with white space (a space, NBSP,
// U+3000), gives exactly one value-whitespace warning and no error; made
// blank, it is never silently accepted: a list item is an error (Takos:
// "X[i] is required"), a field is an error or a value-empty finding at
// that field. spec.oauth, environment maps and env.inject templates are
// left alone: Takos does not trim them.
func TestEveryStringIsReadAsTakosReadsIt(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("testdata/ok/complete.yml")
	if err != nil {
		t.Fatal(err)
	}
	base := parse(t, string(src))
	var strs []string
	var walk func(v any, toks []string)
	walk = func(v any, toks []string) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				walk(e, append(slices.Clone(toks), k))
			}
		case []any:
			for i, e := range x {
				walk(e, append(slices.Clone(toks), idx(i)))
			}
		case string:
			p := manifest.Pointer(toks...)
			if strings.HasPrefix(p, "/spec/oauth") || strings.HasPrefix(p, "/spec/env/inject") || slices.Contains(toks, "env") && toks[len(toks)-2] == "env" {
				return
			}
			strs = append(strs, p)
		}
	}
	walk(base.Value, nil)
	if len(strs) < 60 {
		t.Fatalf("found %d strings in complete.yml; the walk is broken", len(strs))
	}
	for _, p := range strs {
		orig, _ := base.Get(p)
		for _, pad := range []string{" ", "\u00a0", "\u3000"} {
			// yamlValue writes the fixture's "yes" plain, so its info is
			// not about the padding.
			got := slices.DeleteFunc(loadValue(t, base, p, pad+orig.(string)+pad), func(d diag.Diagnostic) bool { return d.Rule == ruleYAML11Boolean.ID })
			if got.HasErrors() || len(got) != 1 || got[0].Rule != manifest.RuleValueWhitespace.ID || got[0].Pointer != p {
				t.Errorf("%s padded with %q: want one value-whitespace warning there, got\n%s", p, pad, render(got))
			}
		}
		got := loadValue(t, base, p, " ")
		isItem := false
		if toks := manifest.SplitPointer(p); len(toks) > 0 {
			_, err := strconv.Atoi(toks[len(toks)-1])
			isItem = err == nil
		}
		accounted := false
		for _, d := range got {
			at := d.Pointer == p || strings.HasPrefix(d.Pointer, p+"/") || strings.HasPrefix(p, d.Pointer+"/") && d.Severity == diag.Error
			if at && (d.Severity == diag.Error || !isItem && d.Rule == manifest.RuleValueEmpty.ID) {
				accounted = true
			}
		}
		if !accounted {
			t.Errorf("%s blank: want an error (or, for an optional field, value-empty) there, got\n%s", p, render(got))
		}
	}
}

// loadValue sets the string at ptr in a copy of base and runs the pipeline.
func loadValue(t *testing.T, base *manifest.Document, ptr, s string) diag.List {
	t.Helper()
	v := set(deepCopy(base.Value), manifest.SplitPointer(ptr), s)
	out, err := yaml.Marshal(yamlValue(v))
	if err != nil {
		t.Fatal(err)
	}
	return load(t, string(out))
}
