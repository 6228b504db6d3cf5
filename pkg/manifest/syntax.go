package manifest

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// yaml.v3 (libyaml) reports a syntax error as "yaml: line N: message"
// without a column, and N is often the line where the enclosing construct
// began (its "context mark"), not the token that broke the parse: a key
// indented by one space too many is reported at the mapping's first line.
// syntaxDiag therefore re-reads the source around the error, finds the
// token PyYAML and the npm yaml package would point at, and says what to
// write for the common mistakes. Only files that failed to parse come
// here, so none of this is on the hot path.

// anchorRE reads yaml.v3's "unknown anchor 'x' referenced".
var anchorRE = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// lineRE splits yaml.v3's message.
var lineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

func syntaxDiag(doc *Document, err error) diag.Diagnostic {
	msg := err.Error()
	line := 1
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			line, _ = strconv.Atoi(m[1])
		}
		msg = m[2]
	}
	src := newSrcLines(doc.Source)
	line = src.clampLine(line)
	pos, text := src.locate(msg, line)
	return doc.at(src.clamp(pos), RuleSyntax, "invalid YAML: "+text)
}

// srcLines is the source split into lines (without "\n" or a trailing
// "\r"), for the locator.
type srcLines [][]byte

func newSrcLines(src []byte) srcLines {
	ls := bytes.Split(src, []byte("\n"))
	for i, l := range ls {
		ls[i] = bytes.TrimSuffix(l, []byte("\r"))
	}
	// A final newline does not start a line a finding could point into.
	if len(ls) > 1 && len(ls[len(ls)-1]) == 0 {
		ls = ls[:len(ls)-1]
	}
	return ls
}

// get returns line n (1-based), or nil.
func (s srcLines) get(n int) []byte {
	if n < 1 || n > len(s) {
		return nil
	}
	return s[n-1]
}

func (s srcLines) clampLine(n int) int {
	return max(1, min(n, len(s)))
}

// clamp keeps a position inside the file: a line that exists and a column
// at most one past its last character.
func (s srcLines) clamp(p diag.Pos) diag.Pos {
	p.Line = s.clampLine(p.Line)
	p.Column = max(1, min(p.Column, utf8.RuneCount(s.get(p.Line))+1))
	return p
}

// col converts a byte offset in line n to a 1-based column in runes.
func (s srcLines) col(n, off int) int {
	l := s.get(n)
	off = max(0, min(off, len(l)))
	return 1 + utf8.RuneCount(l[:off])
}

// indent is the number of leading spaces of l.
func indent(l []byte) int {
	return len(l) - len(bytes.TrimLeft(l, " "))
}

// blank reports whether l holds nothing a parser reads: only spaces, or a
// comment.
func blank(l []byte) bool {
	t := bytes.TrimLeft(l, " \t")
	return len(t) == 0 || t[0] == '#'
}

// locate returns the position of the token that broke the parse and the
// message to show: yaml.v3's words, then what to write.
func (s srcLines) locate(msg string, line int) (diag.Pos, string) {
	at := func(n, off int) diag.Pos { return diag.Pos{Line: n, Column: s.col(n, off)} }
	firstToken := func(n int) diag.Pos { return at(n, indent(s.get(n))) }
	switch {
	case strings.Contains(msg, "tab"):
		if n, off, ok := s.findTabIndent(line); ok {
			return at(n, off), msg + "; indent with spaces, not tabs (YAML forbids tabs in indentation)"
		}
	case strings.Contains(msg, "found character that cannot start any token"):
		if n, off, ok := s.findTabIndent(line); ok {
			return at(n, off), "a tab is used for indentation; indent with spaces, not tabs (YAML forbids tabs in indentation)"
		}
		if off, c, ok := badTokenStart(s.get(line)); ok {
			return at(line, off), fmt.Sprintf("a plain value cannot start with %q; quote the value, for example %s", c, quoteExample(s.get(line), off))
		}
	case strings.Contains(msg, "found unexpected end of stream"):
		if n, off, q, ok := s.findUnclosedQuote(line); ok {
			return at(n, off), fmt.Sprintf("this %s string is never closed (the file ends inside it); add the closing %c where the value ends", quoteName(q), q)
		}
	case strings.Contains(msg, "did not find expected ',' or ']'"), strings.Contains(msg, "did not find expected ',' or '}'"):
		closer := byte(']')
		if strings.Contains(msg, "'}'") {
			closer = '}'
		}
		if bytes.ContainsRune(s.get(line), '?') && closer == ']' {
			// yaml.v3 (libyaml) takes a '?' inside a flow collection as a key
			// indicator; YAML 1.2 and Takos read https://x/cb?a=1 as text.
			if off, ok := flowItemWithQuestion(s.get(line)); ok {
				return at(line, off), "takos-apply's YAML reader cannot read an unquoted '?' inside [...] or {...} (Takos's can), so quote that value, for example \"https://app.example.com/cb?a=1\""
			}
		}
		opener := byte('[')
		if closer == '}' {
			opener = '{'
		}
		if n, off, ok := s.findOpener(line, opener); ok {
			if opener == '{' {
				return at(n, off), "this { is never closed; end the mapping with } on the same line (for example metadata: {logoUri: https://app.example.com/logo.png}), or write one 'key: value' per line, indented under its key"
			}
			return at(n, off), "this [ is never closed; end the list with ] on the same line (for example scopes: [openid, profile]), or write it as a block list with one '- item' per line"
		}
	case strings.Contains(msg, "mapping values are not allowed in this context"):
		l := s.get(line)
		if keyEnd, ok := keyColon(l); ok {
			if off, ok := valueColon(l, keyEnd+1); ok {
				return at(line, off), fmt.Sprintf("a value that contains \": \" must be quoted; write %s", quotedPair(l, keyEnd))
			}
		}
		if p, hint, ok := s.overIndented(line); ok {
			return p, hint
		}
		return firstToken(line), msg + "; if this value contains \": \", quote it"
	case strings.Contains(msg, "did not find expected key"), strings.Contains(msg, "did not find expected '-' indicator"),
		strings.Contains(msg, "could not find expected ':'"):
		if p, hint, ok := s.badIndent(line); ok {
			return p, hint
		}
	case strings.Contains(msg, "block sequence entries are not allowed in this context"):
		l := s.get(line)
		if keyEnd, ok := keyColon(l); ok {
			if off := bytes.Index(l[keyEnd:], []byte("- ")); off >= 0 {
				return at(line, keyEnd+off), "a list cannot start on the line of its key; put each '- item' on its own line, indented under the key, or write [a, b]"
			}
		}
	case strings.Contains(msg, "found unknown escape character"), strings.Contains(msg, "did not find expected hexdigits"):
		if off := bytes.IndexByte(s.get(line), '\\'); off >= 0 {
			return at(line, off), msg + "; inside double quotes write \\\\ for a backslash, or use single quotes"
		}
	case strings.HasPrefix(msg, "unknown anchor"):
		// yaml.v3 gives no line for this one: find the alias.
		if m := anchorRE.FindStringSubmatch(msg); m != nil {
			for n := 1; n <= len(s); n++ {
				if off := bytes.Index(s.get(n), []byte("*"+m[1])); off >= 0 {
					return at(n, off), fmt.Sprintf("*%s refers to no anchor; define &%s before it, or quote a value that starts with '*'", m[1], m[1])
				}
			}
		}
	}
	return firstToken(line), msg + "; fix the YAML syntax at or just before this line"
}

// flowItemWithQuestion finds the start of the first item of a flow
// collection on l that holds a '?'.
func flowItemWithQuestion(l []byte) (int, bool) {
	q := bytes.IndexByte(l, '?')
	if q < 0 {
		return 0, false
	}
	start := bytes.LastIndexAny(l[:q], "[{,")
	if start < 0 {
		return 0, false
	}
	start++
	for start < q && l[start] == ' ' {
		start++
	}
	return start, true
}

// findTabIndent finds a tab in the indentation of line n, or of the first
// later line that has one (yaml.v3 may report the line before).
func (s srcLines) findTabIndent(n int) (int, int, bool) {
	for i := max(1, n-1); i <= len(s) && i <= n+1; i++ {
		l := s.get(i)
		for off, c := range l {
			if c == '\t' {
				return i, off, true
			}
			if c != ' ' && c != '-' {
				break
			}
		}
	}
	return 0, 0, false
}

// badTokenStart finds a character that cannot start a plain scalar ('@'
// or '`') at the start of the line's value.
func badTokenStart(l []byte) (int, byte, bool) {
	start := indent(l)
	if keyEnd, ok := keyColon(l); ok {
		start = keyEnd + 1
		for start < len(l) && l[start] == ' ' {
			start++
		}
	} else if bytes.HasPrefix(l[start:], []byte("- ")) {
		start += 2
		for start < len(l) && l[start] == ' ' {
			start++
		}
	}
	if start < len(l) && (l[start] == '@' || l[start] == '`') {
		return start, l[start], true
	}
	return 0, 0, false
}

func quoteName(q byte) string {
	if q == '\'' {
		return "single-quoted"
	}
	return "double-quoted"
}

// findUnclosedQuote finds, from line n on, the opening quote of a quoted
// value that is still open at the end of the file. yaml.v3 reports the line
// where the value started. One pass: a closed value is skipped whole.
func (s srcLines) findUnclosedQuote(n int) (int, int, byte, bool) {
	for i, off := n, 0; i <= len(s); i, off = i+1, 0 {
		l := s.get(i)
		for ; off < len(l); off++ {
			c := l[off]
			if c == '#' && (off == 0 || l[off-1] == ' ') {
				break
			}
			if (c != '"' && c != '\'') || !valueStart(l, off) {
				continue
			}
			end, ok := closeQuote(s, i, off)
			if !ok {
				return i, off, c, true
			}
			i, off, l = end.line, end.off, s.get(end.line)
		}
	}
	return 0, 0, 0, false
}

// valueStart reports whether a quote at l[off] starts a scalar: at the
// start of the line's content, after ": ", "- ", or a flow indicator.
func valueStart(l []byte, off int) bool {
	j := off - 1
	for j >= 0 && l[j] == ' ' {
		j--
	}
	if j < 0 {
		return true
	}
	switch l[j] {
	case '[', '{', ',':
		return true
	case ':', '-':
		return j+1 < off // ": " or "- ", not "a:'"
	}
	return false
}

type textPos struct{ line, off int }

// closeQuote finds the quote that closes the one at (n, off), following
// the value over lines.
func closeQuote(s srcLines, n, off int) (textPos, bool) {
	q := s.get(n)[off]
	i, j := n, off+1
	for i <= len(s) {
		l := s.get(i)
		for ; j < len(l); j++ {
			switch {
			case q == '"' && l[j] == '\\':
				j++
			case l[j] == q && q == '\'' && j+1 < len(l) && l[j+1] == '\'':
				j++
			case l[j] == q:
				return textPos{i, j}, true
			}
		}
		i, j = i+1, 0
	}
	return textPos{}, false
}

// findOpener finds the flow opener ('[' or '{') that starts a value on line
// n or later and is not closed before the next line that is not indented
// past the line that opened it. One pass: a closed collection is skipped
// whole.
func (s srcLines) findOpener(n int, opener byte) (int, int, bool) {
	for i, off := n, 0; i <= len(s); i, off = i+1, 0 {
		l := s.get(i)
		for ; off < len(l); off++ {
			if l[off] == '#' && (off == 0 || l[off-1] == ' ') {
				break
			}
			if l[off] != opener || !valueStart(l, off) {
				continue
			}
			end, ok := s.flowEnd(i, off)
			if !ok {
				return i, off, true
			}
			i, off, l = end.line, end.off, s.get(end.line)
		}
	}
	return 0, 0, false
}

// flowEnd finds the bracket that closes the flow collection opened at
// (n, off), reading on while lines are indented past line n.
func (s srcLines) flowEnd(n, off int) (textPos, bool) {
	depth := 0
	base := indent(s.get(n))
	for i, j := n, off; i <= len(s); i, j = i+1, 0 {
		l := s.get(i)
		if i > n && !blank(l) && indent(l) <= base {
			return textPos{}, false
		}
		for ; j < len(l); j++ {
			switch c := l[j]; c {
			case '[', '{':
				depth++
			case ']', '}':
				depth--
				if depth == 0 {
					return textPos{i, j}, true
				}
			case '"', '\'':
				if end, ok := closeQuote(s, i, j); ok && end.line == i {
					j = end.off
				}
			case '#':
				if j > 0 && l[j-1] == ' ' {
					j = len(l)
				}
			}
		}
	}
	return textPos{}, false
}

// keyColon returns the offset of the ':' that ends a plain block key at the
// start of l ("  key: value", "- key: value"), outside quotes.
func keyColon(l []byte) (int, bool) {
	start := indent(l)
	if bytes.HasPrefix(l[start:], []byte("- ")) {
		start += 2
	}
	if start >= len(l) {
		return 0, false
	}
	switch l[start] {
	case '"', '\'', '[', '{', '#', '|', '>':
		return 0, false
	}
	for off := start; off < len(l); off++ {
		if l[off] == ':' && (off+1 == len(l) || l[off+1] == ' ') {
			return off, true
		}
		if l[off] == '#' && off > 0 && l[off-1] == ' ' {
			return 0, false
		}
	}
	return 0, false
}

// valueColon finds a ": " (or a final ':') inside the plain value that
// starts at or after l[from].
func valueColon(l []byte, from int) (int, bool) {
	for from < len(l) && l[from] == ' ' {
		from++
	}
	if from >= len(l) {
		return 0, false
	}
	switch l[from] {
	case '"', '\'', '[', '{', '|', '>':
		return 0, false
	}
	for off := from; off < len(l); off++ {
		if l[off] == '#' && l[off-1] == ' ' {
			return 0, false
		}
		if l[off] == ':' && (off+1 == len(l) || l[off+1] == ' ') {
			return off, true
		}
	}
	return 0, false
}

// quotedPair rewrites "key: a: b # c" as `key: "a: b"` for the hint.
func quotedPair(l []byte, keyEnd int) string {
	key := string(bytes.TrimSpace(l[:keyEnd]))
	val := bytes.TrimSpace(l[keyEnd+1:])
	if i := bytes.Index(val, []byte(" #")); i >= 0 {
		val = bytes.TrimSpace(val[:i])
	}
	return key + ": " + strconv.Quote(string(val))
}

// quoteExample is the line's value at off, quoted.
func quoteExample(l []byte, off int) string {
	val := bytes.TrimSpace(l[off:])
	if i := bytes.Index(val, []byte(" #")); i >= 0 {
		val = bytes.TrimSpace(val[:i])
	}
	return strconv.Quote(string(val))
}

// level is one open block mapping or sequence while reading indentation:
// the column its entries start at, the line of its first entry, the key
// that holds it ("" at the top, "-" for a list item) and whether its
// entries are "- " items.
type level struct {
	indent int
	line   int
	name   string
	seq    bool
}

func (lv level) String() string {
	switch {
	case lv.name == "" && lv.indent == 0:
		return "the top-level keys start in column 1"
	case lv.name == "-" || lv.name == "":
		return fmt.Sprintf("the keys of the list item on line %d are indented by %d", lv.line, lv.indent)
	case lv.seq:
		return fmt.Sprintf("the items under %q (line %d) are indented by %d", lv.name, lv.line, lv.indent)
	}
	return fmt.Sprintf("the keys under %q (line %d) are indented by %d", lv.name, lv.line, lv.indent)
}

// badIndent finds the first line at or after the reported one whose
// indentation matches no open block: the usual cause of libyaml's "did not
// find expected key", which it reports at the line where the enclosing
// mapping began. It reads block structure only (keys, "- " entries), skips
// block scalars and values spread over lines, and gives up (ok false) on
// anything else.
func (s srcLines) badIndent(reported int) (diag.Pos, string, bool) {
	var stack []level
	push := func(lv level) {
		if len(stack) == 0 || stack[len(stack)-1].indent < lv.indent {
			stack = append(stack, lv)
		}
	}
	var prev []byte // previous line that holds a key or entry
	prevLine := 0
	pending := "" // the key whose block the next, deeper line opens; "-" for a bare entry
	open := false
	for n := 1; n <= len(s); n++ {
		l := s.get(n)
		if blank(l) {
			continue
		}
		ind := indent(l)
		_, isKey := keyColon(l)
		isEntry := bytes.HasPrefix(l[ind:], []byte("- ")) || len(l) == ind+1 && l[ind] == '-'
		switch {
		case len(stack) == 0:
			push(level{indent: ind, line: n, seq: isEntry})
		case ind > stack[len(stack)-1].indent:
			switch {
			case open:
				push(level{indent: ind, line: n, name: pending, seq: isEntry})
			case (isKey || isEntry) && n >= reported:
				return s.overIndentedAt(n, prevLine, prev)
			default:
				continue // a plain value continued on a deeper line
			}
		default:
			var above *level // the innermost block closed by this line
			for len(stack) > 1 && stack[len(stack)-1].indent > ind {
				above = &stack[len(stack)-1]
				stack = stack[:len(stack)-1]
			}
			below := stack[len(stack)-1]
			switch {
			case below.indent != ind && n >= reported:
				return s.misaligned(n, ind, above, below)
			case below.indent != ind:
				push(level{indent: ind, line: n, seq: isEntry})
			case below.seq && !isEntry && n >= reported:
				return diag.Pos{Line: n, Column: s.col(n, ind)}, fmt.Sprintf(
					"this key is indented like the list items of line %d, and a list cannot continue with a key; indent it less to close the list, or write it as '- %s'",
					below.line, bytes.TrimSpace(l)), true
			case !below.seq && isEntry && !open && !bytes.HasPrefix(bytes.TrimLeft(prev, " "), []byte("-")) && n >= reported:
				return diag.Pos{Line: n, Column: s.col(n, ind)}, fmt.Sprintf(
					"this list item is indented like the keys of line %d; put the list under its key, indented further", below.line), true
			}
		}
		open, pending = false, ""
		body := l[ind:]
		if isEntry {
			// "- key: value" opens a mapping whose keys align with "key".
			rest := bytes.TrimLeft(body[1:], " ")
			if _, ok := keyColon(rest); ok {
				push(level{indent: ind + len(body) - len(rest), line: n, name: "-"})
			}
			if len(rest) == 0 {
				open, pending = true, "-"
			}
		}
		if k, ok := keyColon(l); ok {
			v := bytes.TrimSpace(l[k+1:])
			if len(v) == 0 || v[0] == '#' {
				open, pending = true, keyName(l)
			}
		}
		prev, prevLine = l, n
		n = s.skipValueLines(n, ind)
	}
	return diag.Pos{}, "", false
}

// skipValueLines returns the last line of a value that starts on line n
// (indented ind) and goes on over later lines: a block scalar ("|", ">")
// takes the lines indented at least as much as its first line; an open
// "[", "{" or quote the lines indented past ind.
func (s srcLines) skipValueLines(n, ind int) int {
	switch {
	case isBlockScalarLine(s.get(n)):
		body := -1
		for n+1 <= len(s) {
			l := s.get(n + 1)
			if !blank(l) || len(bytes.TrimSpace(l)) > 0 && body < 0 {
				if body < 0 {
					body = indent(l)
					if body <= ind {
						return n
					}
				}
				if !blank(l) && indent(l) < body {
					return n
				}
			}
			n++
		}
	case multiLineFlowOrQuote(s, n):
		for n+1 <= len(s) && (blank(s.get(n+1)) || indent(s.get(n+1)) > ind) {
			n++
		}
	}
	return n
}

// opensBlock reports whether a line ends with a key and no value ("oauth:"),
// or is a bare "-": the next, deeper line opens a block.
func opensBlock(l []byte) bool {
	t := bytes.TrimRight(l, " ")
	if i := bytes.Index(t, []byte(" #")); i >= 0 {
		t = bytes.TrimRight(t[:i], " ")
	}
	body := bytes.TrimLeft(t, " ")
	if bytes.Equal(body, []byte("-")) {
		return true
	}
	if k, ok := keyColon(t); ok && k == len(t)-1 {
		return true
	}
	// "- key: value" opens a mapping whose next keys align with "key".
	if bytes.HasPrefix(body, []byte("- ")) {
		return true
	}
	return false
}

func keyName(l []byte) string {
	if k, ok := keyColon(l); ok {
		name := bytes.TrimSpace(l[:k])
		name = bytes.TrimPrefix(name, []byte("- "))
		return string(name)
	}
	return ""
}

func isBlockScalarLine(l []byte) bool {
	k, ok := keyColon(l)
	if !ok {
		return false
	}
	v := bytes.TrimSpace(l[k+1:])
	if i := bytes.Index(v, []byte(" #")); i >= 0 {
		v = bytes.TrimSpace(v[:i])
	}
	return len(v) > 0 && (v[0] == '|' || v[0] == '>')
}

// multiLineFlowOrQuote reports whether the value on line n continues on
// later lines (an open '[', '{' or quote).
func multiLineFlowOrQuote(s srcLines, n int) bool {
	l := s.get(n)
	k, ok := keyColon(l)
	start := indent(l)
	if ok {
		start = k + 1
	} else if bytes.HasPrefix(l[start:], []byte("- ")) {
		start += 2
	}
	for start < len(l) && l[start] == ' ' {
		start++
	}
	if start >= len(l) {
		return false
	}
	switch l[start] {
	case '[', '{':
		return !closesOnLine(l[start:])
	case '"', '\'':
		end, ok := closeQuote(s, n, start)
		return !ok || end.line != n
	}
	return false
}

func closesOnLine(v []byte) bool {
	depth := 0
	for _, c := range v {
		switch c {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return true
			}
		}
	}
	return false
}

// overIndented explains a line that is indented past the key above it.
func (s srcLines) overIndented(n int) (diag.Pos, string, bool) {
	for p := n - 1; p >= 1; p-- {
		if l := s.get(p); !blank(l) {
			if indent(s.get(n)) > indent(l) && !opensBlock(l) {
				return s.overIndentedAt(n, p, l)
			}
			return diag.Pos{}, "", false
		}
	}
	return diag.Pos{}, "", false
}

func (s srcLines) overIndentedAt(n, prevLine int, prev []byte) (diag.Pos, string, bool) {
	l := s.get(n)
	pos := diag.Pos{Line: n, Column: s.col(n, indent(l))}
	want := indent(prev)
	if bytes.HasPrefix(prev[want:], []byte("- ")) {
		want += 2
	}
	if isBlockScalarLine(prev) {
		for b := prevLine + 1; b < n; b++ {
			if bl := s.get(b); !blank(bl) {
				return pos, fmt.Sprintf("this line is indented by %s: less than the text of the %q block on line %d (%s), which it ends, and more than %q; indent it by %s to keep it in the text, or by %s to make it a sibling key",
					spaces(indent(l)), keyName(prev), prevLine, spaces(indent(bl)), keyName(prev), spaces(indent(bl)), spaces(want)), true
			}
		}
	}
	if _, ok := keyColon(prev); !ok {
		if w := bytes.TrimSpace(prev); len(w) > 0 && !bytes.ContainsAny(w, " :#'\"[]{}") {
			// "oauth" alone on its line, then its keys: the ':' is missing.
			return diag.Pos{Line: prevLine, Column: s.col(prevLine, len(bytes.TrimRight(prev, " ")))},
				fmt.Sprintf("%q has no ':' after it, so the indented lines below cannot be its keys; write %s:", w, w), true
		}
		return pos, fmt.Sprintf("this line is indented more than line %d, which holds no key (is a ':' missing there?); indent it by %s like the lines around it", prevLine, spaces(want)), true
	}
	return pos, fmt.Sprintf("this line is indented by %s, more than %q on line %d, so YAML reads it as part of that value; indent it by %s to make it a sibling key",
		spaces(indent(l)), keyName(prev), prevLine, spaces(want)), true
}

// misaligned explains a line whose indentation matches no open block:
// above is the innermost block it closed (nil if none), below the block it
// would belong to.
func (s srcLines) misaligned(n, ind int, above *level, below level) (diag.Pos, string, bool) {
	pos := diag.Pos{Line: n, Column: s.col(n, ind)}
	if below.indent > ind {
		return pos, fmt.Sprintf("this line is indented by %s, less than the first line of the file; indent every top-level key the same", spaces(ind)), true
	}
	opts := []string{}
	if above != nil {
		opts = append(opts, above.String())
	}
	opts = append(opts, below.String())
	return pos, fmt.Sprintf("this line is indented by %s, which matches no enclosing block: %s; align it with one of them",
		spaces(ind), strings.Join(opts, ", and ")), true
}

func spaces(n int) string {
	if n == 1 {
		return "1 space"
	}
	return fmt.Sprintf("%d spaces", n)
}
