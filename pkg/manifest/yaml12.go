package manifest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// takos-apply reads YAML with yaml.v3, which follows YAML 1.1 in places;
// Takos reads it with npm yaml 2.8, which follows YAML 1.2
// (https://yaml.org/spec/1.2.2/). The two disagree in a few classes, and
// each class is handled here in general rather than value by value:
//
//   - line breaks: YAML 1.2 breaks lines only at LF and CRLF; npm yaml reads
//     a lone CR as content, yaml.v3 as a line break (sourceIssues);
//   - characters: U+2028 and U+2029 are ordinary characters in YAML 1.2 but
//     line breaks for yaml.v3 (hidden behind placeholders, see protect);
//   - directives: yaml.v3 refuses %YAML 1.2, npm yaml switches to YAML 1.1
//     rules on %YAML 1.1 (sourceIssues);
//   - comments: YAML 1.2 starts a comment only after white space, yaml.v3
//     after any token (gluedComments);
//   - plain scalars: YAML 1.2's core schema (§10.3.2) resolves fewer forms
//     to numbers than yaml.v3 does (1_000, 0b1, 0777, -0x1F); every plain
//     scalar is resolved both ways and a disagreement is a finding
//     (resolveCore).

// sourceIssues finds lone carriage returns and %YAML directives. It returns
// the findings and, for a %YAML 1.2 directive yaml.v3 would refuse, the
// source with the directive rewritten to the equivalent 1.1 form (same
// length, so every position stays right).
func sourceIssues(doc *Document, f *findings, src []byte) []byte {
	if i := loneCR(src); i >= 0 {
		p := posAt(src, i)
		f.add(doc.at(p, RuleLineEnding,
			"line ends with a carriage return alone (classic Mac line ending); Takos's YAML reader does not take it as a line break, so the file means something else there: convert the file to LF line endings"), nil)
		return src
	}
	n := 0 // line number: posAt would count the lines before each directive again
	for off, line := range lines(src) {
		n++
		t := bytes.TrimRight(line, " \t\r")
		if !bytes.HasPrefix(t, []byte("%YAML")) {
			if len(bytes.TrimSpace(t)) > 0 && t[0] != '#' && t[0] != '%' {
				break // directives precede the document
			}
			continue
		}
		fs := bytes.Fields(t)
		switch {
		case len(fs) == 2 && string(fs[1]) == "1.2":
			src = bytes.Clone(src)
			copy(src[off+len("%YAML 1."):], "1")
		default:
			f.add(doc.at(diag.Pos{Line: n, Column: 1}, RuleDirective, ""), func() string {
				version := ""
				if len(fs) > 1 {
					version = string(fs[1])
				}
				return fmt.Sprintf("%%YAML %s makes Takos's YAML reader switch to other rules (in YAML 1.1, yes is a boolean, 0777 is octal and << merges), so Takos and takos-apply would read different values; remove the directive or write %%YAML 1.2", quoteText(version))
			})
		}
	}
	return src
}

func quoteText(s string) string {
	if s == "" {
		return "without a version"
	}
	return s
}

func loneCR(src []byte) int {
	for i := bytes.IndexByte(src, '\r'); i >= 0; {
		if i+1 >= len(src) || src[i+1] != '\n' {
			return i
		}
		j := bytes.IndexByte(src[i+1:], '\r')
		if j < 0 {
			return -1
		}
		i += 1 + j
	}
	return -1
}

// lines yields each line of src (without its LF) with its byte offset.
func lines(src []byte) func(func(int, []byte) bool) {
	return func(yield func(int, []byte) bool) {
		off := 0
		for off <= len(src) {
			end := bytes.IndexByte(src[off:], '\n')
			if end < 0 {
				if off < len(src) {
					yield(off, src[off:])
				}
				return
			}
			if !yield(off, src[off:off+end]) {
				return
			}
			off += end + 1
		}
	}
}

// posAt converts a byte offset into a 1-based line and rune column.
func posAt(src []byte, off int) diag.Pos {
	line := 1 + bytes.Count(src[:off], []byte("\n"))
	start := bytes.LastIndexByte(src[:off], '\n') + 1
	return diag.Pos{Line: line, Column: 1 + utf8.RuneCount(src[start:off])}
}

// protect hides U+2028 and U+2029 from yaml.v3, which breaks lines there,
// behind private-use characters of the same UTF-8 length that the file
// does not use; restore maps converted strings back. YAML 1.2 reads both as
// ordinary characters (§5.4), and so does Takos.
type protect struct {
	from, to [2]string
	active   bool
}

func newProtect(src []byte) (protect, []byte) {
	var p protect
	ls, ps := "\u2028", "\u2029"
	if !bytes.Contains(src, []byte(ls)) && !bytes.Contains(src, []byte(ps)) {
		return p, src
	}
	k := 0
	for r := rune(0xE000); r <= 0xF8FF && k < 2; r++ {
		if !bytes.ContainsRune(src, r) {
			p.to[k] = string(r)
			k++
		}
	}
	if k < 2 {
		return p, src // a file using all 6,400 private-use characters: leave it to yaml.v3
	}
	p.from = [2]string{ls, ps}
	p.active = true
	src = bytes.ReplaceAll(src, []byte(ls), []byte(p.to[0]))
	src = bytes.ReplaceAll(src, []byte(ps), []byte(p.to[1]))
	return p, src
}

func (p protect) restore(s string) string {
	if !p.active {
		return s
	}
	for k := range p.to {
		s = strings.ReplaceAll(s, p.to[k], p.from[k])
	}
	return s
}

// gluedComments finds comments that follow a token without white space
// ("r"#x, [a]#x, &a#x), which YAML 1.2 forbids and npm yaml either rejects
// ("Comments must be separated from other tokens by white space
// characters") or reads as part of an anchor or tag name, while yaml.v3
// takes them as comments. It runs on a source yaml.v3 accepted, so it only
// has to tell scalars, indicators and comments apart.
//
// It also finds the continuation lines of flow collections and quoted
// scalars that are not indented past the block collection holding them,
// which YAML 1.2 forbids (npm yaml: "Flow sequence in block collection must
// be sufficiently indented", "Missing closing quote") and yaml.v3 allows.
//
// root is yaml.v3's tree of src: a quote or a bracket starts a quoted
// scalar or a flow collection only where the tree has one, which keeps
// those characters inside plain text (a multi-line plain scalar such as
// "KEY\n  - 'x'" or "KEY\n  - [x") from misleading the scan.
func gluedComments(src []byte, root *yaml.Node) (glued, underIndented, mismatch []int) {
	s := gluedScanner{src: src, owner: -1}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 ||
			n.Style&yaml.FlowStyle != 0 && (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) {
			s.quotes = append(s.quotes, diag.Pos{Line: n.Line, Column: n.Column})
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(root)
	// A walk of the tree meets nodes in source order, so this is
	// normally sorted already; a set would cost a hash per node.
	if !slices.IsSortedFunc(s.quotes, comparePos) {
		slices.SortFunc(s.quotes, comparePos)
	}
	s.run()
	return s.found, s.under, s.mismatch
}

type gluedScanner struct {
	src   []byte
	i     int
	flow  int // depth of [ and {
	found []int
	under []int // continuation lines indented too little
	// mismatch holds flow-context tokens yaml.v3 and YAML 1.2 split
	// differently: "?x" (a key indicator or a plain scalar) and "x:,".
	mismatch []int
	// owner is the column a continuation line of the current flow
	// collection or quoted scalar must exceed: the key or '-' that holds
	// it; -1 at the top level.
	owner int
	// quotes holds where yaml.v3 found quoted scalars and, outside flow
	// collections, flow collections (sorted): elsewhere a quote or
	// bracket is text.
	quotes []diag.Pos
	lineNo int // 1-based number of the line being scanned
	// blockIndent is the indentation a block scalar's content exceeds;
	// -1 when not in a block scalar.
	blockIndent int
}

// treeHas reports whether yaml.v3 found a quoted scalar or a flow
// collection at p.
func (s *gluedScanner) treeHas(p diag.Pos) bool {
	_, ok := slices.BinarySearchFunc(s.quotes, p, comparePos)
	return ok
}

func comparePos(a, b diag.Pos) int {
	return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
}

func (s *gluedScanner) run() {
	s.blockIndent = -1
	for off, line := range lines(s.src) {
		s.lineNo++
		if s.i > off {
			// The last line of a multi-line quoted scalar: scan what
			// follows the closing quote.
			if s.i < off+len(line) {
				s.scan(off, off+len(line), s.i, false)
			}
			continue
		}
		indent := len(line) - len(bytes.TrimLeft(line, " "))
		if s.flow > 0 {
			s.checkIndent(off, line, indent)
		}
		if s.blockIndent >= 0 {
			if len(bytes.TrimSpace(line)) == 0 || indent > s.blockIndent {
				continue
			}
			s.blockIndent = -1
		}
		s.scan(off, off+len(line), off, true)
	}
}

// line is the state of the line being scanned.
type line struct {
	off, end int // byte range of the line
	owner    int // column of the line's first key or scalar, -1 before one
	dash     int // column of the line's last '-' indicator, -1 if none
	// runes counts the runes of the line before byte offset counted: the
	// scan only moves forward, so columns are counted once per line, not
	// from the line start for every quote (quadratic on a long line).
	counted, runes int
}

// column returns the 1-based rune column of offset i >= every offset
// asked before on this line.
func (l *line) column(src []byte, i int) int {
	l.runes += utf8.RuneCount(src[l.counted:i])
	l.counted = i
	return 1 + l.runes
}

// holder is the column continuation lines of a collection or string that
// starts now must exceed.
func (l *line) holder() int {
	if l.owner >= 0 {
		return l.owner
	}
	return l.dash
}

func (l *line) claim(i int) {
	if l.owner < 0 {
		l.owner = i - l.off
	}
}

// scan scans the line [off, end) from offset from; ws tells whether from
// follows white space or the line start. A quoted scalar may carry on past
// end, in which case s.i ends beyond it.
func (s *gluedScanner) scan(off, end, from int, ws bool) {
	l := &line{off: off, end: end, owner: -1, dash: -1, counted: off}
	for s.i = from; s.i < end; {
		c := s.src[s.i]
		switch {
		case isBlank(c):
			s.i++
			ws = true
			continue
		case c == '#':
			if !ws {
				s.found = append(s.found, s.i)
			}
			s.i = end
			return
		case (c == '"' || c == '\'') && s.treeHas(diag.Pos{Line: s.lineNo, Column: l.column(s.src, s.i)}):
			if s.flow == 0 {
				s.owner = l.holder()
			}
			l.claim(s.i)
			s.quoted(c)
			if s.i > end {
				return // the rest of the scalar's last line is scanned by run
			}
		case (c == '|' || c == '>') && s.flow == 0:
			s.blockHeader(l)
			return
		case (c == '[' || c == '{') && s.flow == 0 && !s.treeHas(diag.Pos{Line: s.lineNo, Column: l.column(s.src, s.i)}):
			l.claim(s.i) // a bracket inside text
			s.plain(end)
			ws = isBlank(s.src[s.i-1])
			continue
		case s.indicator(l, c):
		default: // a plain scalar, or a quote inside text
			l.claim(s.i)
			s.plain(end)
			ws = isBlank(s.src[s.i-1])
			continue
		}
		ws = false
	}
}

// indicator consumes the flow indicator, block indicator, anchor, alias or
// tag at s.i and reports whether there was one.
func (s *gluedScanner) indicator(l *line, c byte) bool {
	end := l.end
	next := byte(' ')
	if s.i+1 < end {
		next = s.src[s.i+1]
	}
	switch {
	case c == '[' || c == '{':
		if s.flow == 0 {
			s.owner = l.holder()
		}
		s.flow++
	case c == ']' || c == '}':
		s.flow--
	case c == ',' && s.flow > 0:
	case c == '?' && s.flow > 0 && !isBlank(next):
		// yaml.v3 reads an explicit key indicator, YAML 1.2 a plain
		// scalar starting with '?'.
		s.mismatch = append(s.mismatch, s.i)
	case (c == '-' || c == '?' || c == ':') && (isBlank(next) || c == ':' && s.flow > 0):
		if c == '-' && s.flow == 0 {
			l.dash = s.i - l.off
		}
	case c == '-' && s.flow > 0 && isFlowIndicator(next):
		// YAML 1.2 reads a block sequence indicator, which a flow
		// collection cannot hold; yaml.v3 reads the text "-".
		s.mismatch = append(s.mismatch, s.i)
	case c == '&' || c == '*':
		s.i++
		for s.i < end && (isAlnum(s.src[s.i]) || s.src[s.i] == '-' || s.src[s.i] == '_') {
			s.i++
		}
		// libyaml's names are [A-Za-z0-9_-]; YAML 1.2's run to the next
		// blank or flow indicator, so "&v?x" and "*v:" differ.
		if s.i < end && !isBlank(s.src[s.i]) && !(s.flow > 0 && isFlowIndicator(s.src[s.i])) {
			s.mismatch = append(s.mismatch, s.i)
		}
		return true
	case c == '!':
		s.i++
		for s.i < end && isTagChar(s.src[s.i], s.flow > 0) {
			s.i++
		}
		return true
	default:
		return false
	}
	s.i++
	return true
}

// blockHeader consumes a block scalar header (| or > with indicators) and
// marks the following more-indented lines as its content.
func (s *gluedScanner) blockHeader(l *line) {
	s.i++
	for s.i < l.end && (s.src[s.i] == '+' || s.src[s.i] == '-' || s.src[s.i] >= '0' && s.src[s.i] <= '9') {
		s.i++
	}
	l.claim(s.i - 1)
	s.blockIndent = l.owner
	if s.i < l.end && s.src[s.i] == '#' {
		s.found = append(s.found, s.i)
	}
	s.i = l.end
}

// checkIndent records the continuation line at off when it is not
// indented past s.owner. Blank and comment lines and lines that start by
// closing the collection are exempt, as in YAML 1.2.
func (s *gluedScanner) checkIndent(off int, line []byte, indent int) {
	rest := bytes.TrimLeft(line, " \t\r")
	closing := len(rest) > 0 && (rest[0] == ']' || rest[0] == '}')
	if len(rest) == 0 || rest[0] == '#' || s.owner < 0 || indent > s.owner || closing && indent >= s.owner {
		return
	}
	s.under = append(s.under, off+indent)
}

// quoted skips a quoted scalar that starts at s.i, across lines.
func (s *gluedScanner) quoted(q byte) {
	s.i++
	for s.i < len(s.src) {
		c := s.src[s.i]
		if c == '\n' && s.i+1 < len(s.src) {
			line := s.src[s.i+1:]
			if j := bytes.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			indent := len(line) - len(bytes.TrimLeft(line, " "))
			if rest := bytes.TrimLeft(line, " \t\r"); len(rest) > 0 && s.owner >= 0 && indent <= s.owner {
				s.under = append(s.under, s.i+1+indent)
			}
		}
		switch {
		case q == '"' && c == '\\':
			s.i += 2
			continue
		case c == q && q == '\'' && s.i+1 < len(s.src) && s.src[s.i+1] == '\'':
			s.i += 2
			continue
		case c == q:
			s.i++
			return
		}
		s.i++
	}
}

// plain skips a plain scalar on this line: it ends at ": ", " #" and, in
// flow context, at a flow indicator.
func (s *gluedScanner) plain(end int) {
	for s.i < end {
		c := s.src[s.i]
		switch {
		case c == ':' && (s.i+1 >= end || isBlank(s.src[s.i+1])):
			return
		case c == ':' && s.flow > 0 && isFlowIndicator(s.src[s.i+1]):
			// YAML 1.2 ends the key before ':', yaml.v3 keeps the ':'.
			s.mismatch = append(s.mismatch, s.i)
			return
		case c == '#' && isBlank(s.src[s.i-1]):
			return
		case s.flow > 0 && isFlowIndicator(c):
			return
		}
		// Anything else, white space included, continues the plain
		// scalar; a '#' after white space ends it (above).
		s.i++
	}
}

func isBlank(c byte) bool         { return c == ' ' || c == '\t' || c == '\r' }
func isFlowIndicator(c byte) bool { return c == ',' || c == '[' || c == ']' || c == '{' || c == '}' }
func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isTagChar reports the characters libyaml (and so yaml.v3) accepts in a
// tag; '#' is not one of them, so a tag ends before a glued comment.
func isTagChar(c byte, flow bool) bool {
	if flow && isFlowIndicator(c) {
		return false
	}
	return isAlnum(c) || c >= 0x80 || strings.IndexByte("-;/?:@&=+$,_.!~*'()[]%", c) >= 0
}

// Regular expressions of the YAML 1.2 core schema (§10.3.2), the schema npm
// yaml uses by default.
var (
	coreNull  = regexp.MustCompile(`^(?:~|null|Null|NULL)?$`)
	coreBool  = regexp.MustCompile(`^(?:true|True|TRUE|false|False|FALSE)$`)
	coreOct   = regexp.MustCompile(`^0o[0-7]+$`)
	coreDec   = regexp.MustCompile(`^[-+]?[0-9]+$`)
	coreHex   = regexp.MustCompile(`^0x[0-9a-fA-F]+$`)
	coreFloat = regexp.MustCompile(`^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$`)
	coreInf   = regexp.MustCompile(`^[-+]?\.(?:inf|Inf|INF)$`)
	coreNaN   = regexp.MustCompile(`^\.(?:nan|NaN|NAN)$`)
)

// resolveCore resolves a plain scalar as the YAML 1.2 core schema does and
// returns its tag and, for numbers, the value npm yaml's JavaScript number
// prints as (JSON form).
func resolveCore(s string) (tag, num string) {
	// Most plain scalars are words: only these first characters can start
	// a null, a boolean or a number.
	if s != "" && !strings.ContainsRune("0123456789+-.~nNtTfF", rune(s[0])) {
		return "!!str", ""
	}
	// A null starts with ~ or n, a boolean with t or f, a number with
	// neither, so a word such as "name" or "true" meets one regexp at most.
	if s == "" || strings.ContainsRune("~nN", rune(s[0])) {
		if coreNull.MatchString(s) {
			return "!!null", ""
		}
		return "!!str", ""
	}
	if strings.ContainsRune("tTfF", rune(s[0])) {
		if coreBool.MatchString(s) {
			return "!!bool", ""
		}
		return "!!str", ""
	}
	if num, ok := smallDecimal(s); ok {
		return "!!int", num
	}
	switch {
	case coreOct.MatchString(s):
		return "!!int", jsNumber(s[2:], 8)
	case coreDec.MatchString(s):
		return "!!int", jsNumber(s, 10)
	case coreHex.MatchString(s):
		return "!!int", jsNumber(s[2:], 16)
	case coreInf.MatchString(s), coreNaN.MatchString(s):
		return "!!float", ""
	case coreFloat.MatchString(s):
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) {
			return "!!float", ""
		}
		return "!!float", formatJS(f)
	}
	return "!!str", ""
}

// smallDecimal is the fast path of resolveCore for the usual number: an
// optionally signed decimal integer of at most 15 digits, which a float64
// holds exactly, so jsNumber's big arithmetic would give the same text.
func smallDecimal(s string) (string, bool) {
	digits := strings.TrimLeft(s, "+-")
	if len(s)-len(digits) > 1 || digits == "" || len(digits) > 15 {
		return "", false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return "", false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return "", false
	}
	if n == 0 {
		return "0", true // "-0" too: a JavaScript -0 prints as 0
	}
	return strconv.FormatInt(n, 10), true
}

// jsNumber converts digits in base to the JavaScript number npm yaml makes
// of them: exact up to 2^53, correctly rounded beyond; "" past the float64
// range, where JavaScript has Infinity and JSON nothing.
func jsNumber(s string, base int) string {
	n, ok := new(big.Int).SetString(strings.TrimPrefix(s, "+"), base)
	if !ok {
		return ""
	}
	f, _ := new(big.Float).SetInt(n).Float64()
	if math.IsInf(f, 0) {
		return "" // Infinity for JavaScript; JSON has no such number
	}
	return formatJS(f)
}

func formatJS(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// plainValue converts the plain (unquoted, untagged) scalar n the way
// Takos's YAML reader does, by the YAML 1.2 core schema, and warns when
// yaml.v3, and YAML 1.1 tools with it, read it differently (1_000 is 1000
// there, 0777 is 511).
func (c *converter) plainValue(n *yaml.Node) any {
	tag, num := resolveCore(n.Value)
	var v any
	switch tag {
	case "!!null":
		v = nil
	case "!!bool":
		v = strings.EqualFold(n.Value, "true")
	case "!!int", "!!float":
		if num == "" {
			c.report(n, RuleNumber, func() string {
				return fmt.Sprintf("%s is not a number JSON can hold; quote it if it is meant as text", n.Value)
			})
			return nil
		}
		v = json.Number(num)
	default:
		v = c.restoreString(n)
	}
	got := n.Tag
	if got == "!!timestamp" {
		got = "!!str"
	}
	if got == tag && (tag != "!!int" && tag != "!!float" || yaml11Number(n) == num) {
		return v
	}
	c.report(n, RuleYAML12Scalar, func() string {
		return fmt.Sprintf("unquoted %s is %s for Takos (YAML 1.2) but %s for YAML 1.1 tools such as yaml.v3; %s",
			n.Value, describe(tag, num), describe(got, yaml11Number(n)), plainAdvice(n.Value, tag, num, yaml11Number(n)))
	})
	return v
}

// yaml11Number is the number yaml.v3 makes of n, "" when it makes none.
func yaml11Number(n *yaml.Node) string {
	switch n.Tag {
	case "!!int":
		if jn, ok := yamlInt(n.Value); ok {
			return jn.String()
		}
	case "!!float":
		if f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64); err == nil {
			return formatJS(f)
		}
	}
	return ""
}

func describe(tag, num string) string {
	switch tag {
	case "!!int", "!!float":
		if num != "" {
			return "the number " + num
		}
		return "a number"
	case "!!bool":
		return "a boolean"
	case "!!null":
		return "null"
	}
	return "a string"
}

func plainAdvice(text, core, num, num11 string) string {
	switch {
	case core == "!!str" && num11 != "":
		return fmt.Sprintf("Takos's Number() makes NaN of it, so write %s if you mean the number, or quote it (\"%s\") if it is text", num11, text)
	case num != "":
		return fmt.Sprintf("write %s so that every tool reads the same number", num)
	}
	return fmt.Sprintf("quote it (\"%s\") so that every tool reads the same value", text)
}
