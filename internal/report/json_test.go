package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJSONShape(t *testing.T) {
	files := fixtures(t)
	var b bytes.Buffer
	if err := JSON(&b, files); err != nil {
		t.Fatalf("JSON: %v", err)
	}
	out := b.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "}\n") {
		t.Errorf("JSON output is not one document followed by a newline: %q", out)
	}
	if strings.Contains(out, "null") {
		t.Errorf("JSON output contains null: %s", out)
	}
	// Key order is part of the contract.
	for _, want := range []string{
		`{"files":[{"path":".takos/app.yml","diagnostics":[{"rule":"client-name-short","severity":"warning","message":`,
		`{"path":"clean/app.yml","diagnostics":[]}`,
		`"line":9,"column":9,"pointer":"/spec/oauth/redirectUris/0"}`,
		`"summary":{"files":5,"errors":4,"warnings":4}}`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("JSON output lacks %s", want)
		}
	}

	var got struct {
		Files []struct {
			Path        string `json:"path"`
			Diagnostics []struct {
				Rule, Severity, Message string
				Line, Column            int
				Pointer                 string
			} `json:"diagnostics"`
		} `json:"files"`
		Summary map[string]int `json:"summary"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("decode JSON output: %v", err)
	}
	if len(got.Files) != len(files) {
		t.Fatalf("files = %d, want %d", len(got.Files), len(files))
	}
	for i, f := range files {
		gf := got.Files[i]
		if gf.Path != f.Path {
			t.Errorf("files[%d].path = %q, want %q", i, gf.Path, f.Path)
		}
		if gf.Diagnostics == nil || len(gf.Diagnostics) != len(f.Diags) {
			t.Errorf("files[%d].diagnostics = %v, want %d entries (never null)", i, gf.Diagnostics, len(f.Diags))
			continue
		}
		for j, d := range f.Diags {
			g := gf.Diagnostics[j]
			if g.Rule != d.Rule || g.Severity != d.Severity.String() || g.Message != d.Message ||
				g.Line != d.Pos.Line || g.Column != d.Pos.Column || g.Pointer != d.Pointer {
				t.Errorf("files[%d].diagnostics[%d] = %+v, want %+v", i, j, g, d)
			}
		}
	}
	if diff := cmp.Diff(map[string]int{"files": 5, "errors": 4, "warnings": 4}, got.Summary); diff != "" {
		t.Errorf("summary mismatch (-want +got):\n%s", diff)
	}
}

func TestJSONEmpty(t *testing.T) {
	for _, files := range [][]File{nil, {}} {
		var b bytes.Buffer
		if err := JSON(&b, files); err != nil {
			t.Fatal(err)
		}
		if got, want := b.String(), `{"files":[],"summary":{"files":0,"errors":0,"warnings":0}}`+"\n"; got != want {
			t.Errorf("JSON(%#v) = %q, want %q", files, got, want)
		}
	}
}

func TestJSONNoHTMLEscape(t *testing.T) {
	var b bytes.Buffer
	files := []File{manyFindings(1, 0, 0)}
	files[0].Diags[0].Message = `scope "a<b>&c" is odd`
	if err := JSON(&b, files); err != nil {
		t.Fatal(err)
	}
	if want := `"message":"scope \"a<b>&c\" is odd"`; !strings.Contains(b.String(), want) {
		t.Errorf("JSON output = %s, want it to contain %s", b.String(), want)
	}
}
