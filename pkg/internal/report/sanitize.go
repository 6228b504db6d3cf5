package report

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// maxMessageRunes caps a message in line-oriented output (see
// internal/safetext): a rule may quote a user value, and a megabyte-long value must not
// turn into a megabyte-long log line. JSON and SARIF keep the full text.
const maxMessageRunes = 1024

// escapeControls makes s safe to print on one terminal or log line: C0 and
// C1 controls, DEL, invalid UTF-8, line/paragraph separators and invisible
// format characters (bidi overrides, zero-width spaces, the BOM) become
// visible escapes (\n, \x1b, \u202e, \u200b), so they can neither start a
// new line, drive the terminal, reorder nor hide what the reader sees.
// Tabs are kept because they are harmless and keep snippets aligned. With
// keepNewlines, CR and LF are left for the caller to escape (the workflow
// command data escaping turns them into %0D/%0A).
//
// It differs from safetext.Line on purpose: a lint report shows the reader
// what the file holds, so characters are escaped rather than dropped, and
// source snippets keep their tabs for the caret line.
func escapeControls(s string, keepNewlines bool) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || needsEscape(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case (r == '\n' || r == '\r') && keepNewlines:
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case needsEscape(r) && r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case needsEscape(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
		i += size
	}
	return b.String()
}

// needsEscape reports the runes escapeControls makes visible. Invisible
// format characters are safetext.IsInvisible, the project's one predicate
// for them (bidi marks and overrides, zero-width spaces and joiners, U+061C,
// the soft hyphen, the BOM), so every character safetext.Line removes or
// replaces, the tab aside, is escaped here.
func needsEscape(r rune) bool {
	switch {
	case r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	}
	return safetext.IsInvisible(r)
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
