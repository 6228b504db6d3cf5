package report

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/takos-dev/takos-apply/internal/lint"
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// sarifSchemaFile is the OASIS SARIF 2.1.0 JSON Schema (draft-04), the
// rtm.5 text that became the standard, as shipped in the npm package
// @microsoft/jest-sarif 1.0.0-beta.0 (lib/schemas/sarif-2.1.0-rtm.5.json),
// kept here so the test runs offline.
const sarifSchemaFile = "testdata/sarif-schema-2.1.0.json"

func compileSARIFSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(sarifSchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // uri and uri-reference, which helpUri and artifact URIs must be
	loc := "file:///" + filepath.ToSlash(sarifSchemaFile)
	if err := c.AddResource(loc, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// TestSARIFValidatesAgainstSchema validates what the renderer writes, with
// the fixtures and with the real rule catalogue, against the SARIF 2.1.0
// schema.
func TestSARIFValidatesAgainstSchema(t *testing.T) {
	sch := compileSARIFSchema(t)
	files := fixtures(t)
	abs := []File{{Path: "/work/repo/.takos/app.yml", Diags: diag.List{{Rule: "redirect-uri-http", Severity: diag.Error, Message: "m", Pos: diag.Pos{Line: 3, Column: 4}}}}}
	cases := map[string]func(*bytes.Buffer) error{
		"fixtures, test catalogue": func(b *bytes.Buffer) error {
			return SARIF(b, files, Options{Version: "1.2.3", Rules: testCatalog(t, files)})
		},
		"fixtures, real catalogue, development": func(b *bytes.Buffer) error {
			return SARIF(b, files, Options{Rules: lint.Catalog(), Development: true})
		},
		"absolute paths, root": func(b *bytes.Buffer) error {
			return SARIF(b, abs, Options{Rules: lint.Catalog(), Root: "/work/repo"})
		},
		"absolute paths outside the root": func(b *bytes.Buffer) error {
			return SARIF(b, abs, Options{Rules: lint.Catalog(), Root: "/elsewhere"})
		},
		"clean, no catalogue": func(b *bytes.Buffer) error { return SARIF(b, nil, Options{}) },
	}
	for name, render := range cases {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := render(&b); err != nil {
				t.Fatal(err)
			}
			v, err := jsonschema.UnmarshalJSON(&b)
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("SARIF output does not validate against the 2.1.0 schema: %v", err)
			}
		})
	}
}

// TestSARIFSchemaRejects shows the validation can fail: a log missing a
// required property and one with an invalid level are refused.
func TestSARIFSchemaRejects(t *testing.T) {
	sch := compileSARIFSchema(t)
	for name, doc := range map[string]string{
		"no runs":   `{"version":"2.1.0"}`,
		"bad level": `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[{"message":{"text":"m"},"level":"fatal"}]}]}`,
		"bad uri":   `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x","rules":[{"id":"r","helpUri":"not a uri"}]}}}]}`,
	} {
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(doc)))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(v) == nil {
			t.Errorf("%s: the schema accepted an invalid log", name)
		}
	}
}
