// Package safetext is the one guard of what takos-apply writes: the Stream
// through which each of the process's standard streams is written (in a
// GitHub Actions step and on a terminal alike) makes every line inert —
// controls shown as escapes, workflow commands neutralised — and redacts the
// run's secrets, which are registered once in a Secrets registry that every
// other redactor reads too. Code that prints untrusted text therefore does
// not escape it; it builds workflow commands with NewCommand, colours with
// WriteStyled and JSON with InertJSON, so that the Stream passes exactly
// those. The rules against log and workflow-command injection live here.
//
// Line, Compact and Quote shape untrusted text for a message (one line,
// capped, quoted) where it becomes part of an error or a finding.
package safetext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultMax is the cap Line applies when max <= 0.
const DefaultMax = 512

// neutralPrefix is what Neutralize puts in front of text that would otherwise
// start a workflow command; "> " reads as a quotation and is not trimmed by
// the runner.
const neutralPrefix = "> "

// Line makes untrusted text (server error_description, manifest values)
// safe to print on one line of a GitHub Actions log, where a line starting
// with "::" is a workflow command
// (https://docs.github.com/actions/reference/workflow-commands-for-github-actions):
//
//   - CR, LF, U+0085, U+2028 and U+2029 become a space, so the text stays on
//     one line and cannot start a new "::command::" line;
//   - tabs are removed; every other C0/C1 control (ESC included, which
//     would let text move the cursor or recolour the terminal) and the
//     bidi/zero-width format characters used in Trojan-Source spoofing
//     become visible escapes (\x1b, \u202e), as EscapeControls writes them;
//   - invalid UTF-8 becomes U+FFFD;
//   - the result is capped at max runes as Truncate does (DefaultMax when
//     max <= 0), ending in "…" when cut (an escape may be cut too);
//   - finally Neutralize: "##[", which the runner reads as a legacy command
//     anywhere in a line, becomes "##\["; if the result, after leading white
//     space (which the runner trims), starts with "::", it is prefixed with
//     "> " so it is not a workflow command (the prefix is not counted in max).
func Line(s string, max int) string {
	if max <= 0 {
		max = DefaultMax
	}
	var b strings.Builder
	b.Grow(min(len(s), 4*max))
	n := 0
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				r = unicode.ReplacementChar
			}
		}
		switch {
		case r == '\r' || r == '\n' || r == 0x85 || r == 0x2028 || r == 0x2029:
			b.WriteByte(' ')
			n++
		case r == '\t':
			continue
		case r < 0x20 || (r >= 0x7f && r <= 0x9f) || IsInvisible(r):
			// Shown as an escape, not dropped: what the reader sees is
			// what was sent, and the escape is plain ASCII.
			e := EscapeControls(string(r))
			b.WriteString(e)
			n += len(e)
		default:
			b.WriteRune(r)
			n++
		}
		if n > max {
			// One rune past the cap is enough for Truncate to see the cut.
			break
		}
	}
	return Neutralize(Truncate(b.String(), max))
}

// Truncate cuts s to at most max runes (DefaultMax when max <= 0). When s is
// longer, its first max-1 runes are kept and "…" is the last rune, so the cut
// is visible and the result still fits in max. An invalid byte counts as one
// rune. It is the cap Line applies, for callers that escape rather than strip.
func Truncate(s string, max int) string {
	if max <= 0 {
		max = DefaultMax
	}
	cut, n := 0, 0
	for i := range s {
		if n == max-1 {
			cut = i
		}
		if n == max {
			return s[:cut] + "…"
		}
		n++
	}
	return s
}

// Neutralize makes a single line inert for the GitHub Actions runner: it
// escapes legacy commands (EscapeLegacyCommands) and, if the line would
// still be read as a "::" command (StartsCommand), puts "> " in front of it.
// "> " reads as a quotation and is not trimmed by the runner. The line must
// already be one line; Neutralize does not look for line breaks.
func Neutralize(line string) string {
	line = EscapeLegacyCommands(line)
	if StartsCommand(line) {
		line = neutralPrefix + line
	}
	return line
}

// EscapeLegacyCommands turns every "##[" into "##\[": the runner's legacy
// parser (actions/runner ActionCommand.TryParse) reads "##[command]"
// anywhere in a line, and "##\[" stays readable while matching nothing.
func EscapeLegacyCommands(s string) string {
	return strings.ReplaceAll(s, "##[", `##\[`)
}

// StartsCommand reports whether the runner would read line as a "::"
// workflow command (actions/runner ActionCommand.TryParseV2 trims leading
// white space, then looks for "::"). It skips more than the runner's
// TrimStart does — invisible format characters (IsInvisible) and C0/C1
// controls too — so that text which a later step shows without them, or a
// runner version that trims them, is still caught: it errs towards
// reporting a command.
func StartsCommand(line string) bool {
	trimmed := strings.TrimLeftFunc(line, func(r rune) bool {
		return unicode.IsSpace(r) || IsInvisible(r) || unicode.IsControl(r)
	})
	return strings.HasPrefix(trimmed, "::")
}

// Compact is Line with every run of white space folded into one space and
// the ends trimmed: the form for server-supplied error texts, which often
// arrive pretty-printed over several lines.
func Compact(s string, max int) string {
	return strings.Join(strings.Fields(Line(s, max)), " ")
}

// IsInvisible reports the format characters (Unicode category Cf) that
// reorder or hide text without being seen: bidi overrides and isolates,
// zero-width spaces and joiners, the soft hyphen, the BOM. They are the
// tools of "Trojan Source" spoofing on consent screens and in logs; every
// check for them in the project uses this one predicate.
func IsInvisible(r rune) bool { return unicode.Is(unicode.Cf, r) }

// Quote quotes user text for a message: Go-quoted (control and invisible
// characters become escapes, so what is shown is what the file holds) and
// cut to at most max runes of the original, with the cut marked.
func Quote(s string, max int) string {
	if max <= 0 {
		max = DefaultMax
	}
	if utf8.RuneCountInString(s) <= max {
		return strconv.Quote(s)
	}
	r := []rune(s)
	return strconv.Quote(string(r[:max])) + "…"
}
