package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"

	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// Snippet window: source lines longer than this (minified flow-style YAML)
// are cut around the column so one finding cannot print a megabyte.
const (
	snippetMax    = 160
	snippetBefore = 60
)

// Text writes each finding as "path:line:col: severity: message [rule]"
// followed by its source line and a caret under the column, then a final
// line "N files checked: E errors, W warnings". Clean files print nothing.
// Findings without a position print "path: severity: message [rule]" and no
// snippet; so do files whose Doc is nil. With opt.Color the severity is
// coloured (red, yellow, cyan). It writes through a safetext.Stream
// (safetext.Guard), so no line can start a workflow command or carry a
// control character, whoever calls it.
func Text(w io.Writer, files []File, opt Options) error {
	return writeAll(NewText(w, opt), files)
}

// NewText returns the streaming form of Text: each file's findings are
// flushed to w as soon as the file is written.
func NewText(w io.Writer, opt Options) Writer {
	return &textWriter{ew: newErrWriter(safetext.Guard(w)), opt: opt}
}

type textWriter struct {
	ew  *errWriter
	opt Options
	sum Summary
}

func (t *textWriter) Summary() Summary { return t.sum }

func (t *textWriter) WriteFile(f File) error {
	t.sum.add(f)
	ew := t.ew
	for _, d := range f.Diags {
		writeHeader(ew, f.Path, d, t.opt.Color)
		if f.Doc == nil || d.Pos.Line < 1 {
			continue
		}
		// A source line may carry a credential (a manifest is read from a
		// repository anyone can write to): it is masked by its shape.
		src := safetext.RedactCredentials(f.Doc.Line(d.Pos.Line))
		if src == "" {
			continue
		}
		code, caret := snippet(src, d.Pos.Column)
		gutter := strconv.Itoa(d.Pos.Line)
		pad := strings.Repeat(" ", len(gutter))
		// The gutter keeps snippet lines from ever starting with "::"
		// (YAML block scalars may hold any text).
		ew.str(" " + gutter + " | " + code + "\n")
		ew.str(" " + pad + " | " + caret + "\n")
	}
	if len(f.Diags) == 0 {
		return t.wrap(ew.err)
	}
	return t.wrap(ew.flush())
}

func (t *textWriter) Close() error {
	t.ew.str(summaryLine(t.sum) + "\n")
	return t.wrap(t.ew.flush())
}

func (t *textWriter) wrap(err error) error {
	if err != nil {
		return fmt.Errorf("write text report: %w", err)
	}
	return nil
}

// writeHeader writes the line "path:line:col: severity: message [rule]",
// the severity in its colour when color is set.
func writeHeader(ew *errWriter, path string, d diag.Diagnostic, color bool) {
	ew.str(displayPath(path))
	if d.Pos.Line > 0 {
		ew.str(":" + strconv.Itoa(d.Pos.Line) + ":" + strconv.Itoa(d.Pos.Column))
	}
	ew.str(": ")
	if color {
		ew.styled(severityStyle(d.Severity), d.Severity.String())
	} else {
		ew.str(d.Severity.String())
	}
	ew.str(": ")
	ew.str(lineMessage(d.Message))
	ew.str(" [")
	ew.str(inline(d.Rule))
	ew.str("]\n")
}

func severityStyle(s diag.Severity) safetext.Style {
	switch s {
	case diag.Error:
		return safetext.Red
	case diag.Warning:
		return safetext.Yellow
	default:
		return safetext.Cyan
	}
}

// summaryLine renders "N files checked: E errors, W warnings".
func summaryLine(s Summary) string {
	return fmt.Sprintf("%s checked: %s, %s",
		plural(s.Files, "file"), plural(s.Errors, "error"), plural(s.Warnings, "warning"))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// snippet returns the printable source line and the caret line for a
// 1-based column counted in characters, as yaml.v3 counts them. The caret
// line copies the tabs of the text before the column and uses two spaces
// for East Asian wide characters, so the caret lands under the column in a
// terminal whatever the tab width.
func snippet(src string, col int) (code, caret string) {
	runes := []rune(src)
	idx := col - 1
	if idx < 0 {
		idx = 0
	}
	if idx > len(runes) {
		idx = len(runes)
	}
	start, end := 0, len(runes)
	if len(runes) > snippetMax {
		start = max(0, idx-snippetBefore)
		end = min(len(runes), start+snippetMax)
	}
	prefix, rest := string(runes[start:idx]), string(runes[idx:end])
	if start > 0 {
		prefix = "…" + prefix
	}
	if end < len(runes) {
		rest += "…"
	}
	// The Stream shows controls as escapes and "##[" as "##\[": measure the
	// prefix as it will be shown, so the caret lands under the column.
	var c strings.Builder
	for _, r := range safetext.Shown(prefix) {
		switch {
		case r == '\t':
			c.WriteByte('\t')
		case unicode.In(r, unicode.Mn, unicode.Me):
			// combining marks take no column of their own
		case isWide(r):
			c.WriteString("  ")
		default:
			c.WriteByte(' ')
		}
	}
	c.WriteByte('^')
	return prefix + rest, c.String()
}

func isWide(r rune) bool {
	if r < utf8.RuneSelf {
		return false
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return true
	}
	return false
}
