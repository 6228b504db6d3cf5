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
	"github.com/takos-dev/takos-apply/pkg/manifest"
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
	src sourceLine // the line of the last snippet
}

func (t *textWriter) Summary() Summary { return t.sum }

func (t *textWriter) WriteFile(f File) error {
	f = Cap(f)
	t.sum.add(f)
	ew := t.ew
	t.src = sourceLine{}
	for _, d := range f.Diags {
		writeHeader(ew, f.Path, d, t.opt.Color)
		if f.Doc == nil || d.Pos.Line < 1 {
			continue
		}
		src := t.src.at(f.Doc, d.Pos.Line)
		if src.text == "" {
			continue
		}
		code, caret := src.snippet(d.Pos.Column)
		gutter := strconv.Itoa(d.Pos.Line)
		pad := strings.Repeat(" ", len(gutter))
		// The gutter keeps snippet lines from ever starting with "::"
		// (YAML block scalars may hold any text).
		ew.str(" " + gutter + " | " + code + "\n")
		ew.str(" " + pad + " | " + caret + "\n")
	}
	for _, o := range f.Omitted {
		ew.str(omittedLine(f.Path, o) + "\n")
	}
	if len(f.Diags) == 0 && len(f.Omitted) == 0 {
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

// sourceLine is one source line prepared for snippets. Findings come
// sorted by line, so keeping the last line means each line is copied and
// indexed once, however many findings it has: a one-line manifest with
// thousands of findings costs its length once, not once per finding.
type sourceLine struct {
	doc  *manifest.Document
	n    int
	text string
	// marks[i] is the byte offset of rune i*markStride; runes is the
	// line's length in runes.
	marks []int
	runes int
}

// markStride is the spacing of sourceLine's rune marks: finding the byte
// offset of a column walks at most this many runes.
const markStride = 64

// at returns line n of doc, reusing the last one when it is the same.
func (l *sourceLine) at(doc *manifest.Document, n int) *sourceLine {
	if l.doc == doc && l.n == n {
		return l
	}
	// A source line may carry a credential (a manifest is read from a
	// repository anyone can write to): it is masked by its shape, once per
	// line, and the mask keeps the line's length so columns still hold.
	*l = indexLine(safetext.RedactCredentials(doc.Line(n)))
	l.doc, l.n = doc, n
	return l
}

// indexLine counts the runes of text and marks every markStride-th.
func indexLine(text string) sourceLine {
	l := sourceLine{text: text}
	for i := range text {
		if l.runes%markStride == 0 {
			l.marks = append(l.marks, i)
		}
		l.runes++
	}
	return l
}

// offset returns the byte offset of rune i, 0 <= i <= l.runes.
func (l *sourceLine) offset(i int) int {
	if i >= l.runes {
		return len(l.text)
	}
	off := l.marks[i/markStride]
	for k := i % markStride; k > 0; k-- {
		_, size := utf8.DecodeRuneInString(l.text[off:])
		off += size
	}
	return off
}

// snippet returns the printable source line and the caret line for a
// 1-based column counted in characters, as yaml.v3 counts them. The caret
// line copies the tabs of the text before the column and uses two spaces
// for East Asian wide characters, so the caret lands under the column in a
// terminal whatever the tab width. Only the window around the column is
// read, so the cost does not grow with the line.
func (l *sourceLine) snippet(col int) (code, caret string) {
	idx := min(max(col-1, 0), l.runes)
	start, end := 0, l.runes
	if l.runes > snippetMax {
		start = max(0, idx-snippetBefore)
		end = min(l.runes, start+snippetMax)
	}
	from, at, to := l.offset(start), l.offset(idx), l.offset(end)
	// string([]rune(…)) turns invalid UTF-8 into U+FFFD, as the window
	// of a []rune of the whole line would.
	prefix, rest := string([]rune(l.text[from:at])), string([]rune(l.text[at:to]))
	if start > 0 {
		prefix = "…" + prefix
	}
	if end < l.runes {
		rest += "…"
	}
	return prefix + rest, caretAfter(prefix)
}

// caretAfter is the caret line for the column after prefix. The Stream
// shows controls as escapes and "##[" as "##\[": the prefix is measured as
// it will be shown, so the caret lands under the column.
func caretAfter(prefix string) string {
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
	return c.String()
}

// snippet is sourceLine.snippet for a line on its own.
func snippet(src string, col int) (code, caret string) {
	l := indexLine(src)
	return l.snippet(col)
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
