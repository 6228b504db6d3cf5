// Package manifest reads a Takos app manifest (.takos/app.yml) into a
// JSON-shaped value while keeping every value's position, so that schema
// and lint findings can name file:line:col.
//
// The YAML is parsed into a yaml.Node tree and converted by hand rather than
// unmarshalled into any: yaml.v3 would turn dates into time.Time, non-string
// keys into map[any]any, check duplicate keys in quadratic time and expand
// aliases without a memory budget. Here each of those is a positioned
// finding or a bounded operation.
//
// Stability: pkg/manifest is public and may change until takos-apply v1.
package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/takos-dev/takos-apply/pkg/diag"
)

// Limits bound the work done on one file. They are checked before (file
// size) or during (everything else) the conversion, so hostile input costs
// at most a linear pass over MaxBytes.
type Limits struct {
	MaxBytes int64 // file size
	MaxDepth int   // nesting of mappings and sequences
	MaxKeys  int   // keys in one mapping
	// MaxNodes bounds the converted value, counting every node an alias
	// expands to, so a "billion laughs" document stops early.
	MaxNodes int
}

// DefaultLimits are generous for a real app.yml (a few KiB, depth < 10) and
// tight enough that a hostile one is rejected in milliseconds.
func DefaultLimits() Limits {
	return Limits{MaxBytes: 1 << 20, MaxDepth: 64, MaxKeys: 2000, MaxNodes: 200_000}
}

// Document is a parsed manifest: its JSON-shaped value and what is needed to
// position findings in its source.
type Document struct {
	// Path is the file name used in findings, as the user gave it.
	Path string
	// Source is the file content.
	Source []byte
	// Value is the manifest as JSON-shaped data: map[string]any, []any,
	// string, json.Number, bool or nil. It is nil when parsing failed.
	Value any

	root *yaml.Node // the document's top node, nil when parsing failed
	prot protect    // placeholders of U+2028 and U+2029 in root's strings
	// idx is built on first use, for findings only: line starts for Line,
	// key tables of large mappings for lookup. A Document must not be
	// copied once used.
	idx index
}

// Parse reads src as a manifest. Findings (syntax, encoding, limits,
// duplicate keys, ...) are returned as diagnostics, in the order they were
// found; when any of them is an error, doc.Value is nil and schema
// validation must not run.
func Parse(path string, src []byte, lim Limits) (*Document, diag.List) {
	return ParseKind(path, src, lim, AppKind)
}

// ParseKind is Parse for another kind of YAML file (the broker's trust
// policy, its test cases): the same loader, findings worded for kind.
func ParseKind(path string, src []byte, lim Limits, kind Kind) (*Document, diag.List) {
	var col diag.Collector
	doc := ParseInto(&col, path, src, lim, kind)
	return doc, col.List()
}

// ParseInto is ParseKind reporting its findings into col, which may keep
// only some of them (diag.Collector): doc.Value is nil when any finding
// was an error, kept or not.
func ParseInto(col *diag.Collector, path string, src []byte, lim Limits, kind Kind) *Document {
	doc := &Document{Path: path, Source: src}
	f := &findings{col: col}
	parse(doc, f, src, lim, kind)
	return doc
}

// findings is where the loader reports: a Collector, and whether any
// finding was an error, which stops the pipeline whatever the Collector
// keeps.
type findings struct {
	col    *diag.Collector
	errors bool
}

// add records d; msg, when not nil, builds its message if it is kept.
func (f *findings) add(d diag.Diagnostic, msg func() string) {
	if d.Severity == diag.Error {
		f.errors = true
	}
	f.col.AddFunc(d, msg)
}

// parse sets doc.root and doc.Value, unless a finding is an error.
func parse(doc *Document, f *findings, src []byte, lim Limits, kind Kind) {
	if lim.MaxBytes > 0 && int64(len(src)) > lim.MaxBytes {
		f.add(doc.at(diag.Pos{Line: 1, Column: 1}, RuleSize,
			fmt.Sprintf("file is larger than the %d-byte limit; %s is a few KiB, so check that this is the right file%s", lim.MaxBytes, kind.Noun, kind.SizeFix)), nil)
		return
	}
	if d, ok := checkEncoding(doc, src); !ok {
		f.add(d, nil)
		return
	}
	yamlSrc := sourceIssues(doc, f, src)
	if f.errors {
		return
	}
	prot, yamlSrc := newProtect(yamlSrc)
	dec := yaml.NewDecoder(bytes.NewReader(yamlSrc))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			f.add(doc.at(diag.Pos{Line: 1, Column: 1}, RuleEmpty, "file is empty; "+kind.Start), nil)
			return
		}
		f.add(syntaxDiag(doc, err), nil)
		return
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		f.add(doc.at(diag.Pos{Line: extra.Line, Column: 1}, RuleMultiDoc,
			"file holds more than one YAML document; "+kind.Reader+" reads exactly one, so remove the '---' separator and everything after it"), nil)
		return
	} else if !errors.Is(err, io.EOF) {
		f.add(syntaxDiag(doc, err), nil)
		return
	}
	top := &root
	if top.Kind == yaml.DocumentNode && len(top.Content) == 1 {
		top = top.Content[0]
	}
	glued, under, mismatch := gluedComments(yamlSrc, &root)
	if len(mismatch) > 0 {
		f.add(doc.at(posAt(src, mismatch[0]), RuleFlowToken,
			"takos-apply's YAML reader and Takos's (YAML 1.2) split this token differently (\"?x\" or \"-\" inside [...] or {...}, \"x:,\", an anchor or alias name such as \"&a?b\" or \"*a:\"); quote the value, or put a space after the indicator or the name"), nil)
		return
	}
	if len(under) > 0 {
		f.add(doc.at(posAt(src, under[0]), RuleIndent,
			"this line continues a flow collection ([...], {...}) or a quoted string but is not indented past the key or '-' that holds it; Takos's YAML reader rejects that, so indent the line further or keep the value on one line"), nil)
		return
	}
	if len(glued) > 0 {
		f.add(doc.at(posAt(src, glued[0]), RuleComment,
			"'#' follows the previous token without a space, which Takos's YAML reader rejects (\"Comments must be separated from other tokens by white space characters\") while takos-apply's reads a comment; put a space before '#'"), nil)
		return
	}
	doc.root = top
	doc.prot = prot
	c := converter{doc: doc, lim: lim, f: f, kind: kind}
	v := c.convert(top, 0)
	if f.errors {
		return
	}
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		f.add(doc.at(diag.Pos{Line: 1, Column: 1}, RuleEmpty, "file holds no "+kind.Name+"; "+kind.Start), nil)
		return
	}
	doc.Value = v
}

func (d *Document) at(p diag.Pos, r *diag.Rule, msg string) diag.Diagnostic {
	return r.Finding(d.Path, p, msg)
}

// checkEncoding rejects what YAML parsers disagree on or silently accept:
// invalid UTF-8, UTF-16/32 byte-order marks, and control characters (NUL,
// ESC, DEL, C1 such as U+0085, which yaml.v3 treats as a line break).
func checkEncoding(doc *Document, src []byte) (diag.Diagnostic, bool) {
	line, col := 1, 1
	for i := 0; i < len(src); {
		r, size := utf8.DecodeRune(src[i:])
		p := diag.Pos{Line: line, Column: col}
		switch {
		case r == utf8.RuneError && size <= 1:
			msg := fmt.Sprintf("invalid UTF-8 byte 0x%02x; save the file as UTF-8", src[i])
			if i == 0 && len(src) >= 2 && (src[0] == 0xFF && src[1] == 0xFE || src[0] == 0xFE && src[1] == 0xFF) {
				msg = "file starts with a UTF-16 byte-order mark; save it as UTF-8"
			}
			return doc.at(p, RuleEncoding, msg), false
		case r == '\n':
			line++
			col = 0
		case r == '\t' || r == '\r' || (r == 0xFEFF && i == 0):
		case r < 0x20 || r == 0x7F || (r >= 0x80 && r <= 0x9F):
			return doc.at(p, RuleControlChar, fmt.Sprintf("control character U+%04X is not allowed; delete it (it is invisible in most editors)", r)), false
		}
		i += size
		col++
	}
	return diag.Diagnostic{}, true
}

type converter struct {
	doc   *Document
	kind  Kind
	lim   Limits
	nodes int
	f     *findings
	// stopped is set once a limit is hit, so one hostile construct yields
	// one finding instead of thousands.
	stopped bool
	// aliasSite is the outermost alias being expanded: a limit hit deep
	// inside an anchor is reported where the alias was used.
	aliasSite *yaml.Node
}

// report records a finding of r at node n; msg builds its message, only
// if the finding is kept (diag.Collector.AddFunc).
func (c *converter) report(n *yaml.Node, r *diag.Rule, msg func() string) {
	c.f.add(c.doc.at(diag.Pos{Line: n.Line, Column: n.Column}, r, ""), msg)
}

func (c *converter) limit(n *yaml.Node, msg string) {
	if c.aliasSite != nil {
		n = c.aliasSite
	}
	if !c.stopped {
		c.report(n, RuleLimit, func() string { return msg })
	}
	c.stopped = true
}

// explicitTags are the tags a user may write explicitly (!!str 1.0 is the
// usual way to keep a number a string). Anything else, !!binary or a custom
// !tag, changes meaning in ways Takos's parser does not share.
var explicitTags = map[string]bool{
	"!!str": true, "!!int": true, "!!float": true, "!!bool": true, "!!null": true, "!!map": true, "!!seq": true,
}

func (c *converter) convert(n *yaml.Node, depth int) any {
	if c.stopped {
		return nil
	}
	c.nodes++
	if c.lim.MaxNodes > 0 && c.nodes > c.lim.MaxNodes {
		c.limit(n, fmt.Sprintf("document expands to more than %d values (aliases count each time they are used); simplify it", c.lim.MaxNodes))
		return nil
	}
	if c.lim.MaxDepth > 0 && depth > c.lim.MaxDepth {
		c.limit(n, fmt.Sprintf("nesting is deeper than %d levels; %s needs far fewer", c.lim.MaxDepth, c.kind.Noun))
		return nil
	}
	if n.Style&yaml.TaggedStyle != 0 && !explicitTags[n.Tag] {
		c.report(n, RuleTag, func() string {
			return fmt.Sprintf("tag %s is not supported; remove it (%s reads plain YAML values)", n.Tag, c.kind.Reader)
		})
		return nil
	}
	switch n.Kind {
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil
		}
		if c.aliasSite == nil {
			c.aliasSite = n
			defer func() { c.aliasSite = nil }()
		}
		return c.convert(n.Alias, depth)
	case yaml.MappingNode:
		return c.mapping(n, depth)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, e := range n.Content {
			out = append(out, c.convert(e, depth+1))
		}
		return out
	case yaml.ScalarNode:
		return c.scalar(n)
	}
	return nil
}

func (c *converter) mapping(n *yaml.Node, depth int) any {
	if c.lim.MaxKeys > 0 && len(n.Content)/2 > c.lim.MaxKeys {
		c.limit(n, fmt.Sprintf("mapping has %d keys, over the limit of %d", len(n.Content)/2, c.lim.MaxKeys))
		return nil
	}
	out := make(map[string]any, len(n.Content)/2)
	// Duplicates are found through out itself, in linear time (yaml.v3
	// compares keys pairwise); only a duplicate pays for findKey.
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Tag == "!!merge" {
			c.report(k, RuleMergeKey, func() string {
				return fmt.Sprintf("merge key '<<' is not supported%s; write the keys out", c.kind.MergeNote)
			})
			continue
		}
		keyTag := k.Tag
		if k.Kind == yaml.ScalarNode && k.Style == 0 {
			keyTag, _ = resolveCore(k.Value) // as Takos reads the key
		}
		if k.Kind != yaml.ScalarNode || keyTag != "!!str" {
			what := "a " + strings.TrimPrefix(keyTag, "!!")
			if keyTag == "!!int" {
				what = "an integer"
			}
			if k.Kind != yaml.ScalarNode {
				what = "not a scalar"
			}
			c.report(k, RuleKeyType, func() string {
				return fmt.Sprintf("mapping key %q is %s; keys must be strings (quote it)", k.Value, what)
			})
			continue
		}
		key := c.doc.prot.restore(k.Value)
		if _, dup := out[key]; dup {
			c.report(k, RuleDuplicate, func() string {
				return fmt.Sprintf("key %q is already defined at line %d; remove one of them (YAML parsers disagree on which wins)", key, findKey(n, k.Value).Line)
			})
			continue
		}
		out[key] = c.convert(v, depth+1)
	}
	return out
}

func findKey(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return n
}

func (c *converter) scalar(n *yaml.Node) any {
	if n.Style == 0 {
		return c.plainValue(n)
	}
	switch n.Tag {
	case "!!null":
		return nil
	case "!!bool":
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil {
			return n.Value
		}
		return b
	case "!!int":
		if num, ok := yamlInt(n.Value); ok {
			return num
		}
		c.report(n, RuleNumber, func() string {
			return fmt.Sprintf("integer %s is out of range; quote it if it is meant as text", n.Value)
		})
		return nil
	case "!!float":
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			c.report(n, RuleNumber, func() string {
				return fmt.Sprintf("%s is not a number JSON can hold; quote it if it is meant as text", n.Value)
			})
			return nil
		}
		return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
	default:
		// !!str, !!timestamp (kept as its text: Takos reads dates as
		// strings too) and anything else resolved implicitly.
		return c.restoreString(n)
	}
}

// restoreString returns the string value of n with U+2028 and U+2029 put
// back (see protect). A quoted "\0" or "\e" passes the source check, so
// control characters are looked for again here.
func (c *converter) restoreString(n *yaml.Node) any {
	for _, r := range n.Value {
		if (r < 0x20 && r != '\t' && r != '\n') || r == 0x7F || (r >= 0x80 && r <= 0x9F) {
			c.report(n, RuleControlChar, func() string {
				return fmt.Sprintf("value contains control character U+%04X (from an escape sequence); remove it", r)
			})
			return nil
		}
	}
	return c.doc.prot.restore(n.Value)
}

func yamlInt(s string) (json.Number, bool) {
	t := strings.ReplaceAll(s, "_", "")
	neg := strings.HasPrefix(t, "-")
	t = strings.TrimLeft(t, "+-")
	base := 10
	switch {
	case strings.HasPrefix(t, "0x"), strings.HasPrefix(t, "0X"):
		base, t = 16, t[2:]
	case strings.HasPrefix(t, "0o"), strings.HasPrefix(t, "0O"):
		base, t = 8, t[2:]
	case strings.HasPrefix(t, "0b"), strings.HasPrefix(t, "0B"):
		base, t = 2, t[2:]
	case len(t) > 1 && t[0] == '0':
		base = 8 // YAML 1.1 octal, which yaml.v3 still honours
	}
	u, err := strconv.ParseUint(t, base, 64)
	if err != nil || u > math.MaxInt64 {
		return "", false
	}
	v := int64(u)
	if neg {
		v = -v
	}
	return json.Number(strconv.FormatInt(v, 10)), true
}
