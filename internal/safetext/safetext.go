// Package safetext makes untrusted text (server error descriptions, manifest
// values) safe to print on one line of a terminal or a GitHub Actions log.
// Every package that echoes text it did not write goes through Line, so the
// rules against log and workflow-command injection live in one place.
package safetext

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// DefaultMax is the cap Line applies when max <= 0.
const DefaultMax = 512

// neutralPrefix is put in front of text that would otherwise start a workflow
// command; "> " reads as a quotation and is not trimmed by the runner.
const neutralPrefix = "> "

// Line makes untrusted text (server error_description, manifest values)
// safe to print on one line of a GitHub Actions log (S-05):
//
//   - CR, LF, U+0085, U+2028 and U+2029 become a space, so the text stays on
//     one line and cannot start a new "::command::" line;
//   - every other C0/C1 control (tabs and ESC included, which would let text
//     move the cursor or recolour the terminal) and the bidi/zero-width format
//     characters used in Trojan-Source spoofing are removed;
//   - invalid UTF-8 becomes U+FFFD;
//   - the result is capped at max runes (DefaultMax when max <= 0),
//     ending in "…" when cut;
//   - "##[", which the runner reads as a legacy command anywhere in a line,
//     becomes "##\[";
//   - if the result, after leading white space (which the runner trims), starts
//     with "::", it is prefixed with "> " so it is not a workflow command (the
//     prefix is not counted in max).
func Line(s string, max int) string {
	if max <= 0 {
		max = DefaultMax
	}
	var b strings.Builder
	b.Grow(min(len(s), 4*max))
	n := 0
	truncated := false
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				r = unicode.ReplacementChar
			}
		}
		switch {
		case r == '\r' || r == '\n' || r == 0x85 || r == 0x2028 || r == 0x2029:
			r = ' '
		case r < 0x20 || (r >= 0x7f && r <= 0x9f) || IsInvisible(r):
			continue
		}
		if n == max {
			truncated = true
			break
		}
		b.WriteRune(r)
		n++
	}
	out := b.String()
	if truncated {
		// Replace the last rune by the ellipsis so the result stays within max.
		_, size := utf8.DecodeLastRuneInString(out)
		out = out[:len(out)-size] + "…"
	}
	// The runner also parses the legacy "##[command]" form anywhere in a line.
	out = strings.ReplaceAll(out, "##[", `##\[`)
	if strings.HasPrefix(strings.TrimLeftFunc(out, unicode.IsSpace), "::") {
		out = neutralPrefix + out
	}
	return out
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
