package schema

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestErrorMessageMirrorsXMessage keeps the editor wording in step with the
// CLI's: yaml-language-server (and ajv-errors) show a schema node's
// errorMessage, takos-apply its x-message, so every node with one has the
// other, holding one of its texts.
func TestErrorMessageMirrorsXMessage(t *testing.T) {
	var doc any
	if err := json.Unmarshal(schemaJSON, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch t := v.(type) {
		case map[string]any:
			xm, hasX := t["x-message"].(map[string]any)
			em, hasE := t["errorMessage"].(string)
			switch {
			case hasX && !hasE:
				tErrorf(at, "has x-message but no errorMessage, so editors show a generic message")
			case hasE && !hasX:
				tErrorf(at, "has errorMessage but no x-message, so takos-apply's wording differs from the editor's")
			case hasX:
				n++
				var texts []string
				for _, s := range xm {
					texts = append(texts, s.(string))
				}
				if !slices.Contains(texts, em) {
					tErrorf(at, "errorMessage "+em+" is none of its x-message texts "+strings.Join(texts, " | "))
				}
			}
			for k, c := range t {
				walk(c, at+"/"+k)
			}
		case []any:
			for _, c := range t {
				walk(c, at+"/[]")
			}
		}
	}
	var errs []string
	tErrorf = func(at, msg string) { errs = append(errs, at+": "+msg) }
	walk(doc, "#")
	for _, e := range errs {
		t.Error(e)
	}
	if n < 10 {
		t.Errorf("found %d x-message nodes; the walk is broken", n)
	}
}

var tErrorf func(at, msg string)

// TestAjvStrict compiles the schema with ajv 8 in full strict mode (every
// strict option on) and checks that ajv-errors, like editors, reports the
// errorMessage wording. It needs node and TAKOS_AJV set to a node_modules
// directory holding ajv@8 and ajv-errors@3 (.ci/run installs them).
func TestAjvStrict(t *testing.T) {
	mods := os.Getenv("TAKOS_AJV")
	if mods == "" {
		t.Skip("TAKOS_AJV (a node_modules directory with ajv@8 and ajv-errors@3) is not set")
	}
	manifest := func(spec string) map[string]any {
		var m map[string]any
		src := `{"apiVersion":"takos.dev/v1alpha1","kind":"App","metadata":{"name":"demo"},"spec":{"version":"1.0.0"` + spec + `}}`
		if err := json.Unmarshal([]byte(src), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	cases := []map[string]any{
		{"name": "valid", "instance": manifest("")},
		{"name": "hex port", "instance": manifest(`,"services":{"s":{"imageRef":"x","port":"0x50"}}`)},
		{"name": "provider", "instance": manifest(`,"services":{"s":{"imageRef":"x","port":80,"provider":"nomad"}}`)},
		{"name": "version", "instance": manifest(`,"takos":{"minVersion":"v1"}`)},
	}
	in, _ := json.Marshal(cases)
	cmd := exec.Command("node", "testdata/ajv-strict.js", "app.schema.json")
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ajv (strict mode) refuses the schema: %v\n%s", err, stderr.String())
	}
	var got map[string][]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if len(got["valid"]) != 0 {
		t.Errorf("ajv rejects a valid manifest: %v", got["valid"])
	}
	for name, want := range map[string]string{
		"hex port": "must be a positive number written in decimal",
		"provider": "Takos silently drops any other value",
		"version":  "must be valid semver",
	} {
		if !strings.Contains(strings.Join(got[name], "\n"), want) {
			t.Errorf("%s: ajv-errors reports %q, want the errorMessage %q", name, got[name], want)
		}
	}
}
