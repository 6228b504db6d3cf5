package lint

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// fileRules are the rules of the files a run reads (README "Manifest
// files"). They are reported on the file, without a position: the file's
// content is never read.
var fileRules diag.RuleSet

// helpFiles is the README section that documents the file rules.
const helpFiles = "https://github.com/takos-dev/takos-apply#manifest-files"

var (
	ruleFileSymlink = fileRules.Add(diag.Rule{ID: "file-symlink-outside", Production: diag.Error, Development: diag.Error, HelpURL: helpFiles, SecuritySeverity: 5.5,
		Summary: "the manifest is a symbolic link whose target is outside the directory being linted (the working directory for a file argument); it is not read, so a link cannot make takos-apply print another file such as a credential"})
	ruleFileNotRegular = fileRules.Add(diag.Rule{ID: "file-not-regular", Production: diag.Error, Development: diag.Error, HelpURL: helpFiles,
		Summary: "the manifest is not a regular file (a FIFO, device, socket or directory); it is not read, so it cannot block the run"})
	ruleFileIgnored = fileRules.Add(diag.Rule{ID: "file-ignored-by-takos", Production: diag.Warning, Development: diag.Warning, HelpURL: helpFiles,
		Summary: "`.takos/app.yaml` beside `.takos/app.yml`, or `.takos/app.json` beside either: Takos reads `app.yml`, else `app.yaml`, so this file is ignored"})
	ruleFileJSON = fileRules.Add(diag.Rule{ID: "file-app-json", Production: diag.Error, Development: diag.Error, HelpURL: helpFiles,
		Summary: "`.takos/app.json` with no `app.yml` or `app.yaml`: Takos reads only those two names, so it finds no manifest"})
)

// unreadMessage says why Takos never reads t.
func unreadMessage(t Target) string {
	if t.unread == jsonOnly {
		return "Takos reads .takos/app.yml, else .takos/app.yaml, never app.json, so it finds no manifest here; rename the file to app.yml (JSON is valid YAML)"
	}
	return fmt.Sprintf("Takos reads %s, so this file is ignored; delete it or merge it into %s", t.by, filepath.Base(t.by))
}

// UnreadFinding is the finding of a file Takos does not read.
func UnreadFinding(t Target) diag.Diagnostic {
	r := ruleFileIgnored
	if t.unread == jsonOnly {
		r = ruleFileJSON
	}
	return r.Finding(t.Path, diag.Pos{}, unreadMessage(t))
}

// ReadTarget reads at most max+1 bytes of the manifest t (enough for the
// loader to report a file over the limit without reading a mistaken
// multi-gigabyte path; max <= 0 reads it all), under two rules a run's
// input cannot bend:
//
//   - a symbolic link is followed only when its target lies inside
//     t.Root: a repository cannot make takos-apply print the lines of
//     ~/.takos/config.json or /proc/self/environ by linking to them;
//   - only a regular file is read, and it is opened without blocking, so a
//     FIFO or a link to /dev/stdin cannot hang the run.
//
// A file that breaks a rule is a finding (diags), not an error, and is not
// read; err is an I/O failure.
func ReadTarget(t Target, max int64) (src []byte, diags diag.List, err error) {
	name := t.Path
	typ, typed := t.typ, t.typed
	if !typed || typ&fs.ModeSymlink != 0 {
		target, d, err := resolve(t)
		if err != nil {
			return nil, nil, err
		}
		if d != nil {
			return nil, diag.List{*d}, nil
		}
		name, typed = target, false
	}
	if typed && !typ.IsRegular() {
		return nil, diag.List{notRegular(t.Path, typ)}, nil
	}
	f, err := openNoBlock(name)
	if err != nil {
		return nil, nil, UnwrapPathError(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, UnwrapPathError(err)
	}
	if !st.Mode().IsRegular() {
		return nil, diag.List{notRegular(t.Path, st.Mode())}, nil
	}
	if max <= 0 {
		src, err = io.ReadAll(f)
	} else {
		src, err = io.ReadAll(io.LimitReader(f, max+1))
	}
	return src, nil, err
}

// resolve follows the symbolic links of t.Path (a link itself, or for a
// command-line path any linked directory on the way) and returns the file
// to open, or the finding of a link that leaves t.Root.
func resolve(t Target) (string, *diag.Diagnostic, error) {
	st, err := os.Lstat(t.Path)
	if err != nil {
		return "", nil, UnwrapPathError(err)
	}
	abs, err := filepath.Abs(t.Path)
	if err != nil {
		return "", nil, err
	}
	target, rerr := filepath.EvalSymlinks(abs)
	if rerr == nil && target == abs {
		return t.Path, nil, nil // no link anywhere on the path
	}
	root, err := filepath.Abs(t.Root)
	if err != nil {
		return "", nil, err
	}
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	if rerr != nil {
		// An unresolvable link (a dangling one, or /dev/stdin's
		// /proc/self/fd/0 -> "pipe:[…]"): judge its first step, so a link
		// out of the root is reported as such rather than as missing.
		if st.Mode()&fs.ModeSymlink == 0 {
			return "", nil, UnwrapPathError(rerr)
		}
		first, err := os.Readlink(t.Path)
		if err != nil {
			return "", nil, UnwrapPathError(err)
		}
		if !filepath.IsAbs(first) {
			dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
			if err != nil {
				return "", nil, UnwrapPathError(rerr)
			}
			first = filepath.Join(dir, first)
		}
		if within(root, first) {
			return "", nil, UnwrapPathError(rerr)
		}
		target = first
	}
	if !within(root, target) {
		d := ruleFileSymlink.Finding(t.Path, diag.Pos{}, fmt.Sprintf(
			"is a symbolic link to %s, outside %s; takos-apply does not follow links out of the directory it lints (a link could make it print another file, such as a credential), so it was not read: lint the target itself, or replace the link with the file",
			quote(target), quote(root)))
		return "", &d, nil
	}
	return target, nil, nil
}

// within reports whether path p is root or inside it (both absolute and
// free of links).
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil || filepath.IsAbs(rel) {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

func notRegular(path string, mode fs.FileMode) diag.Diagnostic {
	kind := "not a regular file"
	switch {
	case mode.IsDir():
		kind = "a directory"
	case mode&fs.ModeNamedPipe != 0:
		kind = "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		kind = "a socket"
	case mode&fs.ModeDevice != 0 || mode&fs.ModeCharDevice != 0:
		kind = "a device"
	}
	return ruleFileNotRegular.Finding(path, diag.Pos{},
		"is "+kind+", not a regular file, so it was not read (reading it could block or never end); a manifest is a file")
}
