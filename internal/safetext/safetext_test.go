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
		{"stripped control then command", "\x00::debug::x", 0, "> ::debug::x"},
		{"single colon ok", ":x", 0, ":x"},
		{"legacy command mid-line", "see ##[set-output name=a]b", 0, `see ##\[set-output name=a]b`},
		{"ESC and tab stripped", "a\x1b[31mred\tb\x7f", 0, "a[31mredb"},
		{"C1 stripped", "a\u0085b\u009bc", 0, "a bc"},
		{"unicode line separators", "a\u2028b\u2029c", 0, "a b c"},
		{"bidi and zero-width stripped", "ad\u202emin\u200b\ufeff\u2066x", 0, "adminx"},
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
		{"\x1b[31mred\x1b[0m", 100, "[31mred[0m"},
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
		if strings.HasPrefix(strings.TrimLeft(got, " "), "::") || strings.Contains(got, "##[") {
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
