package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/takos-dev/takos-apply/internal/hostiletest"
	"github.com/takos-dev/takos-apply/internal/lint"
	"github.com/takos-dev/takos-apply/internal/report"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

var formats = []string{"text", "json", "github", "sarif"}

// lintCapped lints data as lint does: through lint.LintFiles (here on
// standard input), which caps each rule at report.MaxPerRule findings as
// they are reported.
func lintCapped(tb testing.TB, name string, data []byte, snippets bool) report.File {
	tb.Helper()
	cfg := lint.Config{Limits: manifest.DefaultLimits(), Snippets: snippets, MaxPerRule: report.MaxPerRule,
		Stdin: bytes.NewReader(data), StdinName: name}
	var files []lint.File
	res, err := lint.LintFiles(context.Background(), nil, cfg, func(f lint.File) error {
		files = append(files, f)
		return nil
	})
	if err != nil || len(res.Failures) > 0 || len(files) != 1 {
		tb.Fatalf("lint %s: %v %v, %d files", name, err, res.Failures, len(files))
	}
	return report.File(files[0])
}

// TestHostileReportsBounded lints the hostile manifests of
// internal/hostiletest as lint does (lintCapped) and checks that the
// findings capped as they come are those of capping the whole sorted list
// (report.Cap), and that every format stays small while its summary still
// counts every finding. Their speed is measured by BenchmarkHostile and
// scripts/bench-hostile.sh (run by .ci/run).
func TestHostileReportsBounded(t *testing.T) {
	const size = 128 << 10
	for _, m := range hostiletest.Manifests(size) {
		doc, diags, err := lint.Source(m.Name, m.Data, manifest.DefaultLimits(), lint.Options{})
		if err != nil {
			t.Fatal(err)
		}
		full := report.Summarize([]report.File{{Path: m.Name, Diags: diags}})
		if full.Errors+full.Warnings+full.Infos < 5*report.MaxPerRule {
			t.Errorf("%s: only %d findings; the manifest is not hostile", m.Name, len(diags))
		}
		f := lintCapped(t, m.Name, m.Data, true)
		want := report.Cap(report.File{Path: m.Name, Diags: diags})
		if !slices.Equal(f.Diags, want.Diags) || !slices.Equal(f.Omitted, want.Omitted) {
			t.Errorf("%s: capped as reported: %d findings, omitted %v; capped after sorting: %d findings, omitted %v",
				m.Name, len(f.Diags), f.Omitted, len(want.Diags), want.Omitted)
		}
		if f.Doc == nil || !bytes.Equal(f.Doc.Source, doc.Source) {
			t.Errorf("%s: no source kept for snippets", m.Name)
		}
		for _, format := range formats {
			var out bytes.Buffer
			w, err := report.NewWriter(format, &out, report.Options{Rules: lint.Catalog()})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WriteFile(f); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if got := w.Summary(); got != full {
				t.Errorf("%s --format %s: summary %+v, want every finding counted: %+v", m.Name, format, got, full)
			}
			if out.Len() > 512<<10 {
				t.Errorf("%s --format %s: %d bytes of output for %d findings", m.Name, format, out.Len(), len(diags))
			}
		}
	}
}

// BenchmarkHostile times the lint pipeline (as lint runs it: lintCapped)
// and each format on the hostile manifests at the default size limit
// (1 MiB):
//
//	go test ./internal/cli -run '^$' -bench BenchmarkHostile -benchtime 3x
func BenchmarkHostile(b *testing.B) {
	for _, m := range hostiletest.Manifests(1 << 20) {
		for _, format := range formats {
			b.Run(m.Name+"/"+format, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					f := lintCapped(b, m.Name, m.Data, format == "text")
					w, _ := report.NewWriter(format, io.Discard, report.Options{Rules: lint.Catalog()})
					if err := w.WriteFile(f); err != nil {
						b.Fatal(err)
					}
					if err := w.Close(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestHostileLintRunCaps runs lint on a hostile manifest through Run, in
// JSON: every rule lists at most report.MaxPerRule findings, the rest are
// in "omitted", and the summary counts them all.
func TestHostileLintRunCaps(t *testing.T) {
	m := hostiletest.Manifests(64 << 10)[0]
	p := filepath.Join(t.TempDir(), ".takos", "app.yml")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, m.Data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := run(t, nil, "lint", "--format", "json", p)
	if code != ExitOK && code != ExitFindings {
		t.Fatalf("lint %s: exit %d:\n%s", m.Name, code, stderr)
	}
	var doc struct {
		Files []struct {
			Diagnostics []struct{ Rule, Severity string }
			Omitted     []struct {
				Rule, Severity string
				Count          int
			}
		}
		Summary struct{ Errors, Warnings int }
	}
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil || len(doc.Files) != 1 {
		t.Fatalf("lint --format json: %v, %d files:\n%.500s", err, len(doc.Files), stdout)
	}
	perRule := map[string]int{}
	listed := map[string]int{} // by severity
	for _, d := range doc.Files[0].Diagnostics {
		perRule[d.Rule]++
		listed[d.Severity]++
	}
	for rule, n := range perRule {
		if n > report.MaxPerRule {
			t.Errorf("%s: %d findings of %s listed, over %d", m.Name, n, rule, report.MaxPerRule)
		}
	}
	if len(doc.Files[0].Omitted) == 0 {
		t.Fatalf("%s: nothing omitted; the manifest is not hostile", m.Name)
	}
	for _, o := range doc.Files[0].Omitted {
		listed[o.Severity] += o.Count
	}
	if listed["error"] != doc.Summary.Errors || listed["warning"] != doc.Summary.Warnings {
		t.Errorf("%s: listed and omitted %v, summary %+v", m.Name, listed, doc.Summary)
	}
}
