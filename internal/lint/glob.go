package lint

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// Patterns are --exclude globs over the paths a run finds. The zero value
// and nil exclude nothing. Paths and patterns use forward slashes and lose
// a leading "./"; "*" matches within a path segment and "**" any number of
// segments, so "testdata" excludes the top-level testdata tree and
// "**/testdata" every one.
type Patterns struct {
	pats []pattern
}

type pattern struct {
	segs []string
	// base, when set, is the absolute directory the pattern is relative to
	// (a configuration file's); otherwise it matches the path as printed
	// and relative to the directory argument.
	base string
}

// Add records a pattern; base is "" for a command-line pattern, or the
// directory a configuration file's patterns are relative to.
func (p *Patterns) Add(glob, base string) error {
	if _, err := path.Match(glob, ""); err != nil {
		return fmt.Errorf("bad pattern %q: %w", glob, err)
	}
	if base != "" {
		abs, err := filepath.Abs(base)
		if err != nil {
			return err
		}
		base = abs
	}
	p.pats = append(p.pats, pattern{segs: strings.Split(strings.TrimPrefix(filepath.ToSlash(glob), "./"), "/"), base: base})
	return nil
}

// Len is the number of patterns.
func (p *Patterns) Len() int {
	if p == nil {
		return 0
	}
	return len(p.pats)
}

// Excluded reports whether file path p, or a directory it is in, matches a
// pattern: as printed, relative to root (the directory argument it was
// found under; "" for none), or for a configuration file's pattern
// relative to that file's directory.
func (p *Patterns) Excluded(name, root string) bool {
	if p.Len() == 0 {
		return false
	}
	var rel []string
	if root != "" {
		if r, err := filepath.Rel(root, name); err == nil && r != "." {
			rel = segments(r)
		}
	}
	printed := segments(name)
	var abs string
	for _, pat := range p.pats {
		if pat.base == "" {
			if matchPrefix(pat.segs, printed) || (rel != nil && matchPrefix(pat.segs, rel)) {
				return true
			}
			continue
		}
		if abs == "" {
			a, err := filepath.Abs(name)
			if err != nil {
				continue
			}
			abs = a
		}
		if r, err := filepath.Rel(pat.base, abs); err == nil && r != "." && !strings.HasPrefix(filepath.ToSlash(r), "../") && r != ".." {
			if matchPrefix(pat.segs, segments(r)) {
				return true
			}
		}
	}
	return false
}

func segments(p string) []string {
	return strings.Split(path.Clean(filepath.ToSlash(p)), "/")
}

// matchPrefix reports whether pat matches segs or one of its leading
// directories.
func matchPrefix(pat, segs []string) bool {
	for n := len(segs); n > 0; n-- {
		if matchSegments(pat, segs[:n]) {
			return true
		}
	}
	return false
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
