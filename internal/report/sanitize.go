package report

import (
	"github.com/takos-dev/takos-apply/internal/safetext"
)

// maxMessageRunes caps a message in line-oriented output (see
// internal/safetext): a rule may quote a user value, and a megabyte-long value must not
// turn into a megabyte-long log line. JSON and SARIF keep the full text.
const maxMessageRunes = 1024

// escapeControls makes s safe to print on one terminal or log line (see
// safetext.EscapeControls). Tabs are kept so snippets stay aligned for the
// caret line. With keepNewlines, CR and LF are left for the caller to escape
// (the workflow command data escaping turns them into %0D/%0A).
//
// It differs from safetext.Line on purpose: a lint report shows the reader
// what the file holds, so characters are escaped rather than dropped.
func escapeControls(s string, keepNewlines bool) string {
	if keepNewlines {
		return safetext.EscapeControlsKeepNewlines(s)
	}
	return safetext.EscapeControls(s)
}

// displayPath is the path as printed at the start of a text line. A path is
// user input too; one that would read as a command gets a "./" prefix,
// which names the same file and keeps the line usable as a location. Text
// and GitHub still pass every whole line through safetext.Neutralize, since
// a path such as ":" only reads as a command together with the ":line:col"
// that follows it.
func displayPath(p string) string {
	p = escapeControls(p, false)
	if safetext.StartsCommand(p) {
		p = "./" + p
	}
	return p
}

// lineMessage is a finding's message as printed on a text or log line.
func lineMessage(msg string) string {
	return escapeControls(safetext.Truncate(msg, maxMessageRunes), false)
}
