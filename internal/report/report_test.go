package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// injectMessage is what a rule might print when it quotes a hostile
// clientName: a newline followed by a workflow command, the characters the
// toolkit escapes, a legacy "##[" command, an ANSI escape and a bidi
// override.
const injectMessage = "clientName \"x\n::set-output name=x::y\" is 100% odd: a,b c:d ##[error]pwn \x1b[31mred\u202e"

// injectPath contains the characters that must be escaped in a property.
const injectPath = "deploy/in,ject:1.yml"

func load(t *testing.T, name, path string) *manifest.Document {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", "input", name))
	if err != nil {
		t.Fatal(err)
	}
	doc, diags := manifest.Parse(path, src, manifest.DefaultLimits())
	if len(diags) > 0 {
		t.Fatalf("manifest.Parse(%q) findings: %v", name, diags)
	}
	return doc
}

// fixtureRule is a rule of the renderer fixtures: the renderers print any
// rule, catalogued or not.
func fixtureRule(id string, sev diag.Severity) *diag.Rule {
	return &diag.Rule{ID: id, Production: sev, Development: sev}
}

// fixtures is the shared input of every golden test: a file with an error,
// a warning and an info; a clean file; a file whose messages try to inject
// workflow commands; a file with tab-indented lines; an unreadable file.
func fixtures(t *testing.T) []File {
	t.Helper()
	mixed := load(t, "mixed.yml", ".takos/app.yml")
	clean := load(t, "clean.yml", "clean/app.yml")
	inject := load(t, "inject.yml", injectPath)
	tabs := load(t, "tabs.yml", "tabs/app.yml")

	mixedDiags := diag.List{
		mixed.Finding("/spec/oauth/scopes/1", fixtureRule("scope-broad", diag.Info), "scope \"admin\" grants every permission; request only what the app needs"),
		mixed.Finding("/spec/oauth/redirectUris/1", fixtureRule("redirect-uri-localhost", diag.Warning), "redirect URI uses localhost; it only works on the developer's machine"),
		mixed.Finding("/spec/oauth/redirectUris/0", fixtureRule("redirect-uri-http", diag.Error), "redirect URI \"http://example.com/callback\" must use https"),
		mixed.KeyFinding("/spec/oauth/clientName", fixtureRule("client-name-short", diag.Warning), "clientName \"Demo\" is shorter than 5 characters"),
	}
	mixedDiags.Sort()
	injectDiags := diag.List{
		inject.Finding("/spec/oauth/clientName", fixtureRule("client-name-control", diag.Error), injectMessage),
		inject.Finding("/spec/oauth/redirectUris/0", fixtureRule("redirect-uri-query", diag.Warning), "redirect URI \"https://a.example/cb?p=100%,q:r\" has a query: a,b:c"),
		{File: injectPath, Pos: diag.Pos{Line: 11, Column: 7}, Severity: diag.Info, Rule: "description-command", Message: "::add-mask::hidden looks like a workflow command", Pointer: "/spec/oauth/description"},
		{File: injectPath, Pos: diag.Pos{Line: 12, Column: 10}, Severity: diag.Info, Rule: "description-command", Message: "##[set-env name=A;]b looks like a legacy workflow command", Pointer: "/spec/oauth/description"},
	}
	injectDiags.Sort()
	tabsDiags := diag.List{
		tabs.Finding("/spec/oauth/scopes/1", fixtureRule("scope-syntax", diag.Error), "scope \"x y\" contains a space; scopes are space-separated tokens"),
		tabs.Finding("/spec/oauth/clientName", fixtureRule("client-name-control", diag.Warning), "clientName \"T\tab\" contains a tab"),
	}
	tabsDiags.Sort()
	return []File{
		{Path: mixed.Path, Doc: mixed, Diags: mixedDiags},
		{Path: clean.Path, Doc: clean},
		{Path: inject.Path, Doc: inject, Diags: injectDiags},
		{Path: tabs.Path, Doc: tabs, Diags: tabsDiags},
		{Path: "missing/app.yml", Diags: diag.List{{File: "missing/app.yml", Severity: diag.Error, Rule: "io", Message: "open missing/app.yml: no such file or directory"}}},
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestGolden(t *testing.T) {
	files := fixtures(t)
	opt := Options{Version: "1.2.3"}
	tests := []struct {
		name   string
		render func(*bytes.Buffer) error
	}{
		{"text.golden", func(b *bytes.Buffer) error { return Text(b, files, opt) }},
		{"text-color.golden", func(b *bytes.Buffer) error { return Text(b, files, Options{Color: true}) }},
		{"json.golden", func(b *bytes.Buffer) error { return JSON(b, files) }},
		{"github.golden", func(b *bytes.Buffer) error { return GitHub(b, files) }},
		{"sarif.golden", func(b *bytes.Buffer) error {
			return SARIF(b, files, Options{Version: "1.2.3", Rules: testCatalog(t, files)})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.render(&b); err != nil {
				t.Fatalf("render: %v", err)
			}
			golden(t, tc.name, b.Bytes())
		})
	}
}

func TestSummarize(t *testing.T) {
	got := Summarize(fixtures(t))
	want := Summary{Files: 5, Errors: 4, Warnings: 4, Infos: 3}
	if got != want {
		t.Errorf("Summarize(fixtures) = %+v, want %+v", got, want)
	}
	if got := Summarize(nil); got != (Summary{}) {
		t.Errorf("Summarize(nil) = %+v, want zero", got)
	}
}

func TestSummaryLine(t *testing.T) {
	tests := []struct {
		name string
		in   Summary
		want string
	}{
		{"zero", Summary{}, "0 files checked: 0 errors, 0 warnings"},
		{"singular", Summary{Files: 1, Errors: 1, Warnings: 1, Infos: 3}, "1 file checked: 1 error, 1 warning"},
		{"plural", Summary{Files: 2, Errors: 3, Warnings: 12}, "2 files checked: 3 errors, 12 warnings"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := summaryLine(tc.in); got != tc.want {
				t.Errorf("summaryLine(%+v) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTextCleanFilesPrintOnlySummary(t *testing.T) {
	files := fixtures(t)[1:2]
	var b bytes.Buffer
	if err := Text(&b, files, Options{Color: true}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "1 file checked: 0 errors, 0 warnings\n"; got != want {
		t.Errorf("Text(clean) = %q, want %q", got, want)
	}
}

func TestTextColorOnlyWhenAsked(t *testing.T) {
	files := fixtures(t)
	for _, color := range []bool{false, true} {
		var b bytes.Buffer
		if err := Text(&b, files, Options{Color: color}); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, seq := range []string{"\x1b[31merror\x1b[0m", "\x1b[33mwarning\x1b[0m", "\x1b[36minfo\x1b[0m"} {
			if got := strings.Contains(out, seq); got != color {
				t.Errorf("Text(Color=%v) contains %q = %v, want %v", color, seq, got, color)
			}
		}
		// The hostile message's own ESC must never reach the terminal raw.
		want := 0
		if color {
			want = 2 * len(allDiags(files)) // one colour and one reset per finding
		}
		if n := strings.Count(out, "\x1b"); n != want {
			t.Errorf("Text(Color=%v) has %d ESC bytes, want %d", color, n, want)
		}
	}
}

func allDiags(files []File) diag.List {
	var l diag.List
	for _, f := range files {
		l = append(l, f.Diags...)
	}
	return l
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

func TestWriteErrorsAreReturned(t *testing.T) {
	files := fixtures(t)
	tests := []struct {
		name   string
		render func() error
		want   string
	}{
		{"text", func() error { return Text(failWriter{}, files, Options{}) }, "write text report"},
		{"json", func() error { return JSON(failWriter{}, files) }, "write json report"},
		{"github", func() error { return GitHub(failWriter{}, files) }, "write github annotations"},
		{"sarif", func() error { return SARIF(failWriter{}, files, Options{}) }, "write sarif report"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.render()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), os.ErrClosed.Error()) {
				t.Errorf("%s(failing writer) = %v, want error containing %q", tc.name, err, tc.want)
			}
		})
	}
}
