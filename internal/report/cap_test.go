package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// flood is one file with 250 warnings of scope-duplicate, 3 errors of
// yaml-syntax and 130 findings of redirect-uri-http alternating between
// error and warning, sorted by position.
func flood() File {
	var l diag.List
	for i := range 250 {
		l = append(l, diag.Diagnostic{File: "app.yml", Pos: diag.Pos{Line: 1, Column: 1 + i}, Severity: diag.Warning, Rule: "scope-duplicate", Message: fmt.Sprintf("dup %d", i)})
	}
	for i := range 3 {
		l = append(l, diag.Diagnostic{File: "app.yml", Pos: diag.Pos{Line: 2, Column: 1 + i}, Severity: diag.Error, Rule: "yaml-syntax", Message: "bad"})
	}
	for i := range 130 {
		sev := diag.Error
		if i%2 == 1 {
			sev = diag.Warning
		}
		l = append(l, diag.Diagnostic{File: "app.yml", Pos: diag.Pos{Line: 3 + i, Column: 1}, Severity: sev, Rule: "redirect-uri-http", Message: fmt.Sprintf("uri %d", i)})
	}
	l.Sort()
	return File{Path: "app.yml", Diags: l}
}

func TestCap(t *testing.T) {
	f := flood()
	got := Cap(f)
	count := map[string]int{}
	for i, d := range got.Diags {
		count[d.Rule]++
		if i > 0 && diag.Compare(got.Diags[i-1], d) > 0 {
			t.Fatalf("capped findings out of order at %d", i)
		}
	}
	if want := map[string]int{"scope-duplicate": 100, "yaml-syntax": 3, "redirect-uri-http": 100}; !cmp.Equal(count, want) {
		t.Errorf("kept per rule = %v, want %v", count, want)
	}
	// The first ones are kept: scope-duplicate columns 1..100.
	for _, d := range got.Diags {
		if d.Rule == "scope-duplicate" && d.Pos.Column > 100 {
			t.Fatalf("kept %v, a later finding", d)
		}
	}
	want := []Omitted{
		{Rule: "redirect-uri-http", Severity: diag.Error, Count: 15},
		{Rule: "redirect-uri-http", Severity: diag.Warning, Count: 15},
		{Rule: "scope-duplicate", Severity: diag.Warning, Count: 150},
	}
	if !cmp.Equal(got.Omitted, want) {
		t.Errorf("Omitted = %v, want %v", got.Omitted, want)
	}
	if again := Cap(got); !cmp.Equal(again, got, cmp.AllowUnexported(File{})) {
		t.Errorf("capping a capped file changed it")
	}
	if s, full := Summarize([]File{got}), Summarize([]File{f}); s != full || s.Errors != 3+65 || s.Warnings != 250+65 {
		t.Errorf("summary of the capped file = %+v, of the full one %+v", s, full)
	}
	small := File{Path: "a.yml", Diags: f.Diags[:MaxPerRule]}
	if got := Cap(small); len(got.Diags) != MaxPerRule || got.Omitted != nil {
		t.Errorf("a file at the cap was changed: %d findings, %v omitted", len(got.Diags), got.Omitted)
	}
}

// TestCapEveryFormat checks that every format lists at most MaxPerRule
// findings of a rule, says how many it left out, and counts them in its
// summary — whether or not the caller capped the file first.
func TestCapEveryFormat(t *testing.T) {
	sch := compileSARIFSchema(t)
	for _, pre := range []bool{false, true} {
		f := flood()
		if pre {
			f = Cap(f)
		}
		files := []File{f}
		t.Run(fmt.Sprintf("precapped=%v", pre), func(t *testing.T) {
			var text, gh, js, sa bytes.Buffer
			if err := Text(&text, files, Options{}); err != nil {
				t.Fatal(err)
			}
			if err := GitHub(&gh, files); err != nil {
				t.Fatal(err)
			}
			if err := JSON(&js, files); err != nil {
				t.Fatal(err)
			}
			if err := SARIF(&sa, files, Options{Rules: testCatalog(t, []File{flood()})}); err != nil {
				t.Fatal(err)
			}
			for name, out := range map[string]string{"text": text.String(), "github": gh.String()} {
				if n := strings.Count(out, "[scope-duplicate]") + strings.Count(out, "title=takos-apply%3A scope-duplicate::"); n != 100 {
					t.Errorf("%s lists %d scope-duplicate findings, want 100", name, n)
				}
				for _, line := range []string{
					"app.yml: 150 more warning findings of rule scope-duplicate are not shown: a report lists the first 100 findings of each rule in a file\n",
					"app.yml: 15 more error findings of rule redirect-uri-http are not shown",
					"app.yml: 15 more warning findings of rule redirect-uri-http are not shown",
				} {
					if !strings.Contains(out, line) {
						t.Errorf("%s output lacks %q", name, line)
					}
				}
			}
			if !strings.Contains(text.String(), "1 file checked: 68 errors, 315 warnings\n") {
				t.Errorf("text summary does not count the omitted findings:\n%s", lastLines(text.String(), 2))
			}
			if !strings.Contains(gh.String(), "::1 file checked: 68 errors, 315 warnings\n") {
				t.Errorf("github summary does not count the omitted findings:\n%s", lastLines(gh.String(), 3))
			}

			var doc struct {
				Files []struct {
					Diagnostics []json.RawMessage `json:"diagnostics"`
					Omitted     []struct {
						Rule, Severity string
						Count          int
					} `json:"omitted"`
				} `json:"files"`
				Summary struct{ Errors, Warnings int } `json:"summary"`
			}
			if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if got := len(doc.Files[0].Diagnostics); got != 203 {
				t.Errorf("json lists %d findings, want 203", got)
			}
			if got := fmt.Sprint(doc.Files[0].Omitted); got != "[{redirect-uri-http error 15} {redirect-uri-http warning 15} {scope-duplicate warning 150}]" {
				t.Errorf("json omitted = %s", got)
			}
			if doc.Summary.Errors != 68 || doc.Summary.Warnings != 315 {
				t.Errorf("json summary = %+v", doc.Summary)
			}

			var log struct {
				Runs []struct {
					Results     []json.RawMessage `json:"results"`
					Invocations []struct {
						ExecutionSuccessful bool `json:"executionSuccessful"`
						Notes               []struct {
							Level   string
							Message struct{ Text string }
							Rule    struct {
								ID    string
								Index *int
							} `json:"associatedRule"`
						} `json:"toolExecutionNotifications"`
					} `json:"invocations"`
				} `json:"runs"`
			}
			if err := json.Unmarshal(sa.Bytes(), &log); err != nil {
				t.Fatal(err)
			}
			run := log.Runs[0]
			if len(run.Results) != 203 {
				t.Errorf("sarif lists %d results, want 203", len(run.Results))
			}
			if len(run.Invocations) != 1 || !run.Invocations[0].ExecutionSuccessful || len(run.Invocations[0].Notes) != 3 {
				t.Fatalf("sarif invocations = %+v", run.Invocations)
			}
			n := run.Invocations[0].Notes[2]
			if n.Level != "warning" || n.Rule.ID != "scope-duplicate" || n.Rule.Index == nil ||
				n.Message.Text != "150 more warning findings of rule scope-duplicate are not listed for this file: a report lists the first 100 findings of each rule in a file" {
				t.Errorf("sarif notification = %+v", n)
			}
			v, err := jsonschema.UnmarshalJSON(bytes.NewReader(sa.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("SARIF with notifications does not validate: %v", err)
			}
		})
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// snippetWhole is the snippet of takos-apply before issue 21, which
// converted the whole line to runes for every finding: the reference the
// windowed one must match byte for byte. Both measure the caret with
// caretAfter (TestSnippet covers it): the windowing is what is compared.
func snippetWhole(src string, col int) (code, caret string) {
	runes := []rune(src)
	idx := min(max(col-1, 0), len(runes))
	start, end := 0, len(runes)
	if len(runes) > snippetMax {
		start = max(0, idx-snippetBefore)
		end = min(len(runes), start+snippetMax)
	}
	prefix, rest := string(runes[start:idx]), string(runes[idx:end])
	if start > 0 {
		prefix = "…" + prefix
	}
	if end < len(runes) {
		rest += "…"
	}
	return prefix + rest, caretAfter(prefix)
}

func TestSnippetMatchesWholeLine(t *testing.T) {
	pieces := []string{"a", "é", "範", "\t", "e\u0301", "\xff", "\x1b", "##[", " ", "😀", "\u202e"}
	rng := rand.New(rand.NewPCG(21, 1))
	for range 400 {
		var b strings.Builder
		n := rng.IntN(600)
		for range n {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		src := b.String()
		runes := utf8.RuneCountInString(src)
		line := indexLine(src)
		for _, col := range []int{-1, 0, 1, 2, runes / 2, runes - 61, runes - 1, runes, runes + 1, runes + 5, rng.IntN(runes + 2)} {
			wc, wk := snippetWhole(src, col)
			gc, gk := line.snippet(col)
			if gc != wc || gk != wk {
				t.Fatalf("snippet(%q, %d) = %q, %q, want %q, %q", src, col, gc, gk, wc, wk)
			}
		}
	}
}
