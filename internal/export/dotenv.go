package export

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// maxDotenvBytes caps the size of an existing dotenv file writeDotenv reads.
const maxDotenvBytes = 1 << 20

// dotenvMode is the permission every file written by writeDotenv has.
const dotenvMode fs.FileMode = 0o600

// errUnsafeDotenvPath is returned for a dotenv path that is a symlink or not a
// regular file. Writing through a symlink would let a checked-out repository
// point ".env" at, say, ~/.bashrc and have takos-apply overwrite it.
var errUnsafeDotenvPath = errors.New("dotenv path is a symlink or not a regular file")

// dotenvResult says what writeDotenv changed, for the caller to report.
type dotenvResult struct {
	// Created is true when the file did not exist before.
	Created bool
	// Replaced lists keys whose existing assignment was rewritten in place;
	// Appended lists keys added at the end. Both follow the order of kv.
	Replaced, Appended []string
	// TightenedFrom is the previous permission bits when they were not 0600;
	// the file now has mode 0600. Zero when nothing changed.
	TightenedFrom fs.FileMode
}

// writeDotenv sets keys in the dotenv file at path, creating it if missing.
//
// Every line not assigning one of the keys is kept byte for byte (comments,
// blank lines, other keys, order, CRLF endings). The first assignment of a
// key — "KEY=...", "export KEY=...", with optional surrounding blanks — is
// replaced in place, keeping an "export " prefix (a trailing comment on that
// line is dropped); later assignments of the same key are removed so the file
// has one unambiguous value. Keys not present are appended in kv order.
//
// Keys must be POSIX shell names that pass isAllowedEnvName, each given
// once. Values must be valid UTF-8 without NUL, CR or LF (a client id or
// secret is one line). Quoting: a value without "'" or "\" is written in
// single quotes, which every common dotenv parser (godotenv, python-dotenv,
// Node dotenv) and POSIX sh read literally; otherwise it is written in double quotes with "\", '"', "$" and "`"
// backslash-escaped, which sh and godotenv read back exactly. An existing
// assignment of a key whose quoted value spans lines is refused rather than
// half-replaced.
//
// The write is atomic: a temporary file in the same directory, mode 0600,
// fsync, rename over path, then a best-effort fsync of the directory. No
// temporary file is left behind on any failure. The resulting file always has
// mode 0600; a looser (or different) previous mode is reported in
// TightenedFrom. A path that is a symlink or not a regular file is refused
// (errUnsafeDotenvPath).
//
// Every step works relative to the directory, opened once (os.Root), and
// the existing file is opened without following a symlink (O_NOFOLLOW and,
// so a FIFO cannot hang the run, O_NONBLOCK where the system has them) and
// must be the very file that was checked (os.SameFile): a symlink swapped in
// after the check, or a directory renamed under it, cannot make takos-apply
// read another file into the new dotenv (issue 21).
func writeDotenv(path string, kv []KV) (dotenvResult, error) {
	return updateDotenv(path, kv, nil)
}

// updateDotenv takes the rename function (given the temporary file's and
// the dotenv file's paths) so tests can make the final step fail or watch
// what is written; nil renames within the opened directory.
func updateDotenv(path string, kv []KV, rename func(oldpath, newpath string) error) (dotenvResult, error) {
	return updateDotenvNames(path, kv, isAllowedEnvName, rename)
}

// updateDotenvNames is updateDotenv with another allowlist of names
// (takos-apply dev's, devenv.go).
func updateDotenvNames(path string, kv []KV, allowed func(string) bool, rename func(oldpath, newpath string) error) (dotenvResult, error) {
	var res dotenvResult
	if path == "" {
		return res, errors.New("dotenv path is empty")
	}
	if err := validateKVs(kv, kvRules{label: "dotenv key", name: shellNameRE, allowed: allowed, singleLine: true}); err != nil {
		return res, err
	}
	want := make(map[string]string, len(kv))
	for _, p := range kv {
		want[p.Name] = p.Value
	}
	dir, base := filepath.Dir(path), filepath.Base(path)
	root, err := os.OpenRoot(dir)
	if err != nil {
		return res, fmt.Errorf("open the dotenv file's directory: %w", err)
	}
	defer root.Close()
	if rename == nil {
		rename = func(oldpath, newpath string) error {
			return root.Rename(filepath.Base(oldpath), filepath.Base(newpath))
		}
	}

	old, prevMode, exists, err := readDotenv(root, base, path)
	if err != nil {
		return res, err
	}
	res.Created = !exists
	if exists && prevMode != dotenvMode {
		res.TightenedFrom = prevMode
	}

	out, replaced, err := rewriteDotenv(old, kv, want)
	if err != nil {
		return res, fmt.Errorf("dotenv %s: %w", path, err)
	}
	for _, p := range kv {
		if replaced[p.Name] {
			res.Replaced = append(res.Replaced, p.Name)
		} else {
			res.Appended = append(res.Appended, p.Name)
		}
	}
	if err := writeAtomic(root, dir, base, out, rename); err != nil {
		return dotenvResult{}, err
	}
	return res, nil
}

// afterCheck runs between the check of the dotenv file and its opening;
// tests swap the file there.
var afterCheck = func() {}

// readDotenv reads base in root, which path names, if it exists: a regular
// file, opened without following a symlink, that is the file Lstat saw.
func readDotenv(root *os.Root, base, path string) (data []byte, mode fs.FileMode, exists bool, err error) {
	fi, err := root.Lstat(base)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, false, nil
	}
	if err != nil {
		return nil, 0, false, fmt.Errorf("stat dotenv file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, 0, false, fmt.Errorf("%s: %w", path, errUnsafeDotenvPath)
	}
	afterCheck()
	f, err := root.OpenFile(base, os.O_RDONLY|openNoFollow, 0)
	if err != nil {
		if now, lerr := root.Lstat(base); lerr == nil && !os.SameFile(fi, now) {
			return nil, 0, false, fmt.Errorf("%s changed while it was opened: %w", path, errUnsafeDotenvPath)
		}
		return nil, 0, false, fmt.Errorf("open dotenv file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, 0, false, fmt.Errorf("stat dotenv file: %w", err)
	}
	if !st.Mode().IsRegular() || !os.SameFile(fi, st) {
		return nil, 0, false, fmt.Errorf("%s changed while it was opened: %w", path, errUnsafeDotenvPath)
	}
	data, err = io.ReadAll(io.LimitReader(f, maxDotenvBytes+1))
	if err != nil {
		return nil, 0, false, fmt.Errorf("read dotenv file: %w", err)
	}
	if len(data) > maxDotenvBytes {
		return nil, 0, false, fmt.Errorf("dotenv file %s is larger than %d bytes", path, maxDotenvBytes)
	}
	return data, st.Mode().Perm(), true, nil
}

// assignRE matches the start of an assignment line: indentation, optional
// "export", the key (dotenv parsers also allow "." and "-"), "=".
var assignRE = regexp.MustCompile(`^[ \t]*(export[ \t]+)?([A-Za-z_][A-Za-z0-9_.-]*)[ \t]*=`)

func rewriteDotenv(old []byte, kv []KV, want map[string]string) ([]byte, map[string]bool, error) {
	replaced := make(map[string]bool, len(kv))
	text := string(old)
	eol := "\n"
	if i := strings.IndexByte(text, '\n'); i > 0 && text[i-1] == '\r' {
		eol = "\r\n"
	}
	var b strings.Builder
	b.Grow(len(text) + 64*len(kv))
	lineNo := 0
	for text != "" {
		lineNo++
		line, rest, hasNL := strings.Cut(text, "\n")
		text = rest
		body, cr := strings.CutSuffix(line, "\r")
		m := assignRE.FindStringSubmatchIndex(body)
		if m == nil {
			b.WriteString(line)
			if hasNL {
				b.WriteByte('\n')
			}
			continue
		}
		key := body[m[4]:m[5]]
		val, ok := want[key]
		if !ok {
			b.WriteString(line)
			if hasNL {
				b.WriteByte('\n')
			}
			continue
		}
		if !quoteClosed(body[m[1]:]) {
			return nil, nil, fmt.Errorf("line %d: existing value of %s spans several lines; edit it by hand", lineNo, key)
		}
		if replaced[key] {
			continue // drop a later duplicate assignment
		}
		replaced[key] = true
		if m[2] >= 0 {
			b.WriteString("export ")
		}
		b.WriteString(key + "=" + quoteDotenv(val))
		if cr {
			b.WriteByte('\r')
		}
		if hasNL {
			b.WriteByte('\n')
		} else {
			b.WriteString(eol)
		}
	}
	for _, p := range kv {
		if replaced[p.Name] {
			continue
		}
		if s := b.String(); s != "" && !strings.HasSuffix(s, "\n") {
			b.WriteString(eol)
		}
		b.WriteString(p.Name + "=" + quoteDotenv(p.Value) + eol)
	}
	return []byte(b.String()), replaced, nil
}

// quoteClosed reports whether a value that opens with a quote closes it on
// the same line; unquoted values are always complete.
func quoteClosed(v string) bool {
	v = strings.TrimLeft(v, " \t")
	if v == "" {
		return true
	}
	q := v[0]
	if q != '\'' && q != '"' && q != '`' {
		return true
	}
	for i := 1; i < len(v); i++ {
		switch v[i] {
		case '\\':
			if q == '"' {
				i++
			}
		case q:
			return true
		}
	}
	return false
}

// quoteDotenv quotes a one-line value; see writeDotenv for the rules.
func quoteDotenv(v string) string {
	if !strings.ContainsAny(v, `'\`) {
		return "'" + v + "'"
	}
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		switch r {
		case '\\', '"', '$', '`':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// writeAtomic writes data to a new file next to base in root and renames
// it over base (rename replaces a symlink, it never follows one).
func writeAtomic(root *os.Root, dir, base string, data []byte, rename func(string, string) error) (err error) {
	tmp, tmpName, err := createTemp(root, "."+base+".tmp-")
	if err != nil {
		return fmt.Errorf("create temporary dotenv file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			root.Remove(tmpName)
		}
	}()
	// The file is created with 0600; Chmod makes the mode independent of
	// the umask and of any ACL default.
	if err = tmp.Chmod(dotenvMode); err != nil {
		return fmt.Errorf("chmod temporary dotenv file: %w", err)
	}
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("write temporary dotenv file: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("sync temporary dotenv file: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("close temporary dotenv file: %w", err)
	}
	if err = rename(filepath.Join(dir, tmpName), filepath.Join(dir, base)); err != nil {
		return fmt.Errorf("replace dotenv file: %w", err)
	}
	// Persist the rename itself; some file systems refuse to fsync a directory,
	// and the data is already in place, so this is best effort.
	if d, derr := root.Open("."); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// createTemp is os.CreateTemp within root: a new file named prefix and
// random digits, created exclusively with mode 0600.
func createTemp(root *os.Root, prefix string) (*os.File, string, error) {
	for range 10000 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, "", err
		}
		name := prefix + hex.EncodeToString(b[:])
		f, err := root.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, dotenvMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return f, name, err
	}
	return nil, "", errors.New("no free temporary file name")
}
