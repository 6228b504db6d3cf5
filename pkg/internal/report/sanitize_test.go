package report

import (
	"strings"
	"testing"
)

func TestEscapeControls(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "redirect URI ok", "redirect URI ok"},
		{"tab kept", "a\tb", "a\tb"},
		{"newline", "a\nb\r", `a\nb\r`},
		{"esc and nul", "\x1b[31m\x00", `\x1b[31m\x00`},
		{"del and c1", "\x7f\u0085\u009b", `\x7f\x85\x9b`},
		{"separators", "a\u2028b\u2029", `a\u2028b\u2029`},
		{"bidi", "\u202eabc\u2066", `\u202eabc\u2066`},
		{"invalid utf8", "a\xffb", `a\xffb`},
		{"non-ascii kept", "日本語 é", "日本語 é"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := escapeControls(tc.in, false); got != tc.want {
				t.Errorf("escapeControls(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if got := escapeControls("a\r\n\x1b", true); got != "a\r\n\\x1b" {
		t.Errorf("escapeControls(keepNewlines) = %q, want CR LF kept", got)
	}
}

func TestNeutralize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "app.yml:1:1: error: x [r]", "app.yml:1:1: error: x [r]"},
		{"command", "::error::x", `\::error::x`},
		{"leading space", "   ::add-mask::x", `\   ::add-mask::x`},
		{"nbsp", "\u00a0::x::y", "\\\u00a0::x::y"},
		{"zero width", "\u200b::x::y", "\\\u200b::x::y"},
		{"single colon", ":x", ":x"},
		{"legacy anywhere", "a ##[set-env name=A;]b", `a ##\[set-env name=A;]b`},
		{"legacy repeated", "###[##[", `###\[##\[`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := neutralize(tc.in)
			if got != tc.want {
				t.Errorf("neutralize(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if startsCommand(got) || strings.Contains(got, "##[") {
				t.Errorf("neutralize(%q) = %q still reads as a command", tc.in, got)
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

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"日本語です", 4, "日本語…"},
		{"", 1, ""},
	}
	for _, tc := range tests {
		if got := truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
	long := strings.Repeat("x", maxMessageRunes+50)
	if got := lineMessage(long); len([]rune(got)) != maxMessageRunes {
		t.Errorf("lineMessage(%d runes) has %d runes, want %d", len(long), len([]rune(got)), maxMessageRunes)
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
		{"control escaped", "a\x1bb: c", 5, `a\x1bb: c`, "       ^"},
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
