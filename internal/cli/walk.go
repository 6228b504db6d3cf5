package cli

import (
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// manifestPaths yields the manifests of the command-line paths in sorted
// order, then a nil error, or stops at the first error. One directory is
// walked lazily (walkSorted), so a tree of any size is linted while it is
// being read and never held as a list; other arguments are expanded by
// findManifests, as plan and apply do.
func manifestPaths(paths []string, exclude globList) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		if len(paths) == 1 {
			if st, err := os.Stat(paths[0]); err == nil && st.IsDir() {
				found := 0
				err := walkSorted(paths[0], func(p string) bool {
					found++
					// --exclude matches the path as printed or relative to
					// the directory argument ("lint /src --exclude testdata").
					rel, _ := filepath.Rel(paths[0], p)
					return exclude.excluded(p) || (rel != "" && exclude.excluded(rel)) || yield(p, nil)
				})
				if err == nil && found == 0 {
					err = fmt.Errorf("%w under %s: looked for .takos/app.yml and .takos/app.yaml", errNoManifest, paths[0])
				}
				if !errors.Is(err, errStop) && err != nil {
					yield("", err)
				}
				return
			}
		}
		files, err := findManifests(paths)
		if err != nil {
			yield("", err)
			return
		}
		for _, p := range exclude.filter(files) {
			if !yield(p, nil) {
				return
			}
		}
	}
}

var errStop = errors.New("stopped")

// walkSorted calls fn for each manifest under root in the order sorting
// all their paths would give, skipping .git, node_modules and vendor, and
// not following symbolic links to directories (as filepath.WalkDir). It
// holds one directory's entry names per level, never the whole tree. fn
// returns false to stop the walk (walkSorted then returns errStop).
//
// Lexical order of full paths comes from sorting each directory's entries
// by name, with "/" appended to directories: every path below directory c
// starts with "c/", so two entries' subtrees compare as those keys do.
func walkSorted(root string, fn func(string) bool) error {
	keys, err := readKeys(root)
	if err != nil {
		return fmt.Errorf("searching %s: %w", root, err)
	}
	for _, k := range keys {
		name, isDir := strings.CutSuffix(k, "/")
		p := filepath.Join(root, name)
		if isDir {
			switch name {
			case ".git", "node_modules", "vendor":
				continue
			}
			if err := walkSorted(p, fn); err != nil {
				return err
			}
			continue
		}
		if isManifestPath(p) && !fn(p) {
			return errStop
		}
	}
	return nil
}

// readKeys returns dir's entry names sorted, directories with a trailing
// "/". Entries are read in batches so no DirEntry list is kept.
func readKeys(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, unwrapPathError(err)
	}
	defer f.Close()
	var keys []string
	for {
		batch, err := f.ReadDir(256)
		for _, e := range batch {
			k := e.Name()
			if e.IsDir() {
				k += "/"
			}
			keys = append(keys, k)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, unwrapPathError(err)
		}
	}
	slices.Sort(keys)
	return keys, nil
}
