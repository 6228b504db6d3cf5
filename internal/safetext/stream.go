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
// and a Stream writes it as takos-apply's own line while it neutralises every
// other line.
type Command struct {
	name  string
	props []Prop
	data  string
}

// Prop is one "key=value" property of a Command, in the order given.
type Prop struct{ Key, Value string }

// maskCommand is the command whose data is a secret, written verbatim.
const maskCommand = "add-mask"

// NewCommand returns "::name k=v,…::data". name and the keys must be
// lower-case ASCII words (they are constants of the caller). The data and
// the values are escaped as actions/toolkit does (%, CR, LF; values also
// ":" and ","), so text in them cannot end the command's line or add a
// property. Except for add-mask, whose data must reach the runner as the
// exact secret, they are also shown as a Stream shows a line: every other
// control and invisible character as a visible escape and "##[" broken up
// (the runner tries the "::" parser first, so this is defence in depth
// should a command line ever fail to parse and fall through to the legacy
// parser). An invalid name or key gives the zero Command, which
// WriteCommand refuses.
func NewCommand(name string, props []Prop, data string) Command {
	if !commandWord(name) {
		return Command{}
	}
	for _, p := range props {
		if !commandWord(p.Key) {
			return Command{}
		}
	}
	return Command{name: name, props: props, data: data}
}

// String is the command's line, without the line break.
func (c Command) String() string { return c.render(nil) }

// render builds the line; secrets, when not nil, are redacted from the data
// and property values of every command but a mask before they are escaped.
func (c Command) render(secrets *Secrets) string {
	if c.name == "" {
		return ""
	}
	// show redacts, escapes for the runner and, when escaping changed the
	// text, redacts once more: an escape can spell a registered value with
	// the characters around it ("\x10" before "0000000" reads "00000000").
	show := func(s string, escape func(string) string) string {
		if c.name == maskCommand {
			return escape(s)
		}
		if secrets != nil {
			s = secrets.Redact(s, redacted)
		}
		out := escape(EscapeLegacyCommands(EscapeControlsKeepNewlines(s)))
		if secrets != nil && out != s {
			out = secrets.Redact(out, redacted)
		}
		return out
	}
	var b strings.Builder
	b.WriteString("::")
	b.WriteString(c.name)
	for i, p := range c.props {
		if i == 0 {
			b.WriteByte(' ')
		} else {
			b.WriteByte(',')
		}
		b.WriteString(p.Key)
		b.WriteByte('=')
		b.WriteString(show(p.Value, escapeProperty))
	}
	b.WriteString("::")
	b.WriteString(show(c.data, escapeData))
	return b.String()
}

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
// line, and with its secrets redacted unless it is a mask); any other writer
// gets the line as is.
func WriteCommand(w io.Writer, c Command) error {
	if c.name == "" {
		return errInvalidCommand
	}
	if s, ok := w.(*Stream); ok {
		return s.command(c)
	}
	_, err := io.WriteString(w, c.String()+"\n")
	return err
}

// Style is a colour takos-apply itself applies (the severity of a text
// finding). A Stream writes a Style's escape sequences as they are, while it
// escapes every control character of the text it is given, so only
// takos-apply's own colours reach the terminal.
type Style struct{ on string }

// The styles of text output, and the sequence that ends each.
var (
	Red    = Style{"\x1b[31m"}
	Yellow = Style{"\x1b[33m"}
	Cyan   = Style{"\x1b[36m"}
)

const styleReset = "\x1b[0m"

// WriteStyled writes text in style st, followed by the reset sequence, as
// part of the current line. On a Stream the text itself is made inert and
// redacted like any other, and the line is written once it ends; any other
// writer gets the bytes as they are.
func WriteStyled(w io.Writer, st Style, text string) error {
	if s, ok := w.(*Stream); ok {
		return s.styled(st, text)
	}
	_, err := io.WriteString(w, st.on+text+styleReset)
	return err
}

// WriteRevealed writes text that shows a secret on purpose — the one-time
// print of a new client secret to a terminal, when no other sink exists.
// On a Stream the text is made inert like any other but not redacted; it
// ends its line. Everything else a run writes has its secrets redacted.
func WriteRevealed(w io.Writer, text string) error {
	if s, ok := w.(*Stream); ok {
		return s.reveal(text)
	}
	_, err := io.WriteString(w, text)
	return err
}

// maxPartial bounds how much of an unfinished line a Stream holds before it
// writes part of it out (a one-line JSON document can be long).
const maxPartial = 64 << 10

// maxHeldWord bounds how far a Stream that splits a long line looks back
// for the start of a word, so that a credential is not cut in two halves
// that neither its value nor its shape would match.
const maxHeldWord = 8 << 10

// redacted is what a Stream shows in place of a secret, as the runner does
// for a masked value.
const redacted = "***"

// Stream is the one writer of a process stream (stdout or stderr), in a
// GitHub Actions step and on a terminal alike: every line written through it
// is made inert — its controls escaped visibly and, when it would start a
// "::" workflow command or holds a legacy "##[" command, neutralised
// (Escape) — and, with WithSecrets, has every registered secret and every
// credential-shaped string replaced by "***", except the Commands given to
// WriteCommand (masks are written verbatim), the Styles of WriteStyled and
// the text of WriteRevealed (not redacted). So no code path can print
// external text that the runner executes or a terminal interprets, or a
// credential, whatever it forgets. Tabs and correct lines pass unchanged,
// and so does JSON made inert by InertJSON.
//
// Write and WriteStyled buffer an unfinished line until its newline; Flush
// writes it out.
// A Stream is safe for concurrent use.
type Stream struct {
	mu      sync.Mutex
	w       io.Writer
	secrets *Secrets
	partial []byte
	// pieces are the parts of the current line before partial when it has
	// styled text: the line is written whole once it ends, so that a secret
	// spelled across a style's edge is redacted like any other.
	pieces []piece
	out    []byte // reused output buffer
	// mid is set when the start of the current line was already written:
	// the rest cannot start a command (the runner reads whole lines), so
	// it is escaped but not prefixed, which keeps a long JSON line intact.
	mid bool
}

// piece is a part of a line: text in a Style, or plain text (style nil).
type piece struct {
	style *Style
	text  []byte
}

// inert is Escape for a line's text, or for its continuation when mid.
func inert(b []byte, mid bool) string {
	if mid {
		return Shown(string(b))
	}
	return Escape(string(b))
}

// Shown is how a Stream shows s in the middle of a line: controls and
// invisible characters escaped (EscapeControls) and "##[" broken up. A
// caret placed under text the Stream prints is aligned with it.
func Shown(s string) string { return EscapeLegacyCommands(EscapeControls(s)) }

// NewStream returns the Stream writing to w.
func NewStream(w io.Writer) *Stream { return &Stream{w: w} }

// Guard returns w if it is a Stream already, else a new Stream on w: a
// renderer of text lines calls it once for its writer, so its output is
// inert whoever calls it, and the CLI's Stream does the work only once.
func Guard(w io.Writer) *Stream {
	if s, ok := w.(*Stream); ok {
		return s
	}
	return NewStream(w)
}

// WithSecrets makes s redact every value of secrets (and every
// credential-shaped string) on each line; call it before the first write.
func (s *Stream) WithSecrets(secrets *Secrets) *Stream {
	s.secrets = secrets
	return s
}

// Underlying is the writer s writes to (to ask whether it is a terminal).
func (s *Stream) Underlying() io.Writer { return s.w }

// Write implements io.Writer. It reports len(p) when every complete line
// was written; the error of the underlying writer otherwise.
func (s *Stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.writeLocked(p, true); err != nil {
		return 0, err
	}
	return len(p), nil
}

// writeLocked adds p to the current line and writes every line it
// completes, redacted when redact is set.
func (s *Stream) writeLocked(p []byte, redact bool) error {
	s.partial = append(s.partial, p...)
	s.out = s.out[:0]
	rest := s.partial
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		s.out = s.appendLine(s.out, rest[:i], redact)
		s.out = append(s.out, '\n')
		rest = rest[i+1:]
		s.mid = false
	}
	if len(rest) > maxPartial {
		if cut := s.cutPoint(rest); cut > 0 {
			n := len(s.out)
			s.out = s.appendLine(s.out, rest[:cut], redact)
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
			return err
		}
	}
	return nil
}

// cutPoint is where a long unfinished line is split. The last few bytes
// stay, from a rune start, so that a character split across writes is not
// escaped as invalid UTF-8, with any trailing "#" or ":", so that a "##["
// or "::" split here is still seen whole. With secrets, as many bytes as
// the longest secret less one stay too, and the split does not fall inside
// a word of credential characters (maxHeldWord at most), so that no secret
// is cut in two halves its value or its shape would not match.
func (s *Stream) cutPoint(rest []byte) int {
	hold := utf8.UTFMax
	if s.secrets != nil {
		hold = max(hold, s.secrets.maxLen()-1)
	}
	cut := len(rest) - hold
	for cut > 0 && (!utf8.RuneStart(rest[cut]) || rest[cut-1] == '#' || rest[cut-1] == ':') {
		cut--
	}
	if s.secrets != nil && cut > 0 {
		for c := cut; c > 0 && len(rest)-c < maxHeldWord; c-- {
			if !credentialByte(rest[c-1]) {
				cut = c
				break
			}
		}
		cut = s.secrets.cutOutside(rest, cut)
	}
	return cut
}

// credentialByte reports the bytes of a token, a JWS or a base64 value.
func credentialByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~' || c == '+' || c == '/' || c == '=' || c == '%'
}

// redact applies the Stream's secrets to line (when redact is set).
func (s *Stream) redact(line []byte, redact bool) []byte {
	if !redact || s.secrets == nil {
		return line
	}
	return s.secrets.redactLine(line, redacted)
}

// appendGuarded appends line redacted and made inert. An escape can spell
// a registered value with the characters around it ("\x10" before "0000000"
// reads "00000000"), so a line that escaping changed is redacted once more.
func (s *Stream) appendGuarded(dst, line []byte, redact, mid bool) []byte {
	red := s.redact(line, redact)
	n := len(dst)
	dst = appendInert(dst, red, mid)
	if redact && s.secrets != nil && s.secrets.count.Load() > 0 && !bytes.Equal(dst[n:], red) {
		if again := s.secrets.redactLine(dst[n:], redacted); !bytes.Equal(again, dst[n:]) {
			dst = append(dst[:n], again...)
		}
	}
	return dst
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
	return s.flushLocked(true)
}

func (s *Stream) flushLocked(redact bool) error {
	if len(s.partial) == 0 && len(s.pieces) == 0 {
		return nil
	}
	line := append(s.appendLine(nil, s.partial, redact), '\n')
	s.partial, s.mid = s.partial[:0], false
	_, err := s.w.Write(line)
	return err
}

func (s *Stream) command(c Command) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.flushLocked(true); err != nil {
		return err
	}
	_, err := io.WriteString(s.w, c.render(s.secrets)+"\n")
	return err
}

// styled adds text in style st to the current line, which is written
// when it ends (or, without its styles, when it grows past maxPartial).
func (s *Stream) styled(st Style, text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.partial) > 0 {
		s.pieces = append(s.pieces, piece{text: bytes.Clone(s.partial)})
		s.partial = s.partial[:0]
	}
	s.pieces = append(s.pieces, piece{style: &st, text: []byte(text)})
	held := 0
	for _, p := range s.pieces {
		held += len(p.text)
	}
	if held <= maxPartial {
		return nil
	}
	// Too long to hold: the line goes on without its styles and is written
	// up to where a long plain line is cut (cutPoint), so that the next
	// write cannot complete a secret begun here. The rest is held as plain
	// text, from after any line break (styled text shows one escaped, as
	// part of the line), so that it adds no line break.
	var all []byte
	for _, p := range s.pieces {
		all = append(all, p.text...)
	}
	clear(s.pieces)
	s.pieces = s.pieces[:0]
	cut := max(s.cutPoint(all), bytes.LastIndexByte(all, '\n')+1)
	out := s.appendGuarded(nil, all[:cut], true, s.mid)
	s.mid = s.mid || len(bytes.TrimLeftFunc(out, unicode.IsSpace)) > 0
	s.partial = append(s.partial[:0], all[cut:]...)
	if len(out) == 0 {
		return nil
	}
	_, err := s.w.Write(out)
	return err
}

// appendLine appends the held pieces of the current line and then tail,
// each made inert and, when redact is set, redacted as appendGuarded does,
// and empties the pieces. A style's sequences sit between two pieces, so a
// secret can also be spelled across a piece's edge: in the line as it is
// written, as it is shown (without the sequences) or as it was given. Such
// a line is written without its styles, redacted as a plain line is.
func (s *Stream) appendLine(dst, tail []byte, redact bool) []byte {
	if len(s.pieces) == 0 {
		return s.appendGuarded(dst, tail, redact, s.mid)
	}
	defer func() {
		clear(s.pieces)
		s.pieces = s.pieces[:0]
	}()
	if len(tail) > 0 {
		s.pieces = append(s.pieces, piece{text: tail})
	}
	check := redact && s.secrets != nil
	n := len(dst)
	var shown, given []byte
	started := s.mid
	for _, p := range s.pieces {
		if p.style != nil {
			dst = append(dst, p.style.on...)
		}
		m := len(dst)
		dst = s.appendGuarded(dst, p.text, redact, started)
		started = started || len(bytes.TrimLeftFunc(dst[m:], unicode.IsSpace)) > 0
		if check {
			shown = append(shown, dst[m:]...)
			given = append(given, s.redact(p.text, true)...)
		}
		if p.style != nil {
			dst = append(dst, styleReset...)
		}
	}
	if !check {
		return dst
	}
	for _, b := range [][]byte{dst[n:], shown, given} {
		if !bytes.Equal(s.secrets.redactLine(b, redacted), b) {
			var all []byte
			for _, p := range s.pieces {
				all = append(all, p.text...)
			}
			return s.appendGuarded(dst[:n], all, true, s.mid)
		}
	}
	return dst
}

// reveal writes text as Write does, without redacting it, and ends the
// line.
func (s *Stream) reveal(text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.flushLocked(true); err != nil {
		return err
	}
	if err := s.writeLocked([]byte(text), false); err != nil {
		return err
	}
	return s.flushLocked(false)
}

// InertJSON returns a JSON text that every Stream passes unchanged: besides
// what encoding/json escapes (C0 controls, U+2028, U+2029), C1 controls and
// invisible format characters become \u escapes and "##[" becomes
// "##\u005b". They can only occur inside strings, where the escapes decode
// to the same text, so the document means exactly what it meant: JSON's
// own escaping is its guard, and the data stays exact.
func InertJSON(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r >= 0x80 && r <= 0x9f || IsInvisible(r) }) &&
		!strings.Contains(s, "##[") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		if r >= 0x80 && r <= 0x9f || IsInvisible(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return strings.ReplaceAll(b.String(), "##[", `##\u005b`)
}

// JSONLines returns a writer that passes each write, a JSON text such as one
// log/slog JSON record, through InertJSON to w.
func JSONLines(w io.Writer) io.Writer { return jsonLines{w} }

type jsonLines struct{ w io.Writer }

func (j jsonLines) Write(p []byte) (int, error) {
	if _, err := io.WriteString(j.w, InertJSON(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}
