package report

import (
	"fmt"
	"io"
	"strconv"

	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// annotationCap is how many annotations of one level the runner shows per
// step (actions/runner ExecutionContext: _maxIssueCount = 10 for errors,
// warnings and notices alike); later ones are silently dropped.
const annotationCap = 10

// noticeCap leaves one notice slot for the summary, which would otherwise be
// the first thing dropped when a file has ten info findings.
const noticeCap = annotationCap - 1

// GitHub writes one workflow command per finding for GitHub Actions:
//
//	::error file=…,line=…,col=…,title=takos-apply%3A <rule>::message
//
// (::warning for warnings, ::notice for infos), escaped as actions/toolkit
// does. Only the first 10 errors, 10 warnings and 9 infos become
// annotations (the runner drops the rest, and one notice is kept for the
// summary); every other finding is printed as a plain text-format log line.
// The output ends with
//
//	::notice title=takos-apply::N files checked: E errors, W warnings
//
// and, when annotations were capped, a plain line saying how many findings
// are only in the log. No line other than those commands can be read as a
// workflow command, whatever the messages and paths contain.
func GitHub(w io.Writer, files []File) error {
	return writeAll(NewGitHub(w), files)
}

// NewGitHub returns the streaming form of GitHub: each file's lines are
// flushed to w as soon as the file is written, so a long run shows its
// annotations in the live log.
func NewGitHub(w io.Writer) Writer { return &githubWriter{ew: newErrWriter(safetext.Guard(w))} }

type githubWriter struct {
	ew      *errWriter
	sum     Summary
	shown   [3]int // indexed by diag.Severity
	logOnly int
}

func (g *githubWriter) Summary() Summary { return g.sum }

func (g *githubWriter) WriteFile(f File) error {
	f = Cap(f)
	g.sum.add(f)
	for _, d := range f.Diags {
		level, limit := annotationLevel(d.Severity)
		i := min(max(int(d.Severity), 0), 2)
		if g.shown[i] < limit {
			g.shown[i]++
			g.ew.command(annotation(level, f.Path, d))
			continue
		}
		g.logOnly++
		writeHeader(g.ew, f.Path, d, false)
	}
	for _, o := range f.Omitted {
		g.ew.str(omittedLine(f.Path, o) + "\n")
	}
	if len(f.Diags) == 0 && len(f.Omitted) == 0 {
		return g.wrap(g.ew.err)
	}
	return g.wrap(g.ew.flush())
}

func (g *githubWriter) Close() error {
	ew := g.ew
	ew.command(safetext.NewCommand("notice", []safetext.Prop{{Key: "title", Value: toolName}}, summaryLine(g.sum)))
	if g.logOnly > 0 {
		noun := "findings are"
		if g.logOnly == 1 {
			noun = "finding is"
		}
		ew.str(fmt.Sprintf("%s: %d %s only in the log above: GitHub shows at most %d annotations of each level per step\n",
			toolName, g.logOnly, noun, annotationCap))
	}
	return g.wrap(ew.flush())
}

func (g *githubWriter) wrap(err error) error {
	if err != nil {
		return fmt.Errorf("write github annotations: %w", err)
	}
	return nil
}

func annotationLevel(s diag.Severity) (level string, limit int) {
	switch s {
	case diag.Error:
		return "error", annotationCap
	case diag.Warning:
		return "warning", annotationCap
	default:
		return "notice", noticeCap
	}
}

// annotation renders one workflow command. safetext.NewCommand escapes the
// property values and data, so the command stays on one line and its
// properties cannot be split, and shows other control characters as
// visible escapes; CR and LF become %0D/%0A, which the runner shows as line
// breaks inside the annotation.
func annotation(level, path string, d diag.Diagnostic) safetext.Command {
	var props []safetext.Prop
	if path != "" {
		props = append(props, safetext.Prop{Key: "file", Value: path})
	}
	if d.Pos.Line > 0 {
		props = append(props, safetext.Prop{Key: "line", Value: strconv.Itoa(d.Pos.Line)})
		if d.Pos.Column > 0 {
			props = append(props, safetext.Prop{Key: "col", Value: strconv.Itoa(d.Pos.Column)})
		}
	}
	props = append(props, safetext.Prop{Key: "title", Value: toolName + ": " + d.Rule})
	return safetext.NewCommand(level, props, safetext.Truncate(d.Message, maxMessageRunes))
}
