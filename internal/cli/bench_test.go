package cli

import (
	"context"
	"io"
	"strings"
	"testing"
)

// BenchmarkLintOneFile is one pre-commit or deploy-step lint in process:
// a manifest with one finding, in Actions (every byte through the
// process's Streams) with --format github, and on a terminal as text.
func BenchmarkLintOneFile(b *testing.B) {
	const path = "../../examples/hello/.takos/app.yml"
	for _, tc := range []struct {
		name   string
		env    map[string]string
		format string
	}{
		{"actions-github", map[string]string{"GITHUB_ACTIONS": "true"}, "github"},
		{"terminal-text", nil, "text"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			getenv := func(k string) string { return tc.env[k] }
			args := []string{"lint", "--format", tc.format, path}
			b.ReportAllocs()
			for b.Loop() {
				if code := Run(context.Background(), args, getenv, strings.NewReader(""), io.Discard, io.Discard); code != ExitOK {
					b.Fatalf("lint = exit %d", code)
				}
			}
		})
	}
}
