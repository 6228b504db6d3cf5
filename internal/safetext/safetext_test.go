package safetext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLine(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain", "invalid_redirect_uri", 0, "invalid_redirect_uri"},
		{"newline injection", "bad\n::add-mask::x\r\n::set-output name=a::b", 0, "bad ::add-mask::x  ::set-output name=a::b"},
		{"leading command", "::error::pwned", 0, "> ::error::pwned"},
		{"leading space then command", "  ::warning::x", 0, ">   ::warning::x"},
		{"newline then command at start", "\n::stop-commands::abc", 0, ">  ::stop-commands::abc"},
		{"escaped control then command", "\x00::debug::x", 0, `\x00::debug::x`},
		{"space then command after a control", "\x00 ::debug::x", 0, `\x00 ::debug::x`},
		{"single colon ok", ":x", 0, ":x"},
		{"legacy command mid-line", "see ##[set-output name=a]b", 0, `see ##\[set-output name=a]b`},
		{"ESC escaped, tab stripped", "a\x1b[31mred\tb\x7f", 0, `a\x1b[31mredb\x7f`},
		{"C1 escaped", "a\u0085b\u009bc", 0, `a b\x9bc`},
		{"unicode line separators", "a\u2028b\u2029c", 0, "a b c"},
		{"bidi and zero-width escaped", "ad\u202emin\u200b\ufeff\u2066x", 0, `ad\u202emin\u200b\ufeff\u2066x`},
		{"escape counts towards the cap", "ab\x1bcd", 5, `ab\x…`},
		{"invalid UTF-8", "a\xffb", 0, "a\ufffdb"},
		{"cap", "abcdefghij", 5, "abcd…"},
		{"exact cap", "abcde", 5, "abcde"},
		{"cap counts runes", "ééééé", 4, "ééé…"},
		{"default cap", strings.Repeat("x", 600), 0, strings.Repeat("x", 511) + "…"},
		{"empty", "", 10, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Line(tc.in, tc.max)
			if got != tc.want {
				t.Errorf("Line(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"日本語です", 4, "日本語…"},
		{"", 1, ""},
		{"ab", 1, "…"},
		{"a", 1, "a"},
		{"a\xffbc", 3, "a\xff…"},
		{strings.Repeat("x", DefaultMax), 0, strings.Repeat("x", DefaultMax)},
		{strings.Repeat("x", DefaultMax+1), -1, strings.Repeat("x", DefaultMax-1) + "…"},
	}
	for _, tc := range tests {
		got := Truncate(tc.in, tc.max)
		if got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
		limit := tc.max
		if limit <= 0 {
			limit = DefaultMax
		}
		if n := utf8.RuneCountInString(got); n > limit {
			t.Errorf("Truncate(%q, %d) has %d runes, want at most %d", tc.in, tc.max, n, limit)
		}
	}
}

func TestStartsCommand(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"::error::x", true},
		{"   ::add-mask::x", true},
		{"\t::stop-commands::tok", true},
		{"\u00a0::x::y", true},   // NBSP: .NET TrimStart trims it
		{"\u2028::x::y", true},   // line separator is white space
		{"\u200b::x::y", true},   // zero width space: not trimmed by the runner, skipped to err safe
		{"\ufeff::x::y", true},   // BOM
		{"\x00\x1b::x::y", true}, // controls
		{"::", true},
		{":x", false},
		{": :x", false},
		{"a ::error::x", false},
		{"> ::error::x", false},
		{`\::error::x`, false},
		{"", false},
	}
	for _, tc := range tests {
		if got := StartsCommand(tc.in); got != tc.want {
			t.Errorf("StartsCommand(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestEscapeLegacyCommands(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"a ##[set-env name=A;]b", `a ##\[set-env name=A;]b`},
		{"###[##[", `###\[##\[`},
		{"## [ #[", "## [ #["},
		{`##\[`, `##\[`},
	}
	for _, tc := range tests {
		got := EscapeLegacyCommands(tc.in)
		if got != tc.want {
			t.Errorf("EscapeLegacyCommands(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if strings.Contains(got, "##[") {
			t.Errorf("EscapeLegacyCommands(%q) = %q still holds a legacy command", tc.in, got)
		}
	}
}

func TestNeutralize(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain", "app.yml:1:1: error: x [r]", "app.yml:1:1: error: x [r]"},
		{"command", "::error::x", "> ::error::x"},
		{"leading space", "   ::add-mask::x", ">    ::add-mask::x"},
		{"nbsp", "\u00a0::x::y", "> \u00a0::x::y"},
		{"zero width", "\u200b::x::y", "> \u200b::x::y"},
		{"single colon", ":x", ":x"},
		{"legacy anywhere", "a ##[set-env name=A;]b", `a ##\[set-env name=A;]b`},
		{"legacy repeated", "###[##[", `###\[##\[`},
		{"both", "::x ##[y", `> ::x ##\[y`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Neutralize(tc.in)
			if got != tc.want {
				t.Errorf("Neutralize(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if StartsCommand(got) || strings.Contains(got, "##[") {
				t.Errorf("Neutralize(%q) = %q still reads as a command", tc.in, got)
			}
		})
	}
}

func TestCompact(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"  spaced \t out  ", 0, "spaced out"},
		{"{\n  \"error\": \"x\"\n}", 0, `{ "error": "x" }`},
		{"\n::error::x", 0, "> ::error::x"},
		{"", 0, ""},
		{"plain text", 100, "plain text"},
		{"line1\r\n::set-output name=x::y", 100, "line1 ::set-output name=x::y"},
		// The runner trims leading white space before looking for "::",
		// so only a visible prefix stops a workflow command.
		{"::error::injected", 100, "> ::error::injected"},
		{"\x1b[31mred\x1b[0m", 100, `\x1b[31mred\x1b[0m`},
		{"abcdefghij", 5, "abcd…"},
	}
	for _, tc := range tests {
		if got := Compact(tc.in, tc.max); got != tc.want {
			t.Errorf("Compact(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestIsInvisible(t *testing.T) {
	for _, r := range []rune{0x200b, 0x200d, 0x200e, 0x202e, 0x2066, 0x061c, 0xfeff, 0x00ad, 0x2060} {
		if !IsInvisible(r) {
			t.Errorf("IsInvisible(%U) = false, want true", r)
		}
	}
	for _, r := range []rune{'a', ' ', 'é', '日', 0x2028, '\n'} {
		if IsInvisible(r) {
			t.Errorf("IsInvisible(%U) = true, want false", r)
		}
	}
}

func TestQuote(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"plain", 10, `"plain"`},
		{"日本語", 10, `"日本語"`},
		{"a\u202eb\x00", 10, `"a\u202eb\x00"`},
		{"abcdef", 3, `"abc"…`},
		{"", 3, `""`},
	}
	for _, tc := range tests {
		if got := Quote(tc.in, tc.max); got != tc.want {
			t.Errorf("Quote(%q, %d) = %s, want %s", tc.in, tc.max, got, tc.want)
		}
	}
}

func FuzzLine(f *testing.F) {
	f.Add("::error::x\n::add-mask::y", 20)
	f.Add("\u2028 ::x", 3)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max > 4096 || max < -1 {
			return
		}
		got := Line(s, max)
		if !utf8.ValidString(got) {
			t.Fatalf("Line(%q) = %q, not valid UTF-8", s, got)
		}
		if StartsCommand(got) || strings.Contains(got, "##[") {
			t.Fatalf("Line(%q) = %q holds a workflow command", s, got)
		}
		for _, r := range got {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) || IsInvisible(r) || r == 0x2028 || r == 0x2029 {
				t.Fatalf("Line(%q) = %q keeps control %U", s, got, r)
			}
		}
		limit := max
		if limit <= 0 {
			limit = DefaultMax
		}
		// Escaping "##[" adds a rune per occurrence.
		limit += strings.Count(got, `##\[`)
		if n := utf8.RuneCountInString(strings.TrimPrefix(got, neutralPrefix)); n > limit {
			t.Fatalf("Line(%q, %d) has %d runes", s, max, n)
		}
	})
}
