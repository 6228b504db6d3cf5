package cli

import (
	"bytes"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/takos-dev/takos-apply/internal/hostiletest"
	"github.com/takos-dev/takos-apply/internal/lint"
	"github.com/takos-dev/takos-apply/internal/report"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

var formats = []string{"text", "json", "github", "sarif"}

// TestHostileReportsBounded lints the hostile manifests of
// internal/hostiletest as lint does (checkDocument, report.Cap, a Writer)
// and checks that every format stays small while its summary still counts
// every finding. Their speed is measured by BenchmarkHostile and
// scripts/bench-hostile.sh (run by .ci/run).
func TestHostileReportsBounded(t *testing.T) {
	const size = 128 << 10
	for _, m := range hostiletest.Manifests(size) {
		doc, diags, err := checkDocument(m.Name, m.Data, manifest.DefaultLimits(), lint.Options{})
		if err != nil {
			t.Fatal(err)
		}
		full := report.Summarize([]report.File{{Path: m.Name, Diags: diags}})
		if full.Errors+full.Warnings+full.Infos < 5*report.MaxPerRule {
			t.Errorf("%s: only %d findings; the manifest is not hostile", m.Name, len(diags))
		}
		f := report.Cap(report.File{Path: m.Name, Diags: diags})
		f.Doc = &manifest.Document{Path: doc.Path, Source: doc.Source}
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

// BenchmarkHostile times the lint pipeline and each format on the hostile
// manifests at the default size limit (1 MiB):
//
//	go test ./internal/cli -run '^$' -bench BenchmarkHostile -benchtime 3x
func BenchmarkHostile(b *testing.B) {
	for _, m := range hostiletest.Manifests(1 << 20) {
		for _, format := range formats {
			b.Run(m.Name+"/"+format, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					doc, diags, err := checkDocument(m.Name, m.Data, manifest.DefaultLimits(), lint.Options{})
					if err != nil {
						b.Fatal(err)
					}
					f := report.Cap(report.File{Path: m.Name, Diags: diags, Doc: doc})
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

// TestMergeSorted: merging the loader's and Check's sorted findings gives
// what a stable sort of the two lists one after the other gives.
func TestMergeSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 18))
	gen := func() diag.List {
		l := make(diag.List, rng.IntN(30))
		for i := range l {
			l[i] = diag.Diagnostic{Pos: diag.Pos{Line: rng.IntN(4), Column: rng.IntN(3)}, Severity: diag.Severity(rng.IntN(3)),
				Rule: []string{"a", "b"}[rng.IntN(2)], Message: []string{"x", "y"}[rng.IntN(2)], Pointer: string(rune('0' + i))}
		}
		l.Sort()
		return l
	}
	for range 500 {
		a, b := gen(), gen()
		want := append(slices.Clone(a), b...)
		want.Sort()
		if got := mergeSorted(slices.Clone(a), slices.Clone(b)); !slices.Equal(got, want) {
			t.Fatalf("mergeSorted(%v, %v) = %v, want %v", a, b, got, want)
		}
	}
}
