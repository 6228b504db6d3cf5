package safetext

import (
	"bytes"
	"encoding/json"
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
		{"bidi marks", "\u200e\u200f\u061c", `\u200e\u200f\u061c`},
		{"zero width", "ad\u200bmin\u200c\u200d", `ad\u200bmin\u200c\u200d`},
		{"bom and word joiner", "\ufeffx\u2060", `\ufeffx\u2060`},
		{"soft hyphen", "pay\u00adpal", `pay\xadpal`},
		{"invalid utf8", "a\xffb", `a\xffb`},
		{"non-ascii kept", "日本語 é", "日本語 é"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := EscapeControls(tc.in); got != tc.want {
				t.Errorf("EscapeControls(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
	if got := EscapeControlsKeepNewlines("a\r\n\x1b"); got != "a\r\n\\x1b" {
		t.Errorf("EscapeControlsKeepNewlines = %q, want CR LF kept", got)
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
// clean log lines (the common case) and lines that need escaping; with
// "+registry" as the CLI writes them, through the run's registry, empty
// (every lint run) or holding three secrets (an apply in Actions).
func BenchmarkStream(b *testing.B) {
	three := &Secrets{}
	for _, v := range []string{"tak_pat_0123456789abcdef0123456789", "ghs_request_token_0123456789", "client-secret-0123456789abcdef"} {
		three.Add(v)
	}
	for name, line := range map[string]string{
		"clean":   "  ~ redirect_uris: https://old.example.com/cb -> https://app.example.com/cb\n",
		"hostile": "  ~ logo_uri: https://x/l.png\r::add-mask::x\x1b[2J\u202e ##[set-env] -> \"\"\n",
	} {
		for suffix, sec := range map[string]*Secrets{"": nil, "+registry": {}, "+3secrets": three} {
			b.Run(name+suffix, func(b *testing.B) {
				s := NewStream(io.Discard)
				if sec != nil {
					s.WithSecrets(sec)
				}
				p := []byte(line)
				b.SetBytes(int64(len(p)))
				b.ReportAllocs()
				for b.Loop() {
					s.Write(p)
				}
			})
		}
	}
}

// TestStreamRedacts: a Stream with secrets shows "***" for every
// registered value and credential-shaped string on every path a line can
// take — whole lines, lines split across writes, the unfinished line at
// Flush, a long line written in parts, annotation data and properties,
// styled text — and writes a mask's value verbatim and a revealed text
// unredacted.
func TestStreamRedacts(t *testing.T) {
	const secret = "s3cr3t-value-0123456789"
	var sec Secrets
	sec.Add(secret)
	var b bytes.Buffer
	s := NewStream(&b).WithSecrets(&sec)
	s.Write([]byte("token " + secret[:5]))
	s.Write([]byte(secret[5:] + " and tak_pat_abcdef\n"))
	if err := WriteCommand(s, NewCommand("error", []Prop{{"file", "a" + secret}, {"title", "t"}}, "x "+secret)); err != nil {
		t.Fatal(err)
	}
	if err := WriteCommand(s, NewCommand("add-mask", nil, secret)); err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("styled: "))
	if err := WriteStyled(s, Red, secret+"\x1b[2J"); err != nil {
		t.Fatal(err)
	}
	s.Write([]byte(" end\n"))
	if err := WriteRevealed(s, "  OAUTH_CLIENT_SECRET="+secret+"\n"); err != nil {
		t.Fatal(err)
	}
	s.Write([]byte("tail " + secret))
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "token *** and ***\n" +
		"::error file=a***,title=t::x ***\n" +
		"::add-mask::" + secret + "\n" +
		"styled: \x1b[31m***\\x1b[2J\x1b[0m end\n" +
		"  OAUTH_CLIENT_SECRET=" + secret + "\n" +
		"tail ***\n"
	if got := b.String(); got != want {
		t.Errorf("stream wrote\n%q\nwant\n%q", got, want)
	}
}

// TestStreamRedactsAcrossStyles: a styled part of a line is written with
// the line, so a secret spelled across a style's edge — in the text shown,
// in the bytes written, or in the text given — is redacted; such a line
// loses its colours, any other keeps them.
func TestStreamRedactsAcrossStyles(t *testing.T) {
	for _, tc := range []struct {
		name, secret string
		write        func(s *Stream)
		want         string
	}{
		{"shown", "s3cr3tValue", func(s *Stream) {
			s.Write([]byte("a s3cr"))
			WriteStyled(s, Red, "3tVal")
			s.Write([]byte("ue b\n"))
		}, "a *** b\n"},
		{"written", "m00000000", func(s *Stream) {
			WriteStyled(s, Yellow, "00000000")
			s.Write([]byte("\n"))
		}, "00000000\n"},
		// Only the text given holds it: the piece shows the control
		// escaped, which no longer reads as the value.
		{"given", "s3cr\x013tValue", func(s *Stream) {
			s.Write([]byte("a s3cr"))
			WriteStyled(s, Red, "\x013tVal")
			s.Write([]byte("ue b\n"))
		}, "a *** b\n"},
		// Only the text shown holds it: an escape before the edge spells
		// it with the styled text ("\x10" and "0000000").
		{"shown escaped", "00000000", func(s *Stream) {
			s.Write([]byte("a\x10"))
			WriteStyled(s, Red, "0000000")
			s.Write([]byte("\n"))
		}, "a\\x1***\n"},
		{"two styles", "abcdefgh", func(s *Stream) {
			WriteStyled(s, Red, "abcd")
			WriteStyled(s, Cyan, "efgh")
			s.Flush()
		}, "***\n"},
		{"kept", "s3cr3tValue", func(s *Stream) {
			s.Write([]byte("x "))
			WriteStyled(s, Red, "error")
			s.Write([]byte(" s3cr3tValue\n"))
		}, "x \x1b[31merror\x1b[0m ***\n"},
		{"held until the line ends", "s3cr3tValue", func(s *Stream) {
			WriteStyled(s, Red, "error")
			if err := WriteCommand(s, NewCommand("warning", nil, "w")); err != nil {
				t.Fatal(err)
			}
		}, "\x1b[31merror\x1b[0m\n::warning::w\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sec Secrets
			sec.Add(tc.secret)
			var b bytes.Buffer
			s := NewStream(&b).WithSecrets(&sec)
			tc.write(s)
			if b.String() != tc.want {
				t.Errorf("stream wrote %q, want %q", b.String(), tc.want)
			}
		})
	}
}

// TestStreamRedactsLongLines: a line longer than the buffer is written in
// parts, and no part boundary falls inside a secret or a credential: the
// boundary (the written length less what the Stream holds back) is swept
// across each, with text before it that is and is not a credential word
// (a registered value is found whatever surrounds it; a credential by its
// shape, glued to a word of up to maxHeldWord bytes).
func TestStreamRedactsLongLines(t *testing.T) {
	const secret = "pa ss:wo,rd#[secret]" // characters no credential word has
	jws := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvIn0.c2lnbmF0dXJl"
	var sec Secrets
	sec.Add(secret)
	for _, tc := range []struct{ word, fill, glue string }{
		{secret, " ", ""}, {secret, "x", ""}, {secret, "é", ""},
		{jws, " ", ""}, {jws, " ", strings.Repeat("x", maxHeldWord-200)},
	} {
		// Every third position keeps the test quick; each is a boundary
		// inside the word for some of them.
		for tail := 0; tail < len(tc.word)+len(secret)+8; tail += 3 {
			line := strings.Repeat(tc.fill, (maxPartial-len(tc.glue))/len(tc.fill)) + tc.glue + tc.word + strings.Repeat(tc.fill, tail/len(tc.fill))
			var b bytes.Buffer
			s := NewStream(&b).WithSecrets(&sec)
			s.Write([]byte(line)) // over the cap: written in part at once
			s.Write([]byte("\n"))
			got := b.String()
			if strings.Contains(got, "wo,rd") || strings.Contains(got, "c2lnbmF0dXJl") || strings.Count(got, "***") != 1 {
				t.Fatalf("%.8q… after %q with %d bytes after it: split and shown (%d redactions)", tc.word, tc.fill, tail, strings.Count(got, "***"))
			}
		}
	}
}

// TestStyled: only the Style's own sequences pass; the text is escaped and,
// at the start of a line, neutralised; other writers get the bytes.
func TestStyled(t *testing.T) {
	var b bytes.Buffer
	s := NewStream(&b)
	WriteStyled(s, Yellow, "::warning::x")
	s.Write([]byte(" rest\n  "))
	WriteStyled(s, Cyan, "info")
	s.Write([]byte(": ::y\n"))
	want := "\x1b[33m> ::warning::x\x1b[0m rest\n  \x1b[36minfo\x1b[0m: ::y\n"
	if got := b.String(); got != want {
		t.Errorf("styled lines = %q, want %q", got, want)
	}
	b.Reset()
	WriteStyled(&b, Red, "error")
	if got := b.String(); got != "\x1b[31merror\x1b[0m" {
		t.Errorf("WriteStyled to a plain writer = %q", got)
	}
}

func TestGuard(t *testing.T) {
	s := NewStream(io.Discard)
	if Guard(s) != s {
		t.Error("Guard wrapped a Stream in another")
	}
	var b bytes.Buffer
	g := Guard(&b)
	g.Write([]byte("::error::x\n"))
	if b.String() != "> ::error::x\n" || g.Underlying() != &b {
		t.Errorf("Guard(plain writer) wrote %q", b.String())
	}
}

// TestInertJSON: the escapes keep the document's meaning and make it pass
// a Stream unchanged.
func TestInertJSON(t *testing.T) {
	v := map[string]string{"m": "a\u0085b\u202ec ##[set-env] \x1b\n\u2028 日本"}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	doc := InertJSON(string(raw))
	var back map[string]string
	if err := json.Unmarshal([]byte(doc), &back); err != nil || back["m"] != v["m"] {
		t.Fatalf("InertJSON changed the value: %v %q", err, back["m"])
	}
	var b bytes.Buffer
	s := NewStream(&b)
	JSONLines(s).Write(append(raw, '\n'))
	if b.String() != doc+"\n" {
		t.Errorf("a Stream changed inert JSON:\n%s\nwant\n%s", b.String(), doc)
	}
}

// withoutStyles is a line as a terminal shows it: the Stream writes no
// other escape sequence.
var withoutStyles = strings.NewReplacer(Red.on, "", Yellow.on, "", Cyan.on, "", styleReset, "")

// FuzzStreamRedacts: whatever is written and however it is split, a
// registered secret appears only in its mask, and the only command lines
// are the Commands given to WriteCommand.
func FuzzStreamRedacts(f *testing.F) {
	f.Add("token s3cretValue9 here\n::error::x", "s3cretValue9", uint8(9))
	f.Add("a\u2028s3cretValue9\r\n##[x]s3cretValue9", "s3cretValue9", uint8(3))
	f.Fuzz(func(t *testing.T, text, secret string, split uint8) {
		// Eight or more letters and digits, a credential's alphabet. An
		// escape can spell one with the characters around it ("\x10" and
		// "0000000"), which the Stream redacts too.
		if len(secret) < 8 || strings.IndexFunc(secret, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
		}) >= 0 {
			t.Skip()
		}
		var sec Secrets
		var b bytes.Buffer
		s := NewStream(&b).WithSecrets(&sec)
		sec.MaskWith(func(v string) error { return WriteCommand(s, NewCommand("add-mask", nil, v)) })
		sec.Add(secret)
		cut := min(int(split), len(text))
		s.Write([]byte(text[:cut]))
		WriteCommand(s, NewCommand("warning", []Prop{{"title", text}}, text))
		WriteStyled(s, Red, text)
		s.Write([]byte(text[cut:]))
		s.Flush()
		mask := NewCommand("add-mask", nil, secret).String()
		for i, line := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			switch {
			case i == 0 && line != mask:
				t.Fatalf("first line %q, want the mask", line)
			case i == 0:
			case strings.Contains(line, secret), strings.Contains(withoutStyles.Replace(line), secret):
				t.Fatalf("line %q shows the secret", line)
			case StartsCommand(line) && !strings.HasPrefix(line, "::warning title="):
				t.Fatalf("line %q reads as a command", line)
			}
		}
	})
}

// TestStreamRedactsLongStyledLines: a line whose styled text outgrows the
// buffer is written in part too, and the part's edge falls inside no secret
// (which the next write would complete) nor a credential word, while a line
// break in the styled text stays part of the line.
func TestStreamRedactsLongStyledLines(t *testing.T) {
	const secret = "s3cr3tValue9"
	jws := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvIn0.c2lnbmF0dXJl"
	for _, tc := range []struct{ styled, rest string }{
		{strings.Repeat("y", maxPartial) + " s3cr", "3tValue9 end\n"},
		{strings.Repeat("y", maxPartial) + " " + jws[:30], jws[30:] + " end\n"},
		{strings.Repeat("y", maxPartial) + " a\nb s3cr", "3tValue9 end\n"},
	} {
		var sec Secrets
		sec.Add(secret)
		var b bytes.Buffer
		s := NewStream(&b).WithSecrets(&sec)
		if err := WriteStyled(s, Red, tc.styled); err != nil {
			t.Fatal(err)
		}
		s.Write([]byte(tc.rest))
		got := withoutStyles.Replace(b.String())
		if strings.Contains(got, secret) || strings.Contains(got, "c2lnbmF0dXJl") || strings.Count(got, "***") != 1 {
			t.Errorf("%.12q… split and shown: %q", tc.rest, got[len(got)-40:])
		}
		if strings.Count(got, "\n") != 1 || !strings.HasSuffix(got, " end\n") {
			t.Errorf("%.12q…: line broken: %q", tc.rest, got[len(got)-40:])
		}
	}
}
