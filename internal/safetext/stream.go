package safetext

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Escape renders untrusted text (a value from the manifest, a server reply,
// a token claim, a file) for one line of a terminal or runner log, keeping
// every character visible: line breaks, CR, NEL, U+2028/U+2029, ANSI and
// other C0/C1 controls, invalid UTF-8 and the invisible format characters
// become Go-style escapes (\n, \r, \x1b, \u2028, \u202e), "##[" becomes
// "##\[" and, when the result would start a "::" workflow command, it is
// prefixed with "> " (Neutralize). Tabs are kept. Unlike Line it neither
// drops nor caps anything: what is shown is what was received.
func Escape(s string) string { return Neutralize(EscapeControls(s)) }

// EscapeControls is Escape without Neutralize: the escaping of controls
// alone, for text placed after a fixed prefix on its line.
func EscapeControls(s string) string { return escapeControls(s, false) }

// EscapeControlsKeepNewlines is EscapeControls that leaves CR and LF for the
// caller to encode (workflow-command data turns them into %0D/%0A).
func EscapeControlsKeepNewlines(s string) string { return escapeControls(s, true) }

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
	b.Grow(len(s) + 8)
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

// needsEscape reports the runes EscapeControls makes visible: every C0 and
// C1 control but the tab, DEL, the line and paragraph separators and the
// invisible format characters (IsInvisible).
func needsEscape(r rune) bool {
	switch {
	case r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x2028, r == 0x2029:
		return true
	}
	return IsInvisible(r)
}

// HasControl reports whether s holds a rune no identifier or URI may
// contain: a C0 or C1 control (tab included), DEL, a line or paragraph
// separator or an invisible format character, or invalid UTF-8.
func HasControl(s string) bool {
	for _, r := range s {
		if r == '\t' || r == utf8.RuneError || needsEscape(r) {
			return true
		}
	}
	return false
}

// Command is a workflow command takos-apply itself means to write (a mask,
// one of its annotations, its notice). It can only be built by NewCommand,
// which escapes the data and properties as actions/toolkit does, so text in
// them cannot end the command's line or add a property; a Stream writes a
// Command's line as is and neutralises every other line.
type Command struct{ line string }

// Prop is one "key=value" property of a Command, in the order given.
type Prop struct{ Key, Value string }

// NewCommand returns "::name k=v,…::data". name and the keys must be
// lower-case ASCII words (they are constants of the caller); data and the
// values are escaped (%, CR, LF; values also ":" and ","), nothing else:
// callers that show untrusted text in an annotation escape it visibly
// first. An invalid name or key gives the zero Command, which WriteCommand
// refuses.
func NewCommand(name string, props []Prop, data string) Command {
	if !commandWord(name) {
		return Command{}
	}
	var b strings.Builder
	b.WriteString("::")
	b.WriteString(name)
	for i, p := range props {
		if !commandWord(p.Key) {
			return Command{}
		}
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(p.Key)
		b.WriteByte('=')
		b.WriteString(escapeProperty(p.Value))
	}
	b.WriteString("::")
	b.WriteString(escapeData(data))
	return Command{line: b.String()}
}

// String is the command's line, without the line break.
func (c Command) String() string { return c.line }

func commandWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

// escapeData is actions/toolkit's escapeData: the runner unescapes %25,
// %0D and %0A in command data.
func escapeData(s string) string {
	s = strings.ReplaceAll(s, "%", "%25")
	s = strings.ReplaceAll(s, "\r", "%0D")
	return strings.ReplaceAll(s, "\n", "%0A")
}

// escapeProperty is actions/toolkit's escapeProperty (% CR LF : ,).
func escapeProperty(s string) string {
	s = escapeData(s)
	s = strings.ReplaceAll(s, ":", "%3A")
	return strings.ReplaceAll(s, ",", "%2C")
}

// errInvalidCommand is WriteCommand's error for the zero Command.
var errInvalidCommand = fmt.Errorf("safetext: invalid workflow command name or property key")

// WriteCommand writes c on its own line of w. When w is a Stream, the
// Stream writes it (after ending any partial line, so the command starts its
// line); any other writer gets the line as is.
func WriteCommand(w io.Writer, c Command) error {
	if c.line == "" {
		return errInvalidCommand
	}
	if s, ok := w.(*Stream); ok {
		return s.command(c)
	}
	_, err := io.WriteString(w, c.line+"\n")
	return err
}

// maxPartial bounds how much of an unfinished line a Stream holds before it
// writes part of it out (a one-line JSON document can be long).
const maxPartial = 64 << 10

// Stream is the one writer of a GitHub Actions runner stream (the step's
// stdout or stderr): every line written through it is made inert — its
// controls escaped visibly and, when it would start a "::" workflow command
// or hold a legacy "##[" command, neutralised (Escape) — except the
// Commands given to WriteCommand. So no code path can print external text
// that the runner executes, whatever it forgets to escape. Tabs and
// correct lines pass unchanged.
//
// Write buffers an unfinished line until its newline; Flush writes it out.
// A Stream is safe for concurrent use.
type Stream struct {
	mu      sync.Mutex
	w       io.Writer
	partial []byte
	out     []byte // reused output buffer
	// mid is set when the start of the current line was already written:
	// the rest cannot start a command (the runner reads whole lines), so
	// it is escaped but not prefixed, which keeps a long JSON line intact.
	mid bool
}

// inert is Escape for a line's text, or for its continuation when mid.
func inert(b []byte, mid bool) string {
	if mid {
		return EscapeLegacyCommands(EscapeControls(string(b)))
	}
	return Escape(string(b))
}

// NewStream returns the Stream writing to w.
func NewStream(w io.Writer) *Stream { return &Stream{w: w} }

// Write implements io.Writer. It reports len(p) when every complete line
// was written; the error of the underlying writer otherwise.
func (s *Stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	s.out = s.out[:0]
	rest := s.partial
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		s.out = appendInert(s.out, rest[:i], s.mid)
		s.out = append(s.out, '\n')
		rest = rest[i+1:]
		s.mid = false
	}
	if len(rest) > maxPartial {
		// Keep the last few bytes, from a rune start, so that a character
		// split across writes is not escaped as invalid UTF-8, and any
		// trailing "#" or ":", so that a "##[" or "::" split here is still
		// seen whole.
		cut := len(rest) - utf8.UTFMax
		for cut > 0 && (!utf8.RuneStart(rest[cut]) || rest[cut-1] == '#' || rest[cut-1] == ':') {
			cut--
		}
		if cut > 0 {
			n := len(s.out)
			s.out = appendInert(s.out, rest[:cut], s.mid)
			rest = rest[cut:]
			// Until something visible was written, the runner's trimming
			// of leading white space can still make the rest a command.
			s.mid = s.mid || len(bytes.TrimLeftFunc(s.out[n:], unicode.IsSpace)) > 0
		}
	}
	// Keep the unfinished line at the front of the buffer for reuse.
	s.partial = append(s.partial[:0], rest...)
	if len(s.out) > 0 {
		if _, err := s.w.Write(s.out); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// appendInert appends line, made inert (inert), to dst. Printable ASCII
// that starts no command is appended as is, without building strings: it
// is nearly every line takos-apply writes.
func appendInert(dst, line []byte, mid bool) []byte {
	if plainASCII(line) && !bytes.Contains(line, legacyCommand) &&
		(mid || !bytes.HasPrefix(bytes.TrimLeft(line, " \t"), commandStart)) {
		return append(dst, line...)
	}
	return append(dst, inert(line, mid)...)
}

var legacyCommand, commandStart = []byte("##["), []byte("::")

func plainASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x7f || c < 0x20 && c != '\t' {
			return false
		}
	}
	return true
}

// Flush writes an unfinished line, made inert, and ends it.
func (s *Stream) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked()
}

func (s *Stream) flushLocked() error {
	if len(s.partial) == 0 {
		return nil
	}
	line := inert(s.partial, s.mid) + "\n"
	s.partial, s.mid = nil, false
	_, err := io.WriteString(s.w, line)
	return err
}

func (s *Stream) command(c Command) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.flushLocked(); err != nil {
		return err
	}
	_, err := io.WriteString(s.w, c.line+"\n")
	return err
}
