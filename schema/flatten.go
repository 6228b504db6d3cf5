// The flattener turns the validator's error tree into flat violations.

package schema

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/takos-dev/takos-apply/internal/jsonptr"
)

type flattener struct {
	c    *compiled
	root any
}

// collect appends the leaf violations of e to out. Inner nodes (the root
// "doesn't validate", $ref and allOf groups) carry no information of their
// own and are skipped; oneOf/anyOf nodes are summarised by alternatives.
func (f *flattener) collect(e *jsonschema.ValidationError, out []Violation) []Violation {
	switch e.ErrorKind.(type) {
	case *kind.OneOf, *kind.AnyOf:
		return append(out, f.alternatives(e)...)
	}
	if len(e.Causes) > 0 {
		for _, c := range e.Causes {
			out = f.collect(c, out)
		}
		return out
	}
	if k, ok := e.ErrorKind.(*kind.AdditionalProperties); ok {
		return f.unknownKeys(e, k, out) // in place: there may be thousands
	}
	return append(out, f.leaf(e)...)
}

// unknownKeys appends a violation for each of the unknown keys of one
// mapping. What they share is looked up once: a mapping may hold
// thousands of them.
func (f *flattener) unknownKeys(e *jsonschema.ValidationError, k *kind.AdditionalProperties, out []Violation) []Violation {
	u := f.unknownFields(e.SchemaURL, e.InstanceLocation)
	out = slices.Grow(out, len(k.Properties))
	for _, p := range k.Properties {
		out = append(out, u.violation(p))
	}
	return out
}

// alternatives turns a failed oneOf/anyOf into one useful report instead of
// every branch's complaints:
//   - no branch accepts the value's type: one type violation listing the
//     types that would do;
//   - exactly one branch accepts the type: that branch's own violations
//     (the user clearly meant that shape);
//   - otherwise the schema's x-message for the keyword, or, lacking one,
//     the branch with the fewest violations.
func (f *flattener) alternatives(e *jsonschema.ValidationError) []Violation {
	tokens := e.InstanceLocation
	ptr := jsonptr.Format(tokens...)
	kw := e.ErrorKind.KeywordPath()[0]
	custom := f.xMessage(e.SchemaURL, kw)
	if one, ok := e.ErrorKind.(*kind.OneOf); ok && len(one.Subschemas) > 0 {
		msg := custom
		if msg == "" {
			msg = "matches more than one allowed shape; keep only one"
		}
		return []Violation{{Pointer: ptr, Rule: RuleOneOf, Message: f.name(tokens) + " " + msg}}
	}
	var (
		compatible [][]Violation
		wants      []string
	)
	for _, c := range e.Causes {
		leaves := f.collect(c, nil)
		mismatch := false
		for _, l := range leaves {
			if l.Rule == RuleType && l.Pointer == ptr {
				mismatch = true
				wants = appendUnique(wants, f.wantedTypes(c, ptr)...)
			}
		}
		if !mismatch {
			compatible = append(compatible, leaves)
		}
	}
	switch {
	case len(compatible) == 0 && len(wants) > 0:
		return []Violation{f.typeViolation(tokens, wants)}
	case len(compatible) == 1:
		return compatible[0]
	case custom != "":
		return []Violation{{Pointer: ptr, Rule: RuleOneOf, Message: f.name(tokens) + " " + custom}}
	case len(compatible) > 1:
		best := compatible[0]
		for _, c := range compatible[1:] {
			if len(c) < len(best) {
				best = c
			}
		}
		return best
	}
	return []Violation{{Pointer: ptr, Rule: RuleOneOf, Message: f.name(tokens) + " does not match any allowed shape"}}
}

// wantedTypes finds the type keyword failures at ptr inside e's subtree.
func (f *flattener) wantedTypes(e *jsonschema.ValidationError, ptr string) []string {
	var out []string
	if t, ok := e.ErrorKind.(*kind.Type); ok && jsonptr.Format(e.InstanceLocation...) == ptr {
		out = append(out, t.Want...)
	}
	for _, c := range e.Causes {
		out = append(out, f.wantedTypes(c, ptr)...)
	}
	return out
}

func appendUnique(dst []string, src ...string) []string {
	for _, s := range src {
		if !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}

var printer = message.NewPrinter(language.English)

// leaf converts one keyword failure into violations.
func (f *flattener) leaf(e *jsonschema.ValidationError) []Violation {
	tokens := e.InstanceLocation
	ptr := jsonptr.Format(tokens...)
	name := f.name(tokens)
	var kw string
	if p := e.ErrorKind.KeywordPath(); len(p) > 0 {
		kw = p[0]
	}
	custom := f.xMessage(e.SchemaURL, kw)
	value := func(def string) string {
		if custom != "" {
			return custom
		}
		return def
	}
	switch k := e.ErrorKind.(type) {
	case *kind.Type:
		v := f.typeViolation(tokens, k.Want)
		v.Fix = f.fix(e.SchemaURL, tokens)
		return []Violation{v}
	case *kind.Required:
		out := make([]Violation, 0, len(k.Missing))
		for _, m := range k.Missing {
			out = append(out, Violation{
				Pointer: ptr, Rule: RuleRequired, Key: m,
				Message: fmt.Sprintf("missing required field %q %s", m, f.where(tokens)),
			})
		}
		return out
	case *kind.AdditionalProperties:
		return f.unknownKeys(e, k, nil)
	case *kind.FalseSchema:
		return []Violation{f.falseSchema(e.SchemaURL, tokens)}
	case *kind.Enum:
		return []Violation{{Pointer: ptr, Rule: RuleEnum,
			Message: fmt.Sprintf("%s %s, got %s", name, value("must be one of "+joinValues(k.Want)), display(k.Got))}}
	case *kind.Const:
		return []Violation{{Pointer: ptr, Rule: RuleConst,
			Message: fmt.Sprintf("%s %s, got %s", name, value("must be "+display(k.Want)), display(k.Got))}}
	case *kind.Pattern:
		v := Violation{Pointer: ptr, Rule: RulePattern, Fix: f.fix(e.SchemaURL, tokens),
			Message: fmt.Sprintf("%s %s, got %s", name, value("must match the pattern "+k.Want), display(k.Got))}
		if v.Fix != "" {
			v.Message += fmt.Sprintf("; write %q", v.Fix)
		}
		return []Violation{v}
	case *kind.MinLength:
		def := "must not be empty"
		if k.Want > 1 {
			def = fmt.Sprintf("must be at least %d characters long", k.Want)
		}
		return []Violation{{Pointer: ptr, Rule: RuleMinLength, Message: name + " " + value(def)}}
	case *kind.Minimum:
		return []Violation{{Pointer: ptr, Rule: RuleMinimum,
			Message: fmt.Sprintf("%s %s, got %s", name, value("must be at least "+ratString(k.Want)), ratString(k.Got))}}
	case *kind.ExclusiveMinimum:
		return []Violation{{Pointer: ptr, Rule: RuleMinimum,
			Message: fmt.Sprintf("%s %s, got %s", name, value("must be greater than "+ratString(k.Want)), ratString(k.Got))}}
	case *kind.Format:
		return []Violation{{Pointer: ptr, Rule: RuleFormat,
			Message: fmt.Sprintf("%s %s, got %s", name, value("must be "+formatName(k.Want)), display(k.Got))}}
	case *kind.MinItems:
		def := fmt.Sprintf("must have at least %d items", k.Want)
		if k.Want == 1 {
			def = "must list at least one item"
		}
		return []Violation{{Pointer: ptr, Rule: RuleMinItems, Message: name + " " + value(def)}}
	case *kind.MinProperties:
		def := fmt.Sprintf("must have at least %d fields", k.Want)
		if k.Want == 1 {
			def = "must not be empty"
		}
		return []Violation{{Pointer: ptr, Rule: RuleInvalid, Message: name + " " + value(def)}}
	case *kind.MaxLength:
		return []Violation{{Pointer: ptr, Rule: RuleInvalid,
			Message: fmt.Sprintf("%s %s, got %d", name, value(fmt.Sprintf("must be at most %d characters long", k.Want)), k.Got)}}
	case *kind.MaxItems:
		return []Violation{{Pointer: ptr, Rule: RuleInvalid,
			Message: fmt.Sprintf("%s %s, got %d", name, value(fmt.Sprintf("must have at most %d items", k.Want)), k.Got)}}
	case *kind.Maximum:
		return []Violation{{Pointer: ptr, Rule: RuleInvalid,
			Message: fmt.Sprintf("%s %s, got %s", name, value("must be at most "+ratString(k.Want)), ratString(k.Got))}}
	case *kind.UniqueItems:
		i, j := k.Duplicates[0], k.Duplicates[1]
		first := append(slices.Clip(tokens), strconv.Itoa(i))
		dup := append(slices.Clip(tokens), strconv.Itoa(j))
		got, _ := jsonptr.Lookup(f.root, dup)
		return []Violation{{Pointer: jsonptr.Format(dup...), Rule: RuleUniqueItems,
			Message: fmt.Sprintf("%s repeats %s (%s); remove the duplicate", f.name(dup), f.name(first), display(got))}}
	default:
		return []Violation{{Pointer: ptr, Rule: RuleInvalid,
			Message: name + ": " + e.ErrorKind.LocalizedString(printer)}}
	}
}

func (f *flattener) typeViolation(tokens []string, want []string) Violation {
	v, _ := jsonptr.Lookup(f.root, tokens)
	got := jsonType(v)
	// No "quote it" advice here: the caller knows the source text
	// (manifest.Validate appends it), the schema only sees the value.
	msg := fmt.Sprintf("%s must be %s, got %s", f.name(tokens), typeList(want), got)
	return Violation{Pointer: jsonptr.Format(tokens...), Rule: RuleType, Message: msg, Got: got}
}

// fieldList names the fields an object takes, when the schema asks for
// it: "; a rule takes name, description, match, permissions and ttl".
func (f *flattener) fieldList(parent []string, props map[string]any) string {
	if !f.c.opts.ListFields || len(props) == 0 {
		return ""
	}
	names := make([]string, 0, len(props))
	for k := range props {
		names = append(names, k)
	}
	slices.Sort(names)
	last := names[len(names)-1]
	list := strings.Join(names[:len(names)-1], ", ")
	if list != "" {
		list += " and "
	}
	return "; " + f.name(parent) + " takes " + list + last
}

// note returns the schema's unknown-field note with a leading space.
func (f *flattener) note() string {
	if f.c.opts.UnknownNote == "" {
		return ""
	}
	return " " + f.c.opts.UnknownNote
}

// unknownFields is what the unknown keys of one mapping share: the schema
// node that forbids them and the fields it allows.
type unknownFields struct {
	f       *flattener
	parent  []string
	ptr     string
	removed map[string]any // x-removed: key → why it is unsupported
	spec    map[string]any // at the top level, the fields of spec
	cands   []candidate    // the allowed fields the mapping does not hold
	where   string
	note    string
	props   map[string]any
	fields  string // fieldList(parent, props), computed on first use
	listed  bool
}

func (f *flattener) unknownFields(schemaURL string, parent []string) *unknownFields {
	u := &unknownFields{f: f, parent: parent, ptr: jsonptr.Format(parent...)}
	node, _ := f.schemaNode(schemaURL).(map[string]any)
	u.removed, _ = node["x-removed"].(map[string]any)
	if len(parent) == 0 {
		u.spec = f.specProperties()
	}
	props, _ := node["properties"].(map[string]any)
	present, _ := jsonptr.Lookup(f.root, parent)
	obj, _ := present.(map[string]any)
	u.cands = candidates(props, obj)
	u.where, u.note, u.props = f.where(parent), f.note(), props
	return u
}

func (u *unknownFields) violation(key string) Violation {
	f := u.f
	v := Violation{Pointer: u.ptr, Rule: RuleUnknownField, Key: key}
	if why, ok := u.removed[key].(string); ok {
		v.Message = fmt.Sprintf("unsupported field %s %s: %s", quote(key), u.where, why)
		return v
	}
	if u.spec[key] != nil {
		v.Message = fmt.Sprintf("unknown field %s at the top level; move it under spec%s", quote(key), u.note)
		return v
	}
	v.Suggestion = suggestFrom(key, u.cands)
	v.where, v.tail = u.where, u.note
	if v.Suggestion == "" {
		if !u.listed {
			u.fields, u.listed = f.fieldList(u.parent, u.props), true
		}
		v.tail = u.fields + v.tail
	}
	v.Message = unknownFieldMessage(key, v.where, v.Suggestion, v.tail, false)
	return v
}

// unknownFieldMessage says what to do with an unknown key: fix it into the
// suggested field (which is required and missing, when required is set),
// or remove it. tail ends the message (the fields the mapping takes, the
// schema's note on unknown fields), with its leading "; " or " ".
func unknownFieldMessage(key, where, suggestion, tail string, required bool) string {
	// Concatenated, not formatted: a file may have tens of thousands.
	switch {
	case suggestion != "" && required:
		return "unknown field " + quote(key) + " " + where + "; did you mean " + strconv.Quote(suggestion) + ", which is required and missing here?" + tail
	case suggestion != "":
		return "unknown field " + quote(key) + " " + where + "; did you mean " + strconv.Quote(suggestion) + "?" + tail
	}
	return "unknown field " + quote(key) + " " + where + "; remove it or fix its name" + tail
}

// falseSchema reports a property the schema forbids in this context (a
// resource section that does not match the resource type). The forbidding
// schema sits at <then>/properties/<key>; its x-message explains when the
// field would be read.
func (f *flattener) falseSchema(schemaURL string, tokens []string) Violation {
	if len(tokens) == 0 {
		return Violation{Rule: RuleInvalid, Message: f.c.opts.Document + " is not allowed here"}
	}
	key := tokens[len(tokens)-1]
	parent := tokens[:len(tokens)-1]
	why := f.xMessage(parentSchemaURL(schemaURL, 2), "false")
	if why == "" {
		why = "is not allowed here"
	}
	return Violation{Pointer: jsonptr.Format(parent...), Rule: RuleUnknownField, Key: key,
		Message: fmt.Sprintf("field %s %s %s; remove it%s", quote(key), f.where(parent), why, f.note())}
}

func (f *flattener) specProperties() map[string]any {
	root, _ := f.c.doc.(map[string]any)
	props, _ := root["properties"].(map[string]any)
	spec, _ := props["spec"].(map[string]any)
	out, _ := spec["properties"].(map[string]any)
	return out
}

// xMessage returns the takos-apply wording for keyword kw of the schema at
// schemaURL: the schema's "x-message" object maps keywords to a predicate
// such as "must be a positive number".
func (f *flattener) xMessage(schemaURL, kw string) string {
	if kw == "" {
		return ""
	}
	node, _ := f.schemaNode(schemaURL).(map[string]any)
	xm, _ := node["x-message"].(map[string]any)
	s, _ := xm[kw].(string)
	return s
}

// fix derives a passing value from the one at tokens, for a schema node
// that names how (x-fix). Only "semver" exists: 1.0 → "1.0.0", v2 →
// "2.0.0", 01.2.3 → "1.2.3".
func (f *flattener) fix(schemaURL string, tokens []string) string {
	node, _ := f.schemaNode(schemaURL).(map[string]any)
	if how, _ := node["x-fix"].(string); how != "semver" {
		return ""
	}
	v, _ := jsonptr.Lookup(f.root, tokens)
	var text string
	switch v := v.(type) {
	case string:
		text = v
	case fmt.Stringer: // json.Number keeps the digits as written
		text = v.String()
	default:
		return ""
	}
	return semverFix(text)
}

// semverFix completes a version of one to three numeric parts into strict
// SemVer, or returns "" when it cannot tell what was meant.
func semverFix(text string) string {
	text = strings.TrimPrefix(strings.TrimPrefix(strings.TrimSpace(text), "v"), "V")
	parts := strings.Split(text, ".")
	if len(parts) > 3 {
		return ""
	}
	for i, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" || len(p) > 9 {
			return ""
		}
		n, _ := strconv.Atoi(p)
		parts[i] = strconv.Itoa(n)
	}
	for len(parts) < 3 {
		parts = append(parts, "0")
	}
	return strings.Join(parts, ".")
}

// schemaNode resolves a dereferenced schema location (ID + "#" + JSON
// pointer, percent-encoded as a URI fragment) inside the parsed schema
// document. The fragment is percent-decoded before it is split: a "/" in a
// name is "~1" in the pointer, never "%2F", so decoding cannot create a
// separator.
func (f *flattener) schemaNode(schemaURL string) any {
	_, frag, ok := strings.Cut(schemaURL, "#")
	if !ok {
		return nil
	}
	if p, err := url.PathUnescape(frag); err == nil {
		frag = p
	}
	node, _ := jsonptr.Lookup(f.c.doc, jsonptr.Split(frag))
	return node
}

// parentSchemaURL drops the last n pointer tokens of a schema location.
func parentSchemaURL(schemaURL string, n int) string {
	for range n {
		i := strings.LastIndexByte(schemaURL, '/')
		if i < 0 || i < strings.IndexByte(schemaURL, '#') {
			return schemaURL
		}
		schemaURL = schemaURL[:i]
	}
	return schemaURL
}
