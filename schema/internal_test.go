package schema

import (
	"bytes"
	"encoding/json"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/fuzzy"
)

func TestCompile(t *testing.T) {
	if _, err := load(); err != nil {
		t.Fatalf("load() error = %v", err)
	}
	// The run time skips the metaschema check (trustedURL); this is where
	// the embedded schema is held to it.
	if _, err := compile(schemaJSON, false); err != nil {
		t.Fatalf("embedded schema fails the 2020-12 metaschema: %v", err)
	}
	if _, err := compile([]byte(`{"$id": "x", "type": 3}`), false); err == nil {
		t.Error("compile(invalid schema) error = nil, want an error")
	}
	for _, trusted := range []bool{false, true} {
		if _, err := compile([]byte(`{`), trusted); err == nil {
			t.Errorf("compile(truncated JSON, %v) error = nil, want an error", trusted)
		}
	}
}

// walkSchema calls fn for every subschema object with its path in the
// schema document.
func walkSchema(path string, v any, fn func(path string, m map[string]any)) {
	switch t := v.(type) {
	case map[string]any:
		fn(path, t)
		for k, c := range t {
			if strings.HasPrefix(k, "x-") || k == "examples" || k == "enum" || k == "const" {
				continue
			}
			walkSchema(path+"/"+k, c, fn)
		}
	case []any:
		for _, c := range t {
			walkSchema(path+"/[]", c, fn)
		}
	}
}

// TestSchemaConventions pins the rules the schema promises: every property
// is documented for editors, every object that lists properties rejects
// unknown ones (Takos silently drops them), and x-message entries name
// keywords that exist beside them.
func TestSchemaConventions(t *testing.T) {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(schemaJSON))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	props, closed := 0, 0
	walkSchema("", doc, func(path string, m map[string]any) {
		ps, ok := m["properties"].(map[string]any)
		if !ok {
			return
		}
		// Conditional schemas (if/then/else, dependentSchemas) only add
		// constraints to an object that is closed elsewhere.
		// So do the branches of anyOf/oneOf that only name the properties
		// they require, with true schemas, so that ajv's strictRequired
		// sees them defined.
		markers := true
		for _, p := range ps {
			if b, ok := p.(bool); !ok || !b {
				markers = false
			}
		}
		conditional := strings.Contains(path, "/if") || strings.Contains(path, "/then") ||
			strings.Contains(path, "/else") || strings.Contains(path, "/dependentSchemas") || markers
		if conditional {
			return
		}
		if ap, ok := m["additionalProperties"].(bool); !ok || ap {
			t.Errorf("%s lists properties but does not set additionalProperties: false", path)
		} else {
			closed++
		}
		for name, p := range ps {
			props++
			pm, _ := p.(map[string]any)
			if d, _ := pm["description"].(string); d == "" {
				t.Errorf("%s/properties/%s has no description", path, name)
			}
		}
	})
	if props < 150 || closed < 30 {
		t.Errorf("walked %d properties in %d closed objects; the walk is broken", props, closed)
	}
	walkSchema("", doc, func(path string, m map[string]any) {
		xm, ok := m["x-message"].(map[string]any)
		if !ok {
			return
		}
		for kw := range xm {
			if kw == "false" {
				continue
			}
			if _, ok := m[kw]; !ok {
				t.Errorf("%s: x-message names %q but the schema has no such keyword", path, kw)
			}
		}
	})
}

func TestSuggest(t *testing.T) {
	allowed := map[string]any{
		"clientName": true, "redirectUris": true, "scopes": true, "autoEnv": true, "metadata": true,
		"mcpServers": true, "description": true, "kv": true, "env": true,
	}
	tests := []struct {
		key     string
		present map[string]any
		want    string
	}{
		{"redirectUri", nil, "redirectUris"},
		{"clientname", nil, "clientName"},
		{"CLIENTNAME", nil, "clientName"},
		{"scope", nil, "scopes"},
		{"mcp", nil, "mcpServers"},
		{"descirption", nil, "description"},
		{"autoenv", nil, "autoEnv"},
		{"metdata", nil, "metadata"},
		{"kvs", nil, "kv"},
		{"envs", nil, "env"},
		{"redirectUri", map[string]any{"redirectUris": true}, ""},
		{"foo", nil, ""},
		{"x", nil, ""},
		{"kb", nil, ""},
		{"somethingElse", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			if got := suggest(tc.key, allowed, tc.present); got != tc.want {
				t.Errorf("suggest(%q) = %q, want %q", tc.key, got, tc.want)
			}
		})
	}
}

// TestSuggestFiltersAreExact: suggest's shortcuts (candidates computed
// once per mapping, skipping those too far apart in length or characters)
// pick what scoring every allowed field with the edit distance picks, on
// random near-misses of the schema's field names.
func TestSuggestFiltersAreExact(t *testing.T) {
	reference := func(key string, allowed, present map[string]any) string {
		lk := strings.ToLower(key)
		best, bestScore := "", 1<<30
		for cand := range allowed {
			if _, dup := present[cand]; dup {
				continue
			}
			lc := strings.ToLower(cand)
			score := -1
			switch {
			case lc == lk:
				score = 0
			case plural(lc, lk) || plural(lk, lc):
				score = 1
			case len(lk) >= 3 && strings.HasPrefix(lc, lk):
				score = 3
			default:
				if d, ok := fuzzy.DistanceAtMost(lk, lc, typoBudget(len(lk))); ok {
					score = 1 + d
				}
			}
			if score >= 0 && (score < bestScore || (score == bestScore && cand < best)) {
				best, bestScore = cand, score
			}
		}
		return best
	}
	allowed := map[string]any{}
	for _, k := range []string{"build", "artifact", "containers", "env", "bindings", "triggers", "routes", "redirectUris",
		"clientName", "scopes", "description", "metadata", "kv", "queues", "dependsOn", "Überall", "naïve"} {
		allowed[k] = true
	}
	names := slices.Collect(maps.Keys(allowed))
	slices.Sort(names)
	rng := rand.New(rand.NewPCG(21, 4))
	for range 20000 {
		key := []rune(names[rng.IntN(len(names))])
		for range rng.IntN(5) {
			i := rng.IntN(len(key) + 1)
			switch c := []rune("abdeilrsuzBÜï1-")[rng.IntN(15)]; rng.IntN(3) {
			case 0:
				key = slices.Insert(key, i, c)
			case 1:
				if i < len(key) {
					key[i] = c
				}
			default:
				if i+1 < len(key) {
					key[i], key[i+1] = key[i+1], key[i]
				}
			}
		}
		var present map[string]any
		if rng.IntN(4) == 0 {
			present = map[string]any{names[rng.IntN(len(names))]: true}
		}
		if got, want := suggest(string(key), allowed, present), reference(string(key), allowed, present); got != want {
			t.Fatalf("suggest(%q) = %q, want %q", string(key), got, want)
		}
	}
}

// TestName pins how instance locations read in messages. How tokens become
// a JSON pointer (escaping "~" and "/") is jsonptr's, tested there.
func TestName(t *testing.T) {
	root := map[string]any{"spec": map[string]any{
		"routes":    []any{map[string]any{"methods": []any{"GET"}}},
		"resources": map[string]any{"a.b": map[string]any{}},
	}}
	f := flattener{c: &compiled{opts: appOptions}, root: root}
	long := strings.Repeat("k", 70)
	tests := []struct {
		tokens []string
		want   string
	}{
		{nil, "the manifest"},
		{[]string{"spec", "routes", "0", "methods", "0"}, "spec.routes[0].methods[0]"},
		{[]string{"spec", "resources", "a.b", "type"}, `spec.resources["a.b"].type`},
		{[]string{"spec", "resources", "a/b~c"}, `spec.resources["a/b~c"]`},
		// User keys are quoted with escapes and cut like every user text.
		{[]string{"spec", "resources", "a\u202eb"}, `spec.resources["a\u202eb"]`},
		{[]string{"spec", "resources", long}, `spec.resources["` + long[:maxQuoted] + `"…]`},
	}
	for _, tc := range tests {
		if got := f.name(tc.tokens); got != tc.want {
			t.Errorf("name(%q) = %q, want %q", tc.tokens, got, tc.want)
		}
	}
}

// TestSchemaNode resolves schema locations as the validator reports them:
// a URI whose fragment is a percent-encoded JSON pointer.
func TestSchemaNode(t *testing.T) {
	c, err := load()
	if err != nil {
		t.Fatal(err)
	}
	f := flattener{c: c}
	semver := func(v any) bool {
		m, _ := v.(map[string]any)
		_, ok := m["pattern"].(string)
		return ok && m["description"] == "A strict SemVer 2.0 version."
	}
	for _, loc := range []string{ID + "#/$defs/semver", ID + "#/%24defs/semver", trustedURL + "#/$defs/semver"} {
		if got := f.schemaNode(loc); !semver(got) {
			t.Errorf("schemaNode(%q) = %v, want the semver definition", loc, got)
		}
	}
	if got, _ := f.schemaNode(ID + "#").(map[string]any); got["$id"] != ID {
		t.Errorf("schemaNode(%q) is not the schema document", ID+"#")
	}
	for _, loc := range []string{ID, ID + "#/$defs/nope", ID + "#/$defs/semver/pattern/x", ID + "#/properties/spec/required/99"} {
		if got := f.schemaNode(loc); got != nil {
			t.Errorf("schemaNode(%q) = %v, want nil", loc, got)
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := compile(schemaJSON, true); err != nil {
			b.Fatal(err)
		}
	}
}
