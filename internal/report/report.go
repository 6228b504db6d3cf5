// Package report renders for people and machines: lint results as a
// terminal text format with source snippets, a stable JSON document, GitHub
// Actions workflow-command annotations and SARIF 2.1.0 for GitHub code
// scanning; and the plan, the apply result and the job summary of plan and
// apply (plan.go).
//
// Messages, paths and field values come from user YAML or from a server.
// Every renderer of text lines (text, github, plans) writes through one
// safetext.Stream (safetext.Guard: the CLI's own, or one of its own), which
// makes each line inert — no workflow command the renderer did not mean to
// emit, no raw control character, no secret — so the renderers themselves
// only lay text out (sanitize.go). JSON and SARIF output escapes the
// characters a Stream would otherwise have to rewrite (safetext.InertJSON),
// so they pass it unchanged and stay exact.
package report

import (
	"bufio"
	"fmt"
	"io"

	"github.com/takos-dev/takos-apply/internal/safetext"

	"github.com/takos-dev/takos-apply/pkg/diag"
	"github.com/takos-dev/takos-apply/pkg/manifest"
)

// File is one linted file. Doc may be nil when the file could not be read
// (then Diags holds the I/O finding). Path is the name every format prints
// for the file's findings; Diags must already be sorted.
type File struct {
	Path  string
	Doc   *manifest.Document // for source snippets (doc.Line(n))
	Diags diag.List          // already sorted
	// Omitted counts findings not in Diags (see Cap). Every Writer caps
	// the files it is given; a caller that holds many files caps them
	// first to keep memory small.
	Omitted []Omitted
}

// Summary counts the files checked and their findings by severity.
type Summary struct{ Files, Errors, Warnings, Infos int }

// add counts one file.
func (s *Summary) add(f File) {
	s.Files++
	s.Errors += f.Diags.Count(diag.Error)
	s.Warnings += f.Diags.Count(diag.Warning)
	s.Infos += f.Diags.Count(diag.Info)
	for _, o := range f.Omitted {
		switch o.Severity {
		case diag.Error:
			s.Errors += o.Count
		case diag.Warning:
			s.Warnings += o.Count
		default:
			s.Infos += o.Count
		}
	}
}

// Summarize counts files and findings over files.
func Summarize(files []File) Summary {
	var s Summary
	for _, f := range files {
		s.add(f)
	}
	return s
}

// Options tune the renderers that need more than the findings.
type Options struct {
	Color   bool   // text only: ANSI colours (the CLI decides: TTY and no NO_COLOR)
	Version string // tool version for SARIF driver.version
	// Rules is the catalogue SARIF lists in driver.rules, with descriptions
	// and help; nil lists no rules.
	Rules *diag.Catalog
	// Development selects the catalogue severity SARIF gives as each rule's
	// default level; the zero value is production, as for --env.
	Development bool
	// Root is the directory SARIF URIs are relative to (%SRCROOT%): an
	// absolute path under it becomes repository-relative. "" leaves
	// absolute paths as file:// URIs.
	Root string
}

// Writer renders lint results one file at a time, so that a run over a
// large tree holds one file's findings, not the tree's. WriteFile must be
// called in output order; Close writes what follows the last file (the
// summary) and flushes. A Writer reports the first write error from every
// later call.
type Writer interface {
	WriteFile(File) error
	Close() error
	// Summary counts the files written so far.
	Summary() Summary
}

// NewWriter returns the Writer of a --format value: "text", "json",
// "github" or "sarif".
func NewWriter(format string, w io.Writer, opt Options) (Writer, error) {
	switch format {
	case "text":
		return NewText(w, opt), nil
	case "json":
		return NewJSON(w), nil
	case "github":
		return NewGitHub(w), nil
	case "sarif":
		return NewSARIF(w, opt), nil
	}
	return nil, fmt.Errorf("unknown output format %q", format)
}

// writeAll renders files through a Writer: the one-shot form of each format.
func writeAll(wr Writer, files []File) error {
	for _, f := range files {
		if err := wr.WriteFile(f); err != nil {
			return err
		}
	}
	return wr.Close()
}

// toolName is the name users see in annotation titles and the SARIF driver.
const toolName = "takos-apply"

// errWriter remembers the first write error so renderers can write freely
// and check once at the end.
type errWriter struct {
	dst io.Writer
	w   *bufio.Writer
	err error
}

func newErrWriter(w io.Writer) *errWriter { return &errWriter{dst: w, w: bufio.NewWriter(w)} }

func (e *errWriter) str(s string) {
	if e.err == nil {
		_, e.err = e.w.WriteString(s)
	}
}

// command writes one of the renderer's own workflow commands. The buffer is
// flushed first so that, on a safetext.Stream, the command reaches the
// Stream's command path rather than its line path.
func (e *errWriter) command(c safetext.Command) {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	if e.err == nil {
		e.err = safetext.WriteCommand(e.dst, c)
	}
}

// styled writes text in one of the renderer's own colours. The buffer is
// flushed first so that, on a safetext.Stream, the colour reaches the
// Stream's style path rather than its line path (which escapes it).
func (e *errWriter) styled(st safetext.Style, text string) {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	if e.err == nil {
		e.err = safetext.WriteStyled(e.dst, st, text)
	}
}

func (e *errWriter) flush() error {
	if e.err == nil {
		e.err = e.w.Flush()
	}
	return e.err
}
