package manifest

import (
	"bytes"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/takos-dev/takos-apply/internal/jsonptr"
	"github.com/takos-dev/takos-apply/pkg/diag"
)

// Pointer builds an RFC 6901 JSON pointer from tokens, escaping '~' and '/'.
func Pointer(tokens ...string) string { return jsonptr.Format(tokens...) }

// SplitPointer is the inverse of Pointer. The root pointer "" has no tokens.
func SplitPointer(ptr string) []string { return jsonptr.Split(ptr) }

// lookup walks the node tree along ptr. It returns the value node, the key
// node naming it (nil for sequence elements and the root) and whether the
// whole pointer was found; when it was not, the deepest node reached is
// returned so a finding can still point somewhere close.
//
// Positions are resolved lazily, only for findings, which keeps the happy
// path free of a per-node index.
func (d *Document) lookup(ptr string) (val, key *yaml.Node, found bool) {
	n := d.root
	if n == nil {
		return nil, nil, false
	}
	rest := ptr
	last := strings.LastIndexByte(ptr, '/')
	if c := d.idx.parent.Load(); c != nil && last >= 0 && c.ptr == ptr[:last] {
		n, key, rest = c.node, c.key, ptr[last:]
	}
	var parent *yaml.Node // the container of n, and the key that names it
	var parentKey *yaml.Node
	for tok := range jsonptr.Tokens(rest) {
		for n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		parent, parentKey = n, key
		switch n.Kind {
		case yaml.MappingNode:
			next := d.keyIndex(n, tok)
			if next < 0 {
				return n, key, false
			}
			key, n = n.Content[next], n.Content[next+1]
		case yaml.SequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.Content) {
				return n, key, false
			}
			key, n = nil, n.Content[i]
		default:
			return n, key, false
		}
	}
	if parent != nil && last >= 0 && rest != ptr[last:] {
		d.idx.parent.Store(&container{ptr: ptr[:last], node: parent, key: parentKey})
	}
	return n, key, true
}

// Pos returns the position of the value at ptr, or of its closest existing
// ancestor; the file's first character when the document did not parse.
func (d *Document) Pos(ptr string) diag.Pos {
	n, _, _ := d.lookup(ptr)
	if n == nil {
		return diag.Pos{Line: 1, Column: 1}
	}
	return diag.Pos{Line: n.Line, Column: n.Column}
}

// KeyPos returns the position of the key that names the value at ptr, which
// is where an "unknown field" finding belongs; for sequence elements and the
// root it is the value's position.
func (d *Document) KeyPos(ptr string) diag.Pos {
	n, k, found := d.lookup(ptr)
	if found && k != nil {
		return diag.Pos{Line: k.Line, Column: k.Column}
	}
	if n == nil {
		return diag.Pos{Line: 1, Column: 1}
	}
	return diag.Pos{Line: n.Line, Column: n.Column}
}

// Scalar returns the source text and resolved YAML tag ("!!float", ...) of
// the scalar at ptr, so a message can quote what the user wrote: "1.0", not
// the number 1 it became.
func (d *Document) Scalar(ptr string) (text, tag string, ok bool) {
	n, _, found := d.lookup(ptr)
	if !found || n.Kind != yaml.ScalarNode {
		return "", "", false
	}
	return d.prot.restore(n.Value), n.Tag, true
}

// Plain returns the source text of the scalar at ptr when it is written
// plain (unquoted, untagged, not a block scalar): the form in which YAML 1.1
// readers turn yes/no/on/off into booleans. An explicit tag (!!str yes)
// settles the type for every reader, so it is not plain.
func (d *Document) Plain(ptr string) (text string, ok bool) {
	n, _, found := d.lookup(ptr)
	if !found || n.Kind != yaml.ScalarNode || n.Style != 0 {
		return "", false
	}
	return d.prot.restore(n.Value), true
}

// Finding returns a finding of rule r positioned at the value at ptr, with
// the rule's severity (diag.Rule.Finding).
func (d *Document) Finding(ptr string, r *diag.Rule, msg string) diag.Diagnostic {
	f := r.Finding(d.Path, d.Pos(ptr), msg)
	f.Pointer = ptr
	return f
}

// KeyFinding returns a finding of rule r positioned at the key that names
// ptr, with the rule's severity (diag.Rule.Finding).
func (d *Document) KeyFinding(ptr string, r *diag.Rule, msg string) diag.Diagnostic {
	f := r.Finding(d.Path, d.KeyPos(ptr), msg)
	f.Pointer = ptr
	return f
}

// Report adds a finding of rule r at the value at ptr to col, with the
// rule's severity; msg builds its message, and is called only if col keeps
// the finding (diag.Collector.AddFunc), so a finding that is cut costs its
// position and no formatting.
func (d *Document) Report(col *diag.Collector, ptr string, r *diag.Rule, msg func() string) {
	col.AddFunc(d.Finding(ptr, r, ""), msg)
}

// ReportKey is Report positioned at the key that names ptr (KeyFinding).
func (d *Document) ReportKey(col *diag.Collector, ptr string, r *diag.Rule, msg func() string) {
	col.AddFunc(d.KeyFinding(ptr, r, ""), msg)
}

// Line returns the text of the 1-based line n without its line ending, for
// source snippets; "" when out of range. The line starts are indexed on the
// first call, so each later call costs the length of its line.
func (d *Document) Line(n int) string {
	return string(d.lineBytes(n))
}

// lineBytes is Line without the copy: the slice aliases Source.
func (d *Document) lineBytes(n int) []byte {
	starts := d.lineStarts()
	if n < 1 || n > len(starts) {
		return nil
	}
	end := len(d.Source)
	if n < len(starts) {
		end = starts[n] - 1 // the '\n'
	}
	return bytes.TrimRight(d.Source[starts[n-1]:end], "\r")
}
