package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// TestStreamFlushesPerFile checks that text and github output reach the
// writer as soon as each file with findings is written, not at Close, and
// that JSON and SARIF hold at most a buffer's worth.
func TestStreamFlushesPerFile(t *testing.T) {
	files := fixtures(t)
	for _, format := range []string{"text", "github"} {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			wr, err := NewWriter(format, &b, Options{})
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				before := b.Len()
				if err := wr.WriteFile(f); err != nil {
					t.Fatal(err)
				}
				if grew := b.Len() > before; grew != (len(f.Diags) > 0) {
					t.Errorf("%s: after WriteFile(%s) with %d findings the output grew: %v", format, f.Path, len(f.Diags), grew)
				}
				for _, d := range f.Diags {
					if !strings.Contains(b.String(), d.Rule) {
						t.Errorf("%s: finding %s of %s not written before the next file", format, d.Rule, f.Path)
					}
				}
			}
			if strings.Contains(b.String(), "checked") {
				t.Errorf("%s: summary written before Close", format)
			}
			if err := wr.Close(); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(b.String(), "5 files checked: 4 errors, 4 warnings") {
				t.Errorf("%s: summary missing after Close:\n%s", format, b.String())
			}
			if got := wr.Summary(); got != Summarize(files) {
				t.Errorf("Summary() = %+v, want %+v", got, Summarize(files))
			}
		})
	}
}

// TestStreamedDocumentsAreWellFormed checks the JSON and SARIF written file
// by file for no, one and many files: valid JSON, the shape the one-shot
// encoding would have (SARIF indented exactly as json.Indent does).
func TestStreamedDocumentsAreWellFormed(t *testing.T) {
	all := fixtures(t)
	clean := []File{{Path: "a/app.yml"}}
	one := []File{{Path: "a/app.yml", Diags: diag.List{{Rule: "r", Severity: diag.Error, Message: "m <&>", Pos: diag.Pos{Line: 2, Column: 3}}}}}
	for name, files := range map[string][]File{"none": nil, "clean": clean, "one": one, "all": all} {
		t.Run(name, func(t *testing.T) {
			var j, s bytes.Buffer
			if err := JSON(&j, files); err != nil {
				t.Fatal(err)
			}
			var rep struct {
				Files   []json.RawMessage `json:"files"`
				Summary map[string]int    `json:"summary"`
			}
			if err := json.Unmarshal(j.Bytes(), &rep); err != nil {
				t.Fatalf("JSON output is not JSON: %v\n%s", err, j.String())
			}
			if len(rep.Files) != len(files) || rep.Summary["files"] != len(files) {
				t.Errorf("JSON has %d files, summary %v; want %d", len(rep.Files), rep.Summary, len(files))
			}
			if strings.Contains(j.String(), `\u003c`) || !strings.HasSuffix(j.String(), "}}\n") || strings.Count(j.String(), "\n") != 1 {
				t.Errorf("JSON is not one unescaped line: %q", j.String())
			}

			if err := SARIF(&s, files, Options{Rules: testCatalog(t, all)}); err != nil {
				t.Fatal(err)
			}
			var compact, indented bytes.Buffer
			if err := json.Compact(&compact, s.Bytes()); err != nil {
				t.Fatalf("SARIF output is not JSON: %v\n%s", err, s.String())
			}
			if err := json.Indent(&indented, compact.Bytes(), "", "  "); err != nil {
				t.Fatal(err)
			}
			indented.WriteByte('\n')
			if indented.String() != s.String() {
				t.Errorf("SARIF is not indented as json.Indent would:\n%s", s.String())
			}
		})
	}
}

func TestNewWriterUnknownFormat(t *testing.T) {
	if _, err := NewWriter("xml", &bytes.Buffer{}, Options{}); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("NewWriter(xml) error = %v", err)
	}
}
