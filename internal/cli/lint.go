package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/takos-dev/takos-apply/internal/lint"
	"github.com/takos-dev/takos-apply/internal/redirecturi"
	"github.com/takos-dev/takos-apply/internal/report"
	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// lintFlags are shared by lint, plan and apply: every command that reads a
// manifest lints it the same way.
type lintFlags struct {
	env     string
	format  string
	formats []string // what --format accepts for this command
	strict  bool
	maxSize int64
	color   string
	disable ruleList
}

func (l *lintFlags) register(fs *flag.FlagSet, e *env, formats ...string) {
	fs.StringVar(&l.env, "env", envDefault(e.getenv, "TAKOS_ENV", "production"),
		"deploy environment; localhost redirect URIs warn in production (env TAKOS_ENV)")
	l.formats = formats
	def := "text"
	if e.actions && slices.Contains(formats, "github") {
		def = "github"
	}
	fs.StringVar(&l.format, "format", def, "output format: "+strings.Join(formats, "|"))
	fs.BoolVar(&l.strict, "strict", false, "treat warnings as errors (exit 1)")
	fs.Int64Var(&l.maxSize, "max-file-size", manifest.DefaultLimits().MaxBytes, "largest manifest accepted, in bytes")
	fs.StringVar(&l.color, "color", colorAuto, "colour text output: auto (a terminal without NO_COLOR or TERM=dumb), always or never")
	fs.Var(&l.disable, "disable", "rule IDs to drop everywhere, comma-separated or repeated (see also # takos-apply:ignore RULE)")
}

// lintOptions are the lint rules' options for this run; scopes nil means
// the embedded scope catalogue.
func (l *lintFlags) lintOptions(scopes []string) lint.Options {
	return lint.Options{Env: l.env, Scopes: scopes, Disable: l.disable}
}

// check reports an unknown --format or --color as a usage error on
// stderr, and says once when --env names an environment takos-apply does
// not know, which is treated as production (fail safe).
func (l *lintFlags) check(e *env, cmd string) bool {
	if !slices.Contains(l.formats, l.format) {
		fmt.Fprintf(e.stderr, "takos-apply %s: unknown --format %q; use %s\n", cmd, l.format, strings.Join(l.formats, ", "))
		return false
	}
	switch l.color {
	case colorAuto, colorAlways, colorNever:
	default:
		fmt.Fprintf(e.stderr, "takos-apply %s: unknown --color %q; use auto, always or never\n", cmd, l.color)
		return false
	}
	if env := strings.TrimSpace(l.env); env != "" && !redirecturi.Development(env) && !strings.EqualFold(env, "production") && !strings.EqualFold(env, "prod") {
		fmt.Fprintf(e.stderr, "takos-apply %s: note: environment %q (--env / TAKOS_ENV) is not development, dev, local or test; treating %s as production\n",
			cmd, safetext.Compact(l.env, 60), safetext.Compact(env, 60))
	}
	return true
}

func (l *lintFlags) limits() manifest.Limits {
	lim := manifest.DefaultLimits()
	lim.MaxBytes = l.maxSize
	return lim
}

func runLint(ctx context.Context, e *env, args []string) int {
	var lf lintFlags
	fs := cmdFlagSet("lint")
	lf.register(fs, e, "text", "json", "github", "sarif")
	stdinName := fs.String("stdin-filename", stdinDefaultName, "the file name standard input (PATH -) is reported under")
	var exclude globList
	fs.Var(&exclude, "exclude", "skip manifests whose path matches this glob (** spans directories); repeatable")
	paths, code, ok := parseArgs(ctx, e, fs, "lint", args)
	if !ok {
		return code
	}
	if !lf.check(e, "lint") {
		return ExitUsage
	}
	paths, fromStdin, err := splitStdin(paths)
	if err != nil {
		fmt.Fprintf(e.stderr, "takos-apply lint: %v\n", err)
		return ExitUsage
	}
	ropts := report.Options{
		Color:       lf.format == "text" && colorEnabled(lf.color, e.stdout, e.getenv),
		Version:     Version(),
		Development: redirecturi.Development(lf.env),
		Root:        workingDir(),
	}
	if lf.format == "sarif" {
		// Only SARIF lists the rules; the other formats need not build the
		// merged catalogue at start-up.
		ropts.Rules = lint.Catalog()
	}
	out, err := report.NewWriter(lf.format, e.stdout, ropts)
	if err != nil {
		fmt.Fprintf(e.stderr, "takos-apply lint: %v\n", err)
		return ExitUsage
	}
	opts := lf.lintOptions(nil)
	// Standard input is read whole first (it is bounded by --max-file-size)
	// and then takes its place in path order among the streamed files.
	var pending *report.File
	var failures []error
	if fromStdin {
		res, err := lintStdin(ctx, e.stdin, *stdinName, lf.limits(), opts, lf.format == "text")
		if err != nil {
			failures = append(failures, err)
		} else {
			pending = &res
		}
	}
	files := manifestPaths(paths, exclude)
	if fromStdin && len(paths) == 0 {
		files = func(func(string, error) bool) {} // only standard input
	}
	// Each file is rendered as soon as its turn in path order comes, so
	// memory stays flat however large the tree is. A write error (a closed
	// pipe) stops the run.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var writeErr error
	written := 0
	write := func(f report.File) {
		written++
		if writeErr == nil {
			if writeErr = out.WriteFile(f); writeErr != nil {
				cancel()
			}
		}
	}
	failures = append(failures, lintFiles(ctx, files, lf, opts, lf.format == "text", func(f report.File) {
		if pending != nil && pending.Path < f.Path {
			write(*pending)
			pending = nil
		}
		write(f)
	})...)
	if pending != nil {
		write(*pending)
	}
	var src *sourceError
	if written == 0 && len(failures) == 1 && errors.As(failures[0], &src) {
		// Nothing to lint (no manifest, a missing path): say so, write no
		// report.
		fmt.Fprintf(e.stderr, "takos-apply lint: %v\n", src.err)
		if errors.Is(src.err, errNoManifest) {
			return ExitUsage
		}
		return ExitFailure
	}
	if writeErr == nil {
		writeErr = out.Close()
	}
	if writeErr != nil {
		fmt.Fprintf(e.stderr, "takos-apply lint: writing output: %v\n", writeErr)
		return ExitFailure
	}
	for _, f := range failures {
		fmt.Fprintf(e.stderr, "takos-apply lint: %v\n", f)
	}
	if len(failures) > 0 {
		return ExitFailure
	}
	return summaryExit(out.Summary(), lf.strict)
}

// sourceError is a failure to find the manifests (a missing path, an
// unreadable directory), as opposed to one manifest's I/O failure.
type sourceError struct{ err error }

func (s *sourceError) Error() string { return s.err.Error() }
func (s *sourceError) Unwrap() error { return s.err }

// workingDir is the root SARIF makes absolute paths relative to; "" (file
// URIs) if it cannot be known.
func workingDir() string {
	wd, err := os.Getwd()
	if err != nil {
		return ""
	}
	return wd
}

func findingsExit(results []report.File, strict bool) int {
	return summaryExit(report.Summarize(results), strict)
}

func summaryExit(s report.Summary, strict bool) int {
	if s.Errors > 0 || (strict && s.Warnings > 0) {
		return ExitFindings
	}
	return ExitOK
}

var errNoManifest = errors.New("no manifest found")

// stdinDefaultName is the path standard input is reported under without
// --stdin-filename.
const stdinDefaultName = "<stdin>"

// splitStdin removes the "-" (standard input) from paths. Standard input
// can be read only once, so a second "-" is a usage error.
func splitStdin(paths []string) (rest []string, stdin bool, err error) {
	for _, p := range paths {
		if p != "-" {
			rest = append(rest, p)
			continue
		}
		if stdin {
			return nil, false, errors.New(`"-" (standard input) may be given only once`)
		}
		stdin = true
	}
	return rest, stdin, nil
}

// lintStdin lints the manifest on r, reported as name (for positions, as
// actionlint's -stdin-filename). The read stops at ctx's end, so a signal
// ends a run whose standard input never closes; the reading goroutine is
// left to the process exit.
func lintStdin(ctx context.Context, r io.Reader, name string, lim manifest.Limits, opts lint.Options, keepDoc bool) (report.File, error) {
	type read struct {
		src []byte
		err error
	}
	done := make(chan read, 1)
	go func() {
		if lim.MaxBytes > 0 {
			r = io.LimitReader(r, lim.MaxBytes+1)
		}
		src, err := io.ReadAll(r)
		done <- read{src, err}
	}()
	var got read
	select {
	case got = <-done:
	case <-ctx.Done():
		return report.File{Path: name}, fmt.Errorf("reading standard input: %w", ctx.Err())
	}
	if got.err != nil {
		return report.File{Path: name}, fmt.Errorf("reading standard input: %w", got.err)
	}
	doc, diags, err := checkDocument(name, got.src, lim, opts)
	if err != nil {
		return report.File{Path: name}, err
	}
	// Capped at once, so a window of hostile files holds a few hundred
	// findings each, not a hundred thousand.
	res := report.Cap(report.File{Path: name, Diags: diags})
	if keepDoc && len(diags) > 0 {
		res.Doc = &manifest.Document{Path: doc.Path, Source: doc.Source}
	}
	return res, nil
}

// findManifests expands the command-line paths: none means the working
// directory's .takos/app.yml (or .yaml); a file is taken whatever its name;
// a directory is searched for .takos/app.yml|yaml files.
func findManifests(paths []string) ([]string, error) {
	if len(paths) == 0 {
		for _, p := range []string{".takos/app.yml", ".takos/app.yaml"} {
			if _, err := os.Stat(p); err == nil {
				return []string{p}, nil
			}
		}
		return nil, fmt.Errorf("%w: no .takos/app.yml or .takos/app.yaml in the working directory; pass a file or directory", errNoManifest)
	}
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, unwrapPathError(err))
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		n := len(out)
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				switch d.Name() {
				case ".git", "node_modules", "vendor":
					return filepath.SkipDir
				}
				return nil
			}
			if isManifestPath(path) {
				out = append(out, path)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("searching %s: %w", p, err)
		}
		if len(out) == n {
			return nil, fmt.Errorf("%w under %s: looked for .takos/app.yml and .takos/app.yaml", errNoManifest, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func isManifestPath(p string) bool {
	base := filepath.Base(p)
	return (base == "app.yml" || base == "app.yaml") && filepath.Base(filepath.Dir(p)) == ".takos"
}

// unwrapPathError drops *fs.PathError's repetition of the path, which the
// caller's message already names.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// lintWindow bounds how many files may be linted ahead of the one being
// rendered, per worker: enough to keep the workers busy while a slow file
// holds up the output, small enough that memory does not grow with the tree.
const lintWindow = 8

// lintFiles lints files concurrently and hands each result to emit in input
// order (already sorted by path), as soon as it and every file before it
// are done; it returns the I/O failures. keepDocs keeps each document with
// findings for source snippets; clean documents are dropped at once. At most
// lintWindow files per worker are in flight or waiting to be emitted, so a
// large tree is linted in constant memory.
func lintFiles(ctx context.Context, files iter.Seq2[string, error], lf lintFlags, opts lint.Options, keepDocs bool, emit func(report.File)) []error {
	type result struct {
		file report.File
		err  error
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	lim := lf.limits()
	type job struct {
		path string
		out  chan<- result
	}
	jobs := make(chan job)
	// pending carries one channel per file in input order; its capacity is
	// the window.
	pending := make(chan chan result, workers*lintWindow)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				f, err := lintFile(j.path, lim, opts, keepDocs)
				j.out <- result{f, err}
			}
		}()
	}
	go func() {
		defer close(pending)
		defer close(jobs)
		for path, err := range files {
			out := make(chan result, 1)
			pending <- out
			if err != nil {
				out <- result{err: &sourceError{err}}
				return
			}
			if err := ctx.Err(); err != nil {
				out <- result{err: err}
				return
			}
			jobs <- job{path, out}
		}
	}()
	var failures []error
	for out := range pending {
		r := <-out
		if r.err != nil {
			failures = append(failures, r.err)
			continue
		}
		emit(r.file)
	}
	wg.Wait()
	return failures
}

func lintFile(path string, lim manifest.Limits, opts lint.Options, keepDoc bool) (report.File, error) {
	res := report.File{Path: path}
	src, err := readAtMost(path, lim.MaxBytes)
	if err != nil {
		return res, fmt.Errorf("reading %s: %w", path, unwrapPathError(err))
	}
	doc, diags, err := checkDocument(path, src, lim, opts)
	if err != nil {
		return res, err
	}
	res.Diags = diags
	res = report.Cap(res) // as in lintStdin
	if keepDoc && len(diags) > 0 {
		// Snippets need only the source text; dropping the node tree keeps
		// a run over thousands of failing files small.
		res.Doc = &manifest.Document{Path: doc.Path, Source: doc.Source}
	}
	return res, nil
}

// checkDocument is the whole lint pipeline on one file's bytes.
func checkDocument(path string, src []byte, lim manifest.Limits, opts lint.Options) (*manifest.Document, diag.List, error) {
	noteInput(len(src))
	doc, diags, err := manifest.Load(path, src, lim)
	if err != nil {
		return nil, nil, err
	}
	// Check drops what its own suppressions silence; the loader's and the
	// schema's findings are filtered here.
	diags = lint.Suppress(doc, diags, opts.Disable)
	diags.Sort()
	if doc.Value != nil {
		diags = mergeSorted(diags, lint.Check(doc, opts))
	}
	return doc, diags, nil
}

// mergeSorted merges two lists sorted by diag.Compare into the order a
// stable sort of a followed by b gives (ties keep a's first), in linear
// time: Check has sorted its findings already, and a file may have a
// hundred thousand.
func mergeSorted(a, b diag.List) diag.List {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make(diag.List, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if diag.Compare(b[0], a[0]) < 0 {
			out, b = append(out, b[0]), b[1:]
		} else {
			out, a = append(out, a[0]), a[1:]
		}
	}
	return append(append(out, a...), b...)
}

// readAtMost reads at most max+1 bytes of path: enough for the loader to
// report a file over the limit without reading a mistaken multi-gigabyte
// path.
func readAtMost(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil {
		return nil, err
	} else if st.IsDir() {
		return nil, errors.New("is a directory")
	}
	if max <= 0 {
		return io.ReadAll(f)
	}
	return io.ReadAll(io.LimitReader(f, max+1))
}
