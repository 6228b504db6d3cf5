package safetext

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "https://app.example.com/cb", "https://app.example.com/cb"},
		{"tab kept", "a\tb", "a\tb"},
		{"newline then command", "https://x/cb\n::error title=pwned::x", `https://x/cb\n::error title=pwned::x`},
		{"CR then mask", "https://x/cb\r::add-mask::Heldout", `https://x/cb\r::add-mask::Heldout`},
		{"NEL and separators", "a\u0085b\u2028c\u2029d", `a\x85b\u2028c\u2029d`},
		{"ANSI", "\x1b[31mred", `\x1b[31mred`},
		{"bidi", "ad\u202emin", `ad\u202emin`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
		{"leading command", "::warning::x", "> ::warning::x"},
		{"leading space command", "  ::stop-commands::tok", ">   ::stop-commands::tok"},
		{"leading control then command", "\x00::debug::x", `\x00::debug::x`},
		{"legacy", "x ##[set-env name=A]b", `x ##\[set-env name=A]b`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Escape(tc.in); got != tc.want {
				t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestNewCommand(t *testing.T) {
	tests := []struct {
		name  string
		cmd   string
		props []Prop
		data  string
		want  string
	}{
		{"mask", "add-mask", nil, "s3cr%t", "::add-mask::s3cr%25t"},
		{"annotation", "error", []Prop{{"file", "a:b,c"}, {"line", "3"}, {"title", "takos-apply: r"}}, "bad\nline\r",
			"::error file=a%3Ab%2Cc,line=3,title=takos-apply%3A r::bad%0Aline%0D"},
		{"data holds a command", "notice", nil, "x\n::add-mask::y", "::notice::x%0A::add-mask::y"},
		{"bad name", "add-mask\n::error", nil, "x", ""},
		{"upper name", "Error", nil, "x", ""},
		{"bad key", "error", []Prop{{"file=x,", "y"}}, "x", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := NewCommand(tc.cmd, tc.props, tc.data)
			if got.String() != tc.want {
				t.Errorf("NewCommand(%q, %v, %q) = %q, want %q", tc.cmd, tc.props, tc.data, got.String(), tc.want)
			}
			var b bytes.Buffer
			err := WriteCommand(&b, got)
			if tc.want == "" {
				if !errors.Is(err, errInvalidCommand) || b.Len() != 0 {
					t.Errorf("WriteCommand(zero) = %v, wrote %q; want errInvalidCommand and nothing", err, b.String())
				}
				return
			}
			if err != nil || b.String() != tc.want+"\n" {
				t.Errorf("WriteCommand = %v, %q; want %q", err, b.String(), tc.want+"\n")
			}
		})
	}
}

func TestStream(t *testing.T) {
	var b bytes.Buffer
	s := NewStream(&b)
	writes := []string{
		"Plan: update OAuth client \"app\"\n",
		"  ~ redirect_uris: https://old/cb\n::error title=pwned::x -> https://new/cb\n",
		"::add-mask::stolen\n",
		"half a line ",
	}
	for _, w := range writes {
		if n, err := s.Write([]byte(w)); n != len(w) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", w, n, err)
		}
	}
	// A command ends the unfinished line first, so it starts its own.
	if err := WriteCommand(s, NewCommand("add-mask", nil, "real")); err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("tail\r::warning::x\x1b[2J"))
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "Plan: update OAuth client \"app\"\n" +
		"  ~ redirect_uris: https://old/cb\n" +
		"> ::error title=pwned::x -> https://new/cb\n" +
		"> ::add-mask::stolen\n" +
		"half a line \n" +
		"::add-mask::real\n" +
		`tail\r::warning::x\x1b[2J` + "\n"
	if got := b.String(); got != want {
		t.Errorf("stream wrote\n%s\nwant\n%s", got, want)
	}
}

func TestStreamLongLine(t *testing.T) {
	var b bytes.Buffer
	s := NewStream(&b)
	long := strings.Repeat("é", maxPartial) // 2 bytes each: over the cap
	s.Write([]byte(long))
	s.Write([]byte("\n"))
	if strings.Contains(b.String(), `\x`) {
		t.Errorf("a long line split across the cap escaped part of a rune")
	}
	if got := strings.ReplaceAll(b.String(), "\n", ""); got != long {
		t.Errorf("long line changed: %d bytes, want %d", len(got), len(long))
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestStreamWriteError(t *testing.T) {
	s := NewStream(failWriter{})
	if _, err := s.Write([]byte("x\n")); err == nil {
		t.Error("Write to a failing writer returned no error")
	}
	if err := WriteCommand(s, NewCommand("add-mask", nil, "v")); err == nil {
		t.Error("WriteCommand to a failing writer returned no error")
	}
}

// FuzzStream: whatever is written, the only lines that start a workflow
// command or hold a legacy one are the Commands given to WriteCommand.
func FuzzStream(f *testing.F) {
	f.Add("a\n::error::x\r\n", "s3cret", uint8(3))
	f.Add("\u2028::x\n##[set-env]", "%0A", uint8(0))
	f.Fuzz(func(t *testing.T, text, secret string, split uint8) {
		var b bytes.Buffer
		s := NewStream(&b)
		cut := min(int(split), len(text))
		s.Write([]byte(text[:cut]))
		own := NewCommand("add-mask", nil, secret)
		if err := WriteCommand(s, own); err != nil {
			t.Fatal(err)
		}
		s.Write([]byte(text[cut:]))
		s.Flush()
		commands := 0
		for _, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			if line == own.String() {
				commands++
				continue
			}
			if StartsCommand(line) || strings.Contains(line, "##[") {
				t.Fatalf("line %q of %q reads as a command", line, text)
			}
		}
		if commands < 1 {
			t.Fatalf("own command %q missing from %q", own, b.String())
		}
	})
}

func TestHasControl(t *testing.T) {
	for _, s := range []string{"a\tb", "a\nb", "a\rb", "\x00", "\x7f", "a\u0085", "\u2028", "\u2029", "\u202e", "\u200b", "a\xff"} {
		if !HasControl(s) {
			t.Errorf("HasControl(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", "https://app.example.com/cb?x=1#f", "openid", "日本語 é", "a b"} {
		if HasControl(s) {
			t.Errorf("HasControl(%q) = true, want false", s)
		}
	}
}

// TestStreamLongLineCommand: a line longer than the buffer is written in
// parts; a part that does not start the line is not prefixed (a long JSON
// line stays intact), but a command still cannot hide behind the split.
func TestStreamLongLineCommand(t *testing.T) {
	tests := []struct {
		name, line string
		wantPrefix bool
	}{
		{"json with :: mid-line", `{"m":"` + strings.Repeat("x", maxPartial) + `::add-mask::y"}`, false},
		{"white space then command", strings.Repeat(" ", maxPartial+10) + "::error::x", true},
		{"colon split", strings.Repeat(" ", maxPartial-5) + "::error::" + strings.Repeat("y", 20), true},
		{"legacy split", strings.Repeat("x", maxPartial-5) + "##[set-env]" + strings.Repeat("y", 20), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			s := NewStream(&b)
			for i := 0; i < len(tc.line); i += 1000 {
				s.Write([]byte(tc.line[i:min(i+1000, len(tc.line))]))
			}
			s.Write([]byte("\n"))
			got := b.String()
			if strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, "\n") {
				t.Fatalf("long line became %d lines", strings.Count(got, "\n"))
			}
			line := strings.TrimSuffix(got, "\n")
			if StartsCommand(line) || strings.Contains(line, "##[") {
				t.Errorf("long line reads as a command: %.80q…", line[len(line)-80:])
			}
			if prefixed := strings.HasPrefix(line, "> ") || strings.Contains(line, "> ::"); prefixed != tc.wantPrefix {
				t.Errorf("long line prefixed = %v, want %v", prefixed, tc.wantPrefix)
			}
			if !tc.wantPrefix && !strings.Contains(tc.line, "##[") && line != tc.line {
				t.Errorf("long line changed")
			}
		})
	}
}

// BenchmarkStream measures the cost a Stream adds to a runner stream:
// clean log lines (the common case) and lines that need escaping.
func BenchmarkStream(b *testing.B) {
	for name, line := range map[string]string{
		"clean":   "  ~ redirect_uris: https://old.example.com/cb -> https://app.example.com/cb\n",
		"hostile": "  ~ logo_uri: https://x/l.png\r::add-mask::x\x1b[2J\u202e ##[set-env] -> \"\"\n",
	} {
		b.Run(name, func(b *testing.B) {
			s := NewStream(io.Discard)
			p := []byte(line)
			b.SetBytes(int64(len(p)))
			b.ReportAllocs()
			for b.Loop() {
				s.Write(p)
			}
		})
	}
}
