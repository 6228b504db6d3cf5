package report

import (
	"strings"
	"testing"

	"github.com/takos-dev/takos-apply/internal/safetext"
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// TestTextLinesAreNeutral renders hostile paths and messages in the text
// format and checks every line the way the runner would read it: none may
// start a "::" command or hold a legacy "##[" command. Paths such as ":"
// only form "::" together with the ":line:col" after them, so this covers
// the Stream's whole-line neutralisation as well as displayPath.
func TestTextLinesAreNeutral(t *testing.T) {
	tests := []struct {
		name, path, msg, wantFirst string
	}{
		{"colon path", ":", "m", "> ::1:1: error: m [r]"},
		{"colon path without position", ":", "m", "> :: error: m [r]"},
		{"command path", "::error::x.yml", "m", "./::error::x.yml:1:1: error: m [r]"},
		{"zero-width path", "\u200b::x.yml", "m", `\u200b::x.yml:1:1: error: m [r]`},
		{"legacy in path and message", "##[a].yml", "##[b]", `##\[a].yml:1:1: error: ##\[b] [r]`},
		{"message with newline", "app.yml", "x\n::add-mask::y", `app.yml:1:1: error: x\n::add-mask::y [r]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := diag.Diagnostic{File: tc.path, Pos: diag.Pos{Line: 1, Column: 1}, Severity: diag.Error, Rule: "r", Message: tc.msg}
			if strings.HasSuffix(tc.name, "without position") {
				d.Pos = diag.Pos{}
			}
			var b strings.Builder
			if err := Text(&b, []File{{Path: tc.path, Diags: diag.List{d}}}, Options{}); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			if lines[0] != tc.wantFirst {
				t.Errorf("Text(%q, %q) first line = %q, want %q", tc.path, tc.msg, lines[0], tc.wantFirst)
			}
			for _, l := range lines {
				if safetext.StartsCommand(l) || strings.Contains(l, "##[") {
					t.Errorf("Text(%q, %q) line %q reads as a command", tc.path, tc.msg, l)
				}
			}
		})
	}
}

func TestDisplayPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{".takos/app.yml", ".takos/app.yml"},
		{"::error::x.yml", "./::error::x.yml"},
		{" ::x.yml", "./ ::x.yml"},
		{"a\n::b.yml", `a\n::b.yml`},
	}
	for _, tc := range tests {
		if got := displayPath(tc.in); got != tc.want {
			t.Errorf("displayPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLineMessageCap checks the cap of messages on text lines; the cutting
// itself is safetext.Truncate, tested there.
func TestLineMessageCap(t *testing.T) {
	long := strings.Repeat("x", maxMessageRunes+50)
	if got := lineMessage(long); len([]rune(got)) != maxMessageRunes || !strings.HasSuffix(got, "…") {
		t.Errorf("lineMessage(%d runes) has %d runes, want %d ending in …", len(long), len([]rune(got)), maxMessageRunes)
	}
	exact := strings.Repeat("y", maxMessageRunes)
	if got := lineMessage(exact); got != exact {
		t.Errorf("lineMessage(%d runes) was cut, want it unchanged", maxMessageRunes)
	}
}

func TestSnippet(t *testing.T) {
	long := strings.Repeat("a", 100) + "X" + strings.Repeat("b", 200)
	tests := []struct {
		name      string
		src       string
		col       int
		wantCode  string
		wantCaret string
	}{
		{"first column", "key: v", 1, "key: v", "^"},
		{"spaces", "  - http://x", 5, "  - http://x", "    ^"},
		{"tabs copied", "\t\"x y\" ]", 2, "\t\"x y\" ]", "\t^"},
		{"tab mid-line", "    name:\t\"T\tab\"", 11, "    name:\t\"T\tab\"", "         \t^"},
		{"wide characters", "name: 日本 x", 10, "name: 日本 x", "           ^"},
		{"combining mark", "e\u0301x", 3, "e\u0301x", " ^"},
		// The Stream shows the ESC as \x1b: the caret counts its four columns.
		{"control escaped", "a\x1bb: c", 5, "a\x1bb: c", "       ^"},
		{"column past end", "ab", 9, "ab", "  ^"},
		{"column zero", "ab", 0, "ab", "^"},
		{"legacy command before column", "  ##[x]: y", 9, "  ##[x]: y", "         ^"},
		{"long line windowed", long, 101, "…" + strings.Repeat("a", snippetBefore) + "X" + strings.Repeat("b", snippetMax-snippetBefore-1) + "…",
			strings.Repeat(" ", snippetBefore+1) + "^"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, caret := snippet(tc.src, tc.col)
			if code != tc.wantCode || caret != tc.wantCaret {
				t.Errorf("snippet(%q, %d) = %q, %q, want %q, %q", tc.src, tc.col, code, caret, tc.wantCode, tc.wantCaret)
			}
		})
	}
}
