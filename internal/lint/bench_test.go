package lint

import (
	"os"
	"testing"

	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// BenchmarkCheck times the semantic rules on a clean, complete manifest
// and on ones with findings (each finding takes its severity from its
// rule): go test ./internal/lint -run '^$' -bench BenchmarkCheck.
func BenchmarkCheck(b *testing.B) {
	for _, name := range []string{"ok/complete.yml", "err/refs.yml", "err/metadata.yml", "err/redirect.yml"} {
		src, err := os.ReadFile("testdata/" + name)
		if err != nil {
			b.Fatal(err)
		}
		doc, _ := manifest.Parse(name, src, manifest.DefaultLimits())
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Check(doc, Options{})
			}
		})
	}
}
