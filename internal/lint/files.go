package lint

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime"
	"sync"

	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// Config is a lint run over files: the rules' Options and how files are
// found and read.
type Config struct {
	Options
	// Limits bound each file (Limits.MaxBytes is --max-file-size).
	Limits manifest.Limits
	// Exclude skips paths (--exclude); nil skips none.
	Exclude *Patterns
	// Snippets keeps the source of each file with findings in File.Doc, for
	// text output; clean documents and node trees are dropped at once.
	Snippets bool
	// Stdin, when set, is linted too (the command line's "-"), reported as
	// StdinName and put in path order among the files.
	Stdin     io.Reader
	StdinName string
	// MaxPerRule caps each file's findings of one rule as they are
	// reported (diag.Collector.Max): the report lists no more
	// (report.MaxPerRule), and the files waiting to be emitted stay small.
	// 0 keeps them all.
	MaxPerRule int
}

// File is one linted file: the shape the report renderers take.
type File struct {
	Path  string
	Doc   *manifest.Document // the source, for snippets (Config.Snippets); nil otherwise
	Diags diag.List          // sorted
	// Omitted counts the findings cut from Diags by Config.MaxPerRule.
	Omitted []Omitted
}

// Result is what LintFiles did besides emitting files.
type Result struct {
	// Files is how many files were emitted.
	Files int
	// Failures are the files that could not be read and the path arguments
	// that named nothing (a *PathError), in path order; a cancelled run
	// ends with the context's error.
	Failures []error
}

// window bounds how many files may be linted ahead of the one being
// emitted, per worker: enough to keep the workers busy while a slow file
// holds up the output, small enough that memory does not grow with the
// tree.
const window = 8

// LintFiles lints the files paths name (see Targets; and cfg.Stdin)
// concurrently and hands each result to emit in path order as soon as it
// and every file before it are done, so output streams in constant memory
// however large the tree. An error from emit (a closed pipe) stops the run
// and is returned. The context is checked before each file and between the
// steps of one, so a signal ends a long run promptly.
func LintFiles(ctx context.Context, paths []string, cfg Config, emit func(File) error) (Result, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var res Result
	// Standard input is read whole first (it is bounded by the size limit)
	// and then takes its place in path order among the streamed files.
	var pending *File
	if cfg.Stdin != nil {
		f, err := lintStdin(ctx, cfg)
		if err != nil {
			res.Failures = append(res.Failures, err)
		} else {
			pending = &f
		}
	}
	targets := Targets(paths, cfg.Exclude)
	if cfg.Stdin != nil && len(paths) == 0 {
		targets = func(func(Target, error) bool) {} // only standard input
	}
	var emitErr error
	send := func(f File) {
		if emitErr != nil {
			return
		}
		if emitErr = emit(f); emitErr != nil {
			cancel()
			return
		}
		res.Files++
	}
	res.Failures = append(res.Failures, lintTargets(ctx, targets, cfg, func(f File) {
		if pending != nil && pending.Path < f.Path {
			send(*pending)
			pending = nil
		}
		send(f)
	})...)
	if pending != nil {
		send(*pending)
	}
	if emitErr != nil {
		return res, emitErr
	}
	return res, nil
}

// lintTargets lints targets on GOMAXPROCS workers and hands each result to
// emit in input order; it returns the failures. At most window files per
// worker are in flight or waiting to be emitted.
func lintTargets(ctx context.Context, targets iter.Seq2[Target, error], cfg Config, emit func(File)) []error {
	type result struct {
		file File
		err  error
	}
	type job struct {
		t   Target
		out chan<- result
	}
	workers := max(1, runtime.GOMAXPROCS(0))
	jobs := make(chan job)
	// pending carries one channel per file in input order; its capacity is
	// the window.
	pending := make(chan chan result, workers*window)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				f, err := lintTarget(ctx, j.t, cfg)
				j.out <- result{f, err}
			}
		}()
	}
	go func() {
		defer close(pending)
		defer close(jobs)
		for t, err := range targets {
			out := make(chan result, 1)
			pending <- out
			if err != nil {
				out <- result{err: err}
				return
			}
			if err := ctx.Err(); err != nil {
				out <- result{err: err}
				return
			}
			jobs <- job{t, out}
		}
	}()
	var failures []error
	stopped := false // the context's end is one failure, however many files it cut
	for out := range pending {
		r := <-out
		if r.err != nil {
			isCtx := ctx.Err() != nil && errors.Is(r.err, ctx.Err())
			if !isCtx || !stopped {
				failures = append(failures, r.err)
			}
			stopped = stopped || isCtx
			continue
		}
		emit(r.file)
	}
	wg.Wait()
	return failures
}

// lintTarget reads and lints one target.
func lintTarget(ctx context.Context, t Target, cfg Config) (File, error) {
	doc, f, err := loadFile(ctx, t, cfg, cfg.MaxPerRule)
	if err != nil {
		return File{Path: t.Path}, err
	}
	return withSource(f, doc, cfg), nil
}

// withSource keeps the source text of a file with findings for snippets
// (Config.Snippets); dropping the node tree keeps a run over thousands of
// failing files small.
func withSource(f File, doc *manifest.Document, cfg Config) File {
	if cfg.Snippets && (len(f.Diags) > 0 || len(f.Omitted) > 0) && doc != nil && doc.Source != nil {
		f.Doc = &manifest.Document{Path: doc.Path, Source: doc.Source}
	}
	return f
}

// Load reads one target (ReadTarget's rules) and lints it. A file that is
// not read (a link out of the root, not a regular file, a file Takos does
// not read) gives its finding and a document without source or value; err
// is an I/O failure or the context's end. Every finding is returned,
// sorted.
func Load(ctx context.Context, t Target, cfg Config) (*manifest.Document, diag.List, error) {
	doc, f, err := loadFile(ctx, t, cfg, 0)
	return doc, f.Diags, err
}

// loadFile is Load keeping at most max findings of each rule (0: all), the
// others counted in the File's Omitted.
func loadFile(ctx context.Context, t Target, cfg Config, max int) (*manifest.Document, File, error) {
	f := File{Path: t.Path}
	if err := ctx.Err(); err != nil {
		return nil, f, err
	}
	if t.Unread() {
		f.Diags = Suppress(nil, diag.List{UnreadFinding(t)}, cfg.Disable)
		return &manifest.Document{Path: t.Path}, f, nil
	}
	src, diags, err := ReadTarget(t, cfg.Limits.MaxBytes)
	if err != nil {
		return nil, f, fmt.Errorf("reading %s: %w", t.Path, err)
	}
	if diags != nil {
		// One finding about the file itself: nothing to cap.
		f.Diags = Suppress(nil, diags, cfg.Disable)
		return &manifest.Document{Path: t.Path}, f, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, f, err
	}
	doc, col, err := source(t.Path, src, cfg.Limits, cfg.Options, max)
	if err != nil {
		return nil, f, err
	}
	f.Diags, f.Omitted = col.Sorted(), col.Omitted()
	return doc, f, nil
}

// Source is the whole lint of one file's bytes: the loader and the schema
// (manifest.LoadInto), then the rules (Check's), with the suppressions
// applied as the findings come; every finding is returned, sorted. (A
// message may quote a value of the file; the CLI's streams redact
// credentials by their shape.) A manifest of LargeInput bytes or more
// restores proportional garbage collection (see TuneGC).
func Source(path string, src []byte, lim manifest.Limits, opts Options) (*manifest.Document, diag.List, error) {
	doc, col, err := source(path, src, lim, opts, 0)
	if err != nil {
		return nil, nil, err
	}
	return doc, col.Sorted(), nil
}

// source lints src into one Collector that applies the suppressions and
// keeps at most max findings of each rule (0: all): a rule that fires a
// hundred thousand times costs a count for most of them, not a positioned,
// worded and sorted finding.
func source(path string, src []byte, lim manifest.Limits, opts Options, max int) (*manifest.Document, *diag.Collector, error) {
	noteInput(len(src))
	ds := directives(src)
	col := &diag.Collector{Max: max, Silenced: silencer(ds, opts.Disable)}
	doc, err := manifest.LoadInto(col, path, src, lim)
	if err != nil {
		return nil, nil, err
	}
	check(col, doc, ds, opts)
	return doc, col, nil
}

// Recheck runs the rules over doc again with opts (plan and apply's second
// pass with the control plane's scope catalogue) and returns the findings
// that seen does not already hold.
func Recheck(doc *manifest.Document, seen diag.List, opts Options) diag.List {
	known := make(map[diag.Diagnostic]bool, len(seen))
	for _, d := range seen {
		known[d] = true
	}
	var out diag.List
	for _, d := range Check(doc, opts) {
		if !known[d] {
			out = append(out, d)
		}
	}
	return out
}

// lintStdin lints cfg.Stdin, reported as cfg.StdinName (for positions, as
// actionlint's -stdin-filename). The read stops at ctx's end, so a signal
// ends a run whose standard input never closes; the reading goroutine is
// left to the process exit.
func lintStdin(ctx context.Context, cfg Config) (File, error) {
	type read struct {
		src []byte
		err error
	}
	done := make(chan read, 1)
	go func() {
		r := cfg.Stdin
		if cfg.Limits.MaxBytes > 0 {
			r = io.LimitReader(r, cfg.Limits.MaxBytes+1)
		}
		src, err := io.ReadAll(r)
		done <- read{src, err}
	}()
	name := cfg.StdinName
	var got read
	select {
	case got = <-done:
	case <-ctx.Done():
		return File{Path: name}, fmt.Errorf("reading standard input: %w", ctx.Err())
	}
	if got.err != nil {
		return File{Path: name}, fmt.Errorf("reading standard input: %w", got.err)
	}
	doc, col, err := source(name, got.src, cfg.Limits, cfg.Options, cfg.MaxPerRule)
	if err != nil {
		return File{Path: name}, err
	}
	return withSource(File{Path: name, Diags: col.Sorted(), Omitted: col.Omitted()}, doc, cfg), nil // as in lintTarget
}

// IsPathError reports whether err is a path argument that named nothing to
// lint, and whether that is because it holds no manifest (a usage error)
// rather than an I/O failure.
func IsPathError(err error) (isPath, noManifest bool) {
	var pe *PathError
	if !errors.As(err, &pe) {
		return false, false
	}
	return true, errors.Is(err, ErrNoManifest)
}
