// Package redirecturitest holds the redirect-URI corpus shared by the
// checker's fuzz target and tests and by the control-plane fake's test that
// holds the linter to the server model.
package redirecturitest

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

//go:embed testdata/fuzz-seeds.txt
var seedsFile string

// Seeds returns the corpus: one URI per line of testdata/fuzz-seeds.txt;
// blank lines and lines starting with "# " are skipped; a line starting
// with '"' is a Go-quoted string, for seeds with control characters.
func Seeds() ([]string, error) {
	var out []string
	for n, line := range strings.Split(seedsFile, "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "# "):
		case strings.HasPrefix(line, `"`):
			s, err := strconv.Unquote(line)
			if err != nil {
				return nil, fmt.Errorf("fuzz-seeds.txt:%d: %w", n+1, err)
			}
			out = append(out, s)
		default:
			out = append(out, line)
		}
	}
	return out, nil
}
