package cli

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/takos-dev/takos-apply/internal/lint"
)

// ruleList is --disable: repeatable, comma-separated rule IDs, each checked
// against the catalogue so a typo is a usage error, not a silent no-op.
type ruleList []string

func (r *ruleList) String() string { return strings.Join(*r, ",") }

func (r *ruleList) Set(v string) error {
	for _, id := range strings.Split(v, ",") {
		id = strings.TrimSpace(id)
		if id == "" {
			continue
		}
		if err := lint.KnownRule(id); err != nil {
			return err
		}
		*r = append(*r, id)
	}
	return nil
}

// globList is --exclude: repeatable glob patterns over the paths lint
// finds.
type globList []string

func (g *globList) String() string { return strings.Join(*g, ",") }

func (g *globList) Set(v string) error {
	if _, err := path.Match(v, ""); err != nil {
		return fmt.Errorf("bad pattern %q: %w", v, err)
	}
	*g = append(*g, v)
	return nil
}

// excluded reports whether p, or a directory it is in, matches one of the
// patterns. Paths and patterns use forward slashes and lose a leading "./";
// "*" matches within a path segment and "**" any number of segments, so
// "testdata" excludes the top-level testdata tree and "**/testdata" every
// one.
func (g globList) excluded(p string) bool {
	if len(g) == 0 {
		return false
	}
	segs := strings.Split(path.Clean(filepath.ToSlash(p)), "/")
	for _, pat := range g {
		ps := strings.Split(strings.TrimPrefix(filepath.ToSlash(pat), "./"), "/")
		for n := len(segs); n > 0; n-- {
			if matchSegments(ps, segs[:n]) {
				return true
			}
		}
	}
	return false
}

// filter returns the paths that are not excluded, in order.
func (g globList) filter(paths []string) []string {
	if len(g) == 0 {
		return paths
	}
	out := paths[:0:0]
	for _, p := range paths {
		if !g.excluded(p) {
			out = append(out, p)
		}
	}
	return out
}

func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(name); i++ {
				if matchSegments(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
