package report

import (
	"strings"

	"github.com/takos-dev/takos-apply/internal/safetext"
)

// Untrusted text in line-oriented output (text, github log lines, plans) is
// guarded in one place: every such renderer writes through a
// safetext.Stream (safetext.Guard; in the CLI the process's own), which
// escapes controls, breaks workflow commands and redacts secrets on every
// line. What is left here is layout, which only the renderer knows: a value
// stays on the line it is placed in, and a line stays bounded. JSON and
// SARIF are data; JSON's escaping (safetext.InertJSON) is their guard.

// maxMessageRunes caps a message in line-oriented output: a rule may quote
// a user value, and a megabyte-long value must not turn into a
// megabyte-long log line. JSON and SARIF keep the full text.
const maxMessageRunes = 1024

// inline keeps s on the line it is placed in: a line feed becomes the
// escape \n. Every other control, CR and the Unicode line separators
// included, the Stream shows as an escape itself.
func inline(s string) string {
	if !strings.Contains(s, "\n") {
		return s
	}
	return strings.ReplaceAll(s, "\n", `\n`)
}

// displayPath is the path as printed at the start of a text line. A path
// that would read as a workflow command gets a "./" prefix, which names the
// same file and keeps the line usable as a location (the Stream would
// quote the whole line with "> "). A path such as ":" only reads as a
// command together with the ":line:col" that follows it; the Stream
// neutralises that line.
func displayPath(p string) string {
	p = inline(p)
	if strings.HasPrefix(strings.TrimLeft(p, " \t"), "::") {
		p = "./" + p
	}
	return p
}

// lineMessage is a finding's message as printed on a text or log line.
func lineMessage(msg string) string {
	return inline(safetext.Truncate(msg, maxMessageRunes))
}
