package report

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxMessageRunes caps a message in line-oriented output (security-rules.md
// S-05): a rule may quote a user value, and a megabyte-long value must not
// turn into a megabyte-long log line. JSON and SARIF keep the full text.
const maxMessageRunes = 1024

// escapeControls makes s safe to print on one terminal or log line: C0 and
// C1 controls, DEL, invalid UTF-8, line/paragraph separators and bidi
// overrides become visible escapes (\n, \x1b, \u202e), so they can neither
// start a new line, drive the terminal nor reorder what the reader sees.
// Tabs are kept because they are harmless and keep snippets aligned. With
// keepNewlines, CR and LF are left for the caller to escape (the workflow
// command data escaping turns them into %0D/%0A).
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

func needsEscape(r rune) bool {
	switch {
	case r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x2028, r == 0x2029: // line and paragraph separators
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f:
		return true // bidi embeddings, overrides, isolates and marks
	}
	return false
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return s[:i] + "…"
}

// neutralize makes an already single-line string inert for the GitHub
// runner. The runner (actions/runner ActionCommand.TryParseV2) treats a line
// as a command when it starts with "::" after trimming leading whitespace,
// and the legacy parser (TryParse) when "##[" appears anywhere in the line.
// A leading backslash and "##\[" keep the text readable while matching
// neither.
func neutralize(line string) string {
	line = strings.ReplaceAll(line, "##[", `##\[`)
	if startsCommand(line) {
		line = `\` + line
	}
	return line
}

// startsCommand reports whether the runner would read line as a "::"
// command. It trims more than .NET's TrimStart does (format characters such
// as U+200B and U+FEFF too), so it errs on the side of neutralising.
func startsCommand(line string) bool {
	trimmed := strings.TrimLeftFunc(line, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || unicode.IsControl(r)
	})
	return strings.HasPrefix(trimmed, "::")
}

// displayPath is the path as printed at the start of a text line. A path is
// user input too; one that would read as a command gets a "./" prefix,
// which names the same file.
func displayPath(p string) string {
	p = escapeControls(p, false)
	if startsCommand(p) {
		p = "./" + p
	}
	return p
}

// lineMessage is a finding's message as printed on a text or log line.
func lineMessage(msg string) string {
	return escapeControls(truncate(msg, maxMessageRunes), false)
}
