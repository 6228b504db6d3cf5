package lint

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNoManifest is wrapped by the error of a path that holds no manifest.
var ErrNoManifest = errors.New("no manifest found")

// PathError is a path argument that could not be searched: it does not
// exist, a directory could not be read, or it holds no manifest
// (ErrNoManifest). It is distinct from one manifest's I/O failure.
type PathError struct{ Err error }

func (e *PathError) Error() string { return e.Err.Error() }
func (e *PathError) Unwrap() error { return e.Err }

// The names Takos looks for in a .takos directory, in its order: app.yml,
// else app.yaml (selectAppManifestPathFromRepo and findAppManifestFile in
// tako0614/takos). app.json is never read.
const (
	nameYML  = "app.yml"
	nameYAML = "app.yaml"
	nameJSON = "app.json"
)

// Target is one file a lint run reports on: a manifest found under a
// directory or named on the command line, or a file in a .takos directory
// that Takos does not read (reported, never read).
type Target struct {
	// Path is the file as printed: as found under the argument, or the
	// argument itself.
	Path string
	// Root is the directory a symbolic link at Path must resolve into: the
	// directory argument it was found under, else the working directory.
	Root string
	// typ is the type the directory entry gave (no extra stat); typed is
	// false for a path named on the command line, which is looked up.
	typ   fs.FileMode
	typed bool
	// unread is a reason Takos never reads this file ("" for a manifest):
	// shadowed (by names Takos's choice) or a lone app.json.
	unread unreadKind
	by     string
}

type unreadKind int

const (
	readable unreadKind = iota
	shadowed            // app.yaml beside app.yml, or app.json beside either
	jsonOnly            // app.json and no app.yml or app.yaml
)

// Unread reports whether Takos never reads the file: it is reported with a
// finding and not read.
func (t Target) Unread() bool { return t.unread != readable }

// Targets yields the files of the command-line paths in path order, then
// stops, or yields one error (a *PathError) and stops:
//
//   - no path: the working directory's .takos directory;
//   - a file: that file, whatever its name;
//   - a directory: every .takos/app.yml and .takos/app.yaml under it
//     (and .takos/app.json, which Takos does not read), skipping .git,
//     node_modules and vendor and not following symbolic links to
//     directories.
//
// One directory argument is walked lazily in sorted order, so a tree of
// any size is linted while it is read and never held as a list; several
// arguments are collected, sorted and deduplicated. Paths that exclude
// matches (as printed, or relative to their directory argument) are
// skipped; a directory whose manifests are all excluded is not an error.
func Targets(paths []string, exclude *Patterns) iter.Seq2[Target, error] {
	return func(yield func(Target, error) bool) {
		if len(paths) == 1 {
			st, err := os.Stat(paths[0])
			if err == nil && !st.IsDir() {
				// One file (the pre-commit and deploy-step case): no second
				// stat in collect.
				if !exclude.Excluded(paths[0], "") {
					yield(Target{Path: paths[0], Root: "."}, nil)
				}
				return
			}
			if err == nil {
				found := 0
				w := walker{root: paths[0], fn: func(t Target) bool {
					found++
					return exclude.Excluded(t.Path, t.Root) || yield(t, nil)
				}}
				err := w.walk(paths[0])
				if err == nil && found == 0 {
					err = noManifestUnder(paths[0])
				}
				if err != nil && !errors.Is(err, errStop) {
					yield(Target{}, &PathError{err})
				}
				return
			}
		}
		ts, err := collect(paths, exclude)
		if err != nil {
			yield(Target{}, &PathError{err})
			return
		}
		for _, t := range ts {
			if !yield(t, nil) {
				return
			}
		}
	}
}

// Find returns the manifests the paths name, as Targets does but without
// exclusions, split into the manifests Takos reads and the files it does
// not (for plan and apply, which act on exactly one manifest).
func Find(paths []string) (manifests, unread []Target, err error) {
	ts, err := collect(paths, nil)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range ts {
		if t.Unread() {
			unread = append(unread, t)
		} else {
			manifests = append(manifests, t)
		}
	}
	if len(manifests) == 0 {
		err := fmt.Errorf("%w: no .takos/app.yml or .takos/app.yaml in the working directory; pass a file or directory", ErrNoManifest)
		if len(paths) > 0 {
			err = noManifestUnder(paths[0])
		}
		for _, t := range unread {
			// A lone app.json: say what to do with it.
			err = fmt.Errorf("%w (%s: %s)", err, t.Path, unreadMessage(t))
			break
		}
		return nil, unread, err
	}
	return manifests, unread, nil
}

func noManifestUnder(dir string) error {
	return fmt.Errorf("%w under %s: looked for .takos/app.yml and .takos/app.yaml", ErrNoManifest, dir)
}

// collect expands every path and returns the targets sorted by path.
func collect(paths []string, exclude *Patterns) ([]Target, error) {
	cwd := "."
	if len(paths) == 0 {
		ts, err := workingTakosDir()
		if err == nil && len(ts) == 0 {
			err = fmt.Errorf("%w: no .takos/app.yml or .takos/app.yaml in the working directory; pass a file or directory", ErrNoManifest)
		}
		return ts, err
	}
	var out []Target
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, UnwrapPathError(err))
		}
		if !st.IsDir() {
			if !exclude.Excluded(p, "") {
				out = append(out, Target{Path: p, Root: cwd})
			}
			continue
		}
		found := 0
		w := walker{root: p, fn: func(t Target) bool {
			found++
			if !exclude.Excluded(t.Path, t.Root) {
				out = append(out, t)
			}
			return true
		}}
		if err := w.walk(p); err != nil {
			return nil, err
		}
		if found == 0 {
			return nil, noManifestUnder(p)
		}
	}
	slices.SortFunc(out, func(a, b Target) int { return cmp.Compare(a.Path, b.Path) })
	return slices.CompactFunc(out, func(a, b Target) bool { return a.Path == b.Path }), nil
}

var errStop = errors.New("stopped")

// walker walks one directory argument, root, calling fn for each target
// in the order sorting all their paths would give; fn returns false to
// stop the walk, which then returns errStop.
type walker struct {
	root string
	fn   func(Target) bool
}

// walk walks dir, which is under root. It holds one directory's entries
// per level, never the whole tree.
//
// Lexical order of full paths comes from sorting each directory's entries
// by name, with "/" appended to directories: every path below directory c
// starts with "c/", so two entries' subtrees compare as those keys do.
func (w *walker) walk(dir string) error {
	ents, err := readEntries(dir)
	if err != nil {
		return fmt.Errorf("searching %s: %w", dir, err)
	}
	takos := filepath.Base(dir) == ".takos"
	var files takosFiles
	if takos {
		files = takosDir(dir, w.root, ents)
	}
	for _, e := range ents {
		if !e.dir {
			if !takos {
				continue
			}
			if t, ok := files.target(e.name); ok && !w.fn(t) {
				return errStop
			}
			continue
		}
		switch e.name {
		case ".git", "node_modules", "vendor":
			continue
		}
		if err := w.walk(filepath.Join(dir, e.name)); err != nil {
			return err
		}
	}
	return nil
}

// takosFiles are the manifest names present in one .takos directory.
type takosFiles struct {
	dir, root         string
	yml, yaml, json   bool
	ymlT, yamlT, jsnT fs.FileMode
}

// takosDir records which of the names Takos looks for dir's entries hold.
func takosDir(dir, root string, ents []entry) takosFiles {
	f := takosFiles{dir: dir, root: root}
	for _, e := range ents {
		if e.dir {
			continue
		}
		switch e.name {
		case nameYML:
			f.yml, f.ymlT = true, e.typ
		case nameYAML:
			f.yaml, f.yamlT = true, e.typ
		case nameJSON:
			f.json, f.jsnT = true, e.typ
		}
	}
	return f
}

// target is the target of the entry called name: the manifest Takos reads
// (app.yml, else app.yaml), or a file beside it that Takos does not read.
func (f takosFiles) target(name string) (Target, bool) {
	t := Target{Path: filepath.Join(f.dir, name), Root: f.root, typed: true}
	read := ""
	switch {
	case f.yml:
		read = nameYML
	case f.yaml:
		read = nameYAML
	}
	switch name {
	case nameYML:
		if !f.yml {
			return Target{}, false
		}
		t.typ = f.ymlT
	case nameYAML:
		if !f.yaml {
			return Target{}, false
		}
		t.typ = f.yamlT
	case nameJSON:
		if !f.json {
			return Target{}, false
		}
		t.typ = f.jsnT
	default:
		return Target{}, false
	}
	switch {
	case name == read:
	case read == "":
		t.unread = jsonOnly
	default:
		t.unread, t.by = shadowed, filepath.Join(f.dir, read)
	}
	return t, true
}

// workingTakosDir returns the targets of the working directory's .takos
// directory in name order (none when it does not exist).
func workingTakosDir() ([]Target, error) {
	ents, err := readEntries(".takos")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("searching .takos: %w", err)
	}
	// Through a linked .takos every file needs the full symbolic-link
	// check, whatever its own entry says.
	st, err := os.Lstat(".takos")
	linked := err != nil || st.Mode()&fs.ModeSymlink != 0
	var out []Target
	files := takosDir(".takos", ".", ents)
	for _, e := range ents {
		if t, ok := files.target(e.name); ok && !e.dir {
			t.typed = t.typed && !linked
			out = append(out, t)
		}
	}
	return out, nil
}

// entry is one directory entry: its name, whether it is a directory (a
// symbolic link to one is not) and its type bits; key is its sort key,
// made once: directories sort as "name/".
type entry struct {
	name string
	key  string
	dir  bool
	typ  fs.FileMode
}

// readEntries returns dir's entries sorted by key. They are read in
// batches, so no os.DirEntry list is kept.
func readEntries(dir string) ([]entry, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, UnwrapPathError(err)
	}
	defer f.Close()
	var out []entry
	for {
		batch, err := f.ReadDir(256)
		for _, e := range batch {
			en := entry{name: e.Name(), key: e.Name(), dir: e.IsDir(), typ: e.Type()}
			if en.dir {
				en.key += "/"
			}
			out = append(out, en)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, UnwrapPathError(err)
		}
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	return out, nil
}

// UnwrapPathError drops *fs.PathError's repetition of the path, which the
// caller's message already names.
func UnwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
